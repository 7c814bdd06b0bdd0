"""Replay: network blocked, frozen clock, indexed lookup, and useful errors on a miss."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

import integrations
from integrations import ConfigurationError
from integrations.recording import NetworkBlocked, network_blocked, read_recorded_at, recorded_session

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
BOOK = CASSETTES / "alor" / "test_alor_replay" / "test_orderbook_is_the_same_model_in_every_wire_format.yaml"


def test_unmatched_request_names_the_closest_recording_and_the_field():
    with recorded_session("alor", BOOK) as s:
        s.client.orderbook("MOEX", "SBER", depth=10, format="Simple")
        with pytest.raises(CannotOverwriteExistingCassetteException) as info:
            s.client.orderbook("MOEX", "SBER", depth=7, format="Slim")
    message = str(info.value)
    assert "https://apidev.alor.ru/md/v2/orderbooks/MOEX/SBER" in message
    assert "query differs" in message
    assert "'depth', '7'" in message


def test_replay_freezes_the_clock_at_the_recording_instant():
    with recorded_session("alor", BOOK) as s:
        assert not s.recording and s.sandbox is None
        assert s.clock.now() == read_recorded_at(BOOK)


def test_replay_blocks_the_network():
    with recorded_session("alor", BOOK), pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_network_block_is_lifted_afterwards():
    with network_blocked():
        pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        socket.create_connection(s.getsockname(), timeout=1).close()


def test_missing_cassette_says_how_to_record(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="integrations-record-mode=once"),
        recorded_session("alor", tmp_path / "missing.yaml"),
    ):
        pass


def test_a_failed_rewrite_keeps_the_old_cassette(tmp_path):
    cassette = tmp_path / "book.yaml"
    cassette.write_bytes(BOOK.read_bytes())

    def failing_test() -> None:
        with recorded_session("alor", cassette, mode="rewrite") as s:
            assert s.recording
            s.client.orderbook("MOEX", "SBER", depth=1)
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError, match="the test failed"):
        failing_test()

    assert cassette.read_bytes() == BOOK.read_bytes()


def test_a_rewrite_that_cannot_start_keeps_the_old_cassette(tmp_path, monkeypatch):
    cassette = tmp_path / "book.yaml"
    cassette.write_bytes(BOOK.read_bytes())
    monkeypatch.delenv("INTEGRATIONS_ALOR_REFRESH_TOKEN", raising=False)

    with (
        pytest.raises(ConfigurationError, match="INTEGRATIONS_ALOR_REFRESH_TOKEN"),
        recorded_session("alor", cassette, mode="rewrite", against="contour"),
    ):
        pass  # pragma: no cover

    assert cassette.read_bytes() == BOOK.read_bytes()


def test_a_completed_rewrite_replaces_the_cassette(tmp_path):
    cassette = tmp_path / "book.yaml"
    cassette.write_bytes(BOOK.read_bytes())

    with recorded_session("alor", cassette, mode="rewrite") as s:
        s.client.orderbook("MOEX", "GAZP", depth=1)

    text = cassette.read_text(encoding="utf-8")
    assert "/orderbooks/MOEX/GAZP" in text and "/orderbooks/MOEX/SBER" not in text


def test_a_session_that_sends_nothing_records_an_empty_cassette_that_replays(tmp_path, no_requests):
    # A test that only checks validation sends nothing: recording it still writes a cassette (with
    # its instant and no interaction), so its replay finds one instead of FileNotFoundError.
    cassette = tmp_path / "validation-only.yaml"
    with recorded_session("alor", cassette, mode="rewrite") as s:
        with pytest.raises(integrations.ValidationError):
            s.client.orderbook("MOEX", "SBER", depth=0)
        recorded_at = s.clock.now()
    assert cassette.exists()
    with recorded_session("alor", cassette) as s:
        assert s.recording is False and s.clock.now() == recorded_at
        with pytest.raises(integrations.ValidationError):
            s.client.orderbook("MOEX", "SBER", depth=0)
    assert no_requests == []
