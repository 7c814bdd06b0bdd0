"""ALOR through the host, replayed from cassettes recorded against the sandbox.

Re-record with ``pytest tests/providers/alor --integrations-record-mode=rewrite``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations import NotFound, PermissionDenied, Rejected
from integrations_alor.models import OrderBook, PriceLevel


def test_orderbook_is_the_same_model_in_every_wire_format(integrations_session):
    with integrations_session("alor") as s:
        books = {
            fmt: s.client.orderbook("MOEX", "SBER", depth=10, format=fmt)
            for fmt in ("Simple", "Slim", "Heavy")
        }
    simple = books["Simple"]
    assert isinstance(simple, OrderBook)
    assert len(simple.bids) == len(simple.asks) == 10
    assert all(isinstance(level, PriceLevel) and isinstance(level.price, Decimal) for level in simple.bids)
    # Best-first on both sides, and the book is not crossed.
    assert [lvl.price for lvl in simple.bids] == sorted((lvl.price for lvl in simple.bids), reverse=True)
    assert [lvl.price for lvl in simple.asks] == sorted(lvl.price for lvl in simple.asks)
    assert simple.best_bid.price < simple.best_ask.price
    for fmt in ("Slim", "Heavy"):
        assert books[fmt].bids == simple.bids
        assert books[fmt].asks == simple.asks
        assert books[fmt].ms_timestamp == simple.ms_timestamp > 0


def test_orderbook_depth_bounds_are_served(integrations_session):
    with integrations_session("alor") as s:
        assert len(s.client.orderbook("MOEX", "GAZP", depth=1).bids) == 1
        assert len(s.client.orderbook("MOEX", "GAZP", depth=50).asks) == 50


def test_unknown_symbol_is_not_found(integrations_session):
    with integrations_session("alor") as s, pytest.raises(NotFound) as info:
        s.client.orderbook("MOEX", "NOSUCH")
    assert info.value.status == 404
    assert info.value.provider == "alor"


def test_account_claims_come_from_the_jwt(integrations_session):
    with integrations_session("alor") as s:
        account = s.client.account
        assert "D39004" in s.client.portfolios
        assert account.agreements
        # exp survives redaction, and replay runs at the recording instant, so the token is fresh.
        assert account.expires_at == pytest.approx(s.clock.now() + 1800, abs=5)


def test_market_and_limit_orders_then_cancel(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        market = client.market_order(
            portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1
        )
        limit = client.limit_order(
            portfolio=portfolio,
            exchange="MOEX",
            symbol="SBER",
            side="sell",
            quantity=2,
            price=Decimal("999.5"),
            comment="far away",
        )
        assert market.order_number.isdigit() and limit.order_number.isdigit()
        assert market.order_number != limit.order_number
        assert market.request_id != limit.request_id
        cancel = client.cancel_order(limit.order_number, portfolio=portfolio, exchange="MOEX")
        assert cancel.message == "success"
        assert cancel.order_number == limit.order_number
        # Cancelling it again finds nothing to cancel; its state says it is cancelled: that is the answer.
        again = client.cancel_order(limit.order_number, portfolio=portfolio, exchange="MOEX")
        assert (again.order_number, again.message) == (limit.order_number, "canceled")
        # The market order was filled at once: nothing to cancel, and it is not cancelled.
        with pytest.raises(Rejected) as info:
            client.cancel_order(market.order_number, portfolio=portfolio, exchange="MOEX")
        assert info.value.code.startswith("OrderToCancelNotFound")


def test_repeated_request_id_returns_the_first_answer(integrations_session):
    with integrations_session("alor") as s:
        portfolio = s.client.portfolios[0]
        kwargs = dict(
            portfolio=portfolio,
            exchange="MOEX",
            symbol="GAZP",
            side="buy",
            quantity=3,
            request_id="demo-request-1",
        )
        first = s.client.market_order(**kwargs)
        again = s.client.market_order(**kwargs)
        assert again.order_number == first.order_number
        assert again.request_id == first.request_id == "demo-request-1"
        if s.sandbox is not None:
            assert s.sandbox.emulator.orders_placed == 1


def test_order_for_a_portfolio_outside_the_token_is_denied(integrations_session):
    with integrations_session("alor") as s, pytest.raises(PermissionDenied) as info:
        s.client.market_order(portfolio="D99999", exchange="MOEX", symbol="SBER", side="buy", quantity=1)
    assert info.value.status == 403


def test_limit_order_rejected_by_the_provider_is_a_typed_error(integrations_session):
    with integrations_session("alor") as s, pytest.raises(Rejected) as info:
        s.client.limit_order(
            portfolio=s.client.portfolios[0],
            exchange="MOEX",
            symbol="NOSUCH",
            side="buy",
            quantity=1,
            price=10,
        )
    assert info.value.status == 400
    assert info.value.message


def test_expired_token_is_renewed_before_the_next_call(integrations_session):
    with integrations_session("alor") as s:
        s.client.orderbook("MOEX", "SBER", depth=1)
        first = s.client.client.tokens.peek()
        s.clock.advance(1800 - 30)  # inside the leeway: renew proactively, before any 401
        s.client.orderbook("MOEX", "SBER", depth=1)
        second = s.client.client.tokens.peek()
        assert second is not first
        assert second.expires_at > first.expires_at
        assert s.client.client.tokens.refreshes == 1


def test_escape_hatch_reaches_untyped_endpoints(integrations_session):
    with integrations_session("alor") as s:
        now = s.client.request("GET", "/md/v2/time")
        assert now == pytest.approx(s.clock.now(), abs=5)
        portfolio = s.client.portfolios[0]
        placed = s.client.market_order(
            portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1
        )
        orders = s.client.request("GET", f"/md/v2/Clients/MOEX/{portfolio}/orders")
        assert placed.order_number in {str(o["id"]) for o in orders}
