"""The plugin contract. Every hook is called with keyword arguments only, so a spec can gain an
argument later without breaking plugins that do not ask for it.

A provider plugin answers the ``firstresult`` hooks only for its own provider (``ctx.provider``) and
returns ``None`` otherwise. Cross-cutting plugins (audit, metrics, rate limits) wrap
``integrations_call`` with ``@hookimpl(wrapper=True)`` to see every call of every provider.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional

import pluggy

from .provider import CallContext, ProviderSpec
from .tokens import Token
from .transport import Request, Response

__all__ = ["hookimpl", "hookspec", "PROJECT"]

PROJECT = "integrations"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def integrations_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register this plugin's providers by calling ``register(ProviderSpec(...))`` once for each.

    Called once when the host loads. A name already registered raises
    :class:`~integrations.errors.PluginError`.
    """


@hookspec(firstresult=True)
def integrations_authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Optional[Token]:
    """Obtain a token for ``ctx.provider`` from ``credentials``; return ``None`` for other providers.

    Raise :class:`~integrations.errors.AuthenticationError` when the credentials are rejected. Do all
    HTTP through ``ctx.transport`` and take time from ``ctx.clock``.
    """


@hookspec(firstresult=True)
def integrations_refresh(ctx: CallContext, token: Token) -> Optional[Token]:
    """Renew ``token`` for ``ctx.provider``; return ``None`` for other providers.

    Raise :class:`~integrations.errors.AuthenticationError` when the refresh token is rejected. A
    provider that rotates refresh tokens returns the new pair; the host stores it before use.
    """


@hookspec(firstresult=True)
def integrations_call(ctx: CallContext, token: Optional[Token], request: Request) -> Optional[Response]:
    """Perform ``request`` for ``ctx.provider`` and return the successful :class:`Response`.

    Return ``None`` for other providers. Map failures to the error tree: raise
    :class:`~integrations.errors.AccessTokenRejected` when the access token is rejected (the host
    refreshes once and retries once), and an :class:`~integrations.errors.ApiError` subclass for any
    other refusal. ``token`` is ``None`` for requests with ``authenticated=False``.
    """

