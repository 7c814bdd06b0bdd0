"""The exception tree.

Two families, as ccxt and stripe do it: :class:`ApiError` means *the provider said no* (retrying the
same request will not help), :class:`OperationFailed` means *the operation failed or its outcome is
unknown* (retrying may help; see ``should_retry``). Every message is safe to log: no error that
leaves a client holds a credential or a token value, even one the server echoed (see
:mod:`integrations.scrub`).

Every error pickles with all its attributes and the same ``str()`` (for ``ProcessPoolExecutor`` and
``multiprocessing``), and copies with :func:`copy.copy`; as for any exception, ``__cause__`` and the
traceback are not pickled.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Optional, Tuple, Type, TypeVar

from .scrub import PREVIEW_LENGTH, redact_shapes

__all__ = [
    "AccessTokenRejected",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionError",
    "IntegrationError",
    "NotFound",
    "OperationFailed",
    "PermissionDenied",
    "PluginError",
    "ProtocolError",
    "RateLimited",
    "Rejected",
    "RpcError",
    "ServiceUnavailable",
    "Timeout",
    "TransportError",
    "ValidationError",
]

_BODY_PREVIEW = PREVIEW_LENGTH
_REDACT_WINDOW = 8 * _BODY_PREVIEW

E = TypeVar("E", bound="IntegrationError")


class IntegrationError(Exception):
    """The base of every exception this library raises on purpose.

    ``during`` says what was being done: the operation and its path, for example
    ``alor.orderbook GET /md/v2/orderbooks/MOEX/XXXX`` (never the query or the body). The client sets
    it on every error a call raises, and ``str()`` starts with it.
    """

    during: str = ""

    def __str__(self) -> str:
        text = self._describe()
        return f"{self.during}: {text}" if self.during else text

    def _describe(self) -> str:
        return super().__str__()

    def __reduce__(self) -> Tuple[Any, ...]:
        # The default (``cls(*self.args)`` then the attributes) calls ``__init__`` with the wrong
        # arguments for every class with keyword-only or extra parameters (RpcError could not be
        # unpickled at all). Rebuild without ``__init__``: the same class, args and attributes.
        return (_restore, (type(self), self.args, self.__dict__.copy()))


def _restore(cls: Type[E], args: Tuple[Any, ...], state: Dict[str, Any]) -> E:
    """Rebuild a pickled or copied :class:`IntegrationError` (see ``IntegrationError.__reduce__``)."""
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class ConfigurationError(IntegrationError):
    """Raised by :func:`integrations.connect` for an unknown provider or contour, a missing credential
    field, or a base URL for a service the provider does not have. Nothing has been sent."""


class ValidationError(IntegrationError, ValueError):
    """Raised by a facade method when an argument is invalid. Raised before any request is sent."""


class PluginError(IntegrationError):
    """Raised when a plugin fails to load (in strict mode), registers a duplicate provider name, or
    breaks the hook contract (for example no plugin answers a firstresult hook)."""


class ApiError(IntegrationError):
    """The provider answered and refused the request.

    ``raw`` is a redacted preview of the response body (its first 500 characters), for diagnostics:
    JWTs, ``Bearer`` credentials, URL user info and the values of fields named like a secret
    (``password``, ``refresh_token``...) are replaced by ``[REDACTED]`` here; the client then
    replaces the values it knows to be secret (its credentials and tokens) everywhere in the error.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        raw: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = code
        self.request_id = request_id
        # Redacted before it is cut, so a secret across the cut is still recognised whole; a window,
        # not the whole body, which may be megabytes.
        self.raw = redact_shapes(raw[:_REDACT_WINDOW])[:_BODY_PREVIEW] if raw else raw

    def _describe(self) -> str:
        parts = [self.message]
        details = []
        if self.provider:
            details.append(self.provider)
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        if details:
            parts.append(f"({', '.join(details)})")
        return " ".join(parts)


class AuthenticationError(ApiError):
    """Raised when the provider rejects the credentials or the refresh token. Refreshing will not help:
    the credentials need replacing."""


class AccessTokenRejected(AuthenticationError):
    """Raised by a call hook when the provider rejects the *access* token (HTTP 401, or a provider's
    auth error code). The client reacts by refreshing once and retrying once; if the retry is
    rejected too, this error reaches the caller."""


class PermissionDenied(ApiError):
    """Raised on HTTP 403 for a call (for example a portfolio the token does not cover)."""


class NotFound(ApiError):
    """Raised on HTTP 404: the resource or instrument does not exist."""


class RateLimited(ApiError):
    """Raised on HTTP 429. ``retry_after`` is the server's hint in seconds, or ``None``."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Rejected(ApiError):
    """Raised on HTTP 400 and other 4xx answers: the provider refused the request as invalid."""


class RpcError(ApiError):
    """Raised when a JSON-RPC response carries an error: ``rpc_code`` (the numeric code, or ``None``
    when the server sent none or a non-numeric one, kept as sent in ``code``), ``message``, ``data``."""

    def __init__(self, rpc_code: Optional[int], message: str, data: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("code", None if rpc_code is None else str(rpc_code))
        super().__init__(message, **kwargs)
        self.rpc_code = rpc_code
        self.data = data


class OperationFailed(IntegrationError):
    """The operation failed or its outcome is unknown. ``should_retry`` says whether a retry may help.

    ``outcome_unknown`` is true when the request may have reached the provider and been acted on (a
    timeout while waiting for the answer, a connection lost after sending, a 5xx, a malformed
    answer), and false when it certainly was not sent (the connection could not be made). The client
    retries only requests that are safe to repeat (reads, and commands the provider deduplicates by
    their request id); any other request whose outcome is unknown reaches the caller as this error,
    with a message that says so: check the provider's state before repeating it.
    """

    should_retry = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        request_id: Optional[str] = None,
        outcome_unknown: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.request_id = request_id
        self.outcome_unknown = outcome_unknown


class TransportError(OperationFailed):
    """Raised when no HTTP response arrived: see :class:`ConnectionError` and :class:`Timeout`."""


class ConnectionError(TransportError, builtins.ConnectionError):  # noqa: A001 - the name is the concept
    """Raised when the connection could not be made (``outcome_unknown`` false: nothing was sent) or
    broke before a response arrived (``outcome_unknown`` true). Also the builtin ``ConnectionError``
    (an ``OSError``), so ``except ConnectionError`` of the standard library catches it."""


class Timeout(TransportError, TimeoutError):
    """Raised when a connect or read timeout, or the call's total deadline, expired. After a connect
    timeout nothing was sent (``outcome_unknown`` false); otherwise the request may have been
    processed. Also the builtin ``TimeoutError`` (an ``OSError``)."""


class ServiceUnavailable(OperationFailed):
    """Raised on HTTP 5xx: the provider failed. The request may have been processed."""

    def __init__(self, message: str, *, status: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


class ProtocolError(OperationFailed):
    """Raised when a response is malformed: not JSON where JSON was expected, or the wrong shape."""

    should_retry = False
