"""The contract between the sandbox runner and a provider's emulator.

A provider plugin that ships an emulator puts a factory in ``ProviderSpec.emulator``. The runner
(:mod:`integrations.sandbox.server`) calls it with keyword options, mounts every WSGI app returned by
:meth:`Emulator.wsgi_apps` under ``/<service>`` on one threaded HTTP server bound to 127.0.0.1, and
hands out ``base_urls`` such as ``{"oauth": "http://127.0.0.1:PORT/oauth", "api": ".../api"}``.
Each app sees ``PATH_INFO`` without the ``/<service>`` prefix, exactly as the real host would.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Mapping, Protocol, runtime_checkable

import attrs

from ..errors import PluginError

__all__ = ["Counts", "Emulator", "EmulatorControls", "EmulatorFactory", "WSGIApp", "controls"]

WSGIApp = Callable[[Dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@runtime_checkable
class Emulator(Protocol):
    """A deterministic, in-process emulator of one provider's test contour."""

    def wsgi_apps(self) -> Mapping[str, WSGIApp]:
        """Return one WSGI app per service name (the keys of the contour's base URLs)."""

    def credentials(self) -> dict[str, str]:
        """Return a valid credential dict for the default test account."""


# Called as factory(seed=..., clock=..., **provider_specific_options).
EmulatorFactory = Callable[..., Emulator]


@attrs.frozen
class Counts:
    """What an emulator has done so far (see :meth:`EmulatorControls.counts`)."""

    logins: int = 0  #: primary-credential exchanges (what ``integrations_authenticate`` sends)
    refreshes: int = 0  #: refresh-token exchanges (what ``integrations_refresh`` sends)
    commands: int = 0  #: state-changing commands executed; a deduplicated retry is not counted again


@runtime_checkable
class EmulatorControls(Protocol):
    """The standard test controls of an emulator (both built-in ones implement them)."""

    def expire_access_tokens(self) -> None:
        """Reject every access token issued so far, exactly as an expired one; new ones work."""

    def revoke_refresh_tokens(self) -> None:
        """Refuse every refresh token issued so far, as the provider refuses a revoked one."""

    def counts(self) -> Counts:
        """Successful logins and refreshes, and commands executed, since the emulator started."""


_CONTROLS = ("expire_access_tokens", "revoke_refresh_tokens", "counts")


def controls(emulator: Any) -> EmulatorControls:
    """``emulator`` as :class:`EmulatorControls` (e.g. ``controls(sandbox.emulator).counts()``).

    Raises :class:`~integrations.errors.PluginError` naming the methods it lacks.
    """
    missing = [name for name in _CONTROLS if not callable(getattr(emulator, name, None))]
    if missing:
        raise PluginError(
            f"the emulator {type(emulator).__qualname__} lacks the standard test controls: "
            f"{', '.join(missing)} (see integrations.sandbox.EmulatorControls)"
        )
    return emulator  # type: ignore[no-any-return]
