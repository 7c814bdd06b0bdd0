"""ALOR market-data methods: securities, quotes, all trades, candles, server time, risk rates (issue 13)."""

from __future__ import annotations

from .base import AlorBase

__all__ = ["MarketDataMethods"]


class MarketDataMethods(AlorBase):
    """Reads of the market."""
