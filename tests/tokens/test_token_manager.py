"""TokenManager: proactive renewal, single flight, rejection handling, no secret in repr."""

from __future__ import annotations

import threading
import time
from typing import List

import pytest

from integrations import AuthenticationError, ManualClock, Token
from integrations.tokens import MemoryTokenStore, TokenManager


class Provider:
    """A fake provider counting authentications and refreshes; refresh is slow to widen races."""

    def __init__(self, clock: ManualClock, lifetime: float = 1800.0, delay: float = 0.0) -> None:
        self.clock, self.lifetime, self.delay = clock, lifetime, delay
        self.auths = 0
        self.refreshes = 0
        self.reject_refresh = False
        self.lock = threading.Lock()

    def _token(self, n: int) -> Token:
        now = self.clock.now()
        return Token(
            access=f"access-{n}", refresh=f"refresh-{n}", expires_at=now + self.lifetime, issued_at=now
        )

    def authenticate(self) -> Token:
        with self.lock:
            self.auths += 1
            n = self.auths + self.refreshes
        return self._token(n)

    def refresh(self, token: Token) -> Token:
        time.sleep(self.delay)
        if self.reject_refresh:
            raise AuthenticationError("refresh token rejected")
        with self.lock:
            self.refreshes += 1
            n = self.auths + self.refreshes
        return self._token(n)


def manager(provider: Provider, **kwargs) -> TokenManager:
    return TokenManager(
        authenticate=provider.authenticate, refresh=provider.refresh, clock=provider.clock, **kwargs
    )


def test_first_use_authenticates_lazily():
    p = Provider(ManualClock(1000))
    m = manager(p)
    assert p.auths == 0 and m.peek() is None
    assert m.token().access == "access-1"
    assert m.token().access == "access-1"
    assert p.auths == 1 and p.refreshes == 0


def test_renews_at_expiry_minus_leeway_not_before():
    clock = ManualClock(1000)
    p = Provider(clock)
    m = manager(p, leeway=60)
    first = m.token()
    clock.advance(1800 - 61)
    assert m.token() is first
    clock.advance(1)
    assert m.token() is not first
    assert p.refreshes == 1


def test_leeway_is_at_most_a_tenth_of_the_lifetime():
    clock = ManualClock(1000)
    p = Provider(clock, lifetime=30)
    m = manager(p, leeway=60)
    token = m.token()
    assert m.leeway_for(token) == 3
    clock.advance(26.9)
    assert m.token() is token  # a 60 s leeway would renew a 30 s token on every call
    clock.advance(0.2)
    assert m.token() is not token and p.refreshes == 1


def test_concurrent_callers_share_one_renewal():
    clock = ManualClock(1000)
    p = Provider(clock, delay=0.05)
    m = manager(p)
    m.token()
    clock.advance(1800)
    barrier = threading.Barrier(16)
    seen: List[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(m.token().access)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert p.refreshes == 1
    assert set(seen) == {"access-2"}


def test_rejected_token_is_renewed_once_even_if_many_threads_report_it():
    clock = ManualClock(1000)
    p = Provider(clock)
    m = manager(p)
    stale = m.token()
    fresh = m.renew_rejected(stale)
    assert m.renew_rejected(stale) is fresh  # a second report of the same stale token is a no-op
    assert p.refreshes == 1


def test_rejected_refresh_without_reauthentication_raises():
    clock = ManualClock(1000)
    p = Provider(clock)
    m = manager(p, reauthenticate=False)
    m.token()
    clock.advance(1800)
    p.reject_refresh = True
    with pytest.raises(AuthenticationError):
        m.token()
    assert p.auths == 1


def test_rejected_refresh_falls_back_to_credentials_when_allowed():
    clock = ManualClock(1000)
    p = Provider(clock)
    m = manager(p, reauthenticate=True)
    m.token()
    clock.advance(1800)
    p.reject_refresh = True
    assert m.token().access == "access-2"
    assert p.auths == 2


def test_unrefreshable_token_is_obtained_again_not_refreshed():
    clock = ManualClock(1000)
    calls: List[str] = []

    def authenticate() -> Token:
        calls.append("auth")
        return Token(access="admin", refreshable=False, expires_at=clock.now() + 10, issued_at=clock.now())

    def refresh(token: Token) -> Token:
        raise AssertionError("must not refresh an unrefreshable token")

    m = TokenManager(authenticate=authenticate, refresh=refresh, clock=clock)
    m.token()
    clock.advance(10)
    m.token()
    assert calls == ["auth", "auth"]


def test_renewed_token_is_stored_before_use():
    clock = ManualClock(1000)
    p = Provider(clock)
    store = MemoryTokenStore()
    m = manager(p, store=store)
    token = m.token()
    assert store.load() is token
    # A new manager on the same store resumes without authenticating.
    m2 = manager(p, store=store)
    assert m2.token() is token
    assert p.auths == 1


def test_token_repr_and_errors_hold_no_secret():
    token = Token(
        access="secret-access-value",
        refresh="secret-refresh-value",
        expires_at=1.0,
        claims={"sub": "P039004"},
    )
    assert "secret" not in repr(token)
    assert "P039004" not in repr(token)
    with pytest.raises(AuthenticationError):
        Token(access=None)  # type: ignore[arg-type]  # never "Bearer None"
    with pytest.raises(AuthenticationError):
        Token(access="")
