"""A client used before ``os.fork()`` works in the parent and in every child, with no shared socket:
the child's transports forget the parent's pooled connections and open their own."""

from __future__ import annotations

import json
import os
import threading
import uuid
from typing import Any, Callable, Dict, List, Tuple

import pytest

import integrations

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

CHILDREN = 4
CALLS = 25
SYMBOLS = ("SBER", "GAZP", "LKOH")


def _fork_and_collect(
    work: Callable[[int], Dict[str, Any]], parent_work: Callable[[], Dict[str, Any]]
) -> List[Dict[str, Any]]:
    """Run ``work(i)`` in ``CHILDREN`` forked children while the parent runs ``parent_work()``;
    each child reports a JSON dict through a pipe (and exits 0 only when it could report)."""
    children: List[Tuple[int, int]] = []
    for i in range(CHILDREN):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.close(read)
                try:
                    report = work(i)
                except BaseException as exc:  # noqa: BLE001 - reported to the parent
                    report = {"errors": [f"{type(exc).__name__}: {exc}"], "crossed": 0}
                with os.fdopen(write, "w") as out:
                    json.dump(report, out)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        children.append((pid, read))
    reports = [parent_work()]
    for pid, read in children:
        with os.fdopen(read) as source:
            text = source.read()
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child {pid} failed: {status}"
        reports.append(json.loads(text))
    return reports


def _books(client: Any) -> Dict[str, Tuple[Any, Any]]:
    return {s: (b.bids, b.asks) for s in SYMBOLS for b in [client.orderbook("MOEX", s, depth=50)]}


def _alor_calls(client: Any, portfolio: str, reference: Dict[str, Any], seed: int) -> Dict[str, Any]:
    errors: List[str] = []
    crossed = 0
    numbers: List[str] = []
    for n in range(CALLS):
        try:
            kind = (n + seed) % 3
            symbol = SYMBOLS[(n + seed) % len(SYMBOLS)]
            if kind == 0:
                depth = 1 + (n * 7 + seed) % 50
                book = client.orderbook("MOEX", symbol, depth=depth)
                bids, asks = reference[symbol]
                if (book.bids, book.asks) != (bids[:depth], asks[:depth]):
                    crossed += 1
            else:
                rid = str(uuid.uuid4())
                ack = client.limit_order(
                    portfolio=portfolio,
                    exchange="MOEX",
                    symbol="SBER",
                    side="buy",
                    quantity=1,
                    price="100.5",
                    request_id=rid,
                )
                if ack.request_id != rid:
                    crossed += 1
                numbers.append(ack.order_number)
                cancel = client.cancel_order(ack.order_number, portfolio=portfolio, exchange="MOEX")
                if cancel.order_number != ack.order_number or cancel.message != "success":
                    crossed += 1
        except Exception as exc:  # noqa: BLE001 - counted
            errors.append(f"{type(exc).__name__}: {exc}")
    return {"errors": errors, "crossed": crossed, "numbers": numbers}


@pytest.mark.realtime
def test_an_alor_client_used_before_fork_works_in_parent_and_children(alor_sandbox):
    with integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials
    ) as client:
        portfolio = client.portfolios[0]
        reference = _books(client)
        ack = client.limit_order(
            portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1, price="100.5"
        )
        client.cancel_order(ack.order_number, portfolio=portfolio, exchange="MOEX")
        reports = _fork_and_collect(
            lambda i: _alor_calls(client, portfolio, reference, i + 1),
            lambda: _alor_calls(client, portfolio, reference, 0),
        )
        # The parent's pooled connections still work after the children are gone.
        assert client.orderbook("MOEX", "SBER", depth=5).bids == reference["SBER"][0][:5]
    assert [r["errors"] for r in reports] == [[]] * (CHILDREN + 1)
    assert sum(r["crossed"] for r in reports) == 0
    numbers = [n for r in reports for n in r["numbers"]]
    assert len(numbers) == len(set(numbers)) > 0


def _td_calls(client: Any, expected: Tuple[Any, Any]) -> Dict[str, Any]:
    errors: List[str] = []
    crossed = 0
    for n in range(CALLS):
        try:
            if n % 2:
                if [c.id for c in client.campaigns()] != expected[0]:
                    crossed += 1
            elif client.user_info() != expected[1]:
                crossed += 1
        except Exception as exc:  # noqa: BLE001 - counted
            errors.append(f"{type(exc).__name__}: {exc}")
    return {"errors": errors, "crossed": crossed}


@pytest.mark.realtime
def test_a_trading_desk_client_used_before_fork_works_in_parent_and_children(td_sandbox):
    with integrations.connect(
        "tradingdesk", base_urls=td_sandbox.base_urls, credentials=td_sandbox.credentials
    ) as client:
        expected = ([c.id for c in client.campaigns()], client.user_info())
        reports = _fork_and_collect(
            lambda i: _td_calls(client, expected), lambda: _td_calls(client, expected)
        )
        assert [c.id for c in client.campaigns()] == expected[0]
    assert [r["errors"] for r in reports] == [[]] * (CHILDREN + 1)
    assert sum(r["crossed"] for r in reports) == 0


def test_a_child_does_not_reuse_the_parents_pooled_sockets(alor_sandbox):
    with integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials
    ) as client:
        client.orderbook("MOEX", "SBER", depth=1)
        transport = client._client.ctx.transport
        # Kept referenced (in both processes): no new pool manager can take an old one's id.
        managers = [a.poolmanager for a in transport.session.adapters.values()]
        before = [id(m) for m in managers]
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                after = [id(a.poolmanager) for a in transport.session.adapters.values()]
                pools = [len(a.poolmanager.pools) for a in transport.session.adapters.values()]
                os.write(write, json.dumps({"fresh": not set(after) & set(before), "pools": pools}).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as source:
            report = json.loads(source.read())
        os.waitpid(pid, 0)
        assert report == {"fresh": True, "pools": [0, 0]}
        # The parent's pools are untouched.
        assert [id(a.poolmanager) for a in transport.session.adapters.values()] == before
        assert threading.active_count() >= 1


@pytest.mark.realtime
def test_a_child_forked_while_a_parent_thread_renews_the_token_is_not_stuck(alor_sandbox):
    """A parent thread holds the token manager's lock (its login hangs) when the process forks: the
    child's copy of that lock would stay held forever. The child gets fresh locks and logs in itself."""
    from integrations.sandbox import Fault

    with integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials, timeout=3
    ) as client:
        hang = alor_sandbox.faults.add(Fault.silence(path="/refresh", times=1))
        outcome: List[str] = []
        renewing = threading.Thread(
            target=lambda: outcome.append(_try(lambda: client.orderbook("MOEX", "SBER", depth=1)))
        )
        renewing.start()
        while hang.hits == 0:  # the thread is inside the login, holding the manager's lock
            threading.Event().wait(0.01)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.write(write, _try(lambda: client.orderbook("MOEX", "GAZP", depth=1)).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as source:
            child = source.read()
        os.waitpid(pid, 0)
        renewing.join()
        assert child == "ok", child
        assert outcome == ["Timeout"]  # the parent's thread met the silent login and its deadline


def _try(call: Callable[[], Any]) -> str:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - reported
        return type(exc).__name__
    return "ok"
