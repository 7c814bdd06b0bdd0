"""Provider emulators on 127.0.0.1: what tests record against and what ``integrations demo`` uses.

>>> with integrations.sandbox.running("alor") as sandbox:
...     client = integrations.connect("alor", base_urls=sandbox.base_urls, credentials=sandbox.credentials)
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Iterator, Optional

import attrs

from ..errors import ConfigurationError
from ..host import Host, default_host
from .emulator import Emulator, EmulatorFactory, WSGIApp
from .server import SandboxServer

__all__ = ["Emulator", "EmulatorFactory", "RunningSandbox", "SandboxServer", "WSGIApp", "running", "start"]


@attrs.frozen
class RunningSandbox:
    """A started sandbox: where it listens, a valid credential set, and the emulator (for test controls)."""

    provider: str
    base_urls: dict[str, str]
    credentials: dict[str, str] = attrs.field(repr=False)
    emulator: Any = attrs.field(repr=False)
    server: SandboxServer = attrs.field(repr=False)

    def stop(self) -> None:
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
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    emulator = factory(**options)
    server = SandboxServer(emulator.wsgi_apps(), port=port).start()
    return RunningSandbox(
        provider=provider, base_urls=server.base_urls, credentials=emulator.credentials(),
        emulator=emulator, server=server,
    )


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
