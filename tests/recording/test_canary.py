"""Canary: record a session whose credentials and tokens are fresh random strings, then grep every
file written (cassettes and logs) for each of them."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any, List

import pytest

from integrations import Host, hookimpl
from integrations.recording import recorded_session


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


@pytest.mark.parametrize("provider", sorted(SESSIONS))
def test_no_secret_reaches_any_file_written(provider, tmp_path: Path):
    spy = TokenSpy()
    host = Host(plugins=(("spy", spy),))
    log_file = tmp_path / "session.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        seed = random.SystemRandom().randrange(2**32)
        with recorded_session(
            provider, tmp_path / "canary.yaml", mode="rewrite", host=host, sandbox_options={"seed": seed}
        ) as s:
            credentials = list(s.sandbox.credentials.values())
            SESSIONS[provider](s)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    secrets = set(credentials + spy.secrets)
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
