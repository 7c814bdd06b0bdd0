"""The only place that does HTTP: one ``requests.Session``, timeouts, JSON, transport failures.

The transport knows no provider and no status codes beyond HTTP itself: it returns a
:class:`Response` for every answer and raises :class:`~integrations.errors.TransportError` only when
no answer arrived. Mapping statuses to errors is the provider's call hook's job (with the shared
defaults in :func:`integrations.client.raise_for_status`).
"""

from __future__ import annotations

import json as jsonlib
import logging
import math
import re
import socket
import time
from decimal import Decimal
from typing import Any, Iterator, Mapping, Optional, Set, Tuple, Union
from urllib.parse import urlencode

import attrs
import requests
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

from . import _deadline, errors

__all__ = ["Deadline", "Request", "Response", "Timeouts", "Transport", "TimeoutLike"]

log = logging.getLogger("integrations.transport")

_QUERY = re.compile(r"\?[^\s'\")]*")
_BAD_HEADER = re.compile(r"[\r\n\x00]")


def _seconds(value: Any) -> bool:
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


@attrs.frozen
class Timeouts:
    """How long one call may take, in seconds.

    - ``connect``: the longest wait for one TCP (and TLS) connection;
    - ``read``: the longest silence between two pieces of the answer;
    - ``total``: the whole budget of one call, measured on the monotonic clock from the moment the
      call starts: authentication it needs, every connection, every read, every retry and every wait
      for ``Retry-After`` end within it (a body that drips in slowly included).

    Defaults: 5 s connect, 30 s read, 60 s total.
    """

    connect: float = 5.0
    read: float = 30.0
    total: float = 60.0

    def __attrs_post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            if not _seconds(getattr(self, name)):
                raise errors.ValidationError(
                    f"timeout {name} must be a finite positive number, not {getattr(self, name)!r}"
                )

    @classmethod
    def coerce(cls, value: TimeoutLike) -> Timeouts:
        """Accept a number ``T`` (the whole call within ``T``: connect, read and total all ``T``), a
        ``(connect, read)`` pair (with the default total) or a :class:`Timeouts`.

        Raises :class:`~integrations.errors.ValidationError` for anything else.
        """
        if isinstance(value, Timeouts):
            return value
        if _seconds(value):
            seconds = float(value)  # type: ignore[arg-type]
            return cls(seconds, seconds, seconds)
        if isinstance(value, tuple) and len(value) == 2 and all(_seconds(v) for v in value):
            return cls(float(value[0]), float(value[1]))
        raise errors.ValidationError(
            f"timeout must be a finite positive number, a (connect, read) pair or a Timeouts, not {value!r}"
        )


class Deadline:
    """The end of one call's time budget (``Timeouts.total``), on the monotonic clock.

    Created when a call starts and handed to every exchange of that call, retries included. Real
    time, not the injected :class:`~integrations.runtime.Clock`: a fake clock must not be able to
    stretch a real wait.
    """

    __slots__ = ("expires", "started", "timeouts")

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self.started = time.monotonic()
        self.expires = self.started + timeouts.total

    def elapsed(self) -> float:
        """Real seconds since the call started."""
        return time.monotonic() - self.started

    def remaining(self) -> float:
        """Seconds left (negative once expired)."""
        return self.expires - time.monotonic()

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.expires

    def __repr__(self) -> str:
        return f"<Deadline {self.remaining():.3f}s left of {self.timeouts.total}s>"


TimeoutLike = Union[float, Tuple[float, float], Timeouts]


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@attrs.frozen
class Request:
    """One provider call, before the provider's call hook turns it into HTTP.

    - ``operation`` names the call for wrappers, logs and errors: ``<provider>.<name>``, for
      example ``alor.orderbook`` or ``tradingdesk.User.auth``.
    - ``request_id`` is fixed when the request is built, so a retry of the same request carries the
      same id (ALOR ``X-REQID``, the JSON-RPC ``id``).
    - ``retry``: whether the host may send the request again after a failure whose outcome is
      unknown (a timeout, a lost connection, a 5xx). True by default only for GET, HEAD and OPTIONS;
      a builder sets it for a command the provider deduplicates by its request id (an ALOR order)
      and leaves it false for anything a repeat would perform twice. A request that was certainly
      not processed (the connection could not be made, HTTP 429) is retried either way.
    - ``timeout``: this call's :class:`Timeouts` (``None``: the client's).
    - ``authenticated``: false for logins and refreshes, which carry no access token.
    """

    method: str
    path: str
    service: str = "api"
    params: Optional[Mapping[str, Any]] = None
    json: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    request_id: Optional[str] = None
    operation: str = ""
    authenticated: bool = True
    timeout: Optional[Timeouts] = None
    retry: bool = attrs.field()

    @retry.default
    def _retry_default(self) -> bool:
        return self.method.upper() in _SAFE_METHODS


@attrs.frozen(repr=False)
class Response:
    """An HTTP answer. ``headers`` is case-insensitive."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    elapsed: float
    request_id: Optional[str] = None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self, *, decimals: bool = False) -> Any:
        """Decode the body as JSON (``decimals``: parse non-integer numbers as :class:`Decimal`).

        Raises :class:`~integrations.errors.ProtocolError` when the body is not JSON.
        """
        try:
            if decimals:
                return jsonlib.loads(self.content, parse_float=Decimal)
            return jsonlib.loads(self.content)
        except ValueError:
            raise errors.ProtocolError(
                f"expected a JSON body, got {self.headers.get('Content-Type', 'no content type')!r} "
                f"({len(self.content)} bytes) from {_safe_url(self.url)}",
                request_id=self.request_id,
            ) from None

    def __repr__(self) -> str:
        return f"<Response {self.status} {_safe_url(self.url)}>"


def _safe_url(url: str) -> str:
    """A URL without its query string: queries may carry secrets."""
    return _QUERY.sub("", url)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Prices travel as JSON numbers; float's shortest repr keeps the decimal digits of any
        # realistic price.
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Transport:
    """Sends HTTP requests on one pooled, thread-safe ``requests.Session``."""

    def __init__(
        self,
        *,
        timeouts: Optional[Timeouts] = None,
        session: Optional[requests.Session] = None,
        user_agent: str = "integrations",
        pool_size: int = 32,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # Big enough that 16+ threads sharing a client never discard pooled connections.
            # Its connections bound every socket operation by the current call's deadline.
            adapter = _deadline.DeadlineAdapter(pool_connections=4, pool_maxsize=pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = user_agent
            # Proxy and netrc lookups from the environment cost time on every request and could
            # route loopback sandbox traffic through a proxy.
            session.trust_env = False
        self.session = session

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        deadline: Optional[Deadline] = None,
        request_id: Optional[str] = None,
    ) -> Response:
        """Send one request and return the answer, whatever its status.

        ``deadline`` bounds the whole exchange (a new one from this transport's timeouts when
        ``None``): connecting, sending and every read of the answer end by it, however slowly the
        server drips its headers or body (on this transport's own session; a session passed in gets
        per-operation timeouts only).

        Raises :class:`~integrations.errors.Timeout` (the deadline, or a connect or read timeout) or
        :class:`~integrations.errors.ConnectionError` when no answer arrived; ``outcome_unknown`` is
        false only when nothing of the request was sent.
        """
        deadline = deadline or Deadline(self.timeouts)
        remaining = deadline.remaining()
        if remaining <= 0:
            raise errors.Timeout(
                f"{method} {_safe_url(url)} not sent: "
                f"the call's {deadline.timeouts.total:g} s deadline has passed",
                request_id=request_id,
                outcome_unknown=False,
            )
        t = deadline.timeouts
        body: Optional[bytes] = None
        all_headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, default=_json_default, separators=(",", ":")).encode()
            all_headers.setdefault("Content-Type", "application/json")
        started = time.perf_counter()
        # The sockets of this thread's connections read the deadline from here (see _deadline).
        call = _deadline.current
        outer = call.expires, call.sent
        call.expires, call.sent = deadline.expires, None
        try:
            r = self.session.send(
                self._prepare(method, url, params, body, all_headers),
                timeout=(min(t.connect, remaining), min(t.read, remaining)),
            )
        except requests.exceptions.RequestException as exc:
            raise _failure(exc, method, url, deadline, call.sent, request_id) from None
        finally:
            call.expires, call.sent = outer
        elapsed = time.perf_counter() - started
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.1f ms", method, _safe_url(url), r.status_code, elapsed * 1000)
        return Response(
            status=r.status_code,
            headers=r.headers,
            content=r.content,
            url=r.url,
            elapsed=elapsed,
            request_id=request_id,
        )

    def _prepare(
        self,
        method: str,
        url: str,
        params: Optional[Mapping[str, Any]],
        body: Optional[bytes],
        headers: Mapping[str, str],
    ) -> requests.PreparedRequest:
        """The request, prepared as ``Session.request`` would, minus its per-call merging of
        environment, hook and per-request settings this transport never uses (about a fifth of
        requests' client-side cost per call): the session's headers and cookies still apply."""
        if params:
            url += ("&" if "?" in url else "?") + urlencode(
                [(k, v) for k, v in params.items() if v is not None], doseq=True
            )
        for name, value in headers.items():
            # http.client refuses these with a bare ValueError deep in the send; refuse them here.
            if not isinstance(value, str) or _BAD_HEADER.search(name) or _BAD_HEADER.search(value):
                raise errors.ValidationError(f"header {name!r} has a value that cannot be sent")
        session = self.session
        if not url.isascii():
            # An internationalised host or path: requests' full preparation (IDNA and all).
            return session.prepare_request(requests.Request(method, url, data=body, headers=dict(headers)))
        prepared = requests.PreparedRequest()
        prepared.method = method.upper()
        prepared.url = requote_uri(url)
        merged: CaseInsensitiveDict[str] = CaseInsensitiveDict(session.headers)  # type: ignore[arg-type]
        merged.update(headers)
        if body is not None:
            merged["Content-Length"] = str(len(body))
        elif prepared.method not in ("GET", "HEAD"):
            merged["Content-Length"] = "0"
        prepared.headers = merged
        prepared.body = body
        prepared.hooks = default_hooks()
        if session.cookies:
            prepared.prepare_cookies(session.cookies)
        return prepared

    def close(self) -> None:
        if self._owns_session:
            self.session.close()


# A socket timeout set to the time left may wake a hair before the deadline on a coarse clock.
_DEADLINE_SLACK = 0.005
_NOTHING_SENT = (
    requests.exceptions.ConnectTimeout,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidHeader,
)


def _failure(
    exc: requests.exceptions.RequestException,
    method: str,
    url: str,
    deadline: Deadline,
    sent: Optional[bool],
    request_id: Optional[str],
) -> errors.TransportError:
    """The error for a failed exchange.

    ``sent`` says whether a byte of the request may have left on one of the transport's own
    connections (``None`` when none was used, as with a caller's session or vcrpy's stubs: then the
    exception's kind decides).
    """
    where = f"{method} {_safe_url(url)}"
    causes = list(_causes(exc))
    # Refused, unreachable, name not resolved (urllib3 1.26 makes it a ConnectTimeoutError: it is not).
    no_connection = any(isinstance(e, NewConnectionError) for e in causes)
    outcome_unknown = sent if sent is not None else not (no_connection or isinstance(exc, _NOTHING_SENT))
    timed_out = not no_connection and (
        isinstance(exc, requests.exceptions.Timeout)
        # requests reports a read timeout while reading the body as a ConnectionError.
        or any(isinstance(e, (ReadTimeoutError, socket.timeout)) for e in causes)
    )
    if timed_out:
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            outcome_unknown = False
        if deadline.remaining() <= _DEADLINE_SLACK:
            message = f"{where} timed out: the call's {deadline.timeouts.total:g} s deadline expired"
        else:
            message = f"{where} timed out ({_reason(exc)})"
        return errors.Timeout(message, request_id=request_id, outcome_unknown=outcome_unknown)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return errors.ConnectionError(
            f"{where} failed: {_reason(exc)}", request_id=request_id, outcome_unknown=outcome_unknown
        )
    return errors.TransportError(
        f"{where} failed: {_reason(exc)}", request_id=request_id, outcome_unknown=outcome_unknown
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests and urllib3 nest errors in ``args``, ``reason`` and
    ``__cause__`` (not ``__context__``: an error met while handling another is not its cause)."""
    seen: Set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        inner = [getattr(e, "reason", None), e.__cause__, *e.args]
        todo.extend(i for i in inner if isinstance(i, BaseException))


def _reason(exc: BaseException) -> str:
    # requests puts the full URL, query and all, into its messages; keep the kind and strip queries.
    return f"{type(exc).__name__}: {_QUERY.sub('', str(exc))[:300]}"
