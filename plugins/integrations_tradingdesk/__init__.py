"""The Trading Desk (adcloud) provider plugin: JSON-RPC 2.0 over HTTP. Registered through the
``integrations`` entry-point group, exactly as a third-party plugin is."""

from __future__ import annotations

from typing import Callable, Mapping, Optional

from integrations import errors, hookimpl
from integrations.provider import CallContext, ProviderSpec
from integrations.tokens import Token
from integrations.transport import Request, Response

from . import auth, demo, jsonrpc, provider
from .api import TradingDeskClient
from .jsonrpc import RpcCall, RpcOutcome

__all__ = ["RpcCall", "RpcOutcome", "TradingDeskClient"]

__version__ = "0.1.0"



@hookimpl
def integrations_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(
        ProviderSpec(
            name=provider.NAME,
            description="Trading Desk / adcloud (JSON-RPC 2.0)",
            contours=provider.CONTOURS,
            credentials=provider.CREDENTIALS,
            facade=TradingDeskClient,
            # A rejected refresh token is not the end: email and password can log in again.
            reauthenticate=True,
            token_leeway=provider.TOKEN_LEEWAY,
            # Imported only when a sandbox starts: production never loads emulator code.
            emulator="integrations_tradingdesk.sandbox:TradingDeskEmulator",
            recording=provider.RECORDING,
            demo=demo.run,
        )
    )


@hookimpl
def integrations_authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Optional[Token]:
    if ctx.provider != provider.NAME:
        return None
    return auth.authenticate(ctx, credentials)


@hookimpl
def integrations_refresh(ctx: CallContext, token: Token) -> Optional[Token]:
    if ctx.provider != provider.NAME:
        return None
    return auth.refresh(ctx, token)


@hookimpl
def integrations_call(ctx: CallContext, token: Optional[Token], request: Request) -> Optional[Response]:
    if ctx.provider != provider.NAME:
        return None
    if not isinstance(request.json, (dict, list)):
        raise errors.ValidationError("a Trading Desk request carries a JSON-RPC request object or batch")
    try:
        # provider.AUTH_ERRORS is read on every call, so reassigning it takes effect at once.
        return jsonrpc.exchange(ctx, token, request, provider=provider.NAME, auth_rule=provider.AUTH_ERRORS)
    except errors.AccessTokenRejected as exc:
        if token is None or token.refreshable:
            raise  # the host renews the token once and retries once
        raise errors.AuthenticationError(
            "Trading Desk rejected the administrator token, and an administrator token cannot be "
            "refreshed: issue a new one and connect with it",
            provider=provider.NAME, status=exc.status, code=exc.code, request_id=exc.request_id,
        ) from None
