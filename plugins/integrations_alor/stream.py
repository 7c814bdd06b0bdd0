"""ALOR's ``/ws`` data subscriptions from synchronous code (issue 14): the subscription manager an
:class:`~integrations_alor.AlorClient` owns, and the :class:`Subscription` it hands out.

**Threading model.** A client holds at most one WebSocket connection, opened on the first subscribe
(through :func:`integrations.websocket.open_websocket`: the REST transport's proxy, CA bundle,
client certificate and connect timeout) and shared by all its subscriptions. One daemon thread per
connection (``alor-stream``) reads every frame, routes it by ``guid`` to its subscription, and
either queues it (iteration) or calls the subscription's ``on_update`` (callbacks run on that
thread: keep them short; an exception in one is logged and counted in ``callback_errors``, never
stops the stream). Items are turned into models in the consumer's thread (iteration) or the reader
thread (callbacks). Every message sent (subscribe, unsubscribe) carries the access token of
``client.token()`` at that moment (single flight), so a renewed token is used by the next message.

**Slow consumers.** Each subscription queues at most ``max_pending`` items (default 10 000). When
it is full the *oldest* item is dropped and a :class:`Gap` marker (``reason="overflow"``,
``dropped`` counting them) stands in its place: a gap is never silent.

**Reconnects.** When the connection drops (or the server closes it, e.g. for more than 5000 unread
events) every live subscription first gets a :class:`Gap` (``reason="reconnect"``); then the
reader reconnects with exponential backoff (0.25 s doubling to at most 30 s, each delay drawn
uniformly from its upper half: jitter), at most :data:`MAX_RECONNECT_ATTEMPTS` attempts in a row,
and resubscribes every live subscription under a new guid. What follows is the server's first
answer again: for an order book, the full book. If reconnecting fails, each subscription's ``next``
raises the last :class:`~integrations.errors.ConnectionError` and the subscription ends.

**Gaps in iteration.** With ``gaps="raise"`` (the default) ``next()`` raises :class:`StreamGap`
once per gap (the subscription goes on: call ``next()`` or iterate again); with ``gaps="marker"``
the :class:`Gap` is returned as an item. Callbacks always receive the :class:`Gap` object.

**Errors.** A subscription the server refuses raises the mapped error from ``subscribe_*``:
:class:`~integrations.errors.Rejected` (400 and other 4xx), ``PermissionDenied`` (403),
``NotFound`` (404), ``RateLimited`` (429), ``ServiceUnavailable`` (5xx). A 401 renews the token
once and subscribes again; a second 401 raises ``AccessTokenRejected``. No status within the
client's read timeout raises :class:`~integrations.errors.Timeout` (and the request is withdrawn).

**Closing.** ``Subscription.close()`` (or leaving its ``with`` block) sends ``unsubscribe``;
closing the last subscription, or the client, closes the socket and joins the reader thread
within :data:`JOIN_TIMEOUT` seconds, whatever state it is in.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from decimal import Decimal
from typing import Any, Callable, Deque, Dict, Iterator, Optional

import attrs

from integrations import errors
from integrations import websocket as _websocket

from .provider import NAME, STREAM_MAX_PENDING

__all__ = [
    "JOIN_TIMEOUT",
    "MAX_PENDING",
    "MAX_RECONNECT_ATTEMPTS",
    "Gap",
    "StreamClosed",
    "StreamGap",
    "Streams",
    "Subscription",
]

log = logging.getLogger(__name__)

MAX_PENDING = STREAM_MAX_PENDING
MAX_RECONNECT_ATTEMPTS = 10
BACKOFF_FIRST = 0.25
BACKOFF_MAX = 30.0
JOIN_TIMEOUT = 5.0
_READ_SLICE = 0.25  # the reader wakes at least this often (real seconds) to notice a close


@attrs.frozen
class Gap:
    """Updates may be missing here. ``reason``: ``"reconnect"`` (the connection dropped; the
    subscription is being renewed, and its first answer, e.g. a full order book, follows) or
    ``"overflow"`` (the consumer was too slow: ``dropped`` items were discarded, oldest first)."""

    reason: str
    dropped: int = 0


class StreamGap(errors.IntegrationError):
    """Raised once by :meth:`Subscription.next` for each :class:`Gap` (``gaps="raise"``); the
    subscription goes on. ``gap`` is the marker."""

    def __init__(self, gap: Gap) -> None:
        detail = f", {gap.dropped} update(s) dropped" if gap.dropped else ""
        super().__init__(f"alor stream: updates may be missing ({gap.reason}{detail})")
        self.gap = gap


class StreamClosed(errors.IntegrationError):
    """Raised by :meth:`Subscription.next` once the subscription is closed (iteration just stops)."""


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_STATUS_ERRORS = {
    400: errors.Rejected,
    401: errors.AccessTokenRejected,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    429: errors.RateLimited,
}


def _status_error(code: Any, message: Any, what: str) -> errors.IntegrationError:
    text = f"{what}: the server refused the subscription: {message}"
    if isinstance(code, int) and code >= 500:
        return errors.ServiceUnavailable(text, status=code, provider=NAME, outcome_unknown=False)
    if not isinstance(code, int) or isinstance(code, bool):
        return errors.ProtocolError(f"{what}: a status frame without an httpCode: {message}", provider=NAME)
    cls = _STATUS_ERRORS.get(code, errors.Rejected)
    return cls(text, provider=NAME, status=code, raw=str(message))


class Subscription:
    """One live subscription: a context manager and an iterator of models.

    ``next(timeout=None)`` returns the next item, waiting at most ``timeout`` real seconds (None:
    until one comes or the subscription closes); it raises :class:`~integrations.errors.Timeout`
    when none came, :class:`StreamGap` at a gap (unless ``gaps="marker"``), :class:`StreamClosed`
    once closed, and the error that ended the subscription (once). ``for item in subscription``
    calls ``next(self.timeout)`` (the ``timeout=`` given to ``subscribe_*``) and stops when the
    subscription is closed.
    """

    def __init__(
        self,
        streams: Streams,
        opcode: str,
        fields: Dict[str, Any],
        structure: Callable[[Any], Any],
        *,
        on_update: Optional[Callable[[Any], Any]],
        gaps: str,
        max_pending: int,
        timeout: Optional[float],
    ) -> None:
        self._streams = streams
        self.opcode = opcode
        self.fields = fields
        self._structure = structure
        self.on_update = on_update
        self.gaps = gaps
        self.max_pending = max_pending
        self.timeout = timeout
        self.guid = ""
        self.callback_errors = 0
        #: The error that ended a callback subscription (refused resubscription, reconnects gave up).
        self.error: Optional[BaseException] = None
        self._cond = threading.Condition()
        self._items: Deque[Any] = deque()
        self._closed = False
        # Set by the reader: the status of the current (re)subscription.
        self._ack = threading.Event()
        self._error: Optional[errors.IntegrationError] = None
        self._renewed = False
        self._sent_token: Any = None

    # -- consumer side ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """How many items (gap markers included) wait to be taken by ``next()``."""
        with self._cond:
            return len(self._items)

    def next(self, timeout: Optional[float] = None) -> Any:
        """The next item (a model, or a :class:`Gap` with ``gaps="marker"``); see the class."""
        if self.on_update is not None:
            raise errors.ValidationError(
                "this subscription delivers to on_update; it has no items to iterate"
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self._closed:
                    raise StreamClosed(f"alor stream {self.opcode}: the subscription is closed")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise errors.Timeout(
                        f"alor stream {self.opcode}: no update within {timeout:g} s",
                        provider=NAME,
                        outcome_unknown=False,
                    )
                self._cond.wait(left)
            item = self._items.popleft()
        if isinstance(item, Gap):
            if self.gaps == "raise":
                raise StreamGap(item)
            return item
        if isinstance(item, _Failure):
            self._closed = True
            raise item.exc
        return self._structure(item)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self.next(self.timeout)
        except StreamClosed:
            raise StopIteration from None

    def close(self) -> None:
        """Unsubscribe (idempotent); closing the client's last subscription closes the connection."""
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()
        self._streams._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "live"
        return (
            f"<Subscription {self.opcode} {self.fields.get('code') or self.fields.get('portfolio')} {state}>"
        )

    # -- reader side -----------------------------------------------------------------------------

    def _put(self, item: Any) -> None:
        """Queue a data object, a Gap or a _Failure (or call back)."""
        if self.on_update is not None:
            if isinstance(item, _Failure):
                with self._cond:
                    self._closed = True
                    self.error = item.exc
                log.warning("alor stream %s ended: %s", self.opcode, item.exc)
                return
            try:
                self.on_update(item if isinstance(item, Gap) else self._structure(item))
            except Exception:
                self.callback_errors += 1
                log.exception("alor stream %s: on_update raised", self.opcode)
            return
        with self._cond:
            if self._closed:
                return
            items = self._items
            if len(items) >= self.max_pending and not isinstance(item, _Failure):
                if isinstance(items[0], Gap) and items[0].reason == "overflow":
                    del items[1]
                    items[0] = Gap("overflow", items[0].dropped + 1)
                else:
                    items.popleft()
                    items.appendleft(Gap("overflow", 1))
            items.append(item)
            self._cond.notify_all()


class Streams:
    """The subscriptions of one client and their shared connection (see the module's docstring)."""

    def __init__(self, client: Any) -> None:
        self._client = client  # integrations.client.Client
        self._lock = threading.RLock()
        self._subs: Dict[str, Subscription] = {}  # guid -> subscription, the live ones
        self._ws: Any = None
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._closed = False
        #: Connections opened so far (the first one and every reconnect).
        self.connections = 0
        self.reconnects = 0

    # -- subscribing ------------------------------------------------------------------------------

    def subscribe(
        self,
        opcode: str,
        fields: Dict[str, Any],
        structure: Callable[[Any], Any],
        *,
        on_update: Optional[Callable[[Any], Any]] = None,
        gaps: str = "raise",
        max_pending: int = MAX_PENDING,
        timeout: Optional[float] = None,
    ) -> Subscription:
        sub = Subscription(
            self,
            opcode,
            fields,
            structure,
            on_update=on_update,
            gaps=gaps,
            max_pending=max_pending,
            timeout=timeout,
        )
        wait = self._client.timeouts.read
        with self._lock:
            if self._closed or self._client.closed:
                raise errors.ConfigurationError("this alor client is closed")
            self._connect_if_needed()
            sub._ack.clear()
            try:
                self._send_subscribe(sub)
            except BaseException:
                self._subs.pop(sub.guid, None)
                sub._closed = True
                raise
        if not sub._ack.wait(wait):
            sub._closed = True
            self._unsubscribe(sub)  # withdrawn, in case the server accepts it after all
            raise errors.Timeout(
                f"alor stream {opcode}: no answer to the subscription within {wait:g} s",
                provider=NAME,
                outcome_unknown=True,
            )
        if sub._error is not None:
            sub._closed = True
            self._forget(sub)
            raise sub._error
        return sub

    def _connect_if_needed(self) -> None:
        if self._ws is not None:
            return
        self._ws = self._open()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read, args=(self._ws, self._stop), name="alor-stream", daemon=True
        )
        self._thread.start()

    def _open(self) -> Any:
        ctx = self._client.ctx
        url = ctx.base_urls.get("ws")
        if not url:
            raise errors.ConfigurationError("this alor contour has no ws service URL")
        ws = _websocket.open_websocket(
            url, provider=NAME, transport=ctx.transport, timeout=self._client.timeouts.connect
        )
        self.connections += 1
        return ws

    def _send_subscribe(self, sub: Subscription) -> None:
        """Send ``sub``'s request under a new guid (the caller holds the lock)."""
        old = sub.guid
        if old:
            self._subs.pop(old, None)
        sub.guid = self._client.ctx.ids.new_id()
        self._subs[sub.guid] = sub
        self._send(sub.opcode, sub.fields, sub.guid, sub)

    def _send(self, opcode: str, fields: Dict[str, Any], guid: str, sub: Optional[Subscription]) -> None:
        token = self._client.token()
        if sub is not None:
            sub._sent_token = token
        message = {"opcode": opcode, **fields, "guid": guid, "token": token.access}
        ws = self._ws
        if ws is None:
            raise errors.ConnectionError("alor stream: not connected", provider=NAME)
        ws.send(json.dumps(message, separators=(",", ":"), default=str))

    def _holds(self, sub: Subscription) -> bool:
        with self._lock:
            return self._subs.get(sub.guid) is sub

    def _forget(self, sub: Subscription) -> None:
        with self._lock:
            if self._subs.get(sub.guid) is sub:
                del self._subs[sub.guid]
            last = not self._subs
        if last:
            self._shutdown()

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            live = self._subs.get(sub.guid) is sub
            if live:
                del self._subs[sub.guid]
                if self._ws is not None:
                    try:
                        self._send("unsubscribe", {}, sub.guid, None)
                    except errors.IntegrationError as exc:  # the connection or the token is gone
                        log.info("alor stream: unsubscribe of %s not sent: %s", sub.guid, exc)
            last = not self._subs
        if last:
            self._shutdown()

    # -- closing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every subscription and the connection; join the reader. Idempotent."""
        with self._lock:
            self._closed = True
            subs = list(self._subs.values())
        for sub in subs:
            try:
                sub.close()
            except Exception:
                log.exception("alor stream: closing a subscription failed")
        self._shutdown()

    def _shutdown(self) -> None:
        """Close the socket and join the reader (not from the reader itself)."""
        with self._lock:
            ws, thread, stop = self._ws, self._thread, self._stop
            self._ws = None
            self._thread = None
            stop.set()
        if ws is not None:
            ws.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_TIMEOUT)

    # -- the reader thread ------------------------------------------------------------------------

    def _read(self, ws: Any, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                text = ws.recv(_READ_SLICE)
            except errors.IntegrationError as exc:
                if stop.is_set():
                    return
                ws = self._reconnect(ws, stop, exc)
                if ws is None:
                    return
                continue
            except Exception:
                log.exception("alor stream: reading failed")
                if stop.is_set():
                    return
                ws = self._reconnect(
                    ws, stop, errors.ConnectionError("alor stream: read failed", provider=NAME)
                )
                if ws is None:
                    return
                continue
            if text is None:
                continue
            try:
                self._route(text)
            except Exception:
                log.exception("alor stream: a frame could not be handled")

    def _route(self, text: str) -> None:
        try:
            frame = json.loads(text, parse_float=Decimal)
        except ValueError:
            log.warning("alor stream: a frame that is not JSON was ignored")
            return
        if not isinstance(frame, dict):
            return
        if "data" in frame:
            with self._lock:
                sub = self._subs.get(frame.get("guid"))  # type: ignore[arg-type]
            if sub is not None:
                sub._put(frame["data"])
            return
        guid = frame.get("requestGuid")
        with self._lock:
            sub = self._subs.get(guid) if isinstance(guid, str) else None
        if sub is None:
            return  # an unsubscribe's answer, or one for a subscription closed meanwhile
        code = frame.get("httpCode")
        if code == 200:
            sub._error = None
            sub._ack.set()
            return
        if code == 401 and not sub._renewed and sub._sent_token is not None:
            sub._renewed = True
            try:
                self._client.tokens.renew_rejected(sub._sent_token)
                with self._lock:
                    if self._subs.get(sub.guid) is sub and self._ws is not None:
                        self._send_subscribe(sub)
                        return
            except errors.IntegrationError as exc:
                self._fail(sub, exc)
                return
        self._fail(sub, _status_error(code, frame.get("message"), f"alor stream {sub.opcode}"))

    def _fail(self, sub: Subscription, exc: errors.IntegrationError) -> None:
        if not sub._ack.is_set():
            with self._lock:
                if self._subs.get(sub.guid) is sub:
                    del self._subs[sub.guid]
            sub._error = exc  # the subscriber is waiting: subscribe_* raises it (and forgets it)
            sub._ack.set()
        else:
            sub._put(_Failure(exc))  # the consumer's next() raises it
            self._forget(sub)  # the last one closes the connection

    def _reconnect(self, ws: Any, stop: threading.Event, exc: errors.IntegrationError) -> Any:
        """The connection dropped: mark the gap, reconnect with backoff, resubscribe. Returns the new
        connection, or None when closing or giving up."""
        ws.close()
        with self._lock:
            subs = list(self._subs.values())
        if not subs:
            with self._lock:
                if self._ws is ws:
                    self._ws = None
                    self._thread = None
            return None
        log.warning("alor stream: the connection dropped (%s); reconnecting", exc)
        for sub in subs:
            sub._put(Gap("reconnect"))
        last: errors.IntegrationError = exc
        for attempt in range(MAX_RECONNECT_ATTEMPTS):
            delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2**attempt)
            if stop.wait(delay * (0.5 + random.random() / 2)):  # noqa: S311 - jitter, not crypto
                return None
            try:
                new = self._open()
            except errors.IntegrationError as failure:
                last = failure
                continue
            with self._lock:
                if stop.is_set():
                    new.close()
                    return None
                self._ws = new
                self.reconnects += 1
                subs = list({id(s): s for s in self._subs.values()}.values())
                try:
                    for sub in subs:
                        sub._renewed = False
                        sub._ack.set()  # the consumer is not waiting: errors go to its queue
                        self._send_subscribe(sub)
                except errors.IntegrationError as failure:
                    last = failure
                    new.close()
                    continue
            return new
        log.error("alor stream: giving up after %d reconnect attempts: %s", MAX_RECONNECT_ATTEMPTS, last)
        with self._lock:
            subs = list(self._subs.values())
            self._subs.clear()
            if self._ws is ws:
                self._ws = None
                self._thread = None
        for sub in subs:
            sub._put(_Failure(last))
        return None
