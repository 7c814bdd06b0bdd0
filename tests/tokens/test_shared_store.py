"""TokenManager with a store shared by several managers (processes, hosts): it reads the store under
the store's lock before renewing, so one renewal happens per expiry, and a refresh token rotated away
by another manager is replaced by the stored winner instead of failing."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from integrations import AuthenticationError, ManualClock, Timeouts, Token, errors
from integrations.tokens import MemoryTokenStore, TokenManager
from integrations.transport import Deadline


class RotatingProvider:
    """Counts logins and refreshes; a refresh rotates the pair and kills the old refresh token."""

    def __init__(self, clock: ManualClock, lifetime: float = 1800.0) -> None:
        self.clock, self.lifetime = clock, lifetime
        self.auths = self.refreshes = 0
        self.live_refresh: set = set()
        self.n = 0
        self.lock = threading.Lock()
        self.during_refresh: Optional[Any] = None

    def _issue(self) -> Token:
        self.n += 1
        now = self.clock.now()
        self.live_refresh.add(f"refresh-{self.n}")
        return Token(
            access=f"access-{self.n}",
            refresh=f"refresh-{self.n}",
            expires_at=now + self.lifetime,
            issued_at=now,
        )

    def authenticate(self) -> Token:
        with self.lock:
            self.auths += 1
            return self._issue()

    def refresh(self, token: Token) -> Token:
        if self.during_refresh is not None:
            hook, self.during_refresh = self.during_refresh, None
            hook()
        with self.lock:
            if token.refresh not in self.live_refresh:
                raise AuthenticationError("refresh token rejected (rotated away)")
            self.live_refresh.discard(token.refresh)
            self.refreshes += 1
            return self._issue()


def manager(p: RotatingProvider, store: Any, reauthenticate: bool = False) -> TokenManager:
    return TokenManager(
        authenticate=p.authenticate,
        refresh=p.refresh,
        clock=p.clock,
        leeway=60,
        reauthenticate=reauthenticate,
        store=store,
    )


@pytest.fixture(params=["memory", "file"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Returns a callable giving a store *instance* per manager, all sharing the same token."""
    if request.param == "memory":
        shared = MemoryTokenStore()
        return lambda: shared
    pytest.importorskip("filelock")
    from integrations.stores import FileTokenStore

    return lambda: FileTokenStore(tmp_path / "token.json")


def test_a_second_manager_uses_the_first_ones_login(store_factory: Any):
    p = RotatingProvider(ManualClock(1000))
    a, b = manager(p, store_factory()), manager(p, store_factory())
    assert a.token().access == "access-1"
    assert b.token().access == "access-1"
    assert (p.auths, p.refreshes) == (1, 0)


def test_a_second_manager_picks_up_the_first_ones_renewal(store_factory: Any):
    clock = ManualClock(1000)
    p = RotatingProvider(clock)
    a, b = manager(p, store_factory()), manager(p, store_factory())
    a.token()
    b.token()
    clock.advance(1800 - 59)  # both tokens due
    assert a.token().access == "access-2"
    assert b.token().access == "access-2"  # read from the store, not renewed again
    assert (p.auths, p.refreshes) == (1, 1)
    assert b.adoptions == 1 and b.refreshes == 0


def test_a_rotated_away_refresh_token_is_replaced_by_the_stored_winner(store_factory: Any):
    clock = ManualClock(1000)
    p = RotatingProvider(clock)
    a, b = manager(p, store_factory()), manager(p, store_factory())
    old = b.token()
    a.renew_rejected(a.token())  # a renews: refresh-1 is dead, access-2/refresh-2 stored
    # b still holds access-1/refresh-1 in memory; the server rejects access-1.
    assert b.peek() is old
    new = b.renew_rejected(old)
    assert new.access == "access-2"
    assert (p.auths, p.refreshes) == (1, 1)


def test_a_lost_rotation_race_adopts_the_winner_even_without_a_lock():
    # A store without lock(): another process renews between this one's read and its refresh.
    class Unlocked:
        def __init__(self) -> None:
            self.token: Optional[Token] = None

        def load(self) -> Optional[Token]:
            return self.token

        def save(self, token: Token) -> None:
            self.token = token

    clock = ManualClock(1000)
    p = RotatingProvider(clock)
    store = Unlocked()
    a = manager(p, store)
    first = a.token()

    def other_process_renews() -> None:
        store.save(p.refresh(first))  # rotates refresh-1 away and stores the winner

    p.during_refresh = other_process_renews
    assert a.renew_rejected(first).access == "access-2"
    assert p.auths == 1  # no login: this manager had no way to log in anyway (reauthenticate=False)


def test_without_a_stored_winner_a_rejected_refresh_still_fails_or_logs_in(store_factory: Any):
    clock = ManualClock(1000)
    p = RotatingProvider(clock)
    a = manager(p, store_factory())
    token = a.token()
    p.live_refresh.clear()
    with pytest.raises(AuthenticationError):
        a.renew_rejected(token)
    b = manager(p, store_factory(), reauthenticate=True)
    assert b.renew_rejected(token).access == "access-2" and p.auths == 2


def test_threads_and_managers_renew_once_per_expiry(store_factory: Any):
    clock = ManualClock(1000)
    p = RotatingProvider(clock)
    managers = [manager(p, store_factory()) for _ in range(4)]
    for expiry in range(3):
        threads = [threading.Thread(target=m.token) for m in managers for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {m.peek().access for m in managers if m.peek()} == {f"access-{expiry + 1}"}
        clock.advance(1800)
    assert (p.auths, p.refreshes) == (1, 2)


class HeldLock:
    """A store whose lock someone else holds."""

    def __init__(self) -> None:
        self.inner = MemoryTokenStore()

    def load(self) -> Optional[Token]:
        return self.inner.load()

    def save(self, token: Token) -> None:
        self.inner.save(token)

    @contextlib.contextmanager
    def lock(self, timeout: Optional[float] = None) -> Iterator[None]:
        raise TimeoutError("held elsewhere")
        yield  # pragma: no cover


def test_a_store_lock_not_free_within_the_deadline_is_a_timeout():
    p = RotatingProvider(ManualClock(1000))
    m = manager(p, HeldLock())
    with pytest.raises(errors.Timeout) as info:
        m.token(Deadline(Timeouts(total=0.5)))
    assert info.value.outcome_unknown is False and "store" in str(info.value)
    assert p.auths == 0


def test_a_held_file_lock_times_out_within_the_deadline(tmp_path: Path):
    pytest.importorskip("filelock")
    import time

    from integrations.stores import FileTokenStore

    p = RotatingProvider(ManualClock(1000))
    m = manager(p, FileTokenStore(tmp_path / "t.json"))
    with FileTokenStore(tmp_path / "t.json").lock(1):
        started = time.monotonic()
        with pytest.raises(errors.Timeout) as info:
            m.token(Deadline(Timeouts(total=0.4)))
        assert time.monotonic() - started < 2
    assert info.value.outcome_unknown is False
    assert m.token().access == "access-1"  # free again: the lock and the thread lock were released
