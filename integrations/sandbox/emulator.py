"""The contract between the sandbox runner and a provider's emulator.

A provider plugin that ships an emulator puts a factory in ``ProviderSpec.emulator``. The runner
(:mod:`integrations.sandbox.server`) calls it with keyword options, mounts every WSGI app returned by
:meth:`Emulator.wsgi_apps` under ``/<service>`` on one threaded HTTP server bound to 127.0.0.1, and
hands out ``base_urls`` such as ``{"oauth": "http://127.0.0.1:PORT/oauth", "api": ".../api"}``.
Each app sees ``PATH_INFO`` without the ``/<service>`` prefix, exactly as the real host would.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Mapping, Protocol, runtime_checkable

__all__ = ["Emulator", "EmulatorFactory", "WSGIApp"]

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
