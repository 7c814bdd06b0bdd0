"""ALOR's ``/ws`` subscriptions on the facade (issue 14): ``subscribe_*`` methods returning a
:class:`~integrations_alor.stream.Subscription` of the same attrs models the REST methods return.

>>> with alor.subscribe_orderbook("MOEX", "SBER", depth=10, timeout=5) as stream:
...     for book in stream:          # OrderBook models; raises Timeout after 5 s without one
...         print(book.best_bid)

Every argument is validated before anything is sent (:class:`~integrations.errors.ValidationError`).
The options every method shares:

* ``on_update``: a callable receiving each model (and each :class:`~integrations_alor.stream.Gap`)
  on the client's reader thread, instead of iteration;
* ``timeout``: seconds ``for item in subscription`` waits for one item (None: no limit) before
  raising :class:`~integrations.errors.Timeout`; ``subscription.next(timeout=...)`` takes its own;
* ``gaps``: ``"raise"`` (:class:`~integrations_alor.stream.StreamGap` from ``next()`` at a gap) or
  ``"marker"`` (the :class:`~integrations_alor.stream.Gap` is an item);
* ``max_pending``: how many items wait for a slow consumer before the oldest are dropped (a
  ``Gap("overflow")`` takes their place).

The threading model, reconnects and closing are described in :mod:`integrations_alor.stream`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

from integrations._lazy import lazy_module
from integrations.errors import ValidationError
from integrations.validation import show as _show

from .api_market import _timeframe, _unix
from .base import AlorBase
from .checks import _PORTFOLIO, _TICKER, FORMATS, _bool, _exchange, _int_in, _token
from .models import structure_orderbook
from .provider import STREAM_MAX_PENDING as MAX_PENDING

if TYPE_CHECKING:
    from . import models_account as _account_models
    from . import models_market as _market_models
    from . import stream as _stream_module
    from .stream import Streams, Subscription
else:
    # Imported by the first subscription: a client that only calls REST never loads them.
    _account_models = lazy_module(__package__ + ".models_account")
    _market_models = lazy_module(__package__ + ".models_market")
    _stream_module = lazy_module(__package__ + ".stream")


__all__ = ["StreamMethods"]

_STREAMS_LOCK = threading.Lock()
MIN_FREQUENCY = {"Simple": 25, "Slim": 10, "Heavy": 500}
ORDER_STATUSES = ("working", "filled", "canceled", "rejected")
Callback = Optional[Callable[[Any], Any]]


def _format(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in FORMATS:
        raise ValidationError(f"format must be Simple, Slim or Heavy, not {_show(value)}")
    return FORMATS[value.lower()]


def _candle(data: Any) -> Any:
    return _market_models.structure_candles({"history": [data]}).candles[0]


class StreamMethods(AlorBase):
    """WebSocket subscriptions. One connection per client, shared by every subscription."""

    @property
    def streams(self) -> Streams:
        """The client's subscription manager (its connection, reader thread and counters)."""
        streams: Optional[Streams] = self.__dict__.get("_streams")
        if streams is None:
            with _STREAMS_LOCK:
                streams = self.__dict__.get("_streams")
                if streams is None:
                    streams = self.__dict__["_streams"] = _stream_module.Streams(self._client)
        return streams

    def close(self) -> None:
        """Stop streaming (unsubscribe, close the socket, join the reader), then release the
        connection pool. Idempotent."""
        streams: Optional[Streams] = self.__dict__.get("_streams")
        try:
            if streams is not None:
                streams.close()
        finally:
            super().close()

    # -- shared plumbing -------------------------------------------------------------------------

    def _subscribe(
        self,
        opcode: str,
        fields: Dict[str, Any],
        structure: Callable[[Any], Any],
        on_update: Callback,
        timeout: Any,
        gaps: Any,
        max_pending: Any,
    ) -> Subscription:
        if on_update is not None and not callable(on_update):
            raise ValidationError(f"on_update must be callable, not {_show(on_update)}")
        if gaps not in ("raise", "marker"):
            raise ValidationError(f"gaps must be 'raise' or 'marker', not {_show(gaps)}")
        pending = _int_in(max_pending, "max_pending", 1, 10_000_000)
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
                raise ValidationError(
                    f"timeout must be a positive number of seconds or None, not {_show(timeout)}"
                )
            if timeout != timeout or timeout == float("inf"):
                raise ValidationError(f"timeout must be finite, not {_show(timeout)}")
        return self.streams.subscribe(
            opcode,
            fields,
            structure,
            on_update=on_update,
            gaps=gaps,
            max_pending=pending,
            timeout=None if timeout is None else float(timeout),
        )

    def _market_fields(
        self, exchange: Any, symbol: Any, instrument_group: Any, fmt: Any
    ) -> tuple[Dict[str, Any], str]:
        fields: Dict[str, Any] = {"code": _token(symbol, "symbol", _TICKER), "exchange": _exchange(exchange)}
        if instrument_group is not None:
            fields["instrumentGroup"] = _token(instrument_group, "instrument_group", _TICKER)
        return fields, _format(fmt)

    @staticmethod
    def _frequency(value: Any, wire_format: str) -> Optional[int]:
        if value is None:
            return None
        return _int_in(value, "frequency", MIN_FREQUENCY[wire_format], 86_400_000)

    # -- market data -----------------------------------------------------------------------------

    def subscribe_orderbook(
        self,
        exchange: str,
        symbol: str,
        *,
        depth: int = 20,
        format: str = "Simple",  # noqa: A002 - the API's own parameter name
        frequency: Optional[int] = None,
        instrument_group: Optional[str] = None,
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """Order books of ``exchange:symbol`` (``OrderBookGetAndSubscribe``): :class:`OrderBook`
        models, the full book first (``existing`` true) and after every reconnect. ``depth`` 1..50;
        ``frequency`` ms, at least 25 (Simple), 10 (Slim) or 500 (Heavy); None: the server's 175."""
        fields, fmt = self._market_fields(exchange, symbol, instrument_group, format)
        fields["depth"] = _int_in(depth, "depth", 1, 50)
        fields["format"] = fmt
        frequency = self._frequency(frequency, fmt)
        if frequency is not None:
            fields["frequency"] = frequency
        return self._subscribe(
            "OrderBookGetAndSubscribe",
            fields,
            lambda data: structure_orderbook(data, fmt),
            on_update,
            timeout,
            gaps,
            max_pending,
        )

    def subscribe_quotes(
        self,
        exchange: str,
        symbol: str,
        *,
        format: str = "Simple",  # noqa: A002
        frequency: Optional[int] = None,
        instrument_group: Optional[str] = None,
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """Quotes of ``exchange:symbol`` (``QuotesSubscribe``): :class:`Quote` models."""
        fields, fmt = self._market_fields(exchange, symbol, instrument_group, format)
        fields["format"] = fmt
        frequency = self._frequency(frequency, fmt)
        if frequency is not None:
            fields["frequency"] = frequency
        return self._subscribe(
            "QuotesSubscribe", fields, _market_models.structure_quote, on_update, timeout, gaps, max_pending
        )

    def subscribe_bars(
        self,
        exchange: str,
        symbol: str,
        tf: Union[int, str],
        *,
        from_: Any,
        skip_history: bool = False,
        split_adjust: bool = True,
        format: str = "Simple",  # noqa: A002
        frequency: Optional[int] = None,
        instrument_group: Optional[str] = None,
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """Candles of timeframe ``tf`` (seconds, or D, W, M, Y) from ``from_`` (an aware datetime
        or Unix seconds) on (``BarsGetAndSubscribe``): :class:`Candle` models; the current candle
        is sent again whenever it changes."""
        fields, fmt = self._market_fields(exchange, symbol, instrument_group, format)
        fields["tf"] = _timeframe(tf)
        fields["from"] = _unix(from_, "from_")
        fields["skipHistory"] = _bool(skip_history, "skip_history")
        fields["splitAdjust"] = _bool(split_adjust, "split_adjust")
        fields["format"] = fmt
        frequency = self._frequency(frequency, fmt)
        if frequency is not None:
            fields["frequency"] = frequency
        return self._subscribe("BarsGetAndSubscribe", fields, _candle, on_update, timeout, gaps, max_pending)

    def subscribe_all_trades(
        self,
        exchange: str,
        symbol: str,
        *,
        depth: int = 0,
        include_virtual_trades: bool = False,
        format: str = "Simple",  # noqa: A002
        instrument_group: Optional[str] = None,
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """Every trade of ``exchange:symbol`` (``AllTradesGetAndSubscribe``): :class:`AllTrade`
        models, the latest ``depth`` (0..5000) first."""
        fields, fmt = self._market_fields(exchange, symbol, instrument_group, format)
        fields["depth"] = _int_in(depth, "depth", 0, 5000)
        fields["includeVirtualTrades"] = _bool(include_virtual_trades, "include_virtual_trades")
        fields["format"] = fmt
        return self._subscribe(
            "AllTradesGetAndSubscribe",
            fields,
            _market_models.structure_all_trade,
            on_update,
            timeout,
            gaps,
            max_pending,
        )

    # -- account ---------------------------------------------------------------------------------

    def _account(
        self,
        opcode: str,
        model: str,
        portfolio: Any,
        exchange: Any,
        skip_history: Any,
        fmt: Any,
        on_update: Callback,
        timeout: Any,
        gaps: Any,
        max_pending: Any,
        extra: Optional[Dict[str, Any]] = None,
    ) -> Subscription:
        wire = _format(fmt)
        fields: Dict[str, Any] = {
            "portfolio": _token(portfolio, "portfolio", _PORTFOLIO),
            "exchange": _exchange(exchange),
            **(extra or {}),
            "skipHistory": _bool(skip_history, "skip_history"),
            "format": wire,
        }
        return self._subscribe(
            opcode,
            fields,
            lambda data: _account_models.structure_account(data, getattr(_account_models, model), wire),
            on_update,
            timeout,
            gaps,
            max_pending,
        )

    @staticmethod
    def _statuses(value: Any) -> Dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, str) or not all(
            isinstance(s, str) and s.lower() in ORDER_STATUSES for s in value
        ):
            raise ValidationError(
                f"order_statuses must be a list of {', '.join(ORDER_STATUSES)}, not {_show(value)}"
            )
        return {"orderStatuses": [s.lower() for s in value]}

    def subscribe_orders(
        self,
        portfolio: str,
        *,
        exchange: str,
        order_statuses: Optional[List[str]] = None,
        skip_history: bool = False,
        format: str = "Simple",  # noqa: A002
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """Orders of ``portfolio`` on ``exchange`` (``OrdersGetAndSubscribeV2``): :class:`Order`
        models, the existing ones first (unless ``skip_history``), then each new or changed one."""
        return self._account(
            "OrdersGetAndSubscribeV2", "Order", portfolio, exchange, skip_history, format,
            on_update, timeout, gaps, max_pending, self._statuses(order_statuses),
        )  # fmt: skip

    def subscribe_stop_orders(
        self,
        portfolio: str,
        *,
        exchange: str,
        order_statuses: Optional[List[str]] = None,
        skip_history: bool = False,
        format: str = "Simple",  # noqa: A002
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """Stop orders (``StopOrdersGetAndSubscribeV2``): :class:`StopOrder` models."""
        return self._account(
            "StopOrdersGetAndSubscribeV2", "StopOrder", portfolio, exchange, skip_history, format,
            on_update, timeout, gaps, max_pending, self._statuses(order_statuses),
        )  # fmt: skip

    def subscribe_positions(
        self,
        portfolio: str,
        *,
        exchange: str,
        skip_history: bool = False,
        format: str = "Simple",  # noqa: A002
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """Positions (``PositionsGetAndSubscribeV2``): :class:`Position` models, each changed one."""
        return self._account(
            "PositionsGetAndSubscribeV2", "Position", portfolio, exchange, skip_history, format,
            on_update, timeout, gaps, max_pending,
        )  # fmt: skip

    def subscribe_summaries(
        self,
        portfolio: str,
        *,
        exchange: str,
        skip_history: bool = False,
        format: str = "Simple",  # noqa: A002
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """The portfolio summary (``SummariesGetAndSubscribeV2``): :class:`Summary` models."""
        return self._account(
            "SummariesGetAndSubscribeV2", "Summary", portfolio, exchange, skip_history, format,
            on_update, timeout, gaps, max_pending,
        )  # fmt: skip

    def subscribe_trades(
        self,
        portfolio: str,
        *,
        exchange: str,
        skip_history: bool = False,
        format: str = "Simple",  # noqa: A002
        on_update: Callback = None,
        timeout: Optional[float] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
    ) -> Subscription:
        """The portfolio's trades (``TradesGetAndSubscribeV2``): :class:`Trade` models."""
        return self._account(
            "TradesGetAndSubscribeV2", "Trade", portfolio, exchange, skip_history, format,
            on_update, timeout, gaps, max_pending,
        )  # fmt: skip
