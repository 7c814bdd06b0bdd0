"""A provider-bound client: the call path through the hooks, the token lifecycle, retries and the
per-call deadline.

``connect()`` builds one and wraps it in the provider's typed facade. Nothing here does I/O until
the first call: authentication is lazy.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any, ClassVar, Mapping, Optional, Tuple, Type, TypeVar, Union, overload

import requests

from . import errors, validation
from ._fork import renew_locks_in_child
from .host import Host, ProviderHooks, default_host
from .provider import CallContext, ProviderSpec
from .runtime import Clock, IdSource, SystemClock, UuidIds
from .scrub import SecretSet
from .tokens import Token, TokenManager, TokenStore
from .transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Deadline,
    Request,
    TimeoutLike,
    Timeouts,
    Transport,
    VerifyLike,
)

__all__ = ["Client", "ProviderClient", "connect"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound="ProviderClient")

# The longest back-off between two attempts, whatever the attempt number.
_MAX_BACKOFF = 30.0


class Client:
    """Sends :class:`Request` objects for one provider through its hooks. Thread-safe.

    The call path (:meth:`call`): start the call's :class:`Deadline`; get a valid token (single
    flight); run the provider's ``integrations_call`` (wrappers first); on
    :class:`~integrations.errors.AccessTokenRejected` renew once and send once more; after a
    failure, retry only what is safe: a request that certainly was not processed (no connection,
    HTTP 429), or one marked ``retry=True`` (reads, commands the provider deduplicates by request
    id), always with the same request id and never past the deadline.
    """

    def __init__(
        self,
        *,
        host: Host,
        spec: ProviderSpec,
        contour: str,
        base_urls: Mapping[str, str],
        credentials: Mapping[str, str],
        timeouts: Optional[Timeouts] = None,
        clock: Optional[Clock] = None,
        ids: Optional[IdSource] = None,
        token_store: Optional[TokenStore] = None,
        max_retries: int = 2,
        backoff: float = 0.25,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        verify: Optional[VerifyLike] = None,
        cert: Optional[Union[str, Tuple[str, str]]] = None,
        proxies: Optional[Mapping[str, str]] = None,
        session: Optional[requests.Session] = None,
        trust_env: Optional[bool] = None,
    ) -> None:
        self.host = host
        self.spec = spec
        self.hooks: ProviderHooks = host.hooks_for(spec.name)
        self.timeouts = timeouts or Timeouts()
        self.ctx = CallContext(
            provider=spec.name,
            contour=contour,
            base_urls=dict(base_urls),
            transport=Transport(
                timeouts=self.timeouts,
                max_response_bytes=max_response_bytes,
                verify=verify,
                cert=cert,
                proxies=proxies,
                session=session,
                trust_env=trust_env,
            ),
            clock=clock or SystemClock(),
            ids=ids or UuidIds(),
            exchange=self._unauthenticated,
        )
        self._credentials = dict(credentials)
        # What no error leaving this client may show: credentials, URL user info, every token obtained.
        self.secrets = SecretSet(self._credentials.values())
        for url in self.ctx.base_urls.values():
            self.secrets.add_url(url)
        self.max_retries = max_retries
        self.backoff = backoff
        self._closed = False
        self._close_lock = threading.Lock()
        renew_locks_in_child(self, _close_lock=threading.Lock)
        # The deadline of the call running in this thread, for the logins and refreshes it causes.
        self._current = threading.local()
        self.tokens = TokenManager(
            authenticate=self._authenticate,
            refresh=self._refresh if self.hooks.refresh is not None else None,
            clock=self.ctx.clock,
            leeway=spec.token_leeway,
            reauthenticate=spec.reauthenticate,
            store=token_store,
        )

    def __repr__(self) -> str:
        return f"<Client provider={self.ctx.provider!r} contour={self.ctx.contour!r}>"

    # -- the call path -----------------------------------------------------------------------

    def call(self, request: Request) -> Any:
        """Perform ``request`` and return what the provider's call hook returned.

        Raises an :class:`~integrations.errors.ApiError` when the provider refuses, and an
        :class:`~integrations.errors.OperationFailed` when the call failed or its outcome is
        unknown (``outcome_unknown``; the message says whether the request was retried).
        """
        deadline = Deadline(request.timeout or self.timeouts)
        try:
            with _Scope(self._current, deadline):
                result = self._with_retries(request, deadline)
        except errors.IntegrationError as exc:
            if not exc.during:
                exc.during = f"{request.operation or self.ctx.provider} {request.method} {request.path}"
            self._scrub(exc)
            raise
        if type(result) is list:  # a batch's outcomes: the errors of failed members are returned
            for outcome in result:
                failure = getattr(outcome, "error", None)
                if isinstance(failure, errors.IntegrationError):
                    self._scrub(failure)
        return result

    def token(self, timeout: Optional[TimeoutLike] = None) -> Token:
        """A valid token, authenticating or renewing first if needed (within ``timeout``).
        Raises :class:`~integrations.errors.ConfigurationError` once the client is closed."""
        try:
            self._check_open()
            deadline = Deadline(validation.timeouts(timeout) or self.timeouts)
            with _Scope(self._current, deadline):
                return self._token(deadline)
        except errors.IntegrationError as exc:
            self._scrub(exc)
            raise

    def _scrub(self, exc: errors.IntegrationError) -> None:
        # Every error leaving the client, whatever the server echoed into it (see integrations.scrub).
        current = self.tokens.peek()  # also a token loaded from a persistent store
        if current is not None:
            self.secrets.add_token(current.access, current.refresh)
        self.secrets.scrub_exception(exc)

    def _unauthenticated(self, request: Request) -> Any:
        # ctx.call(): a login or refresh, inside the call that needed it (or a call of its own).
        if request.authenticated:
            raise errors.PluginError(
                f"{request.operation or request.path}: ctx.call() sends requests without a token; "
                "build the Request with authenticated=False"
            )
        deadline = getattr(self._current, "deadline", None)
        if deadline is None:
            return self.call(request)
        return self._with_retries(request, deadline)

    def _with_retries(self, request: Request, deadline: Deadline) -> Any:
        attempt = 0
        while True:
            self._check_open()
            try:
                return self._attempt(request, deadline)
            except (errors.OperationFailed, errors.RateLimited) as exc:
                delay = self._retry_delay(request, exc, attempt, deadline)
                failure = type(exc).__name__
            attempt += 1
            log.info(
                "%s: %s; retry %d/%d in %.2fs (request id %s)",
                request.operation or request.path,
                failure,
                attempt,
                self.max_retries,
                delay,
                request.request_id,
            )
            self.ctx.clock.sleep(delay)

    def _attempt(self, request: Request, deadline: Deadline) -> Any:
        token = self._token(deadline) if request.authenticated else None
        try:
            return self._exchange(token, request, deadline)
        except errors.AccessTokenRejected:
            if token is None or not token.refreshable:
                raise
            log.info("%s: access token rejected; renewing once", self.ctx.provider)
        try:
            token = self.tokens.renew_rejected(token, deadline)
        except errors.IntegrationError as exc:
            raise _from_token_path(exc) from None
        return self._exchange(token, request, deadline)

    def _token(self, deadline: Deadline) -> Token:
        try:
            return self.tokens.token(deadline)
        except errors.IntegrationError as exc:
            raise _from_token_path(exc) from None

    def _exchange(self, token: Optional[Token], request: Request, deadline: Deadline) -> Any:
        return self.hooks.call(ctx=self.ctx, token=token, request=request, deadline=deadline)

    def _retry_delay(
        self, request: Request, exc: errors.IntegrationError, attempt: int, deadline: Deadline
    ) -> float:
        """The wait before the next attempt; re-raises ``exc`` when there is none."""
        if getattr(exc, "_from_token_path", False):
            raise exc  # the login or refresh already had its own retries; the request was not sent
        if isinstance(exc, errors.RateLimited):
            # Refused, not processed: safe to repeat, but only within the budget.
            delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
            if attempt >= self.max_retries or delay >= deadline.remaining():
                raise exc
            return delay
        assert isinstance(exc, errors.OperationFailed)  # noqa: S101 - narrowed by the caller
        retryable = exc.should_retry and (request.retry or not exc.outcome_unknown)
        delay = self._backoff(attempt)
        if retryable and attempt < self.max_retries and delay < deadline.remaining():
            return delay
        if exc.outcome_unknown and not _is_read(request):
            _say_outcome_unknown(exc, request, attempt + 1, retryable)
        raise exc

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff * (2**attempt), _MAX_BACKOFF))

    # -- hooks behind the token manager --------------------------------------------------------

    def _authenticate(self) -> Token:
        token = self.hooks.authenticate(ctx=self.ctx, credentials=self._credentials)
        return self._expect_token(token, "integrations_authenticate")

    def _refresh(self, token: Token) -> Token:
        assert self.hooks.refresh is not None  # noqa: S101 - only installed when it exists
        return self._expect_token(self.hooks.refresh(ctx=self.ctx, token=token), "integrations_refresh")

    def _expect_token(self, token: Any, hook: str) -> Token:
        if not isinstance(token, Token):
            raise errors.PluginError(
                f"plugin {self.hooks.plugin!r} answered {hook} for provider {self.ctx.provider!r} "
                f"with {type(token).__name__}, not a Token"
            )
        self.secrets.add_token(token.access, token.refresh)
        return token

    # -- lifecycle ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise errors.ConfigurationError(f"this {self.ctx.provider} client is closed")

    def close(self) -> None:
        """Release the connection pool. Idempotent; a closed client refuses every call."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self.ctx.transport.close()

    @property
    def closed(self) -> bool:
        return self._closed


class _Scope:
    """Makes ``deadline`` the current call's deadline in this thread, restoring the outer one after."""

    __slots__ = ("_deadline", "_local", "_outer")

    def __init__(self, local: threading.local, deadline: Deadline) -> None:
        self._local = local
        self._deadline = deadline

    def __enter__(self) -> None:
        self._outer = getattr(self._local, "deadline", None)
        self._local.deadline = self._deadline

    def __exit__(self, *exc_info: object) -> None:
        self._local.deadline = self._outer


def _from_token_path(exc: errors.IntegrationError) -> errors.IntegrationError:
    # Marks a failure to obtain a token: it already had its own retries, and the request that
    # needed the token was never sent, so the outer retry loop must pass it through untouched.
    exc._from_token_path = True  # type: ignore[attr-defined]
    return exc


def _is_read(request: Request) -> bool:
    return request.method.upper() in ("GET", "HEAD", "OPTIONS")


def _say_outcome_unknown(
    exc: errors.OperationFailed, request: Request, attempts: int, retryable: bool
) -> None:
    what = request.operation or f"{request.method} {request.path}"
    if retryable:
        note = f"outcome unknown after {attempts} attempt(s)"
        if request.request_id:
            note += f"; repeating it with request id {request.request_id} is safe"
    elif not exc.should_retry:
        note = "outcome unknown: the server answered, but not in a form that tells what it did"
        if request.request_id:
            note += f" (check its state; request id {request.request_id})"
    else:
        note = (
            "outcome unknown: the server may have acted on it; not retried, because repeating it "
            "could act twice (check its state first, or pass retry=True if it is safe to repeat)"
        )
    exc.message = f"{what}: {note}: {exc.message}"
    exc.args = (exc.message,)


class ProviderClient:
    """The base of every typed facade (``AlorClient``, ``TradingDeskClient``): a context manager
    around a :class:`Client`. ``provider_name`` names the provider the facade serves, so that
    ``connect(AlorClient, ...)`` is typed as ``AlorClient``."""

    provider_name: ClassVar[str] = ""

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


@overload
def connect(
    provider: Type[F],
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
    max_response_bytes: Optional[int] = None,
    verify: Optional[VerifyLike] = None,
    cert: Optional[Union[str, Tuple[str, str]]] = None,
    proxies: Optional[Mapping[str, str]] = None,
    session: Optional[requests.Session] = None,
    trust_env: Optional[bool] = None,
) -> F: ...


@overload
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
    max_response_bytes: Optional[int] = None,
    verify: Optional[VerifyLike] = None,
    cert: Optional[Union[str, Tuple[str, str]]] = None,
    proxies: Optional[Mapping[str, str]] = None,
    session: Optional[requests.Session] = None,
    trust_env: Optional[bool] = None,
) -> Any: ...


def connect(
    provider: Union[str, Type[ProviderClient]],
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
    max_response_bytes: Optional[int] = None,
    verify: Optional[VerifyLike] = None,
    cert: Optional[Union[str, Tuple[str, str]]] = None,
    proxies: Optional[Mapping[str, str]] = None,
    session: Optional[requests.Session] = None,
    trust_env: Optional[bool] = None,
) -> Any:
    """Return the typed client of ``provider`` (a context manager with ``close()``). Does no I/O.

    ``provider`` is the facade class (``connect(AlorClient, ...)``, typed as ``AlorClient``) or the
    provider's name (``connect("alor", ...)``, typed as ``Any``). ``timeout`` is a number (the whole
    budget of each call), a ``(connect, read)`` pair or a :class:`Timeouts`. ``max_response_bytes``
    caps each answer's body while it is read (default 16 MiB).

    ``credentials`` default to the environment: ``INTEGRATIONS_<PROVIDER>_<FIELD>`` (for example
    ``INTEGRATIONS_ALOR_REFRESH_TOKEN``); explicit ``credentials`` win.

    The environment is honoured as requests does (``trust_env``, default true), read once here:
    ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` (and lower case), ``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``. ``proxies`` (a requests-style dict) wins over the
    environment's; ``verify`` is a bool or a CA bundle path, ``cert`` a client certificate (a path or
    a ``(cert, key)`` pair). ``session`` is your own ``requests.Session``, used as is: its adapters
    keep their own pools and timeouts, so the whole-call deadline bounds each socket operation only
    if its adapters are the library's (mount ``integrations._deadline.DeadlineAdapter``); per-operation
    connect and read timeouts, the size cap and never following redirects still hold.

    Raises :class:`~integrations.errors.ConfigurationError` for an unknown provider or contour, a
    missing credential or an unknown service in ``base_urls``;
    :class:`~integrations.errors.ValidationError` for a bad ``timeout``; and
    :class:`~integrations.errors.PluginError` when the provider's plugin lacks a required hook.
    """
    host = host or default_host()
    facade: Optional[Type[ProviderClient]] = None
    if isinstance(provider, type):
        facade = provider
        name = getattr(provider, "provider_name", "")
        if not name:
            raise errors.ConfigurationError(f"{provider.__name__} names no provider (provider_name)")
    elif isinstance(provider, str):
        name = provider
    else:
        raise errors.ConfigurationError(f"provider must be a name or a facade class, not {provider!r}")
    spec = host.provider(name)
    served = spec.facade_class()
    if facade is not None and not (isinstance(served, type) and issubclass(served, facade)):
        raise errors.ConfigurationError(f"provider {name!r} is served by {served!r}, not {facade.__name__}")
    contour = contour or spec.default_contour
    urls = spec.base_urls(contour, base_urls)
    checked = spec.credentials_from_env() if credentials is None else spec.check_credentials(credentials)
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise errors.ConfigurationError("max_retries must be a non-negative int")
    client = Client(
        host=host,
        spec=spec,
        contour=contour,
        base_urls=urls,
        credentials=checked,
        timeouts=validation.timeouts(timeout),
        clock=clock,
        ids=ids,
        token_store=token_store,
        max_retries=max_retries,
        max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes,
        verify=verify,
        cert=cert,
        proxies=proxies,
        session=session,
        trust_env=trust_env,
    )
    return served(client)
