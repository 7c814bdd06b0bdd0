"""The ALOR emulator's simulated market (issue 13): one deterministic price path per instrument,
driven by the emulator's clock, from which quotes, all trades and candles follow; and the
market-data routes (securities, quotes, all trades, history, risk rates).

Called by :class:`~integrations_alor.sandbox.AlorEmulator`, which owns the lock and the clock."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Mapping, Optional

from integrations.runtime import Clock

from .sandbox_data import Book, Instrument

if TYPE_CHECKING:
    from integrations.sandbox import JsonApp

__all__ = ["MarketSim", "install"]


class MarketSim:
    """The simulated market. ``last_price(inst, at)`` is the price of ``inst`` at Unix time ``at``
    (the emulator's clock when ``None``), a multiple of its price step."""

    def __init__(self, seed: int, clock: Clock, books: Mapping[tuple[str, str], Book]) -> None:
        self._seed = seed
        self._clock = clock
        self._books = books

    def last_price(self, inst: Instrument, at: Optional[float] = None) -> Decimal:
        book = self._books[(inst.exchange, inst.symbol)]
        mid = (book.bids[0][0] + book.asks[0][0]) / 2
        step = Decimal(inst.step)
        return (mid / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def install(api: JsonApp, emulator: Any) -> None:
    """Add the market-data routes to the ``api`` service of ``emulator``."""
