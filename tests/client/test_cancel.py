"""A cancel is reported as what the server did, never guessed: its documented success, or the
order's own state when a retried cancel finds nothing left to cancel."""

from __future__ import annotations

import re

import pytest

from integrations import ProtocolError, Rejected
from integrations.sandbox import Fault

CANCEL = re.compile(r"^/commandapi/warptrans/TRADE/v2/client/orders/[0-9]+$")


def _working_limit_order(client):
    portfolio = client.portfolios[0]
    ack = client.limit_order(
        portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1, price="100.5"
    )
    return portfolio, ack.order_number


def _state(client, portfolio, number):
    return client._order_status(number, portfolio, "MOEX", False, None)


def test_a_cancel_whose_reply_is_lost_is_reported_cancelled_from_the_orders_state(alor_sandbox, alor_live):
    portfolio, number = _working_limit_order(alor_live)
    alor_sandbox.faults.add(Fault.drop_reply(method="DELETE", path=CANCEL, times=1))
    ack = alor_live.cancel_order(number, portfolio=portfolio, exchange="MOEX")
    assert (ack.order_number, ack.message) == (number, "canceled")
    seen = [(r.method, r.processed) for r in alor_sandbox.requests() if number in r.path]
    # The cancel acted and lost its reply; the retry found nothing to cancel; the state said why.
    assert seen == [("DELETE", True), ("DELETE", True), ("GET", True)]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Service temporarily unavailable</body></html>", "text/html"),
        ("", "text/plain"),
        ("{not json", "application/json"),
        ('{"message": "success"}', "application/json"),
    ],
    ids=["html", "empty", "invalid-json", "json-not-the-documented-text"],
)
def test_a_200_that_is_not_the_documented_success_is_not_a_cancel(
    alor_sandbox, alor_live, body, content_type
):
    portfolio, number = _working_limit_order(alor_live)
    alor_sandbox.faults.add(
        Fault.respond(200, {"Content-Type": content_type}, body, method="DELETE", path=CANCEL, times=1)
    )
    with pytest.raises(ProtocolError, match="not its documented 'success'"):
        alor_live.cancel_order(number, portfolio=portfolio, exchange="MOEX")
    assert _state(alor_live, portfolio, number) == "working"  # and indeed nothing was cancelled


def test_a_filled_or_unknown_order_is_not_reported_cancelled(alor_sandbox, alor_live):
    portfolio = alor_live.portfolios[0]
    filled = alor_live.market_order(
        portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1
    )
    for number in (filled.order_number, "12345"):
        with pytest.raises(Rejected) as info:
            alor_live.cancel_order(number, portfolio=portfolio, exchange="MOEX")
        assert info.value.code.startswith("OrderToCancelNotFound")


@pytest.mark.parametrize(
    "fault",
    [
        Fault.reset(method="DELETE", path=CANCEL, times=1),
        Fault.respond(503, body="busy", method="DELETE", path=CANCEL, times=1),
        Fault.respond(429, {"Retry-After": "0"}, method="DELETE", path=CANCEL, times=1),
    ],
    ids=["reset", "503", "429"],
)
def test_a_cancel_that_never_acted_is_retried_and_acknowledged(alor_sandbox, alor_live, fault):
    portfolio, number = _working_limit_order(alor_live)
    alor_sandbox.faults.add(fault)
    ack = alor_live.cancel_order(number, portfolio=portfolio, exchange="MOEX")
    assert (ack.order_number, ack.message) == (number, "success")
    assert [r.method for r in alor_sandbox.requests() if number in r.path] == ["DELETE", "DELETE"]
    assert _state(alor_live, portfolio, number) == "canceled"
