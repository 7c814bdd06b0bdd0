"""The ALOR emulator's commands beyond creating and cancelling (issue 13): stop and stop-limit
orders triggering when the simulated price crosses, modifying orders (PUT), cancelling all,
estimating an order.

Called by :class:`~integrations_alor.sandbox.AlorEmulator`, which owns the lock and the clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.sandbox import JsonApp

__all__ = ["install", "settle"]


def settle(emulator: Any, now: float) -> None:
    """Bring the orders up to ``now``: trigger the stop orders the simulated price crossed, fill
    what became marketable. The caller holds the emulator's lock; every read of orders, positions,
    trades or money settles first."""


def install(api: JsonApp, emulator: Any) -> None:
    """Add the command routes (modify, estimate) to the ``api`` service of ``emulator``."""
