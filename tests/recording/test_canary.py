"""Canary: record a session whose credentials and tokens are fresh random strings, and in which the
server echoes all of them back in its error answers; then grep every file written (cassettes and
logs) for each of them, and every error raised (message, repr, attributes at any depth, traceback,
pickle) and every log record."""

from __future__ import annotations

import json
import logging
import pickle
import random
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, List, Set

import pytest

from integrations import Host, errors, hookimpl
from integrations.recording import recorded_session
from integrations.sandbox import Fault


class TokenSpy:
    """Collects every access and refresh token the client uses, through a call wrapper."""

    def __init__(self) -> None:
        self.secrets: List[str] = []

    @hookimpl(wrapper=True)
    def integrations_call(self, ctx: Any, token: Any, request: Any) -> Any:
        if token is not None:
            self.secrets += [token.access, *([token.refresh] if token.refresh else [])]
        return (yield)


def _alor_session(s: Any) -> None:
    client = s.client
    portfolio = client.portfolios[0]
    client.orderbook("MOEX", "SBER", depth=3)
    s.clock.advance(1800)  # force a refresh: a second JWT
    client.market_order(portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
    client.request("GET", f"/md/v2/Clients/MOEX/{portfolio}/orders")


def _tradingdesk_session(s: Any) -> None:
    client = s.client
    client.user_info()
    client.campaigns()
    s.clock.advance(7 * 86400)  # force a refresh: both tokens rotate
    client.coverage_and_inspection()


SESSIONS = {"alor": _alor_session, "tradingdesk": _tradingdesk_session}

JSON = {"Content-Type": "application/json"}
ORDERBOOK = "/md/v2/orderbooks/MOEX/SBER"


def _echo(s: Any) -> str:
    """Everything secret the client holds now, in one string, as a careless server would echo it."""
    token = s.client.client.tokens.peek()
    values = [*s.sandbox.credentials.values(), token.access, token.refresh or ""]
    return "echo: " + " | ".join(values) + f" | Bearer {token.access}"


def _alor_errors(s: Any) -> Iterator[Callable[[], Any]]:
    for status in (400, 401, 403, 500):
        body = json.dumps({"code": "Echo", "message": _echo(s), "token": _echo(s)})
        headers = JSON if status != 500 else {"Content-Type": "text/html"}
        page = body if status != 500 else f"<html><pre>{_echo(s)}</pre></html>"
        s.sandbox.faults.add(Fault.respond(status, headers, page, path=ORDERBOOK))
        yield lambda: s.client.orderbook("MOEX", "SBER", depth=1)
    s.sandbox.faults.add(Fault.respond(200, {"Content-Type": "text/plain"}, _echo(s), path=ORDERBOOK))
    yield lambda: s.client.orderbook("MOEX", "SBER", depth=1)
    s.sandbox.faults.add(Fault.respond(403, JSON, json.dumps({"message": _echo(s)}), service="oauth"))
    s.clock.advance(1800)  # the JWT is due: the refresh is refused, echoing the refresh token
    yield lambda: s.client.orderbook("MOEX", "SBER", depth=1)


def _rpc_error(s: Any, code: int) -> str:
    error = {"code": code, "message": _echo(s), "data": {"echo": [_echo(s)], "password": _echo(s)}}
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error})


def _tradingdesk_errors(s: Any) -> Iterator[Callable[[], Any]]:
    for code in (-32603, -32001):
        s.sandbox.faults.add(Fault.respond(200, JSON, _rpc_error(s, code), rpc_method="User.getInfo"))
        yield s.client.user_info
    for status, kind in ((500, "text/html"), (200, "text/plain")):
        s.sandbox.faults.add(
            Fault.respond(status, {"Content-Type": kind}, _echo(s), rpc_method="User.getInfo")
        )
        yield s.client.user_info
    s.sandbox.faults.add(Fault.respond(200, JSON, _rpc_error(s, -32603), rpc_method="User.tokenRefresh"))
    s.sandbox.faults.add(Fault.respond(200, JSON, _rpc_error(s, -32603), rpc_method="User.auth"))
    s.clock.advance(7 * 86400)  # both tokens due: the refresh and the login fail, echoing everything
    yield s.client.user_info


ERRORS = {"alor": _alor_errors, "tradingdesk": _tradingdesk_errors}


def _texts(value: Any, seen: Set[int]) -> Iterator[str]:
    """Every string in an error: args, attributes at any depth, causes and contexts."""
    if id(value) in seen or value is None or isinstance(value, (int, float, bool)):
        return
    if isinstance(value, (str, bytes)):
        yield value if isinstance(value, str) else value.decode("utf-8", "replace")
        return
    seen.add(id(value))
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(k, seen)
            yield from _texts(v, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _texts(v, seen)
    else:
        if isinstance(value, BaseException):
            yield from (str(value), repr(value), *traceback.format_exception(type(value), value, None))
            yield pickle.dumps(value).decode("latin-1")
            for linked in (value.args, value.__cause__, value.__context__):
                yield from _texts(linked, seen)
        yield from _texts(getattr(value, "__dict__", None), seen)


def _check_errors(s: Any, secrets: Set[str], records: List[logging.LogRecord]) -> Set[str]:
    """Run the provider's error paths; return the tokens seen, assert no error shows a secret."""
    for action in ERRORS[s.provider](s):
        token = s.client.client.tokens.peek()
        secrets |= {token.access, token.refresh} - {None}
        with pytest.raises(errors.IntegrationError) as info:
            action()
        s.sandbox.faults.clear()
        token = s.client.client.tokens.peek()
        secrets |= {token.access, token.refresh} - {None}
        exc = info.value
        shown = list(_texts(exc, set()))
        shown.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        shown += [r.getMessage() for r in records]
        # Not "assert secret not in text": pytest would print both.
        leaked = [n for n, text in enumerate(shown) for secret in secrets if secret in text]
        assert not leaked, (
            f"{type(exc).__name__} shows a secret in {len(leaked)} place(s), first #{leaked[0]}"
        )
    return secrets


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("provider", sorted(SESSIONS))
def test_no_secret_reaches_any_file_written(provider, tmp_path: Path):
    spy = TokenSpy()
    host = Host(plugins=(("spy", spy),))
    log_file = tmp_path / "session.log"
    handler = logging.FileHandler(log_file)
    records = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        seed = random.SystemRandom().randrange(2**32)
        with recorded_session(
            provider, tmp_path / "canary.yaml", mode="rewrite", host=host, sandbox_options={"seed": seed}
        ) as s:
            credentials = list(s.sandbox.credentials.values())
            SESSIONS[provider](s)
            seen = _check_errors(s, set(credentials + spy.secrets), records.records)
    finally:
        root.removeHandler(handler)
        root.removeHandler(records)
        root.setLevel(old_level)
        handler.close()
    secrets = set(credentials + spy.secrets) | seen
    assert len(secrets) >= 3  # a credential and two generations of tokens at least
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"canary.yaml", "session.log"}
    assert log_file.read_text()  # the session did log
    for path in written:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"{path.name} holds a secret"
            # A JWT's signature alone would identify it too.
            if secret.startswith("eyJ") and secret.count(".") == 2:
                assert secret.rsplit(".", 1)[1] not in text, f"{path.name} holds a JWT signature"
