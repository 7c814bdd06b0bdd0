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
import os
import re
import secrets
import socket
import ssl
import threading
import time
from decimal import Decimal
from typing import Any, Dict, Iterator, List, Mapping, MutableMapping, Optional, Set, Tuple, Union, cast
from urllib.parse import urlencode
from urllib.request import getproxies_environment

import attrs
import requests
from requests.cookies import extract_cookies_to_jar
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri, resolve_proxies, should_bypass_proxies
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

from . import _deadline, errors
from ._fork import after_fork_in_child

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Deadline",
    "Request",
    "Response",
    "Timeouts",
    "Transport",
    "TimeoutLike",
    "VerifyLike",
    "dumps",
    "loads",
]

log = logging.getLogger("integrations.transport")

_QUERY = re.compile(r"\?[^\s'\")]*")
# The largest response body a transport reads (16 MiB) unless told otherwise: a bigger one is refused
# while it arrives, so no answer can take more memory than this.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 16 * 1024  # compressed bytes per read: bounds what one decompression step can add
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

    Defaults: 5 s connect, 30 s read, 60 s total. (The size of an answer is bounded separately, by
    the transport's ``max_response_bytes``: 16 MiB by default.)
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
    # Never in repr: a body, a query or a header may hold a password or a token.
    params: Optional[Mapping[str, Any]] = attrs.field(default=None, repr=False)
    json: Any = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
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

        Raises :class:`~integrations.errors.ProtocolError` when the body is not JSON, or holds
        ``NaN``, ``Infinity`` or a number too large for a float (JSON has no such numbers).
        """
        try:
            return loads(self.content, decimals=decimals)
        except ValueError as exc:
            why = f": {exc}" if isinstance(exc, _NonFinite) else ""
        # Raised outside the handler: the decoder's error holds the whole body (JSONDecodeError.doc),
        # which may echo a secret, and must not ride along as __context__.
        raise errors.ProtocolError(
            f"expected a JSON body, got {self.headers.get('Content-Type', 'no content type')!r} "
            f"({len(self.content)} bytes) from {_safe_url(self.url)}{why}",
            request_id=self.request_id,
        )

    def __repr__(self) -> str:
        return f"<Response {self.status} {_safe_url(self.url)}>"


def _safe_url(url: str) -> str:
    """A URL without its query string and its user information: either may carry secrets."""
    return _USERINFO.sub(r"\1", _QUERY.sub("", url))


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@?#]*@")


class _NonFinite(ValueError):
    """A JSON document holds NaN, Infinity or a number that overflows a float."""


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(f"{text[:40]} overflows a float")
    return value


# json.loads options that refuse NaN, Infinity and numbers that overflow a float.
STRICT_FLOATS: Mapping[str, Any] = {"parse_float": _finite_float, "parse_constant": _refuse_constant}


def loads(content: Union[bytes, str], *, decimals: bool = False) -> Any:
    """Decode a JSON document strictly: ``NaN``, ``Infinity`` and ``-Infinity`` (which Python's json
    accepts, and JSON does not have) are refused, and so is a number that overflows a float (unless
    ``decimals``: then non-integer numbers are parsed as :class:`Decimal`, exactly). Raises
    ``ValueError`` (``json.JSONDecodeError`` for a document that is not JSON)."""
    return jsonlib.loads(
        content, parse_float=Decimal if decimals else _finite_float, parse_constant=_refuse_constant
    )


# A Decimal written in plain notation longer than this is written in scientific notation instead
# (``1E-400``, not 402 characters of zeros); both are the same exact JSON number.
_PLAIN_DECIMAL_MAX = 64


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise errors.ValidationError(
            f"cannot send {value} as a JSON number: only finite numbers exist in JSON"
        )
    plain = format(value, "f")
    return plain if len(plain) <= _PLAIN_DECIMAL_MAX else str(value)


def dumps(value: Any) -> bytes:
    """``value`` as a compact JSON document, with every :class:`Decimal` written digit for digit as a
    JSON number (``Decimal("250.1000000000000000001")`` stays exactly that, ``Decimal("1E-400")`` is not
    rounded to ``0.0``).

    Raises :class:`~integrations.errors.ValidationError` for a value JSON cannot hold exactly: a NaN or
    an infinity (float or Decimal), a type JSON has no form for, or a circular structure.
    """
    texts: List[str] = []
    nonce = ""

    def default(item: Any) -> Any:
        nonlocal nonce
        if isinstance(item, Decimal):
            # Stand-in string, replaced below by the number's text: json cannot write a raw number.
            if not nonce:
                nonce = secrets.token_hex(8)
            texts.append(_decimal_text(item))
            return f"\x00{nonce}:{len(texts) - 1}\x00"
        raise errors.ValidationError(f"cannot send a {type(item).__name__} as JSON")

    try:
        text = jsonlib.dumps(value, default=default, separators=(",", ":"), allow_nan=False)
    except errors.ValidationError:
        raise
    except (TypeError, ValueError, RecursionError) as exc:
        # allow_nan=False: "Out of range float values are not JSON compliant"; a non-str key: TypeError.
        raise errors.ValidationError(f"cannot send this value as JSON: {exc}") from None
    if texts:
        stand_in = re.compile(r'"\\u0000' + nonce + r':([0-9]+)\\u0000"')
        text, count = stand_in.subn(lambda m: texts[int(m.group(1))], text)
        if count != len(texts):  # pragma: no cover - a stand-in can only come from default()
            raise errors.ValidationError("cannot send this value as JSON: a Decimal was not written")
    return text.encode()


class Transport:
    """Sends HTTP requests on one pooled, thread-safe ``requests.Session``.

    - **No redirect is ever followed.** Every request this library sends carries credentials or a
      body, or both (a login, a token, an order), and following a redirect would send them again,
      possibly to another origin, or turn a POST into a GET whose answer passes for the command's.
      Following none is the simplest rule that is always right: a 3xx is returned like any other
      answer, and the providers' mapping reports it as a
      :class:`~integrations.errors.ProtocolError` naming the status.
    - **Bounded answers.** A body is read in pieces and refused as soon as it exceeds
      ``max_response_bytes`` (default :data:`DEFAULT_MAX_RESPONSE_BYTES`, 16 MiB; a declared
      ``Content-Length`` above it is refused before reading): a
      :class:`~integrations.errors.ProtocolError` naming the cap, the connection closed rather than
      returned to the pool.
    - **The environment, read once.** Unless ``trust_env=False``, ``HTTP_PROXY``, ``HTTPS_PROXY``,
      ``ALL_PROXY`` and ``NO_PROXY`` (either case) and ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or
      ``SSL_CERT_FILE`` apply as in requests, read when the transport is built (``NO_PROXY`` decided
      once per origin); ``proxies`` and ``verify`` given here win. netrc is never read. Through an
      HTTP(S) proxy (plain or a CONNECT tunnel) the deadline and the size cap hold as they do direct.
    - **Fork-safe.** In a child of ``os.fork()`` every transport forgets the parent's pooled
      connections (the parent keeps them) and opens its own.
    - **Exact JSON.** Request bodies are written by :func:`dumps` (Decimals digit for digit; NaN,
      infinities and unserialisable values refused with a ``ValidationError`` before sending).
    """

    def __init__(
        self,
        *,
        timeouts: Optional[Timeouts] = None,
        session: Optional[requests.Session] = None,
        user_agent: str = "integrations",
        pool_size: int = 32,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        verify: Optional[VerifyLike] = None,
        cert: Optional[Union[str, Tuple[str, str]]] = None,
        proxies: Optional[Mapping[str, str]] = None,
        trust_env: Optional[bool] = None,
    ) -> None:
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise errors.ValidationError(
                f"max_response_bytes must be a positive int, not {max_response_bytes!r}"
            )
        if verify is not None and not isinstance(verify, (bool, str, os.PathLike)):
            raise errors.ValidationError(f"verify must be a bool or a CA bundle path, not {verify!r}")
        if proxies is not None and not (
            isinstance(proxies, Mapping) and all(isinstance(v, str) for v in proxies.values())
        ):
            raise errors.ValidationError(
                "proxies must be a mapping of scheme (or scheme://host) to proxy URL"
            )
        self.timeouts = timeouts or Timeouts()
        self.max_response_bytes = max_response_bytes
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # Big enough that 16+ threads sharing a client never discard pooled connections.
            # Its connections bound every socket operation by the current call's deadline.
            adapter = _deadline.DeadlineAdapter(pool_connections=4, pool_maxsize=pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = user_agent
            # requests would read the environment (proxies, CA bundle, netrc) on every request: this
            # transport reads it once, here (and decides NO_PROXY once per origin), see _proxies_for.
            # netrc is never read: credentials come from the provider's hooks only.
            session.trust_env = False
            env = True if trust_env is None else bool(trust_env)
        else:
            # A caller's session is used as is: its own proxies, verify, cert and trust_env apply
            # (requests' per-request environment lookups included), unless given here.
            env = session.trust_env if trust_env is None else bool(trust_env)
        self.session = session
        self.trust_env = env
        environ: Dict[str, str] = dict(getproxies_environment()) if env else {}
        # What the environment says about proxies, read once: {"http": ..., "https": ..., "no": ...}.
        self._no_proxy: Optional[str] = environ.pop("no", None)
        self._env_proxies: Dict[str, str] = environ
        explicit = dict(session.proxies or {}) if not self._owns_session else {}
        explicit.update(proxies or {})
        self._explicit_proxies: Dict[str, str] = explicit
        if verify is None:
            verify = True if session.verify is None else session.verify
            if verify is True and env:
                verify = _environ_ca_bundle() or True
        self.verify: Union[bool, str] = os.fspath(verify) if isinstance(verify, os.PathLike) else verify
        self.cert = cert if cert is not None else session.cert
        self._lock = threading.Lock()
        # Proxies per origin ("https://host:port"): NO_PROXY decided once per origin, not per request.
        self._proxy_cache: Dict[str, MutableMapping[str, str]] = {}
        after_fork_in_child(self, Transport._after_fork_in_child)

    def _proxies_for(self, url: str) -> MutableMapping[str, str]:
        """The proxies for ``url`` (requests-style), explicit ones over the environment's, cached per
        origin: the environment was read when the transport was built."""
        if not self._env_proxies and not self._explicit_proxies:
            return _NO_PROXIES
        end = url.find("/", url.find("//") + 2)
        origin = url if end < 0 else url[:end]
        found = self._proxy_cache.get(origin)
        if found is not None:
            return found
        proxies = dict(self._explicit_proxies)
        if self._env_proxies:
            explicit_no = proxies.get("no_proxy")
            # should_bypass_proxies applies NO_PROXY as requests does (hosts, domains, CIDRs); given
            # "" it reads no_proxy from nowhere but the value captured when the transport was built.
            if not should_bypass_proxies(origin, no_proxy=explicit_no or self._no_proxy or ""):
                for key, value in self._env_proxies.items():
                    proxies.setdefault(key, value)
        with self._lock:
            if len(self._proxy_cache) >= _PROXY_CACHE_SIZE:
                self._proxy_cache.clear()
            self._proxy_cache[origin] = proxies
        return proxies

    def _after_fork_in_child(self) -> None:
        """Forget every pooled connection (the parent's sockets): the child opens its own. The old
        pools are dropped, not closed: closing would take their locks, which a thread of the parent
        may have held at the fork, and the parent keeps using those sockets."""
        self._lock = threading.Lock()
        jar = self.session.cookies
        if hasattr(jar, "_cookies_lock"):
            # http.cookiejar's lock, taken for every answer's cookies: a parent's thread may hold it.
            jar._cookies_lock = threading.RLock()
        # One adapter is usually mounted for both schemes: reset each once.
        for adapter in {id(a): a for a in self.session.adapters.values()}.values():
            if isinstance(adapter, requests.adapters.HTTPAdapter):
                adapter.proxy_manager = {}
                adapter.init_poolmanager(
                    adapter._pool_connections,  # type: ignore[attr-defined]
                    adapter._pool_maxsize,  # type: ignore[attr-defined]
                    block=adapter._pool_block,  # type: ignore[attr-defined]
                )

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
        operation: str = "",
    ) -> Response:
        """Send one request and return the answer, whatever its status.

        ``deadline`` bounds the whole exchange (a new one from this transport's timeouts when
        ``None``): connecting, sending and every read of the answer end by it, however slowly the
        server drips its headers or body (on this transport's own session; a session passed in gets
        per-operation timeouts only).

        Raises :class:`~integrations.errors.Timeout` (the deadline, or a connect or read timeout) or
        :class:`~integrations.errors.ConnectionError` when no answer arrived; ``outcome_unknown`` is
        false only when nothing of the request was sent. A failure repeating cannot fix (a TLS
        certificate that fails verification, a proxy's 407) is a ``TransportError`` with
        ``should_retry`` false. Raises :class:`~integrations.errors.ProtocolError` for a body over
        ``max_response_bytes`` and :class:`~integrations.errors.ValidationError` (nothing sent) for
        a ``json`` that JSON cannot hold exactly (see :func:`dumps`). A 3xx is returned, not followed.
        The transport error's ``__cause__`` is a copy of requests' exception with no URL query or
        user information in its message. ``operation`` (``alor.orderbook``) names the exchange in the
        DEBUG log line.
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
            body = dumps(json)
            all_headers.setdefault("Content-Type", "application/json")
        started = time.perf_counter()
        # The sockets of this thread's connections read the deadline from here (see _deadline).
        call = _deadline.current
        outer = call.expires, call.sent
        call.expires, call.sent = deadline.expires, None
        r: Optional[requests.Response] = None
        failure: Optional[errors.TransportError] = None
        cause: Optional[BaseException] = None
        try:
            prepared = self._prepare(method, url, params, body, all_headers)
            session = self.session
            target = prepared.url or url
            if self._owns_session:
                proxies = self._proxies_for(target)
            else:
                proxies = resolve_proxies(prepared, self._explicit_proxies, self.trust_env)
            # Straight to the adapter: Session.send would follow redirects, or, told not to, still
            # read a 3xx's whole body (unbounded) to prepare the next hop. Redirects are never
            # followed (see the class docstring); the body is streamed, to bound its size.
            r = session.get_adapter(target).send(
                prepared,
                stream=True,
                timeout=(min(t.connect, remaining), min(t.read, remaining)),
                verify=self.verify,
                cert=self.cert,
                proxies=proxies,
            )
            extract_cookies_to_jar(session.cookies, prepared, r.raw)  # type: ignore[no-untyped-call]
            content = self._read(r, method, url, request_id)
        except requests.exceptions.RequestException as exc:
            failure = _failure(exc, method, url, deadline, call.sent, request_id)
            cause = _sanitised(exc)
        finally:
            call.expires, call.sent = outer
            if r is not None:
                # Returns a wholly read connection to the pool; closes one left mid-body.
                r.close()
        if failure is not None:
            # Raised outside the handler, from a sanitised copy: requests' own exception (and the
            # urllib3 errors it wraps) name the full URL, query and user info included.
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s %s -> %s in %.1f ms",
                    operation or "-",
                    method,
                    _safe_url(url),
                    type(failure).__name__,
                    (time.perf_counter() - started) * 1000,
                )
            raise failure from cause
        r = cast(requests.Response, r)
        elapsed = time.perf_counter() - started
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %s -> %s in %.1f ms",
                operation or "-",
                method,
                _safe_url(url),
                r.status_code,
                elapsed * 1000,
            )
        return Response(
            status=r.status_code,
            headers=r.headers,
            content=content,
            url=r.url,
            elapsed=elapsed,
            request_id=request_id,
        )

    def _read(self, r: requests.Response, method: str, url: str, request_id: Optional[str]) -> bytes:
        """The whole body of ``r``, refused once it exceeds ``max_response_bytes``."""
        cap = self.max_response_bytes
        declared = r.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_big(method, url, request_id, f"it declares {int(declared)} bytes")
        chunks: List[bytes] = []
        size = 0
        for chunk in r.iter_content(_READ_CHUNK):
            size += len(chunk)
            if size > cap:
                raise self._too_big(method, url, request_id, f"more than {cap} bytes arrived")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, method: str, url: str, request_id: Optional[str], why: str) -> errors.ProtocolError:
        cap = self.max_response_bytes
        return errors.ProtocolError(
            f"{method} {_safe_url(url)}: the response is larger than the {_size(cap)} cap "
            f"(max_response_bytes={cap}): {why}; not read",
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


VerifyLike = Union[bool, str, "os.PathLike[str]"]

_NO_PROXIES: MutableMapping[str, str] = {}
_PROXY_CACHE_SIZE = 256


def _environ_ca_bundle() -> Optional[str]:
    """The CA bundle the environment names, as requests reads it (``REQUESTS_CA_BUNDLE``, then
    ``CURL_CA_BUNDLE``), then OpenSSL's ``SSL_CERT_FILE``."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def _sanitised(exc: BaseException) -> BaseException:
    """A copy of ``exc`` (same type when it can be built from a message) whose message holds no URL
    query and no URL user info, with no ``__cause__``, ``__context__`` or traceback."""
    message = _USERINFO_ANYWHERE.sub(r"\1", _QUERY.sub("", str(exc)))[:500]
    try:
        copy = type(exc)(message)
    except (TypeError, ValueError):
        copy = requests.exceptions.RequestException(message)
    return copy


_USERINFO_ANYWHERE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@?#\s'\"]*@")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


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
    refused = _refused(exc, causes, sent)
    if refused is not None:
        failure = errors.TransportError(
            f"{where} failed: {refused}; not retried ({_reason(exc)})",
            request_id=request_id,
            outcome_unknown=False,
        )
        # Repeating it meets the same certificate, or the same proxy, and the same refusal.
        failure.should_retry = False
        return failure
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


# http.client's words when a proxy refuses a CONNECT tunnel with 407.
_PROXY_407 = re.compile(r"Tunnel connection failed: 407\b")


def _refused(
    exc: requests.exceptions.RequestException, causes: List[BaseException], sent: Optional[bool]
) -> Optional[str]:
    """Why the exchange failed for good before the request reached the provider (``None`` if it did
    not): the server's TLS certificate failed verification, the TLS handshake failed (other than by
    the connection dropping), or a proxy demanded authentication (407)."""
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in causes) or (
        isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc)
    ):
        return "the server's TLS certificate failed verification"
    if (
        isinstance(exc, requests.exceptions.SSLError)
        and sent is False
        # An EOF mid-handshake is a dropped connection (a busy load balancer): that may be retried.
        and not any(isinstance(e, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) for e in causes)
    ):
        return "the TLS handshake failed"
    if isinstance(exc, requests.exceptions.ProxyError) and any(_PROXY_407.search(str(e)) for e in causes):
        return "the proxy demands authentication (HTTP 407 Proxy Authentication Required)"
    return None


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
