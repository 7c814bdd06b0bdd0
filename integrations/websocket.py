"""WebSocket connections for providers that stream, opened with the REST transport's settings.

A plugin opens a connection with :func:`open_websocket` (a proxy from the transport's proxies or the
environment, its CA bundle or ``verify``, its client certificate, an opening timeout) and gets a
:class:`WebSocket`: ``send(text)``, ``recv(timeout) -> text or None``, ``close()``. The library
behind it is ``websockets``' synchronous client (the ``streaming`` extra), imported on first use.

How connections are opened can be swapped for a while with :func:`use_opener`: the recording
harness records and replays sessions that way, and a test can put a fake server in.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
from typing import Any, Callable, Iterator, Mapping, Optional, Protocol, runtime_checkable

from . import errors
from .transport import Transport

__all__ = ["Opener", "WebSocket", "current_opener", "open_websocket", "use_opener"]


@runtime_checkable
class WebSocket(Protocol):
    """One open WebSocket connection carrying text frames. Thread-safe for one reader and any
    number of senders."""

    def send(self, text: str) -> None:
        """Send one text frame. Raises :class:`~integrations.errors.ConnectionError` once closed."""

    def recv(self, timeout: Optional[float]) -> Optional[str]:
        """The next text frame, or ``None`` when none arrived within ``timeout`` seconds. Raises
        :class:`~integrations.errors.ConnectionError` when the connection is closed or lost."""

    def close(self) -> None:
        """Close the connection (idempotent)."""


# opener(url, provider, transport, timeout, headers) -> WebSocket
Opener = Callable[[str, str, Transport, float, Mapping[str, str]], WebSocket]


class _Connection:
    """A ``websockets`` synchronous client connection as a :class:`WebSocket`."""

    def __init__(self, connection: Any, provider: str) -> None:
        self._connection = connection
        self._provider = provider

    def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self._connection.send(text)
        except ConnectionClosed as exc:
            raise errors.ConnectionError(
                f"{self._provider}: the WebSocket is closed ({exc})", provider=self._provider
            ) from None

    def recv(self, timeout: Optional[float]) -> Optional[str]:
        from websockets.exceptions import ConnectionClosed

        try:
            frame = self._connection.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            raise errors.ConnectionError(
                f"{self._provider}: the WebSocket was closed ({exc})", provider=self._provider
            ) from None
        return frame if isinstance(frame, str) else bytes(frame).decode("utf-8")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()


def _ssl_context(transport: Transport) -> ssl.SSLContext:
    context = ssl.create_default_context()
    verify = transport.verify
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        if os.path.isdir(verify):
            context.load_verify_locations(capath=verify)
        else:
            context.load_verify_locations(cafile=verify)
    cert = transport.cert
    if isinstance(cert, str):
        context.load_cert_chain(cert)
    elif cert:
        context.load_cert_chain(cert[0], cert[1])
    return context


def _proxy_for(url: str, transport: Transport) -> Optional[str]:
    """The proxy the REST transport would use for the same host (``wss`` as ``https``), or None."""
    http_url = "https" + url[3:] if url.startswith("wss") else "http" + url[2:]
    proxies = transport._proxies_for(http_url)
    scheme = http_url.split(":", 1)[0]
    return proxies.get(scheme) or proxies.get("all") or None


def _open(
    url: str, provider: str, transport: Transport, timeout: float, headers: Mapping[str, str]
) -> WebSocket:
    try:
        from websockets.sync.client import connect
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise errors.ConfigurationError(
            "streaming needs the websockets package: pip install 'trading-integrations[streaming]'"
        ) from exc
    try:
        connection = connect(
            url,
            ssl=_ssl_context(transport) if url.startswith("wss:") else None,
            additional_headers=dict(headers),
            proxy=_proxy_for(url, transport),
            open_timeout=timeout,
            close_timeout=min(timeout, 5.0),
            compression=None,
            max_size=transport.max_response_bytes,
        )
    except TimeoutError:
        raise errors.Timeout(
            f"{provider}: the WebSocket did not open within {timeout:g} s",
            provider=provider,
            outcome_unknown=False,
        ) from None
    except Exception as exc:  # noqa: BLE001 - OSError, SSL and websockets' handshake errors alike
        raise errors.ConnectionError(
            f"{provider}: could not open the WebSocket: {type(exc).__name__}: {exc}",
            provider=provider,
            outcome_unknown=False,
        ) from None
    # websockets 17 warns about a connection not used as a context manager ("legacy" use); this one
    # is closed explicitly by its owner.
    if hasattr(connection, "pending_legacy_warning"):
        connection.pending_legacy_warning = False
    return _Connection(connection, provider)


_lock = threading.Lock()
_opener: Opener = _open


def open_websocket(
    url: str,
    *,
    provider: str,
    transport: Transport,
    timeout: float,
    headers: Optional[Mapping[str, str]] = None,
) -> WebSocket:
    """Open a WebSocket to ``url`` (``ws://`` or ``wss://``) within ``timeout`` seconds, through the
    proxy and with the TLS settings of ``transport``. Raises :class:`~integrations.errors.Timeout`
    or :class:`~integrations.errors.ConnectionError` (nothing was sent)."""
    return _opener(url, provider, transport, timeout, headers or {})


def current_opener() -> Opener:
    """The opener in force (the library's own, or one a :func:`use_opener` block put in): a
    recorder wraps it, so a session recorded inside another swap still reaches that one."""
    return _opener


@contextlib.contextmanager
def use_opener(opener: Opener) -> Iterator[None]:
    """Open every WebSocket with ``opener`` inside the block (one swap at a time, process-wide)."""
    global _opener
    with _lock:
        previous, _opener = _opener, opener
    try:
        yield
    finally:
        with _lock:
            _opener = previous
