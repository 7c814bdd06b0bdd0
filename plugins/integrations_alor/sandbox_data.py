"""Reference data (accounts, portfolios, instruments), seeded order books and stored orders for the
ALOR emulator.

The books stay fixed for the lifetime of an emulator: a client test wants the same prices on every
call, and a fixed book lets every price level be rendered to JSON once, at construction, so a snapshot
request costs two string joins (the order-book endpoint sits on a benchmark hot path).

Market structure (docs/reference/alor-api.md §1, §4; spec ``WarpOpenAPIv2.yml``): the exchanges are
``MOEX`` and ``SPBX``, the markets ``FOND`` (stocks and bonds), ``CURR`` (currency), ``FORTS``
(derivatives) and ``SPBX``. An instrument's board is what the spec calls ``instrumentGroup``: ``TQBR``
for shares, ``TQOB`` for OFZ, ``TQCB`` for corporate bonds, ``RFUD`` for futures (the spec's FORTS
Security examples), ``CETS`` for currency, always ``SPBX`` on SPBX.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any, NamedTuple, Optional

__all__ = [
    "ACCOUNTS",
    "CONDITIONS",
    "EMPTY_BOOK",
    "FORMATS",
    "INSTRUMENTS",
    "MARKETS_OF_PORTFOLIO_KIND",
    "MAX_DEPTH",
    "TIME_IN_FORCE",
    "Account",
    "Book",
    "Instrument",
    "Order",
    "Portfolio",
    "build_market",
    "iso_time",
    "json_number",
    "positive_decimal",
]

MAX_DEPTH = 50  # the spec: depth 1..50, default 20 (the getting-started guide's "20 at most" is older)
FORMATS = frozenset({"simple", "slim", "heavy"})
NEVER = "9999-12-31T23:59:59.9999999Z"  # ALOR's .NET DateTime.MaxValue for "no end time"


class Instrument(NamedTuple):
    """One tradable instrument. Prices are in the board's units: roubles (shares, currency), percent
    of face value (bonds), points (futures); ``lot`` is units per lot."""

    exchange: str
    symbol: str
    board: str  # the spec's instrumentGroup
    market: str  # FOND, CURR, FORTS or SPBX
    step: Decimal  # minimal price step (tick)
    lot: int
    low: Decimal  # range of the seeded best bid
    high: Decimal
    yield_range: Optional[tuple[Decimal, Decimal]] = None  # bonds: yield (%) at the best bid
    duration: Decimal = Decimal(0)  # bonds: modified duration (years), turns a price into a yield
    face: int = 0  # bonds: face value in roubles (prices are percent of it)


def _share(symbol: str, step: str, lot: int, low: str, high: str) -> Instrument:
    return Instrument("MOEX", symbol, "TQBR", "FOND", Decimal(step), lot, Decimal(low), Decimal(high))


def _bond(
    symbol: str, board: str, step: str, low: str, high: str, yields: tuple[str, str], duration: str
) -> Instrument:
    return Instrument(
        "MOEX",
        symbol,
        board,
        "FOND",
        Decimal(step),
        1,
        Decimal(low),
        Decimal(high),
        (Decimal(yields[0]), Decimal(yields[1])),
        Decimal(duration),
        1000,
    )


def _future(symbol: str, step: str, low: str, high: str) -> Instrument:
    return Instrument("MOEX", symbol, "RFUD", "FORTS", Decimal(step), 1, Decimal(low), Decimal(high))


def _currency(symbol: str, step: str, low: str, high: str) -> Instrument:
    return Instrument("MOEX", symbol, "CETS", "CURR", Decimal(step), 1000, Decimal(low), Decimal(high))


# The first four shares and AAPL keep the ranges (and so, per seed, the books) they always had.
INSTRUMENTS = (
    # MOEX stock market, shares (TQBR)
    _share("SBER", "0.01", 10, "280", "300"),
    _share("GAZP", "0.01", 10, "130", "170"),
    _share("LKOH", "0.5", 1, "6800", "7400"),
    _share("YDEX", "0.5", 1, "3900", "4500"),
    _share("VTBR", "0.01", 1, "70", "100"),
    _share("ROSN", "0.05", 1, "400", "600"),
    _share("GMKN", "0.02", 10, "100", "150"),
    _share("NVTK", "0.2", 1, "900", "1300"),
    _share("TATN", "0.1", 1, "550", "750"),
    _share("MGNT", "0.5", 1, "3500", "6000"),
    _share("MOEX", "0.01", 10, "150", "230"),
    _share("ALRS", "0.01", 10, "40", "60"),
    _share("AFLT", "0.01", 10, "50", "75"),
    _share("MTSS", "0.05", 10, "190", "260"),
    _share("SNGSP", "0.005", 100, "40", "60"),
    _share("CHMF", "0.2", 1, "900", "1400"),
    # MOEX stock market, bonds: OFZ (TQOB) and corporate (TQCB); Slim levels carry the yield "y"
    _bond("SU26238RMFS4", "TQOB", "0.001", "55", "65", ("14.5", "15.8"), "7.6"),
    _bond("SU26240RMFS0", "TQOB", "0.001", "60", "72", ("14.3", "15.5"), "6.4"),
    _bond("SU26243RMFS4", "TQOB", "0.001", "64", "78", ("14.4", "15.6"), "7.0"),
    _bond("RU000A1082X0", "TQCB", "0.01", "93", "101", ("17.5", "21.5"), "1.9"),
    _bond("RU000A107RZ0", "TQCB", "0.01", "90", "100", ("18.0", "22.5"), "2.4"),
    _bond("RU000A106E90", "TQCB", "0.01", "95", "102", ("16.5", "20.0"), "1.4"),
    # MOEX derivatives market, futures (RFUD); lots are contracts
    _future("SiZ6", "1", "88000", "100000"),
    _future("SiH7", "1", "90000", "102000"),
    _future("RIZ6", "10", "95000", "125000"),
    _future("MXZ6", "0.25", "2600", "3100"),
    _future("BRF7", "0.01", "58", "80"),
    _future("GDZ6", "0.1", "3300", "4200"),
    _future("SRZ6", "1", "29000", "34000"),
    _future("GZZ6", "1", "13000", "16500"),
    _future("CRZ6", "0.001", "11.5", "13.5"),
    _future("NGF7", "0.001", "2.8", "4.5"),
    # MOEX currency market (CETS); a lot is 1000 units of the currency
    _currency("USD000UTSTOM", "0.0025", "78", "100"),
    _currency("EUR_RUB__TOM", "0.0025", "88", "110"),
    _currency("CNYRUB_TOM", "0.0005", "10.8", "13"),
    _currency("CNY000000TOD", "0.0005", "10.8", "13"),
    # SPB Exchange: the board is always SPBX
    Instrument("SPBX", "AAPL", "SPBX", "SPBX", Decimal("0.01"), 1, Decimal(170), Decimal(200)),
)

CONDITIONS = {"more": "More", "less": "Less", "moreorequal": "MoreOrEqual", "lessorequal": "LessOrEqual"}
TIME_IN_FORCE = frozenset(
    {"oneday", "immediateorcancel", "fillorkill", "attheclose", "goodtillcancelled", "bookorcancel"}
)


class Portfolio(NamedTuple):
    name: str
    kind: str  # "stock" (D...), "currency" (G...) or "forts" (7500...)


# Which markets a portfolio of each kind trades. ALOR issues test portfolios per market (the guide's
# market order uses D39004 for MOEX:SBER); that a D portfolio also trades on SPBX is an assumption.
MARKETS_OF_PORTFOLIO_KIND = {
    "stock": frozenset({"FOND", "SPBX"}),
    "currency": frozenset({"CURR"}),
    "forts": frozenset({"FORTS"}),
}


class Account(NamedTuple):
    login: str
    clientid: str
    ein: str
    agreements: str
    portfolios: tuple[Portfolio, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.portfolios)


def _agreement(number: str) -> tuple[Portfolio, ...]:
    # Three portfolios per agreement, in agreement order: D (stocks), G (currency), 7500 (FORTS).
    return (
        Portfolio(f"D{number}", "stock"),
        Portfolio(f"G{number}", "currency"),
        Portfolio(f"7500{number}", "forts"),
    )


ACCOUNTS = (
    Account("P039004", "0123456", "01234", "3900400 3900401", _agreement("39004") + _agreement("39014")),
    Account("P039005", "0123457", "01235", "3900500", _agreement("39005")),
)

Level = tuple[Decimal, int]


def positive_decimal(value: Any) -> Optional[Decimal]:
    """A JSON number (parsed with ``parse_float=Decimal``) if it is finite and > 0, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    number = Decimal(value)
    return number if number.is_finite() and number > 0 else None


def iso_time(ts: float) -> str:
    """ALOR's ISO-8601 form with seven fractional digits, e.g. ``2023-12-11T07:02:48.0000000Z``."""
    seconds, ticks = divmod(round(ts * 10_000_000), 10_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{ticks:07d}Z"


def json_number(value: Decimal) -> str:
    """A decimal as a JSON number that always has a fraction (``281.98``, ``92345.0``), never an
    exponent: the documented prices are JSON floats, so an integral price must not turn into an int."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def _fragments(
    levels: list[Level], yields: Optional[list[Decimal]], price_key: str, volume_key: str
) -> list[str]:
    if yields is None:
        return [f'{{"{price_key}":{json_number(p)},"{volume_key}":{v}}}' for p, v in levels]
    return [
        f'{{"{price_key}":{json_number(p)},"{volume_key}":{v},"y":{json_number(y)}}}'
        for (p, v), y in zip(levels, yields)
    ]


class Book:
    """One instrument's book, best level first on each side."""

    __slots__ = ("_rendered", "asks", "bids", "instrument")

    def __init__(
        self,
        instrument: Optional[Instrument],
        bids: list[Level],
        asks: list[Level],
        bid_yields: Optional[list[Decimal]] = None,
        ask_yields: Optional[list[Decimal]] = None,
    ) -> None:
        self.instrument = instrument
        self.bids = bids
        self.asks = asks
        # Simple and Heavy levels are {price, volume}; Slim levels are {p, v}, plus y for bonds only
        # (the spec's Slim examples: "Общий" without y, "Облигации" with it).
        long_form = (_fragments(bids, None, "price", "volume"), _fragments(asks, None, "price", "volume"))
        self._rendered = {
            "simple": long_form,
            "heavy": long_form,
            "slim": (_fragments(bids, bid_yields, "p", "v"), _fragments(asks, ask_yields, "p", "v")),
        }

    def render(self, fmt: str, depth: int, now: float) -> bytes:
        """JSON body of ``GET /md/v2/orderbooks`` in format ``fmt`` (lower-case, validated by the caller).

        Keys and their order are the spec's examples: Simple ``snapshot, bids, asks, timestamp (s),
        ms_timestamp (ms), existing`` (also the getting-started guide's example), Heavy ``bids, asks,
        msTimestamp, existing``, Slim ``b, a, t, h``.
        """
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
                f'"timestamp":{ms // 1000},"ms_timestamp":{ms},"existing":true}}'
            )
        return text.encode("ascii")


EMPTY_BOOK = Book(None, [], [])

_CENT = Decimal("0.01")


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
    if inst.yield_range is None:
        return Book(inst, bids, asks)
    # A bond's yield falls as its price rises: y = y0 - (p - p0) / p0 * 100 / duration, in percent,
    # rounded to 0.01 (the spec's bond example: bid 70.589 -> 16.21, ask 70.772 -> 16.14).
    low, high = inst.yield_range
    y0 = low + (high - low) * Decimal(rng.randint(0, 1000)) / 1000
    p0 = bids[0][0]

    def yield_at(price: Decimal) -> Decimal:
        return (y0 - (price - p0) / p0 * 100 / inst.duration).quantize(_CENT)

    return Book(inst, bids, asks, [yield_at(p) for p, _ in bids], [yield_at(p) for p, _ in asks])


def build_market(seed: int) -> dict[tuple[str, str], Book]:
    """All books for ``seed``, keyed by upper-case ``(exchange, symbol)``."""
    return {(inst.exchange, inst.symbol.upper()): _generate(inst, seed) for inst in INSTRUMENTS}


# Order fields per format, in the spec's schema order: (Simple, Slim, Heavy) names, None where the
# format has no such field. Order: response_Order_{Simple,Slim,Heavy}; stop order:
# response_StopOrder_Warp_{Simple,Slim,Heavy}.
_FieldNames = tuple[str, Optional[str], Optional[str]]
_ORDER_FIELDS: tuple[_FieldNames, ...] = (
    ("id", "id", "id"),
    ("symbol", "sym", "symbol"),
    ("board", "bd", "board"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("comment", "cmt", "comment"),
    ("type", "t", "type"),
    ("side", "s", "side"),
    ("status", "st", "status"),
    ("transTime", "tt", "transTime"),
    ("updateTime", "ut", "updateTime"),
    ("endTime", "et", "endTime"),
    ("qtyUnits", "q", "qtyUnits"),
    ("qtyBatch", "qb", "qtyBatch"),
    ("qty", None, None),
    ("filledQtyUnits", "fq", "filledQtyUnits"),
    ("filledQtyBatch", "fqb", "filledQtyBatch"),
    ("filled", None, None),
    ("price", "px", "price"),
    ("existing", "h", "existing"),
    ("timeInForce", "tf", "timeInForce"),
    ("iceberg", "i", "iceberg"),
    ("volume", "v", "volume"),
)
_STOP_ORDER_FIELDS: tuple[_FieldNames, ...] = (
    ("id", "id", "id"),
    ("exchangeOrderId", "eid", "exchangeOrderId"),
    ("symbol", "sym", "symbol"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("comment", "cmt", "comment"),
    ("board", "bd", "board"),
    ("type", "t", "type"),
    ("side", "s", "side"),
    ("condition", "cnd", "condition"),
    ("status", "st", "status"),
    ("transTime", "tt", "transTime"),
    ("updateTime", "ut", "updateTime"),
    ("endTime", "et", "endTime"),
    ("error", "err", "error"),
    ("qtyUnits", "q", "qtyUnits"),
    ("qtyBatch", "qb", "qtyBatch"),
    ("qty", None, None),
    ("filled", None, None),
    ("filledQtyUnits", "fq", "filledQtyUnits"),
    ("filledQtyBatch", "fqb", "filledQtyBatch"),
    ("price", "px", "price"),
    ("avg_price", "pxavg", "avgPrice"),
    ("stopPrice", "pxs", "stopPrice"),
    ("existing", "h", "existing"),
    ("timeInForce", "tf", "timeInForce"),
    ("iceberg", "i", "iceberg"),
    ("volume", "v", "volume"),
    ("protectingSeconds", "psec", "protectingSeconds"),
)


def _layouts(fields: tuple[_FieldNames, ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per format, the (wire name, Simple name) pairs of the fields it has, in order."""
    layouts: dict[str, tuple[tuple[str, str], ...]] = {}
    for index, fmt in enumerate(("simple", "slim", "heavy")):
        pairs: list[tuple[str, str]] = []
        for names in fields:
            name = names[index]
            if name is not None:
                pairs.append((name, names[0]))
        layouts[fmt] = tuple(pairs)
    return layouts


_ORDER_LAYOUTS = _layouts(_ORDER_FIELDS)
_STOP_ORDER_LAYOUTS = _layouts(_STOP_ORDER_FIELDS)


class Order:
    """A stored order; mutated only under the emulator's lock."""

    __slots__ = (
        "active",
        "avg_price",
        "comment",
        "condition",
        "created",
        "end",
        "exchange_order",
        "filled",
        "inst",
        "kind",
        "number",
        "portfolio",
        "price",
        "protecting",
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
        comment: Optional[str],
        tif: str,
        now: float,
    ) -> None:
        self.number, self.kind, self.side, self.qty, self.price = number, kind, side, qty, price
        self.portfolio, self.inst, self.comment, self.tif = portfolio, inst, comment, tif
        self.filled = 0
        self.status = "working"
        self.created = self.updated = now
        self.trigger: Optional[Decimal] = None
        self.condition = ""
        self.protecting = 15
        self.end: Optional[float] = None
        # Stop orders (sandbox_commands): watched only when active; when one triggers, the number of
        # the order it placed and, once that fills, its average price.
        self.active = True
        self.exchange_order: Optional[str] = None
        self.avg_price: Optional[Decimal] = None

    @property
    def is_stop(self) -> bool:
        return self.kind in ("stop", "stoplimit")

    def matches(self, portfolio: str, exchange: str, stop: Optional[bool]) -> bool:
        return (
            self.portfolio == portfolio
            and self.inst.exchange == exchange
            and (stop is None or self.is_stop == stop)
        )

    def to_json(self, fmt: str = "simple") -> dict[str, Any]:
        """The Order (or StopOrder) object in format ``fmt`` (lower-case, validated by the caller)."""
        inst = self.inst
        done = self.status != "working"
        units = self.qty * inst.lot
        # A bond's price is percent of its face value.
        factor = Decimal(inst.face) / 100 if inst.face else Decimal(1)
        basis = self.price or (self.trigger or Decimal(0))
        # float() of a step-quantised decimal has a repr identical to the decimal, so JSON stays exact.
        values: dict[str, Any] = {
            "id": self.number,
            "symbol": inst.symbol,
            "board": inst.board,
            "brokerSymbol": f"{inst.exchange}:{inst.symbol}",
            "portfolio": self.portfolio,
            "exchange": inst.exchange,
            "comment": self.comment,
            "type": self.kind,
            "side": self.side,
            "status": self.status,
            "transTime": iso_time(self.created),
            "updateTime": iso_time(self.updated),
            "endTime": iso_time(self.updated) if done else NEVER,
            "qtyUnits": units,
            "qtyBatch": self.qty,
            "qty": self.qty,
            "filledQtyUnits": self.filled * inst.lot,
            "filledQtyBatch": self.filled,
            "filled": self.filled,
            "price": float(self.price),
            "existing": True,
            "timeInForce": self.tif,
            "iceberg": None,
            "volume": None if self.kind == "market" else float(basis * units * factor),
        }
        layouts = _ORDER_LAYOUTS
        if self.is_stop:
            layouts = _STOP_ORDER_LAYOUTS
            values.update(
                exchangeOrderId=self.exchange_order,  # None until it triggers
                condition=self.condition,
                error=None,
                avg_price=float(self.avg_price) if self.avg_price is not None else 0,
                stopPrice=float(self.trigger or 0),
                protectingSeconds=self.protecting,
            )
            if not done and self.end is not None:
                values["endTime"] = iso_time(self.end)
        return {wire: values[name] for wire, name in layouts[fmt]}
