"""ALOR against the live sandbox on 127.0.0.1: concurrency, expiry, faults and retries."""

from __future__ import annotations

from typing import Any, List

import pytest

import integrations
from integrations import AuthenticationError, ManualClock, SequentialIds, Timeout, sandbox


def _connect(sb: Any, clock: ManualClock, **kwargs: Any) -> Any:
    return integrations.connect(
        "alor", base_urls=sb.base_urls, credentials=sb.credentials, clock=clock, ids=SequentialIds(), **kwargs
    )


def test_sixteen_threads_cause_one_refresh_per_expiry(alor_sandbox, alor_live, clock, threaded):
    books: List[Any] = []
    expiries = 3
    for round_ in range(expiries + 1):
        if round_:
            clock.advance(1800)  # past exp: every token held so far is expired
        results, errors = threaded(lambda: [alor_live.orderbook("MOEX", "SBER", depth=5) for _ in range(3)])
        assert not errors, errors
        books += [book for batch in results for book in batch]
    assert len(books) == 16 * 3 * (expiries + 1)
    # The first round authenticates once; each expiry costs exactly one refresh.
    assert alor_sandbox.emulator.refresh_count == 1 + expiries
    assert alor_live.client.tokens.authentications == 1
    assert alor_live.client.tokens.refreshes == expiries


def test_a_401_gets_exactly_one_refresh_and_one_retry(alor_sandbox, clock):
    # The client's clock lags the server's: the client believes its token is valid, the server
    # answers 401, and the client renews once and retries once.
    client_clock = ManualClock(clock.now())
    with _connect(alor_sandbox, client_clock) as client:
        client.orderbook("MOEX", "SBER", depth=1)
        clock.advance(1800 + 1)  # only the server's clock moves
        client_clock.advance(1)
        book = client.orderbook("MOEX", "SBER", depth=1)
        assert book.bids
        assert alor_sandbox.emulator.refresh_count == 2
        assert client.client.tokens.refreshes == 1


def test_a_second_401_after_the_retry_is_raised_not_looped(clock):
    # Every JWT this sandbox issues is already expired by its own clock.
    with sandbox.running("alor", clock=clock, access_token_ttl=0) as sb, _connect(sb, clock) as client:
        with pytest.raises(integrations.AccessTokenRejected) as info:
            client.orderbook("MOEX", "SBER", depth=1)
        assert info.value.status == 401
        # One authentication, one renewal after the 401, and no third attempt.
        assert sb.emulator.refresh_count == 2


def test_revoked_refresh_token_raises_authentication_error_without_the_token(alor_sandbox, clock, caplog):
    old = alor_sandbox.credentials["refresh_token"]
    alor_sandbox.emulator.issue_refresh_token()  # a new token revokes the old one
    with _connect(alor_sandbox, clock) as client, pytest.raises(AuthenticationError) as info:
        client.orderbook("MOEX", "SBER")
    assert info.value.status == 403
    assert old not in str(info.value) and old not in repr(info.value)
    assert old not in caplog.text


def test_timed_out_order_is_retried_with_the_same_id_and_placed_once(alor_sandbox, clock):
    with _connect(alor_sandbox, clock, timeout=(2.0, 0.3)) as client:
        portfolio = client.portfolios[0]
        alor_sandbox.emulator.delay_next_command(1.0)  # processed, but the answer comes too late
        ack = client.market_order(portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
        assert ack.order_number
        assert alor_sandbox.emulator.orders_placed == 1


def test_timeout_without_retries_raises_timeout(alor_sandbox, clock):
    with _connect(alor_sandbox, clock, timeout=(2.0, 0.3), max_retries=0) as client:
        portfolio = client.portfolios[0]
        alor_sandbox.emulator.delay_next_command(1.0)
        with pytest.raises(Timeout) as info:
            client.market_order(portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
        assert info.value.should_retry
        assert info.value.request_id
        # The outcome was unknown to the client, yet the order exists exactly once.
        assert alor_sandbox.emulator.orders_placed == 1


def test_connect_does_no_io(no_requests):
    client = integrations.connect("alor", credentials={"refresh_token": "x" * 36})
    assert repr(client).startswith("<AlorClient")
    client.close()
    assert no_requests == []


def test_no_token_in_debug_logs_or_reprs(alor_sandbox, alor_live, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    alor_live.orderbook("MOEX", "SBER", depth=1)
    token = alor_live.client.tokens.peek()
    secrets = [token.access, token.refresh, alor_sandbox.credentials["refresh_token"]]
    assert caplog.records  # the transport did log the calls
    for secret in secrets:
        assert secret not in caplog.text
        assert (
            secret not in repr(token)
            and secret not in repr(alor_live)
            and secret not in repr(alor_live.client)
        )
