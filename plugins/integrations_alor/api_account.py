"""ALOR account methods: positions, summary, risk, trades, orders and stop orders (issue 13).

Every method validates all its arguments before anything is sent (a bad one raises
:class:`~integrations.errors.ValidationError`), takes ``format=`` (``Simple``, ``Slim`` or ``Heavy``:
the same model whatever the wire format) and ``timeout=``, and uses the operation name
``alor.<method>``. Paths and parameters are the spec's (WarpOpenAPIv2.yml, docs/reference/alor-api.md
§6)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Tuple, Type, TypeVar, Union

from integrations._lazy import lazy_module
from integrations.errors import ValidationError
from integrations.transport import TimeoutLike
from integrations.validation import show as _show
from integrations.validation import timeouts as _timeouts

from .auth import decode_jwt_claims
from .base import AlorBase
from .checks import _PORTFOLIO, _TICKER, FORMATS, _bool, _exchange, _int_in, _order_number, _side, _token

if TYPE_CHECKING:
    from . import models_account as _account_models
    from .models_account import FortsRisk, Order, Position, Risk, StopOrder, Summary, Trade
else:
    # Imported on first use: building the models' attrs classes costs milliseconds that a
    # process which never calls these methods should not pay.
    _account_models = lazy_module(__package__ + ".models_account")


__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "AccountMethods"]

#: Trades fetched per request by :meth:`AccountMethods.history_trades` unless ``page_size`` says
#: otherwise; the spec caps a page at :data:`MAX_PAGE_SIZE` (its ``limit`` is 1..1000).
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

T = TypeVar("T")
DateLike = Union[dt.date, dt.datetime]


def _format(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in FORMATS:
        raise ValidationError(f"format must be Simple, Slim or Heavy, not {_show(value)}")
    return FORMATS[value.lower()]


def _flag(value: Any, name: str) -> Optional[str]:
    """An optional boolean query flag: None (not sent), or "true"/"false"."""
    if value is None:
        return None
    return "true" if _bool(value, name) else "false"


def _login(value: Any) -> str:
    if not isinstance(value, str) or not _PORTFOLIO.fullmatch(value):
        raise ValidationError(f"login must be an identifier (letters, digits, -), not {_show(value)}")
    return value


def _date_from(value: Any) -> Optional[str]:
    """``dateFrom``: a date (sent as ``YYYY-MM-DD``) or an aware datetime (sent in UTC, ISO)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError("date_from must be a date or an aware datetime (with a time zone)")
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise ValidationError(f"date_from must be a date or an aware datetime, not {_show(value)}")


class AccountMethods(AlorBase):
    """Reads of the account: what the portfolio holds and what it did."""

    def _read(
        self,
        path: str,
        params: Dict[str, Any],
        operation: str,
        cls: Type[T],
        fmt: str,
        timeout: Optional[TimeoutLike],
    ) -> T:
        return _account_models.structure_account(
            self._get(path, {**params, "format": fmt}, operation, timeout), cls, fmt
        )

    def _read_list(
        self,
        path: str,
        params: Dict[str, Any],
        operation: str,
        cls: Type[T],
        fmt: str,
        timeout: Optional[TimeoutLike],
    ) -> Tuple[T, ...]:
        data = self._get(path, {**params, "format": fmt}, operation, timeout)
        return _account_models.structure_account_list(data, cls, fmt)

    @staticmethod
    def _clients(exchange: Any, portfolio: Any) -> str:
        return f"/md/v2/Clients/{_exchange(exchange)}/{_token(portfolio, 'portfolio', _PORTFOLIO)}"

    # -- positions -----------------------------------------------------------------------------

    def positions(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        without_currency: Optional[bool] = None,
        format: str = "Simple",  # noqa: A002 - the API's own parameter name
        timeout: Optional[TimeoutLike] = None,
    ) -> Tuple[Position, ...]:
        """The positions of ``portfolio`` on ``exchange``, money included (``is_currency``) unless
        ``without_currency``. ``GET /md/v2/Clients/{exchange}/{portfolio}/positions``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + "/positions"
        params: Dict[str, Any] = {}
        flag = _flag(without_currency, "without_currency")
        if flag is not None:
            params["withoutCurrency"] = flag
        return self._read_list(path, params, "positions", _account_models.Position, _format(format), timeout)

    def position(
        self,
        portfolio: str,
        symbol: str,
        *,
        exchange: str = "MOEX",
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Position:
        """The position of ``portfolio`` in ``symbol``; :class:`~integrations.errors.NotFound` when it
        holds none. ``GET /md/v2/Clients/{exchange}/{portfolio}/positions/{symbol}``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + f"/positions/{_token(symbol, 'symbol', _TICKER)}"
        return self._read(path, {}, "position", _account_models.Position, _format(format), timeout)

    def all_positions(
        self,
        *,
        login: Optional[str] = None,
        without_currency: Optional[bool] = None,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Tuple[Position, ...]:
        """The positions of every portfolio of ``login`` (the JWT's, by default: this authenticates
        first if needed). ``GET /md/v2/Clients/{login}/positions``."""
        _timeouts(timeout)
        fmt = _format(format)
        params: Dict[str, Any] = {}
        flag = _flag(without_currency, "without_currency")
        if flag is not None:
            params["withoutCurrency"] = flag
        if login is not None:
            login = _login(login)
        else:
            token = self._client.token()  # authenticates first if no token is held yet
            login = _login(str((token.claims or decode_jwt_claims(token.access)).get("sub", "")))
        return self._read_list(
            f"/md/v2/Clients/{login}/positions",
            params,
            "all_positions",
            _account_models.Position,
            fmt,
            timeout,
        )

    # -- money and risk ------------------------------------------------------------------------

    def summary(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Summary:
        """Buying power, evaluation, profit and margins of ``portfolio`` on ``exchange``.
        ``GET /md/v2/Clients/{exchange}/{portfolio}/summary``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + "/summary"
        return self._read(path, {}, "summary", _account_models.Summary, _format(format), timeout)

    def risk(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Risk:
        """The risk figures of ``portfolio`` on ``exchange``.
        ``GET /md/v2/Clients/{exchange}/{portfolio}/risk``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + "/risk"
        return self._read(path, {}, "risk", _account_models.Risk, _format(format), timeout)

    def forts_risk(
        self,
        portfolio: str,
        *,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> FortsRisk:
        """The derivatives-market (FORTS) risk of ``portfolio`` (a ``7500...`` portfolio).
        ``GET /md/v2/Clients/MOEX/{portfolio}/fortsrisk``."""
        _timeouts(timeout)
        path = self._clients("MOEX", portfolio) + "/fortsrisk"
        return self._read(path, {}, "forts_risk", _account_models.FortsRisk, _format(format), timeout)

    # -- trades --------------------------------------------------------------------------------

    def trades(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        with_repo: Optional[bool] = None,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Tuple[Trade, ...]:
        """The trades of ``portfolio`` on ``exchange`` in the current session.
        ``GET /md/v2/Clients/{exchange}/{portfolio}/trades``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + "/trades"
        params: Dict[str, Any] = {}
        flag = _flag(with_repo, "with_repo")
        if flag is not None:
            params["withRepo"] = flag
        return self._read_list(path, params, "trades", _account_models.Trade, _format(format), timeout)

    def symbol_trades(
        self,
        portfolio: str,
        symbol: str,
        *,
        exchange: str = "MOEX",
        instrument_group: Optional[str] = None,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Tuple[Trade, ...]:
        """The trades of ``portfolio`` in ``symbol`` in the current session.
        ``GET /md/v2/Clients/{exchange}/{portfolio}/{symbol}/trades``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + f"/{_token(symbol, 'symbol', _TICKER)}/trades"
        params: Dict[str, Any] = {}
        if instrument_group is not None:
            params["instrumentGroup"] = _token(instrument_group, "instrument_group", _TICKER)
        return self._read_list(path, params, "symbol_trades", _account_models.Trade, _format(format), timeout)

    def history_trades(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        symbol: Optional[str] = None,
        date_from: Optional[DateLike] = None,
        ticker: Optional[str] = None,
        side: Optional[str] = None,
        descending: Optional[bool] = None,
        instrument_group: Optional[str] = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        limit: Optional[int] = None,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Iterator[Trade]:
        """The trades of ``portfolio`` in past sessions, oldest first (newest first with
        ``descending``), as a lazy iterator: a page of ``page_size`` trades (1 to 1000, default
        :data:`DEFAULT_PAGE_SIZE`) is fetched only when the previous one is used up, each page
        continuing ``from`` the last trade id of the one before; ``limit`` caps the total (``None``:
        all). ``GET /md/v2/Stats/{exchange}/{portfolio}/history/trades[/{symbol}]``.

        Every argument is checked here, at the call, before anything is sent; the first request
        goes out with the first ``next()``. A trade repeated at a page boundary (a server that reads
        ``from`` inclusively) is skipped, and paging stops at a page with nothing new.
        """
        _timeouts(timeout)
        fmt = _format(format)
        path = "/md/v2/Stats" + self._clients(exchange, portfolio)[len("/md/v2/Clients") :]
        path += "/history/trades"
        if symbol is not None:
            path += f"/{_token(symbol, 'symbol', _TICKER)}"
        params: Dict[str, Any] = {"format": fmt}
        when = _date_from(date_from)
        if when is not None:
            params["dateFrom"] = when
        if ticker is not None:
            params["ticker"] = _token(ticker, "ticker", _TICKER)
        if side is not None:
            params["side"] = _side(side)
        flag = _flag(descending, "descending")
        if flag is not None:
            params["descending"] = flag
        if instrument_group is not None:
            params["instrumentGroup"] = _token(instrument_group, "instrument_group", _TICKER)
        size = _int_in(page_size, "page_size", 1, MAX_PAGE_SIZE)
        if limit is not None:
            limit = _int_in(limit, "limit", 1, 2**63 - 1)
        return self._history_pages(path, params, size, limit, fmt, timeout)

    def _history_pages(
        self,
        path: str,
        params: Dict[str, Any],
        size: int,
        limit: Optional[int],
        fmt: str,
        timeout: Optional[TimeoutLike],
    ) -> Iterator[Trade]:
        last: Optional[str] = None
        remaining = limit
        while True:
            want = size if remaining is None else min(size, remaining)
            query = {**params, "limit": want}
            if last is not None:
                query["from"] = int(last) if last.isdigit() else last
            page = _account_models.structure_account_list(
                self._get(path, query, "history_trades", timeout), _account_models.Trade, fmt
            )
            fresh = [trade for trade in page if trade.id != last]
            for trade in fresh:
                yield trade
                if remaining is not None:
                    remaining -= 1
                    if remaining == 0:
                        return
            if not fresh or len(page) < want:
                return
            last = fresh[-1].id

    # -- orders --------------------------------------------------------------------------------

    def orders(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Tuple[Order, ...]:
        """The orders of ``portfolio`` on ``exchange`` (working and done, this session).
        ``GET /md/v2/Clients/{exchange}/{portfolio}/orders``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + "/orders"
        return self._read_list(path, {}, "orders", _account_models.Order, _format(format), timeout)

    def order(
        self,
        portfolio: str,
        order_id: Union[str, int],
        *,
        exchange: str = "MOEX",
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Order:
        """One order; :class:`~integrations.errors.NotFound` for an unknown one.
        ``GET /md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + f"/orders/{_order_number(order_id)}"
        return self._read(path, {}, "order", _account_models.Order, _format(format), timeout)

    def stop_orders(
        self,
        portfolio: str,
        *,
        exchange: str = "MOEX",
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Tuple[StopOrder, ...]:
        """The stop and stop-limit orders of ``portfolio`` on ``exchange``.
        ``GET /md/v2/Clients/{exchange}/{portfolio}/stoporders``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + "/stoporders"
        return self._read_list(path, {}, "stop_orders", _account_models.StopOrder, _format(format), timeout)

    def get_stop_order(
        self,
        portfolio: str,
        order_id: Union[str, int],
        *,
        exchange: str = "MOEX",
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> StopOrder:
        """One stop order; :class:`~integrations.errors.NotFound` for an unknown one. (Named apart
        from :meth:`stop_order`, the command that places one.)
        ``GET /md/v2/Clients/{exchange}/{portfolio}/stoporders/{orderId}``."""
        _timeouts(timeout)
        path = self._clients(exchange, portfolio) + f"/stoporders/{_order_number(order_id)}"
        return self._read(path, {}, "get_stop_order", _account_models.StopOrder, _format(format), timeout)
