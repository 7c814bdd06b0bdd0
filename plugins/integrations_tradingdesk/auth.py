"""Trading Desk authentication.

- ``{"email", "password"}``: ``User.auth`` returns an access/refresh pair with their expiries.
- ``User.tokenRefresh {"refresh_token"}`` rotates **both** tokens: the old refresh token dies, so the
  new pair is returned and the TokenManager stores it before anything uses it.
- ``{"refresh_token"}``: a connection that starts from a stored refresh token alone; authenticating
  is ``User.tokenRefresh`` with it. Without a password nothing can log in again, so when that refresh
  token is refused the error says the refresh token was refused.
- ``{"token"}``: an administrator's long-lived (three-month) token, used as the Bearer token as is.
  Nothing can renew it, so it becomes a non-refreshable :class:`~integrations.tokens.Token` without I/O.

Both methods go through ``ctx.call`` (the provider's call hook, without a Bearer token), so the same
HTTP and JSON-RPC rules, wrappers and deadline apply as to every other call. ``User.auth`` may be
repeated after a lost reply (it only issues another token pair); ``User.tokenRefresh`` may not: the
first attempt may have rotated the refresh token away. When its outcome is unknown, the next renewal
finds the old refresh token refused and logs in again with the email and password.
"""

from __future__ import annotations

import logging
import re
from typing import Any, List, Mapping, Optional

from integrations import errors
from integrations.protocols import jsonrpc
from integrations.provider import CallContext
from integrations.tokens import Token

from . import provider
from .models import parse_datetime

__all__ = ["admin_token", "authenticate", "login", "login_with_refresh_token", "parse_expiry", "refresh"]

log = logging.getLogger(f"integrations.{provider.NAME}")

_OTHER_CODES = jsonrpc.STANDARD_CODES | {provider.ACCESS_DENIED, provider.CAMPAIGN_NOT_FOUND}
# What a refusal of the credentials looks like, for each of the two methods.
LOGIN_REJECTED = jsonrpc.AuthErrorRule(
    codes=frozenset({provider.BAD_LOGIN, provider.UNAUTHORIZED}),
    other_known_codes=_OTHER_CODES | {provider.BAD_REFRESH_TOKEN},
    message_pattern=re.compile(r"auth|login|password|email|credential", re.IGNORECASE),
)
REFRESH_REJECTED = jsonrpc.AuthErrorRule(
    codes=frozenset({provider.BAD_REFRESH_TOKEN, provider.UNAUTHORIZED}),
    other_known_codes=_OTHER_CODES | {provider.BAD_LOGIN},
)

# -- expiries ------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


def parse_expiry(value: Any, now: float) -> Optional[float]:
    """An expiry field as Unix seconds, in whichever form the server chose
    (docs/reference/tradingdesk-api.md §2):

    a number or digit string below 1e9 is a lifetime in seconds from ``now``; from 1e9 to 1e11,
    epoch seconds; above, epoch milliseconds. Other text is ``YYYY-MM-DD HH:MM:SS[.ffffff]`` or
    ISO 8601 (naive means UTC); an object with ``date`` is a PHP DateTime. ``None`` (unknown) when
    absent, unreadable, zero (the guide's own example sends ``"expire_access_token": 0``, which
    cannot mean "expired on arrival") or a date already past on arrival: the token is then used until
    the server rejects it, and renewed once then, never before every call.
    """
    if value is None or value == "" or value == 0 or value == "0":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError("a boolean")
        if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.match(value.strip())):
            number = float(value)
            if number < 0:
                raise ValueError("a negative number")
            if number < 1e9:
                return now + number
            expires = number if number < 1e11 else number / 1000.0
        else:
            expires = parse_datetime(value).timestamp()
        if expires <= now:
            raise ValueError("already past on arrival")
        return expires
    except ValueError as exc:
        log.warning("unreadable token expiry (%s: %s); renewing only on rejection", type(value).__name__, exc)
        return None


def _token(result: Any, now: float, method: str) -> Token:
    data = result if isinstance(result, dict) else {}
    access, refresh_token = data.get("access_token"), data.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise errors.ProtocolError(f"{method} answered without an access_token", provider=provider.NAME)
    if not isinstance(refresh_token, str) or not refresh_token:
        # Without a refresh token the next renewal logs in again, which is still correct.
        log.warning("%s answered without a refresh_token", method)
        refresh_token = None
    return Token(
        access=access,
        expires_at=parse_expiry(data.get("expire_access_token"), now),
        refresh=refresh_token,
        refresh_expires_at=parse_expiry(data.get("expire_refresh_token"), now),
        issued_at=now,
    )


def _call(
    ctx: CallContext,
    method: str,
    params: Mapping[str, Any],
    rejected: jsonrpc.AuthErrorRule,
    refusal: str,
    *,
    retry: bool,
) -> Any:
    request = jsonrpc.build_request(
        jsonrpc.RpcCall(method, params),
        ids=ctx.ids,
        path=provider.PATH,
        query_parameter=provider.QUERY_PARAMETER,
        authenticated=False,
        operation=f"{provider.NAME}.{method}",
        retry=retry,
    )
    try:
        outcomes: List[jsonrpc.RpcOutcome] = ctx.call(request)
    except errors.RpcError as exc:
        if not (rejected.matches(exc.rpc_code, exc.message) or exc.status in (401, 403)):
            raise
        # Neither the values sent nor the error's data (which might echo them) go into the error.
        raise errors.AuthenticationError(
            refusal, provider=provider.NAME, status=exc.status, code=exc.code, request_id=exc.request_id
        ) from None
    return outcomes[0].unwrap()


def admin_token(token: str) -> Token:
    """An administrator's token as a :class:`Token`: never expires as far as the client knows, and
    cannot be refreshed (the server rejecting it raises ``AuthenticationError``)."""
    return Token(access=token, refreshable=False)


def login(ctx: CallContext, email: str, password: str) -> Token:
    """``User.auth``. Raises :class:`~integrations.errors.AuthenticationError` for a wrong email or
    password (without echoing either)."""
    now = ctx.clock.now()
    result = _call(
        ctx,
        "User.auth",
        {"email": email, "password": password},
        LOGIN_REJECTED,
        "Trading Desk rejected the email or password",
        retry=True,
    )
    return _token(result, now, "User.auth")


def refresh(ctx: CallContext, token: Token) -> Token:
    """``User.tokenRefresh``: the new access *and* refresh token. Raises
    :class:`~integrations.errors.AuthenticationError` when the refresh token is rejected (expired,
    or already rotated away); with email and password the TokenManager then logs in again."""
    if not token.refresh:
        raise errors.AuthenticationError(
            "this Trading Desk token carries no refresh token", provider=provider.NAME
        )
    return _token_refresh(
        ctx,
        token.refresh,
        "Trading Desk rejected the refresh token (expired, or already rotated by a refresh)",
    )


def login_with_refresh_token(ctx: CallContext, refresh_token: str) -> Token:
    """``User.tokenRefresh`` with a refresh token given as the credentials (``{"refresh_token"}``).
    Raises :class:`~integrations.errors.AuthenticationError` saying that the refresh token (not a
    password: there is none) was refused."""
    return _token_refresh(
        ctx,
        refresh_token,
        "Trading Desk refused the refresh token given as credentials (expired, or already rotated "
        "by a refresh) and there is no password to log in again: connect with the newest refresh "
        "token (a shared TokenStore keeps it) or with email and password",
    )


def _token_refresh(ctx: CallContext, refresh_token: str, refusal: str) -> Token:
    now = ctx.clock.now()
    result = _call(
        ctx,
        "User.tokenRefresh",
        {"refresh_token": refresh_token},
        REFRESH_REJECTED,
        refusal,
        retry=False,
    )
    return _token(result, now, "User.tokenRefresh")


def authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Token:
    """A token from any accepted credential shape."""
    if "email" in credentials and "password" in credentials:
        return login(ctx, credentials["email"], credentials["password"])
    if "refresh_token" in credentials:
        return login_with_refresh_token(ctx, credentials["refresh_token"])
    return admin_token(credentials["token"])
