"""Trading Desk authentication.

- ``{"email", "password"}``: ``User.auth`` returns an access/refresh pair with their expiries.
- ``User.tokenRefresh {"refresh_token"}`` rotates **both** tokens: the old refresh token dies, so the
  new pair is returned and the TokenManager stores it before anything uses it.
- ``{"token"}``: an administrator's long-lived (three-month) token, used as the Bearer token as is.
  Nothing can renew it, so it becomes a non-refreshable :class:`~integrations.tokens.Token` without I/O.

Both methods go through :func:`integrations_tradingdesk.jsonrpc.exchange` without a Bearer token, so
the same HTTP and JSON-RPC rules apply as to every other call.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Mapping, Optional

from integrations import errors
from integrations.provider import CallContext
from integrations.tokens import Token

from . import jsonrpc, provider

__all__ = ["admin_token", "authenticate", "login", "parse_datetime", "parse_expiry", "refresh"]

log = logging.getLogger("integrations.tradingdesk")

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

# -- dates and expiries --------------------------------------------------------------------------

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")
# PHP's timezone_type 2 abbreviations (DST ones carry their own offset). Unknown ones fall back to UTC.
_ABBREVIATIONS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2, "MET": 1,
    "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "MSD": 4, "SAMT": 4, "YEKT": 5, "OMST": 6, "NOVT": 7,
    "KRAT": 7, "IRKT": 8, "YAKT": 9, "VLAT": 10, "MAGT": 11, "PETT": 12, "EST": -5, "EDT": -4,
    "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "JST": 9, "KST": 9, "HKT": 8,
    "AEST": 10, "AEDT": 11,
}
# Used only when the system has no tz database; Moscow has kept +03:00 all year since 2014.
_FIXED_ZONES = {"Europe/Moscow": 3, "Etc/UTC": 0, "Etc/GMT": 0, "UTC": 0, "GMT": 0}


def _offset(text: str) -> Optional[dt.timezone]:
    match = _OFFSET.match(text.strip())
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
    return dt.timezone(-delta if sign == "-" else delta)


def _zone(name: str, timezone_type: Any) -> dt.tzinfo:
    fixed = _offset(name)
    if fixed is not None or timezone_type == 1:
        return fixed or dt.timezone.utc
    if timezone_type == 2 or (timezone_type is None and "/" not in name):
        if name.upper() in _ABBREVIATIONS:
            return dt.timezone(dt.timedelta(hours=_ABBREVIATIONS[name.upper()]))
        if timezone_type == 2:
            log.warning("unknown time zone abbreviation %r; reading the time as UTC", name)
            return dt.timezone.utc
    try:
        import zoneinfo

        return zoneinfo.ZoneInfo(name)
    except (ImportError, ValueError, LookupError, OSError):
        hours = _FIXED_ZONES.get(name, _ABBREVIATIONS.get(name.upper()))
        if hours is None:
            log.warning("unknown time zone %r; reading the time as UTC", name)
            return dt.timezone.utc
        return dt.timezone(dt.timedelta(hours=hours))


def _parse_text(text: str, tz: Optional[dt.tzinfo] = None) -> dt.datetime:
    match = _DATETIME.match(text.strip())
    if not match:
        raise ValueError("not a date and time")
    year, month, day, hour, minute, second, fraction, suffix = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    naive = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                        micro)
    if suffix:
        zone = dt.timezone.utc if suffix.upper() == "Z" else _offset(suffix)
        return naive.replace(tzinfo=zone)
    return naive.replace(tzinfo=tz or dt.timezone.utc)


def parse_datetime(value: Any) -> dt.datetime:
    """A timezone-aware datetime from ``YYYY-MM-DD HH:MM:SS[.ffffff]``, ISO 8601 (naive means UTC) or a
    PHP DateTime object ``{"date", "timezone_type", "timezone"}`` (1: offset, 2: abbreviation,
    3: zone id). Raises ``ValueError`` for anything else."""
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, dict) and isinstance(value.get("date"), str):
        zone = value.get("timezone")
        tz = _zone(zone, value.get("timezone_type")) if isinstance(zone, str) and zone else None
        return _parse_text(value["date"], tz)
    raise ValueError(f"cannot read a date from {type(value).__name__}")


_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


def parse_expiry(value: Any, now: float) -> Optional[float]:
    """An expiry field as Unix seconds, in whichever form the server chose (fact sheet §2):

    a number or digit string below 1e9 is a lifetime in seconds from ``now``; from 1e9 to 1e11,
    epoch seconds; above, epoch milliseconds. Other text is ``YYYY-MM-DD HH:MM:SS[.ffffff]`` or
    ISO 8601 (naive means UTC); an object with ``date`` is a PHP DateTime. ``None`` when absent or
    unreadable: the token is then renewed when the server rejects it, not ahead of time.
    """
    if value is None or value == "":
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
            return number if number < 1e11 else number / 1000.0
        return parse_datetime(value).timestamp()
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


def _call(ctx: CallContext, method: str, params: Mapping[str, Any], rejected: jsonrpc.AuthErrorRule,
          refusal: str) -> Any:
    request = jsonrpc.build_request(
        jsonrpc.RpcCall(method, params), ids=ctx.ids, path=provider.PATH,
        query_parameter=provider.QUERY_PARAMETER, authenticated=False, operation=f"{provider.NAME}.{method}",
    )
    try:
        response = jsonrpc.exchange(ctx, None, request, provider=provider.NAME,
                                    auth_rule=provider.AUTH_ERRORS)
    except errors.RpcError as exc:
        if not (rejected.matches(exc.rpc_code, exc.message) or exc.status in (401, 403)):
            raise
        # Neither the values sent nor the error's data (which might echo them) go into the error.
        raise errors.AuthenticationError(
            refusal, provider=provider.NAME, status=exc.status, code=exc.code, request_id=exc.request_id
        ) from None
    return jsonrpc.outcomes(response, request.json, provider=provider.NAME)[0].unwrap()


def admin_token(token: str) -> Token:
    """An administrator's token as a :class:`Token`: never expires as far as the client knows, and
    cannot be refreshed (the server rejecting it raises ``AuthenticationError``)."""
    return Token(access=token, refreshable=False)


def login(ctx: CallContext, email: str, password: str) -> Token:
    """``User.auth``. Raises :class:`~integrations.errors.AuthenticationError` for a wrong email or
    password (without echoing either)."""
    now = ctx.clock.now()
    result = _call(ctx, "User.auth", {"email": email, "password": password}, LOGIN_REJECTED,
                   "Trading Desk rejected the email or password")
    return _token(result, now, "User.auth")


def refresh(ctx: CallContext, token: Token) -> Token:
    """``User.tokenRefresh``: the new access *and* refresh token. Raises
    :class:`~integrations.errors.AuthenticationError` when the refresh token is rejected (expired,
    or already rotated away); with email and password the TokenManager then logs in again."""
    if not token.refresh:
        raise errors.AuthenticationError("this Trading Desk token carries no refresh token",
                                         provider=provider.NAME)
    now = ctx.clock.now()
    result = _call(ctx, "User.tokenRefresh", {"refresh_token": token.refresh}, REFRESH_REJECTED,
                   "Trading Desk rejected the refresh token (expired, or already rotated by a refresh)")
    return _token(result, now, "User.tokenRefresh")


def authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Token:
    """A token from either accepted credential shape."""
    if "email" in credentials and "password" in credentials:
        return login(ctx, credentials["email"], credentials["password"])
    return admin_token(credentials["token"])
