"""Recording and replaying WebSocket sessions, provider-agnostic: a tiny ticker server of the test's
own on 127.0.0.1, a minimal client that opens its socket with ``open_websocket`` and puts a token in
every message, the recorder and the replayer of :mod:`integrations.recording.ws`."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml

from integrations import errors
from integrations.provider import RecordingRules
from integrations.recording.lint import DeclaredSecrets, check_cassette, check_paths
from integrations.recording.redact import FAKE_SIGNATURE, Redactor
from integrations.recording.session import network_blocked
from integrations.recording.verify import compare_dirs, compare_frames
from integrations.recording.ws import (
    ReplayClock,
    WebSocketReplayError,
    WsRecorder,
    WsReplayer,
    frames_path,
    recording_websockets,
    replaying_websockets,
)
from integrations.runtime import ManualClock
from integrations.transport import Transport
from integrations.websocket import open_websocket

websockets_server = pytest.importorskip("websockets.sync.server")

T0 = 1_763_800_000.0
CANONICAL = "wss://stream.example.test/ws"
RULES = RecordingRules(secret_fields=("token",))


def _b64(data: Dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# A JWT with a real-looking signature: what the recording must never keep.
TOKEN = ".".join(
    (
        _b64({"alg": "RS256", "typ": "JWT"}),
        _b64({"sub": "trader-42", "exp": int(T0) + 1800}),
        "c2lnbmF0dXJlLXJlYWwtb25l",
    )
)
RENEWED = ".".join(
    (
        _b64({"alg": "RS256", "typ": "JWT"}),
        _b64({"sub": "trader-42", "exp": int(T0) + 3600}),
        "YW5vdGhlci1zaWduYXR1cmU",
    )
)


def _handler(connection: Any) -> None:
    """Checks the token in every message; ``subscribe`` -> a status frame then ``count`` ticks,
    ``unsubscribe`` -> a status frame, ``drop`` -> the connection is cut."""
    for message in connection:
        request = json.loads(message)
        guid = request.get("guid")
        if request.get("token") not in (TOKEN, RENEWED):
            connection.send(
                json.dumps({"requestGuid": guid, "httpCode": 401, "message": "Invalid JWT token!"})
            )
            continue
        opcode = request["opcode"]
        if opcode == "drop":
            connection.close()
            return
        connection.send(json.dumps({"message": "Handled successfully", "httpCode": 200, "requestGuid": guid}))
        if opcode == "subscribe":
            for n in range(int(request.get("count", 2))):
                connection.send(
                    json.dumps({"data": {"code": request["code"], "n": n, "price": 100 + n}, "guid": guid})
                )


@pytest.fixture
def server() -> Iterator[str]:
    with websockets_server.serve(_handler, "127.0.0.1", 0, compression=None) as srv:
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        port = srv.socket.getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}/ws"
        finally:
            srv.shutdown()
            thread.join(5)


class Client:
    """The smallest streaming client: random guids (like a real one), a token in every message."""

    def __init__(self, url: str, token: str = TOKEN) -> None:
        self.token = token
        self.ws = open_websocket(url, provider="demo", transport=Transport(), timeout=5.0)

    def send(self, opcode: str, **fields: Any) -> str:
        guid = fields.pop("guid", None) or str(uuid.uuid4())
        self.ws.send(json.dumps({"opcode": opcode, **fields, "guid": guid, "token": self.token}))
        return guid

    def next(self, timeout: Optional[float] = 2.0) -> Optional[Dict[str, Any]]:
        text = self.ws.recv(timeout)
        return None if text is None else json.loads(text)

    def close(self) -> None:
        self.ws.close()


def session(url: str, clock: Optional[ManualClock] = None) -> List[Any]:
    """Subscribe to two codes, read both, unsubscribe one, renew the token, unsubscribe the other.
    Returns what the client saw, guids replaced by the subscription's name."""
    client = Client(url)
    seen: List[Any] = []
    try:
        names: Dict[str, str] = {}
        for code in ("SBER", "GAZP"):
            names[client.send("subscribe", code=code, count=2)] = code
            for _ in range(3):
                frame = client.next()
                assert frame is not None
                guid = frame.get("guid") or frame.get("requestGuid")
                seen.append((names[guid], frame.get("data") or frame.get("httpCode")))
        if clock is not None:
            clock.advance(1.5)
        sber = next(g for g, c in names.items() if c == "SBER")
        gazp = next(g for g, c in names.items() if c == "GAZP")
        client.send("unsubscribe", guid=sber)
        client.token = RENEWED
        client.send("unsubscribe", guid=gazp)
        for _ in range(2):
            frame = client.next()
            assert frame is not None
            seen.append((names[frame["requestGuid"]], frame["httpCode"]))
    finally:
        client.close()
    return seen


def record(path: Path, url: str, run: Any = session) -> Tuple[List[Any], WsRecorder]:
    clock = ManualClock(T0)
    redactor = Redactor([RULES])
    recorder = WsRecorder(redactor=redactor, canonical_urls={url: CANONICAL}, clock=clock)
    with recording_websockets(recorder):
        seen = run(url, clock)
    assert recorder.save(path, T0)
    return seen, recorder


def replay(path: Path, run: Any = session, url: str = CANONICAL) -> Tuple[List[Any], WsReplayer]:
    clock = ReplayClock(T0)
    replayer = WsReplayer.load(path, rules=[RULES], clock=clock)
    with network_blocked(), replaying_websockets(replayer):
        seen = run(url, clock)
    replayer.check()
    return seen, replayer


def test_a_recorded_session_holds_frames_both_ways_with_canonical_url_and_no_token(tmp_path, server):
    path = tmp_path / "ticker.ws.yaml"
    seen, _ = record(path, server)

    assert [name for name, _ in seen] == ["SBER"] * 3 + ["GAZP"] * 3 + ["SBER", "GAZP"]
    text = path.read_text()
    assert TOKEN not in text and RENEWED not in text and "127.0.0.1" not in text
    data = yaml.safe_load(text)
    assert list(data) == ["recorded_at", "version", "connections"]
    assert data["recorded_at"] == T0
    (connection,) = data["connections"]
    assert connection["url"] == CANONICAL
    frames = connection["frames"]
    assert [f["dir"] for f in frames].count("send") == 4
    assert [f["dir"] for f in frames].count("recv") == 8
    sent = [json.loads(f["text"]) for f in frames if f["dir"] == "send"]
    # Random guids are stored as guid-1, guid-2 in order of first use; the same in replies.
    assert [s["guid"] for s in sent] == ["guid-1", "guid-2", "guid-1", "guid-2"]
    received = [json.loads(f["text"]) for f in frames if f["dir"] == "recv"]
    assert {r.get("guid") or r.get("requestGuid") for r in received} == {"guid-1", "guid-2"}
    # Each token became a fake JWT (claims kept, signature not a signature); a renewed one another.
    tokens = [s["token"] for s in sent]
    assert tokens[0] == tokens[1] == tokens[2] != tokens[3]
    assert all(t.split(".")[2] == FAKE_SIGNATURE for t in tokens)
    # Data frames keep their data; "at" is the session clock since the connection opened.
    assert received[1]["data"] == {"code": "SBER", "n": 0, "price": 100}
    assert [f["at"] for f in frames if f["dir"] == "send"] == [0.0, 0.0, 1.5, 1.5]


def test_the_same_redactor_gives_the_http_cassettes_placeholder(tmp_path, server):
    redactor = Redactor([RULES])
    http_placeholder = redactor.json({"AccessToken": TOKEN, "token": TOKEN})["token"]
    recorder = WsRecorder(redactor=redactor, canonical_urls={server: CANONICAL}, clock=ManualClock(T0))
    with recording_websockets(recorder):
        session(server)
    recorder.save(tmp_path / "x.ws.yaml", T0)
    sent = [
        json.loads(f["text"])
        for f in yaml.safe_load((tmp_path / "x.ws.yaml").read_text())["connections"][0]["frames"]
        if f["dir"] == "send"
    ]
    assert sent[0]["token"] == http_placeholder


def test_cassettes_check_finds_nothing_in_a_redacted_recording_and_the_token_in_an_unredacted_one(
    tmp_path, server
):
    clean = tmp_path / "clean" / "ticker.ws.yaml"
    record(clean, server)
    assert check_cassette(clean, secrets=[TOKEN, RENEWED], declared=DeclaredSecrets()) == []

    # The same session recorded with rules that do not know the token field, and a token that is
    # no JWT: the recorder keeps it, and the check must say so.
    plain = "plain-secret-token-123456"
    dirty = tmp_path / "dirty" / "ticker.ws.yaml"
    recorder = WsRecorder(redactor=Redactor([RecordingRules()]), canonical_urls={server: CANONICAL})

    def run(url: str, clock: Any) -> None:
        client = Client(url, token=TOKEN)
        client.token = plain
        client.send("subscribe", code="SBER", count=1)
        client.next()
        client.close()

    with recording_websockets(recorder):
        run(server, None)
    recorder.save(dirty, T0)
    assert plain in dirty.read_text()
    findings = check_paths([dirty.parent], secrets=[plain], declared=DeclaredSecrets())
    assert {(f.field, f.rule) for f in findings} == {
        ("connections[0].frames[0].text", "--secret / --secret-env")
    }
    (finding,) = findings
    assert finding.line is not None and plain in dirty.read_text().splitlines()[finding.line - 1]
    assert plain not in str(finding)
    # The declared field rule sees it too when a provider declares "token".
    declared = DeclaredSecrets(fields={"token": ("demo",)})
    rules = {f.rule for f in check_cassette(dirty, declared=declared)}
    assert "demo: declared secret field 'token'" in rules


def test_the_cli_checks_frames_files(tmp_path, server):
    clean = tmp_path / "cassettes" / "ticker.ws.yaml"
    record(clean, server)
    command = [
        sys.executable,
        "-m",
        "integrations",
        "cassettes",
        "check",
        str(clean.parent),
        "--secret",
        TOKEN,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no secrets found" in result.stdout
    # A real JWT put into a frames file by a recorder with no rules at all is a finding.
    raw = tmp_path / "raw" / "ticker.ws.yaml"
    recorder = WsRecorder(redactor=_NoRedaction(), canonical_urls={server: CANONICAL})
    with recording_websockets(recorder):
        client = Client(server)
        client.send("subscribe", code="SBER", count=1)
        client.next()
        client.close()
    recorder.save(raw, T0)
    result = subprocess.run([*command[:-3], str(raw)], capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout
    assert "connections[0].frames[0].text: a JWT with a real-looking signature" in result.stdout
    assert TOKEN not in result.stdout


class _NoRedaction(Redactor):
    """A redactor that lets everything through (to show the check catches what it would miss)."""

    def __init__(self) -> None:
        super().__init__([RecordingRules(secret_headers=())])

    def json(self, data: Any) -> Any:
        return data

    def scrub(self, text: str) -> str:
        return text


def test_replay_gives_the_recorded_session_offline_and_twice_the_same(tmp_path, server):
    path = tmp_path / "ticker.ws.yaml"
    recorded, _ = record(path, server)
    before = path.read_bytes()

    first, _ = replay(path)
    second, _ = replay(path)

    assert first == second == recorded
    assert path.read_bytes() == before


def test_replay_opens_no_socket_at_all(tmp_path, server, monkeypatch):
    path = tmp_path / "ticker.ws.yaml"
    record(path, server)
    opened: List[Any] = []
    real = socket.socket.__init__

    def spy(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        opened.append(args)
        real(self, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "__init__", spy)
    replay(path)
    assert opened == []


def test_rerecording_gives_the_same_file(tmp_path, server):
    first, second = tmp_path / "a" / "t.ws.yaml", tmp_path / "b" / "t.ws.yaml"
    record(first, server)
    record(second, server)
    assert compare_frames(first, second) == []
    assert compare_dirs(first.parent, second.parent) == []
    # uuid4 guids and fresh fake JWTs alike: the files are the same byte for byte.
    assert first.read_bytes() == second.read_bytes()


def test_verify_names_a_changed_frame(tmp_path, server):
    first, second = tmp_path / "a" / "t.ws.yaml", tmp_path / "b" / "t.ws.yaml"
    record(first, server)

    def fewer(url: str, clock: Any) -> List[Any]:
        client = Client(url)
        client.send("subscribe", code="SBER", count=1)
        seen = [client.next(), client.next()]
        client.close()
        return seen

    record(second, server, fewer)
    found = {d.field for d in compare_frames(first, second)}
    assert "connections[0].sent[0].text.count" in found
    assert "connections[0].sent[1:]" in found


def test_verify_ignores_what_arrives_after_the_closing_send_but_not_before(tmp_path, server):
    def closing(read_reply: bool, count: int = 1) -> Any:
        def run(url: str, clock: Any) -> None:
            client = Client(url)
            guid = client.send("subscribe", code="SBER", count=count)
            for _ in range(1 + count):
                client.next()
            client.send("unsubscribe", guid=guid)
            if read_reply:  # the reply to a closing unsubscribe races the close in a real client
                client.next()
            client.close()

        return run

    read, unread, more = (tmp_path / d / "t.ws.yaml" for d in ("read", "unread", "more"))
    record(read, server, closing(True))
    record(unread, server, closing(False))
    record(more, server, closing(False, count=2))
    assert [f["dir"] for f in yaml.safe_load(read.read_text())["connections"][0]["frames"]][-2:] == [
        "recv",
        "close",
    ]
    assert compare_frames(read, unread) == []
    found = {d.field for d in compare_frames(read, more)}
    assert "connections[0].received[2:]" in found and "connections[0].sent[0].text.count" in found


def test_a_frame_that_matches_nothing_names_the_closest_recorded_one(tmp_path, server):
    path = tmp_path / "ticker.ws.yaml"
    record(path, server)
    replayer = WsReplayer.load(path, rules=[RULES], clock=ReplayClock(T0))
    with network_blocked(), replaying_websockets(replayer):
        client = Client(CANONICAL)
        with pytest.raises(WebSocketReplayError) as caught:
            client.send("subscribe", code="LKOH", count=2)
    message = str(caught.value)
    assert "the closest is frame 0" in message and 'code differs: sent "LKOH", recorded "SBER"' in message
    assert TOKEN not in message
    with pytest.raises(WebSocketReplayError):
        replayer.check()  # the session re-raises it even if a client thread swallowed it


def test_replay_without_a_recording_says_how_to_record(tmp_path):
    replayer = WsReplayer.load(tmp_path / "missing.ws.yaml", rules=[RULES])
    expected = pytest.raises(
        WebSocketReplayError, match="record the test again with --integrations-record-mode"
    )
    with network_blocked(), replaying_websockets(replayer), expected:
        Client(CANONICAL)


def _waits_for_sends_and_clock(path: Path, clock: ManualClock, wait: float) -> None:
    clock.set(T0)
    replayer = WsReplayer.load(path, rules=[RULES], clock=clock)
    with network_blocked(), replaying_websockets(replayer):
        client = Client(CANONICAL)
        assert client.next(timeout=wait) is None  # nothing was received before the first subscribe
        sber = client.send("subscribe", code="SBER", count=2)
        frames = [client.next(timeout=0) for _ in range(3)]
        assert [f.get("guid") or f.get("requestGuid") for f in frames] == [sber] * 3  # live guid back
        assert client.next(timeout=wait) is None  # GAZP's frames wait for GAZP's subscribe
        gazp = client.send("subscribe", code="GAZP", count=2)
        frames = [client.next(timeout=0) for _ in range(3)]
        assert frames[0] == {"message": "Handled successfully", "httpCode": 200, "requestGuid": gazp}
        assert [f["data"]["n"] for f in frames[1:]] == [0, 1] and {f["guid"] for f in frames[1:]} == {gazp}
        client.send("unsubscribe", guid=sber)
        client.token = RENEWED
        client.send("unsubscribe", guid=gazp)
        # The replies were recorded 1.5 s (session clock) after the connection opened.
        assert client.next(timeout=wait) is None
        clock.advance(1.5)
        assert client.next(timeout=0)["requestGuid"] == sber
        assert client.next(timeout=0)["requestGuid"] == gazp
        client.close()
    replayer.check()


def test_a_frame_waits_for_the_frames_sent_before_it_and_for_the_clock(tmp_path, server):
    path = tmp_path / "ticker.ws.yaml"
    record(path, server)
    # A ReplayClock wakes the replay when it moves: nothing waits on real time (faketime-proof).
    _waits_for_sends_and_clock(path, ReplayClock(T0), wait=0)


@pytest.mark.realtime
def test_with_a_plain_manual_clock_the_replay_looks_at_the_clock_while_waiting(tmp_path, server):
    path = tmp_path / "ticker.ws.yaml"
    record(path, server)
    clock = ManualClock(T0)
    _waits_for_sends_and_clock(path, clock, wait=0.05)
    # A reader blocked in recv() gets the frame once the clock moves, within its timeout.
    replayer = WsReplayer.load(path, rules=[RULES], clock=clock)
    clock.set(T0)
    with network_blocked(), replaying_websockets(replayer):
        client = Client(CANONICAL)
        sber = client.send("subscribe", code="SBER", count=2)
        gazp = client.send("subscribe", code="GAZP", count=2)
        for _ in range(6):
            assert client.next(timeout=0) is not None
        client.send("unsubscribe", guid=sber)
        client.token = RENEWED
        client.send("unsubscribe", guid=gazp)
        threading.Timer(0.1, clock.advance, (1.5,)).start()
        reply = client.next(timeout=5.0)
        assert reply is not None and reply["requestGuid"] == sber
        client.close()
    replayer.check()


def test_unsubscribing_with_another_subscriptions_guid_is_a_mismatch(tmp_path, server):
    path = tmp_path / "ticker.ws.yaml"
    record(path, server)
    replayer = WsReplayer.load(path, rules=[RULES], clock=ReplayClock(T0))
    with network_blocked(), replaying_websockets(replayer):
        client = Client(CANONICAL)
        sber = client.send("subscribe", code="SBER", count=2)
        client.send("subscribe", code="GAZP", count=2)
        client.send("unsubscribe", guid=sber)  # recorded first: fine
        with pytest.raises(WebSocketReplayError, match="matches no unplayed recorded frame"):
            client.send("unsubscribe", guid=sber)  # again: the recording unsubscribed GAZP next


def _read_until_lost(client: Client) -> str:
    try:
        while client.next() is not None:
            pass
    except errors.ConnectionError:
        return "dropped"
    return "timed out"


def test_a_dropped_connection_is_recorded_and_replayed(tmp_path, server):
    path = tmp_path / "drop.ws.yaml"

    def run(url: str, clock: Any) -> List[Any]:
        seen: List[Any] = []
        for attempt in range(2):
            client = Client(url)
            client.send("subscribe", code="SBER", count=1)
            seen += [client.next()["httpCode"], client.next()["data"]["n"]]
            if attempt == 0:
                client.send("drop")
                seen.append(_read_until_lost(client))
            client.close()
        return seen

    recorded, _ = record(path, server, run)
    assert recorded == [200, 0, "dropped", 200, 0]
    connections = yaml.safe_load(path.read_text())["connections"]
    assert len(connections) == 2
    # The server cut the first: the client saw it lost ("closed"), then closed it ("close").
    assert [f["dir"] for f in connections[0]["frames"]][-2:] == ["closed", "close"]
    assert [f["dir"] for f in connections[1]["frames"]][-1] == "close"
    replayed, _ = replay(path, run)
    assert replayed == recorded


def test_an_open_that_failed_is_replayed_as_the_same_error(tmp_path, server):
    path = tmp_path / "refused.ws.yaml"
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"ws://127.0.0.1:{probe.getsockname()[1]}/ws"

    def run(url: str, clock: Any) -> List[str]:
        with pytest.raises(errors.ConnectionError):
            Client(url)
        return ["refused"]

    recorder = WsRecorder(redactor=Redactor([RULES]), canonical_urls={dead: CANONICAL})
    with recording_websockets(recorder):
        run(dead, None)
    recorder.save(path, T0)
    (connection,) = yaml.safe_load(path.read_text())["connections"]
    assert connection == {"url": CANONICAL, "error": "ConnectionError", "frames": []}
    assert replay(path, run)[0] == ["refused"]


def test_frames_path_is_a_sibling_of_the_cassette():
    assert frames_path(Path("c/alor/test_x/test_book.yaml")) == Path("c/alor/test_x/test_book.ws.yaml")


# -- the whole session: recorded_session records the frames next to the cassette, and replays them --


def _raw_book_session(s: Any) -> List[Any]:
    """A raw client on the session's client: its ws URL, its transport and its token (any provider
    that streams would do; ALOR's sandbox is the one at hand)."""
    from integrations.recording.session import RecordedSession

    assert isinstance(s, RecordedSession)
    client = s.client.client
    ws = open_websocket(
        client.ctx.base_urls["ws"], provider="alor", transport=client.ctx.transport, timeout=5.0
    )
    guid = str(uuid.uuid4())  # random on purpose: the recording must not depend on it
    request = {
        "opcode": "OrderBookGetAndSubscribe",
        "code": "SBER",
        "exchange": "MOEX",
        "instrumentGroup": "TQBR",
        "depth": 2,
        "format": "Simple",
        "frequency": 100,
        "guid": guid,
    }
    seen: List[Any] = []
    try:
        ws.send(json.dumps({**request, "token": client.token().access}))
        for _ in range(2):  # the status frame, then the first (full) book
            seen.append(json.loads(ws.recv(5.0) or "null"))
        ws.send(json.dumps({"opcode": "unsubscribe", "guid": guid, "token": client.token().access}))
        seen.append(json.loads(ws.recv(5.0) or "null"))
    finally:
        ws.close()
    for frame in seen:  # the live guid, wherever it is, reads the same in every run
        for key in ("guid", "requestGuid"):
            if frame.get(key) == guid:
                frame[key] = "<the subscription>"
    return seen


def test_recorded_session_records_the_frames_beside_the_cassette_and_replays_them(tmp_path):
    from integrations.recording.session import recorded_session

    pytest.importorskip("integrations_alor")
    cassette = tmp_path / "alor" / "test_book.yaml"
    with recorded_session("alor", cassette, mode="rewrite") as s:
        assert "ws" in s.sandbox.base_urls
        recorded = _raw_book_session(s)
    frames = frames_path(cassette)
    data = yaml.safe_load(frames.read_text())
    assert data["recorded_at"] == yaml.safe_load(cassette.read_text())["recorded_at"]
    assert [c["url"] for c in data["connections"]] == ["wss://apidev.alor.ru/ws"]
    assert recorded[0]["httpCode"] == 200 and recorded[1]["data"]["bids"]
    # The token in each sent frame is the HTTP cassette's placeholder for the same token.
    sent = [json.loads(f["text"]) for f in data["connections"][0]["frames"] if f["dir"] == "send"]
    assert sent[0]["token"] == sent[1]["token"] and sent[0]["token"] in cassette.read_text()
    assert sent[0]["token"].split(".")[2] == FAKE_SIGNATURE
    assert check_paths([tmp_path]) == []

    with recorded_session("alor", cassette, mode="none") as s:
        assert s.sandbox is None
        replayed = _raw_book_session(s)
    assert replayed == recorded
