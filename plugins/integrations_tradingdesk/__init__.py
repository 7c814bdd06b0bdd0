"""The Trading Desk (adcloud) provider plugin: its hook implementations. Registered through the
``integrations`` entry-point group, exactly as a third-party plugin is; the host calls these hooks
only for Trading Desk. The JSON-RPC 2.0 codec comes from the core (:mod:`integrations.protocols.jsonrpc`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Optional

from integrations import errors, hookimpl
from integrations.provider import CallContext, ProviderSpec
from integrations.tokens import Token
from integrations.transport import Deadline, Request

from . import provider
from .recording import RECORDING

if TYPE_CHECKING:
    from integrations.protocols.jsonrpc import RpcCall, RpcOutcome

    from .api import TradingDeskClient

__all__ = ["RpcCall", "RpcOutcome", "TradingDeskClient"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``from integrations_tradingdesk import TradingDeskClient``, imported only then: not when the
    # host loads the plugin.
    if name == "TradingDeskClient":
        from .api import TradingDeskClient

        return TradingDeskClient
    if name in ("RpcCall", "RpcOutcome"):  # the JSON-RPC codec loads with the first call
        from integrations.protocols import jsonrpc

        return getattr(jsonrpc, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def integrations_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(
        ProviderSpec(
            name=provider.NAME,
            description=provider.DESCRIPTION,
            contours=provider.CONTOURS,
            credentials=provider.CREDENTIALS,
            # References, imported on first use: the host imports every installed plugin at start-up,
            # so the facade, its models and the demo load only in processes that use this provider.
            facade="integrations_tradingdesk.api:TradingDeskClient",
            # A rejected refresh token is not the end: email and password can log in again.
            reauthenticate=True,
            token_leeway=provider.TOKEN_LEEWAY,
            emulator="integrations_tradingdesk.sandbox:TradingDeskEmulator",
            recording=RECORDING,
            demo="integrations_tradingdesk.demo:run",
            conformance="integrations_tradingdesk.conformance:PROFILE",
        )
    )


@hookimpl
def integrations_authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Token:
    from . import auth  # on first use, as the facade

    return auth.authenticate(ctx, credentials)


@hookimpl
def integrations_refresh(ctx: CallContext, token: Token) -> Token:
    from . import auth  # on first use, as the facade

    return auth.refresh(ctx, token)


@hookimpl
def integrations_call(
    ctx: CallContext, token: Optional[Token], request: Request, deadline: Deadline
) -> List[RpcOutcome]:
    if not isinstance(request.json, (dict, list)):
        raise errors.ValidationError("a Trading Desk request carries a JSON-RPC request object or batch")
    from integrations.protocols import jsonrpc  # on the first call: the host imports every plugin

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
            provider=provider.NAME,
            status=exc.status,
            code=exc.code,
            request_id=exc.request_id,
        ) from None
