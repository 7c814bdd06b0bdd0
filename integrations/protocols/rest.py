"""The shared REST status-to-error mapping, for any plugin.

The status decides the class; the error body's code and message fields (named per provider with
:class:`ErrorFields`) fill in the details. ``raw`` keeps a preview of the body for diagnostics.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Optional, Tuple

import attrs

from .. import errors
from ..transport import Response

__all__ = ["ErrorFields", "error_fields", "proxy_refused", "raise_for_status", "retry_after"]


@attrs.frozen
class ErrorFields:
    """Where a provider's JSON error body keeps its error code and message (top-level keys)."""

    code: str = "code"
    message: str = "message"


DEFAULT_FIELDS = ErrorFields()


def raise_for_status(
    provider: str,
    response: Response,
    *,
    fields: ErrorFields = DEFAULT_FIELDS,
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
    response: Response, fields: ErrorFields = DEFAULT_FIELDS
) -> Tuple[Optional[str], Optional[str]]:
    """The error code and message of a JSON error body (``None`` for each that is absent)."""
    if not response.content:
        return None, None
    try:
        body = response.json()
    except errors.ProtocolError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code, message = body.get(fields.code), body.get(fields.message)
    return (str(code) if code is not None else None), (str(message) if message is not None else None)


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
