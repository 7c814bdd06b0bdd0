"""The ALOR emulator's account ledger (issue 13): trades from fills, positions with their average
price, money and buying power, per portfolio; and the account routes (positions, summary, risk,
trades and their history).

Called by :class:`~integrations_alor.sandbox.AlorEmulator` under its lock.

Everything follows from the fills (:meth:`Ledger.fill`), the clock and the simulated price
(``emulator.market.last_price``); the answers' field names and order per format are the spec's
(WarpOpenAPIv2.yml: ``response_Position_*``, ``response_Summary_*``, ``response_Risk_*``,
``response_FortsRisk_*``, ``response_Trade_V2_*``). Choices where the spec is silent:

* **Money.** Each portfolio starts with :data:`STARTING_CASH` roubles (by kind: stock, currency,
  FORTS). A fill's volume is ``price * units`` (bonds: price is percent of the 1000-rouble face
  value); a buy pays its volume plus the commission, a sell receives its volume minus the commission.
  No margin, no settlement lag: ``qtyT0 = qtyT1 = qtyT2 = qtyTFuture``. The same rule for futures
  (no variation margin), so positions, money and the summary always add up.
* **Commission:** :data:`FEE_RATE` (0.05 %) of each trade's volume, exact in Decimal.
* **Average price:** adding to a position (or opening one) averages the prices weighted by units;
  reducing leaves it; crossing zero restarts it at the crossing fill's price.
* **Sessions.** A trading session is a Moscow calendar day (it starts at 00:00 UTC+3). Trades of the
  current session are ``.../trades``; those of earlier sessions ``/md/v2/Stats/.../history/trades``.
  ``buyingPowerAtMorning``, ``openUnits`` and ``dailyUnrealisedPl`` are at the session start.
* **Margins** (summary and risk): ``initialMargin = correctedMargin`` is :data:`MARGIN_RATE` (15 %) of
  the positions' absolute current volume, ``minimalMargin`` half of it (the spec's examples:
  ``riskCoverageRatioOne = portfolioEvaluation - initialMargin``, ``riskCoverageRatioTwo =
  portfolioEvaluation - minimalMargin``).
* Money belongs to the portfolio, not to an exchange: a summary or risk on ``SPBX`` counts the same
  money as on ``MOEX``, with that exchange's positions.
* Money is a position too (``isCurrency``: symbol ``RUB``), listed on ``MOEX`` and dropped with
  ``withoutCurrency=true``; currency-market instruments (CETS) count as currency as well. A position
  closed during the session stays listed (quantity 0) until the session ends.
* History paging: ``from`` is exclusive (trades after it in the direction of travel: larger ids,
  smaller with ``descending=true``); ``limit`` defaults to 1000, the spec's maximum.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from integrations.sandbox.jsonapp import JsonRequest, Reply

from .sandbox_common import _EXCHANGES, _JSON, ERRORS, ErrorAnswer, _error, _format, _Principal, _query
from .sandbox_data import Account, Instrument, iso_time, json_number

if TYPE_CHECKING:
    from integrations.sandbox import JsonApp

__all__ = ["ACCOUNT_ERRORS", "FEE_RATE", "MARGIN_RATE", "STARTING_CASH", "Ledger", "install"]

STARTING_CASH = {"stock": Decimal("1000000"), "currency": Decimal("500000"), "forts": Decimal("300000")}
FEE_RATE = Decimal("0.0005")
MARGIN_RATE = Decimal("0.15")
CURRENCY = "RUB"
FIRST_TRADE_ID = 9055212111  # the spec's example Trade id; each fill takes the next one
MAX_HISTORY_LIMIT = 1000  # the spec: limit 1..1000
_SESSION_OFFSET = 3 * 3600  # sessions are Moscow (UTC+3) calendar days
_CENT = Decimal("0.01")

ACCOUNT_ERRORS: Dict[str, ErrorAnswer] = {
    "account_exchange_unknown": ErrorAnswer(
        "An account read (positions, summary, risk, trades, history) with an exchange other than "
        "MOEX or SPBX",
        400,
        {"message": "Unknown exchange {exchange}"},
        "assumption",
        "The spec's exchanges are MOEX and SPBX; the refusal is undocumented (the order book's text).",
    ),
    "position_not_found": ErrorAnswer(
        "GET /md/v2/Clients/{exchange}/{portfolio}/positions/{symbol} when the portfolio holds no such "
        "position on that exchange",
        404,
        None,
        "assumption",
        "The status is the spec's for this endpoint; the body is undocumented: sent empty.",
    ),
    "login_forbidden": ErrorAnswer(
        "GET /md/v2/Clients/{login}/positions for a login other than the JWT's",
        403,
        None,
        "assumption",
        "The status is the spec's ('insufficient rights'); the body is undocumented: sent empty.",
    ),
    "forts_portfolio_not_found": ErrorAnswer(
        "GET /md/v2/Clients/{exchange}/{portfolio}/fortsrisk for a portfolio that does not trade "
        "FORTS (not a 7500 portfolio) or an exchange other than MOEX",
        404,
        None,
        "assumption",
        "The spec documents only 200, 401 and 403 here (exchange: MOEX only); a bodiless 404, the "
        "spec's 'resource not found' elsewhere, is assumed.",
    ),
    "history_limit_out_of_range": ErrorAnswer(
        "GET /md/v2/Stats/.../history/trades with limit that is not an integer from 1 to 1000",
        400,
        {"message": f"limit must be an integer from 1 to {MAX_HISTORY_LIMIT}"},
        "assumption",
        "The spec's range is 1..1000; the refusal is undocumented: a 400 with only a message.",
    ),
    "history_from_invalid": ErrorAnswer(
        "GET /md/v2/Stats/.../history/trades with from that is not a trade id (an integer)",
        400,
        {"message": "from must be a trade id (an integer)"},
        "assumption",
        "The spec types from as int64; the refusal is undocumented.",
    ),
    "history_date_invalid": ErrorAnswer(
        "GET /md/v2/Stats/.../history/trades with dateFrom that is not a date (yyyy-MM-dd) or an ISO "
        "date and time",
        400,
        {"message": "dateFrom must be a date (yyyy-MM-dd) or an ISO date and time"},
        "assumption",
        "The spec types dateFrom as a date that may carry a time; the refusal is undocumented.",
    ),
    "trade_side_invalid": ErrorAnswer(
        "GET /md/v2/Stats/.../history/trades with side other than buy or sell (any case)",
        400,
        {"message": "side must be buy or sell"},
        "assumption",
        "The spec's two values; the refusal is undocumented.",
    ),
    "flag_invalid": ErrorAnswer(
        "An account read whose flag (withoutCurrency, withRepo, descending, orderByTradeDate) is not "
        "true or false (any case)",
        400,
        {"message": "{name} must be true or false"},
        "assumption",
        "The spec types them as booleans; the refusal is undocumented.",
    ),
}
ERRORS.update(ACCOUNT_ERRORS)


def _factor(inst: Instrument) -> Decimal:
    """Money per unit of price: a bond's price is percent of its face value."""
    return Decimal(inst.face) / 100 if inst.face else Decimal(1)


def session_start(now: float) -> float:
    """The start (Unix seconds) of the session ``now`` belongs to: 00:00 Moscow time (UTC+3)."""
    return (int(now) + _SESSION_OFFSET) // 86400 * 86400 - _SESSION_OFFSET


class Fill(NamedTuple):
    """One execution: a trade of the portfolio."""

    id: int
    portfolio: str
    inst: Instrument
    side: str
    lots: int
    price: Decimal
    order: str
    at: float

    @property
    def units(self) -> int:
        return self.lots * self.inst.lot

    @property
    def volume(self) -> Decimal:
        return self.price * self.units * _factor(self.inst)

    @property
    def commission(self) -> Decimal:
        return self.volume * FEE_RATE

    @property
    def cash_flow(self) -> Decimal:
        """What the fill does to the portfolio's money (negative for a buy)."""
        sign = -1 if self.side == "buy" else 1
        return sign * self.volume - self.commission


class Holding:
    """One instrument's position in one portfolio, built fill by fill."""

    __slots__ = ("avg", "inst", "units")

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.units = 0
        self.avg = Decimal(0)

    def add(self, fill: Fill) -> None:
        delta = fill.units if fill.side == "buy" else -fill.units
        if self.units == 0 or (self.units > 0) == (delta > 0):
            total = abs(self.units) + abs(delta)
            self.avg = (self.avg * abs(self.units) + fill.price * abs(delta)) / total
        elif abs(delta) > abs(self.units):
            self.avg = fill.price  # crossed zero: what is left was opened at this fill's price
        self.units += delta
        if self.units == 0:
            self.avg = Decimal(0)


class Ledger:
    """What every portfolio holds and did. ``fill`` books one execution."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self._accounts = tuple(accounts)
        self._kind = {p.name: p.kind for a in self._accounts for p in a.portfolios}
        self.fills: List[Fill] = []

    def fill(
        self,
        *,
        portfolio: str,
        inst: Instrument,
        side: str,
        lots: int,
        price: Decimal,
        order_number: str,
        at: float,
    ) -> None:
        """Book an execution of ``lots`` lots of ``inst`` at ``price`` for ``portfolio``."""
        self.fills.append(
            Fill(FIRST_TRADE_ID + len(self.fills), portfolio, inst, side, lots, price, order_number, at)
        )

    # -- reads (the caller holds the emulator's lock) ---------------------------------------------

    def portfolios_of(self, login: str) -> Tuple[str, ...]:
        for account in self._accounts:
            if account.login == login:
                return account.names
        return ()

    def kind(self, portfolio: str) -> str:
        return self._kind.get(portfolio, "stock")

    def fills_of(self, portfolio: str, before: Optional[float] = None) -> List[Fill]:
        return [f for f in self.fills if f.portfolio == portfolio and (before is None or f.at < before)]

    def cash(self, portfolio: str, before: Optional[float] = None) -> Decimal:
        cash = STARTING_CASH[self.kind(portfolio)]
        for fill in self.fills_of(portfolio, before):
            cash += fill.cash_flow
        return cash

    def holdings(self, portfolio: str, before: Optional[float] = None) -> Dict[Tuple[str, str], Holding]:
        held: Dict[Tuple[str, str], Holding] = {}
        for fill in self.fills_of(portfolio, before):
            key = (fill.inst.exchange, fill.inst.symbol)
            held.setdefault(key, Holding(fill.inst)).add(fill)
        return held


# -- rendering ----------------------------------------------------------------------------------------


def _dumps(obj: Any) -> str:
    """JSON text with every Decimal written exactly as a number with a fraction (never a float)."""
    if isinstance(obj, Decimal):
        return json_number(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(_dumps(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


def _reply(obj: Any) -> Reply:
    return Reply(200, _dumps(obj).encode("utf-8"), _JSON)


Layout = Tuple[Tuple[Optional[str], ...], ...]


def _render(values: Dict[str, Any], layout: Layout, fmt: str) -> Dict[str, Any]:
    """``values`` (keyed by the Simple names, or the first of four names) as format ``fmt``."""
    index = {"simple": 0, "slim": 1, "heavy": 2}[fmt]
    out: Dict[str, Any] = {}
    for entry in layout:
        key, names = (entry[0], entry[1:]) if len(entry) == 4 else (entry[0], entry)
        name = names[index]
        if name is not None and key is not None:
            out[name] = values[key]
    return out


# (Simple, Slim, Heavy) names in the spec's schema order; None where a format lacks the field. A
# field the Simple format lacks is (key, None, Slim, Heavy).
_POSITION: Layout = (
    ("volume", "v", "volume"),
    ("currentVolume", "cv", "currentVolume"),
    ("symbol", "sym", "symbol"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("avgPrice", "pxavg", "avgPrice"),
    ("qtyUnits", "q", "qtyUnits"),
    ("openUnits", "o", "openUnits"),
    ("lotSize", "lot", "lotSize"),
    ("shortName", "n", "shortName"),
    ("qtyT0", "q0", "qtyT0"),
    ("qtyT1", "q1", "qtyT1"),
    ("qtyT2", "q2", "qtyT2"),
    ("qtyTFuture", "qf", "qtyTFuture"),
    ("qtyT0Batch", None, "qtyT0Batch"),
    ("qtyT1Batch", None, "qtyT1Batch"),
    ("qtyT2Batch", None, "qtyT2Batch"),
    ("qtyTFutureBatch", None, "qtyTFutureBatch"),
    ("qtyBatch", None, None),
    ("openQtyBatch", None, "openQtyBatch"),
    ("qty", None, None),
    ("open", None, None),
    ("dailyUnrealisedPl", "upd", "dailyUnrealisedPl"),
    ("unrealisedPl", "up", "unrealisedPl"),
    ("isCurrency", "cur", "isCurrency"),
    ("existing", "h", "existing"),
)
_SUMMARY: Layout = (
    ("buyingPowerAtMorning", "bpm", "buyingPowerAtMorning"),
    ("buyingPower", "bp", "buyingPower"),
    ("profit", "p", "profit"),
    ("profitRate", "pr", "profitRate"),
    ("portfolioEvaluation", "pe", "portfolioEvaluation"),
    ("portfolioLiquidationValue", "plv", "portfolioLiquidationValue"),
    ("initialMargin", "im", "initialMargin"),
    ("correctedMargin", "mgc", "correctedMargin"),
    ("riskBeforeForcePositionClosing", "r", "riskBeforeForcePositionClosing"),
    ("commission", "cms", "commission"),
    ("buyingPowerByCurrency", "bpv2", "buyingPowerByCurrency"),
)
_CURRENCY_POWER: Layout = (("currency", "cr", "currency"), ("buyingPower", "bp", "buyingPower"))
_RISK: Layout = (
    ("portfolio", "p", "portfolio"),
    ("exchange", "ex", "exchange"),
    ("portfolioEvaluation", "pe", "portfolioEvaluation"),
    ("portfolioLiquidationValue", "plv", "portfolioLiquidationValue"),
    ("initialMargin", "mgi", "initialMargin"),
    ("minimalMargin", "mgmn", "minimalMargin"),
    ("correctedMargin", "mgc", "correctedMargin"),
    ("riskCoverageRatioOne", "r1", "riskCoverageRatioOne"),
    ("riskCoverageRatioTwo", "r2", "riskCoverageRatioTwo"),
    ("riskCategoryId", "rid", "riskCategoryId"),
    ("clientType", "ct", "clientType"),
    ("hasForbiddenPositions", "fpos", "hasForbiddenPositions"),
    ("hasNegativeQuantity", "nq", "hasNegativeQuantity"),
    ("riskStatus", "rst", "riskStatus"),
    ("calculationTime", "t", "calculationTime"),
)
_FORTS_RISK: Layout = (
    ("balanceMoney", None, None),
    ("portfolio", "p", "portfolio"),
    ("moneyFree", "f", "moneyFree"),
    ("moneyBlocked", "b", "moneyBlocked"),
    ("fee", "fee", "fee"),
    ("moneyOld", "o", "moneyOld"),
    ("moneyAmount", "a", "moneyAmount"),
    ("moneyPledgeAmount", "pa", "moneyPledgeAmount"),
    ("vmInterCl", "mgc", "vmInterCl"),
    ("vmCurrentPositions", "mgp", "vmCurrentPositions"),
    ("varMargin", None, "varMargin"),
    ("indicativeVarMargin", "ivm", "indicativeVarMargin"),
    ("netOptionValue", "nov", "netOptionValue"),
    ("posRisk", "pr", "posRisk"),
    ("isLimitsSet", "lim", "isLimitsSet"),
)
_TRADE: Layout = (
    ("id", "id", "id"),
    ("orderno", "eid", "orderNo"),
    ("comment", "cmt", "comment"),
    ("symbol", "sym", "symbol"),
    ("shortName", None, None, "shortName"),
    ("brokerSymbol", "tic", "brokerSymbol"),
    ("exchange", "ex", "exchange"),
    ("date", "d", "date"),
    ("board", "b", "board"),
    ("qtyUnits", "q", "qtyUnits"),
    ("qtyBatch", "qb", "qtyBatch"),
    ("qty", None, "qty"),
    ("price", "px", "price"),
    ("currency", None, None, "currency"),
    ("accruedInt", "ai", "accruedInt"),
    ("side", "s", "side"),
    ("existing", "h", "existing"),
    ("commission", "cms", "commission"),
    ("repoSpecificFields", "r", "repoSpecificFields"),
    ("volume", "v", "volume"),
    ("settleDate", None, None, "settleDate"),
)


class _View:
    """One read of one portfolio at ``now``: positions, money and margins, consistent together."""

    def __init__(self, emulator: Any, portfolio: str, now: float) -> None:
        ledger: Ledger = emulator.ledger
        self.portfolio = portfolio
        self.now = now
        self.start = session_start(now)
        self.market = emulator.market
        self.cash = ledger.cash(portfolio)
        self.morning_cash = ledger.cash(portfolio, before=self.start)
        self.held = ledger.holdings(portfolio)
        self.morning = ledger.holdings(portfolio, before=self.start)
        self.today = [f for f in ledger.fills_of(portfolio) if f.at >= self.start]
        traded = {(f.inst.exchange, f.inst.symbol) for f in self.today}
        # Open positions, and those closed during this session (quantity 0).
        self.keys = [k for k, h in self.held.items() if h.units != 0 or k in traded]

    def current_volume(self, holding: Holding, at: Optional[float] = None) -> Decimal:
        price = self.market.last_price(holding.inst, at)
        return Decimal(price) * holding.units * _factor(holding.inst)

    def position(self, key: Tuple[str, str]) -> Dict[str, Any]:
        holding = self.held[key]
        inst = holding.inst
        morning = self.morning.get(key)
        open_units = morning.units if morning is not None else 0
        volume = holding.avg * holding.units * _factor(inst)
        current = self.current_volume(holding)
        morning_value = self.current_volume(morning, self.start) if morning is not None else Decimal(0)
        spent_today = sum(
            (f.volume if f.side == "buy" else -f.volume for f in self.today if f.inst == inst), Decimal(0)
        )
        lots = holding.units // inst.lot if holding.units >= 0 else -(-holding.units // inst.lot)
        open_lots = open_units // inst.lot if open_units >= 0 else -(-open_units // inst.lot)
        return {
            "volume": volume,
            "currentVolume": current,
            "symbol": inst.symbol,
            "brokerSymbol": f"{inst.exchange}:{inst.symbol}",
            "portfolio": self.portfolio,
            "exchange": inst.exchange,
            "avgPrice": holding.avg,
            "qtyUnits": holding.units,
            "openUnits": open_units,
            "lotSize": inst.lot,
            "shortName": inst.symbol,
            "qtyT0": holding.units,
            "qtyT1": holding.units,
            "qtyT2": holding.units,
            "qtyTFuture": holding.units,
            "qtyT0Batch": lots,
            "qtyT1Batch": lots,
            "qtyT2Batch": lots,
            "qtyTFutureBatch": lots,
            "qtyBatch": lots,
            "openQtyBatch": open_lots,
            "qty": lots,
            "open": open_lots,
            "dailyUnrealisedPl": current - morning_value - spent_today,
            "unrealisedPl": current - volume,
            "isCurrency": inst.market == "CURR",
            "existing": True,
        }

    def money_position(self) -> Dict[str, Any]:
        return {
            "volume": self.cash,
            "currentVolume": self.cash,
            "symbol": CURRENCY,
            "brokerSymbol": f"MOEX:{CURRENCY}",
            "portfolio": self.portfolio,
            "exchange": "MOEX",
            "avgPrice": Decimal(1),
            "qtyUnits": self.cash,
            "openUnits": self.morning_cash,
            "lotSize": 1,
            "shortName": "Российский рубль",
            "qtyT0": self.cash,
            "qtyT1": self.cash,
            "qtyT2": self.cash,
            "qtyTFuture": self.cash,
            "qtyT0Batch": self.cash,
            "qtyT1Batch": self.cash,
            "qtyT2Batch": self.cash,
            "qtyTFutureBatch": self.cash,
            "qtyBatch": self.cash,
            "openQtyBatch": self.morning_cash,
            "qty": self.cash,
            "open": self.morning_cash,
            "dailyUnrealisedPl": Decimal(0),
            "unrealisedPl": Decimal(0),
            "isCurrency": True,
            "existing": True,
        }

    def positions(self, exchange: Optional[str], without_currency: bool) -> List[Dict[str, Any]]:
        out = []
        if not without_currency and exchange in (None, "MOEX"):
            out.append(self.money_position())
        for key in self.keys:
            position = self.position(key)
            if exchange is not None and key[0] != exchange:
                continue
            if without_currency and position["isCurrency"]:
                continue
            out.append(position)
        return out

    def evaluation(self, exchange: str) -> Tuple[Decimal, Decimal, Decimal]:
        """(portfolio evaluation, its value at the session start, initial margin) on ``exchange``."""
        value, morning, exposure = self.cash, self.morning_cash, Decimal(0)
        for key in self.keys:
            if key[0] == exchange:
                current = self.current_volume(self.held[key])
                value += current
                exposure += abs(current)
        for key, holding in self.morning.items():
            if key[0] == exchange:
                morning += self.current_volume(holding, self.start)
        return value, morning, exposure * MARGIN_RATE

    def commission(self) -> Decimal:
        return sum((f.commission for f in self.today), Decimal(0))

    def summary(self, exchange: str) -> Dict[str, Any]:
        value, morning, margin = self.evaluation(exchange)
        profit = value - morning
        rate = (profit / morning * 100).quantize(_CENT, ROUND_HALF_UP) if morning else Decimal(0)
        return {
            "buyingPowerAtMorning": self.morning_cash,
            "buyingPower": self.cash,
            "profit": profit,
            "profitRate": rate,
            "portfolioEvaluation": value,
            "portfolioLiquidationValue": value,
            "initialMargin": margin,
            "correctedMargin": margin,
            "riskBeforeForcePositionClosing": value - margin / 2,
            "commission": self.commission(),
            "buyingPowerByCurrency": [{"currency": CURRENCY, "buyingPower": self.cash}],
        }

    def risk(self, exchange: str) -> Dict[str, Any]:
        value, _, margin = self.evaluation(exchange)
        one, two = value - margin, value - margin / 2
        status = "Ok" if one >= 0 else ("Demand" if two >= 0 else "ToClose")
        return {
            "portfolio": self.portfolio,
            "exchange": exchange,
            "portfolioEvaluation": value,
            "portfolioLiquidationValue": value,
            "initialMargin": margin,
            "minimalMargin": margin / 2,
            "correctedMargin": margin,
            "riskCoverageRatioOne": one,
            "riskCoverageRatioTwo": two,
            "riskCategoryId": 1,
            "clientType": "StandardRisk",
            "hasForbiddenPositions": False,
            "hasNegativeQuantity": any(self.held[k].units < 0 for k in self.keys),
            "riskStatus": status,
            "calculationTime": iso_time(self.now),
        }

    def forts_risk(self) -> Dict[str, Any]:
        _, _, margin = self.evaluation("MOEX")
        pl = sum((self.position(k)["unrealisedPl"] for k in self.keys), Decimal(0))
        return {
            "balanceMoney": self.cash,
            "portfolio": self.portfolio,
            "moneyFree": self.cash - margin,
            "moneyBlocked": margin,
            "fee": self.commission(),
            "moneyOld": self.morning_cash,
            "moneyAmount": self.cash,
            "moneyPledgeAmount": Decimal(0),
            "vmInterCl": Decimal(0),
            "vmCurrentPositions": pl,
            "varMargin": pl,
            "indicativeVarMargin": pl,
            "netOptionValue": Decimal(0),
            "posRisk": margin,
            "isLimitsSet": False,
        }


def _trade(emulator: Any, fill: Fill) -> Dict[str, Any]:
    inst = fill.inst
    order = emulator._orders.get(fill.order)
    day = int(fill.at) // 86400 * 86400
    return {
        "id": str(fill.id),
        "orderno": fill.order,
        "comment": getattr(order, "comment", None),
        "symbol": inst.symbol,
        "shortName": inst.symbol,
        "brokerSymbol": f"{inst.exchange}:{inst.symbol}",
        "exchange": inst.exchange,
        "date": iso_time(fill.at),
        "board": inst.board,
        "qtyUnits": fill.units,
        "qtyBatch": fill.lots,
        "qty": fill.lots,
        "price": fill.price,
        "currency": CURRENCY,
        "accruedInt": Decimal(0),
        "side": fill.side,
        "existing": True,
        "commission": fill.commission,
        "repoSpecificFields": None,
        "volume": fill.volume,
        "settleDate": iso_time(day + 86400 + 86399.999),  # T+1, the end of the day (the spec's form)
    }


# -- routes -------------------------------------------------------------------------------------------

Handler = Callable[[JsonRequest], Reply]


def _flag(query: Dict[str, str], name: str) -> Tuple[Optional[bool], Optional[Reply]]:
    raw = query.get(name.lower())
    if raw is None or raw == "":
        return None, None
    value = {"true": True, "false": False}.get(raw.lower())
    if value is None:
        return None, _error("flag_invalid", name=name)
    return value, None


def install(api: JsonApp, emulator: Any) -> None:
    """Add the account routes to the ``api`` service of ``emulator``."""

    def portfolio_read(handler: Callable[[JsonRequest, str, str, str, Dict[str, str]], Reply]) -> Handler:
        """Checks shared by the per-portfolio reads: exchange, portfolio in the JWT, format."""

        def wrapped(request: JsonRequest) -> Reply:
            principal: _Principal = request.principal
            exchange, portfolio = request.params["exchange"].upper(), request.params["portfolio"]
            if portfolio not in principal.portfolios:
                return _error("portfolio_forbidden")
            if exchange not in _EXCHANGES:
                return _error("account_exchange_unknown", exchange=request.params["exchange"])
            query = _query(request)
            fmt = _format(query)
            if fmt is None:
                return _error("format_unknown")
            return handler(request, exchange, portfolio, fmt, query)

        return wrapped

    def positions(
        request: JsonRequest, exchange: str, portfolio: str, fmt: str, query: Dict[str, str]
    ) -> Reply:
        without, bad = _flag(query, "withoutCurrency")
        if bad is not None:
            return bad
        symbol = request.params.get("symbol")
        with emulator._lock:
            emulator.settle()
            view = _View(emulator, portfolio, emulator._clock.now())
            items = view.positions(exchange, bool(without) and symbol is None)
        if symbol is None:
            return _reply([_render(p, _POSITION, fmt) for p in items])
        for item in items:
            if str(item["symbol"]).upper() == symbol.upper():
                return _reply(_render(item, _POSITION, fmt))
        return _error("position_not_found")

    def login_positions(request: JsonRequest) -> Reply:
        principal: _Principal = request.principal
        login = request.params["login"]
        if login.upper() != principal.login.upper():
            return _error("login_forbidden")
        query = _query(request)
        fmt = _format(query)
        if fmt is None:
            return _error("format_unknown")
        without, bad = _flag(query, "withoutCurrency")
        if bad is not None:
            return bad
        out: List[Dict[str, Any]] = []
        with emulator._lock:
            emulator.settle()
            now = emulator._clock.now()
            for portfolio in emulator.ledger.portfolios_of(principal.login):
                if portfolio in principal.portfolios:
                    out += _View(emulator, portfolio, now).positions(None, bool(without))
        return _reply([_render(p, _POSITION, fmt) for p in out])

    def summary(
        request: JsonRequest, exchange: str, portfolio: str, fmt: str, query: Dict[str, str]
    ) -> Reply:
        with emulator._lock:
            emulator.settle()
            values = _View(emulator, portfolio, emulator._clock.now()).summary(exchange)
        body = _render(values, _SUMMARY, fmt)
        key = "bpv2" if fmt == "slim" else "buyingPowerByCurrency"
        body[key] = [_render(v, _CURRENCY_POWER, fmt) for v in values["buyingPowerByCurrency"]]
        return _reply(body)

    def risk(request: JsonRequest, exchange: str, portfolio: str, fmt: str, query: Dict[str, str]) -> Reply:
        with emulator._lock:
            emulator.settle()
            values = _View(emulator, portfolio, emulator._clock.now()).risk(exchange)
        return _reply(_render(values, _RISK, fmt))

    def forts_risk(
        request: JsonRequest, exchange: str, portfolio: str, fmt: str, query: Dict[str, str]
    ) -> Reply:
        if exchange != "MOEX" or emulator.ledger.kind(portfolio) != "forts":
            return _error("forts_portfolio_not_found")
        with emulator._lock:
            emulator.settle()
            values = _View(emulator, portfolio, emulator._clock.now()).forts_risk()
        return _reply(_render(values, _FORTS_RISK, fmt))

    def trades(request: JsonRequest, exchange: str, portfolio: str, fmt: str, query: Dict[str, str]) -> Reply:
        _, bad = _flag(query, "withRepo")  # no REPO trades are simulated: the flag changes nothing
        if bad is not None:
            return bad
        symbol = request.params.get("symbol")
        group = query.get("instrumentgroup")
        with emulator._lock:
            emulator.settle()
            start = session_start(emulator._clock.now())
            items = [
                _render(_trade(emulator, f), _TRADE, fmt)
                for f in emulator.ledger.fills_of(portfolio)
                if f.at >= start
                and f.inst.exchange == exchange
                and (symbol is None or f.inst.symbol.upper() == symbol.upper())
                and (not group or f.inst.board.upper() == group.upper())
            ]
        return _reply(items)

    def history(
        request: JsonRequest, exchange: str, portfolio: str, fmt: str, query: Dict[str, str]
    ) -> Reply:
        flags = {}
        for name in ("descending", "orderByTradeDate", "withRepo"):
            flags[name], bad = _flag(query, name)
            if bad is not None:
                return bad
        limit = MAX_HISTORY_LIMIT
        if query.get("limit"):
            try:
                limit = int(query["limit"])
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_HISTORY_LIMIT:
                return _error("history_limit_out_of_range")
        after: Optional[int] = None
        if query.get("from"):
            try:
                after = int(query["from"])
            except ValueError:
                return _error("history_from_invalid")
        since: Optional[float] = None
        if query.get("datefrom"):
            since = _date_from(query["datefrom"])
            if since is None:
                return _error("history_date_invalid")
        side = (query.get("side") or "").lower()
        if side not in ("", "buy", "sell"):
            return _error("trade_side_invalid")
        symbol = request.params.get("symbol") or query.get("ticker")
        group = query.get("instrumentgroup")
        descending = bool(flags["descending"])
        with emulator._lock:
            emulator.settle()
            start = session_start(emulator._clock.now())
            fills = [
                f
                for f in emulator.ledger.fills_of(portfolio, before=start)
                if f.inst.exchange == exchange
                and (not symbol or f.inst.symbol.upper() == symbol.upper())
                and (not group or f.inst.board.upper() == group.upper())
                and (not side or f.side == side)
                and (since is None or f.at >= since)
            ]
            # Trade ids grow with time, so ordering by id is ordering by trade date too.
            fills.sort(key=lambda f: f.id, reverse=descending)
            if after is not None:
                fills = [f for f in fills if (f.id < after if descending else f.id > after)]
            items = [_render(_trade(emulator, f), _TRADE, fmt) for f in fills[:limit]]
        return _reply(items)

    clients = "/md/v2/Clients/{exchange:[^/]+}/{portfolio:[^/]+}"
    # Registered after the order lists (sandbox.py), whose /{orders|stoporders}/{orderId} would also
    # match ".../{symbol}/trades" for a symbol named orders: no instrument has such a name.
    api.add("GET", clients + "/positions", portfolio_read(positions), auth=True)
    api.add("GET", clients + "/positions/{symbol:[^/]+}", portfolio_read(positions), auth=True)
    api.add("GET", clients + "/summary", portfolio_read(summary), auth=True)
    api.add("GET", clients + "/risk", portfolio_read(risk), auth=True)
    api.add("GET", clients + "/fortsrisk", portfolio_read(forts_risk), auth=True)
    api.add("GET", clients + "/trades", portfolio_read(trades), auth=True)
    # {symbol} excludes the reads above so that ".../positions/trades" stays the position "trades".
    api.add(
        "GET",
        clients + "/{symbol:(?!positions$)[^/]+}/trades",
        portfolio_read(trades),
        auth=True,
    )
    api.add("GET", "/md/v2/Clients/{login:[^/]+}/positions", login_positions, auth=True)
    stats = "/md/v2/Stats/{exchange:[^/]+}/{portfolio:[^/]+}/history/trades"
    api.add("GET", stats, portfolio_read(history), auth=True)
    api.add("GET", stats + "/{symbol:[^/]+}", portfolio_read(history), auth=True)


def _date_from(text: str) -> Optional[float]:
    """``dateFrom`` as Unix seconds: a date (its UTC midnight) or an ISO date and time (UTC if no
    zone); None if it is neither."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()
