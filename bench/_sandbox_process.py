"""Run a provider sandbox in a child process (so it does not share the GIL with the measured client)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict, Tuple

_CHILD = """
import json, sys, threading
from integrations import sandbox
sb = sandbox.start(sys.argv[1])
print(json.dumps({"base_urls": sb.base_urls, "credentials": sb.credentials}), flush=True)
sys.stdin.read()  # run until the parent closes our stdin
sb.stop()
"""


def start(provider: str) -> Tuple[subprocess.Popen, Dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, provider], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info


def stop(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)
