"""ALOR's account models (issue 13): positions, the portfolio summary, risks, trades, orders and stop
orders, each the same attrs model whatever the wire format (Simple, Slim or Heavy).

Each wire format names the same fields differently (WarpOpenAPIv2.yml: ``response_Position_*``,
``response_Summary_*``, ``response_Risk_*``, ``response_FortsRisk_*``, ``response_Trade_V2_*``,
``response_Order_*``, ``response_StopOrder_Warp_*``): the body is first renamed onto the model's
field names (:data:`_NAMES`), then structured by a cattrs converter whose hooks are strict (money is
a :class:`~decimal.Decimal`, times aware UTC datetimes, ids strings even when sent as numbers). A body
of another shape raises :class:`~integrations.errors.ProtocolError` naming the model."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple, Type, TypeVar

import attrs

from integrations.converters import LazyConverter
from integrations.errors import ProtocolError

from . import wire

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "CurrencyBuyingPower",
    "FortsRisk",
    "Order",
    "Position",
    "Risk",
    "StopOrder",
    "Summary",
    "Trade",
    "structure_account",
    "structure_account_list",
]

T = TypeVar("T")


@attrs.frozen
class Position:
    """A position of a portfolio (``response_Position_*``). Quantities are in units unless named
    ``_lots``; ``volume`` is at the average price, ``current_volume`` at the current price. Money
    itself is a position with ``is_currency`` true (its ``symbol`` the currency, e.g. ``RUB``)."""

    symbol: str
    broker_symbol: Optional[str]
    portfolio: str
    exchange: str
    short_name: Optional[str]
    avg_price: Decimal
    volume: Decimal
    current_volume: Decimal
    qty_units: Decimal
    open_units: Decimal
    lot_size: Decimal
    qty_t0: Optional[Decimal]
    qty_t1: Optional[Decimal]
    qty_t2: Optional[Decimal]
    qty_t_future: Optional[Decimal]
    daily_unrealised_pl: Decimal
    unrealised_pl: Decimal
    is_currency: bool
    existing: bool

    @property
    def qty_lots(self) -> Decimal:
        """The quantity in lots (``qtyUnits / lotSize``; the Slim format sends units only)."""
        return self.qty_units / self.lot_size if self.lot_size else self.qty_units


@attrs.frozen
class CurrencyBuyingPower:
    """Buying power in one currency (``buyingPowerByCurrency`` / Slim ``bpv2``)."""

    currency: str
    buying_power: Decimal


@attrs.frozen
class Summary:
    """A portfolio's summary (``response_Summary_*``): buying power, evaluation, profit, margins."""

    buying_power_at_morning: Decimal
    buying_power: Decimal
    profit: Decimal
    profit_rate: Decimal
    portfolio_evaluation: Decimal
    portfolio_liquidation_value: Decimal
    initial_margin: Decimal
    corrected_margin: Decimal
    risk_before_force_position_closing: Decimal
    commission: Decimal
    buying_power_by_currency: Tuple[CurrencyBuyingPower, ...]


@attrs.frozen
class Risk:
    """A portfolio's risk (``response_Risk_*``)."""

    portfolio: str
    exchange: str
    portfolio_evaluation: Decimal
    portfolio_liquidation_value: Decimal
    initial_margin: Decimal
    minimal_margin: Decimal
    corrected_margin: Decimal
    risk_coverage_ratio_one: Decimal
    risk_coverage_ratio_two: Decimal
    risk_category_id: int
    client_type: str
    has_forbidden_positions: bool
    has_negative_quantity: bool
    risk_status: str
    calculation_time: Optional[dt.datetime]


@attrs.frozen
class FortsRisk:
    """A derivatives (FORTS) portfolio's risk (``response_FortsRisk_*``). ``var_margin`` is absent
    from the Slim format (``None`` there)."""

    portfolio: str
    money_free: Decimal
    money_blocked: Decimal
    fee: Decimal
    money_old: Decimal
    money_amount: Decimal
    money_pledge_amount: Decimal
    vm_inter_cl: Decimal
    vm_current_positions: Decimal
    var_margin: Optional[Decimal]
    indicative_var_margin: Decimal
    net_option_value: Decimal
    pos_risk: Decimal
    is_limits_set: bool


@attrs.frozen
class Trade:
    """One trade of the portfolio (``response_Trade_V2_*``). ``qty`` is in lots, ``qty_units`` in
    units; ``order_number`` is the exchange order that traded."""

    id: str
    order_number: str
    comment: Optional[str]
    symbol: str
    broker_symbol: Optional[str]
    exchange: str
    date: dt.datetime
    board: Optional[str]
    qty_units: int
    qty: int
    price: Decimal
    accrued_int: Decimal
    side: str
    existing: bool
    commission: Decimal
    volume: Decimal


@attrs.frozen
class Order:
    """An order (``response_Order_*``). ``qty`` and ``filled`` are in lots; ``end_time`` is ``None``
    for "never" (.NET's year-9999 MaxValue); ``volume`` is ``None`` for a market order."""

    id: str
    symbol: str
    board: Optional[str]
    broker_symbol: Optional[str]
    portfolio: str
    exchange: str
    comment: Optional[str]
    type: str
    side: str
    status: str
    trans_time: Optional[dt.datetime]
    update_time: Optional[dt.datetime]
    end_time: Optional[dt.datetime]
    qty_units: int
    qty: int
    filled_qty_units: int
    filled: int
    price: Decimal
    existing: bool
    time_in_force: Optional[str]
    volume: Optional[Decimal]


@attrs.frozen
class StopOrder:
    """A stop or stop-limit order (``response_StopOrder_Warp_*``). ``exchange_order_id`` is ``None``
    until it triggers; ``stop_price`` is the trigger price, ``condition`` ``More``/``Less``/
    ``MoreOrEqual``/``LessOrEqual``."""

    id: str
    exchange_order_id: Optional[str]
    symbol: str
    broker_symbol: Optional[str]
    portfolio: str
    exchange: str
    comment: Optional[str]
    board: Optional[str]
    type: str
    side: str
    condition: str
    status: str
    trans_time: Optional[dt.datetime]
    update_time: Optional[dt.datetime]
    end_time: Optional[dt.datetime]
    error: Optional[str]
    qty_units: int
    qty: int
    filled_qty_units: int
    filled: int
    price: Decimal
    avg_price: Decimal
    stop_price: Decimal
    existing: bool
    time_in_force: Optional[str]
    volume: Optional[Decimal]
    protecting_seconds: Optional[int]


# Per model, per field: its (Simple, Slim, Heavy) wire names (WarpOpenAPIv2.yml schemas). None where
# a format has no such field (the field is then optional and None, or derived, see _derive).
_Names = Tuple[Optional[str], Optional[str], Optional[str]]


_NAMES: Dict[type, Dict[str, _Names]] = {
    Position: {
        "symbol": ("symbol", "sym", "symbol"),
        "broker_symbol": ("brokerSymbol", "tic", "brokerSymbol"),
        "portfolio": ("portfolio", "p", "portfolio"),
        "exchange": ("exchange", "ex", "exchange"),
        "short_name": ("shortName", "n", "shortName"),
        "avg_price": ("avgPrice", "pxavg", "avgPrice"),
        "volume": ("volume", "v", "volume"),
        "current_volume": ("currentVolume", "cv", "currentVolume"),
        "qty_units": ("qtyUnits", "q", "qtyUnits"),
        "open_units": ("openUnits", "o", "openUnits"),
        "lot_size": ("lotSize", "lot", "lotSize"),
        "qty_t0": ("qtyT0", "q0", "qtyT0"),
        "qty_t1": ("qtyT1", "q1", "qtyT1"),
        "qty_t2": ("qtyT2", "q2", "qtyT2"),
        "qty_t_future": ("qtyTFuture", "qf", "qtyTFuture"),
        "daily_unrealised_pl": ("dailyUnrealisedPl", "upd", "dailyUnrealisedPl"),
        "unrealised_pl": ("unrealisedPl", "up", "unrealisedPl"),
        "is_currency": ("isCurrency", "cur", "isCurrency"),
        "existing": ("existing", "h", "existing"),
    },
    CurrencyBuyingPower: {
        "currency": ("currency", "cr", "currency"),
        "buying_power": ("buyingPower", "bp", "buyingPower"),
    },
    Summary: {
        "buying_power_at_morning": ("buyingPowerAtMorning", "bpm", "buyingPowerAtMorning"),
        "buying_power": ("buyingPower", "bp", "buyingPower"),
        "profit": ("profit", "p", "profit"),
        "profit_rate": ("profitRate", "pr", "profitRate"),
        "portfolio_evaluation": ("portfolioEvaluation", "pe", "portfolioEvaluation"),
        "portfolio_liquidation_value": ("portfolioLiquidationValue", "plv", "portfolioLiquidationValue"),
        "initial_margin": ("initialMargin", "im", "initialMargin"),
        "corrected_margin": ("correctedMargin", "mgc", "correctedMargin"),
        "risk_before_force_position_closing": (
            "riskBeforeForcePositionClosing",
            "r",
            "riskBeforeForcePositionClosing",
        ),
        "commission": ("commission", "cms", "commission"),
        "buying_power_by_currency": ("buyingPowerByCurrency", "bpv2", "buyingPowerByCurrency"),
    },
    Risk: {
        "portfolio": ("portfolio", "p", "portfolio"),
        "exchange": ("exchange", "ex", "exchange"),
        "portfolio_evaluation": ("portfolioEvaluation", "pe", "portfolioEvaluation"),
        "portfolio_liquidation_value": ("portfolioLiquidationValue", "plv", "portfolioLiquidationValue"),
        "initial_margin": ("initialMargin", "mgi", "initialMargin"),
        "minimal_margin": ("minimalMargin", "mgmn", "minimalMargin"),
        "corrected_margin": ("correctedMargin", "mgc", "correctedMargin"),
        "risk_coverage_ratio_one": ("riskCoverageRatioOne", "r1", "riskCoverageRatioOne"),
        "risk_coverage_ratio_two": ("riskCoverageRatioTwo", "r2", "riskCoverageRatioTwo"),
        "risk_category_id": ("riskCategoryId", "rid", "riskCategoryId"),
        "client_type": ("clientType", "ct", "clientType"),
        "has_forbidden_positions": ("hasForbiddenPositions", "fpos", "hasForbiddenPositions"),
        "has_negative_quantity": ("hasNegativeQuantity", "nq", "hasNegativeQuantity"),
        "risk_status": ("riskStatus", "rst", "riskStatus"),
        "calculation_time": ("calculationTime", "t", "calculationTime"),
    },
    FortsRisk: {
        "portfolio": ("portfolio", "p", "portfolio"),
        "money_free": ("moneyFree", "f", "moneyFree"),
        "money_blocked": ("moneyBlocked", "b", "moneyBlocked"),
        "fee": ("fee", "fee", "fee"),
        "money_old": ("moneyOld", "o", "moneyOld"),
        "money_amount": ("moneyAmount", "a", "moneyAmount"),
        "money_pledge_amount": ("moneyPledgeAmount", "pa", "moneyPledgeAmount"),
        "vm_inter_cl": ("vmInterCl", "mgc", "vmInterCl"),
        "vm_current_positions": ("vmCurrentPositions", "mgp", "vmCurrentPositions"),
        "var_margin": ("varMargin", None, "varMargin"),
        "indicative_var_margin": ("indicativeVarMargin", "ivm", "indicativeVarMargin"),
        "net_option_value": ("netOptionValue", "nov", "netOptionValue"),
        "pos_risk": ("posRisk", "pr", "posRisk"),
        "is_limits_set": ("isLimitsSet", "lim", "isLimitsSet"),
    },
    Trade: {
        "id": ("id", "id", "id"),
        "order_number": ("orderno", "eid", "orderNo"),
        "comment": ("comment", "cmt", "comment"),
        "symbol": ("symbol", "sym", "symbol"),
        "broker_symbol": ("brokerSymbol", "tic", "brokerSymbol"),
        "exchange": ("exchange", "ex", "exchange"),
        "date": ("date", "d", "date"),
        "board": ("board", "b", "board"),
        "qty_units": ("qtyUnits", "q", "qtyUnits"),
        "qty": ("qtyBatch", "qb", "qtyBatch"),
        "price": ("price", "px", "price"),
        "accrued_int": ("accruedInt", "ai", "accruedInt"),
        "side": ("side", "s", "side"),
        "existing": ("existing", "h", "existing"),
        "commission": ("commission", "cms", "commission"),
        "volume": ("volume", "v", "volume"),
    },
    Order: {
        "id": ("id", "id", "id"),
        "symbol": ("symbol", "sym", "symbol"),
        "board": ("board", "bd", "board"),
        "broker_symbol": ("brokerSymbol", "tic", "brokerSymbol"),
        "portfolio": ("portfolio", "p", "portfolio"),
        "exchange": ("exchange", "ex", "exchange"),
        "comment": ("comment", "cmt", "comment"),
        "type": ("type", "t", "type"),
        "side": ("side", "s", "side"),
        "status": ("status", "st", "status"),
        "trans_time": ("transTime", "tt", "transTime"),
        "update_time": ("updateTime", "ut", "updateTime"),
        "end_time": ("endTime", "et", "endTime"),
        "qty_units": ("qtyUnits", "q", "qtyUnits"),
        "qty": ("qtyBatch", "qb", "qtyBatch"),
        "filled_qty_units": ("filledQtyUnits", "fq", "filledQtyUnits"),
        "filled": ("filledQtyBatch", "fqb", "filledQtyBatch"),
        "price": ("price", "px", "price"),
        "existing": ("existing", "h", "existing"),
        "time_in_force": ("timeInForce", "tf", "timeInForce"),
        "volume": ("volume", "v", "volume"),
    },
}
_NAMES[StopOrder] = {
    **{k: v for k, v in _NAMES[Order].items()},
    "exchange_order_id": ("exchangeOrderId", "eid", "exchangeOrderId"),
    "condition": ("condition", "cnd", "condition"),
    "error": ("error", "err", "error"),
    "avg_price": ("avg_price", "pxavg", "avgPrice"),
    "stop_price": ("stopPrice", "pxs", "stopPrice"),
    "protecting_seconds": ("protectingSeconds", "psec", "protectingSeconds"),
}
_FORMAT_INDEX = {"simple": 0, "slim": 1, "heavy": 2}
_NESTED: Dict[type, Dict[str, type]] = {Summary: {"buying_power_by_currency": CurrencyBuyingPower}}


def _rename(data: Any, cls: type, fmt: str) -> Dict[str, Any]:
    where = f"{cls.__name__} ({fmt.capitalize()})"
    if not isinstance(data, Mapping):
        raise ProtocolError(f"{where}: expected a JSON object, got {type(data).__name__}")
    index = _FORMAT_INDEX[fmt]
    optional = _OPTIONAL[cls]
    out: Dict[str, Any] = {}
    for field, names in _NAMES[cls].items():
        name = names[index]
        if name is not None and name in data:
            value = data[name]
        elif field in optional:
            value = None
        else:
            raise ProtocolError(f"{where}: malformed body: no {name or field!r}")
        nested = _NESTED.get(cls, {}).get(field)
        if nested is not None:
            if value is None:
                value = []
            if not isinstance(value, list):
                raise ProtocolError(f"{where}: malformed body: {name!r} is not a list")
            value = [_rename(item, nested, fmt) for item in value]
        out[field] = value
    return out


# Fields a body may lack (absent -> None): those the model declares Optional. Read from the string
# annotations at import, before cattrs resolves them.
_OPTIONAL: Dict[type, frozenset[str]] = {
    cls: frozenset(f.name for f in attrs.fields(cls) if str(f.type).startswith("Optional[")) for cls in _NAMES
}


def structure_account(data: Any, cls: Type[T], wire_format: str) -> T:
    """Build one ``cls`` (a model of this module) from a decoded Simple, Slim or Heavy body; raises
    :class:`~integrations.errors.ProtocolError` naming the model and the first violation."""
    fmt = wire_format.lower()
    renamed = _rename(data, cls, fmt)
    try:
        return converter.structure(renamed, cls)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ProtocolError(f"{cls.__name__} ({wire_format}): malformed body: {exc}") from None


def structure_account_list(data: Any, cls: Type[T], wire_format: str) -> Tuple[T, ...]:
    """Build a tuple of ``cls`` from a decoded JSON array (``null``: empty)."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ProtocolError(
            f"{cls.__name__} list ({wire_format}): expected a JSON array, got {type(data).__name__}"
        )
    return tuple(structure_account(item, cls, wire_format) for item in data)


# -- strict structuring hooks -----------------------------------------------------------------------

# ISO-8601 as ALOR writes it: up to 7 fractional digits (.NET ticks), with or without Z or an offset.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse_time(value: Any) -> Optional[dt.datetime]:
    """An ALOR time as an aware UTC datetime: ISO text (7 fractional digits, ``Z``, an offset or
    none: UTC), or Unix seconds. .NET's ``DateTime.MaxValue`` (year 9999) means "never": ``None``."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO time, got {type(value).__name__}")
    match = _ISO.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"expected an ISO time, got {value[:40]!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if year == 9999:
        return None
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = match.group(8)
    tz = dt.timezone.utc
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    stamp = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    return stamp.astimezone(dt.timezone.utc)


def _time(value: Any, _: Any) -> dt.datetime:
    stamp = parse_time(value)
    if stamp is None:
        raise ValueError("a required time is .NET MaxValue (never)")
    return stamp


def _optional_time(value: Any, _: Any) -> Optional[dt.datetime]:
    return None if value is None else parse_time(value)


def _configure(conv: cattrs.Converter) -> None:
    conv.register_structure_hook(Decimal, wire.decimal)
    conv.register_structure_hook(str, wire.text)
    conv.register_structure_hook(int, wire.whole)
    conv.register_structure_hook(bool, wire.boolean)
    conv.register_structure_hook(dt.datetime, _time)
    conv.register_structure_hook_func(lambda t: t == Optional[dt.datetime], _optional_time)


converter = LazyConverter(_configure)
