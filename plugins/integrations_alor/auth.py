"""ALOR authentication: a long-lived refresh token buys a short-lived JWT from ``{oauth}/refresh``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Mapping

from integrations import errors
from integrations.client import raise_for_status
from integrations.provider import CallContext
from integrations.tokens import Token

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
    """``POST {oauth}/refresh`` with the refresh token in the body (never in the URL, where proxies log it).

    Any non-2xx answer except 429 and 5xx means the refresh token is wrong, expired or revoked: ALOR
    documents 403 and its body is undocumented, so the body is not parsed.
    """
    response = ctx.transport.send("POST", ctx.url("oauth", "/refresh"), json={"token": refresh_token})
    if response.status == 429 or response.status >= 500:
        raise_for_status(NAME, response)
    if not 200 <= response.status < 300:
        raise errors.AuthenticationError(
            "ALOR rejected the refresh token (wrong, expired, or revoked by a newer one); issue a new one",
            provider=NAME,
            status=response.status,
        )
    body = response.json()
    access = body.get("AccessToken") if isinstance(body, Mapping) else None
    if not isinstance(access, str) or not access:
        raise errors.ProtocolError("ALOR /refresh answered 200 without an AccessToken")
    claims = decode_jwt_claims(access)
    now = ctx.clock.now()
    exp = claims.get("exp")
    # No exp claim: assume the documented ~30 minutes; a 401 would still trigger a renewal.
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        expires_at = float(exp)
    else:
        expires_at = now + DEFAULT_LIFETIME
    return Token(access=access, expires_at=expires_at, refresh=refresh_token, issued_at=now, claims=claims)
