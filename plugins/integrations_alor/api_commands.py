"""ALOR order commands beyond market and limit orders: stop and stop-limit orders, modifying every
order type, cancelling all orders, estimating an order (issue 13)."""

from __future__ import annotations

from .base import AlorBase

__all__ = ["CommandMethods"]


class CommandMethods(AlorBase):
    """Commands: each carries its request id and is retried safely, as market and limit orders are."""
