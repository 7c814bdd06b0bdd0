"""Token stores shared by processes (:class:`FileTokenStore`) and by hosts (:class:`RedisTokenStore`).

A :class:`~integrations.tokens.TokenStore` keeps the newest token between renewals. Every process
using one of these stores takes the store's lock before it reads the store and renews, so one renewal
happens per expiry across all of them, and a provider that rotates its refresh token on every refresh
(Trading Desk) never sees two processes spend the same refresh token.

Both need an extra (``pip install "trading-integrations[stores]"``): ``filelock`` for the file store,
``redis`` for the Redis store. Each is imported only when its store is created, so the runtime
(``import integrations``, ``connect()``) never loads them.

Both hold the token as JSON with the :class:`~integrations.tokens.Token`'s fields. The content is a
secret (a refresh token is as good as a password): the file is created with permissions 0600; protect
Redis with a password or ACL and keep it off public networks. Stored content that cannot be read as a
token (a corrupt file, a foreign value under the key) reads as "no token": the next call
authenticates again with the credentials.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from ._fork import after_fork_in_child
from .tokens import Token

__all__ = ["FileTokenStore", "RedisTokenStore", "redis_key", "token_from_json", "token_to_json"]

log = logging.getLogger("integrations.stores")

KEY_PREFIX = "integrations:token"


def token_to_json(token: Token) -> str:
    """``token`` as a JSON object of its fields (secrets included: keep the result private)."""
    return json.dumps(
        {
            "access": token.access,
            "expires_at": token.expires_at,
            "refresh": token.refresh,
            "refresh_expires_at": token.refresh_expires_at,
            "issued_at": token.issued_at,
            "refreshable": token.refreshable,
            "claims": dict(token.claims),
        },
        sort_keys=True,
    )


def token_from_json(text: Union[str, bytes]) -> Optional[Token]:
    """The token :func:`token_to_json` wrote, or ``None`` for anything else (corrupt, truncated,
    another program's value)."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        access = data["access"]
        refresh = data.get("refresh")
        claims = data.get("claims")
        if claims is None:
            claims = {}
        refreshable = data.get("refreshable", True)
        if not isinstance(access, str) or not access:
            raise ValueError("no access token")
        if refresh is not None and not isinstance(refresh, str):
            raise ValueError("the refresh token is not a string")
        if not isinstance(claims, dict) or not isinstance(refreshable, bool):
            raise ValueError("claims or refreshable of the wrong type")
        return Token(
            access=access,
            expires_at=_seconds(data.get("expires_at")),
            refresh=refresh,
            refresh_expires_at=_seconds(data.get("refresh_expires_at")),
            issued_at=_seconds(data.get("issued_at")),
            refreshable=refreshable,
            claims=claims,
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        # json.JSONDecodeError is a ValueError. The content is never logged: it may hold secrets.
        log.warning("the stored token cannot be read (%s); treating the store as empty", type(exc).__name__)
        return None


def _seconds(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a time that is not a number")
    return float(value)


class FileTokenStore:
    """A token in a JSON file, shared by every process on the host that opens the same ``path``.

    The lock is a :mod:`filelock` lock file next to it (``<path>.lock``), released by the operating
    system if its holder dies. Writes are atomic: a temporary file in the same directory, flushed to
    disk, then ``os.replace``; a reader sees the old token or the new one, never half of one. The
    token file gets permissions 0600 (owner only). A missing or corrupt file reads as "no token".

    The file must be on a local file system (file locks on NFS and similar are unreliable); processes
    on several hosts need :class:`RedisTokenStore`.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        import filelock  # the "stores" extra; imported only by processes that use this store

        self.path = Path(path)
        self._filelock = filelock.FileLock(str(self.path) + ".lock")
        # A forked child gets its own lock object: the parent's may count a hold by a parent thread.
        after_fork_in_child(self, FileTokenStore._new_lock_object)

    def _new_lock_object(self) -> None:
        import filelock

        self._filelock = filelock.FileLock(self._filelock.lock_file)

    def load(self) -> Optional[Token]:
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return token_from_json(text)

    def save(self, token: Token) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            os.chmod(temporary, 0o600)  # mkstemp creates it 0600 already; said again on purpose
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(token_to_json(token))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(directory)

    @contextlib.contextmanager
    def lock(self, timeout: Optional[float] = None) -> Iterator[None]:
        import filelock

        try:
            self._filelock.acquire(timeout=-1 if timeout is None else max(0.0, timeout))
        except filelock.Timeout:
            raise TimeoutError(f"the token file's lock was not free within {timeout:g} s") from None
        try:
            yield
        finally:
            self._filelock.release()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable. Not possible on every platform (Windows): best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def redis_key(provider: str, account: str) -> str:
    """The key a token is kept under: ``integrations:token:<provider>:<account>``.

    ``account`` is whatever names the account to you (a login, an account id, a client id): every
    process using the same account must pass the same value, and different accounts different ones.
    """
    for part, value in (("provider", provider), ("account", account)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"the {part} part of a Redis key must be a non-empty string")
    return f"{KEY_PREFIX}:{provider}:{account}"


class RedisTokenStore:
    """A token in Redis, shared by every process on every host that uses the same key.

    ``client_or_url`` is a ``redis.Redis`` client or a URL (``redis://[:password@]host:6379/0``,
    ``rediss://`` for TLS). The key is ``key`` if given, else ``integrations:token:<provider>:<account>``
    (:func:`redis_key`): one key per provider and account. The value is the token as JSON; the lock
    is redis-py's :class:`redis.lock.Lock` on ``<key>:lock``, which expires after ``lock_lease``
    seconds if its holder dies while holding it (keep it above the longest renewal: the call's
    deadline, 60 s by default).

    ``redis`` is imported only when this class is used.
    """

    def __init__(
        self,
        client_or_url: Any,
        *,
        key: Optional[str] = None,
        provider: Optional[str] = None,
        account: Optional[str] = None,
        lock_lease: float = 90.0,
    ) -> None:
        if key is None:
            if provider is None or account is None:
                raise ValueError("RedisTokenStore needs key=, or both provider= and account=")
            key = redis_key(provider, account)
        elif not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string")
        if not lock_lease > 0:
            raise ValueError("lock_lease must be positive")
        if isinstance(client_or_url, str):
            import redis  # the "stores" extra; imported only by processes that use this store

            self._redis = redis.Redis.from_url(client_or_url)
        else:
            self._redis = client_or_url
        self.key = key
        self.lock_key = f"{key}:lock"
        self.lock_lease = lock_lease

    def load(self) -> Optional[Token]:
        value = self._redis.get(self.key)
        if value is None:
            return None
        return token_from_json(value)

    def save(self, token: Token) -> None:
        self._redis.set(self.key, token_to_json(token))

    @contextlib.contextmanager
    def lock(self, timeout: Optional[float] = None) -> Iterator[None]:
        import redis.exceptions

        lock = self._redis.lock(
            self.lock_key,
            timeout=self.lock_lease,
            sleep=0.01,
            blocking=True,
            blocking_timeout=None if timeout is None else max(0.0, timeout),
            thread_local=True,
        )
        # A unique token per acquisition: redis-py then releases only a lock this holder still owns.
        if not lock.acquire(token=uuid.uuid4().hex):
            raise TimeoutError(f"the Redis lock {self.lock_key!r} was not free within {timeout:g} s")
        try:
            yield
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                # The lease ran out while held, and another holder may have it now: say so.
                log.warning("the Redis token lock %r expired while held; raise lock_lease", self.lock_key)

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self.key!r})"
