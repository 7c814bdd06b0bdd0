"""Trading Desk connects from a refresh token alone (``credentials={"refresh_token": ...}``): the login
is User.tokenRefresh; a refused one says the refresh token was refused, never the password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import integrations
from integrations import AuthenticationError, ManualClock
from integrations.runtime import SequentialIds


def connect(sb: Any, clock: ManualClock, credentials: Any, **kwargs: Any) -> Any:
    return integrations.connect(
        "tradingdesk",
        base_urls=sb.base_urls,
        credentials=credentials,
        clock=clock,
        ids=SequentialIds(),
        **kwargs,
    )


def fresh_refresh_token(sb: Any, clock: ManualClock) -> str:
    with connect(sb, clock, sb.credentials) as td:
        token = td.client.token()
        assert token.refresh
        return str(token.refresh)


def test_a_refresh_token_alone_connects(td_sandbox: Any, clock: ManualClock):
    refresh = fresh_refresh_token(td_sandbox, clock)
    assert td_sandbox.emulator.auth_count == 1
    with connect(td_sandbox, clock, {"refresh_token": refresh}) as td:
        assert td.campaigns()
        assert td.client.token().refresh != refresh  # rotated
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (1, 1)


def test_a_refused_refresh_token_says_so_not_the_password(td_sandbox: Any, clock: ManualClock):
    refresh = fresh_refresh_token(td_sandbox, clock)
    with connect(td_sandbox, clock, {"refresh_token": refresh}) as td:
        td.campaigns()  # rotates `refresh` away
    refreshes = td_sandbox.emulator.refresh_count
    with (
        connect(td_sandbox, clock, {"refresh_token": refresh}) as td,
        pytest.raises(AuthenticationError) as info,
    ):
        td.campaigns()
    message = str(info.value)
    assert "refresh token" in message and "rejected the email or password" not in message
    assert refresh not in message
    # One attempt, no hammering: nothing else can log in.
    assert td_sandbox.emulator.refresh_count == refreshes and td_sandbox.emulator.auth_count == 1


def test_a_stored_newer_pair_wins_over_the_credentials(td_sandbox: Any, clock: ManualClock, tmp_path: Path):
    pytest.importorskip("filelock")
    from integrations.stores import FileTokenStore

    refresh = fresh_refresh_token(td_sandbox, clock)
    store = FileTokenStore(tmp_path / "td.json")
    with connect(td_sandbox, clock, {"refresh_token": refresh}, token_store=store) as td:
        td.campaigns()
    # `refresh` is dead now, but the store holds its successor: a restart with the same credentials works.
    clock.advance(8 * 86400)  # and the stored access token has expired: refreshed with the stored one
    with connect(td_sandbox, clock, {"refresh_token": refresh}, token_store=store) as td:
        assert td.campaigns()
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (1, 2)
