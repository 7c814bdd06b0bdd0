"""Request matchers that know the protocols. Secrets and request ids never take part in a match.

Both follow vcrpy's matcher contract: ``matcher(r1, r2)`` raises ``AssertionError`` naming the
field that differs, so vcrpy (and our "closest request" message) can say why a request did not match.
"""

from __future__ import annotations

import json
from typing import Any, Callable, List, Tuple
from urllib.parse import parse_qsl, urlsplit

from .rules import RecordingRules

__all__ = ["jsonrpc_matcher", "rest_matcher", "matcher_for"]

Matcher = Callable[[Any, Any], None]


def _expect(condition: bool, message: str) -> None:
    # vcrpy's matcher contract is "raise AssertionError"; a bare assert would vanish under python -O.
    if not condition:
        raise AssertionError(message)


def _body_json(request: Any) -> Any:
    body = request.body
    if not body:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        return json.loads(body)
    except ValueError:
        return body


def _strip(data: Any, ignored: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {k: _strip(v, ignored) for k, v in data.items() if k.lower() not in ignored}
    if isinstance(data, list):
        return [_strip(v, ignored) for v in data]
    return data


def rest_matcher(rules: RecordingRules) -> Matcher:
    """Method, scheme, host, case-insensitive path, sorted query and JSON body, minus secrets and ids."""
    ignored_query = frozenset(rules.secret_query) | frozenset(rules.request_id_fields)
    ignored_fields = frozenset(rules.secret_fields) | frozenset(rules.request_id_fields)

    def key(request: Any) -> Tuple[Any, ...]:
        parts = urlsplit(request.uri)
        query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k.lower() not in ignored_query)
        return (request.method.upper(), parts.scheme, parts.netloc.lower(), parts.path.lower(), query)

    def match(r1: Any, r2: Any) -> None:
        k1, k2 = key(r1), key(r2)
        for name, a, b in zip(("method", "scheme", "host", "path", "query"), k1, k2):
            _expect(a == b, f"{name} differs: {a!r} != {b!r}")
        b1, b2 = _strip(_body_json(r1), ignored_fields), _strip(_body_json(r2), ignored_fields)
        _expect(b1 == b2, f"body differs: {b1!r} != {b2!r}")

    return match


def _rpc_calls(request: Any, ignored: frozenset[str]) -> List[Tuple[Any, Any, bool]]:
    body = _body_json(request)
    items = body if isinstance(body, list) else [body]
    calls = []
    for item in items:
        if isinstance(item, dict):
            calls.append((item.get("method"), _strip(item.get("params"), ignored), "id" in item))
        else:
            calls.append((None, item, False))
    return calls


def jsonrpc_matcher(rules: RecordingRules) -> Matcher:
    """Host and path, then each call's RPC ``method`` and ``params`` (minus secrets); ``id`` is ignored,
    but whether a call is a notification is not."""
    ignored = frozenset(rules.secret_fields)

    def match(r1: Any, r2: Any) -> None:
        p1, p2 = urlsplit(r1.uri), urlsplit(r2.uri)
        _expect(r1.method.upper() == r2.method.upper(), f"method differs: {r1.method} != {r2.method}")
        _expect((p1.netloc.lower(), p1.path) == (p2.netloc.lower(), p2.path),
                f"url differs: {p1.netloc}{p1.path} != {p2.netloc}{p2.path}")
        c1, c2 = _rpc_calls(r1, ignored), _rpc_calls(r2, ignored)
        _expect([c[0] for c in c1] == [c[0] for c in c2],
                f"rpc method differs: {[c[0] for c in c1]} != {[c[0] for c in c2]}")
        _expect(c1 == c2, f"rpc params differ: {[c[1] for c in c1]!r} != {[c[1] for c in c2]!r}")

    return match


def matcher_for(rules: RecordingRules) -> Matcher:
    return jsonrpc_matcher(rules) if rules.matcher == "jsonrpc" else rest_matcher(rules)
