"""The ALOR provider plugin: its hook implementations. Registered through the ``integrations``
entry-point group, exactly as a third-party plugin is; the host calls these hooks only for ALOR."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

import attrs

from integrations import errors, hookimpl
from integrations.protocols.rest import raise_for_status
from integrations.provider import CallContext, ProviderSpec
from integrations.tokens import Token
from integrations.transport import Deadline, Request, Response

from . import provider
from .recording import RECORDING

if TYPE_CHECKING:
    from .api import AlorClient

__all__ = ["AlorClient"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``from integrations_alor import AlorClient``, imported only then: not when the host loads the
    # plugin.
    if name == "AlorClient":
        from .api import AlorClient

        return AlorClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


log = logging.getLogger(f"integrations.{provider.NAME}")


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
            facade="integrations_alor.api:AlorClient",
            token_leeway=provider.TOKEN_LEEWAY,
            emulator="integrations_alor.sandbox:AlorEmulator",
            recording=RECORDING,
            demo="integrations_alor.demo:run",
            conformance="integrations_alor.conformance:PROFILE",
            errors=provider.ERROR_FIELDS,
        )
    )


@hookimpl
def integrations_authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Token:
    from . import auth  # on first use, as the facade

    return auth.exchange_refresh_token(ctx, credentials["refresh_token"])


@hookimpl
def integrations_refresh(ctx: CallContext, token: Token) -> Token:
    if not token.refresh:
        raise errors.AuthenticationError("this ALOR token carries no refresh token", provider=provider.NAME)
    from . import auth  # on first use, as the facade

    return auth.exchange_refresh_token(ctx, token.refresh)


@hookimpl
def integrations_call(
    ctx: CallContext, token: Optional[Token], request: Request, deadline: Deadline
) -> Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token.access}"
    if request.request_id is not None:
        # X-REQID is the current name; X-ALOR-REQID the deprecated one some servers still read.
        headers["X-REQID"] = headers["X-ALOR-REQID"] = request.request_id
    response = ctx.send(request, deadline, headers=headers)
    if response.status == 400 and request.request_id is not None:
        response = _first_answer(response)
    raise_for_status(provider.NAME, response, fields=provider.ERROR_FIELDS)
    return response


def _first_answer(response: Response) -> Response:
    """A repeated request id gets HTTP 400 carrying ``oldResponse``: the first attempt's answer.

    So a retry after a timeout learns the outcome of the first attempt instead of placing a second
    order. Other 400 answers pass through unchanged.
    """
    try:
        body = response.json()
    except errors.ProtocolError:
        return response
    old = body.get("oldResponse") if isinstance(body, dict) else None
    if not isinstance(old, dict) or not isinstance(old.get("statusCode"), int):
        return response
    log.info("ALOR had already handled request id %s; using its first answer", response.request_id)
    return attrs.evolve(response, status=old["statusCode"], content=json.dumps(old.get("body")).encode())
