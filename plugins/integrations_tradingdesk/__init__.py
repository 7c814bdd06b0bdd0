"""The Trading Desk (adcloud) provider plugin: its hook implementations. Registered through the
``integrations`` entry-point group, exactly as a third-party plugin is; the host calls these hooks
only for Trading Desk. The JSON-RPC 2.0 codec comes from the core (:mod:`integrations.protocols.jsonrpc`)."""

from __future__ import annotations

from typing import Callable, List, Mapping, Optional

from integrations import errors, hookimpl
from integrations.protocols import jsonrpc
from integrations.protocols.jsonrpc import RpcCall, RpcOutcome
from integrations.provider import CallContext, ProviderSpec
from integrations.tokens import Token
from integrations.transport import Deadline, Request

from . import auth, demo, provider
from .api import TradingDeskClient
from .recording import RECORDING

__all__ = ["RpcCall", "RpcOutcome", "TradingDeskClient"]

__version__ = "0.1.0"


@hookimpl
def integrations_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(
        ProviderSpec(
            name=provider.NAME,
            description=provider.DESCRIPTION,
            contours=provider.CONTOURS,
            credentials=provider.CREDENTIALS,
            facade=TradingDeskClient,
            # A rejected refresh token is not the end: email and password can log in again.
            reauthenticate=True,
            token_leeway=provider.TOKEN_LEEWAY,
            # Imported only when a sandbox starts: production never loads emulator code.
            emulator="integrations_tradingdesk.sandbox:TradingDeskEmulator",
            recording=RECORDING,
            demo=demo.run,
        )
    )


@hookimpl
def integrations_authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Token:
    return auth.authenticate(ctx, credentials)


@hookimpl
def integrations_refresh(ctx: CallContext, token: Token) -> Token:
    return auth.refresh(ctx, token)


@hookimpl
def integrations_call(
    ctx: CallContext, token: Optional[Token], request: Request, deadline: Deadline
) -> List[RpcOutcome]:
    if not isinstance(request.json, (dict, list)):
        raise errors.ValidationError("a Trading Desk request carries a JSON-RPC request object or batch")
    try:
        # provider.AUTH_ERRORS is read on every call, so reassigning it takes effect at once.
        return jsonrpc.exchange(
            ctx, token, request, deadline, provider=provider.NAME, auth_rule=provider.AUTH_ERRORS
        )
    except errors.AccessTokenRejected as exc:
        if token is None or token.refreshable:
            raise  # the host renews the token once and retries once
        raise errors.AuthenticationError(
            "Trading Desk rejected the administrator token, and an administrator token cannot be "
            "refreshed: issue a new one and connect with it",
            provider=provider.NAME, status=exc.status, code=exc.code, request_id=exc.request_id,
        ) from None
