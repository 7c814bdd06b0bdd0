"""Retry safety is explicit per operation. Against the live sandboxes, a reply is dropped after the
server acted on the request:

- ALOR orders are deduplicated by ``X-REQID``: retried with the same id, placed once;
- ``td.rpc()`` may call anything, and Trading Desk does not deduplicate by JSON-RPC id: sent once,
  and the caller learns that the outcome is unknown;
- Trading Desk's typed reads are retried and succeed.
"""

from __future__ import annotations

from typing import Any, List

import pytest

from integrations import OperationFailed
from integrations.sandbox import Fault

ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders/actions/"


def _seen(sb: Any, path: str = "", rpc_method: str = "") -> List[Any]:
    return [
        r for r in sb.requests() if (path and r.path == path) or (rpc_method and rpc_method in r.rpc_methods)
    ]


@pytest.mark.parametrize("kind", ["market", "limit"])
def test_an_alor_order_whose_reply_is_lost_is_retried_with_its_id_and_placed_once(
    alor_sandbox, alor_live, kind
):
    portfolio = alor_live.portfolios[0]
    before = alor_sandbox.emulator.orders_placed
    handle = alor_sandbox.faults.add(Fault.drop_reply(method="POST", path=ORDERS + kind, times=1))
    order = dict(portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
    if kind == "limit":
        ack = alor_live.limit_order(**order, price="100.5")
    else:
        ack = alor_live.market_order(**order)
    assert handle.hits == 1
    attempts = _seen(alor_sandbox, path=ORDERS + kind)
    assert len(attempts) == 2 and attempts[0].processed  # the server acted on the first one
    assert attempts[0].request_id == attempts[1].request_id == ack.request_id
    assert alor_sandbox.emulator.orders_placed == before + 1
    assert ack.order_number


def test_an_rpc_whose_reply_is_lost_reaches_the_server_once_and_says_the_outcome_is_unknown(
    td_sandbox, td_live
):
    td_live.user_info()  # logged in
    td_sandbox.faults.add(Fault.drop_reply(rpc_method="Campaign.create", times=1))
    with pytest.raises(OperationFailed) as info:
        td_live.rpc("Campaign.create", {"title": "Spring sale"})
    assert info.value.outcome_unknown
    assert "tradingdesk.Campaign.create: outcome unknown" in str(info.value)
    assert "not retried" in str(info.value)
    (only,) = _seen(td_sandbox, rpc_method="Campaign.create")
    assert only.processed


def test_rpc_with_retry_true_is_retried(td_sandbox, td_live):
    td_live.user_info()
    td_sandbox.faults.add(Fault.drop_reply(rpc_method="Campaign.getList", times=1))
    assert td_live.rpc("Campaign.getList", retry=True)
    assert len(_seen(td_sandbox, rpc_method="Campaign.getList")) == 2


def test_a_typed_read_whose_reply_is_lost_is_retried_and_succeeds(td_sandbox, td_live):
    td_live.user_info()
    td_sandbox.faults.add(Fault.drop_reply(rpc_method="Campaign.getList", times=1))
    assert td_live.campaigns()
    first, second = _seen(td_sandbox, rpc_method="Campaign.getList")
    assert first.processed and second.processed
    assert first.json()["id"] == second.json()["id"]  # the same JSON-RPC id


def test_a_request_that_never_reached_the_server_is_retried_even_when_unsafe(td_sandbox, td_live):
    # A 429 is a refusal, not an action: repeating an unsafe call after it is safe.
    td_live.user_info()
    td_sandbox.faults.add(Fault.respond(429, {"Retry-After": "0"}, rpc_method="Campaign.create", times=1))
    with pytest.raises(Exception) as info:  # noqa: PT011 - the sandbox has no such method: any answer
        td_live.rpc("Campaign.create", {"title": "x"})
    assert "outcome unknown" not in str(info.value)
    assert len(_seen(td_sandbox, rpc_method="Campaign.create")) == 2


def test_a_lost_token_refresh_is_not_repeated_and_the_next_call_logs_in_again(td_sandbox, td_live, clock):
    # User.tokenRefresh rotates the refresh token: a repeat after a lost reply would be refused, so
    # it is not repeated; the next renewal finds the old token dead and logs in with the password.
    td_live.user_info()
    clock.advance(8 * 86400)
    td_sandbox.faults.add(Fault.drop_reply(rpc_method="User.tokenRefresh", times=1))
    with pytest.raises(OperationFailed) as info:
        td_live.campaigns()
    assert "User.tokenRefresh: outcome unknown" in str(info.value)
    assert len(_seen(td_sandbox, rpc_method="User.tokenRefresh")) == 1
    assert len(_seen(td_sandbox, rpc_method="Campaign.getList")) == 0  # never sent: no token
    assert td_live.campaigns()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_truncated_reply_never_passes_for_a_whole_one(alor_sandbox, alor_live, how):
    # urllib3 1.26 (Python 3.9) would hand out the partial body unless told to enforce Content-Length.
    alor_live.orderbook("MOEX", "SBER", depth=1)
    book_path = "/md/v2/orderbooks/MOEX/SBER"
    alor_sandbox.faults.add(Fault.truncate(after=10, how=how, path=book_path, times=1))
    book = alor_live.orderbook("MOEX", "SBER", depth=5)  # a read: retried, and whole the second time
    assert len(book.bids) == 5
    assert len(_seen(alor_sandbox, path=book_path)) == 3
    alor_sandbox.faults.add(Fault.truncate(after=10, how=how, path=book_path))
    with pytest.raises(OperationFailed):
        alor_live.orderbook("MOEX", "SBER", depth=5, timeout=2)
