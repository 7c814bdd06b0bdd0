"""``integrations cassettes check``: scan cassettes for anything secret-shaped.

Findings name the file, the interaction and the field, never the secret itself. Looked for: a JWT
whose signature is not our fake one, a ``Bearer`` value that is not a placeholder, ``token=``
with a real value, ``password`` / ``access_token`` / ``refresh_token`` (and camelCase) values that
are not placeholders, and any value the caller names as secret.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Sequence, Tuple

import attrs
import yaml

from .harness import cassette_files, load_cassette_file
from .redact import FAKE_SIGNATURE, is_placeholder

__all__ = ["Finding", "check_cassette", "check_paths"]

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.([A-Za-z0-9_-]*)")
_BEARER = re.compile(r"Bearer\s+([^\s\"',}]+)", re.IGNORECASE)
_TOKEN_PARAM = re.compile(r"(?:^|[?&;\s\"])token=([^&\s\"']*)", re.IGNORECASE)
_SECRET_KEYS = frozenset({"password", "access_token", "refresh_token", "accesstoken", "refreshtoken"})


@attrs.frozen
class Finding:
    path: str
    interaction: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: interaction {self.interaction}: {self.field}: {self.reason}"


def _scan_text(text: str, secrets: Sequence[str]) -> Iterator[str]:
    for match in _JWT.finditer(text):
        if match.group(1) != FAKE_SIGNATURE:
            yield "a JWT with a real-looking signature"
    for match in _BEARER.finditer(text):
        if not is_placeholder(match.group(1)):
            yield "a Bearer value that is not a placeholder"
    for match in _TOKEN_PARAM.finditer(text):
        if match.group(1) and not is_placeholder(match.group(1)):
            yield "token= with a value that is not a placeholder"
    for secret in secrets:
        if secret and secret in text:
            yield "a value given as secret"


def _scan_json(data: Any, where: str) -> Iterator[Tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if (
                str(key).lower() in _SECRET_KEYS
                and isinstance(value, str)
                and value
                and not is_placeholder(value)
            ):
                yield f"{where}.{key}", f"{key} value that is not a placeholder"
            yield from _scan_json(value, f"{where}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _scan_json(value, f"{where}[{i}]")


def _fields(interaction: Any) -> Iterator[Tuple[str, str]]:
    request = interaction.get("request") or {}
    response = interaction.get("response") or {}
    yield "request.uri", str(request.get("uri", ""))
    sides = (("request", request.get("headers") or {}), ("response", response.get("headers") or {}))
    for side, headers in sides:
        for name, values in headers.items():
            for value in values if isinstance(values, list) else [values]:
                yield f"{side}.headers.{name}", f"{name}: {value}"
    yield "request.body", _text(request.get("body"))
    body = response.get("body")
    yield "response.body", _text(body.get("string") if isinstance(body, dict) else body)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def check_cassette(path: Path, secrets: Sequence[str] = ()) -> List[Finding]:
    """Every finding in one cassette file (an unreadable file is a finding too)."""
    try:
        data = load_cassette_file(path)
    except (OSError, yaml.YAMLError) as exc:
        return [Finding(str(path), -1, "file", f"cannot be read as a cassette: {type(exc).__name__}")]
    findings: List[Finding] = []
    for number, interaction in enumerate(data.get("interactions") or []):
        for field, text in _fields(interaction):
            for reason in dict.fromkeys(_scan_text(text, secrets)):
                findings.append(Finding(str(path), number, field, reason))
            if field.endswith(".body") and text.lstrip()[:1] in ("{", "["):
                try:
                    decoded = json.loads(text)
                except ValueError:
                    continue
                for where, reason in _scan_json(decoded, field):
                    findings.append(Finding(str(path), number, where, reason))
    return findings


def check_paths(paths: Iterable[Path], secrets: Sequence[str] = ()) -> List[Finding]:
    """Findings in every ``*.yaml``/``*.yml`` cassette under ``paths`` (files or directories)."""
    findings: List[Finding] = []
    for root in paths:
        for file in cassette_files(root):
            findings.extend(check_cassette(file, secrets))
    return findings
