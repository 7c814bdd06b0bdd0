"""ALOR market-data methods: securities, quotes, all trades, candles, server time, risk rates (issue 13).

Paths, parameters and answers are the spec's (``WarpOpenAPIv2.yml``; docs/reference/alor-api.md §6).
Where the API pages, the method returns a lazy iterator: a page is requested only when the caller
has consumed the previous one, ``page_size`` items at a time (documented per method), and ``limit``
(None: everything) caps the items yielded, so ``next(iter(...))`` costs one request. Every argument
is validated when the method is called, before anything is sent, even for the iterators.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, TypeVar, Union

from integrations._lazy import lazy_module
from integrations.errors import ProtocolError, ValidationError
from integrations.transport import TimeoutLike
from integrations.validation import show as _show
from integrations.validation import timeouts as _timeouts

from .base import AlorBase
from .checks import _TICKER, FORMATS, _bool, _exchange, _int_in, _price, _side, _token

if TYPE_CHECKING:
    from . import models_market as _market_models
    from .models_market import AllTrade, Candle, Candles, Quote, RiskRate, Security
else:
    # Imported on first use: building the models' attrs classes costs milliseconds that a
    # process which never calls these methods should not pay.
    _market_models = lazy_module(__package__ + ".models_market")


__all__ = ["MarketDataMethods"]

TimeLike = Union[dt.datetime, int]
SymbolLike = Union[str, "tuple[str, str]"]

#: Default page sizes: ``securities`` 25 (the API's own default), the others as below.
SECURITIES_PAGE = 25
EXCHANGE_SECURITIES_PAGE = 100
ALL_TRADES_PAGE = 1000
RISK_RATES_PAGE = 100
MAX_PAGE = 50_000
MAX_QUOTES = 200
MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
MAX_TIMEFRAME = 31_536_000  # a year, the largest code (Y)
MAX_UNIX = 253_402_300_799  # 9999-12-31T23:59:59Z
TIMEFRAME_CODES = ("D", "W", "M", "Y")
SECTORS = ("FORTS", "FOND", "CURR")
MARKETS = ("FORTS", "FOND", "CURR", "SPBX")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _format(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in FORMATS:
        raise ValidationError(f"format must be Simple, Slim or Heavy, not {_show(value)}")
    return FORMATS[value.lower()]


def _unix(value: Any, name: str) -> int:
    """A time as Unix seconds: an aware datetime or a non-negative int (whole seconds)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(f"{name} must be an aware datetime (with a time zone), not a naive one")
        seconds = int((value - _EPOCH).total_seconds() // 1)
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise ValidationError(f"{name} must be an aware datetime or Unix seconds (int), not {_show(value)}")
    if not 0 <= seconds <= MAX_UNIX:
        raise ValidationError(f"{name} must be from 1970 to 9999, not {_show(value)}")
    return seconds


def _range(from_: Any, to: Any, required: bool) -> tuple[Optional[int], Optional[int]]:
    if required and (from_ is None or to is None):
        raise ValidationError("from_ and to are required")
    start = None if from_ is None else _unix(from_, "from_")
    end = None if to is None else _unix(to, "to")
    if start is not None and end is not None and start > end:
        raise ValidationError(f"from_ ({start}) must not be after to ({end})")
    return start, end


def _timeframe(value: Any) -> str:
    """Seconds (an int or a digit string, 1 to a year) or one of the codes D, W, M, Y."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 < value <= MAX_TIMEFRAME:
            return str(value)
    elif isinstance(value, str):
        text = value.strip().upper()
        if text in TIMEFRAME_CODES:
            return text
        if text.isdigit() and len(text) <= 9 and 0 < int(text) <= MAX_TIMEFRAME:
            return str(int(text))
    raise ValidationError(
        f"tf must be seconds (1 to {MAX_TIMEFRAME}, e.g. 15, 60, 3600) or one of D, W, M, Y, "
        f"not {_show(value)}"
    )


def _optional_int(value: Any, name: str, low: int, high: int) -> Optional[int]:
    return None if value is None else _int_in(value, name, low, high)


def _optional_bool(value: Any, name: str) -> Optional[str]:
    return None if value is None else ("true" if _bool(value, name) else "false")


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in choices:
        raise ValidationError(f"{name} must be one of {', '.join(choices)}, not {_show(value)}")
    return value.upper()


def _text(value: Any, name: str) -> Optional[str]:
    if value is None:
        return None
    return _token(value, name, _TICKER)


def _page_size(value: Any, high: int = MAX_PAGE) -> int:
    return _int_in(value, "page_size", 1, high)


def _limit(value: Any) -> Optional[int]:
    return None if value is None else _int_in(value, "limit", 0, MAX_INT64)


def _symbol_pair(item: Any) -> str:
    if isinstance(item, tuple) and len(item) == 2:
        exchange, symbol = item
    elif isinstance(item, str) and item.count(":") == 1:
        exchange, symbol = item.split(":")
    else:
        raise ValidationError(
            f"symbols must hold 'EXCHANGE:SYMBOL' strings or (exchange, symbol) pairs, not {_show(item)}"
        )
    return f"{_exchange(exchange)}:{_token(symbol, 'symbol', _TICKER)}"


def _list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise ProtocolError(f"{what}: expected a JSON array, got {type(data).__name__}")
    return data


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


T = TypeVar("T")


def _paged(
    fetch: Callable[[int, int], Any],
    operation: str,
    make: Callable[[Any], T],
    page_size: int,
    cap: Optional[int],
    *,
    wrapped: bool = False,
) -> Iterator[T]:
    """Lazily yield ``make(item)`` page by page. ``fetch(offset, size)`` returns a page: a JSON array
    (or, ``wrapped``, an object ``{"list": [...], "total": N}``). Stops at a short page, at
    ``total``, or after ``cap`` items; never yields more of a page than was asked for, whatever the
    server sends."""
    offset, left = 0, cap
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        data = fetch(offset, size)
        total = None
        if wrapped:
            total = data.get("total")
            data = data.get("list") or []
        page = _list(data, operation)[:size]
        for item in page:
            yield make(item)
        offset += len(page)
        if left is not None:
            left -= len(page)
        if len(page) < size or (isinstance(total, int) and offset >= total):
            return


class MarketDataMethods(AlorBase):
    """Reads of the market."""

    # -- securities ----------------------------------------------------------------------------

    def securities(
        self,
        query: Optional[str] = None,
        *,
        exchange: Optional[str] = None,
        sector: Optional[str] = None,
        cficode: Optional[str] = None,
        instrument_group: Optional[str] = None,
        include_non_base_boards: Optional[bool] = None,
        format: str = "Simple",  # noqa: A002 - the API's own parameter name
        page_size: int = SECURITIES_PAGE,
        limit: Optional[int] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> Iterator[Security]:
        """Search the instruments (``GET /md/v2/Securities``): ``query`` is a ticker or part of it;
        ``sector`` FORTS, FOND or CURR; ``cficode`` an ISO 10962 code. A lazy iterator of
        :class:`Security`, ``page_size`` (default 25, the API's) per request (``limit``/``offset``),
        at most ``limit`` in all (None: every match)."""
        _timeouts(timeout)
        params = _params(
            query=_text(query, "query"),
            exchange=None if exchange is None else _exchange(exchange),
            sector=_choice(sector, "sector", SECTORS),
            cficode=_text(cficode, "cficode"),
            instrumentGroup=_text(instrument_group, "instrument_group"),
            includeNonBaseBoards=_optional_bool(include_non_base_boards, "include_non_base_boards"),
            format=_format(format),
        )
        return self._offset_pages(
            "/md/v2/Securities", params, "securities", _page_size(page_size), _limit(limit), timeout
        )

    def exchange_securities(
        self,
        exchange: str,
        *,
        market: Optional[str] = None,
        include_old: Optional[bool] = None,
        include_non_base_boards: Optional[bool] = None,
        format: str = "Simple",  # noqa: A002
        page_size: int = EXCHANGE_SECURITIES_PAGE,
        limit: Optional[int] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> Iterator[Security]:
        """Every instrument of ``exchange`` (``GET /md/v2/Securities/{exchange}``), ``market`` one of
        FORTS, FOND, CURR, SPBX. A lazy iterator of :class:`Security`, ``page_size`` (default 100)
        per request, at most ``limit`` in all."""
        _timeouts(timeout)
        exchange = _exchange(exchange)
        params = _params(
            market=_choice(market, "market", MARKETS),
            includeOld=_optional_bool(include_old, "include_old"),
            includeNonBaseBoards=_optional_bool(include_non_base_boards, "include_non_base_boards"),
            format=_format(format),
        )
        return self._offset_pages(
            f"/md/v2/Securities/{exchange}",
            params,
            "exchange_securities",
            _page_size(page_size),
            _limit(limit),
            timeout,
        )

    def security(
        self,
        exchange: str,
        symbol: str,
        *,
        instrument_group: Optional[str] = None,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Security:
        """One instrument (``GET /md/v2/Securities/{exchange}/{symbol}``). Raises
        :class:`~integrations.errors.NotFound` for an unknown symbol (HTTP 404)."""
        _timeouts(timeout)
        exchange = _exchange(exchange)
        symbol = _token(symbol, "symbol", _TICKER)
        params = _params(instrumentGroup=_text(instrument_group, "instrument_group"), format=_format(format))
        data = self._get(f"/md/v2/Securities/{exchange}/{symbol}", params, "security", timeout)
        return _market_models.structure_security(data)

    def _offset_pages(
        self,
        path: str,
        params: dict[str, Any],
        operation: str,
        page_size: int,
        limit: Optional[int],
        timeout: Optional[TimeoutLike],
    ) -> Iterator[Security]:
        def fetch(offset: int, size: int) -> Any:
            return self._get(path, {**params, "limit": size, "offset": offset}, operation, timeout)

        return _paged(fetch, operation, _market_models.structure_security, page_size, limit)

    # -- quotes --------------------------------------------------------------------------------

    def quotes(
        self,
        symbols: Iterable[SymbolLike],
        *,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> tuple[Quote, ...]:
        """Quotes of several instruments at once (``GET /md/v2/Securities/{symbols}/quotes``):
        ``symbols`` holds ``"MOEX:SBER"`` strings or ``("MOEX", "SBER")`` pairs (1 to 200). An
        unknown instrument is left out of the answer (the sandbox's assumption)."""
        _timeouts(timeout)
        if isinstance(symbols, (str, bytes)) or not isinstance(symbols, Iterable):
            raise ValidationError(
                f"symbols must be a list of 'EXCHANGE:SYMBOL' strings or pairs, not {_show(symbols)}"
            )
        pairs = [_symbol_pair(item) for item in symbols]
        if not 1 <= len(pairs) <= MAX_QUOTES:
            raise ValidationError(f"symbols must hold 1 to {MAX_QUOTES} instruments, not {len(pairs)}")
        data = self._get(
            f"/md/v2/Securities/{','.join(pairs)}/quotes", {"format": _format(format)}, "quotes", timeout
        )
        return tuple(_market_models.structure_quote(item) for item in _list(data, "quotes"))

    # -- all trades ----------------------------------------------------------------------------

    def all_trades(
        self,
        exchange: str,
        symbol: str,
        *,
        from_: Optional[TimeLike] = None,
        to: Optional[TimeLike] = None,
        from_id: Optional[Union[int, str]] = None,
        to_id: Optional[Union[int, str]] = None,
        qty_from: Optional[int] = None,
        qty_to: Optional[int] = None,
        price_from: Optional[Union[Decimal, int, float, str]] = None,
        price_to: Optional[Union[Decimal, int, float, str]] = None,
        side: Optional[str] = None,
        descending: bool = False,
        instrument_group: Optional[str] = None,
        format: str = "Simple",  # noqa: A002
        page_size: int = ALL_TRADES_PAGE,
        limit: Optional[int] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> Iterator[AllTrade]:
        """The market's trades of an instrument in the current session
        (``GET /md/v2/Securities/{exchange}/{symbol}/alltrades``), oldest first (``descending``:
        newest first), filtered by time (``from_``/``to``: aware datetimes or Unix seconds,
        inclusive), trade id, size in lots, price and side. A lazy iterator of :class:`AllTrade`,
        ``page_size`` (default 1000) per request (``offset``/``take``), at most ``limit`` in all."""
        _timeouts(timeout)
        exchange = _exchange(exchange)
        symbol = _token(symbol, "symbol", _TICKER)
        start, end = _range(from_, to, required=False)
        first_id = None if from_id is None else _trade_id(from_id, "from_id")
        last_id = None if to_id is None else _trade_id(to_id, "to_id")
        if first_id is not None and last_id is not None and first_id > last_id:
            raise ValidationError("from_id must not be greater than to_id")
        low_qty = _optional_int(qty_from, "qty_from", 0, MAX_INT32)
        high_qty = _optional_int(qty_to, "qty_to", 0, MAX_INT32)
        if low_qty is not None and high_qty is not None and low_qty > high_qty:
            raise ValidationError("qty_from must not be greater than qty_to")
        low_price = None if price_from is None else _price(price_from)
        high_price = None if price_to is None else _price(price_to)
        if low_price is not None and high_price is not None and low_price > high_price:
            raise ValidationError("price_from must not be greater than price_to")
        params = _params(
            **{"from": start, "to": end},
            fromId=first_id,
            toId=last_id,
            qtyFrom=low_qty,
            qtyTo=high_qty,
            priceFrom=low_price,
            priceTo=high_price,
            side=None if side is None else _side(side),
            descending="true" if _bool(descending, "descending") else None,
            instrumentGroup=_text(instrument_group, "instrument_group"),
            format=_format(format),
        )
        size, cap = _page_size(page_size), _limit(limit)
        path = f"/md/v2/Securities/{exchange}/{symbol}/alltrades"

        def fetch(offset: int, take: int) -> Any:
            return self._get(path, {**params, "offset": offset, "take": take}, "all_trades", timeout)

        return _paged(fetch, "all_trades", _market_models.structure_all_trade, size, cap)

    def all_trades_history(
        self,
        exchange: str,
        symbol: str,
        *,
        from_: Optional[TimeLike] = None,
        to: Optional[TimeLike] = None,
        instrument_group: Optional[str] = None,
        format: str = "Simple",  # noqa: A002
        page_size: int = ALL_TRADES_PAGE,
        limit: Optional[int] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> Iterator[AllTrade]:
        """The market's trades of an instrument in past sessions
        (``GET /md/v2/Securities/{exchange}/{symbol}/alltrades/history``, answered as
        ``{total, list}``), oldest first. A lazy iterator of :class:`AllTrade`, ``page_size``
        (1 to 50000, the spec's range of ``limit``; default 1000) per request, at most ``limit``."""
        _timeouts(timeout)
        exchange = _exchange(exchange)
        symbol = _token(symbol, "symbol", _TICKER)
        start, end = _range(from_, to, required=False)
        params = _params(
            **{"from": start, "to": end},
            instrumentGroup=_text(instrument_group, "instrument_group"),
            format=_format(format),
        )
        size, cap = _page_size(page_size), _limit(limit)
        path = f"/md/v2/Securities/{exchange}/{symbol}/alltrades/history"

        def fetch(offset: int, take: int) -> Any:
            data = self._get(path, {**params, "limit": take, "offset": offset}, "all_trades_history", timeout)
            if not isinstance(data, dict):
                raise ProtocolError(f"all_trades_history: expected a JSON object, got {type(data).__name__}")
            return data

        make = _market_models.structure_all_trade
        return _paged(fetch, "all_trades_history", make, size, cap, wrapped=True)

    # -- candles -------------------------------------------------------------------------------

    def candles(
        self,
        exchange: str,
        symbol: str,
        tf: Union[int, str],
        *,
        from_: TimeLike,
        to: TimeLike,
        count_back: Optional[int] = None,
        instrument_group: Optional[str] = None,
        untraded: Optional[bool] = None,
        split_adjust: Optional[bool] = None,
        format: str = "Simple",  # noqa: A002
        timeout: Optional[TimeoutLike] = None,
    ) -> Candles:
        """One answer of ``GET /md/v2/history``: the candles of timeframe ``tf`` (seconds, such as
        15, 60, 300, 3600, or D, W, M, Y) that start from ``from_`` to ``to`` (aware datetimes or Unix
        seconds), with ``next``/``prev`` (the neighbouring candles' start). The server may cap the
        candles of one answer: :meth:`iter_candles` follows ``next``. Raises
        :class:`~integrations.errors.NotFound` for an unknown symbol."""
        _timeouts(timeout)
        params = self._history_params(
            exchange, symbol, tf, from_, to, count_back, instrument_group, untraded, split_adjust, format
        )
        return _market_models.structure_candles(self._get("/md/v2/history", params, "candles", timeout))

    def iter_candles(
        self,
        exchange: str,
        symbol: str,
        tf: Union[int, str],
        *,
        from_: TimeLike,
        to: TimeLike,
        instrument_group: Optional[str] = None,
        untraded: Optional[bool] = None,
        split_adjust: Optional[bool] = None,
        format: str = "Simple",  # noqa: A002
        limit: Optional[int] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> Iterator[Candle]:
        """Every candle from ``from_`` to ``to``, oldest first, lazily: one request per answer of
        the server, the next one from the answer's ``next`` while it is not after ``to``; at most
        ``limit`` candles (None: all)."""
        _timeouts(timeout)
        params = self._history_params(
            exchange, symbol, tf, from_, to, None, instrument_group, untraded, split_adjust, format
        )
        cap = _limit(limit)
        end = params["to"]

        def pages() -> Iterator[Candle]:
            query, count, last = dict(params), 0, None
            while True:
                page = _market_models.structure_candles(
                    self._get("/md/v2/history", query, "iter_candles", timeout)
                )
                for candle in page.candles:
                    if last is not None and candle.time <= last:
                        continue  # never twice, even if a server repeats its edge
                    if cap is not None and count >= cap:
                        return
                    last = candle.time
                    count += 1
                    yield candle
                if page.next is None or last is None:
                    return
                start = int(page.next.timestamp())
                if start > end or start <= int(last.timestamp()) or (cap is not None and count >= cap):
                    return
                query["from"] = start

        return pages()

    def _history_params(
        self,
        exchange: Any,
        symbol: Any,
        tf: Any,
        from_: Any,
        to: Any,
        count_back: Any,
        instrument_group: Any,
        untraded: Any,
        split_adjust: Any,
        format: Any,  # noqa: A002
    ) -> dict[str, Any]:
        start, end = _range(from_, to, required=True)
        return _params(
            symbol=_token(symbol, "symbol", _TICKER),
            exchange=_exchange(exchange),
            tf=_timeframe(tf),
            **{"from": start, "to": end},
            countBack=_optional_int(count_back, "count_back", 1, MAX_INT32),
            instrumentGroup=_text(instrument_group, "instrument_group"),
            untraded=_optional_bool(untraded, "untraded"),
            splitAdjust=_optional_bool(split_adjust, "split_adjust"),
            format=_format(format),
        )

    # -- time and risk rates -------------------------------------------------------------------

    def server_time(self, *, timeout: Optional[TimeoutLike] = None) -> dt.datetime:
        """The server's time (``GET /md/v2/time``: a bare JSON integer, Unix seconds), aware UTC.
        Sent with the access token: the spec says an anonymous answer lags 15 minutes."""
        _timeouts(timeout)
        data = self._get("/md/v2/time", None, "server_time", timeout)
        if isinstance(data, bool) or not isinstance(data, int) or not 0 <= data <= MAX_UNIX:
            raise ProtocolError(f"server_time: expected Unix seconds (an integer), got {type(data).__name__}")
        return dt.datetime.fromtimestamp(data, dt.timezone.utc)

    def risk_rates(
        self,
        risk_category_id: int,
        *,
        exchange: Optional[str] = None,
        ticker: Optional[str] = None,
        search: Optional[str] = None,
        page_size: int = RISK_RATES_PAGE,
        limit: Optional[int] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> Iterator[RiskRate]:
        """The risk rates of a risk category (``GET /md/v2/risk/rates``, answered as
        ``{list, total}``), filtered by ``exchange``, exact ``ticker`` or ticker prefix ``search``. A
        lazy iterator of :class:`RiskRate`, ``page_size`` (default 100) per request, at most ``limit``."""
        _timeouts(timeout)
        params = _params(
            riskCategoryId=_int_in(risk_category_id, "risk_category_id", 0, MAX_INT32),
            exchange=None if exchange is None else _exchange(exchange),
            ticker=_text(ticker, "ticker"),
            search=_text(search, "search"),
        )
        size, cap = _page_size(page_size), _limit(limit)

        def fetch(offset: int, take: int) -> Any:
            data = self._get(
                "/md/v2/risk/rates", {**params, "limit": take, "offset": offset}, "risk_rates", timeout
            )
            if not isinstance(data, dict):
                raise ProtocolError(f"risk_rates: expected a JSON object, got {type(data).__name__}")
            return data

        return _paged(fetch, "risk_rates", _market_models.structure_risk_rate, size, cap, wrapped=True)


def _trade_id(value: Any, name: str) -> int:
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        value = int(value)
    return _int_in(value, name, 0, MAX_INT64)
