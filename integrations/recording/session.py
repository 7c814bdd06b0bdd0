"""A recorded session: a connected client that either records against the sandbox or replays a
cassette with the network blocked. Used by the pytest plugin, usable from any test runner."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional

import attrs

from ..client import connect
from ..host import Host, default_host
from ..runtime import ManualClock, SequentialIds
from .harness import CassetteFormat, make_vcr, read_recorded_at, use_cassette
from .redact import PLACEHOLDER_PREFIX, RedactingLogFilter, Redactor
from .rules import RecordingRules

__all__ = ["MODES", "NetworkBlocked", "RecordedSession", "network_blocked", "recorded_session"]

# none: replay only; once: record cassettes that do not exist yet; rewrite: record every cassette anew.
MODES = ("none", "once", "rewrite")


class NetworkBlocked(RuntimeError):
    """A replayed test tried to open a network connection."""


@contextlib.contextmanager
def network_blocked() -> Iterator[None]:
    """Refuse every outgoing socket connection (all threads) inside the block."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(self: socket.socket, address: Any) -> Any:
        raise NetworkBlocked(f"network access is blocked during replay (tried {address!r})")

    # Patching the class reaches every thread and every HTTP library; typeshed's signature for
    # connect() is stricter than what we need to refuse everything.
    setattr(socket.socket, "connect", refuse)  # noqa: B010
    setattr(socket.socket, "connect_ex", refuse)  # noqa: B010
    try:
        yield
    finally:
        setattr(socket.socket, "connect", real_connect)  # noqa: B010
        setattr(socket.socket, "connect_ex", real_connect_ex)  # noqa: B010


# vcrpy's loggers: they log requests and responses before redaction.
_VCR_LOGGERS = ("vcr", "vcr.cassette", "vcr.stubs", "vcr.config", "vcr.matchers", "vcr.request")


@contextlib.contextmanager
def redacted_logs(redactor: Redactor) -> Iterator[None]:
    """Attach a :class:`RedactingLogFilter` to vcrpy's loggers inside the block."""
    log_filter = RedactingLogFilter(redactor)
    loggers = [logging.getLogger(name) for name in _VCR_LOGGERS]
    for logger in loggers:
        logger.addFilter(log_filter)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(log_filter)


@attrs.define
class RecordedSession:
    """What a test gets: the client, its clock, and the sandbox when recording (``None`` on replay)."""

    provider: str
    client: Any
    clock: ManualClock
    cassette: Path
    recording: bool
    sandbox: Any = None
    _connect_args: Dict[str, Any] = attrs.field(factory=dict, repr=False)

    def connect(self, **overrides: Any) -> Any:
        """Another client on the same cassette, clock and sandbox (``overrides`` go to ``connect``)."""
        return connect(self.provider, **{**self._connect_args, **overrides})


def placeholder_credentials(spec_credentials: Any) -> Dict[str, str]:
    """Stand-in credentials for replay: the first accepted shape, every value a placeholder."""
    shape = sorted(next(iter(spec_credentials)))
    return {name: f"{PLACEHOLDER_PREFIX}-{name}" for name in shape}


@contextlib.contextmanager
def recorded_session(
    provider: str,
    cassette: Path,
    *,
    mode: str = "none",
    sandbox_options: Optional[Mapping[str, Any]] = None,
    connect_options: Optional[Mapping[str, Any]] = None,
    host: Optional[Host] = None,
    recorded_at: Optional[float] = None,
) -> Iterator[RecordedSession]:
    """Record ``cassette`` against ``provider``'s sandbox, or replay it offline.

    Recording starts the sandbox with a :class:`ManualClock` frozen at the current second, shared by
    the sandbox and the client, and stores that instant in the cassette. Replay freezes the client's
    clock at the stored instant, so a cassette replays the same way at any date. ``recorded_at``
    sets the recording instant instead of the current second: re-recording a cassette at its own
    instant against a deterministic sandbox reproduces it byte for byte (``cassettes verify``).
    """
    if mode not in MODES:
        raise ValueError(f"record mode must be one of {', '.join(MODES)}, not {mode!r}")
    h = host or default_host()
    spec = h.provider(provider)
    cassette = Path(cassette)
    if mode == "rewrite" and cassette.exists():
        cassette.unlink()
    recording = mode != "none" and not cassette.exists()
    ids = SequentialIds()
    extra = dict(connect_options or {})
    if recording:
        if spec.emulator is None:
            raise ValueError(f"provider {provider!r} has no sandbox to record against")
        from .. import sandbox as sandbox_module

        recorded_at = float(int(time.time())) if recorded_at is None else float(recorded_at)
        clock = ManualClock(recorded_at)
        sandbox = sandbox_module.start(provider, host=h, clock=clock, **dict(sandbox_options or {}))
        canonical = {local: spec.contours["test"][service] for service, local in sandbox.base_urls.items()}
        redactor = Redactor([spec.recording or RecordingRules()])
        for name, value in sandbox.credentials.items():
            redactor.add_secret(value, name)
        v = make_vcr(provider, record_mode="once", canonical_urls=canonical, redactor=redactor,
                     cassette_format=CassetteFormat(recorded_at), host=h)
        args: Dict[str, Any] = {"base_urls": sandbox.base_urls, "credentials": sandbox.credentials,
                                "clock": clock, "ids": ids, "host": h, **extra}
        blocker: Any = contextlib.nullcontext()
    else:
        stored = read_recorded_at(cassette)
        if stored is None:
            raise FileNotFoundError(
                f"no cassette at {cassette}; record it with --integrations-record-mode=once "
                "(or INTEGRATIONS_RECORD_MODE=once)"
            )
        clock = ManualClock(stored)
        sandbox = None
        v = make_vcr(provider, record_mode="none", cassette_format=CassetteFormat(stored), host=h)
        args = {"credentials": placeholder_credentials(spec.credentials), "clock": clock, "ids": ids,
                "host": h, **extra}
        redactor = Redactor([spec.recording or RecordingRules()])
        blocker = network_blocked()
    client = connect(provider, **args)
    cassette.parent.mkdir(parents=True, exist_ok=True)
    try:
        with blocker, redacted_logs(redactor), use_cassette(v, cassette):
            yield RecordedSession(provider, client, clock, cassette, recording, sandbox, args)
    finally:
        client.close()
        if sandbox is not None:
            sandbox.stop()
