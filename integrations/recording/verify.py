"""``integrations cassettes verify``: re-record every cassette against the sandbox and compare.

Re-recording runs pytest on the tests that use the ``integrations_session`` fixture, in ``rewrite``
mode, into a temporary directory. Each cassette is recorded at its own ``recorded_at`` (read from the
committed cassette), and the sandboxes are deterministic, so an honest cassette comes back the same.

The comparison is structural: the same cassettes, the same interactions in the same order, and the
same requests and responses after redaction. JSON bodies are compared as data, query strings as
parameters, and headers by name whatever their case. Headers that depend on the installed HTTP stack
rather than on the API (``Accept-Encoding``, ``Connection``, ``Content-Length``…) are left out.
Each difference names the file, the interaction and the field.

WebSocket frames files (``*.ws.yaml``) are compared per connection: the URL, whether it opened, the
frames sent in order and the frames received in order (JSON as data, with each frame's ``at``); how
sends and receptions interleave is left out, as it depends on thread scheduling, not on the API, and
so is how many frames arrived after the client's last send on a connection it then closed (those
that both recordings hold are compared).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

import attrs

__all__ = ["Difference", "compare_cassette", "compare_dirs", "compare_frames", "rerecord", "verify"]

# Headers that describe the HTTP stack (or are derived from the body), not the API.
_TRANSPORT_HEADERS = frozenset(
    {"accept-encoding", "connection", "content-encoding", "content-length", "keep-alive", "transfer-encoding"}
)


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()  # a key or file on one side only
_NO_LONGER_RECORDED = "absent (no test records it any more)"
_NEVER_COMMITTED = "absent (never committed)"


@attrs.frozen
class Difference:
    """One way a re-recorded cassette differs from the committed one."""

    path: str
    interaction: Optional[int]  # None: the cassette as a whole
    field: str
    committed: str
    rerecorded: str

    def __str__(self) -> str:
        where = self.path if self.interaction is None else f"{self.path}: interaction {self.interaction}"
        return f"{where}: {self.field}: committed {self.committed}, re-recorded {self.rerecorded}"


def _show(value: Any) -> str:
    if isinstance(value, _Absent):
        return repr(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)  # bytes: repr
    return text if len(text) <= 120 else text[:117] + "..."


def _headers(raw: Any) -> Dict[str, Any]:
    headers: Dict[str, Any] = {}
    for name, value in (raw or {}).items():
        if str(name).lower() not in _TRANSPORT_HEADERS:
            headers[str(name).lower()] = value if isinstance(value, list) else [value]
    return headers


def _content_type(headers: Dict[str, Any]) -> str:
    return " ".join(str(v) for v in headers.get("content-type", []))


def _body(raw: Any, content_type: str) -> Any:
    """A body as data: parsed JSON, parsed form fields, or text."""
    if isinstance(raw, dict):  # a response body: {"string": ...}
        raw = raw.get("string")
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    text = str(raw)
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "application/x-www-form-urlencoded" in content_type:
        return parse_qs(text, keep_blank_values=True)
    return text


def _interaction(raw: Dict[str, Any]) -> Dict[str, Any]:
    request, response = raw.get("request", {}), raw.get("response", {})
    url = urlsplit(str(request.get("uri", "")))
    request_headers, response_headers = _headers(request.get("headers")), _headers(response.get("headers"))
    status = response.get("status", {})
    return {
        "request": {
            "method": str(request.get("method", "")).upper(),
            "url": f"{url.scheme}://{url.netloc.lower()}{url.path}",
            "query": parse_qs(url.query, keep_blank_values=True),
            "headers": request_headers,
            "body": _body(request.get("body"), _content_type(request_headers)),
        },
        "response": {
            "status": {"code": status.get("code"), "message": status.get("message")},
            "headers": response_headers,
            "body": _body(response.get("body"), _content_type(response_headers)),
        },
    }


def _same(a: Any, b: Any) -> bool:
    # JSON data: 1 == True in Python, not on the wire.
    return bool(a == b and isinstance(a, bool) == isinstance(b, bool))


def _diff(a: Any, b: Any, path: str) -> Iterator[Tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in a:
                yield where, _ABSENT, b[key]
            elif key not in b:
                yield where, a[key], _ABSENT
            else:
                yield from _diff(a[key], b[key], where)
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _diff(x, y, f"{path}[{i}]")
        common = min(len(a), len(b))
        if len(a) != len(b):
            yield f"{path}[{common}:]", a[common:], b[common:]
    elif not _same(a, b):
        yield path, a, b


def _frame_data(frame: Any) -> Dict[str, Any]:
    if not isinstance(frame, dict):
        return {"frame": frame}
    out: Dict[str, Any] = {"at": frame.get("at"), "text": _body(frame.get("text"), "")}
    if frame.get("error") is not None:
        out["error"] = frame["error"]
    return out


def _connection(raw: Any) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """A connection as data, and apart from it the frames received after the client's last send on a
    connection the client closed: those race the close (the answer to a closing ``unsubscribe`` is
    read or not), so only as many as both recordings hold are compared."""
    raw = raw if isinstance(raw, dict) else {}
    frames = [f for f in raw.get("frames") or [] if isinstance(f, dict)]
    url = urlsplit(str(raw.get("url", "")))
    sends = [i for i, f in enumerate(frames) if f.get("dir") == "send"]
    # Closed by the client of its own accord: after a loss ("closed") the close is only the reaction.
    closing = (
        bool(frames) and frames[-1].get("dir") == "close" and all(f.get("dir") != "closed" for f in frames)
    )
    cut = sends[-1] if closing and sends else len(frames)
    received = [(i, _frame_data(f)) for i, f in enumerate(frames) if f.get("dir") == "recv"]
    data = {
        "url": f"{url.scheme}://{url.netloc.lower()}{url.path}",
        "query": parse_qs(url.query, keep_blank_values=True),
        "error": raw.get("error"),
        "sent": [_frame_data(frames[i]) for i in sends],
        "received": [f for i, f in received if i < cut],
        # A lost connection: when it was lost counts, the library's wording of why does not.
        "lost": [f.get("at") for f in frames if f.get("dir") == "closed"],
        "closed by the client": closing,
    }
    return data, [f for i, f in received if i > cut]


def compare_frames(committed: Path, rerecorded: Path, name: Optional[str] = None) -> List[Difference]:
    """Every structural difference between two WebSocket frames files (empty: they match)."""
    from .harness import load_cassette_file

    name = name or committed.name
    a, b = load_cassette_file(committed), load_cassette_file(rerecorded)
    found: List[Difference] = []
    for key in ("recorded_at", "version"):
        if not _same(a.get(key), b.get(key)):
            found.append(Difference(name, None, key, _show(a.get(key, _ABSENT)), _show(b.get(key, _ABSENT))))
    ca, cb = a.get("connections") or [], b.get("connections") or []
    if len(ca) != len(cb):
        found.append(
            Difference(name, None, "connections", f"{len(ca)} connections", f"{len(cb)} connections")
        )
    for index, (x, y) in enumerate(zip(ca, cb)):
        (data_x, tail_x), (data_y, tail_y) = _connection(x), _connection(y)
        common = min(len(tail_x), len(tail_y))
        data_x["received while closing"], data_y["received while closing"] = tail_x[:common], tail_y[:common]
        for field, old, new in _diff(data_x, data_y, f"connections[{index}]"):
            found.append(Difference(name, None, field, _show(old), _show(new)))
    return found


def compare_cassette(committed: Path, rerecorded: Path, name: Optional[str] = None) -> List[Difference]:
    """Every structural difference between two cassette files (empty: they match); WebSocket frames
    files (``*.ws.yaml``) are compared with :func:`compare_frames`."""
    from .harness import load_cassette_file  # imports vcrpy and PyYAML: only when comparing

    name = name or committed.name
    if committed.name.endswith(".ws.yaml"):
        return compare_frames(committed, rerecorded, name)
    a, b = load_cassette_file(committed), load_cassette_file(rerecorded)
    found: List[Difference] = []
    for key in ("recorded_at", "version"):
        if not _same(a.get(key), b.get(key)):
            found.append(Difference(name, None, key, _show(a.get(key, _ABSENT)), _show(b.get(key, _ABSENT))))
    ia, ib = a.get("interactions") or [], b.get("interactions") or []
    if len(ia) != len(ib):
        found.append(
            Difference(name, None, "interactions", f"{len(ia)} interactions", f"{len(ib)} interactions")
        )
    for index, (x, y) in enumerate(zip(ia, ib)):
        for field, old, new in _diff(_interaction(x), _interaction(y), ""):
            found.append(Difference(name, index, field, _show(old), _show(new)))
    return found


def _cassettes(root: Path) -> Dict[str, Path]:
    if not root.is_dir():
        return {}
    from .harness import cassette_files  # imports vcrpy and PyYAML: only when comparing

    return {p.relative_to(root).as_posix(): p for p in cassette_files(root)}


def compare_dirs(committed: Path, rerecorded: Path, *, partial: bool = False) -> List[Difference]:
    """Compare every cassette under ``committed`` with its namesake under ``rerecorded``.

    ``partial``: only some tests were re-recorded, so a committed cassette that has no re-recorded
    namesake is not a difference.
    """
    old, new = _cassettes(Path(committed)), _cassettes(Path(rerecorded))
    found: List[Difference] = []
    for name in sorted(set(old) | set(new)):
        if name not in new and partial:
            continue
        if name not in new:
            found.append(Difference(name, None, "cassette", "present", _NO_LONGER_RECORDED))
        elif name not in old:
            found.append(Difference(name, None, "cassette", _NEVER_COMMITTED, "present"))
        else:
            found.extend(compare_cassette(old[name], new[name], name))
    return found


# The re-recording sets mode and directory itself.
_MODE_VARIABLES = ("INTEGRATIONS_RECORD_MODE", "INTEGRATIONS_RECORD_AGAINST", "INTEGRATIONS_CASSETTE_DIR")


def rerecord(
    reference: Path, into: Path, pytest_args: Sequence[str] = (), cwd: Optional[Path] = None
) -> subprocess.CompletedProcess[str]:
    """Run pytest in ``rewrite`` mode: every ``integrations_session`` test records into ``into``, each
    cassette at the instant of its namesake under ``reference``."""
    env = {k: v for k, v in os.environ.items() if k not in _MODE_VARIABLES}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--integrations-only",
        "--integrations-record-mode=rewrite",
        "--integrations-record-against=sandbox",
        f"--integrations-cassette-dir={Path(into).resolve()}",
        f"--integrations-reference-dir={Path(reference).resolve()}",
        *pytest_args,
    ]
    # The command is this interpreter running pytest with the caller's own arguments.
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603


def verify(
    cassette_dir: Path,
    pytest_args: Sequence[str] = (),
    *,
    keep: Optional[Path] = None,
    cwd: Optional[Path] = None,
    write: Callable[[str], None] = print,
) -> int:
    """Re-record and compare. Returns 0 when every cassette matches, 1 on a difference or a failed
    re-recording, 2 when there is nothing to verify.

    With no ``pytest_args`` every test runs, and a committed cassette that no test records any more is
    a difference; with ``pytest_args`` only the cassettes those tests record are compared.
    """
    committed = Path(cassette_dir)
    if not committed.is_dir():
        write(f"no cassette directory at {committed}")
        return 2
    if keep and Path(keep).exists() and any(Path(keep).iterdir()):
        write(f"--keep {keep}: the directory is not empty; give a new or empty one")
        return 2
    into = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="integrations-rerecord-"))
    try:
        result = rerecord(committed, into, pytest_args, cwd)
        if result.returncode == 5:
            write("no test uses the integrations_session fixture; nothing to re-record")
            return 2
        if result.returncode != 0:
            write(result.stdout + result.stderr)
            write("re-recording failed: the tests above do not pass against the sandbox")
            return 1
        # With a selection of tests, a cassette no selected test records can't be judged.
        partial = bool(pytest_args)
        differences = compare_dirs(committed, into, partial=partial)
        for difference in differences:
            write(str(difference))
        count = len(_cassettes(into))
        if partial:
            write(f"tests selected by {' '.join(pytest_args)}: other committed cassettes were not checked")
        if differences:
            files = len({d.path for d in differences})
            write(f"{len(differences)} difference(s) in {files} cassette(s); {count} re-recorded")
            return 1
        write(f"{count} cassette(s) re-recorded against the sandbox: identical to {committed}")
        return 0
    finally:
        if not keep:
            shutil.rmtree(into, ignore_errors=True)
