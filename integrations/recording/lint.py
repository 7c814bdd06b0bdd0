"""``integrations cassettes check``: scan cassettes for anything secret-shaped.

Findings name the file, the interaction, the field, the line and the rule, never the secret itself
(a masked preview only). Looked for, in each parsed interaction and in the file's raw text (so a
secret in a YAML comment is found too):

- the generic rules: a JWT whose signature is not our fake one, a ``Bearer`` value that is not a
  placeholder, ``token=`` with a real value, ``password`` / ``access_token`` / ``refresh_token``
  (and camelCase) values that are not placeholders;
- every installed provider's declared secrets (:class:`~integrations.provider.RecordingRules`):
  a header named in any provider's ``secret_headers``, a query parameter named in any
  ``secret_query``, a form or JSON field (at any depth, requests and responses) named in any
  ``secret_fields``, whose value is not a placeholder;
- the values of those fields, and of every credential field, found in the environment under the
  names ``connect()`` and the recorder read (``INTEGRATIONS_<PROVIDER>_<FIELD>``, see
  :meth:`~integrations.provider.ProviderSpec.credential_variable`), anywhere in the file;
- any value the caller names as secret.

A WebSocket frames file (``*.ws.yaml``, :mod:`integrations.recording.ws`) is scanned the same way:
each connection's URL (its query parameters), each frame's text by the generic rules and the known
values, and each JSON frame's keys at any depth; findings name ``connections[i].frames[j]``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)
from urllib.parse import parse_qsl, urlsplit

import attrs
import yaml

from .harness import cassette_files
from .redact import FAKE_SIGNATURE, is_placeholder

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["DeclaredSecrets", "Finding", "check_cassette", "check_paths", "mask"]

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.([A-Za-z0-9_-]*)")
_BEARER = re.compile(r"Bearer\s+([^\s\"',}]+)", re.IGNORECASE)
_TOKEN_PARAM = re.compile(r"(?:^|[?&;\s\"])token=([^&\s\"']*)", re.IGNORECASE)
_SECRET_KEYS = frozenset({"password", "access_token", "refresh_token", "accesstoken", "refreshtoken"})

# A value from the environment shorter than this is not searched for verbatim: the recorder replaces
# a known secret wherever it appears only from this length on (``Redactor.scrub``), so a shorter one
# may stand in a clean cassette by coincidence. Declared fields holding it are still found.
MIN_ENV_VALUE = 6

NodePath = Tuple[Any, ...]


def mask(value: str) -> str:
    """A preview of a secret that does not give it away: at most its first 4 characters (a
    quarter of it when shorter) and its length, e.g. ``eyJh...(212 chars)``."""
    return f"{value[: min(4, len(value) // 4)]}...({len(value)} chars)"


@attrs.frozen
class Finding:
    """One finding. ``interaction`` is -1 for one outside any interaction (the raw text, the file);
    ``line`` is 1-based, ``None`` when unknown; ``preview`` is :func:`mask` of the value."""

    path: str
    interaction: int
    field: str
    reason: str
    line: Optional[int] = None
    rule: str = ""
    preview: str = ""

    def __str__(self) -> str:
        where = f"interaction {self.interaction}: " if self.interaction >= 0 else ""
        details = [f"line {self.line}"] if self.line is not None else []
        details += [f"rule: {self.rule}"] if self.rule else []
        details += [f"value: {self.preview}"] if self.preview else []
        tail = f" ({'; '.join(details)})" if details else ""
        return f"{self.path}: {where}{self.field}: {self.reason}{tail}"


@attrs.frozen
class DeclaredSecrets:
    """The secrets every installed provider declares: lowercased header, query parameter and field
    names, each with the providers that declare it, and ``(rule, value)`` pairs read from the
    environment. ``DeclaredSecrets()`` declares nothing."""

    headers: Mapping[str, Tuple[str, ...]] = attrs.field(factory=dict)
    query: Mapping[str, Tuple[str, ...]] = attrs.field(factory=dict)
    fields: Mapping[str, Tuple[str, ...]] = attrs.field(factory=dict)
    values: Tuple[Tuple[str, str], ...] = ()

    @classmethod
    def from_host(
        cls, host: Optional[Host] = None, environ: Optional[Mapping[str, str]] = None
    ) -> DeclaredSecrets:
        """Read every provider of ``host`` (default: the installed ones) and ``environ`` (default:
        ``os.environ``): each name in its ``RecordingRules.secret_headers``, ``secret_query`` and
        ``secret_fields``, and the value of ``INTEGRATIONS_<PROVIDER>_<FIELD>`` for those names and
        for every credential field."""
        from ..host import default_host

        env = os.environ if environ is None else environ
        h = host or default_host()
        tables: Dict[str, Dict[str, List[str]]] = {"headers": {}, "query": {}, "fields": {}}
        values: Dict[str, str] = {}
        for name, info in sorted(h.providers().items()):
            spec = info.spec
            rules = spec.recording
            declared = {
                "headers": rules.secret_headers if rules else (),
                "query": rules.secret_query if rules else (),
                "fields": rules.secret_fields if rules else (),
            }
            for kind, names in declared.items():
                for field in names:
                    tables[kind].setdefault(field, []).append(name)
            wanted = {f for names in declared.values() for f in names}
            wanted.update(f for shape in spec.credentials for f in shape)
            for field in sorted(wanted):
                variable = spec.credential_variable(field)
                value = env.get(variable, "")
                if len(value) >= MIN_ENV_VALUE and not is_placeholder(value):
                    values.setdefault(value, f"{name}: the value of {variable}")
        return cls(
            headers={k: tuple(v) for k, v in tables["headers"].items()},
            query={k: tuple(v) for k, v in tables["query"].items()},
            fields={k: tuple(v) for k, v in tables["fields"].items()},
            values=tuple((rule, value) for value, rule in values.items()),
        )


@attrs.frozen
class _Hit:
    field: str
    reason: str
    rule: str
    value: str
    node: NodePath  # the YAML scalar holding the value, for its line


def _scan_text(text: str, secrets: Sequence[Tuple[str, str]]) -> Iterator[Tuple[str, str, str]]:
    """``(reason, rule, value)`` for each generic-rule match and each known secret in ``text``."""
    for match in _JWT.finditer(text):
        if match.group(1) != FAKE_SIGNATURE:
            yield "a JWT with a real-looking signature", "generic: JWT", match.group(0)
    # A trailing backslash is YAML's or JSON's escape of the quote that ends the value, not part of it.
    for match in _BEARER.finditer(text):
        value = match.group(1).rstrip("\\")
        if value and not is_placeholder(value):
            yield "a Bearer value that is not a placeholder", "generic: Bearer", value
    for match in _TOKEN_PARAM.finditer(text):
        value = match.group(1).rstrip("\\")
        if value and not is_placeholder(value):
            yield "token= with a value that is not a placeholder", "generic: token=", value
    for rule, secret in secrets:
        if secret and secret in text:
            reason = "a value given as secret" if rule == "given" else "a declared secret's value"
            yield reason, ("--secret / --secret-env" if rule == "given" else rule), secret


def _is_secret_value(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    text = str(value)
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    return bool(text) and not is_placeholder(text)


def _declared_rule(kind: str, name: str, providers: Sequence[str]) -> str:
    return f"{', '.join(providers)}: declared secret {kind} {name!r}"


def _scan_json(data: Any, where: str, declared: DeclaredSecrets) -> Iterator[Tuple[str, str, str, str]]:
    """``(field, reason, rule, value)`` for each secret-named key of a decoded JSON value."""
    if isinstance(data, dict):
        for key, value in data.items():
            lowered = str(key).lower()
            if _is_secret_value(value):
                if lowered in _SECRET_KEYS and isinstance(value, str):
                    yield f"{where}.{key}", f"{key} value that is not a placeholder", "generic: key", value
                if lowered in declared.fields:
                    rule = _declared_rule("field", lowered, declared.fields[lowered])
                    yield f"{where}.{key}", f"{key} value that is not a placeholder", rule, str(value)
            yield from _scan_json(value, f"{where}.{key}", declared)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _scan_json(value, f"{where}[{i}]", declared)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _header_values(headers: Any) -> Iterator[Tuple[str, int, str]]:
    if not isinstance(headers, dict):
        return
    for name, values in headers.items():
        if isinstance(values, list):
            for i, value in enumerate(values):
                yield str(name), i, _text(value)
        else:
            yield str(name), -1, _text(values)


def _content_type(headers: Any) -> str:
    for name, _, value in _header_values(headers):
        if name.lower() == "content-type":
            return value.lower()
    return ""


def _interaction_hits(
    base: NodePath, interaction: Any, secrets: Sequence[Tuple[str, str]], declared: DeclaredSecrets
) -> Iterator[_Hit]:
    if not isinstance(interaction, dict):
        return
    for side in ("request", "response"):
        message = interaction.get(side)
        if not isinstance(message, dict):
            continue
        at: NodePath = (*base, side)
        if side == "request":
            uri = _text(message.get("uri"))
            for reason, rule, value in _scan_text(uri, secrets):
                yield _Hit("request.uri", reason, rule, value, (*at, "uri"))
            for key, value in parse_qsl(urlsplit(uri).query, keep_blank_values=True):
                if key.lower() in declared.query and _is_secret_value(value):
                    rule = _declared_rule("query parameter", key.lower(), declared.query[key.lower()])
                    reason = f"{key} value that is not a placeholder"
                    yield _Hit(f"request.uri?{key}", reason, rule, value, (*at, "uri"))
        headers = message.get("headers")
        for name, index, value in _header_values(headers):
            node = (*at, "headers", name) + ((index,) if index >= 0 else ())
            field = f"{side}.headers.{name}"
            for reason, rule, found in _scan_text(f"{name}: {value}", secrets):
                yield _Hit(field, reason, rule, found, node)
            if name.lower() in declared.headers and _is_secret_value(value):
                rule = _declared_rule("header", name.lower(), declared.headers[name.lower()])
                yield _Hit(field, f"{name} value that is not a placeholder", rule, value, node)
        body = message.get("body")
        node = (*at, "body")
        if isinstance(body, dict):
            body, node = body.get("string"), (*node, "string")
        text = _text(body)
        field = f"{side}.body"
        for reason, rule, value in _scan_text(text, secrets):
            yield _Hit(field, reason, rule, value, node)
        if text.lstrip()[:1] in ("{", "["):
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            for where, reason, rule, value in _scan_json(decoded, field, declared):
                yield _Hit(where, reason, rule, value, node)
        elif "x-www-form-urlencoded" in _content_type(headers):
            for key, value in parse_qsl(text, keep_blank_values=True):
                lowered = key.lower()
                if not _is_secret_value(value):
                    continue
                reason = f"{key} value that is not a placeholder"
                if lowered in _SECRET_KEYS:
                    yield _Hit(f"{field}.{key}", reason, "generic: key", value, node)
                if lowered in declared.fields:
                    rule = _declared_rule("field", lowered, declared.fields[lowered])
                    yield _Hit(f"{field}.{key}", reason, rule, value, node)


def _frames_hits(
    connections: Any, secrets: Sequence[Tuple[str, str]], declared: DeclaredSecrets
) -> Iterator[Tuple[int, _Hit]]:
    """``(connection number, hit)`` for each finding in a WebSocket frames file's connections."""
    for number, connection in enumerate(connections if isinstance(connections, list) else []):
        if not isinstance(connection, dict):
            continue
        base: NodePath = ("connections", number)
        where = f"connections[{number}]"
        url = _text(connection.get("url"))
        for reason, rule, value in _scan_text(url, secrets):
            yield number, _Hit(f"{where}.url", reason, rule, value, (*base, "url"))
        for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
            if key.lower() in declared.query and _is_secret_value(value):
                rule = _declared_rule("query parameter", key.lower(), declared.query[key.lower()])
                yield (
                    number,
                    _Hit(
                        f"{where}.url?{key}",
                        f"{key} value that is not a placeholder",
                        rule,
                        value,
                        (*base, "url"),
                    ),
                )
        frames = connection.get("frames")
        for index, frame in enumerate(frames if isinstance(frames, list) else []):
            if not isinstance(frame, dict):
                continue
            node: NodePath = (*base, "frames", index, "text")
            field = f"{where}.frames[{index}]"
            text = _text(frame.get("text"))
            for reason, rule, value in _scan_text(text, secrets):
                yield number, _Hit(f"{field}.text", reason, rule, value, node)
            if text.lstrip()[:1] in ("{", "["):
                try:
                    decoded = json.loads(text)
                except ValueError:
                    decoded = None
                for path, reason, rule, value in _scan_json(decoded, field, declared):
                    yield number, _Hit(path, reason, rule, value, node)


def _scalar_lines(node: Optional[yaml.Node], path: NodePath = ()) -> Iterator[Tuple[NodePath, int, int]]:
    """``(path, first line, last line)`` (0-based) of every scalar of a composed YAML document."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalar_lines(value, (*path, key.value if isinstance(key, yaml.ScalarNode) else None))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from _scalar_lines(value, (*path, i))
    elif isinstance(node, yaml.ScalarNode):
        yield path, node.start_mark.line, node.end_mark.line


def _line_of(value: str, lines: Sequence[str], span: Optional[Tuple[int, int]]) -> Optional[int]:
    """The 1-based line where ``value`` appears within ``span`` (its scalar's lines), else the
    scalar's first line; ``None`` when unknown."""
    if span is None:
        return None
    first, last = span
    for number in range(first, min(last, len(lines) - 1) + 1):
        if value and value in lines[number]:
            return number + 1
    return first + 1


def _loader() -> Any:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def check_cassette(
    path: Path, secrets: Sequence[str] = (), declared: Optional[DeclaredSecrets] = None
) -> List[Finding]:
    """Every finding in one cassette file (an unreadable file is a finding too).

    ``declared``: the providers' declared secrets (default: :meth:`DeclaredSecrets.from_host`, the
    installed providers and ``os.environ``; ``DeclaredSecrets()`` for none)."""
    if declared is None:
        declared = DeclaredSecrets.from_host()
    known = [("given", s) for s in secrets if s] + list(declared.values)
    try:
        raw = Path(path).read_text(encoding="utf-8")
        document = yaml.compose(raw, Loader=_loader())
        # The data is constructed from the same nodes (safe types only): one parse gives both.
        data = yaml.SafeLoader("").construct_document(document) if document is not None else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [Finding(str(path), -1, "file", f"cannot be read as a cassette: {type(exc).__name__}")]
    lines = raw.splitlines()
    spans = {p: (first, last) for p, first, last in _scalar_lines(document)}
    findings: List[Finding] = []
    seen: Set[Tuple[str, str, str]] = set()
    reported: Set[Tuple[str, str]] = set()
    interactions = data.get("interactions") if isinstance(data, dict) else None
    hits: List[Tuple[int, _Hit]] = []
    for number, interaction in enumerate(interactions if isinstance(interactions, list) else []):
        hits.extend(
            (number, hit) for hit in _interaction_hits(("interactions", number), interaction, known, declared)
        )
    connections = data.get("connections") if isinstance(data, dict) else None
    # A frames file's findings are placed by their field (connections[i].frames[j]), not by interaction.
    hits.extend((-1, hit) for _, hit in _frames_hits(connections, known, declared))
    for number, hit in hits:
        if (hit.field, hit.rule, hit.value) in seen:
            continue
        seen.add((hit.field, hit.rule, hit.value))
        reported.add((hit.rule, hit.value))
        line = _line_of(hit.value, lines, spans.get(hit.node))
        findings.append(Finding(str(path), number, hit.field, hit.reason, line, hit.rule, mask(hit.value)))
    # The raw text: whatever the parsed interactions do not show (a comment, another key, a value
    # YAML folded across lines), by the generic rules and the known values.
    examined = _examined_values(data)
    for index, text in enumerate(lines):
        for reason, rule, value in dict.fromkeys(_scan_text(text, known)):
            if (rule, value) in reported or any(value in whole for whole in examined):
                continue
            reported.add((rule, value))
            findings.append(Finding(str(path), -1, "raw text", reason, index + 1, rule, mask(value)))
    return findings


def _examined_values(data: Any) -> List[str]:
    """Every generic-rule match in the parsed interactions, clean or not: the raw scan skips these
    and their fragments (a fake JWT folded across lines must not pass for a real one)."""
    values: List[str] = []
    interactions = data.get("interactions") if isinstance(data, dict) else None
    connections = data.get("connections") if isinstance(data, dict) else None
    parts = list(interactions if isinstance(interactions, list) else [])
    parts += list(connections if isinstance(connections, list) else [])
    for part in parts:
        text = json.dumps(part, default=_text, ensure_ascii=False)
        values.extend(m.group(0) for m in _JWT.finditer(text))
        values.extend(m.group(1) for m in _BEARER.finditer(text))
        values.extend(m.group(1) for m in _TOKEN_PARAM.finditer(text))
    return values


def check_paths(
    paths: Iterable[Path], secrets: Sequence[str] = (), declared: Optional[DeclaredSecrets] = None
) -> List[Finding]:
    """Findings in every ``*.yaml``/``*.yml`` cassette (WebSocket frames files included) under
    ``paths`` (files or directories).
    ``declared`` as in :func:`check_cassette` (read once for all files)."""
    if declared is None:
        declared = DeclaredSecrets.from_host()
    findings: List[Finding] = []
    for root in paths:
        for file in cassette_files(root):
            findings.extend(check_cassette(file, secrets, declared))
    return findings
