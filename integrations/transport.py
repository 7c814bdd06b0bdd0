"""The only place that does HTTP: one ``requests.Session``, timeouts, JSON, transport failures.

The transport knows no provider and no status codes beyond HTTP itself: it returns a
:class:`Response` for every answer and raises :class:`~integrations.errors.TransportError` only when
no answer arrived. Mapping statuses to errors is the provider's call hook's job (with the shared
defaults in :func:`integrations.client.raise_for_status`).
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import time
from decimal import Decimal
from typing import Any, Mapping, Optional, Tuple, Union

import attrs
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from . import errors

__all__ = ["Request", "Response", "Timeouts", "Transport", "TimeoutLike"]

log = logging.getLogger("integrations.transport")

_QUERY = re.compile(r"\?[^\s'\")]*")


@attrs.frozen
class Timeouts:
    """Connect and read timeouts in seconds. Every request has both."""

    connect: float = 5.0
    read: float = 30.0

    @classmethod
    def coerce(cls, value: TimeoutLike) -> Timeouts:
        """Accept a number (both timeouts), a ``(connect, read)`` pair or a :class:`Timeouts`."""
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return cls(float(value), float(value))
        if isinstance(value, tuple) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value
        ):
            return cls(float(value[0]), float(value[1]))
        raise errors.ValidationError(
            f"timeout must be a positive number or a (connect, read) pair, not {value!r}"
        )


TimeoutLike = Union[float, Tuple[float, float], Timeouts]


@attrs.frozen
class Request:
    """One provider call, before the provider's call hook turns it into HTTP.

    ``request_id`` is fixed when the request is built, so a retry of the same request carries the
    same id (ALOR ``X-REQID``, the JSON-RPC ``id``). ``idempotent`` requests may be retried after a
    transport failure; a command is idempotent only because its id lets the provider deduplicate it.
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
    idempotent: bool = attrs.field()

    @idempotent.default
    def _idempotent_default(self) -> bool:
        return self.method.upper() in ("GET", "HEAD", "OPTIONS") or self.request_id is not None


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
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
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
        timeout: Optional[Timeouts] = None,
        request_id: Optional[str] = None,
    ) -> Response:
        """Send one request and return the answer, whatever its status.

        Raises :class:`~integrations.errors.Timeout` or :class:`~integrations.errors.ConnectionError`
        when no answer arrived.
        """
        t = timeout or self.timeouts
        body: Optional[bytes] = None
        all_headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, default=_json_default, separators=(",", ":")).encode()
            all_headers.setdefault("Content-Type", "application/json")
        started = time.perf_counter()
        try:
            r = self.session.request(
                method, url, params=params, data=body, headers=all_headers, timeout=(t.connect, t.read)
            )
        except requests.exceptions.Timeout as exc:
            raise errors.Timeout(
                f"{method} {_safe_url(url)} timed out ({_reason(exc)})", request_id=request_id
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise errors.ConnectionError(
                f"{method} {_safe_url(url)} failed: {_reason(exc)}", request_id=request_id
            ) from None
        except requests.exceptions.RequestException as exc:
            raise errors.TransportError(
                f"{method} {_safe_url(url)} failed: {_reason(exc)}", request_id=request_id
            ) from None
        elapsed = time.perf_counter() - started
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.1f ms", method, _safe_url(url), r.status_code, elapsed * 1000)
        return Response(
            status=r.status_code,
            headers=CaseInsensitiveDict(r.headers),
            content=r.content,
            url=r.url,
            elapsed=elapsed,
            request_id=request_id,
        )

    def close(self) -> None:
        if self._owns_session:
            self.session.close()


def _reason(exc: BaseException) -> str:
    # requests puts the full URL, query and all, into its messages; keep the kind and strip queries.
    return f"{type(exc).__name__}: {_QUERY.sub('', str(exc))[:300]}"
