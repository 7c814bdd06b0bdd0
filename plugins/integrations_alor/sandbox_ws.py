"""The ALOR emulator's ``/ws`` (issue 14): data subscriptions over a WebSocket, driven by the
simulated market and the account ledger on the emulator's clock.

**Framing** (docs/reference/alor-api.md §8): every client message is a JSON text frame with
``opcode``, ``guid`` and ``token`` (checked in *every* message, subscribe and unsubscribe alike).
Each request is answered by one status frame, ``{"message":"Handled successfully","httpCode":200,
"requestGuid":"<guid>"}`` or an error such as ``{"requestGuid":"<guid>","httpCode":401,
"message":"Invalid JWT token!"}``; then data frames ``{"data":{...},"guid":"<guid>"}`` whose
``data`` is the REST object in the requested format.

Opcodes: ``OrderBookGetAndSubscribe``, ``QuotesSubscribe``, ``BarsGetAndSubscribe``,
``AllTradesGetAndSubscribe``, ``OrdersGetAndSubscribeV2``, ``StopOrdersGetAndSubscribeV2``,
``PositionsGetAndSubscribeV2``, ``SummariesGetAndSubscribeV2``, ``TradesGetAndSubscribeV2`` and
``unsubscribe``.

**Updates.** Time is the emulator's clock: with a :class:`~integrations.runtime.ManualClock` nothing
moves until the test advances it; with the system clock updates come in real time. An order book,
a quote or a bar is (re)sent when at least ``frequency`` ms of that clock have passed since the last
one and the data changed, and no newer value is made while the previous one still waits to be
sent (the spec: "the server returns the latest data of the interval, dropping the previous
ones"). All trades, orders, stop orders, positions, summaries and trades are events: each new or
changed one is sent.

Choices where the sources are silent (assumptions):

* Order books are sent whole, every time: the first (and the first after any resubscription) with
  ``existing: true`` (Simple also ``snapshot: true``), later ones ``existing: false``. The book keeps
  its seeded shape and moves with the simulated price, as the quotes' bid and ask do. Slim levels
  of bonds carry no yield ``y`` here.
* ``frequency`` below the format's minimum (Simple 25, Slim 10, Heavy 500 ms) is raised to it;
  default 175 ms.
* Errors: a bad or missing parameter: 400 ``Invalid value of <name>``; an unknown instrument: 404
  ``Instrument <EXCHANGE>:<code> not found``; a portfolio the token does not cover: 403
  ``Access denied to portfolio <name>``; an unknown opcode: 400 ``Unknown opcode <opcode>``; an
  ``unsubscribe`` of an unknown guid: 404 ``Subscription <guid> not found``.
* More than :data:`UNREAD_LIMIT` events waiting to be sent (the spec: "more than 5000 events in the
  buffer") close the connection with code 1008, reason ``too many unread events``.
* All trades: ``depth`` (default 0) is how many of the latest trades are sent first.

Test controls (also on the emulator): :meth:`WsService.drop_connections`,
:meth:`WsService.refuse_next_subscription`, :attr:`WsService.connections_opened`,
:meth:`WsService.messages` (each client message with the token it carried), ``unread_limit``,
``frequency_override`` (ms for every subscription whatever it asked; None: as asked; a benchmark
sets 0: as fast as the connection takes them) and :meth:`WsService.record_send_times` (a bounded
log of ``(guid, time.perf_counter())`` per data frame, taken as it is written to the socket).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, List, NamedTuple, Optional, Tuple

from . import sandbox_account as acc
from . import sandbox_market as mkt
from .sandbox_data import INSTRUMENTS, Instrument

__all__ = ["UNREAD_LIMIT", "WsMessage", "WsService"]

UNREAD_LIMIT = 5000
MIN_FREQUENCY = {"simple": 25, "slim": 10, "heavy": 500}
DEFAULT_FREQUENCY = 175
_MAX_BARS = 1000  # the most candles sent first (as a /md/v2/history page)
_POLL = 0.005  # how often (real seconds) a connection looks at the clock
_FORMATS = ("simple", "slim", "heavy")
_BY_KEY = {(i.exchange, i.symbol.upper()): i for i in INSTRUMENTS}
_OPCODE_STOP = {"OrdersGetAndSubscribeV2": False, "StopOrdersGetAndSubscribeV2": True}


class WsMessage(NamedTuple):
    """One client message as the sandbox received it."""

    at: float  #: the emulator clock
    connection: int  #: 1 for the first connection opened, and so on
    opcode: Optional[str]
    guid: Optional[str]
    token: Optional[str]
    authorized: bool


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _status(guid: Any, code: int, message: str) -> str:
    if code == 200:
        body = {"message": message, "httpCode": 200, "requestGuid": guid}
    else:
        body = {"requestGuid": guid, "httpCode": code, "message": message}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _frame(guid: str, data: Any) -> str:
    """A data frame; ``data`` is an object, or its JSON text already."""
    text = data if isinstance(data, str) else acc._dumps(data)
    return '{"data":' + text + ',"guid":' + json.dumps(guid) + "}"


def _param(msg: Dict[str, Any], name: str, kind: type, default: Any = None, required: bool = False) -> Any:
    value = msg.get(name)
    if value is None:
        if required:
            raise _Refused(400, f"Invalid value of {name}")
        return default
    if kind is int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Refused(400, f"Invalid value of {name}")
    elif kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise _Refused(400, f"Invalid value of {name}")
    elif not isinstance(value, str) or not value:
        raise _Refused(400, f"Invalid value of {name}")
    return value


# -- subscriptions ---------------------------------------------------------------------------------


class _Sub:
    """One live subscription: what it sends first and what it sends as time passes."""

    conflate = False  #: a newer value replaces one still waiting to be sent
    periodic = False  #: sent at most every ``frequency`` of the clock

    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        self.service = service
        self.emulator = service.emulator
        self.guid = guid
        self.fmt = fmt
        self.exchange = str(msg.get("exchange") or "").upper()
        if self.exchange not in ("MOEX", "SPBX"):
            raise _Refused(400, "Invalid value of exchange")
        self.frequency = 0.0
        self.last_at = now
        self.last: Any = None
        self.pending: Optional[List[Any]] = None  # an entry of the outbound queue not sent yet

    def snapshot(self, now: float) -> List[Any]:
        raise NotImplementedError

    def updates(self, now: float) -> List[Any]:
        raise NotImplementedError

    def due(self, now: float) -> bool:
        return not self.periodic or now - self.last_at >= self.frequency

    def _frequency(self, msg: Dict[str, Any]) -> None:
        ms = max(_param(msg, "frequency", int, DEFAULT_FREQUENCY), MIN_FREQUENCY[self.fmt])
        override = self.service.frequency_override
        self.frequency = (ms if override is None else max(0, override)) / 1000.0


class _Market(_Sub):
    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        super().__init__(service, guid, msg, fmt, now)
        code = _param(msg, "code", str, required=True)
        inst = _BY_KEY.get((self.exchange, code.upper()))
        group = msg.get("instrumentGroup")
        if inst is None or (group and str(group).upper() != inst.board):
            raise _Refused(404, f"Instrument {self.exchange}:{code} not found")
        self.inst: Instrument = inst
        self.market: mkt.MarketSim = self.emulator.market
        self.book = self.emulator._market[(inst.exchange, inst.symbol.upper())]


class _OrderBook(_Market):
    conflate = periodic = True

    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        super().__init__(service, guid, msg, fmt, now)
        self.depth = _param(msg, "depth", int, 20)
        if not 1 <= self.depth <= 50:
            raise _Refused(400, "Invalid value of depth")
        self._frequency(msg)
        self._levels: Dict[int, Tuple[str, str]] = {}

    def _render(self, now: float, existing: bool) -> str:
        """The book as JSON text; the levels' text is kept per price shift (it changes only when
        the simulated price does), so a frame costs little more than its timestamp."""
        inst, path = self.inst, self.market.path(self.inst)
        shift_ticks = path.last_ticks(now) - path.mid
        levels = self._levels.get(shift_ticks)
        if levels is None:
            shift = shift_ticks * inst.step
            pk, vk = ("p", "v") if self.fmt == "slim" else ("price", "volume")

            def side(rows: List[Tuple[Any, int]]) -> str:
                return acc._dumps([{pk: mkt._num(p + shift), vk: v} for p, v in rows[: self.depth]])

            levels = self._levels[shift_ticks] = (side(self.book.bids), side(self.book.asks))
            if len(self._levels) > 64:
                self._levels.pop(next(iter(self._levels)))
        bids, asks = levels
        ms = int(now * 1000)
        flag = "true" if existing else "false"
        if self.fmt == "slim":
            return f'{{"b":{bids},"a":{asks},"t":{ms},"h":{flag}}}'
        if self.fmt == "heavy":
            return f'{{"bids":{bids},"asks":{asks},"msTimestamp":{ms},"existing":{flag}}}'
        return (
            f'{{"snapshot":{flag},"bids":{bids},"asks":{asks},"timestamp":{ms // 1000},'
            f'"ms_timestamp":{ms},"existing":{flag}}}'
        )

    def snapshot(self, now: float) -> List[Any]:
        return [self._render(now, True)]

    def updates(self, now: float) -> List[Any]:
        return [self._render(now, False)]


class _Quotes(_Market):
    conflate = periodic = True

    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        super().__init__(service, guid, msg, fmt, now)
        self._frequency(msg)

    def snapshot(self, now: float) -> List[Any]:
        self.last = mkt._quote_json(self.market, self.inst, self.book, now, self.fmt)
        return [self.last]

    def updates(self, now: float) -> List[Any]:
        quote = mkt._quote_json(self.market, self.inst, self.book, now, self.fmt)
        changed = {k: v for k, v in quote.items() if k not in ("ob_ms_timestamp", "obMsTimestamp")}
        previous = {
            k: v for k, v in (self.last or {}).items() if k not in ("ob_ms_timestamp", "obMsTimestamp")
        }
        if changed == previous:
            return []
        self.last = quote
        return [quote]


class _Bars(_Market):
    periodic = True

    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        super().__init__(service, guid, msg, fmt, now)
        tf = mkt._timeframe(str(msg.get("tf") or ""))
        if tf is None:
            raise _Refused(400, "Invalid value of tf")
        self.tf = tf
        self.start = _param(msg, "from", int, required=True)
        self.skip = _param(msg, "skipHistory", bool, False)
        _param(msg, "splitAdjust", bool, True)
        self._frequency(msg)
        self.sent: Dict[int, Any] = {}  # candle start -> the last values sent

    def _candle(self, start: int, now: float) -> Optional[Dict[str, Any]]:
        lo, hi = mkt._bucket(self.tf, start)
        agg = self.market.aggregate(self.inst, lo, hi, now)
        if agg is None:
            return None
        step = self.inst.step
        values = {
            "time": lo,
            "open": mkt._num(agg.open * step),
            "high": mkt._num(agg.high * step),
            "low": mkt._num(agg.low * step),
            "close": mkt._num(agg.close * step),
            "volume": agg.volume,
        }
        return mkt._render(values, mkt._CANDLE_LAYOUT, self.fmt)

    def _starts(self, begin: float, now: float) -> List[int]:
        t = mkt._bucket(self.tf, int(max(begin, self.market.history_start(now))))[0]
        starts = []
        while t <= now:
            starts.append(t)
            t = mkt._bucket(self.tf, t)[1]
        return starts[-_MAX_BARS:]

    def snapshot(self, now: float) -> List[Any]:
        out = []
        current = mkt._bucket(self.tf, int(now))[0]
        for start in self._starts(self.start, now):
            candle = self._candle(start, now)
            if candle is not None:
                self.sent[start] = candle
                if not self.skip or start == current:
                    out.append(candle)
        self.last = current
        return out

    def updates(self, now: float) -> List[Any]:
        out = []
        current = mkt._bucket(self.tf, int(now))[0]
        for start in self._starts(self.last if self.last is not None else current, now):
            candle = self._candle(start, now)
            if candle is not None and self.sent.get(start) != candle:
                self.sent[start] = candle
                out.append(candle)
        for start in [s for s in self.sent if s < current]:
            if start != self.last:
                del self.sent[start]
        self.last = current
        return out


class _AllTrades(_Market):
    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        super().__init__(service, guid, msg, fmt, now)
        self.depth = _param(msg, "depth", int, 0)
        if not 0 <= self.depth <= 5000:
            raise _Refused(400, "Invalid value of depth")
        _param(msg, "includeVirtualTrades", bool, False)
        self.last_ms = int(now * 1000)

    def snapshot(self, now: float) -> List[Any]:
        out = []
        if self.depth:
            latest = []
            for trade in self.market.trades(self.inst, now - 86400, now + 0.001, now, descending=True):
                latest.append(trade)
                if len(latest) >= self.depth:
                    break
            out = [mkt._trade_json(self.inst, t, self.fmt) for t in reversed(latest)]
        self.last_ms = int(now * 1000)
        return out

    def updates(self, now: float) -> List[Any]:
        t0 = (self.last_ms + 1) / 1000.0
        trades = list(self.market.trades(self.inst, t0, now + 0.001, now))
        self.last_ms = max(int(now * 1000), self.last_ms)
        return [mkt._trade_json(self.inst, t, self.fmt) for t in trades]


class _Account(_Sub):
    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        super().__init__(service, guid, msg, fmt, now)
        self.portfolio = _param(msg, "portfolio", str, required=True)
        principal = msg["_principal"]
        if self.portfolio not in principal.portfolios:
            raise _Refused(403, f"Access denied to portfolio {self.portfolio}")
        self.skip = _param(msg, "skipHistory", bool, False)
        self.seen: Dict[Any, Any] = {}

    def items(self, now: float) -> List[Tuple[Any, Any]]:
        """(key, data) of every object of the stream now."""
        raise NotImplementedError

    def snapshot(self, now: float) -> List[Any]:
        items = self.items(now)
        self.seen = dict(items)
        return [] if self.skip else [data for _, data in items]

    def updates(self, now: float) -> List[Any]:
        out = []
        for key, data in self.items(now):
            if self.seen.get(key) != data:
                self.seen[key] = data
                out.append(_live(data))
        return out


class _Orders(_Account):
    def __init__(self, service: WsService, guid: str, msg: Dict[str, Any], fmt: str, now: float) -> None:
        super().__init__(service, guid, msg, fmt, now)
        self.stop = _OPCODE_STOP[msg["opcode"]]
        statuses = msg.get("orderStatuses") or []
        if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
            raise _Refused(400, "Invalid value of orderStatuses")
        self.statuses = {s.lower() for s in statuses}

    def items(self, now: float) -> List[Tuple[Any, Any]]:
        return [
            (number, order.to_json(self.fmt))
            for number, order in self.emulator._orders.items()
            if order.matches(self.portfolio, self.exchange, self.stop)
            and (not self.statuses or order.status.lower() in self.statuses)
        ]


class _Positions(_Account):
    def items(self, now: float) -> List[Tuple[Any, Any]]:
        view = acc._View(self.emulator, self.portfolio, now)
        return [
            ((p["exchange"], p["symbol"]), acc._render(p, acc._POSITION, self.fmt))
            for p in view.positions(self.exchange, False)
        ]


class _Summaries(_Account):
    def items(self, now: float) -> List[Tuple[Any, Any]]:
        values = acc._View(self.emulator, self.portfolio, now).summary(self.exchange)
        body = acc._render(values, acc._SUMMARY, self.fmt)
        key = "bpv2" if self.fmt == "slim" else "buyingPowerByCurrency"
        body[key] = [acc._render(v, acc._CURRENCY_POWER, self.fmt) for v in values["buyingPowerByCurrency"]]
        return [("summary", body)]


class _Trades(_Account):
    def items(self, now: float) -> List[Tuple[Any, Any]]:
        start = acc.session_start(now)
        return [
            (fill.id, acc._render(acc._trade(self.emulator, fill), acc._TRADE, self.fmt))
            for fill in self.emulator.ledger.fills_of(self.portfolio)
            if fill.at >= start and fill.inst.exchange == self.exchange
        ]


def _live(data: Any) -> Any:
    """An update after the first answer: ``existing`` (Slim ``h``) false, as for new events."""
    if isinstance(data, dict):
        for key in ("existing", "h"):
            if isinstance(data.get(key), bool):
                return {**data, key: False}
    return data


_KINDS = {
    "OrderBookGetAndSubscribe": _OrderBook,
    "QuotesSubscribe": _Quotes,
    "BarsGetAndSubscribe": _Bars,
    "AllTradesGetAndSubscribe": _AllTrades,
    "OrdersGetAndSubscribeV2": _Orders,
    "StopOrdersGetAndSubscribeV2": _Orders,
    "PositionsGetAndSubscribeV2": _Positions,
    "SummariesGetAndSubscribeV2": _Summaries,
    "TradesGetAndSubscribeV2": _Trades,
}


# -- connections -----------------------------------------------------------------------------------


class _Connection:
    def __init__(self, service: WsService, number: int, ws: Any) -> None:
        self.service = service
        self.number = number
        self.ws = ws
        self.subs: Dict[str, _Sub] = {}
        self.out: Deque[List[Any]] = deque()  # entries [guid or None, text]
        self.cond = threading.Condition(service._lock)
        self.closed = False

    # Called with the service lock held.
    def put(self, guid: Optional[str], text: str) -> List[Any]:
        entry = [guid, text]
        self.out.append(entry)
        self.cond.notify_all()
        return entry

    def abort(self) -> None:
        """End the TCP connection at once (no close frame): a dropped connection."""
        self.closed = True
        self.cond.notify_all()
        sock = getattr(self.ws, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class WsService:
    """The ``/ws`` service of one :class:`~integrations_alor.sandbox.AlorEmulator`."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self._lock = threading.Lock()
        self._connections: Dict[int, _Connection] = {}
        self._numbers = itertools.count(1)
        self._refusals: Deque[Tuple[int, str]] = deque()
        self._messages: Deque[WsMessage] = deque(maxlen=10_000)
        self.connections_opened = 0
        self.unread_limit = UNREAD_LIMIT
        self.frequency_override: Optional[int] = None
        self.send_times: Optional[Deque[Tuple[str, float]]] = None

    # -- test controls ---------------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Drop every open connection (a TCP shutdown, no close frame); returns how many."""
        with self._lock:
            connections = list(self._connections.values())
            for conn in connections:
                conn.abort()
        return len(connections)

    def refuse_next_subscription(self, status: int = 400, message: str = "Subscription refused") -> None:
        """Answer the next subscribe request (of any connection) with ``status`` and ``message``."""
        with self._lock:
            self._refusals.append((int(status), str(message)))

    def messages(self) -> List[WsMessage]:
        """Every client message received (the last 10 000), oldest first, with the token it carried."""
        with self._lock:
            return list(self._messages)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def record_send_times(self, limit: int = 1_000_000) -> None:
        """Keep ``(guid, time.perf_counter())`` of each data frame as it is sent (benchmarks)."""
        with self._lock:
            self.send_times = deque(maxlen=limit)

    # -- the handler -----------------------------------------------------------------------------

    def handler(self, ws: Any) -> None:
        """Serve one WebSocket connection (called by the sandbox's WebSocket server)."""
        from websockets.exceptions import ConnectionClosed

        with self._lock:
            self.connections_opened += 1
            conn = _Connection(self, next(self._numbers), ws)
            self._connections[conn.number] = conn
        threads = [
            threading.Thread(target=self._write, args=(conn,), name="alor-sandbox-ws-write", daemon=True),
            threading.Thread(target=self._push, args=(conn,), name="alor-sandbox-ws-push", daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            while not conn.closed:
                try:
                    text = ws.recv(timeout=0.05)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    break
                self._receive(conn, text if isinstance(text, str) else bytes(text).decode("utf-8", "replace"))
        finally:
            with self._lock:
                conn.closed = True
                conn.cond.notify_all()
                self._connections.pop(conn.number, None)
            with contextlib.suppress(Exception):
                ws.close()
            for thread in threads:
                thread.join(5.0)

    def _receive(self, conn: _Connection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            with self._lock:
                conn.put(None, _status(None, 400, "Invalid JSON"))
            return
        opcode, guid, token = msg.get("opcode"), msg.get("guid"), msg.get("token")
        principal = self.emulator._principal(token) if isinstance(token, str) and token else None
        now = self.emulator._clock.now()
        with self._lock:
            self._messages.append(WsMessage(now, conn.number, opcode, guid, token, principal is not None))
            if principal is None:
                conn.put(None, _status(guid, 401, "Invalid JWT token!"))
                return
            if not isinstance(guid, str) or not guid:
                conn.put(None, _status(guid, 400, "Invalid value of guid"))
                return
            if opcode == "unsubscribe":
                sub = conn.subs.pop(guid, None)
                if sub is None:
                    conn.put(None, _status(guid, 404, f"Subscription {guid} not found"))
                else:
                    for entry in conn.out:  # queued but not sent: never sent after the unsubscribe
                        if entry[0] == guid:
                            entry[1] = None
                    conn.put(None, _status(guid, 200, "Handled successfully"))
                return
            kind = _KINDS.get(opcode) if isinstance(opcode, str) else None
            if kind is None:
                conn.put(None, _status(guid, 400, f"Unknown opcode {opcode}"))
                return
            if self._refusals:
                status, message = self._refusals.popleft()
                conn.put(None, _status(guid, status, message))
                return
            fmt = str(msg.get("format") or "Simple").lower()
            try:
                if fmt not in _FORMATS:
                    raise _Refused(400, "Invalid value of format")
                with self.emulator._lock:
                    self.emulator.settle()
                    sub = kind(self, guid, {**msg, "_principal": principal}, fmt, now)
                    first = sub.snapshot(now)
            except _Refused as refused:
                conn.put(None, _status(guid, refused.status, refused.message))
                return
            conn.subs[guid] = sub  # a repeated guid replaces the subscription
            conn.put(None, _status(guid, 200, "Handled successfully"))
            for data in first:
                conn.put(guid, _frame(guid, data))
            sub.last_at = now

    def _push(self, conn: _Connection) -> None:
        """Send what the clock's advance produced, at each subscription's frequency."""
        clock = self.emulator._clock
        with self._lock:
            while not conn.closed:
                now = clock.now()
                wait = _POLL
                due = [s for s in conn.subs.values() if s.due(now)]
                if due:
                    with self.emulator._lock:
                        self.emulator.settle()
                        for sub in due:
                            if sub.conflate and sub.pending is not None and sub.pending[1] is not None:
                                wait = _POLL / 5  # not sent yet: the writer is behind
                                continue
                            produced = sub.updates(now)
                            sub.last_at = now
                            for data in produced:
                                entry = conn.put(sub.guid, _frame(sub.guid, data))
                                if sub.conflate:
                                    sub.pending = entry
                if len(conn.out) > self.unread_limit:
                    conn.closed = True
                    conn.cond.notify_all()
                    threading.Thread(
                        target=_close, args=(conn.ws, 1008, "too many unread events"), daemon=True
                    ).start()
                    return
                conn.cond.wait(wait)

    def _write(self, conn: _Connection) -> None:
        while True:
            with self._lock:
                while not conn.out and not conn.closed:
                    conn.cond.wait(0.5)
                if conn.closed:
                    return
                entry = conn.out.popleft()
                guid, text = entry
                entry[1] = None  # taken: a conflating subscription may queue the next one
                times = self.send_times
            if text is None:
                continue
            try:
                conn.ws.send(text)
            except Exception:  # noqa: BLE001 - the connection is gone: the handler ends it
                with self._lock:
                    conn.closed = True
                    conn.cond.notify_all()
                return
            if times is not None and guid is not None:
                times.append((guid, time.perf_counter()))
            with self._lock:
                conn.cond.notify_all()


def _close(ws: Any, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        ws.close(code, reason)
