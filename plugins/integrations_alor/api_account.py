"""ALOR account methods: positions, summary, risk, trades, orders and stop orders (issue 13)."""

from __future__ import annotations

from .base import AlorBase

__all__ = ["AccountMethods"]


class AccountMethods(AlorBase):
    """Reads of the account: what the portfolio holds and what it did."""
