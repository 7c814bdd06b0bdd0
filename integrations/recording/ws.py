"""Record and replay WebSocket sessions through :func:`integrations.websocket.use_opener`.

Any plugin that opens its sockets with :func:`~integrations.websocket.open_websocket` is covered.
A session's frames go to a sibling of the HTTP cassette, ``<cassette stem>.ws.yaml``::

    recorded_at: 1763800000.0
    version: 1
    connections:
    - url: wss://apidev.alor.ru/ws          # canonical, like the HTTP cassette's hosts
      frames:
      - {dir: send, at: 0.0, text: '{"opcode":"OrderBookGetAndSubscribe",…,"guid":"guid-1","token":"<fake>"}'}
      - {dir: recv, at: 0.0, text: '{"message":"Handled successfully","httpCode":200,"requestGuid":"guid-1"}'}
      - {dir: closed, at: 2.0, text: the server closed the connection}

``dir`` is ``send`` (the client sent it; ``error: ConnectionError`` when sending failed), ``recv``
(the client received it), ``closed`` (the connection was lost: ``recv`` raised) or ``close`` (the
client closed it; nothing after that is recorded). ``at`` is the
session clock's time since the connection opened (the frozen :class:`~integrations.runtime.ManualClock`
of a recorded session, so it is deterministic). A connection that could not be opened has
``error: <exception class>`` and no frames.

**Redaction**: every frame goes through the same :class:`~integrations.recording.redact.Redactor` as
the HTTP cassette (the provider's ``secret_fields`` at any depth, every JWT, every secret seen), so a
token gets the same placeholder in both files. **Client-chosen ids** (the values of ``guid`` and of
the provider's ``request_id_fields`` in sent frames) are random per run: they are stored as
``guid-1``, ``guid-2``… (numbered in order of first use, replaced wherever the same value appears in
either direction), so a re-recording compares equal.

**Replay** (:class:`WsReplayer`): the n-th connection opened to a URL gets the n-th recorded one.
A sent frame is matched on its JSON minus secret and id fields (object key order ignored) against
the first unplayed recorded frame with the same form whose ids are consistent with the ids already
seen (recorded ``guid-1`` <-> the live guid, learnt at the first match); received frames come back
in recorded order with the live ids put back, each once every frame sent before it in the recording
has been sent and the replay clock has reached its ``at``. ``recv(timeout)`` returns ``None`` when
the next frame is not due within ``timeout`` real seconds: nothing waits for recorded gaps. A sent
frame that matches nothing raises :class:`WebSocketReplayError` naming the closest recorded frame
(and the session re-raises it at its end, should the client's thread have swallowed it).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Hashable,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import yaml

from .. import errors
from ..provider import RecordingRules
from ..runtime import ManualClock
from ..websocket import Opener, WebSocket, current_opener, use_opener
from .matchers import _freeze
from .redact import Redactor

__all__ = [
    "FRAMES_SUFFIX",
    "FRAMES_VERSION",
    "ReplayClock",
    "WebSocketReplayError",
    "WsRecorder",
    "WsReplayer",
    "frames_path",
    "id_fields_for",
    "is_frames_file",
    "recording_websockets",
    "replaying_websockets",
]

FRAMES_SUFFIX = ".ws.yaml"
FRAMES_VERSION = 1
DEFAULT_ID_FIELDS = ("guid",)
# How often a replayed recv() looks at the clock while the next frame waits for it.
_CLOCK_POLL = 0.005
_AT_DIGITS = 3
_AT_TOLERANCE = 0.5 / 10.0**_AT_DIGITS  # half the rounding step of "at"


class WebSocketReplayError(RuntimeError):
    """A replayed WebSocket session diverged from its recording (or has none)."""


def frames_path(cassette: str | Path) -> Path:
    """Where the frames of ``cassette``'s session live: ``<stem>.ws.yaml`` next to it."""
    cassette = Path(cassette)
    return cassette.with_name(cassette.stem + FRAMES_SUFFIX)


def is_frames_file(path: str | Path) -> bool:
    return Path(path).name.endswith(FRAMES_SUFFIX)


def id_fields_for(rules: Iterable[RecordingRules]) -> Tuple[str, ...]:
    """The JSON keys whose values are client-chosen ids: ``guid`` and every ``request_id_fields``."""
    names = list(DEFAULT_ID_FIELDS)
    for r in rules:
        names.extend(f for f in r.request_id_fields if f not in names)
    return tuple(n.lower() for n in names)


def _at(clock: Any, opened: float) -> float:
    return round(clock.now() - opened, _AT_DIGITS) if clock is not None else 0.0


def _parse(text: str) -> Any:
    if text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _map_strings(data: Any, table: Mapping[str, str]) -> Any:
    """``data`` with every string value found in ``table`` replaced (keys are left alone)."""
    if isinstance(data, dict):
        return {k: _map_strings(v, table) for k, v in data.items()}
    if isinstance(data, list):
        return [_map_strings(v, table) for v in data]
    if isinstance(data, str):
        return table.get(data, data)
    return data


def _ids_in(data: Any, id_fields: FrozenSet[str], path: str = "") -> Iterator[Tuple[str, str]]:
    """``(path, value)`` of each string id field, in document order."""
    if isinstance(data, dict):
        for k, v in data.items():
            where = f"{path}.{k}"
            if str(k).lower() in id_fields and isinstance(v, str):
                yield where, v
            else:
                yield from _ids_in(v, id_fields, where)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _ids_in(v, id_fields, f"{path}[{i}]")


def _shape(data: Any, ignored: FrozenSet[str]) -> Any:
    if isinstance(data, dict):
        return {
            k: ("<ignored>" if str(k).lower() in ignored else _shape(v, ignored)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [_shape(v, ignored) for v in data]
    return data


def _url_key(url: str, secret_query: FrozenSet[str]) -> str:
    parts = urlsplit(url)
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in secret_query
    )
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, urlencode(query), ""))


class ReplayClock(ManualClock):
    """A :class:`~integrations.runtime.ManualClock` that tells listeners when it moves: a replayed
    frame due at a later instant is delivered as soon as the test advances the clock to it."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self._listeners: List[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        for listener in list(self._listeners):
            listener()

    def set(self, when: float) -> None:
        super().set(when)
        for listener in list(self._listeners):
            listener()


# -- recording --------------------------------------------------------------------------------------


@attrs.define
class _RecordedConnection:
    url: str
    opened: float
    events: List[Dict[str, Any]] = attrs.field(factory=list)
    error: Optional[str] = None
    closed: bool = False  # by the client: what its reader sees afterwards is not the server's doing


class _RecordingWebSocket:
    """Delegates to the real connection and notes every frame (raw: redacted when saved)."""

    def __init__(self, inner: WebSocket, connection: _RecordedConnection, recorder: WsRecorder) -> None:
        self._inner = inner
        self._connection = connection
        self._recorder = recorder

    def send(self, text: str) -> None:
        try:
            self._inner.send(text)
        except errors.ConnectionError:
            self._recorder._note(self._connection, {"dir": "send", "text": text, "error": "ConnectionError"})
            raise
        self._recorder._note(self._connection, {"dir": "send", "text": text})

    def recv(self, timeout: Optional[float]) -> Optional[str]:
        try:
            frame = self._inner.recv(timeout)
        except errors.ConnectionError as exc:
            self._recorder._note(self._connection, {"dir": "closed", "text": str(exc)})
            raise
        if frame is not None:
            self._recorder._note(self._connection, {"dir": "recv", "text": frame})
        return frame

    def close(self) -> None:
        self._recorder._note(self._connection, {"dir": "close"})
        self._inner.close()


class WsRecorder:
    """Records every WebSocket opened through :meth:`opener`; :meth:`document` is the redacted file.

    ``redactor``: the HTTP cassette's (the same placeholders in both). ``canonical_urls`` maps a local
    base URL (the sandbox's ``ws://127.0.0.1:P/ws``) to the canonical one. ``clock``: the session's
    clock, for each frame's ``at``. ``id_fields``: the JSON keys holding client-chosen ids.
    """

    def __init__(
        self,
        *,
        redactor: Redactor,
        canonical_urls: Optional[Mapping[str, str]] = None,
        clock: Any = None,
        id_fields: Sequence[str] = DEFAULT_ID_FIELDS,
    ) -> None:
        self._redactor = redactor
        self._rewrites = sorted((canonical_urls or {}).items(), key=lambda kv: len(kv[0]), reverse=True)
        self._clock = clock
        self._id_fields = frozenset(f.lower() for f in id_fields)
        self._connections: List[_RecordedConnection] = []
        self._lock = threading.Lock()

    def canonical(self, url: str) -> str:
        for local, canonical in self._rewrites:
            if url.startswith(local):
                url = canonical.rstrip("/") + url[len(local.rstrip("/")) :]
                break
        return self._redactor.url(url)

    def opener(self, inner: Opener) -> Opener:
        """An opener that opens with ``inner`` and records the connection."""

        def open_recorded(
            url: str, provider: str, transport: Any, timeout: float, headers: Mapping[str, str]
        ) -> WebSocket:
            opened = self._clock.now() if self._clock is not None else 0.0
            connection = _RecordedConnection(url, opened)
            with self._lock:
                self._connections.append(connection)
            try:
                socket = inner(url, provider, transport, timeout, headers)
            except errors.IntegrationError as exc:
                connection.error = type(exc).__name__
                raise
            return _RecordingWebSocket(socket, connection, self)

        return open_recorded

    def _note(self, connection: _RecordedConnection, event: Dict[str, Any]) -> None:
        event["at"] = _at(self._clock, connection.opened)
        with self._lock:
            if connection.closed:
                return  # the client closed it: its reader's "closed" is its own doing, not a frame
            connection.closed = event["dir"] == "close"
            connection.events.append(event)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def document(self, recorded_at: Optional[float]) -> Dict[str, Any]:
        """The frames file's content: canonical URLs, redacted frames, ids as ``guid-N``."""
        with self._lock:
            connections = [(c.url, c.error, list(c.events)) for c in self._connections]
        labels: Dict[str, str] = {}
        counts: Dict[str, int] = {}
        out: List[Dict[str, Any]] = []
        for url, error, events in connections:
            frames: List[Dict[str, Any]] = []
            for event in events:
                text = event.get("text", "")
                if event["dir"] == "close":
                    frames.append({"dir": "close", "at": event["at"]})
                    continue
                if event["dir"] == "closed":
                    frame_text = self._redactor.scrub(text)
                else:
                    data = _parse(text)
                    if data is not None:
                        if event["dir"] == "send":
                            for path, value in _ids_in(data, self._id_fields):
                                if value not in labels:
                                    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
                                    counts[name] = counts.get(name, 0) + 1
                                    labels[value] = f"{name}-{counts[name]}"
                        redacted = _map_strings(self._redactor.json(data), labels)
                        frame_text = _dump(redacted) if redacted != data else text
                    else:
                        frame_text = text
                    frame_text = self._redactor.scrub(frame_text)
                frame: Dict[str, Any] = {"dir": event["dir"], "at": event["at"], "text": frame_text}
                if "error" in event:
                    frame["error"] = event["error"]
                frames.append(frame)
            entry: Dict[str, Any] = {"url": self.canonical(url)}
            if error is not None:
                entry["error"] = error
            entry["frames"] = frames
            out.append(entry)
        stamp = recorded_at if recorded_at is not None else time.time()
        return {"recorded_at": stamp, "version": FRAMES_VERSION, "connections": out}

    def save(self, path: str | Path, recorded_at: Optional[float]) -> bool:
        """Write the frames file if any connection was opened (else remove a stale one). Returns
        whether a file was written."""
        path = Path(path)
        if self.connection_count == 0:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(self.document(recorded_at), sort_keys=False, allow_unicode=True, width=120)
        path.write_text(text, encoding="utf-8")
        return True


@contextlib.contextmanager
def recording_websockets(recorder: WsRecorder) -> Iterator[WsRecorder]:
    """Record every WebSocket opened inside the block (through the opener in force)."""
    with use_opener(recorder.opener(current_opener())):
        yield recorder


# -- replay -----------------------------------------------------------------------------------------


@attrs.define
class _Frame:
    index: int
    dir: str
    at: float
    text: str
    error: Optional[str]
    key: Hashable = None
    ids: Tuple[Tuple[str, str], ...] = ()


class _ReplayedConnection:
    """One recorded connection played back as a :class:`~integrations.websocket.WebSocket`."""

    def __init__(
        self, replayer: WsReplayer, number: int, url: str, frames: List[_Frame], provider: str
    ) -> None:
        self._replayer = replayer
        self._number = number
        self._url = url
        self._frames = frames
        self._provider = provider
        self._sends = [f for f in frames if f.dir == "send"]
        self._sent = [False] * len(frames)
        self._incoming = [f for f in frames if f.dir in ("recv", "closed")]
        self._next_in = 0
        self._lost = False  # the recorded connection was lost (its "closed" frame was played)
        self._closed = False  # the client closed it
        self._live_to_label: Dict[str, str] = replayer._live_to_label
        self._label_to_live: Dict[str, str] = replayer._label_to_live
        self._cond = replayer._cond
        self._clock = replayer._clock
        self._opened: float = self._clock.now() if self._clock is not None else 0.0

    def _error(self, message: str) -> errors.ConnectionError:
        return errors.ConnectionError(f"{self._provider}: {message}", provider=self._provider)

    # -- send --

    def send(self, text: str) -> None:
        key, ids = self._replayer._normalise(text)
        with self._cond:
            if self._closed:
                raise self._error("the WebSocket is closed (replay)")
            for frame in self._sends:
                if self._sent[frame.index] or frame.key != key or len(frame.ids) != len(ids):
                    continue
                if not self._consistent(frame.ids, ids):
                    continue
                self._sent[frame.index] = True
                for (_, label), (_, live) in zip(frame.ids, ids):
                    self._live_to_label[live] = label
                    self._label_to_live[label] = live
                self._cond.notify_all()
                if frame.error is not None:
                    raise self._error("the WebSocket is closed (recorded: sending failed)")
                return
            if self._lost:
                raise self._error("the WebSocket was closed (replay)")
            error = WebSocketReplayError(self._explain(text, key))
            self._replayer.mismatches.append(error)
        raise error

    def _consistent(self, recorded: Sequence[Tuple[str, str]], live: Sequence[Tuple[str, str]]) -> bool:
        for (path_a, label), (path_b, value) in zip(recorded, live):
            if path_a != path_b:
                return False
            if (
                self._live_to_label.get(value, label) != label
                or self._label_to_live.get(label, value) != value
            ):
                return False
        return True

    def _explain(self, text: str, key: Hashable) -> str:
        unsent = [f for f in self._sends if not self._sent[f.index]]
        shown = _shown(text, self._replayer._secret_fields)
        head = (
            f"connection {self._number} to {self._url}: the sent frame {shown} matches no unplayed "
            f"recorded frame in {self._replayer.path or 'the recording'}"
        )
        if not unsent:
            return head + "; every recorded frame of this connection was already sent"
        live = _parse(text)
        best, best_score, best_diff = unsent[0], -1, ""
        for frame in unsent:
            score, diff = _similarity(live, _parse(frame.text), self._replayer._ignored)
            if score > best_score:
                best, best_score, best_diff = frame, score, diff
        tail = f" ({best_diff})" if best_diff else ""
        return f"{head}; the closest is frame {best.index}: {_clip(best.text)}{tail}"

    # -- recv --

    def _due(self, frame: _Frame) -> bool:
        if not all(self._sent[f.index] for f in self._sends if f.index < frame.index):
            return False
        if self._clock is None:
            return True
        elapsed = float(self._clock.now()) - self._opened
        return elapsed + _AT_TOLERANCE >= frame.at

    def _waits_for_clock_only(self, frame: _Frame) -> bool:
        return all(self._sent[f.index] for f in self._sends if f.index < frame.index)

    def recv(self, timeout: Optional[float]) -> Optional[str]:
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._cond:
            while True:
                if self._closed or self._lost:
                    raise self._error("the WebSocket was closed (replay)")
                frame = self._incoming[self._next_in] if self._next_in < len(self._incoming) else None
                if frame is not None and self._due(frame):
                    self._next_in += 1
                    if frame.dir == "closed":
                        self._lost = True
                        self._cond.notify_all()
                        raise self._error(frame.text or "the WebSocket was closed (recorded)")
                    return self._live(frame.text)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                if (
                    frame is not None
                    and self._clock is not None
                    and not self._replayer._clock_wakes
                    and self._waits_for_clock_only(frame)
                ):
                    # A clock that cannot say it moved is looked at every few milliseconds.
                    remaining = _CLOCK_POLL if remaining is None else min(remaining, _CLOCK_POLL)
                self._cond.wait(remaining)

    def _live(self, text: str) -> str:
        data = _parse(text)
        if data is None or not self._label_to_live:
            return text
        mapped = _map_strings(data, self._label_to_live)
        return _dump(mapped) if mapped != data else text

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def _clip(text: str, limit: int = 300) -> str:
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_JWT_ANYWHERE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


def _masked(data: Any, secret_fields: FrozenSet[str]) -> Any:
    if isinstance(data, dict):
        return {
            k: ("<secret>" if str(k).lower() in secret_fields else _masked(v, secret_fields))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_masked(v, secret_fields) for v in data]
    return data


def _shown(text: str, secret_fields: FrozenSet[str]) -> str:
    """A live frame for an error message: secret fields and JWTs masked."""
    data = _parse(text)
    if data is not None:
        text = _dump(_masked(data, secret_fields))
    return _clip(_JWT_ANYWHERE.sub("<jwt>", text))


def _similarity(live: Any, recorded: Any, ignored: FrozenSet[str]) -> Tuple[int, str]:
    """How many top-level fields agree (ignored ones excepted), and the first that differs."""
    if not isinstance(live, dict) or not isinstance(recorded, dict):
        return (1, "") if live == recorded else (0, "not the same JSON shape")
    score, first = 0, ""
    for key in list(dict.fromkeys([*live, *recorded])):
        if str(key).lower() in ignored:
            continue
        a, b = live.get(key, "(absent)"), recorded.get(key, "(absent)")
        if _freeze(a) == _freeze(b):
            score += 1
        elif not first:
            first = f"{key} differs: sent {_short(_dump(a))}, recorded {_short(_dump(b))}"
    return score, first


class WsReplayer:
    """Plays a frames file back: use :meth:`opener` (or :func:`replaying_websockets`).

    ``rules``: the providers' recording rules (their ``secret_fields`` and ``request_id_fields`` are
    left out when matching). ``clock``: the replay clock (a frame is due once the clock reached its
    ``at``); ``None`` plays frames as soon as the frames sent before them were sent.
    """

    def __init__(
        self,
        document: Optional[Mapping[str, Any]],
        *,
        rules: Iterable[RecordingRules] = (),
        clock: Any = None,
        path: Optional[Path] = None,
    ) -> None:
        rules = list(rules) or [RecordingRules()]
        self.path = path
        self._id_fields = frozenset(id_fields_for(rules))
        self._secret_fields = frozenset(f for r in rules for f in r.secret_fields)
        self._secret_query = frozenset(q for r in rules for q in r.secret_query)
        self._ignored = self._id_fields | self._secret_fields
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        # A ReplayClock wakes waiting readers when it moves: no polling, and no timed wait to rely on
        # (libfaketime, as in CI's +5y run, can make timed waits never time out).
        self._clock_wakes = isinstance(clock, ReplayClock)
        if isinstance(clock, ReplayClock):
            clock.add_listener(self._wake)
        self._live_to_label: Dict[str, str] = {}
        self._label_to_live: Dict[str, str] = {}
        self.mismatches: List[WebSocketReplayError] = []
        self._document = document
        self._connections: List[Tuple[str, Optional[str], List[_Frame]]] = []
        self._used: List[bool] = []
        for entry in (document or {}).get("connections") or []:
            frames = []
            for i, raw in enumerate(entry.get("frames") or []):
                frame = _Frame(
                    i, str(raw["dir"]), float(raw.get("at", 0.0)), str(raw.get("text", "")), raw.get("error")
                )
                if frame.dir == "send":
                    frame.key, frame.ids = self._normalise(frame.text)
                frames.append(frame)
            self._connections.append((str(entry.get("url", "")), entry.get("error"), frames))
            self._used.append(False)

    @classmethod
    def load(cls, path: str | Path, *, rules: Iterable[RecordingRules] = (), clock: Any = None) -> WsReplayer:
        """The replayer for the frames file at ``path``; a missing file replays no connection (and
        an attempt to open one says how to record it)."""
        path = Path(path)
        document = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
        return cls(document if isinstance(document, dict) else None, rules=rules, clock=clock, path=path)

    def _normalise(self, text: str) -> Tuple[Hashable, Tuple[Tuple[str, str], ...]]:
        data = _parse(text)
        if data is None:
            return ("text", text), ()
        return ("json", _freeze(_shape(data, self._ignored))), tuple(_ids_in(data, self._id_fields))

    def opener(self) -> Opener:
        def open_replayed(
            url: str, provider: str, transport: Any, timeout: float, headers: Mapping[str, str]
        ) -> WebSocket:
            wanted = _url_key(url, self._secret_query)
            with self._cond:
                if self._document is None:
                    error = WebSocketReplayError(
                        f"no recorded WebSocket session at {self.path}; record the test again with "
                        "--integrations-record-mode=rewrite"
                    )
                    self.mismatches.append(error)
                    raise error
                for number, (recorded_url, failed, frames) in enumerate(self._connections):
                    if self._used[number] or _url_key(recorded_url, self._secret_query) != wanted:
                        continue
                    self._used[number] = True
                    if failed is not None:
                        cls = errors.Timeout if failed == "Timeout" else errors.ConnectionError
                        raise cls(
                            f"{provider}: could not open the WebSocket (recorded: {failed})",
                            provider=provider,
                            outcome_unknown=False,
                        )
                    return _ReplayedConnection(self, number, recorded_url, frames, provider)
                recorded = sorted({u for u, _, _ in self._connections})
                error = WebSocketReplayError(
                    f"{url}: no unplayed recorded WebSocket connection to this URL in {self.path} "
                    f"({sum(self._used)} of {len(self._used)} played; "
                    f"recorded URLs: {', '.join(recorded) or 'none'})"
                )
                self.mismatches.append(error)
                raise error

        return open_replayed

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def check(self) -> None:
        """Raise the first mismatch seen during the replay, if any (a client thread may have
        swallowed it)."""
        if self.mismatches:
            raise self.mismatches[0]


@contextlib.contextmanager
def replaying_websockets(replayer: WsReplayer) -> Iterator[WsReplayer]:
    """Open every WebSocket inside the block from ``replayer``'s recording."""
    with use_opener(replayer.opener()):
        yield replayer
