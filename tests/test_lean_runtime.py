"""The runtime is lean (DESIGN.md section 4): ``import integrations``, ``connect()`` and a call load only
what they use, never vcrpy, PyYAML, werkzeug, the recording harness or the sandbox code; and the
pytest plugin, loaded in every pytest run, imports neither vcrpy nor PyYAML until a test uses it.

Each check runs in a fresh interpreter: this test process has loaded everything already."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Dict, Iterator, List

import pytest

# Modules a plain call must never load.
HEAVY = ("vcr", "yaml", "werkzeug", "integrations.recording", "integrations.sandbox")

BOOK = {
    "bids": [{"price": 1.5, "volume": 2}],
    "asks": [{"price": 1.6, "volume": 3}],
    "ms_timestamp": 1700000000000,
    "existing": True,
}


def _b64(data: Dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# An unsigned JWT that expires in 2100: the client decodes its claims, nobody checks a signature.
ACCESS_TOKEN = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'exp': 4102444800, 'sub': 'P000000'})}.c2ln"


class _StubAlor(BaseHTTPRequestHandler):
    """Just enough of ALOR: ``POST /refresh`` and the SBER order book."""

    seen: ClassVar[List[str]] = []

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append(f"POST {self.path}")
        if self.path == "/refresh":
            self._reply(200, {"AccessToken": ACCESS_TOKEN})
        else:
            self._reply(404, {"message": "not found"})

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path}")
        if self.path.split("?")[0] == "/md/v2/orderbooks/MOEX/SBER":
            self._reply(200, BOOK)
        else:
            self._reply(404, {"message": "not found"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def stub_alor() -> Iterator[str]:
    """A stub ALOR on 127.0.0.1; yields its base URL."""
    _StubAlor.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubAlor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _run(code: str, *args: str, cwd: Path) -> Any:
    """Run ``code`` in a fresh interpreter (outside the checkout) and decode the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, cwd=str(cwd)
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


CALL = """
import json, sys
import integrations

base = sys.argv[1]
with integrations.connect("alor", base_urls={"oauth": base, "api": base},
                          credentials={"refresh_token": "x"}) as client:
    book = client.orderbook("MOEX", "SBER", depth=1)
heavy = sys.argv[2].split(",")
print(json.dumps({
    "bid": str(book.best_bid.price), "ask": str(book.best_ask.price),
    "loaded": sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy),
}))
"""


def test_a_call_loads_no_recording_sandbox_or_werkzeug(stub_alor: str, tmp_path: Path) -> None:
    result = _run(CALL, stub_alor, ",".join(HEAVY), cwd=tmp_path)
    assert (result["bid"], result["ask"]) == ("1.5", "1.6")
    assert _StubAlor.seen[0] == "POST /refresh"
    assert _StubAlor.seen[1].startswith("GET /md/v2/orderbooks/MOEX/SBER?")
    assert result["loaded"] == [], f"a plain call loaded {result['loaded']}"


PLUGIN = """
import json, sys
import integrations.recording.pytest_plugin
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("vcr", "yaml"))))
"""


def test_the_pytest_plugin_imports_neither_vcrpy_nor_pyyaml(tmp_path: Path) -> None:
    assert _run(PLUGIN, cwd=tmp_path) == []


# A throwaway suite run by a pytest of its own: the conftest reports what got imported, or hides
# vcrpy as if the recording extra were not installed.
REPORT = """
import sys

def pytest_sessionfinish(session):
    plugin = "integrations.recording.pytest_plugin" in sys.modules
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("vcr", "yaml"))
    sys.stdout.write(f"PLUGIN={plugin} HEAVY={','.join(heavy)}\\n")
"""

NO_VCRPY = """
import sys

sys.modules["vcr"] = None  # as if vcrpy were not installed: importing it raises ImportError
"""

TESTS = """
def test_unrelated():
    pass
"""

USES_FIXTURE = """
def test_book(integrations_session):
    with integrations_session("alor") as s:
        s.client.orderbook("MOEX", "SBER")
"""


def _pytest(tmp_path: Path, conftest: str, tests: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_throwaway.py").write_text(tests)
    # Our plugin must load as it does anywhere (autoloaded through its entry point), on options of
    # our own. -p no:recording: pytest-recording, when installed, may import vcrpy; that is not ours.
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:recording",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            *args,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(tmp_path),
        env=env,
    )


def test_a_pytest_run_that_does_not_record_imports_neither(tmp_path: Path) -> None:
    done = _pytest(tmp_path, REPORT, TESTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PLUGIN=True HEAVY=\n" in done.stdout, done.stdout


def test_without_the_recording_extra_the_fixture_names_the_install_command(tmp_path: Path) -> None:
    done = _pytest(tmp_path, NO_VCRPY, TESTS + USES_FIXTURE)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed, 1 error" in done.stdout, done.stdout
    assert "the integrations_session fixture needs vcrpy" in done.stdout, done.stdout
    assert "pip install 'trading-integrations[recording]'" in done.stdout, done.stdout


def test_without_the_recording_extra_a_recording_option_is_a_usage_error(tmp_path: Path) -> None:
    done = _pytest(tmp_path, NO_VCRPY, TESTS, "--integrations-record-mode=rewrite")
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert "--integrations-record-mode needs vcrpy" in done.stderr, done.stderr
    assert "pip install 'trading-integrations[recording]'" in done.stderr, done.stderr
