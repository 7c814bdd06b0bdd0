"""The ALOR emulator's simulated market (issue 13): one deterministic price path per instrument,
driven by the emulator's clock, from which all trades, candles and quotes follow; and the
market-data routes (securities, quotes, all trades, their history, candles, risk rates).

**The price path.** Time is cut into 1-minute steps from a fixed epoch (:data:`EPOCH`,
2026-01-01T00:00Z). The price at the start of minute ``n`` is the order book's mid at the epoch plus
a seeded, bounded "value noise" (a sum of linearly interpolated random values on grids of 1, 2, 4 ...
2**15 minutes, each level's amplitude the square root of its spacing: a path that looks like a random
walk but is computed in O(1) for any minute), kept inside the instrument's band (the range its book
was seeded from) and rounded to its price step. So the path depends on the seed and the clock only,
never on when the sandbox started. Each minute holds 1 to 4 trades (seeded: millisecond times, sizes
1..50 lots, sides) whose prices move from the minute's start price to the next minute's, the last one
exactly at it; :meth:`MarketSim.last_price` is the price of the last trade at or before the time.
Candles of every timeframe are aggregated from those trades, and the quotes' open/high/low/volume
are the current UTC day's.

**History.** Trades (and so candles) exist from ``max(EPOCH, now - 7 days)`` to now; the current UTC
day is served by ``alltrades``, the days before it by ``alltrades/history`` (assumption: the spec calls
the latter "history" without saying where it starts). A ``/md/v2/history`` answer carries at most
:data:`MAX_CANDLES` candles (assumption: the spec gives no cap); ``next`` then points at the next one.

Called by :class:`~integrations_alor.sandbox.AlorEmulator`, which owns the lock and the clock.
"""

from __future__ import annotations

import calendar
import hashlib
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, NamedTuple, Optional

from integrations.runtime import Clock
from integrations.sandbox.jsonapp import JsonRequest, Reply

from .sandbox_common import ERRORS, ErrorAnswer, _error, _json, _query
from .sandbox_data import INSTRUMENTS, Book, Instrument

if TYPE_CHECKING:
    from integrations.sandbox import JsonApp

__all__ = ["EPOCH", "HISTORY_SECONDS", "MARKET_ERRORS", "MAX_CANDLES", "MarketSim", "Trade", "install"]

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: minute 0 of every price path
HISTORY_SECONDS = 7 * 86400
MAX_CANDLES = 1000
ANONYMOUS_DELAY = 900  # the spec: data without a token is 15 minutes late
MAX_LIMIT = 50_000
TIMEFRAME_CODES = {"D": 86400, "W": 604800, "M": 2592000, "Y": 31536000}
RISK_CATEGORIES = frozenset(range(1, 8))  # assumption: the spec's example uses 5; ids are small ints
_LEVELS = 16
_AMPLITUDES = [math.sqrt(2**k) for k in range(_LEVELS)]
_NORM = sum(_AMPLITUDES)
_MASK = (1 << 64) - 1
_ID_BASE = 10_000_000_000
_CACHE_LIMIT = 200_000
_NEVER = "9999-12-31T23:59:59.9999999"  # ALOR's .NET MaxValue, as "cancellation" is written: no Z

MARKET_ERRORS: dict[str, ErrorAnswer] = {
    "md_parameter_invalid": ErrorAnswer(
        "A market-data request (securities, quotes, all trades, history, risk rates) with an "
        "unknown exchange, market, sector, side or format, or a number that is not an integer in "
        "range (limit, offset, take, from, to, countBack, riskCategoryId), an unknown tf, from "
        "after to, or a quotes list that is not EXCH:TICKER pairs",
        400,
        {"message": "Invalid value of {name}"},
        "assumption",
        "The spec documents a 400 'check the request syntax and values' for these reads (400_Get) "
        "without a body; a 400 with only a message, like every documented 400 of the API.",
    ),
    "md_parameter_missing": ErrorAnswer(
        "A market-data request without a parameter the spec marks required (history: symbol, "
        "exchange, tf, from, to; alltrades/history: limit; risk/rates: riskCategoryId)",
        400,
        {"message": "{name} is required"},
        "assumption",
        "The spec marks them required; the refusal's body is undocumented: a 400 with a message.",
    ),
    "security_not_found": ErrorAnswer(
        "GET /md/v2/Securities/{exchange}/{symbol} (and its alltrades, alltrades/history) or "
        "/md/v2/history for an unknown symbol, or an instrumentGroup that is not its board",
        404,
        None,
        "assumption",
        "The status is the spec's (404 'resource not found' on these paths, reference §6); the "
        "body is undocumented: sent empty.",
    ),
}
ERRORS.update(MARKET_ERRORS)


def _mix(x: int) -> int:
    """splitmix64: a fast, well-spread 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class Trade(NamedTuple):
    """One simulated trade: Unix milliseconds, id, price in ticks, lots, side."""

    ms: int
    id: int
    ticks: int
    qty: int
    side: str


class _Agg(NamedTuple):
    open: int
    high: int
    low: int
    close: int
    volume: int
    first_ms: int


def _merge(a: Optional[_Agg], b: Optional[_Agg]) -> Optional[_Agg]:
    if a is None:
        return b
    if b is None:
        return a
    return _Agg(a.open, max(a.high, b.high), min(a.low, b.low), b.close, a.volume + b.volume, a.first_ms)


class _Path:
    """The price path and trades of one instrument (all in ticks)."""

    def __init__(self, seed: int, index: int, inst: Instrument, book: Book) -> None:
        digest = hashlib.sha256(f"alor-market:{seed}:{inst.exchange}:{inst.symbol}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big")
        self.index = index
        self.inst = inst
        self.step = inst.step
        mid = (book.bids[0][0] + book.asks[0][0]) / 2
        self.mid = int((mid / inst.step).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        self.lo = int(inst.low / inst.step)
        self.hi = max(int(inst.high / inst.step), self.mid)
        self.amplitude = (self.hi - self.lo) * 0.75
        self._grid: dict[tuple[int, int], float] = {}
        self._minutes: dict[int, tuple[Trade, ...]] = {}
        self._aggs: dict[int, _Agg] = {}
        self._origin = self._noise(0)

    def _value(self, level: int, i: int) -> float:
        key = (level, i)
        value = self._grid.get(key)
        if value is None:
            if len(self._grid) > _CACHE_LIMIT:
                self._grid.clear()
            h = _mix(self.key ^ _mix((level << 58) ^ i))
            value = self._grid[key] = (h >> 11) / float(1 << 52) - 1.0
        return value

    def _noise(self, n: int) -> float:
        total = 0.0
        for level in range(_LEVELS):
            i, rest = n >> level, n & ((1 << level) - 1)
            a = self._value(level, i)
            b = self._value(level, i + 1)
            total += _AMPLITUDES[level] * (a + (b - a) * rest / (1 << level))
        return total / _NORM

    def start_ticks(self, n: int) -> int:
        """The price at the start of minute ``n`` (0: the epoch), in ticks."""
        if n <= 0:
            return self.mid
        ticks = round(self.mid + self.amplitude * (self._noise(n) - self._origin))
        # Reflected at the band's edges (then clamped), so the path never sticks to an edge.
        if ticks > self.hi:
            ticks = 2 * self.hi - ticks
        elif ticks < self.lo:
            ticks = 2 * self.lo - ticks
        return min(max(ticks, self.lo), self.hi)

    def trades(self, n: int) -> tuple[Trade, ...]:
        """The trades of minute ``n`` (n >= 0), oldest first."""
        cached = self._minutes.get(n)
        if cached is not None:
            return cached
        r = _mix(self.key ^ _mix(n * 0x100000001B3 + 7))
        count = 1 + (r & 3)
        draws = [_mix(r + j + 1) for j in range(count)]
        offsets = sorted(d % 60_000 for d in draws)
        p0, p1 = self.start_ticks(n), self.start_ticks(n + 1)
        start = (EPOCH + n * 60) * 1000
        trades = []
        for j, (offset, d) in enumerate(zip(offsets, draws)):
            jitter = 0 if j == count - 1 else (d >> 20) % 3 - 1
            ticks = min(max(p0 + round((p1 - p0) * (j + 1) / count) + jitter, self.lo), self.hi)
            trade_id = _ID_BASE + (n * 4 + j) * 64 + self.index
            side = "buy" if (d >> 40) & 1 else "sell"
            trades.append(Trade(start + offset, trade_id, ticks, 1 + (d >> 24) % 50, side))
        result = tuple(trades)
        if len(self._minutes) > _CACHE_LIMIT // 10:
            self._minutes.clear()
        self._minutes[n] = result
        return result

    def minute_agg(self, n: int) -> _Agg:
        agg = self._aggs.get(n)
        if agg is None:
            if len(self._aggs) > _CACHE_LIMIT:
                self._aggs.clear()
            trades = self.trades(n)
            prices = [t.ticks for t in trades]
            agg = self._aggs[n] = _Agg(
                prices[0], max(prices), min(prices), prices[-1], sum(t.qty for t in trades), trades[0].ms
            )
        return agg

    def aggregate(self, t0_ms: int, t1_ms: int) -> Optional[_Agg]:
        """Open, high, low, close, volume of the trades with t0 <= ms < t1 (None: no trade)."""
        base = EPOCH * 1000
        t0_ms = max(t0_ms, base)
        if t1_ms <= t0_ms:
            return None
        result: Optional[_Agg] = None
        n = (t0_ms - base) // 60_000
        last = (t1_ms - 1 - base) // 60_000
        while n <= last:
            m0 = base + n * 60_000
            if t0_ms <= m0 and m0 + 60_000 <= t1_ms:
                result = _merge(result, self.minute_agg(n))
            else:
                for t in self.trades(n):
                    if t0_ms <= t.ms < t1_ms:
                        result = _merge(result, _Agg(t.ticks, t.ticks, t.ticks, t.ticks, t.qty, t.ms))
            n += 1
        return result

    def iter_trades(self, t0_ms: int, t1_ms: int, descending: bool = False) -> Iterator[Trade]:
        """The trades with t0 <= ms < t1, in time order (or reversed)."""
        base = EPOCH * 1000
        t0_ms = max(t0_ms, base)
        if t1_ms <= t0_ms:
            return
        first, last = (t0_ms - base) // 60_000, (t1_ms - 1 - base) // 60_000
        minutes = range(last, first - 1, -1) if descending else range(first, last + 1)
        for n in minutes:
            trades = self.trades(n)
            for t in reversed(trades) if descending else trades:
                if t0_ms <= t.ms < t1_ms:
                    yield t

    def last_ticks(self, at: float) -> int:
        if at < EPOCH:
            return self.mid
        n = int((at - EPOCH) // 60)
        at_ms = int(at * 1000)
        price = self.start_ticks(n)
        for t in self.trades(n):
            if t.ms <= at_ms:
                price = t.ticks
        return price


class MarketSim:
    """The simulated market. ``last_price(inst, at)`` is the price of ``inst`` at Unix time ``at``
    (the emulator's clock when ``None``), a multiple of its price step: the price of the last
    simulated trade at or before ``at`` (the book's mid before the first one)."""

    def __init__(self, seed: int, clock: Clock, books: Mapping[tuple[str, str], Book]) -> None:
        self._seed = seed
        self._clock = clock
        self._books = books
        self._paths: dict[tuple[str, str], _Path] = {}
        self._index = {(i.exchange, i.symbol.upper()): n for n, i in enumerate(INSTRUMENTS)}

    def path(self, inst: Instrument) -> _Path:
        key = (inst.exchange, inst.symbol.upper())
        path = self._paths.get(key)
        if path is None:
            path = self._paths[key] = _Path(self._seed, self._index.get(key, 63), inst, self._books[key])
        return path

    def last_price(self, inst: Instrument, at: Optional[float] = None) -> Decimal:
        when = self._clock.now() if at is None else at
        return self.path(inst).last_ticks(when) * inst.step

    def history_start(self, now: float) -> float:
        """The oldest instant trades and candles are kept for."""
        return max(float(EPOCH), now - HISTORY_SECONDS)

    def trades(
        self, inst: Instrument, t0: float, t1: float, now: float, descending: bool = False
    ) -> Iterator[Trade]:
        """The trades with t0 <= time < t1 (Unix seconds), clipped to the kept history up to ``now``."""
        lo = int(max(t0, self.history_start(now)) * 1000)
        hi = int(min(t1, now + 0.001) * 1000)
        return self.path(inst).iter_trades(lo, hi, descending)

    def aggregate(self, inst: Instrument, t0: float, t1: float, now: float) -> Optional[_Agg]:
        lo = int(max(t0, self.history_start(now)) * 1000)
        hi = int(min(t1, now + 0.001) * 1000)
        return self.path(inst).aggregate(lo, hi)


# -- timeframes ----------------------------------------------------------------------------------


def _bucket(tf: str, t: int) -> tuple[int, int]:
    """The candle of timeframe ``tf`` holding Unix second ``t``: (start, end)."""
    if tf == "M":
        tm = calendar.timegm((*_ym(t), 1, 0, 0, 0))
        year, month = _ym(t)
        nxt = calendar.timegm((year + month // 12, month % 12 + 1, 1, 0, 0, 0))
        return tm, nxt
    if tf == "Y":
        year = _ym(t)[0]
        return calendar.timegm((year, 1, 1, 0, 0, 0)), calendar.timegm((year + 1, 1, 1, 0, 0, 0))
    if tf == "W":
        start = (t - 4 * 86400) // 604800 * 604800 + 4 * 86400  # weeks start on Monday, UTC
        return start, start + 604800
    size = 86400 if tf == "D" else int(tf)
    start = t // size * size
    return start, start + size


def _ym(t: int) -> tuple[int, int]:
    import time as _time

    g = _time.gmtime(t)
    return g.tm_year, g.tm_mon


def _timeframe(value: str) -> Optional[str]:
    text = value.strip().upper()
    if text in TIMEFRAME_CODES:
        return text
    if text.isdigit() and 0 < int(text) <= 31_536_000:
        return str(int(text))
    return None


# -- JSON of each model --------------------------------------------------------------------------


def _num(value: Decimal) -> float:
    # float() of a step-quantised decimal has a repr identical to the decimal, so JSON stays exact.
    return float(value)


Layout = dict[str, tuple[tuple[str, str], ...]]


def _layout(simple: str, slim: str, heavy: str) -> Layout:
    """Per format, (wire name, value name) pairs in the spec's examples' key order. Value names are
    the Simple names; a Slim or Heavy entry is ``wire:value`` (or just ``value`` when equal)."""

    def pairs(text: str) -> tuple[tuple[str, str], ...]:
        return tuple((w, v or w) for w, _, v in (item.partition(":") for item in text.split()))

    return {"simple": pairs(simple), "slim": pairs(slim), "heavy": pairs(heavy)}


def _render(values: dict[str, Any], layout: Layout, fmt: str) -> dict[str, Any]:
    return {wire: values[name] for wire, name in layout[fmt]}


# The spec's examples: Security_{Simple,Slim,Heavy}, Symbol_*, AllTrades_*, History_* (WarpOpenAPIv2.yml).
_SECURITY_LAYOUT = _layout(
    "symbol shortname description exchange market type lotsize facevalue cfiCode cancellation minstep "
    "rating marginbuy marginsell marginrate pricestep priceMax priceMin theorPrice theorPriceLimit "
    "volatility currency ISIN yield board primary_board tradingStatus tradingStatusInfo "
    "complexProductCategory priceMultiplier priceShownUnits",
    "sym:symbol n:shortname desc:description ex:exchange t:type lot:lotsize fv:facevalue cfi:cfiCode "
    "stp:minstep cncl:cancellation rt:rating mgb:marginbuy mgs:marginsell mgrt:marginrate "
    "stppx:pricestep pxmx:priceMax pxmn:priceMin pxt:theorPrice pxtl:theorPriceLimit "
    "pxmu:priceMultiplier pxu:priceShownUnits vl:volatility cur:currency isin:ISIN yld:yield bd:board "
    "pbd:primary_board st:tradingStatus sti:tradingStatusInfo cpct:complexProductCategory",
    "symbol shortName:shortname description exchange market type lotSize:lotsize faceValue:facevalue "
    "cfiCode cancellation minStep:minstep roundTo rating marginBuy:marginbuy marginSell:marginsell "
    "marginRate:marginrate priceStep:pricestep priceMax priceMin theorPrice theorPriceLimit volatility "
    "currency nominalCurrency:currency settlementCurrency underlyingCurrency ISIN yield board "
    "primaryBoard:primary_board tradingStatus tradingStatusInfo complexProductCategory priceMultiplier "
    "priceShownUnits",
)

_QUOTE_LAYOUT = _layout(
    "symbol exchange description prev_close_price last_price last_price_timestamp high_price low_price "
    "accruedInt volume open_interest ask bid ask_vol bid_vol ob_ms_timestamp open_price yield lotsize "
    "lotvalue facevalue type total_bid_vol total_ask_vol accrued_interest change change_percent",
    "sym:symbol ex:exchange desc:description tst:last_price_timestamp tso o:open_price h:high_price "
    "l:low_price c:last_price v:volume acci:accruedInt oi:open_interest y:yield ask bid av:ask_vol "
    "bv:bid_vol tbv:total_bid_vol tav:total_ask_vol lot:lotsize lotv:lotvalue fv:facevalue t:type",
    "symbol exchange description currency prevClosePrice:prev_close_price lastPrice:last_price "
    "lastPriceTimestamp:last_price_timestamp highPrice:high_price lowPrice:low_price "
    "accruedInterest:accruedInt volume openInterest:open_interest ask bid askVol:ask_vol bidVol:bid_vol "
    "obMsTimestamp:ob_ms_timestamp openPrice:open_price yield lotSize:lotsize lotValue:lotvalue "
    "faceValue:facevalue type totalBidVol:total_bid_vol totalAskVol:total_ask_vol change "
    "changePercent:change_percent",
)

_TRADE_LAYOUT = _layout(
    "id orderno symbol board qty price time timestamp side oi existing",
    "id sym:symbol bd:board q:qty px:price t:timestamp s:side oi h:existing",
    "id symbol board qty price time timestamp side oi existing",
)

_CANDLE_LAYOUT = _layout(
    "time close open high low volume",
    "t:time c:close o:open h:high l:low v:volume",
    "time close open high low volume",
)

_FUTURE_MONTHS = "FGHJKMNQUVXZ"


def _kind(inst: Instrument) -> str:
    if inst.market == "FORTS":
        return "future"
    if inst.market == "CURR":
        return "currency"
    if inst.face:
        return "bond"
    return "preferred" if inst.symbol.endswith("P") and len(inst.symbol) == 5 else "share"


def _cancellation(inst: Instrument) -> str:
    if _kind(inst) != "future":
        return _NEVER
    month = _FUTURE_MONTHS.index(inst.symbol[-2]) + 1
    return f"202{inst.symbol[-1]}-{month:02d}-15T00:00:00.0000000"


_TYPES = {
    "share": ("CS", "ESXXXX"),
    "preferred": ("PS", "EPXXXX"),
    "bond": ("Облигация", "DBXXXX"),
    "future": ("Фьючерсный контракт", "FFXCSX"),
    "currency": ("Валюта", "MRCXXX"),
}


def _security_values(market: MarketSim, inst: Instrument) -> dict[str, Any]:
    path = market.path(inst)
    kind = _kind(inst)
    step = inst.step
    mid = path.mid * step
    margin = (mid * inst.lot * Decimal("0.2")).quantize(Decimal("0.01"))
    return {
        "symbol": inst.symbol,
        "shortname": inst.symbol,
        "description": f"{inst.symbol} ({inst.board})",
        "exchange": inst.exchange,
        "market": inst.market,
        "type": _TYPES[kind][0],
        "lotsize": inst.lot,
        "facevalue": inst.face or 1,
        "cfiCode": _TYPES[kind][1],
        "cancellation": _cancellation(inst),
        "minstep": _num(step),
        "rating": 0,
        "marginbuy": _num(margin),
        "marginsell": _num(margin),
        "marginrate": 0.2,
        "pricestep": _num(step * inst.lot * (Decimal(inst.face) / 100 if inst.face else 1)),
        "priceMax": _num(path.hi * step),
        "priceMin": _num(path.lo * step),
        "theorPrice": 0,
        "theorPriceLimit": 0,
        "volatility": 0,
        "currency": "USD" if inst.exchange == "SPBX" else "RUB",
        "ISIN": inst.symbol if inst.symbol.startswith("RU000") else None,
        "yield": None,
        "board": inst.board,
        "primary_board": inst.board,
        "tradingStatus": 17,
        "tradingStatusInfo": "нормальный период торгов",
        "complexProductCategory": "" if kind in ("share", "preferred") else "2",
        "priceMultiplier": 1,
        "priceShownUnits": 1,
        "roundTo": max(0, -step.normalize().as_tuple().exponent),  # type: ignore[operator]
        "settlementCurrency": None,
        "underlyingCurrency": None,
    }


def _security_json(market: MarketSim, inst: Instrument, fmt: str) -> dict[str, Any]:
    return _render(_security_values(market, inst), _SECURITY_LAYOUT, fmt)


def _iso_ms(ms: int) -> str:
    import time as _time

    seconds, rest = divmod(ms, 1000)
    return f"{_time.strftime('%Y-%m-%dT%H:%M:%S', _time.gmtime(seconds))}.{rest:03d}Z"


def _trade_json(inst: Instrument, trade: Trade, fmt: str) -> dict[str, Any]:
    oi = 500_000 + (trade.id // 64) % 20_000 if inst.market == "FORTS" else 0
    values = {
        "id": trade.id,
        "orderno": 0,
        "symbol": inst.symbol,
        "board": inst.board,
        "qty": trade.qty,
        "price": _num(trade.ticks * inst.step),
        "time": _iso_ms(trade.ms),
        "timestamp": trade.ms,
        "side": trade.side,
        "oi": oi,
        "existing": True,
    }
    return _render(values, _TRADE_LAYOUT, fmt)


def _quote_json(market: MarketSim, inst: Instrument, book: Book, now: float, fmt: str) -> dict[str, Any]:
    step = inst.step
    path = market.path(inst)
    day = int(now) // 86400 * 86400
    today = market.aggregate(inst, day, now + 0.001, now)
    before = market.aggregate(inst, day - 86400, day, now)
    last_ticks = path.last_ticks(now)
    last = last_ticks * step
    last_ms = max((t.ms for t in market.trades(inst, now - 120, now + 0.001, now)), default=None)
    prev_close = before.close * step if before else None
    # The book keeps its shape (spread, volumes) and moves with the price.
    spread = round((book.asks[0][0] - book.bids[0][0]) / step)
    bid = (last_ticks - spread // 2) * step
    ask = bid + spread * step
    factor = Decimal(inst.face) / 100 if inst.face else Decimal(1)
    change = last - prev_close if prev_close is not None else Decimal(0)
    percent = (change / prev_close * 100).quantize(Decimal("0.01")) if prev_close else Decimal(0)
    total_bid = sum(v for _, v in book.bids)
    total_ask = sum(v for _, v in book.asks)
    values = {
        "symbol": inst.symbol,
        "exchange": inst.exchange,
        "description": f"{inst.symbol} ({inst.board})",
        "currency": "USD" if inst.exchange == "SPBX" else "RUB",
        "prev_close_price": _num(prev_close) if prev_close is not None else None,
        "last_price": _num(last),
        "last_price_timestamp": (last_ms // 1000) if last_ms else int(now),
        "tso": None,
        "open_price": _num(today.open * step) if today else None,
        "high_price": _num(today.high * step) if today else None,
        "low_price": _num(today.low * step) if today else None,
        "accruedInt": 0,
        "volume": today.volume if today else 0,
        "open_interest": 500_000 if inst.market == "FORTS" else None,
        "ask": _num(ask),
        "bid": _num(bid),
        "ask_vol": book.asks[0][1],
        "bid_vol": book.bids[0][1],
        "ob_ms_timestamp": int(now * 1000),
        "yield": None,
        "lotsize": inst.lot,
        "lotvalue": _num((last * inst.lot * factor).quantize(Decimal("0.01"))),
        "facevalue": inst.face or 1,
        "type": _TYPES[_kind(inst)][0],
        "total_bid_vol": total_bid,
        "total_ask_vol": total_ask,
        "accrued_interest": 0,
        "change": _num(change),
        "change_percent": _num(percent),
    }
    return _render(values, _QUOTE_LAYOUT, fmt)


# -- risk rates ----------------------------------------------------------------------------------

_ASSET_TYPES = {
    "share": "stock",
    "preferred": "stock",
    "bond": "bond",
    "future": "futures",
    "currency": "currency",
}


def _risk_rate(seed: int, index: int, inst: Instrument, category: int) -> dict[str, Any]:
    h = _mix(
        int.from_bytes(
            hashlib.sha256(f"alor-risk:{seed}:{inst.symbol}:{category}".encode()).digest()[:8], "big"
        )
    )
    up = Decimal(800 + h % 2200) / 100
    down = Decimal(500 + (h >> 16) % 1500) / 100
    kind = _kind(inst)
    return {
        "id": 65000 + index * 16 + category,
        "instrument": inst.symbol,
        "exchange": inst.exchange,
        "riskCategoryId": category,
        "securityRiskCategoryId": 1 + (h >> 32) % 3,
        "assetType": _ASSET_TYPES[kind],
        "underlyingAsset": None,
        "setName": None,
        "isin": inst.symbol if inst.symbol.startswith("RU000") else None,
        "currencyCode": "USD" if inst.exchange == "SPBX" else "RUB",
        "rateUp": _num(up),
        "rateDown": _num(down),
        "rateSymmetric": _num(max(up, down) + 1),
        "isShortSellPossible": kind in ("share", "future", "currency"),
        "isMarginal": kind != "bond",
        "setRate": 0,
        "sgnR": 0,
    }


# -- the routes ----------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, key: str, name: str) -> None:
        super().__init__(name)
        self.key, self.name = key, name


def _int_param(
    query: dict[str, str], name: str, low: int, high: int, required: bool = False
) -> Optional[int]:
    text = query.get(name.lower())
    if text is None or text == "":
        if required:
            raise _Bad("md_parameter_missing", name)
        return None
    try:
        value = int(text)
    except ValueError:
        raise _Bad("md_parameter_invalid", name) from None
    if not low <= value <= high:
        raise _Bad("md_parameter_invalid", name)
    return value


def _bool_param(query: dict[str, str], name: str) -> Optional[bool]:
    text = query.get(name.lower())
    if text is None or text == "":
        return None
    value = {"true": True, "false": False}.get(text.lower())
    if value is None:
        raise _Bad("md_parameter_invalid", name)
    return value


def _decimal_param(query: dict[str, str], name: str) -> Optional[Decimal]:
    text = query.get(name.lower())
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise _Bad("md_parameter_invalid", name) from None
    if not value.is_finite():
        raise _Bad("md_parameter_invalid", name)
    return value


def _choice(query: dict[str, str], name: str, choices: tuple[str, ...], upper: bool = True) -> Optional[str]:
    text = query.get(name.lower())
    if text is None or text == "":
        return None
    value = text.upper() if upper else text.lower()
    if value not in choices:
        raise _Bad("md_parameter_invalid", name)
    return value


def _fmt(query: dict[str, str]) -> str:
    fmt = (query.get("format") or "simple").lower()
    if fmt not in ("simple", "slim", "heavy"):
        raise _Bad("md_parameter_invalid", "format")
    return fmt


def _exchange(value: str) -> str:
    if value.upper() not in ("MOEX", "SPBX"):
        raise _Bad("md_parameter_invalid", "exchange")
    return value.upper()


_MAX_INT = 2**31 - 1
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def install(api: JsonApp, emulator: Any) -> None:
    """Add the market-data routes to the ``api`` service of ``emulator``."""
    market: MarketSim = emulator.market
    books: Mapping[tuple[str, str], Book] = emulator._market
    clock: Clock = emulator._clock
    by_key = {(i.exchange, i.symbol.upper()): i for i in INSTRUMENTS}

    def now_for(request: JsonRequest) -> Optional[float]:
        """Now for an "anon ok" endpoint: a valid token sees now, no token 15 minutes ago, a bad
        token 401 (None)."""
        token = request.bearer
        if token is None:
            return clock.now() - ANONYMOUS_DELAY
        return clock.now() if emulator._principal(token) is not None else None

    def handler(fn: Callable[..., Reply], anonymous: bool = False) -> Callable[[JsonRequest], Reply]:
        def serve(request: JsonRequest) -> Reply:
            now = now_for(request) if anonymous else clock.now()
            if now is None:
                return _error("unauthorized")
            try:
                with emulator._lock:
                    return fn(request, _query(request), now)
            except _Bad as bad:
                return _error(bad.key, name=bad.name)

        return serve

    def instrument(exchange: str, symbol: str, group: Optional[str]) -> Instrument:
        inst = by_key.get((_exchange(exchange), symbol.upper()))
        if inst is None or (group and group.upper() != inst.board):
            raise _Missing
        return inst

    def page(
        items: list[Any], query: dict[str, str], default: Optional[int], limit_max: int = _MAX_INT
    ) -> list[Any]:
        limit = _int_param(query, "limit", 0, limit_max)
        offset = _int_param(query, "offset", 0, _MAX_INT) or 0
        if limit is None:
            limit = default
        return items[offset:] if limit is None else items[offset : offset + limit]

    def securities(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        fmt = _fmt(query)
        exchange = _choice(query, "exchange", ("MOEX", "SPBX"))
        sector = _choice(query, "sector", ("FORTS", "FOND", "CURR"))
        _bool_param(query, "includeNonBaseBoards")  # every simulated instrument trades on its base board
        text = (query.get("query") or "").upper()
        cfi = (query.get("cficode") or "").upper()
        group = (query.get("instrumentgroup") or "").upper()
        found = [
            i
            for i in INSTRUMENTS
            if (not text or text in i.symbol.upper())
            and (exchange is None or i.exchange == exchange)
            and (sector is None or i.market == sector)
            and (not group or i.board == group)
            and (not cfi or _TYPES[_kind(i)][1].startswith(cfi))
        ]
        return _json(200, [_security_json(market, i, fmt) for i in page(found, query, 25)])

    def exchange_securities(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        exchange = _exchange(request.params["exchange"])
        fmt = _fmt(query)
        kind = _choice(query, "market", ("FORTS", "FOND", "CURR", "SPBX"))
        _bool_param(query, "includeOld")  # no instrument of the simulation is old
        _bool_param(query, "includeNonBaseBoards")
        found = [i for i in INSTRUMENTS if i.exchange == exchange and (kind is None or i.market == kind)]
        return _json(200, [_security_json(market, i, fmt) for i in page(found, query, None)])

    def security(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        fmt = _fmt(query)
        inst = instrument(request.params["exchange"], request.params["symbol"], query.get("instrumentgroup"))
        return _json(200, _security_json(market, inst, fmt))

    def quotes(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        fmt = _fmt(query)
        answer = []
        for pair in request.params["symbols"].split(","):
            exchange, _, symbol = pair.strip().partition(":")
            if not symbol or exchange.upper() not in ("MOEX", "SPBX"):
                raise _Bad("md_parameter_invalid", "symbols")
            inst = by_key.get((exchange.upper(), symbol.upper()))
            if inst is not None:  # assumption: an unknown pair is left out
                book = books[(inst.exchange, inst.symbol.upper())]
                answer.append(_quote_json(market, inst, book, now, fmt))
        return _json(200, answer)

    def time_range(query: dict[str, str], required: bool = False) -> tuple[Optional[int], Optional[int]]:
        t0 = _int_param(query, "from", 0, _MAX_SECONDS, required)
        t1 = _int_param(query, "to", 0, _MAX_SECONDS, required)
        if t0 is not None and t1 is not None and t0 > t1:
            raise _Bad("md_parameter_invalid", "from")
        return t0, t1

    def all_trades(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        fmt = _fmt(query)
        t0, t1 = time_range(query)
        from_id = _int_param(query, "fromId", 0, 2**63 - 1)
        to_id = _int_param(query, "toId", 0, 2**63 - 1)
        qty_from = _int_param(query, "qtyFrom", 0, _MAX_INT)
        qty_to = _int_param(query, "qtyTo", 0, _MAX_INT)
        price_from = _decimal_param(query, "priceFrom")
        price_to = _decimal_param(query, "priceTo")
        side = _choice(query, "side", ("buy", "sell"), upper=False)
        offset = _int_param(query, "offset", 0, _MAX_INT) or 0
        take = _int_param(query, "take", 0, _MAX_INT)
        descending = bool(_bool_param(query, "descending"))
        inst = instrument(request.params["exchange"], request.params["symbol"], query.get("instrumentgroup"))
        day = int(now) // 86400 * 86400  # assumption: without from, the current (UTC) day's trades
        start = float(day if t0 is None else t0)
        end = now + 0.001 if t1 is None else t1 + 1.0  # to is inclusive, in whole seconds
        out: list[dict[str, Any]] = []
        skipped = 0
        for trade in market.trades(inst, start, end, now, descending):
            price = trade.ticks * inst.step
            if (
                (from_id is not None and trade.id < from_id)
                or (to_id is not None and trade.id > to_id)
                or (qty_from is not None and trade.qty < qty_from)
                or (qty_to is not None and trade.qty > qty_to)
                or (price_from is not None and price < price_from)
                or (price_to is not None and price > price_to)
                or (side is not None and trade.side != side)
            ):
                continue
            if skipped < offset:
                skipped += 1
                continue
            out.append(_trade_json(inst, trade, fmt))
            if take is not None and len(out) >= take:
                break
        return _json(200, out)

    def all_trades_history(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        fmt = _fmt(query)
        t0, t1 = time_range(query)
        limit = _int_param(query, "limit", 1, MAX_LIMIT, required=True) or 0  # required: never None
        offset = _int_param(query, "offset", 0, _MAX_INT) or 0
        inst = instrument(request.params["exchange"], request.params["symbol"], query.get("instrumentgroup"))
        day = int(now) // 86400 * 86400  # past days only; today's trades are alltrades'
        start = float(0 if t0 is None else t0)
        end = float(day) if t1 is None else min(float(day), t1 + 1.0)
        trades = list(market.trades(inst, start, end, now))
        items = [_trade_json(inst, t, fmt) for t in trades[offset : offset + limit]]
        return _json(200, {"total": len(trades), "list": items})

    def history(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        fmt = _fmt(query)
        for name in ("symbol", "exchange", "tf"):
            if not query.get(name.lower()):
                raise _Bad("md_parameter_missing", name)
        tf = _timeframe(query["tf"])
        if tf is None:
            raise _Bad("md_parameter_invalid", "tf")
        start, stop = time_range(query, required=True)
        t0, t1 = start or 0, stop or 0  # required: never None
        count_back = min(_int_param(query, "countBack", 0, _MAX_INT) or 0, MAX_CANDLES)
        for flag in ("untraded", "splitAdjust"):
            _bool_param(query, flag)
        inst = instrument(query["exchange"], query["symbol"], query.get("instrumentgroup"))
        oldest = market.history_start(now)

        def candle(start: int) -> Optional[tuple[int, _Agg]]:
            lo, hi = _bucket(tf, start)
            agg = market.aggregate(inst, lo, hi, now)
            return None if agg is None else (lo, agg)

        def forward(start: int, until: float) -> Iterator[tuple[int, _Agg]]:
            t = max(_bucket(tf, start)[0], _bucket(tf, int(oldest))[0])
            if t < start:
                t = _bucket(tf, t)[1]
            while t <= until and t <= now:
                found = candle(t)
                if found:
                    yield found
                t = _bucket(tf, t)[1]

        def backward(before: int) -> Iterator[tuple[int, _Agg]]:
            before = min(before, int(now) + 1)  # nothing after now: do not walk through the future
            t = _bucket(tf, before - 1)[0] if before > 0 else -1
            while t >= 0 and _bucket(tf, t)[1] > oldest:
                found = candle(t)
                if found:
                    yield found
                t = _bucket(tf, t - 1)[0]

        got: list[tuple[int, _Agg]] = []
        for item in forward(t0, t1):
            got.append(item)
            if len(got) >= MAX_CANDLES:
                break
        if count_back and len(got) < count_back:
            earlier = []
            for item in backward(t0):
                earlier.append(item)
                if len(got) + len(earlier) >= count_back:
                    break
            got = earlier[::-1] + got
        first = got[0][0] if got else t0
        after = (got[-1][0] + 1) if got else t1 + 1
        nxt = next(forward(_bucket(tf, after)[1] if got else after, float("inf")), None)
        prv = next(backward(first), None)
        step = inst.step
        rows = [
            _render(
                {
                    "time": t,
                    "open": _num(a.open * step),
                    "high": _num(a.high * step),
                    "low": _num(a.low * step),
                    "close": _num(a.close * step),
                    "volume": a.volume,
                },
                _CANDLE_LAYOUT,
                fmt,
            )
            for t, a in got
        ]
        body = {
            ("h" if fmt == "slim" else "history"): rows,
            "next": nxt[0] if nxt else None,
            "prev": prv[0] if prv else None,
        }
        return _json(200, body)

    def risk_rates(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
        category = _int_param(query, "riskCategoryId", 0, _MAX_INT, required=True)
        exchange = _choice(query, "exchange", ("MOEX", "SPBX"))
        ticker = (query.get("ticker") or "").upper()
        search = (query.get("search") or "").upper()
        found = []
        if category in RISK_CATEGORIES:
            for index, inst in enumerate(INSTRUMENTS):
                if (
                    (exchange is None or inst.exchange == exchange)
                    and (not ticker or inst.symbol.upper() == ticker)
                    and (not search or inst.symbol.upper().startswith(search))
                ):
                    found.append(_risk_rate(emulator._seed, index, inst, category))
        return _json(200, {"list": page(found, query, None), "total": len(found)})

    def missing_guard(fn: Callable[..., Reply]) -> Callable[..., Reply]:
        def guarded(request: JsonRequest, query: dict[str, str], now: float) -> Reply:
            try:
                return fn(request, query, now)
            except _Missing:
                return _error("security_not_found")

        return guarded

    base = "/md/v2/Securities"
    # Order matters: routes match in the order added, and "MOEX:SBER/quotes" would otherwise be read
    # as {exchange}/{symbol}; a quotes list always holds a colon, an exchange never does.
    api.add("GET", base, handler(securities, anonymous=True))
    api.add("GET", base + "/{symbols:[^/]*:[^/]*}/quotes", handler(quotes, anonymous=True))
    api.add("GET", base + "/{exchange:[^/:]*}", handler(exchange_securities), auth=True)
    api.add("GET", base + "/{exchange:[^/:]*}/{symbol}", handler(missing_guard(security)), auth=True)
    api.add("GET", base + "/{exchange}/{symbol}/alltrades", handler(missing_guard(all_trades)), auth=True)
    api.add(
        "GET",
        base + "/{exchange}/{symbol}/alltrades/history",
        handler(missing_guard(all_trades_history)),
        auth=True,
    )
    api.add("GET", "/md/v2/history", handler(missing_guard(history), anonymous=True))
    api.add("GET", "/md/v2/risk/rates", handler(risk_rates, anonymous=True))


class _Missing(Exception):
    """An unknown instrument: a 404."""
