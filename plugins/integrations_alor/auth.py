"""ALOR authentication: a long-lived refresh token buys a short-lived JWT from ``{oauth}/refresh``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Mapping, Optional

from integrations import errors
from integrations.provider import CallContext
from integrations.tokens import Token
from integrations.transport import Request

from .provider import DEFAULT_LIFETIME, NAME

__all__ = ["decode_jwt_claims", "exchange_refresh_token"]


def decode_jwt_claims(jwt: str) -> dict[str, Any]:
    """Decode a JWT's payload **without** verifying the signature, as ALOR's own clients do.

    Raises :class:`~integrations.errors.ProtocolError` for anything that is not a JWT.
    """
    parts = jwt.split(".")
    if len(parts) != 3:
        raise errors.ProtocolError("ALOR returned an access token that is not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        raise errors.ProtocolError("ALOR returned a JWT whose payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise errors.ProtocolError("ALOR returned a JWT whose payload is not a JSON object")
    return claims


def exchange_refresh_token(ctx: CallContext, refresh_token: str) -> Token:
    """``POST {oauth}/refresh`` with the refresh token in the body (never in the URL, where proxies
    log it), through the call hook as operation ``alor.refresh``.

    ALOR does not rotate refresh tokens, so a refresh whose reply is lost is safe to repeat. Any
    refusal except 429 means the refresh token is wrong, expired or revoked: ALOR documents 403 and
    its body is undocumented, so the body is not read.
    """
    request = Request(
        "POST",
        "/refresh",
        service="oauth",
        json={"token": refresh_token},
        authenticated=False,
        retry=True,
        operation=f"{NAME}.refresh",
    )
    try:
        response = ctx.call(request)
    except (errors.RateLimited, errors.OperationFailed):
        raise
    except errors.ApiError as exc:
        raise errors.AuthenticationError(
            "ALOR rejected the refresh token (wrong, expired, or revoked by a newer one); issue a new one",
            provider=NAME,
            status=exc.status,
        ) from None
    body = response.json()
    access = body.get("AccessToken") if isinstance(body, Mapping) else None
    if not isinstance(access, str) or not access:
        raise errors.ProtocolError("ALOR /refresh answered 200 without an AccessToken", provider=NAME)
    claims = decode_jwt_claims(access)
    now = ctx.clock.now()
    return Token(
        access=access, expires_at=_expiry(claims, now), refresh=refresh_token, issued_at=now, claims=claims
    )


def _number(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _expiry(claims: Mapping[str, Any], now: float) -> Optional[float]:
    """When the token is due, timed from this client's receipt of it, so that a server clock that
    is off never makes a fresh token look expired (a renewal per call):

    - ``exp`` and ``iat`` (``0 < iat < exp``): ``now + (exp - iat)``, the lifetime the server meant;
    - ``exp`` alone, still ahead: ``exp``; already past on arrival: unknown (``None``), so the token
      is used until ALOR refuses it, and renewed once then;
    - no ``exp``: the documented ~30 minutes.
    """
    exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
    if exp is None:
        return now + DEFAULT_LIFETIME
    if iat is not None and 0 < iat < exp:
        return now + (exp - iat)
    return exp if exp > now else None
