"""Trading Desk tokens: every expiry form, proactive and server-side renewal, refresh-token rotation,
falling back to the password only when the refresh token is dead, the administrator token, and wrong
credentials. Live tests run against the sandbox on 127.0.0.1."""

from __future__ import annotations

import threading
from typing import Any, Iterator, List, Tuple

import pytest

import integrations
from integrations import (
    AccessTokenRejected,
    AuthenticationError,
    Host,
    ManualClock,
    RpcError,
    SequentialIds,
    hookimpl,
    sandbox,
)
from integrations_tradingdesk import auth

DAY = 86400.0
NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
WEEK_LATER = NOW + 7 * DAY  # 2023-11-21 22:13:20 UTC


def _connect(sb: Any, clock: ManualClock, **kwargs: Any) -> Any:
    kwargs.setdefault("credentials", sb.credentials)
    return integrations.connect(
        "tradingdesk", base_urls=sb.base_urls, clock=clock, ids=SequentialIds(), **kwargs
    )


# -- expiry forms (docs/reference/tradingdesk-api.md §2) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (604800, WEEK_LATER),  # a lifetime in seconds
        (604800.0, WEEK_LATER),
        ("604800", WEEK_LATER),
        (" 604800 ", WEEK_LATER),
        (int(WEEK_LATER), WEEK_LATER),  # epoch seconds
        (str(int(WEEK_LATER)), WEEK_LATER),
        (WEEK_LATER + 0.5, WEEK_LATER + 0.5),
        (int(WEEK_LATER * 1000), WEEK_LATER),  # epoch milliseconds
        (str(int(WEEK_LATER * 1000)), WEEK_LATER),
        ("2023-11-21 22:13:20", WEEK_LATER),  # naive text is UTC
        ("2023-11-21 22:13:20.500000", WEEK_LATER + 0.5),
        ("2023-11-21 22:13:20.5", WEEK_LATER + 0.5),
        ("2023-11-21T22:13:20", WEEK_LATER),
        ("2023-11-21T22:13:20Z", WEEK_LATER),
        ("2023-11-21T22:13:20.123456789Z", WEEK_LATER + 0.123456),
        ("2023-11-22T01:13:20+03:00", WEEK_LATER),
        ("2023-11-22T01:13:20+0300", WEEK_LATER),
        ("2023-11-21T17:13:20-05:00", WEEK_LATER),
        ({"date": "2023-11-22 01:13:20.000000", "timezone_type": 3, "timezone": "Europe/Moscow"}, WEEK_LATER),
        ({"date": "2023-11-22 01:13:20.000000", "timezone_type": 1, "timezone": "+03:00"}, WEEK_LATER),
        ({"date": "2023-11-22 01:13:20.000000", "timezone_type": 2, "timezone": "MSK"}, WEEK_LATER),
        ({"date": "2023-11-21 22:13:20.000000", "timezone_type": 2, "timezone": "GMT"}, WEEK_LATER),
        ({"date": "2023-11-21 22:13:20.000000", "timezone_type": 3, "timezone": "UTC"}, WEEK_LATER),
        ({"date": "2023-11-21 22:13:20.000000"}, WEEK_LATER),
    ],
)
def test_every_expiry_form(value, expected):
    assert auth.parse_expiry(value, NOW) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "value", [None, "", "soon", True, -5, "-5", [1], {"date": "garbage"}, {"x": 1}, "2023-13-40 99:00:00"]
)
def test_an_unreadable_expiry_is_unknown_not_fatal(value):
    # Unknown expiry: no proactive renewal, the server's rejection still triggers one.
    assert auth.parse_expiry(value, NOW) is None


@pytest.mark.parametrize("fmt", ["epoch", "epoch_ms", "lifetime", "date", "php"])
def test_the_sandbox_expiry_forms_give_the_same_token_expiry(fmt, clock):
    with sandbox.running("tradingdesk", clock=clock, expiry_format=fmt) as sb, _connect(sb, clock) as client:
        client.user_info()
        token = client.client.tokens.peek()
        assert token.expires_at == pytest.approx(clock.now() + 7 * DAY, abs=1)
        assert token.refresh_expires_at == pytest.approx(clock.now() + 60 * DAY, abs=1)
        clock.advance(7 * DAY - 10)  # inside the leeway: renewed ahead of time, in every form
        client.campaigns()
        assert sb.emulator.refresh_count == 1 and sb.emulator.auth_count == 1


# -- renewal -------------------------------------------------------------------------------------


def test_expiry_by_the_clock_refreshes_once_before_the_next_call(td_sandbox, td_live, clock):
    td_live.user_info()
    first = td_live.client.tokens.peek()
    clock.advance(7 * DAY - 60)  # the token is valid for another minute: renew now, before any rejection
    assert td_live.campaigns()
    second = td_live.client.tokens.peek()
    assert second.access != first.access and second.expires_at > first.expires_at
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (1, 1)
    assert (td_live.client.tokens.authentications, td_live.client.tokens.refreshes) == (1, 1)


def test_the_password_is_never_used_while_the_refresh_token_works(td_sandbox, td_live, clock):
    for _ in range(4):
        td_live.user_info()
        clock.advance(7 * DAY)  # past expiry each time
    td_live.user_info()
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (1, 4)


class CallSpy:
    """A wrapper plugin: records each attempt of each call and its JSON-RPC id(s)."""

    def __init__(self) -> None:
        self.attempts: List[Tuple[str, Any, str]] = []
        self._lock = threading.Lock()

    @hookimpl(wrapper=True)
    def integrations_call(self, ctx: Any, token: Any, request: Any) -> Iterator[Any]:
        body = request.json
        rpc_ids = [m.get("id") for m in body] if isinstance(body, list) else body.get("id")
        try:
            result = yield
        except Exception as exc:
            with self._lock:
                self.attempts.append((request.operation, rpc_ids, type(exc).__name__))
            raise
        with self._lock:
            self.attempts.append((request.operation, rpc_ids, "ok"))
        return result


@pytest.mark.parametrize("as_http_401", [False, True])
def test_a_server_side_rejection_gets_one_refresh_and_one_retry_with_the_same_id(as_http_401, clock):
    # The client's clock lags the server's: the client believes its token is valid, the server
    # rejects it (JSON-RPC -32001 with HTTP 200, or HTTP 401), the client renews once and retries once.
    spy = CallSpy()
    host = Host(plugins=(("spy", spy),))
    client_clock = ManualClock(clock.now())
    with (
        sandbox.running("tradingdesk", clock=clock, auth_errors_as_http_401=as_http_401) as sb,
        _connect(sb, client_clock, host=host) as client,
    ):
        client.user_info()
        clock.advance(7 * DAY + 1)  # only the server's clock moves
        campaigns = client.campaigns()
        assert campaigns
        assert (sb.emulator.auth_count, sb.emulator.refresh_count) == (1, 1)
        assert client.client.tokens.refreshes == 1
    # Wrappers see the login and the refresh too, each as an exchange of its own.
    (login, first, rejected, refresh, retried) = spy.attempts
    assert (login[0], login[2]) == ("tradingdesk.User.auth", "ok")
    assert first[0] == "tradingdesk.User.getInfo"
    assert rejected == ("tradingdesk.Campaign.getList", rejected[1], "AccessTokenRejected")
    assert (refresh[0], refresh[2]) == ("tradingdesk.User.tokenRefresh", "ok")
    assert retried == ("tradingdesk.Campaign.getList", rejected[1], "ok")  # the same JSON-RPC id


class TickingClock(ManualClock):
    """Ten seconds pass every time anyone looks: every token this sandbox issues has expired when used."""

    def now(self) -> float:
        self.advance(10)
        return super().now()


def test_a_second_rejection_after_the_retry_is_raised_not_looped(clock):
    client_clock = ManualClock(clock.now())
    with (
        sandbox.running("tradingdesk", clock=TickingClock(clock.now()), access_token_ttl=5) as sb,
        _connect(sb, client_clock) as client,
    ):
        with pytest.raises(AccessTokenRejected) as info:
            client.user_info()
        assert info.value.code == "-32001"
        # One login, one renewal after the rejection, and no third attempt.
        assert (sb.emulator.auth_count, sb.emulator.refresh_count) == (1, 1)


def test_refresh_rotates_both_tokens_and_the_old_refresh_token_is_dead(td_sandbox, td_live, clock):
    td_live.user_info()
    old = td_live.client.tokens.peek()
    clock.advance(7 * DAY)
    td_live.user_info()
    new = td_live.client.tokens.peek()
    assert new.refresh != old.refresh and new.access != old.access
    assert new.refresh_expires_at == pytest.approx(clock.now() + 60 * DAY, abs=1)
    # The sandbox rejects the rotated-away refresh token: as the raw JSON-RPC error ...
    with pytest.raises(RpcError) as raw:
        td_live.rpc("User.tokenRefresh", {"refresh_token": old.refresh})
    assert raw.value.rpc_code == -32002
    # ... and, through the plugin's refresh, as an AuthenticationError that does not echo it.
    with pytest.raises(AuthenticationError) as info:
        auth.refresh(td_live.client.ctx, old)
    assert info.value.code == "-32002" and old.refresh not in str(info.value)
    # The next renewal uses the new refresh token, and succeeds.
    clock.advance(7 * DAY)
    td_live.user_info()
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (1, 2)


def test_a_dead_refresh_token_falls_back_to_the_password(td_sandbox, td_live, clock):
    td_live.user_info()
    held = td_live.client.tokens.peek()
    # Someone else rotates the pair: the client's access and refresh tokens both die.
    td_live.rpc("User.tokenRefresh", {"refresh_token": held.refresh})
    assert td_live.campaigns()  # -32001, refresh -32002, log in again, retry once
    tokens = td_live.client.tokens
    assert (tokens.authentications, tokens.refreshes) == (2, 1)
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (2, 1)


def test_an_expired_refresh_token_is_not_even_tried(td_sandbox, td_live, clock):
    td_live.user_info()
    clock.advance(61 * DAY)  # past the refresh token's own expiry
    td_live.user_info()
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (2, 0)
    assert td_live.client.tokens.refreshes == 0


def test_a_refresh_rejected_with_http_401_also_falls_back_to_the_password(clock):
    with (
        sandbox.running("tradingdesk", clock=clock, auth_errors_as_http_401=True) as sb,
        _connect(sb, clock) as client,
    ):
        client.user_info()
        client.rpc("User.tokenRefresh", {"refresh_token": client.client.tokens.peek().refresh})
        assert client.user_info().methods
        assert (sb.emulator.auth_count, sb.emulator.refresh_count) == (2, 1)


# -- the administrator token ---------------------------------------------------------------------


def test_the_administrator_token_needs_no_login_and_is_never_refreshed(td_sandbox, clock, caplog):
    admin = td_sandbox.emulator.admin_credentials()
    with _connect(td_sandbox, clock, credentials=admin) as client:
        info = client.user_info()
        assert info.can_call("Partner.getClients")
        assert admin["token"] not in repr(info) and "auth_token" not in info.extra
        token = client.client.tokens.peek()
        assert not token.refreshable and token.expires_at is None and admin["token"] not in repr(token)
        clock.advance(30 * DAY)
        assert client.partner_clients()
        td_sandbox.emulator.revoke_admin_token()
        with pytest.raises(AuthenticationError) as rejected:
            client.campaigns()
        assert not isinstance(rejected.value, AccessTokenRejected)
        message = str(rejected.value)
        assert "administrator token" in message and "issue a new one" in message
        assert rejected.value.code == "-32001"
        assert admin["token"] not in message and admin["token"] not in repr(rejected.value)
        assert (client.client.tokens.authentications, client.client.tokens.refreshes) == (1, 0)
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (0, 0)
    assert admin["token"] not in caplog.text


def test_a_rejected_administrator_token_with_http_401(clock):
    with (
        sandbox.running("tradingdesk", clock=clock, auth_errors_as_http_401=True) as sb,
        _connect(sb, clock, credentials=sb.emulator.admin_credentials()) as client,
    ):
        sb.emulator.revoke_admin_token()
        with pytest.raises(AuthenticationError, match="administrator token") as info:
            client.user_info()
        assert info.value.status == 401


# -- wrong credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["password", "email"])
def test_wrong_credentials_raise_without_echoing_them(wrong, td_sandbox, clock, caplog):
    credentials = dict(td_sandbox.credentials)
    credentials[wrong] = "wrong-" + wrong + "@nowhere.test"
    with (
        _connect(td_sandbox, clock, credentials=credentials) as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.user_info()
    error = info.value
    assert not isinstance(error, AccessTokenRejected)
    assert error.code == "-32004" and "email or password" in error.message
    for secret in (*credentials.values(), *td_sandbox.credentials.values()):
        assert secret not in str(error) and secret not in repr(error) and secret not in caplog.text
    assert td_sandbox.emulator.auth_count == 0


def test_connect_does_no_io(no_requests):
    for credentials in ({"email": "a@b.test", "password": "x"}, {"token": "t" * 40}):
        client = integrations.connect("tradingdesk", credentials=credentials)
        assert repr(client) == "<TradingDeskClient contour='test'>"
        client.close()
    assert no_requests == []


def test_admin_token_authentication_does_no_io(no_requests):
    client = integrations.connect("tradingdesk", credentials={"token": "t" * 40})
    token = client.client.tokens.token()
    assert token.access == "t" * 40 and not token.refreshable
    assert no_requests == []
