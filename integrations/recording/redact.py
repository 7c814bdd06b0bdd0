"""Redaction: one table of secrets, applied to requests and responses, at any depth.

Secrets become stable placeholders (``REDACTED-token-1``: the same secret always gets the same
placeholder within a cassette, a different secret a different one). A JWT becomes a fake JWT that
keeps the claims the client needs (``exp``…) and a signature that is not a signature, so expiry logic
still works on replay. Every secret value seen is also replaced wherever else it appears verbatim.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..provider import RecordingRules

__all__ = [
    "FAKE_SIGNATURE",
    "PLACEHOLDER_PREFIX",
    "RedactingLogFilter",
    "Redactor",
    "is_jwt",
    "is_placeholder",
]

PLACEHOLDER_PREFIX = "REDACTED"
# base64url of "REDACTED": recognisably not a signature, and too short to pass for one.
FAKE_SIGNATURE = base64.urlsafe_b64encode(b"REDACTED").rstrip(b"=").decode()
_JWT = re.compile(r"^[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*$")
_JWT_ANYWHERE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+")


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt_parts(value: str) -> Optional[Tuple[Dict[str, Any], Dict[str, Any], str]]:
    if not _JWT.match(value):
        return None
    head, payload, signature = value.split(".")
    try:
        header = json.loads(_b64decode(head))
        claims = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims, signature


def is_jwt(value: str) -> bool:
    """True if ``value`` is a JWT (three base64url segments whose first two are JSON objects)."""
    return _jwt_parts(value) is not None


def is_placeholder(value: str) -> bool:
    """True for a placeholder or a fake JWT this module made."""
    if value.startswith(PLACEHOLDER_PREFIX):
        return True
    parts = _jwt_parts(value)
    return parts is not None and parts[2] == FAKE_SIGNATURE


_HEADER_KEPT = ("alg", "typ", "cty")


class Redactor:
    """Applies the union of several providers' :class:`RecordingRules`. Thread-safe.

    Use one redactor per cassette, so placeholders are numbered per cassette.
    """

    def __init__(self, rules: Iterable[RecordingRules]) -> None:
        rules = list(rules)
        self.secret_headers = frozenset(h for r in rules for h in r.secret_headers)
        self.secret_query = frozenset(q for r in rules for q in r.secret_query)
        self.secret_fields = frozenset(f for r in rules for f in r.secret_fields)
        self.jwt_claims_kept = frozenset(c for r in rules for c in r.jwt_claims_kept)
        self._placeholders: Dict[str, str] = {}
        self._counts: Dict[str, int] = {}
        self._lock = threading.Lock()

    # -- values --------------------------------------------------------------------------------

    def add_secret(self, value: str, kind: str = "secret") -> str:
        """Register a secret known in advance (a credential); returns its placeholder."""
        return self.value(value, kind)

    @property
    def secrets(self) -> List[str]:
        """Every secret value seen so far, longest first."""
        with self._lock:
            return sorted(self._placeholders, key=len, reverse=True)

    def value(self, value: str, kind: str) -> str:
        """The placeholder (or fake JWT) for one secret value."""
        if not value or is_placeholder(value):
            return value
        if value.lower().startswith("bearer "):
            return value[:7] + self.value(value[7:].strip(), kind)
        with self._lock:
            known = self._placeholders.get(value)
            if known is not None:
                return known
        parts = _jwt_parts(value)
        if parts is not None:
            replacement = self._fake_jwt(*parts)
        else:
            with self._lock:
                self._counts[kind] = self._counts.get(kind, 0) + 1
                replacement = f"{PLACEHOLDER_PREFIX}-{kind}-{self._counts[kind]}"
        with self._lock:
            return self._placeholders.setdefault(value, replacement)

    def _fake_jwt(self, header: Dict[str, Any], claims: Dict[str, Any], _signature: str) -> str:
        kept = {
            k: (v if k.lower() in self.jwt_claims_kept else self._claim_placeholder(v))
            for k, v in claims.items()
        }
        # A redacted claim (the login in ``sub``...) is also replaced wherever else it appears (a URL
        # path such as /Clients/<login>/positions, a body), by the very value the replayed client
        # reads from the fake JWT: so what it sends on replay matches what was recorded.
        with self._lock:
            for k, v in claims.items():
                if k.lower() not in self.jwt_claims_kept and isinstance(v, str) and len(v) >= 6:
                    self._placeholders.setdefault(v, PLACEHOLDER_PREFIX)
        # The header keeps the fields that describe the token's form (alg, typ, cty), not those that
        # could identify a key (kid, x5t, jku ...); claims keep their order: the cassette shows the
        # contour's token shape.
        fake_header = {k: header[k] for k in _HEADER_KEPT if k in header}
        fake_header.setdefault("alg", "none")
        fake_header.setdefault("typ", "JWT")
        return ".".join(
            (
                _b64encode(json.dumps(fake_header, separators=(",", ":")).encode()),
                _b64encode(json.dumps(kept, separators=(",", ":")).encode()),
                FAKE_SIGNATURE,
            )
        )

    @staticmethod
    def _claim_placeholder(value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            return 0
        return PLACEHOLDER_PREFIX

    # -- structures ----------------------------------------------------------------------------

    def json(self, data: Any) -> Any:
        """Redact secret fields of a decoded JSON value, at any depth, and any JWT anywhere."""
        if isinstance(data, dict):
            return {k: self._field(k, v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.json(v) for v in data]
        if isinstance(data, str) and is_jwt(data):
            return self.value(data, "jwt")
        return data

    def _field(self, key: str, value: Any) -> Any:
        secret = key.lower() in self.secret_fields
        if secret and isinstance(value, (str, int)) and not isinstance(value, bool):
            return self.value(str(value), _kind(key))
        return self.json(value)

    def headers(self, headers: Mapping[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for name, value in headers.items():
            if name.lower() in self.secret_headers:
                kind = _kind(name)
                if isinstance(value, list):
                    out[name] = [self.value(str(v), kind) for v in value]
                else:
                    out[name] = self.value(str(value), kind)
            else:
                out[name] = value
        return out

    def query(self, pairs: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
        return [(k, self.value(v, _kind(k)) if k.lower() in self.secret_query else v) for k, v in pairs]

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        parts = parts._replace(path=self.scrub(parts.path))  # a secret seen before, in the path
        if not parts.query:
            return urlunsplit(parts)
        pairs = self.query(parse_qsl(parts.query, keep_blank_values=True))
        return urlunsplit(parts._replace(query=urlencode(pairs)))

    def body(self, body: bytes, content_type: str = "") -> bytes:
        """Redact a JSON or form body; then replace every known secret wherever it still appears."""
        if not body:
            return body
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                data = json.loads(text)
            except ValueError:
                pass
            else:
                redacted = self.json(data)
                if redacted != data:  # keep the body byte-for-byte when nothing was secret
                    text = json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))
        elif "x-www-form-urlencoded" in content_type:
            pairs = parse_qsl(text, keep_blank_values=True)
            text = urlencode(
                [(k, self.value(v, _kind(k)) if k.lower() in self.secret_fields else v) for k, v in pairs]
            )
        return self.scrub(text).encode("utf-8")

    def scrub(self, text: str) -> str:
        """Replace every secret seen so far, and any JWT, wherever it appears in ``text``."""
        text = _JWT_ANYWHERE.sub(lambda m: self.value(m.group(0), "jwt"), text)
        for secret in self.secrets:
            if len(secret) >= 6 and secret in text:
                text = text.replace(secret, self._placeholders[secret])
        return text


def _kind(name: str) -> str:
    lowered = name.lower().replace("-", "_")
    if lowered == "authorization":
        return "token"
    return re.sub(r"[^a-z0-9_]", "", lowered) or "secret"


class RedactingLogFilter(logging.Filter):
    """Keeps secrets out of third-party log records (vcrpy logs each interaction *before* it is
    redacted): drops records that carry whole interactions and scrubs the rest."""

    DROPPED_PREFIXES = ("Appending request",)

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(self.DROPPED_PREFIXES):
            return False
        message = record.getMessage()
        scrubbed = self._redactor.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True
