"""The plugin contract. Every hook is called with keyword arguments only, so a spec can gain an
argument later without breaking plugins that do not ask for it.

**Dispatch is per provider.** A plugin that registers a provider (a *provider plugin*) has its
``integrations_authenticate``, ``integrations_refresh`` and ``integrations_call`` called only for its
own provider: the host builds one hook caller per provider that leaves out every other provider
plugin. A provider plugin never checks ``ctx.provider``.

**Cross-cutting plugins** (audit, metrics, tracing, rate limits) register no provider and wrap
``integrations_call`` with ``@hookimpl(wrapper=True)``: they see every HTTP exchange of every
provider, logins and refreshes included, because authentication does its HTTP through
``ctx.call(request)``, which runs the same hook.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import pluggy

from .provider import CallContext, ProviderSpec
from .tokens import Token
from .transport import Deadline, Request

__all__ = ["hookimpl", "hookspec", "PROJECT"]

PROJECT = "integrations"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def integrations_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register this plugin's providers by calling ``register(ProviderSpec(...))`` once for each.

    Called once when the host loads. A name already registered raises
    :class:`~integrations.errors.PluginError`. A plugin that registers a provider serves only that
    provider (register each provider from its own plugin object).
    """


@hookspec(firstresult=True)
def integrations_authenticate(ctx: CallContext, credentials: Mapping[str, str]) -> Optional[Token]:
    """Obtain a token from ``credentials`` (already checked against the provider's credential shapes).

    Required of every provider plugin; called only for its own provider. Do the HTTP with
    ``ctx.call(Request(..., authenticated=False, operation="<provider>.<name>"))`` so that wrappers
    see it and the call's deadline bounds it. Raise :class:`~integrations.errors.AuthenticationError`
    when the credentials are rejected. Take time from ``ctx.clock``.
    """


@hookspec(firstresult=True)
def integrations_refresh(ctx: CallContext, token: Token) -> Optional[Token]:
    """Renew ``token``; optional (without it a token is renewed by authenticating again).

    Raise :class:`~integrations.errors.AuthenticationError` when the refresh token is rejected. A
    provider that rotates refresh tokens returns the new pair; the host stores it before use. Mark
    the refresh request ``retry=False`` when a lost reply would leave the old refresh token dead.
    """


@hookspec(firstresult=True)
def integrations_call(ctx: CallContext, token: Optional[Token], request: Request, deadline: Deadline) -> Any:
    """Perform one HTTP exchange for ``request`` and return its decoded result.

    Required of every provider plugin (one non-wrapper implementation); called only for its own
    provider. Whatever it returns is what ``Client.call`` returns to the facade, so decode and
    validate the reply here, once. Send with ``ctx.send(request, deadline, headers=...)`` (or
    ``ctx.transport.send(..., deadline=deadline)``).
    ``token`` is ``None`` for requests with ``authenticated=False`` (logins and refreshes).

    Map failures to the error tree: raise :class:`~integrations.errors.AccessTokenRejected` when the
    access token is rejected (the host renews once and retries once), an
    :class:`~integrations.errors.ApiError` subclass for any other refusal, and an
    :class:`~integrations.errors.OperationFailed` subclass when the outcome is unknown. Retries are
    the host's job, never the hook's.

    Wrappers (``@hookimpl(wrapper=True)``) see every exchange of every provider: ``request.operation``
    names it (``alor.refresh``, ``tradingdesk.Campaign.getList``...), ``deadline.elapsed()`` is the real
    time since the call started, and ``deadline.remaining()`` what is left of its budget.
    """
