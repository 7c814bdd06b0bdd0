"""Tokens and their lifecycle.

The token lifecycle lives here, in one place, not in each plugin: plugins only say how to obtain a
token (``integrations_authenticate``) and how to renew one (``integrations_refresh``).
:class:`TokenManager` renews proactively at ``expires_at - leeway`` and after a rejection, single
flight: however many threads notice at once, one renewal happens and the others wait for it.

Across processes the :class:`TokenStore` is the meeting point: the manager takes the store's lock,
reads the store and renews only if no other process already did (see :mod:`integrations.stores` for
stores shared by processes and hosts).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, ContextManager, Iterator, Mapping, Optional, Protocol

import attrs

from . import errors
from ._fork import renew_locks_in_child
from .errors import AuthenticationError
from .runtime import Clock
from .transport import Deadline

__all__ = ["MemoryTokenStore", "Token", "TokenManager", "TokenStore"]


@attrs.frozen(repr=False)
class Token:
    """An access token, and what renews it. Secret values never appear in ``repr``.

    ``expires_at`` and ``refresh_expires_at`` are Unix seconds (``None``: unknown or never).
    ``refreshable`` is false for tokens nothing can renew, such as an administrator token.
    ``claims`` holds the decoded, non-secret claims a provider exposes (for example ALOR portfolios).
    """

    access: str
    expires_at: Optional[float] = None
    refresh: Optional[str] = None
    refresh_expires_at: Optional[float] = None
    issued_at: Optional[float] = None
    refreshable: bool = True
    claims: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.access, str) or not self.access:
            # Guards the classic "Bearer None" bug at its source.
            raise AuthenticationError("the provider returned an empty access token")

    def __repr__(self) -> str:
        return (
            f"Token(expires_at={self.expires_at!r}, refreshable={self.refreshable!r}, "
            f"refresh_expires_at={self.refresh_expires_at!r})"
        )


class TokenStore(Protocol):
    """Where the current token is kept. A persistent store lets a process restart without losing a
    rotated refresh token (a provider that rotates refresh tokens rejects the old one)."""

    def load(self) -> Optional[Token]:
        """Return the stored token, or ``None``."""

    def save(self, token: Token) -> None:
        """Store ``token``, replacing any previous one. Called before the token is first used."""

    def lock(self, timeout: Optional[float] = None) -> ContextManager[None]:
        """A lock held while the manager reads the store, renews and saves: the store is shared by
        every process that uses it, so at most one of them renews at a time. ``timeout`` is how long
        to wait for it, in seconds (``None``: no limit); the context manager raises the built-in
        :class:`TimeoutError` when it cannot be taken in time. A store without this method is used
        without a cross-process lock."""


class MemoryTokenStore:
    """The default store: the token lives as long as the client (or as long as the store object,
    when several clients in one process share it)."""

    def __init__(self) -> None:
        self._token: Optional[Token] = None
        self._lock = threading.Lock()
        renew_locks_in_child(self, _lock=threading.Lock)

    def load(self) -> Optional[Token]:
        return self._token

    def save(self, token: Token) -> None:
        self._token = token

    @contextlib.contextmanager
    def lock(self, timeout: Optional[float] = None) -> Iterator[None]:
        if not self._lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            raise TimeoutError(f"the token store's lock was not free within {timeout:g} s")
        try:
            yield
        finally:
            self._lock.release()

    def __repr__(self) -> str:
        return "MemoryTokenStore()"


class TokenManager:
    """Hands out a valid token and renews it, single flight within the process and, through the
    store's lock, across every process sharing the store.

    ``authenticate()`` obtains a token from the credentials; ``refresh(token)`` renews one. When a
    refresh is rejected, the manager authenticates again only if ``reauthenticate`` is true (a
    provider whose credentials differ from its refresh token, such as email and password).

    Before renewing, the manager takes the store's lock and reads the store: a token another process
    (or another client sharing the store) renewed meanwhile, and that is not due, is used instead of
    renewing. So one renewal happens per expiry however many processes share the store, and a process
    whose refresh token was rotated away by another one picks up the winner's pair rather than
    failing. The store is read again whenever the current token is due or was rejected.
    """

    def __init__(
        self,
        *,
        authenticate: Callable[[], Token],
        refresh: Optional[Callable[[Token], Token]],
        clock: Clock,
        leeway: float = 60.0,
        reauthenticate: bool = False,
        store: Optional[TokenStore] = None,
    ) -> None:
        self._authenticate = authenticate
        self._refresh = refresh
        self._clock = clock
        self._leeway = leeway
        self._reauthenticate = reauthenticate
        self._store: TokenStore = store if store is not None else MemoryTokenStore()
        self._lock = threading.Lock()
        renew_locks_in_child(self, _lock=threading.Lock)
        self._current: Optional[Token] = None
        self.authentications = 0
        self.refreshes = 0
        #: Tokens taken from the store because another process or client had renewed already.
        self.adoptions = 0

    def token(self, deadline: Optional[Deadline] = None) -> Token:
        """Return a token that is not about to expire, renewing it first if needed.

        With a ``deadline``, waiting for another thread's renewal, or for the store's lock (another
        process's renewal), ends with :class:`~integrations.errors.Timeout` when the deadline passes.
        """
        current = self._current
        if current is not None and not self._is_due(current):
            return current
        with self._locked(deadline):
            current = self._current
            if current is not None and not self._is_due(current):
                return current  # another thread renewed while this one waited
            stored = self._store.load()
            if stored is not None and not self._is_due(stored):
                return self._adopt(stored)
            return self._renew(stored if stored is not None else current)

    def renew_rejected(self, rejected: Token, deadline: Optional[Deadline] = None) -> Token:
        """The provider rejected ``rejected``: renew it, unless another thread, process or client
        sharing the store already did."""
        with self._locked(deadline):
            current = self._current
            if current is not None and not _same(current, rejected) and not self._is_due(current):
                return current
            stored = self._store.load()
            if stored is not None and not _same(stored, rejected) and not self._is_due(stored):
                return self._adopt(stored)
            return self._renew(stored if stored is not None else current)

    @contextlib.contextmanager
    def _locked(self, deadline: Optional[Deadline]) -> Iterator[None]:
        timeout = -1.0 if deadline is None else max(0.0, deadline.remaining())
        if not self._lock.acquire(timeout=timeout):
            raise errors.Timeout(
                f"gave up waiting for another thread's token renewal: the call's "
                f"{deadline.timeouts.total if deadline else 0:g} s deadline passed",
                outcome_unknown=False,
            )
        try:
            with self._store_locked(deadline):
                yield
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def _store_locked(self, deadline: Optional[Deadline]) -> Iterator[None]:
        lock = getattr(self._store, "lock", None)
        if lock is None:  # a store written before stores had a lock: no cross-process lock
            yield
            return
        timeout = None if deadline is None else max(0.0, deadline.remaining())
        try:
            held = lock(timeout)
            held.__enter__()
        except TimeoutError:
            raise errors.Timeout(
                f"gave up waiting for the token store's lock (another process renewing the token): "
                f"the call's {deadline.timeouts.total if deadline else 0:g} s deadline passed",
                outcome_unknown=False,
            ) from None
        try:
            yield
        except BaseException as exc:
            if not held.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            held.__exit__(None, None, None)

    def peek(self) -> Optional[Token]:
        """The current token without renewing it (``None`` before the first call)."""
        return self._current

    def leeway_for(self, token: Token) -> float:
        """The renewal margin: the configured leeway, at most a tenth of the token's lifetime.

        A short-lived token is then renewed once per lifetime or so (every 0.9 lifetimes), never more
        than once per expiry plus one, across every process sharing its store."""
        if token.expires_at is None or token.issued_at is None:
            return self._leeway
        lifetime = max(0.0, token.expires_at - token.issued_at)
        return min(self._leeway, lifetime / 10)

    def _is_due(self, token: Token) -> bool:
        if token.expires_at is None:
            return False
        return self._clock.now() >= token.expires_at - self.leeway_for(token)

    def _adopt(self, token: Token) -> Token:
        # Called with the locks held: a token someone else sharing the store obtained.
        if self._current is not None and not _same(self._current, token):
            self.adoptions += 1
        self._current = token
        return token

    def _renew(self, current: Optional[Token]) -> Token:
        # Called with the locks held.
        if (
            current is None
            or self._refresh is None
            or not current.refreshable
            or self._refresh_expired(current)
        ):
            new = self._obtain()
        else:
            try:
                self.refreshes += 1
                new = self._refresh(current)
            except AuthenticationError:
                # Lost a rotation race with a process that does not take the store's lock (or whose
                # lock expired)? The winner's pair is in the store: use it rather than fail.
                stored = self._store.load()
                if stored is not None and not _same(stored, current) and not self._is_due(stored):
                    return self._adopt(stored)
                if not self._reauthenticate:
                    raise
                new = self._obtain()
        # Store first: a rotated refresh token must survive even if the caller crashes next.
        self._store.save(new)
        self._current = new
        return new

    def _obtain(self) -> Token:
        self.authentications += 1
        return self._authenticate()

    def _refresh_expired(self, token: Token) -> bool:
        if token.refresh_expires_at is None:
            return False
        return self._clock.now() >= token.refresh_expires_at


def _same(a: Token, b: Token) -> bool:
    # Tokens read back from a file or Redis are new objects: compare what the server sees.
    return a is b or (a.access == b.access and a.refresh == b.refresh)
