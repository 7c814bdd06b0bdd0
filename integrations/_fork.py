"""What a forked child must not inherit: locks a parent's thread may hold, and pooled sockets.

``os.fork()`` copies every lock in the state it is in. A lock that another thread of the parent
held at that moment (a token renewal, a pool checkout) stays held forever in the child, whose copy
of that thread does not exist. Objects register here what to do in a child; the hooks run right
after the fork, in the child only, before any other code of the child (``os.register_at_fork``).
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Any, Callable, Dict, Tuple

__all__ = ["after_fork_in_child", "renew_locks_in_child"]

log = logging.getLogger("integrations")

# id(owner) -> (weak reference to the owner, what to run on it in the child). Plain dict operations
# only (atomic under the GIL): a weakref callback may run at any point, even inside this module.
_owners: Dict[int, Tuple[weakref.ReferenceType[Any], Callable[[Any], None]]] = {}


def after_fork_in_child(owner: Any, reset: Callable[[Any], None]) -> None:
    """Run ``reset(owner)`` in every child forked while ``owner`` is alive."""
    key = id(owner)

    def forget(_ref: Any) -> None:
        _owners.pop(key, None)

    _owners[key] = (weakref.ref(owner, forget), reset)


def renew_locks_in_child(owner: Any, **locks: Callable[[], Any]) -> None:
    """In a forked child, give ``owner`` a fresh lock for each ``name=factory`` (``threading.Lock``,
    ``threading.RLock``...): ``renew_locks_in_child(self, _lock=threading.Lock)``. A module's own
    locks: ``renew_locks_in_child(sys.modules[__name__], _lock=threading.Lock)``."""
    items = tuple(locks.items())

    def renew(target: Any) -> None:
        for name, factory in items:
            setattr(target, name, factory())

    after_fork_in_child(owner, renew)


def _in_child() -> None:
    for ref, reset in list(_owners.values()):
        owner = ref()
        if owner is None:
            continue
        try:
            reset(owner)
        except Exception:  # pragma: no cover - one object must never break the child
            log.debug("could not reset %r after fork", type(owner).__name__, exc_info=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)
