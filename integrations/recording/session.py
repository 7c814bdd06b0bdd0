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
from ..provider import RecordingRules
from ..runtime import ManualClock, SequentialIds
from .harness import CassetteFormat, make_vcr, read_recorded_at, use_cassette
from .modes import MODES, TARGETS
from .redact import PLACEHOLDER_PREFIX, RedactingLogFilter, Redactor
from .ws import (
    ReplayClock,
    WsRecorder,
    WsReplayer,
    frames_path,
    id_fields_for,
    recording_websockets,
    replaying_websockets,
)

__all__ = ["MODES", "NetworkBlocked", "RecordedSession", "TARGETS", "network_blocked", "recorded_session"]


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
    against: str = "sandbox",
    sandbox_options: Optional[Mapping[str, Any]] = None,
    connect_options: Optional[Mapping[str, Any]] = None,
    host: Optional[Host] = None,
    recorded_at: Optional[float] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Iterator[RecordedSession]:
    """Record ``cassette`` against ``provider``'s sandbox or its contour, or replay it offline.

    Recording against the **sandbox** starts it with a :class:`ManualClock` frozen at the current
    second, shared by the sandbox and the client; the sandbox's loopback URLs are rewritten to the
    contour's canonical ones. Recording against the **contour** (``connect_options["contour"]``,
    default the provider's test contour) uses credentials from the environment
    (``INTEGRATIONS_<PROVIDER>_<FIELD>``, see :meth:`ProviderSpec.credentials_from_env`); their values
    are redacted wherever they appear. Either way the client's clock is frozen at the recording
    instant, which is stored in the cassette; replay freezes the clock at the same instant, so the
    client decides the same way and a cassette replays the same at any date.

    ``recorded_at`` sets the recording instant instead of the current second: re-recording a
    cassette at its own instant against a deterministic sandbox reproduces it (``cassettes verify``).

    WebSocket sessions opened through :func:`integrations.websocket.open_websocket` are recorded too,
    into ``<cassette stem>.ws.yaml`` next to the cassette (redacted with the same placeholders), and
    replayed from it with the network blocked (:mod:`integrations.recording.ws`).
    """
    if mode not in MODES:
        raise ValueError(f"record mode must be one of {', '.join(MODES)}, not {mode!r}")
    if against not in TARGETS:
        raise ValueError(f"record target must be one of {', '.join(TARGETS)}, not {against!r}")
    h = host or default_host()
    spec = h.provider(provider)
    cassette = Path(cassette)
    extra = dict(connect_options or {})
    contour = str(extra.get("contour") or spec.default_contour)
    recording = mode == "rewrite" or (mode == "once" and not cassette.exists())
    # Rewriting replaces the cassette only when the new recording is complete: a failed one loses nothing.
    previous = cassette.read_bytes() if recording and cassette.exists() else None
    frames = frames_path(cassette)
    previous_frames = frames.read_bytes() if recording and frames.exists() else None
    rules = [spec.recording or RecordingRules()]
    ids = SequentialIds()
    redactor = Redactor(rules)
    sandbox: Any = None
    client: Any = None
    try:
        if recording:
            recorded_at = float(int(time.time())) if recorded_at is None else float(recorded_at)
            clock = ManualClock(recorded_at)
            if against == "sandbox":
                if spec.emulator is None:
                    raise ValueError(f"provider {provider!r} has no sandbox to record against")
                from .. import sandbox as sandbox_module

                sandbox = sandbox_module.start(provider, host=h, clock=clock, **dict(sandbox_options or {}))
                local_urls: Mapping[str, str] = sandbox.base_urls
                credentials = sandbox.credentials
                extra["base_urls"] = sandbox.base_urls
            else:
                credentials = spec.credentials_from_env(environ)
                local_urls = extra.get("base_urls") or {}
            canonical_urls = spec.base_urls(contour)
            canonical = {url: canonical_urls[service] for service, url in local_urls.items()}
            for name, value in credentials.items():
                redactor.add_secret(value, name)
            v = make_vcr(
                provider,
                record_mode="once",
                canonical_urls=canonical,
                redactor=redactor,
                cassette_format=CassetteFormat(recorded_at),
                host=h,
            )
            blocker: Any = contextlib.nullcontext()
            recorder = WsRecorder(
                redactor=redactor, canonical_urls=canonical, clock=clock, id_fields=id_fields_for(rules)
            )
            websockets: Any = recording_websockets(recorder)
            ws_recorder: Optional[WsRecorder] = recorder
            ws_replayer: Optional[WsReplayer] = None
        else:
            stored = read_recorded_at(cassette)
            if stored is None:
                raise FileNotFoundError(
                    f"no cassette at {cassette}; record it with --integrations-record-mode=once "
                    "(or INTEGRATIONS_RECORD_MODE=once)"
                )
            clock = ReplayClock(stored)  # a ManualClock that wakes replayed WebSockets when it moves
            v = make_vcr(provider, record_mode="none", cassette_format=CassetteFormat(stored), host=h)
            credentials = placeholder_credentials(spec.credentials)
            extra.pop("base_urls", None)  # replay talks to the canonical hosts the cassette holds
            blocker = network_blocked()
            ws_recorder = None
            ws_replayer = WsReplayer.load(frames, rules=rules, clock=clock)
            websockets = replaying_websockets(ws_replayer)
        args: Dict[str, Any] = {**extra, "credentials": credentials, "clock": clock, "ids": ids, "host": h}
        client = connect(provider, **args)
        cassette.parent.mkdir(parents=True, exist_ok=True)
        if previous is not None:
            cassette.unlink()
        with blocker, redacted_logs(redactor), use_cassette(v, cassette), websockets:
            yield RecordedSession(provider, client, clock, cassette, recording, sandbox, args)
            # Streams still open send their last frames (unsubscribes) into the recording.
            client.close()
        if ws_recorder is not None:
            ws_recorder.save(frames, recorded_at)
        if ws_replayer is not None:
            ws_replayer.check()
        if recording and not cassette.exists():
            # Nothing was sent (vcrpy writes no file then): an empty cassette still holds the
            # recording instant, so the replay of a test that sends nothing finds its cassette.
            cassette.write_text(CassetteFormat(recorded_at).serialize({"interactions": [], "version": 1}))
    except BaseException:
        if previous is not None and not cassette.exists():
            cassette.write_bytes(previous)
        if previous_frames is not None:
            frames.write_bytes(previous_frames)
        raise
    finally:
        if client is not None:
            client.close()
        if sandbox is not None:
            sandbox.stop()
