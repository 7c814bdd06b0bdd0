"""Injectable time and request ids.

Nothing in the library reads the system clock or generates a random id directly: it asks the
:class:`Clock` and the :class:`IdSource` it was given. Production uses :class:`SystemClock` and
:class:`UuidIds`; recording and replay use a :class:`ManualClock` set to the recording instant and
:class:`SequentialIds`, so a cassette replays the same way years after it was recorded.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Protocol, runtime_checkable

from ._fork import renew_locks_in_child

__all__ = ["Clock", "IdSource", "ManualClock", "SequentialIds", "SystemClock", "UuidIds"]


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time in Unix seconds, and a way to wait."""

    def now(self) -> float:
        """Return the current time as Unix seconds."""

    def sleep(self, seconds: float) -> None:
        """Wait for ``seconds`` (a frozen clock may return at once)."""


@runtime_checkable
class IdSource(Protocol):
    """Unique request ids (ALOR ``X-REQID``, JSON-RPC ``id``). A source may also offer
    ``new_int() -> int`` for protocols that prefer integer ids (JSON-RPC); without it, integer ids
    are derived from ``new_id()``."""

    def new_id(self) -> str:
        """Return an id never returned before by this source."""


class SystemClock:
    """The real clock: :func:`time.time` and :func:`time.sleep`."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to. Thread-safe.

    ``sleep`` advances the clock instead of waiting, so retry back-off costs no real time.
    """

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        renew_locks_in_child(self, _lock=threading.Lock)

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += seconds

    def set(self, when: float) -> None:
        """Move the clock to ``when`` (Unix seconds)."""
        with self._lock:
            self._now = float(when)

    def __repr__(self) -> str:
        return f"ManualClock({self.now()!r})"


class UuidIds:
    """Random UUID4 ids, for production."""

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def new_int(self) -> int:
        """A random 53-bit integer id (exact in every JSON parser, JavaScript's included)."""
        return uuid.uuid4().int >> 75

    def __repr__(self) -> str:
        return "UuidIds()"


class SequentialIds:
    """Deterministic UUID-shaped ids ``00000000-0000-4000-8000-000000000001``, ``…002`` and so on.

    Thread-safe. ``prefix`` (exactly 8 lower-case hex digits) separates sources that must not collide.
    """

    def __init__(self, start: int = 1, prefix: str = "00000000") -> None:
        if len(prefix) != 8 or any(c not in "0123456789abcdef" for c in prefix):
            raise ValueError("prefix must be 8 lower-case hex digits")
        self._prefix = prefix
        self._counter = itertools.count(start)
        self._lock = threading.Lock()
        renew_locks_in_child(self, _lock=threading.Lock)

    def new_id(self) -> str:
        return f"{self._prefix}-0000-4000-8000-{self.new_int():012x}"

    def new_int(self) -> int:
        """The next number of the same sequence: 1, 2, 3 ... (JSON-RPC's integer ids)."""
        with self._lock:
            return next(self._counter)

    def __repr__(self) -> str:
        return f"SequentialIds(prefix={self._prefix!r})"
