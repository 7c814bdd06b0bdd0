"""A provider-bound client: the token lifecycle and the call path through the hooks.

``connect()`` builds one and wraps it in the provider's typed facade. Nothing here does I/O until
the first call: authentication is lazy.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any, Mapping, Optional, Type, TypeVar

from . import errors
from .host import Host, default_host
from .provider import CallContext, ProviderSpec
from .runtime import Clock, IdSource, SystemClock, UuidIds
from .tokens import Token, TokenManager, TokenStore
from .transport import Request, Response, TimeoutLike, Timeouts, Transport

__all__ = ["Client", "ProviderClient", "connect", "raise_for_status"]

log = logging.getLogger("integrations")

F = TypeVar("F", bound="ProviderClient")


class Client:
    """Sends :class:`Request` objects for one provider through the hooks. Thread-safe.

    The call path: get a valid token (single-flight renewal), call ``integrations_call`` (wrappers
    first, then the provider), on :class:`~integrations.errors.AccessTokenRejected` renew once and
    retry once, and retry an idempotent request after a transient failure with the same request id.
    """

    def __init__(
        self,
        *,
        host: Host,
        spec: ProviderSpec,
        ctx: CallContext,
        credentials: Mapping[str, str],
        token_store: Optional[TokenStore] = None,
        max_retries: int = 2,
        backoff: float = 0.25,
    ) -> None:
        self.host = host
        self.spec = spec
        self.ctx = ctx
        self._credentials = dict(credentials)
        self.max_retries = max_retries
        self.backoff = backoff
        self._closed = False
        self._close_lock = threading.Lock()
        self.tokens = TokenManager(
            authenticate=self._authenticate,
            refresh=self._refresh,
            clock=ctx.clock,
            leeway=spec.token_leeway,
            reauthenticate=spec.reauthenticate,
            store=token_store,
        )

    def __repr__(self) -> str:
        return f"<Client provider={self.ctx.provider!r} contour={self.ctx.contour!r}>"

    # -- hooks -------------------------------------------------------------------------------

    def _authenticate(self) -> Token:
        token = self.host.hook.integrations_authenticate(ctx=self.ctx, credentials=self._credentials)
        return self._expect_token(token, "integrations_authenticate")

    def _refresh(self, token: Token) -> Token:
        new = self.host.hook.integrations_refresh(ctx=self.ctx, token=token)
        return self._expect_token(new, "integrations_refresh")

    def _expect_token(self, token: Any, hook: str) -> Token:
        if not isinstance(token, Token):
            raise errors.PluginError(
                f"no plugin answered {hook} for provider {self.ctx.provider!r} with a Token "
                f"(got {type(token).__name__})"
            )
        return token

    def _call_once(self, token: Optional[Token], request: Request) -> Response:
        response = self.host.hook.integrations_call(ctx=self.ctx, token=token, request=request)
        if not isinstance(response, Response):
            raise errors.PluginError(
                f"no plugin answered integrations_call for provider {self.ctx.provider!r} with a Response "
                f"(got {type(response).__name__})"
            )
        return response

    # -- the call path -----------------------------------------------------------------------

    def call(self, request: Request) -> Response:
        """Perform ``request`` and return the provider's successful response.

        Raises an :class:`~integrations.errors.ApiError` when the provider refuses and an
        :class:`~integrations.errors.OperationFailed` when the outcome is unknown after retries.
        """
        if self._closed:
            raise errors.ConfigurationError("this client is closed")
        attempt = 0
        while True:
            try:
                return self._call_authenticated(request)
            except (errors.OperationFailed, errors.RateLimited) as exc:
                delay = self._retry_delay(request, exc, attempt)
                if delay is None:
                    raise
                attempt += 1
                log.info(
                    "%s %s: %s; retry %d/%d in %.2fs (request id %s)",
                    self.ctx.provider, request.operation or request.path, type(exc).__name__,
                    attempt, self.max_retries, delay, request.request_id,
                )
                self.ctx.clock.sleep(delay)

    def _call_authenticated(self, request: Request) -> Response:
        if not request.authenticated:
            return self._call_once(None, request)
        token = self.tokens.token()
        try:
            return self._call_once(token, request)
        except errors.AccessTokenRejected:
            if not token.refreshable:
                raise
            log.info("%s: access token rejected; renewing once", self.ctx.provider)
            return self._call_once(self.tokens.renew_rejected(token), request)

    def _retry_delay(self, request: Request, exc: Exception, attempt: int) -> Optional[float]:
        if not request.idempotent or attempt >= self.max_retries:
            return None
        if isinstance(exc, errors.RateLimited):
            if exc.retry_after is not None:
                return min(float(exc.retry_after), 30.0)
        elif not getattr(exc, "should_retry", False):
            return None
        return float(min(self.backoff * (2**attempt), 30.0))

    def close(self) -> None:
        """Release the connection pool. Idempotent."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self.ctx.transport.close()

    @property
    def closed(self) -> bool:
        return self._closed


class ProviderClient:
    """The base of every typed facade (``AlorClient``, ``TradingDeskClient``): a context manager
    around a :class:`Client`."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def client(self) -> Client:
        """The generic client underneath (for hooks, tokens and tests)."""
        return self._client

    @property
    def provider(self) -> str:
        return self._client.ctx.provider

    @property
    def contour(self) -> str:
        return self._client.ctx.contour

    @property
    def base_urls(self) -> Mapping[str, str]:
        return self._client.ctx.base_urls

    def close(self) -> None:
        """Release the connection pool. Idempotent."""
        self._client.close()

    def __enter__(self: F) -> F:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} contour={self.contour!r}>"


def raise_for_status(provider: str, response: Response, *, message: Optional[str] = None) -> None:
    """Raise the error-tree exception for a non-2xx ``response``; return for 2xx.

    401 → :class:`~integrations.errors.AccessTokenRejected`, 403 → ``PermissionDenied``,
    404 → ``NotFound``, 429 → ``RateLimited``, other 4xx → ``Rejected``, 5xx → ``ServiceUnavailable``.
    ``message`` overrides the text taken from the body's ``message`` field.
    """
    status = response.status
    if 200 <= status < 300:
        return
    code, text = _error_fields(response)
    text = message or text or f"HTTP {status}"
    common: dict[str, Any] = {
        "provider": provider, "status": status, "code": code,
        "request_id": response.request_id, "raw": response.text,
    }
    if status == 401:
        raise errors.AccessTokenRejected(text, **common)
    if status == 403:
        raise errors.PermissionDenied(text, **common)
    if status == 404:
        raise errors.NotFound(text, **common)
    if status == 429:
        raise errors.RateLimited(text, retry_after=_retry_after(response), **common)
    if status >= 500:
        raise errors.ServiceUnavailable(
            f"{provider}: HTTP {status}: {text}",
            status=status,
            provider=provider,
            request_id=response.request_id,
        )
    raise errors.Rejected(text, **common)


def _error_fields(response: Response) -> tuple[Optional[str], Optional[str]]:
    try:
        body = response.json()
    except errors.ProtocolError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    message = body.get("message")
    return (str(code) if code is not None else None), (str(message) if message is not None else None)


def _retry_after(response: Response) -> Optional[float]:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def connect(
    provider: str,
    *,
    contour: Optional[str] = None,
    credentials: Optional[Mapping[str, str]] = None,
    base_urls: Optional[Mapping[str, str]] = None,
    timeout: Optional[TimeoutLike] = None,
    clock: Optional[Clock] = None,
    ids: Optional[IdSource] = None,
    host: Optional[Host] = None,
    token_store: Optional[TokenStore] = None,
    max_retries: int = 2,
) -> Any:
    """Return the typed client of ``provider`` (a context manager with ``close()``). Does no I/O.

    Raises :class:`~integrations.errors.ConfigurationError` for an unknown provider or contour, a
    missing credential or an unknown service in ``base_urls``.
    """
    host = host or default_host()
    spec = host.provider(provider)
    contour = contour or spec.default_contour
    urls = spec.base_urls(contour, base_urls)
    checked = spec.check_credentials(credentials)
    if not isinstance(max_retries, int) or max_retries < 0:
        raise errors.ConfigurationError("max_retries must be a non-negative int")
    timeouts = Timeouts.coerce(timeout) if timeout is not None else Timeouts()
    ctx = CallContext(
        provider=spec.name,
        contour=contour,
        base_urls=urls,
        transport=Transport(timeouts=timeouts),
        clock=clock or SystemClock(),
        ids=ids or UuidIds(),
        logger=logging.getLogger(f"integrations.{spec.name}"),
    )
    client = Client(
        host=host, spec=spec, ctx=ctx, credentials=checked, token_store=token_store, max_retries=max_retries
    )
    return spec.facade(client)
