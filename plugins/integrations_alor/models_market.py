"""ALOR's market-data models (issue 13): securities, quotes, all trades, candles, risk rates.

Every model is built from any wire format (Simple, Slim, Heavy): each field lists its name in each
format (from the spec ``WarpOpenAPIv2.yml``, components/schemas and examples), the first one present
is taken, and the collected values are structured by cattrs (a :class:`LazyConverter`). Money and
prices are :class:`~decimal.Decimal`, times aware UTC :class:`~datetime.datetime`, ids strings
(``AllTrade.id`` is an int64 on the wire: kept as its decimal string). A field that a format does
not carry (the Slim quote has no ``prev_close_price``, the Slim security no ``market``) is None.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Optional, Tuple

import attrs

from integrations.converters import LazyConverter
from integrations.errors import ProtocolError

from . import wire

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "AllTrade",
    "Candle",
    "Candles",
    "Quote",
    "RiskRate",
    "Security",
    "structure_all_trade",
    "structure_candles",
    "structure_quote",
    "structure_risk_rate",
    "structure_security",
]

UTC = dt.timezone.utc


@attrs.frozen
class Security:
    """An instrument's reference data (``GET /md/v2/Securities...``). ``market`` is None in Slim
    (the spec's Slim Security has no market); ``cancellation`` is None for "never" (.NET MaxValue)."""

    symbol: str
    exchange: str
    board: Optional[str]
    primary_board: Optional[str]
    market: Optional[str]
    short_name: Optional[str]
    description: Optional[str]
    type: Optional[str]
    cfi_code: Optional[str]
    isin: Optional[str]
    currency: Optional[str]
    lot_size: Decimal
    face_value: Optional[Decimal]
    min_step: Decimal
    price_step: Optional[Decimal]
    price_max: Optional[Decimal]
    price_min: Optional[Decimal]
    margin_buy: Optional[Decimal]
    margin_sell: Optional[Decimal]
    cancellation: Optional[dt.datetime]
    trading_status: Optional[int]
    trading_status_info: Optional[str]
    complex_product_category: Optional[str]
    price_multiplier: Optional[Decimal]


@attrs.frozen
class Quote:
    """A quote (the spec's Symbol) of one instrument. ``last_price_time`` is the time of the last
    trade; ``prev_close_price``, ``change`` and ``change_percent`` are None in Slim, which lacks them."""

    symbol: str
    exchange: str
    description: Optional[str]
    type: Optional[str]
    last_price: Optional[Decimal]
    last_price_time: Optional[dt.datetime]
    open_price: Optional[Decimal]
    high_price: Optional[Decimal]
    low_price: Optional[Decimal]
    prev_close_price: Optional[Decimal]
    volume: Optional[Decimal]
    open_interest: Optional[Decimal]
    bid: Optional[Decimal]
    ask: Optional[Decimal]
    bid_volume: Optional[Decimal]
    ask_volume: Optional[Decimal]
    total_bid_volume: Optional[Decimal]
    total_ask_volume: Optional[Decimal]
    lot_size: Optional[Decimal]
    lot_value: Optional[Decimal]
    face_value: Optional[Decimal]
    accrued_interest: Optional[Decimal]
    yield_: Optional[Decimal]
    change: Optional[Decimal]
    change_percent: Optional[Decimal]


@attrs.frozen
class AllTrade:
    """One trade of the market (anyone's). ``id`` is the exchange's int64 trade number as a string;
    ``time`` comes from the millisecond ``timestamp`` (the ISO ``time`` when it is absent);
    ``open_interest`` is the futures' open interest after the trade (0 or None otherwise)."""

    id: str
    order_number: Optional[str]
    symbol: str
    board: Optional[str]
    qty: int
    price: Decimal
    time: dt.datetime
    side: Optional[str]
    open_interest: Optional[Decimal]
    existing: Optional[bool]


@attrs.frozen
class Candle:
    """One candle: ``time`` is its start; ``volume`` is in lots."""

    time: dt.datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@attrs.frozen
class Candles:
    """One answer of ``GET /md/v2/history``: candles oldest first, and the start times of the
    candle after the last one (``next``) and before the first one (``prev``), None when there is none."""

    candles: Tuple[Candle, ...]
    next: Optional[dt.datetime]
    prev: Optional[dt.datetime]


@attrs.frozen
class RiskRate:
    """One risk rate (``GET /md/v2/risk/rates``); rates are percent."""

    id: str
    instrument: str
    exchange: Optional[str]
    risk_category_id: Optional[int]
    security_risk_category_id: Optional[int]
    asset_type: Optional[str]
    underlying_asset: Optional[str]
    set_name: Optional[str]
    isin: Optional[str]
    currency_code: Optional[str]
    rate_up: Optional[Decimal]
    rate_down: Optional[Decimal]
    rate_symmetric: Optional[Decimal]
    is_short_sell_possible: Optional[bool]
    is_marginal: Optional[bool]
    set_rate: Optional[Decimal]
    sgn_r: Optional[Decimal]


# -- value conversions ---------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?(Z|[+-]\d\d:?\d\d)?")


def _iso(text: str) -> Optional[dt.datetime]:
    """An ISO-8601 time with or without ``Z`` (no zone: UTC), any number of fractional digits
    (ALOR sends 7); the .NET MaxValue (year 9999) means "never": None."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise ProtocolError(f"expected an ISO-8601 time, got {text[:40]!r}")
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if year >= 9999:
        return None
    fraction = (match[7] or "0")[:6].ljust(6, "0")
    zone = UTC
    if match[8] and match[8] != "Z":
        sign = -1 if match[8][0] == "-" else 1
        digits = match[8][1:].replace(":", "")
        zone = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        value = dt.datetime(
            year, month, day, int(match[4] or 0), int(match[5] or 0), int(match[6] or 0), int(fraction), zone
        )
    except ValueError:
        raise ProtocolError(f"expected an ISO-8601 time, got {text[:40]!r}") from None
    return value.astimezone(UTC)


def _unix(value: Any, scale: int) -> dt.datetime:
    number = wire.decimal(value)
    if number < 0:
        raise ProtocolError("expected a non-negative Unix time")
    try:
        return dt.datetime.fromtimestamp(0, UTC) + dt.timedelta(microseconds=int(number * 1_000_000 / scale))
    except OverflowError:
        raise ProtocolError("Unix time out of range") from None


def _structure_datetime(value: Any, _: Any) -> Optional[dt.datetime]:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        return _iso(value)
    return _unix(value, 1)


def _configure(converter: cattrs.Converter) -> None:
    converter.register_structure_hook(Decimal, wire.decimal)
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    converter.register_structure_hook(str, wire.text)
    converter.register_structure_hook(int, wire.whole)
    converter.register_structure_hook(bool, wire.boolean)


converter = LazyConverter(_configure)

# Per model: (field, its (Simple, Heavy, Slim) wire names, required). Order as the spec's schemas.
_Spec = Tuple[Tuple[str, Tuple[str, ...], bool], ...]

_SECURITY: _Spec = (
    ("symbol", ("symbol", "sym"), True),
    ("exchange", ("exchange", "ex"), True),
    ("board", ("board", "bd"), False),
    ("primary_board", ("primary_board", "primaryBoard", "pbd"), False),
    ("market", ("market",), False),
    ("short_name", ("shortname", "shortName", "n"), False),
    ("description", ("description", "desc"), False),
    ("type", ("type", "t"), False),
    ("cfi_code", ("cfiCode", "cfi"), False),
    ("isin", ("ISIN", "isin"), False),
    ("currency", ("currency", "cur"), False),
    ("lot_size", ("lotsize", "lotSize", "lot"), True),
    ("face_value", ("facevalue", "faceValue", "fv"), False),
    ("min_step", ("minstep", "minStep", "stp"), True),
    ("price_step", ("pricestep", "priceStep", "stppx"), False),
    ("price_max", ("priceMax", "pxmx"), False),
    ("price_min", ("priceMin", "pxmn"), False),
    ("margin_buy", ("marginbuy", "marginBuy", "mgb"), False),
    ("margin_sell", ("marginsell", "marginSell", "mgs"), False),
    ("cancellation", ("cancellation", "cncl"), False),
    ("trading_status", ("tradingStatus", "st"), False),
    ("trading_status_info", ("tradingStatusInfo", "sti"), False),
    ("complex_product_category", ("complexProductCategory", "cpct"), False),
    ("price_multiplier", ("priceMultiplier", "pxmu"), False),
)

_QUOTE: _Spec = (
    ("symbol", ("symbol", "sym"), True),
    ("exchange", ("exchange", "ex"), True),
    ("description", ("description", "desc"), False),
    ("type", ("type", "t"), False),
    ("last_price", ("last_price", "lastPrice", "c"), False),
    ("last_price_time", ("last_price_timestamp", "lastPriceTimestamp", "tst"), False),
    ("open_price", ("open_price", "openPrice", "o"), False),
    ("high_price", ("high_price", "highPrice", "h"), False),
    ("low_price", ("low_price", "lowPrice", "l"), False),
    ("prev_close_price", ("prev_close_price", "prevClosePrice"), False),
    ("volume", ("volume", "v"), False),
    ("open_interest", ("open_interest", "openInterest", "oi"), False),
    ("bid", ("bid",), False),
    ("ask", ("ask",), False),
    ("bid_volume", ("bid_vol", "bidVol", "bv"), False),
    ("ask_volume", ("ask_vol", "askVol", "av"), False),
    ("total_bid_volume", ("total_bid_vol", "totalBidVol", "tbv"), False),
    ("total_ask_volume", ("total_ask_vol", "totalAskVol", "tav"), False),
    ("lot_size", ("lotsize", "lotSize", "lot"), False),
    ("lot_value", ("lotvalue", "lotValue", "lotv"), False),
    ("face_value", ("facevalue", "faceValue", "fv"), False),
    ("accrued_interest", ("accruedInt", "accrued_interest", "accruedInterest", "acci"), False),
    ("yield_", ("yield", "y"), False),
    ("change", ("change",), False),
    ("change_percent", ("change_percent", "changePercent"), False),
)

_ALL_TRADE: _Spec = (
    ("id", ("id",), True),
    ("order_number", ("orderno",), False),
    ("symbol", ("symbol", "sym"), True),
    ("board", ("board", "bd"), False),
    ("qty", ("qty", "q"), True),
    ("price", ("price", "px"), True),
    ("side", ("side", "s"), False),
    ("open_interest", ("oi",), False),
    ("existing", ("existing", "h"), False),
)

_CANDLE: _Spec = (
    ("time", ("time", "t"), True),
    ("open", ("open", "o"), True),
    ("high", ("high", "h"), True),
    ("low", ("low", "l"), True),
    ("close", ("close", "c"), True),
    ("volume", ("volume", "v"), True),
)

_RISK_RATE: _Spec = (
    ("id", ("id",), True),
    ("instrument", ("instrument",), True),
    ("exchange", ("exchange",), False),
    ("risk_category_id", ("riskCategoryId",), False),
    ("security_risk_category_id", ("securityRiskCategoryId",), False),
    ("asset_type", ("assetType",), False),
    ("underlying_asset", ("underlyingAsset",), False),
    ("set_name", ("setName",), False),
    ("isin", ("isin",), False),
    ("currency_code", ("currencyCode",), False),
    ("rate_up", ("rateUp",), False),
    ("rate_down", ("rateDown",), False),
    ("rate_symmetric", ("rateSymmetric",), False),
    ("is_short_sell_possible", ("isShortSellPossible",), False),
    ("is_marginal", ("isMarginal",), False),
    ("set_rate", ("setRate",), False),
    ("sgn_r", ("sgnR",), False),
)


def _collect(data: Any, spec: _Spec, where: str) -> dict[str, Any]:
    """The fields of ``spec`` from the JSON object ``data`` (ProtocolError if it is not one)."""
    if not isinstance(data, Mapping):
        raise ProtocolError(f"{where}: expected a JSON object, got {type(data).__name__}")
    values: dict[str, Any] = {}
    for field, names, required in spec:
        value = None
        for name in names:
            if data.get(name) is not None:
                value = data[name]
                break
        if value is None and required:
            raise ProtocolError(f"{where}: malformed body: no {names[0]!r}")
        values[field] = value
    return values


def _build(values: dict[str, Any], cls: Any, where: str) -> Any:
    try:
        return converter.structure(values, cls)
    except (ProtocolError, ValueError, TypeError, ArithmeticError) as exc:
        raise ProtocolError(f"{where}: malformed body: {exc}") from None


def structure_security(data: Any) -> Security:
    """A :class:`Security` from a Simple, Slim or Heavy Security object."""
    result: Security = _build(_collect(data, _SECURITY, "security"), Security, "security")
    return result


def structure_quote(data: Any) -> Quote:
    """A :class:`Quote` from a Simple, Slim or Heavy Symbol object."""
    result: Quote = _build(_collect(data, _QUOTE, "quote"), Quote, "quote")
    return result


def structure_all_trade(data: Any) -> AllTrade:
    """An :class:`AllTrade` from a Simple, Slim or Heavy AllTrade object (``timestamp``/``t`` is
    Unix milliseconds; the ISO ``time`` is used only when it is absent)."""
    values = _collect(data, _ALL_TRADE, "all trade")  # a Mapping, or it raised
    stamp = data.get("timestamp") if data.get("timestamp") is not None else data.get("t")
    if stamp is not None:
        values["time"] = _unix(stamp, 1000)
    elif isinstance(data.get("time"), str):
        values["time"] = _iso(data["time"])
    if values.get("time") is None:
        raise ProtocolError("all trade: malformed body: no 'timestamp'")
    if values["order_number"] in (0, "0"):
        values["order_number"] = None  # the spec's example: 0 when the order is not disclosed
    result: AllTrade = _build(values, AllTrade, "all trade")
    return result


def structure_candles(data: Any) -> Candles:
    """:class:`Candles` from a Simple/Heavy ``{history, next, prev}`` or Slim ``{h, next, prev}``."""
    if not isinstance(data, Mapping):
        raise ProtocolError(f"history: expected a JSON object, got {type(data).__name__}")
    items = data.get("history") if "history" in data else data.get("h")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ProtocolError("history: malformed body: the candles are not a list")
    candles = tuple(_build(_collect(item, _CANDLE, "candle"), Candle, "candle") for item in items)
    edges = {}
    for key in ("next", "prev"):
        value = data.get(key)
        edges[key] = None if value is None else _unix(value, 1)
    return Candles(candles=candles, next=edges["next"], prev=edges["prev"])


def structure_risk_rate(data: Any) -> RiskRate:
    """A :class:`RiskRate` from a RiskRate object."""
    result: RiskRate = _build(_collect(data, _RISK_RATE, "risk rate"), RiskRate, "risk rate")
    return result
