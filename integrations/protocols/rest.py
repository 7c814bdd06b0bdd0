"""The shared REST status-to-error mapping, for any plugin.

The status decides the class; the error body's code and message fields (named per provider with
:class:`ErrorFields`) fill in the details. ``raw`` keeps a preview of the body for diagnostics.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import attrs

from .. import errors
from ..transport import Response

__all__ = ["ErrorFields", "ErrorMapper", "error_fields", "proxy_refused", "raise_for_status", "retry_after"]


# mapper(status, body, text) -> (code, message): ``body`` is the decoded JSON (``None`` when the
# body is empty or not JSON), ``text`` the body as text.
ErrorMapper = Callable[[int, Any, str], Tuple[Optional[str], Optional[str]]]


def _paths(value: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class ErrorFields:
    """Where a provider's JSON error body keeps its error code and message.

    ``code`` and ``message`` are each a dotted path (``"error.code"``: the key ``code`` of the
    object under ``error``; a number indexes a list: ``"errors.0.message"``) or several, tried in
    order: the first that leads to a string, number or boolean wins. A plain string is one path.
    ``mapper``, when given, decides instead: ``mapper(status, body, text) -> (code, message)``,
    with ``body`` the decoded JSON (``None`` when the body is empty or not JSON) and ``text`` the
    body as text; ``None`` for either means absent. For example::

        ErrorFields(code=("code", "error.code"), message=("message", "error.message", "error"))

    reads ``{"code": "X", "message": "boom"}``, ``{"error": {"code": "X", "message": "boom"}}``
    and ``{"error": "boom"}`` alike.
    """

    code: Tuple[str, ...] = attrs.field(default=("code",), converter=_paths)
    message: Tuple[str, ...] = attrs.field(default=("message",), converter=_paths)
    mapper: Optional[ErrorMapper] = attrs.field(default=None, eq=False)


DEFAULT_FIELDS = ErrorFields()


def raise_for_status(
    provider: str,
    response: Response,
    *,
    fields: Optional[ErrorFields] = None,
    message: Optional[str] = None,
) -> None:
    """Raise the error-tree exception for a non-2xx ``response``; return for 2xx.

    401 → :class:`~integrations.errors.AccessTokenRejected`, 403 → ``PermissionDenied``,
    404 → ``NotFound``, 429 → ``RateLimited`` (with ``retry_after``), other 4xx → ``Rejected``,
    5xx → ``ServiceUnavailable``, and any other non-2xx → ``ProtocolError`` naming the status (a
    3xx: the transport never follows a redirect, see :class:`~integrations.transport.Transport`).
    407 (a proxy between us and the provider wants credentials; the provider never saw the request)
    → :class:`~integrations.errors.TransportError` with ``should_retry`` and ``outcome_unknown``
    false: repeating it meets the same proxy. ``message`` overrides the text taken from the body.

    ``fields`` says where the error body keeps its code and message (default: top-level ``code``
    and ``message``); a plugin passes the :class:`ErrorFields` it declares as
    :attr:`ProviderSpec.errors <integrations.provider.ProviderSpec.errors>`.
    """
    status = response.status
    if 200 <= status < 300:
        return
    if status == 407:
        raise proxy_refused(provider, response)
    code, text = error_fields(response, fields)
    text = message or text or f"HTTP {status}"
    if status >= 500:
        raise errors.ServiceUnavailable(
            f"{provider}: HTTP {status}: {text}",
            status=status,
            provider=provider,
            request_id=response.request_id,
        )
    if status < 400:
        what = " (a redirect: redirects are never followed)" if 300 <= status < 400 else ""
        raise errors.ProtocolError(
            f"{provider}: unexpected HTTP {status}{what}", provider=provider, request_id=response.request_id
        )
    common: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "code": code,
        "request_id": response.request_id,
        "raw": response.text,
    }
    if status == 401:
        raise errors.AccessTokenRejected(text, **common)
    if status == 403:
        raise errors.PermissionDenied(text, **common)
    if status == 404:
        raise errors.NotFound(text, **common)
    if status == 429:
        raise errors.RateLimited(text, retry_after=retry_after(response), **common)
    raise errors.Rejected(text, **common)


def proxy_refused(provider: str, response: Response) -> errors.TransportError:
    """The error for HTTP 407 from a proxy: not the provider's answer, and not worth repeating."""
    failure = errors.TransportError(
        f"{provider}: HTTP 407 Proxy Authentication Required: the proxy refused the request before it "
        "reached the provider; not retried (configure the proxy's credentials)",
        provider=provider,
        request_id=response.request_id,
        outcome_unknown=False,
    )
    failure.should_retry = False
    return failure


def error_fields(
    response: Response, fields: Optional[ErrorFields] = None
) -> Tuple[Optional[str], Optional[str]]:
    """The error code and message of an error body (``None`` for each that is absent)."""
    fields = fields or DEFAULT_FIELDS
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except errors.ProtocolError:
            body = None
    if fields.mapper is not None:
        code, message = fields.mapper(response.status, body, response.text)
        return _text(code), _text(message)
    return _text(_first(body, fields.code)), _text(_first(body, fields.message))


def _first(body: Any, paths: Tuple[str, ...]) -> Any:
    for path in paths:
        value = body
        for part in path.split("."):
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                value = None
            if value is None:
                break
        if isinstance(value, (str, int, float, bool)):
            return value
    return None


def _text(value: Any) -> Optional[str]:
    return str(value) if value is not None else None


def retry_after(response: Response) -> Optional[float]:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date (``None`` when absent or
    unreadable)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        # Relative to the server's own clock when it sent its Date, so a skewed clock here
        # does not stretch or cut the wait.
        now = _date(response.headers.get("Date"))
        seconds = when.timestamp() - (now if now is not None else time.time())
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def _date(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
