"""Request matchers that know the protocols. Secrets and request ids never take part in a match.

A matcher turns a request into a **key**: named fields in order (method, host, path, query, body
for REST; host, path, RPC methods and params for JSON-RPC). Two requests match when their keys are
equal, so a cassette can index its interactions by key and look a request up in constant time
(:mod:`integrations.recording.cassette`). Matchers still follow vcrpy's contract, ``matcher(r1, r2)``
raising ``AssertionError`` that names the first field that differs.
"""

from __future__ import annotations

import json
from typing import Any, Dict, FrozenSet, Hashable, List, Mapping, Tuple
from urllib.parse import parse_qsl, urlsplit

from ..provider import RecordingRules

__all__ = ["HostDispatchMatcher", "JsonRpcMatcher", "Key", "ProtocolMatcher", "RestMatcher", "matcher_for"]

Key = Tuple[Tuple[str, Hashable], ...]


def _freeze(value: Any) -> Hashable:
    """A hashable, order-insensitive (for objects) form of a JSON value."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("__list__", *(_freeze(v) for v in value))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value  # type: ignore[no-any-return]


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


def _strip(data: Any, ignored: FrozenSet[str]) -> Any:
    if isinstance(data, dict):
        return {k: _strip(v, ignored) for k, v in data.items() if k.lower() not in ignored}
    if isinstance(data, list):
        return [_strip(v, ignored) for v in data]
    return data


class ProtocolMatcher:
    """Base class: subclasses define :meth:`key`."""

    __name__ = "integrations"  # vcrpy reports matchers by __name__

    def key(self, request: Any) -> Key:
        raise NotImplementedError

    def __call__(self, r1: Any, r2: Any) -> None:
        k1, k2 = self.key(r1), self.key(r2)
        for (name, a), (_, b) in zip(k1, k2):
            if a != b:
                # vcrpy's contract is "raise AssertionError"; a bare assert would vanish under -O.
                raise AssertionError(f"{name} differs: {_show(a)} != {_show(b)}")
        if len(k1) != len(k2):
            raise AssertionError("the requests have different shapes")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


class RestMatcher(ProtocolMatcher):
    """Method, host, case-insensitive path, sorted query and JSON body, minus secrets and request ids."""

    def __init__(self, rules: RecordingRules) -> None:
        self._ignored_query = frozenset(rules.secret_query) | frozenset(rules.request_id_fields)
        self._ignored_fields = frozenset(rules.secret_fields) | frozenset(rules.request_id_fields)

    def key(self, request: Any) -> Key:
        parts = urlsplit(request.uri)
        query = tuple(
            sorted(
                (k, v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if k.lower() not in self._ignored_query
            )
        )
        return (
            ("method", request.method.upper()),
            ("host", f"{parts.scheme}://{parts.netloc.lower()}"),
            ("path", parts.path.lower()),
            ("query", query),
            ("body", _freeze(_strip(_body_json(request), self._ignored_fields))),
        )


class JsonRpcMatcher(ProtocolMatcher):
    """Host and path, then each call's RPC ``method`` and ``params`` (minus secrets). ``id`` is ignored,
    but whether a call is a notification is not."""

    def __init__(self, rules: RecordingRules) -> None:
        self._ignored = frozenset(rules.secret_fields)

    def key(self, request: Any) -> Key:
        parts = urlsplit(request.uri)
        body = _body_json(request)
        items = body if isinstance(body, list) else [body]
        methods: List[Hashable] = []
        params: List[Hashable] = []
        for item in items:
            if isinstance(item, dict):
                methods.append((item.get("method"), "id" in item))
                params.append(_freeze(_strip(item.get("params"), self._ignored)))
            else:
                methods.append(None)
                params.append(_freeze(item))
        return (
            ("method", request.method.upper()),
            ("url", f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"),
            ("rpc method", tuple(methods)),
            ("rpc params", tuple(params)),
        )


def matcher_for(rules: RecordingRules) -> ProtocolMatcher:
    return JsonRpcMatcher(rules) if rules.matcher == "jsonrpc" else RestMatcher(rules)


class HostDispatchMatcher(ProtocolMatcher):
    """Picks each provider's matcher by the request's host (cassettes may mix providers)."""

    def __init__(self, by_host: Mapping[str, ProtocolMatcher], fallback: ProtocolMatcher) -> None:
        self._by_host: Dict[str, ProtocolMatcher] = dict(by_host)
        self._fallback = fallback

    def key(self, request: Any) -> Key:
        return self._by_host.get(urlsplit(request.uri).netloc.lower(), self._fallback).key(request)
