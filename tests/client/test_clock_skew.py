"""A server clock that is off never causes a renewal per call: tokens are timed from the client's own
receipt (ALOR: ``exp - iat``), and a token already expired on arrival is used until refused."""

from __future__ import annotations

import pytest

import integrations
from integrations import sandbox
from integrations.runtime import ManualClock, SequentialIds

HOUR = 3600.0


@pytest.mark.parametrize("skew", [-HOUR, +HOUR, -30 * 86400.0])
def test_alor_with_a_skewed_server_clock_refreshes_once(skew):
    client_clock = ManualClock(1_800_000_000.0)
    server_clock = ManualClock(client_clock.now() + skew)
    with (
        sandbox.running("alor", clock=server_clock) as sb,
        integrations.connect(
            "alor",
            base_urls=sb.base_urls,
            credentials=sb.credentials,
            clock=client_clock,
            ids=SequentialIds(),
        ) as alor,
    ):
        for _ in range(20):
            alor.orderbook("MOEX", "SBER", depth=1)
            client_clock.advance(10)
            server_clock.advance(10)
        assert sb.emulator.refresh_count == 1
        # Thirty minutes later (by both clocks) the token is due: one renewal, ahead of expiry.
        client_clock.advance(1800)
        server_clock.advance(1800)
        alor.orderbook("MOEX", "SBER", depth=1)
        assert sb.emulator.refresh_count == 2


@pytest.mark.parametrize("skew", [-HOUR, +HOUR])
def test_tradingdesk_with_a_skewed_server_clock_logs_in_once(skew):
    client_clock = ManualClock(1_800_000_000.0)
    server_clock = ManualClock(client_clock.now() + skew)
    with (
        sandbox.running("tradingdesk", clock=server_clock, access_token_ttl=1800) as sb,
        integrations.connect(
            "tradingdesk",
            base_urls=sb.base_urls,
            credentials=sb.credentials,
            clock=client_clock,
            ids=SequentialIds(),
        ) as td,
    ):
        for _ in range(20):
            td.campaigns()
            client_clock.advance(10)
            server_clock.advance(10)
        assert (sb.emulator.auth_count, sb.emulator.refresh_count) == (1, 0)
