"""FileTokenStore and RedisTokenStore: round trip, permissions, corrupt content, atomic writes under
concurrent writers, the lock and its timeout. The Redis tests run against a real redis-server."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, List

import pytest

from integrations import Token
from integrations.stores import FileTokenStore, RedisTokenStore, redis_key, token_from_json, token_to_json

pytest.importorskip("filelock")


def full_token(n: int = 1) -> Token:
    return Token(
        access=f"access-{n}",
        expires_at=1_700_000_000.5 + n,
        refresh=f"refresh-{n}",
        refresh_expires_at=1_800_000_000.0,
        issued_at=1_699_999_000.25,
        refreshable=True,
        claims={"portfolios": ["D1", "D2"], "n": n},
    )


def same_fields(a: Token, b: Token) -> bool:
    return token_to_json(a) == token_to_json(b)


# -- JSON ----------------------------------------------------------------------------------------


def test_json_round_trip_keeps_every_field():
    token = full_token()
    back = token_from_json(token_to_json(token))
    assert back is not None
    assert (back.access, back.expires_at, back.refresh, back.refresh_expires_at) == (
        "access-1",
        1_700_000_001.5,
        "refresh-1",
        1_800_000_000.0,
    )
    assert back.issued_at == 1_699_999_000.25 and back.refreshable is True
    assert dict(back.claims) == {"portfolios": ["D1", "D2"], "n": 1}
    admin = token_from_json(token_to_json(Token(access="admin", refreshable=False)))
    assert admin is not None and admin.refreshable is False and admin.expires_at is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        '{"access": ""}',
        '{"refresh": "r"}',
        '{"access": "a", "expires_at": "soon"}',
        '{"access": "a", "claims": []}',
        b"\xff\xfe",
    ],
)
def test_unreadable_content_is_no_token(text: Any):
    assert token_from_json(text) is None


# -- FileTokenStore ------------------------------------------------------------------------------


def test_file_round_trip_and_missing_file(tmp_path: Path):
    store = FileTokenStore(tmp_path / "sub" / "td.json")
    assert store.load() is None  # missing file (and missing directory)
    store.save(full_token(1))
    loaded = store.load()
    assert loaded is not None and same_fields(loaded, full_token(1))
    store.save(full_token(2))
    loaded = store.load()
    assert loaded is not None and loaded.access == "access-2"
    assert json.loads((tmp_path / "sub" / "td.json").read_text())["refresh"] == "refresh-2"
    # No temporary file is left behind.
    assert sorted(p.name for p in (tmp_path / "sub").iterdir() if not p.name.endswith(".lock")) == ["td.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_file_is_private(tmp_path: Path):
    path = tmp_path / "td.json"
    old = os.umask(0o022)
    try:
        FileTokenStore(path).save(full_token())
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_corrupt_file_reads_as_no_token(tmp_path: Path):
    path = tmp_path / "td.json"
    path.write_text('{"access": "trunc')
    store = FileTokenStore(path)
    assert store.load() is None
    store.save(full_token())  # and the next save repairs it
    assert store.load() is not None


def test_repr_shows_no_secret(tmp_path: Path):
    store = FileTokenStore(tmp_path / "td.json")
    store.save(full_token())
    assert "access-1" not in repr(store) and "refresh-1" not in repr(store)


def test_concurrent_writers_never_leave_a_torn_file(tmp_path: Path):
    path = tmp_path / "td.json"
    FileTokenStore(path).save(full_token(0))
    stop = threading.Event()
    torn: List[str] = []

    def write(worker: int) -> None:
        store = FileTokenStore(path)
        for i in range(150):
            store.save(Token(access=f"w{worker}-{i}-" + "x" * 20000, refresh=f"r{worker}-{i}"))

    def read() -> None:
        store = FileTokenStore(path)
        while not stop.is_set():
            if store.load() is None:
                torn.append("read no token while writers were replacing it")

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in writers:
        t.start()
    # And one more writer in another process, through the same path.
    script = textwrap.dedent(
        f"""
        from integrations import Token
        from integrations.stores import FileTokenStore
        store = FileTokenStore({str(path)!r})
        for i in range(150):
            store.save(Token(access="p-%d-" % i + "y" * 20000, refresh="rp-%d" % i))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    assert torn == []
    assert FileTokenStore(path).load() is not None


def test_file_lock_excludes_other_holders_and_times_out(tmp_path: Path):
    path = tmp_path / "td.json"
    holder, waiter = FileTokenStore(path), FileTokenStore(path)
    with holder.lock(1), pytest.raises(TimeoutError), waiter.lock(0.2):
        pass  # pragma: no cover
    with waiter.lock(0.2):  # free again once released
        pass


def test_file_lock_is_held_across_processes(tmp_path: Path):
    path = tmp_path / "td.json"
    script = textwrap.dedent(
        f"""
        import sys, time
        from integrations.stores import FileTokenStore
        with FileTokenStore({str(path)!r}).lock(5):
            print("held", flush=True)
            sys.stdin.readline()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(TimeoutError), FileTokenStore(path).lock(0.2):
            pass  # pragma: no cover
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.close()
        child.wait(timeout=10)
    with FileTokenStore(path).lock(2):
        pass


def test_stores_import_their_libraries_lazily():
    script = (
        "import sys, integrations, integrations.stores; "
        "assert 'redis' not in sys.modules and 'filelock' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


# -- RedisTokenStore -----------------------------------------------------------------------------


def test_redis_key_is_per_provider_and_account():
    assert redis_key("tradingdesk", "ops@example.com") == "integrations:token:tradingdesk:ops@example.com"
    with pytest.raises(ValueError, match="account"):
        redis_key("tradingdesk", "")
    with pytest.raises(ValueError, match="key="):
        RedisTokenStore("redis://127.0.0.1:1/0")  # neither key= nor provider= and account=


def test_redis_round_trip(redis_client: Any, redis_url: str):
    store = RedisTokenStore(redis_client, provider="tradingdesk", account="42")
    assert store.key == "integrations:token:tradingdesk:42"
    assert store.load() is None
    store.save(full_token(1))
    other = RedisTokenStore(redis_url, key="integrations:token:tradingdesk:42")  # from a URL
    loaded = other.load()
    assert loaded is not None and same_fields(loaded, full_token(1))
    assert json.loads(redis_client.get(store.key))["access"] == "access-1"
    # Another account's key is another token.
    assert RedisTokenStore(redis_client, provider="tradingdesk", account="43").load() is None
    assert "access-1" not in repr(store)


def test_redis_corrupt_value_reads_as_no_token(redis_client: Any):
    store = RedisTokenStore(redis_client, key="integrations:token:tradingdesk:bad")
    redis_client.set(store.key, b"\x00not json")
    assert store.load() is None


def test_redis_lock_excludes_other_holders_and_times_out(redis_client: Any, redis_url: str):
    key = "integrations:token:tradingdesk:locked"
    holder, waiter = RedisTokenStore(redis_client, key=key), RedisTokenStore(redis_url, key=key)
    with holder.lock(1):
        assert redis_client.exists(f"{key}:lock")
        with pytest.raises(TimeoutError), waiter.lock(0.2):
            pass  # pragma: no cover
    assert not redis_client.exists(f"{key}:lock")
    with waiter.lock(0.2):
        pass


def test_redis_lock_lease_frees_a_dead_holders_lock(redis_client: Any):
    key = "integrations:token:tradingdesk:lease"
    dead = RedisTokenStore(redis_client, key=key, lock_lease=0.3)
    held = dead.lock(1)
    held.__enter__()  # never released: its holder "died"
    with RedisTokenStore(redis_client, key=key).lock(3):
        pass
