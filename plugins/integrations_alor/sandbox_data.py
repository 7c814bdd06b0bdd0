"""Reference data (accounts, instruments), seeded order books and stored orders for the ALOR emulator.

The books stay fixed for the lifetime of an emulator: a client test wants the same prices on every
call, and a fixed book lets every price level be rendered to JSON once, at construction, so a snapshot
request costs two string joins (the order-book endpoint sits on a benchmark hot path).
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any, NamedTuple

__all__ = [
    "ACCOUNTS",
    "CONDITIONS",
    "EMPTY_BOOK",
    "FORMATS",
    "MAX_DEPTH",
    "TIME_IN_FORCE",
    "Account",
    "Book",
    "Instrument",
    "Order",
    "build_market",
    "iso_time",
    "positive_decimal",
]

MAX_DEPTH = 50
FORMATS = frozenset({"simple", "slim", "heavy"})
NEVER = "9999-12-31T23:59:59.9999999Z"  # ALOR's .NET DateTime.MaxValue for "no end time"


class Instrument(NamedTuple):
    exchange: str
    symbol: str
    board: str
    step: Decimal
    lot: int
    low: int
    high: int


INSTRUMENTS = (
    Instrument("MOEX", "SBER", "TQBR", Decimal("0.01"), 10, 280, 300),
    Instrument("MOEX", "GAZP", "TQBR", Decimal("0.01"), 10, 130, 170),
    Instrument("MOEX", "LKOH", "TQBR", Decimal("0.5"), 1, 6800, 7400),
    Instrument("MOEX", "YDEX", "TQBR", Decimal("0.5"), 1, 3900, 4500),
    Instrument("SPBX", "AAPL", "SPBX", Decimal("0.01"), 1, 170, 200),
)

CONDITIONS = {"more": "More", "less": "Less", "moreorequal": "MoreOrEqual", "lessorequal": "LessOrEqual"}
TIME_IN_FORCE = frozenset(
    {"oneday", "immediateorcancel", "fillorkill", "attheclose", "goodtillcancelled", "bookorcancel"}
)


class Account(NamedTuple):
    login: str
    clientid: str
    ein: str
    agreements: str
    portfolios: tuple[str, ...]


# Three portfolios per agreement, in agreement order, with D/G/75 prefixes: the ALORPY heuristic, which
# some clients use to tell stock, FX and FORTS portfolios apart.
ACCOUNTS = (
    Account(
        "P039004",
        "0123456",
        "01234",
        "3900400 3900401",
        ("D39004", "G39004", "750039004", "D39014", "G39014", "750039014"),
    ),
    Account("P039005", "0123457", "01235", "3900500", ("D39005", "G39005", "750039005")),
)

Level = tuple[Decimal, int]


def positive_decimal(value: Any) -> Decimal | None:
    """A JSON number (parsed with ``parse_float=Decimal``) if it is finite and > 0, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    number = Decimal(value)
    return number if number.is_finite() and number > 0 else None


def iso_time(ts: float) -> str:
    """ALOR's ISO-8601 form with seven fractional digits, e.g. ``2023-12-11T07:02:48.0000000Z``."""
    seconds, ticks = divmod(round(ts * 10_000_000), 10_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{ticks:07d}Z"


def _fragments(levels: list[Level], price_key: str, volume_key: str) -> list[str]:
    # format(..., "f") of the normalised decimal prints 281.98 as 281.98 and 300.00 as 300, never 3E+2.
    return [f'{{"{price_key}":{format(p.normalize(), "f")},"{volume_key}":{v}}}' for p, v in levels]


class Book:
    """One instrument's book, best level first on each side."""

    __slots__ = ("_rendered", "asks", "bids", "instrument")

    def __init__(self, instrument: Instrument | None, bids: list[Level], asks: list[Level]) -> None:
        self.instrument = instrument
        self.bids = bids
        self.asks = asks
        long_form = (_fragments(bids, "price", "volume"), _fragments(asks, "price", "volume"))
        self._rendered = {
            "simple": long_form,
            "heavy": long_form,
            "slim": (_fragments(bids, "p", "v"), _fragments(asks, "p", "v")),
        }

    def render(self, fmt: str, depth: int, now: float) -> bytes:
        """JSON body of ``GET /md/v2/orderbooks`` in format ``fmt`` (lower-case, validated by the caller)."""
        bid_parts, ask_parts = self._rendered[fmt]
        bids = ",".join(bid_parts[:depth])
        asks = ",".join(ask_parts[:depth])
        ms = int(now * 1000)
        if fmt == "slim":
            text = f'{{"b":[{bids}],"a":[{asks}],"t":{ms},"h":true}}'
        elif fmt == "heavy":
            text = f'{{"bids":[{bids}],"asks":[{asks}],"msTimestamp":{ms},"existing":true}}'
        else:
            text = (
                f'{{"snapshot":true,"bids":[{bids}],"asks":[{asks}],'
                f'"timestamp":{int(now)},"ms_timestamp":{ms},"existing":true}}'
            )
        return text.encode("ascii")


EMPTY_BOOK = Book(None, [], [])


def _generate(inst: Instrument, seed: int) -> Book:
    # A string seed keeps each book independent of the others and of the emulator's own RNG stream.
    rng = random.Random(f"alor-book:{seed}:{inst.exchange}:{inst.symbol}")
    best_bid = rng.randint(int(inst.low / inst.step), int(inst.high / inst.step))
    bid_tick, ask_tick = best_bid, best_bid + rng.randint(1, 3)
    bids: list[Level] = []
    asks: list[Level] = []
    for level in range(MAX_DEPTH):
        # Volumes grow a little with distance from the spread, as in a real book.
        bids.append((inst.step * bid_tick, rng.randint(1, 120) + level * rng.randint(0, 8)))
        asks.append((inst.step * ask_tick, rng.randint(1, 120) + level * rng.randint(0, 8)))
        bid_tick -= rng.choice((1, 1, 1, 2, 3))
        ask_tick += rng.choice((1, 1, 1, 2, 3))
    return Book(inst, bids, asks)


def build_market(seed: int) -> dict[tuple[str, str], Book]:
    """All books for ``seed``, keyed by upper-case ``(exchange, symbol)``."""
    return {(inst.exchange, inst.symbol): _generate(inst, seed) for inst in INSTRUMENTS}


class Order:
    """A stored order; mutated only under the emulator's lock."""

    __slots__ = (
        "comment",
        "condition",
        "created",
        "filled",
        "inst",
        "kind",
        "number",
        "portfolio",
        "price",
        "qty",
        "side",
        "status",
        "tif",
        "trigger",
        "updated",
    )

    def __init__(
        self,
        number: str,
        kind: str,
        side: str,
        qty: int,
        price: Decimal,
        portfolio: str,
        inst: Instrument,
        comment: str | None,
        tif: str,
        now: float,
    ) -> None:
        self.number, self.kind, self.side, self.qty, self.price = number, kind, side, qty, price
        self.portfolio, self.inst, self.comment, self.tif = portfolio, inst, comment, tif
        self.filled = 0
        self.status = "working"
        self.created = self.updated = now
        self.trigger: Decimal | None = None
        self.condition = ""

    @property
    def is_stop(self) -> bool:
        return self.kind in ("stop", "stoplimit")

    def matches(self, portfolio: str, exchange: str, stop: bool | None) -> bool:
        return (
            self.portfolio == portfolio
            and self.inst.exchange == exchange
            and (stop is None or self.is_stop == stop)
        )

    def to_json(self) -> dict[str, Any]:
        """The Simple-format Order (or StopOrder) object."""
        inst = self.inst
        done = self.status != "working"
        # float() of a step-quantised decimal has a repr identical to the decimal, so JSON stays exact.
        data: dict[str, Any] = {
            "id": self.number,
            "symbol": inst.symbol,
            "brokerSymbol": f"{inst.exchange}:{inst.symbol}",
            "portfolio": self.portfolio,
            "exchange": inst.exchange,
            "board": inst.board,
            "comment": self.comment,
            "type": self.kind,
            "side": self.side,
            "status": self.status,
            "transTime": iso_time(self.created),
            "updateTime": iso_time(self.updated),
            "endTime": iso_time(self.updated) if done else NEVER,
            "qtyUnits": self.qty * inst.lot,
            "qtyBatch": self.qty,
            "qty": self.qty,
            "filledQtyUnits": self.filled * inst.lot,
            "filledQtyBatch": self.filled,
            "filled": self.filled,
            "price": float(self.price),
            "existing": True,
            "timeInForce": self.tif,
            "iceberg": None,
            "volume": None if self.kind == "market" else float(self.price * self.qty * inst.lot),
        }
        if self.trigger is not None:
            data.update(
                condition=self.condition,
                stopPrice=float(self.trigger),
                exchangeOrderId=None,
                avg_price=0,
                error=None,
                protectingSeconds=None,
            )
        return data
