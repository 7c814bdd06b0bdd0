"""Provider emulators on 127.0.0.1: what tests record against and what ``integrations demo`` uses.

>>> with integrations.sandbox.running("alor") as sandbox:
...     client = integrations.connect("alor", base_urls=sandbox.base_urls, credentials=sandbox.credentials)
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Iterator, List, Optional, Tuple

import attrs

from ..errors import ConfigurationError, PluginError
from ..host import Host, default_host
from .emulator import Counts, Emulator, EmulatorControls, EmulatorFactory, WSGIApp, controls
from .faults import FAULT_SYNTAX, Fault, FaultHandle, FaultPlan, Headers, RequestRecord
from .jsonapp import JsonApp, JsonError, JsonRequest, Reply, route
from .server import SandboxServer
from .ws import WebSocketServer

__all__ = [
    "Counts",
    "Emulator",
    "EmulatorControls",
    "EmulatorFactory",
    "RunningSandbox",
    "SandboxServer",
    "WebSocketServer",
    "WSGIApp",
    "controls",
    "running",
    "start",
    # a base for JSON-over-HTTP emulators
    "JsonApp",
    "JsonError",
    "JsonRequest",
    "Reply",
    "route",
    # fault injection and the request log
    "FAULT_SYNTAX",
    "Fault",
    "FaultHandle",
    "FaultPlan",
    "Headers",
    "RequestRecord",
]

# The top-level modules the ``trading-integrations[sandbox]`` extra installs.
_SANDBOX_EXTRA = frozenset({"werkzeug"})


@attrs.frozen
class RunningSandbox:
    """A started sandbox: where it listens, a valid credential set, and the emulator (for test controls)."""

    provider: str
    base_urls: dict[str, str]
    credentials: dict[str, str] = attrs.field(repr=False)
    emulator: Any = attrs.field(repr=False)
    server: SandboxServer = attrs.field(repr=False)
    #: The WebSocket servers of the emulator's ``websocket_apps()`` (see :mod:`.ws`), if any.
    ws_servers: Tuple[WebSocketServer, ...] = attrs.field(default=(), repr=False)

    @property
    def faults(self) -> FaultPlan:
        """The fault plan: ``.add(fault)`` returns a handle with ``.hits``; ``.remove``, ``.clear``."""
        return self.server.faults

    def requests(self) -> List[RequestRecord]:
        """Every request the server received so far, oldest first (faulted ones included)."""
        return self.server.requests()

    def clear_requests(self) -> None:
        self.server.clear_requests()

    def stop(self) -> None:
        for ws_server in self.ws_servers:
            ws_server.stop()
        self.server.stop()


def start(provider: str, *, port: int = 0, host: Optional[Host] = None, **options: Any) -> RunningSandbox:
    """Start ``provider``'s emulator on 127.0.0.1 (``port=0``: any free port). Call ``.stop()`` after.

    ``options`` go to the emulator factory (``seed``, ``clock``, token lifetimes…).
    """
    spec = (host or default_host()).provider(provider)
    if spec.emulator is None:
        raise ConfigurationError(f"provider {provider!r} ships no sandbox emulator")
    factory = spec.emulator
    if isinstance(factory, str):
        factory = _import_factory(provider, factory)
    emulator = factory(**options)
    server = SandboxServer(emulator.wsgi_apps(), port=port).start()
    base_urls = server.base_urls
    ws_servers = []
    websocket_apps = getattr(emulator, "websocket_apps", None)
    if callable(websocket_apps) and not _has_websockets():
        websocket_apps = None  # no `streaming` extra: the HTTP services only, no ws URL
    try:
        # Each WebSocket service on a server of its own: ws://127.0.0.1:PORT/<service>.
        for service, handler in (websocket_apps() if callable(websocket_apps) else {}).items():
            ws_servers.append(WebSocketServer(handler, path=service).start())
            base_urls[service] = ws_servers[-1].url
    except BaseException:
        for ws_server in ws_servers:
            ws_server.stop()
        server.stop()
        raise
    return RunningSandbox(
        provider=provider,
        base_urls=base_urls,
        credentials=emulator.credentials(),
        emulator=emulator,
        server=server,
        ws_servers=tuple(ws_servers),
    )


def _has_websockets() -> bool:
    try:
        import websockets  # noqa: F401 - the `streaming` extra
    except ImportError:
        return False
    return True


def _import_factory(provider: str, reference: str) -> EmulatorFactory:
    module, _, attr = reference.partition(":")
    try:
        imported = importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or ""
        top = missing.partition(".")[0]
        # A module of the emulator's own package is missing: the plugin is broken, not the install.
        if not missing or top == module.partition(".")[0]:
            raise PluginError(
                f"the {provider} sandbox's emulator {reference!r} cannot be imported: {exc}"
            ) from exc
        hint = "pip install 'trading-integrations[sandbox]'" if top in _SANDBOX_EXTRA else f"install {top!r}"
        raise ConfigurationError(
            f"the {provider} sandbox needs {top!r}, which is not installed: {hint}"
        ) from exc
    try:
        factory: EmulatorFactory = getattr(imported, attr)
    except AttributeError as exc:
        raise PluginError(f"the {provider} sandbox's emulator {reference!r} names nothing: {exc}") from exc
    return factory


@contextlib.contextmanager
def running(
    provider: str, *, port: int = 0, host: Optional[Host] = None, **options: Any
) -> Iterator[RunningSandbox]:
    """Context manager around :func:`start`: yields a :class:`RunningSandbox` and stops it after."""
    sandbox = start(provider, port=port, host=host, **options)
    try:
        yield sandbox
    finally:
        sandbox.stop()
