"""The fault matrix: every operation kind of both providers, against the live sandboxes, crossed
with every fault the sandbox can inject. For each cell: the typed error (or success after a retry),
how many requests the server saw, orders placed never more than once, the call ended within its
deadline, and no credential or token in the error's text.

``EXPECTED`` is the table README's "Faults: what the caller sees" shows. Cancels: the lead is
changing what a cancel whose retry finds nothing does (it will check the order's state), so a cancel
cell asserts only a typed outcome and that nothing was cancelled twice.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import socket
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Type, Union

import pytest

import integrations
from integrations import errors
from integrations.runtime import ManualClock, SequentialIds
from integrations.sandbox import Fault

# Measures real elapsed time: not run under faketime.
pytestmark = pytest.mark.realtime

BOOK = "/md/v2/orderbooks/MOEX/SBER"
ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders/actions/"
JSON = {"Content-Type": "application/json"}
CAP = 64 * 1024  # the lowered response cap of these tests' clients
HANGS = 2.0  # timeout= of the cells that hang (drip, silence)
SLACK = 0.75  # wall time allowed past a deadline (thread start-up, a loaded CI box)


# -- operations ----------------------------------------------------------------------------------


class Op(NamedTuple):
    provider: str
    # Faults match these requests (keyword arguments of Fault.*).
    match: Mapping[str, Any]
    # Is the server's answer to a repeat the same as to the first attempt (reads, deduplicated
    # commands, logins): then a fault that may have lost the reply is retried.
    retried: bool
    # What a call that meets no fault returns, or raises (Campaign.create: no such method here).
    normal: Union[str, Type[BaseException]] = "ok"


OPS: Dict[str, Op] = {
    "alor orderbook": Op("alor", {"path": BOOK}, True),
    "alor market order": Op("alor", {"method": "POST", "path": ORDERS + "market"}, True),
    "alor limit order": Op("alor", {"method": "POST", "path": ORDERS + "limit"}, True),
    "alor cancel": Op("alor", {"method": "DELETE", "path": re.compile(r"/orders/[0-9]+$")}, True),
    "alor login": Op("alor", {"service": "oauth", "path": "/refresh"}, True),
    "alor refresh": Op("alor", {"service": "oauth", "path": "/refresh"}, True),
    "td campaigns": Op("tradingdesk", {"rpc_method": "Campaign.getList"}, True),
    "td rpc Campaign.create": Op("tradingdesk", {"rpc_method": "Campaign.create"}, False, errors.RpcError),
    "td login": Op("tradingdesk", {"rpc_method": "User.auth"}, True),
    "td refresh": Op("tradingdesk", {"rpc_method": "User.tokenRefresh"}, False),
}


def _prepare(name: str, client: Any, clock: ManualClock) -> Callable[[Optional[float]], Any]:
    """Bring ``client`` to where the operation starts (logged in, an order to cancel, a token about
    to expire) and return the call under test, taking ``timeout``."""
    provider = OPS[name].provider
    if provider == "alor":
        if name != "alor login":
            client.orderbook("MOEX", "SBER", depth=1)
        portfolio = client.portfolios[0] if name != "alor login" else ""
        order = dict(portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
        if name == "alor market order":
            return lambda timeout: client.market_order(**order, timeout=timeout)
        if name == "alor limit order":
            return lambda timeout: client.limit_order(**order, price="100.5", timeout=timeout)
        if name == "alor cancel":
            number = client.limit_order(**order, price="100.5").order_number
            return lambda timeout: client.cancel_order(
                number, portfolio=portfolio, exchange="MOEX", timeout=timeout
            )
        if name == "alor refresh":
            clock.advance(3600)  # the access token (30 minutes) has expired
        return lambda timeout: client.orderbook("MOEX", "SBER", depth=5, timeout=timeout)
    if name != "td login":
        client.user_info()
    if name == "td rpc Campaign.create":
        return lambda timeout: client.rpc("Campaign.create", {"title": "Spring sale"}, timeout=timeout)
    if name == "td refresh":
        clock.advance(8 * 86400)  # the access token has expired; the refresh token has not
    return lambda timeout: client.campaigns(timeout=timeout)


# -- faults --------------------------------------------------------------------------------------


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


class Cell(NamedTuple):
    """What one fault does to one operation: the outcome (``"ok"``, ``"normal"``: the operation's
    own answer, or an error class) and the requests of the operation the server saw."""

    outcome: Union[str, Type[BaseException]]
    requests: int


# Each fault: how to build it for a match, whether it hangs (timeout=2), and the expected cell for a
# retried operation and for one that is not (an unsafe rpc, a rotating refresh).
FaultMaker = Callable[[Mapping[str, Any], int], Fault]


class Spec(NamedTuple):
    make: FaultMaker
    retried: Cell
    not_retried: Cell
    hangs: bool = False


def _redirect(status: int, elsewhere: bool) -> FaultMaker:
    def make(match: Mapping[str, Any], port: int) -> Fault:
        location = f"http://127.0.0.1:{port}/moved" if elsewhere else "/api/md/v2/time"
        return Fault.redirect(status, location, **match)

    return make


OK, NORMAL = "ok", "normal"
BAD = Cell(errors.ProtocolError, 1)

FAULTS: Dict[str, Spec] = {
    # Lost after the server acted: repeated when safe (same request id), else "outcome unknown".
    "drop_reply": Spec(
        lambda m, p: Fault.drop_reply(times=1, **m), Cell(OK, 2), Cell(errors.ConnectionError, 1)
    ),
    # Reset before the server saw it: the client cannot tell; the same rule applies.
    "reset": Spec(lambda m, p: Fault.reset(times=1, **m), Cell(OK, 2), Cell(errors.ConnectionError, 1)),
    "503": Spec(
        lambda m, p: Fault.respond(503, {"Content-Type": "text/html"}, "<html>busy</html>", times=1, **m),
        Cell(OK, 2),
        Cell(errors.ServiceUnavailable, 1),
    ),
    # A refusal, never processed: retried after the wait, whatever the operation.
    "429 Retry-After seconds": Spec(
        lambda m, p: Fault.respond(429, {"Retry-After": "1"}, times=1, **m), Cell(OK, 2), Cell(NORMAL, 2)
    ),
    "429 Retry-After date, JSON body": Spec(
        lambda m, p: Fault.respond(
            429,
            {"Retry-After": _http_date(1), "Date": _http_date(0), **JSON},
            '{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Too many requests"}}',
            times=1,
            **m,
        ),
        Cell(OK, 2),
        Cell(NORMAL, 2),
    ),
    "slow drip": Spec(
        lambda m, p: Fault.drip(0.5, **m), Cell(errors.Timeout, 1), Cell(errors.Timeout, 1), hangs=True
    ),
    "silence": Spec(
        lambda m, p: Fault.silence(**m), Cell(errors.Timeout, 1), Cell(errors.Timeout, 1), hangs=True
    ),
    # Every attempt truncated: a retried operation tries 1 + max_retries (2) times.
    "truncated body": Spec(
        lambda m, p: Fault.truncate(after=5, **m),
        Cell(errors.ConnectionError, 3),
        Cell(errors.ConnectionError, 1),
    ),
    "redirect 307 same origin": Spec(_redirect(307, False), BAD, BAD),
    "redirect 308 other port": Spec(_redirect(308, True), BAD, BAD),
    "redirect 303 same origin": Spec(_redirect(303, False), BAD, BAD),
    "huge body": Spec(lambda m, p: Fault.huge(CAP + 1024, **m), BAD, BAD),
    "HTML 200": Spec(
        lambda m, p: Fault.respond(200, {"Content-Type": "text/html"}, "<html>ok</html>", **m), BAD, BAD
    ),
    "empty 200": Spec(lambda m, p: Fault.respond(200, JSON, b"", **m), BAD, BAD),
    "invalid JSON": Spec(lambda m, p: Fault.respond(200, JSON, '{"bids": [', **m), BAD, BAD),
    "NaN in JSON": Spec(
        lambda m, p: Fault.respond(
            200,
            JSON,
            '{"bids":[{"price":NaN,"volume":1}],"asks":[],"ms_timestamp":1,"existing":true,'
            '"jsonrpc":"2.0","id":1,"result":NaN,"AccessToken":NaN,"message":"success","orderNumber":NaN}',
            **m,
        ),
        BAD,
        BAD,
    ),
}


def _expected(op: str, fault: str) -> Cell:
    spec = FAULTS[fault]
    cell = spec.retried if OPS[op].retried else spec.not_retried
    if cell.outcome == NORMAL:
        return Cell(OPS[op].normal, cell.requests)
    return cell


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[socket.socket]:
    """A listening socket on another port: a redirect there must never be followed."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    yield listener
    listener.close()


def _connections(listener: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, OSError):
            return count
        conn.close()
        count += 1


@contextlib.contextmanager
def _live(provider: str) -> Iterator[Tuple[Any, Any, ManualClock]]:
    """A sandbox of ``provider`` and a client of it, sharing a manual clock (back-off and
    ``Retry-After`` waits cost no real time; deadlines are real)."""
    clock = ManualClock(float(int(time.time())))
    with integrations.sandbox.running(provider, clock=clock) as sb:
        client = integrations.connect(
            provider, base_urls=sb.base_urls, credentials=sb.credentials, clock=clock, ids=SequentialIds()
        )
        with client:
            yield sb, client, clock


def _secrets(sb: Any, client: Any) -> List[str]:
    values = [v for v in sb.credentials.values() if isinstance(v, str) and len(v) >= 6]
    token = client.client.tokens.peek()
    if token is not None:
        values += [v for v in (token.access, token.refresh) if v]
        values += [part for part in token.access.split(".") if len(part) >= 16]
    return values


def _matching(sb: Any, match: Mapping[str, Any], since: int) -> List[Any]:
    probe = Fault.respond(200, **match)
    return [r for r in sb.requests()[since:] if probe.matches(r)]


CELLS: List[Tuple[str, str]] = [(op, fault) for op in OPS for fault in FAULTS]


@pytest.mark.parametrize(("op", "fault"), CELLS, ids=[f"{op}-{fault}" for op, fault in CELLS])
def test_fault_matrix(op: str, fault: str, elsewhere: socket.socket) -> None:
    operation, spec = OPS[op], FAULTS[fault]
    expected = _expected(op, fault)
    with _live(operation.provider) as (sb, client, clock):
        client.client.ctx.transport.max_response_bytes = CAP
        call = _prepare(op, client, clock)
        placed = sb.emulator.orders_placed if operation.provider == "alor" else 0
        since = len(sb.requests())
        handle = sb.faults.add(spec.make(operation.match, elsewhere.getsockname()[1]))
        timeout = HANGS if spec.hangs else None
        started = time.monotonic()
        outcome: Any
        try:
            outcome = call(timeout)
        except errors.IntegrationError as exc:
            outcome = exc
        elapsed = time.monotonic() - started
        secrets = _secrets(sb, client)
        seen = _matching(sb, operation.match, since)

        assert handle.hits >= 1, "the fault never applied"
        if op == "alor cancel":
            # What a cancel whose retry finds nothing to cancel reports is the lead's to settle (it
            # will check the order's state): here only a typed outcome and never two cancellations.
            assert not isinstance(outcome, BaseException) or isinstance(outcome, errors.IntegrationError)
        else:
            if expected.outcome == OK:
                assert not isinstance(outcome, BaseException), f"expected success, got {outcome!r}"
            else:
                assert isinstance(outcome, expected.outcome), f"expected {expected.outcome}, got {outcome!r}"  # type: ignore[arg-type]
            assert len(seen) == expected.requests, [(r.method, r.path, r.status) for r in seen]
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, errors.IntegrationError)
            text = str(outcome) + repr(outcome)
            for secret in secrets:
                assert secret not in text
        if operation.provider == "alor":
            assert sb.emulator.orders_placed - placed <= 1
            if op == "alor cancel":
                cancelled = [r for r in seen if r.processed and r.status == 200]
                assert len(cancelled) <= 1
        budget = HANGS if spec.hangs else 60.0
        assert elapsed < budget + SLACK
        if spec.hangs:
            assert elapsed >= HANGS - 0.5  # it did wait, then gave up at the deadline
    assert _connections(elsewhere) == 0, "a redirect to another port was followed"
