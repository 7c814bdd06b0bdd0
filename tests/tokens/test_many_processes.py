"""Issue 11's "done when": 8 processes sharing a FileTokenStore, and 8 sharing only a RedisTokenStore
on a real redis-server, call one live Trading Desk sandbox every 0.2 s for 10 s while its access token
lives 2 s: no failure, exactly one User.auth, and one refresh per renewal period (plus one at most).

Each process is a fresh interpreter (``subprocess``, like ``spawn``): nothing is shared but the store.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest

from integrations import sandbox

pytestmark = pytest.mark.realtime

PROCESSES = 8
DURATION = 10.0
INTERVAL = 0.2
ACCESS_TTL = 2.0
WORKER = Path(__file__).with_name("_td_worker.py")


def run_processes(store: Dict[str, Any], directory: Path) -> None:
    # Expiries in epoch milliseconds: whole epoch seconds would cut the 2 s lifetime to anything from
    # 1 to 2 s, and the renewal period with it.
    with sandbox.running("tradingdesk", access_token_ttl=ACCESS_TTL, expiry_format="epoch_ms") as sb:
        start_at = time.time() + 2.0  # time for every interpreter to start and import
        settings = {
            "base_urls": sb.base_urls,
            "credentials": sb.credentials,
            "store": store,
            "start_at": start_at,
            "duration": DURATION,
            "interval": INTERVAL,
        }
        settings_file = directory / "worker-settings.json"
        settings_file.write_text(json.dumps(settings))
        children = [
            subprocess.Popen(
                [sys.executable, str(WORKER), str(settings_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        results: List[Dict[str, Any]] = []
        try:
            for child in children:
                out, err = child.communicate(timeout=DURATION + 30)
                assert child.returncode == 0, err[-3000:]
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        elapsed = time.time() - start_at
        auths, refreshes = sb.emulator.auth_count, sb.emulator.refresh_count

    failures = [f for r in results for f in r["failures"]]
    assert failures == [], failures[:5]
    assert sum(r["calls"] for r in results) >= PROCESSES * DURATION / INTERVAL * 0.8
    assert auths == 1, f"{auths} User.auth calls across {PROCESSES} processes"
    # At most one refresh per expiry of the access token during the calls, plus one.
    expiries = math.ceil(DURATION / ACCESS_TTL)
    print(f"{auths} User.auth, {refreshes} refreshes in {elapsed:.1f} s ({expiries} expiries)")
    assert 1 <= refreshes <= expiries + 1, f"{refreshes} refreshes in {elapsed:.1f} s ({expiries} expiries)"
    assert sum(r["refreshes"] for r in results) == refreshes  # no refresh was refused
    assert sum(r["authentications"] for r in results) == 1


def test_processes_sharing_a_file_store_renew_once_per_expiry(tmp_path: Path):
    pytest.importorskip("filelock")
    run_processes({"kind": "file", "path": str(tmp_path / "tradingdesk.json")}, tmp_path)


def test_processes_sharing_a_redis_store_renew_once_per_expiry(redis_url: str, tmp_path: Path):
    run_processes({"kind": "redis", "url": redis_url, "account": f"test-{uuid.uuid4().hex}"}, tmp_path)
