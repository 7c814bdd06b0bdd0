"""A real redis-server for the token store tests, on a free loopback port, stopped after the session.

Without ``redis-server`` on PATH the Redis tests skip, saying how to install it, except in CI
(``CI`` or ``INTEGRATIONS_REQUIRE_REDIS`` set, as ``.ci/run`` does), where a missing server fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import Iterator

import pytest

_PRELOAD_VARIABLES = ("LD_PRELOAD", "DYLD_INSERT_LIBRARIES", "DYLD_FORCE_FLAT_NAMESPACE")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("INTEGRATIONS_REQUIRE_REDIS"))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a redis-server started for this session."""
    executable = shutil.which("redis-server")
    if executable is None:
        message = (
            "redis-server is not on PATH: install it (Debian/Ubuntu: `apt-get install redis-server`, "
            "macOS: `brew install redis`) to run the Redis token store tests"
        )
        if _required():
            pytest.fail(f"{message}; CI requires it (CI / INTEGRATIONS_REQUIRE_REDIS is set)")
        pytest.skip(message)
    pytest.importorskip("redis", reason='the Redis store needs redis-py: pip install -e ".[test]"')
    # Under faketime (CI's "+5y" run) libfaketime is preloaded; redis-server's allocator and it do not
    # mix (redis-server exits at start), and the server needs no shifted clock: leave it out.
    env = {
        k: v for k, v in os.environ.items() if k not in _PRELOAD_VARIABLES and not k.startswith("FAKETIME")
    }
    for _attempt in range(3):  # the free port may be taken between choosing and binding it
        port = _free_port()
        process = subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None and not _ping(port):
            time.sleep(0.05)
        if process.poll() is None and _ping(port):
            break
        process.kill()
        process.wait()
    else:
        pytest.fail("redis-server did not start answering PING on a loopback port")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[object]:
    """A client of the session's redis-server, the database emptied before each test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()
