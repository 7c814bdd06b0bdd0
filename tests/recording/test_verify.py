"""``integrations cassettes verify``: re-recording against the sandbox reproduces the committed
cassettes, and a hand edit is caught, named by file, interaction and field.

Edits are made at run time to copies in a temporary directory; committed cassettes are never touched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from integrations.cli import main
from integrations.recording.verify import Difference, compare_cassette, compare_dirs

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
BOOK = "alor/test_alor_replay/test_orderbook_depth_bounds_are_served.yaml"
RPC = "tradingdesk/test_tradingdesk_replay/test_user_info.yaml"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "cassettes"
    shutil.copytree(CASSETTES, target)
    return target


def _edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")


def test_identical_directories_have_no_differences(copy):
    assert compare_dirs(CASSETTES, copy) == []


def test_a_changed_price_is_named_by_file_interaction_and_field(copy):
    _edit_text(copy / BOOK, '"bids":[{"price":164.96', '"bids":[{"price":165.0')

    assert compare_dirs(CASSETTES, copy) == [
        Difference(BOOK, 1, "response.body.bids[0].price", "164.96", "165.0")
    ]


def test_a_removed_interaction_is_reported(copy):
    _edit_yaml(copy / BOOK, lambda data: data["interactions"].pop())

    found = compare_cassette(CASSETTES / BOOK, copy / BOOK, BOOK)

    assert [(d.interaction, d.field, d.committed, d.rerecorded) for d in found] == [
        (None, "interactions", "3 interactions", "2 interactions")
    ]


def test_rpc_request_params_and_result_fields_are_compared(copy):
    def change(data):
        data["interactions"][1]["request"]["body"] = data["interactions"][1]["request"]["body"].replace(
            '"params":{}', '"params":{"verbose":true}'
        )

    _edit_yaml(copy / RPC, change)

    fields = [(d.interaction, d.field) for d in compare_dirs(CASSETTES, copy)]
    assert fields == [(1, "request.body.params.verbose")]


def test_transport_details_and_json_formatting_are_not_differences(copy):
    def change(data):
        first = data["interactions"][1]
        request_headers = first["request"]["headers"]
        request_headers["Accept-Encoding"] = ["gzip, deflate, br, zstd"]  # depends on installed codecs
        request_headers["user-agent"] = request_headers.pop("User-Agent")  # header names are case-blind
        response = first["response"]
        body = json.loads(response["body"]["string"])  # the same data, formatted differently
        response["body"]["string"] = json.dumps(body, indent=2, sort_keys=True)
        response["headers"]["Content-Length"] = [str(len(response["body"]["string"]))]

    _edit_yaml(copy / BOOK, change)

    assert compare_dirs(CASSETTES, copy) == []


def test_a_missing_or_extra_cassette_is_reported_unless_the_run_was_partial(copy):
    (copy / BOOK).unlink()
    shutil.copy(CASSETTES / RPC, copy / "tradingdesk" / "extra.yaml")

    found = compare_dirs(CASSETTES, copy)

    assert [(d.path, d.field, d.committed, d.rerecorded) for d in found] == [
        (BOOK, "cassette", "present", "absent (no test records it any more)"),
        ("tradingdesk/extra.yaml", "cassette", "absent (never committed)", "present"),
    ]
    assert [d.path for d in compare_dirs(CASSETTES, copy, partial=True)] == ["tradingdesk/extra.yaml"]


# Re-records against live sandboxes (WebSocket sessions included): real sockets and real waits,
# which libfaketime stalls; it replays nothing.
@pytest.mark.realtime
def test_verify_fails_on_a_hand_edited_cassette_and_names_the_edit(copy, monkeypatch, capsys):
    """End to end: re-record every cassette against the sandbox (each at its own recording instant)
    and compare with a copy of the committed cassettes in which one price was edited by hand."""
    _edit_text(copy / BOOK, '"bids":[{"price":164.96', '"bids":[{"price":165.0')
    monkeypatch.chdir(ROOT)

    code = main(["cassettes", "verify", "--cassette-dir", str(copy)])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    # Exactly the edit differs: every other interaction of all 20 cassettes was reproduced.
    assert out == [
        f"{BOOK}: interaction 1: response.body.bids[0].price: committed 165.0, re-recorded 164.96",
        f"1 difference(s) in 1 cassette(s); {len(list(CASSETTES.rglob('*.yaml')))} re-recorded",
    ]


# Re-records against live sandboxes (WebSocket sessions included): real sockets and real waits,
# which libfaketime stalls; it replays nothing.
@pytest.mark.realtime
def test_verify_reports_a_test_that_no_longer_passes_against_the_sandbox(tmp_path, monkeypatch, capsys):
    tests = tmp_path / "test_broken.py"
    tests.write_text(
        "def test_book(integrations_session):\n"
        "    with integrations_session('alor') as s:\n"
        "        assert s.client.orderbook('MOEX', 'SBER').bids == []\n"
    )
    monkeypatch.chdir(ROOT)

    code = main(["cassettes", "verify", "--cassette-dir", str(tmp_path), "--", str(tests)])

    out = capsys.readouterr().out
    assert code == 1
    assert "re-recording failed" in out and "test_book" in out


def test_verify_without_a_cassette_directory_is_a_usage_error(tmp_path, capsys):
    assert main(["cassettes", "verify", "--cassette-dir", str(tmp_path / "nowhere")]) == 2
    assert "no cassette directory" in capsys.readouterr().out


def test_keep_never_overwrites_a_directory_with_files(copy, capsys):
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))

    assert main(["cassettes", "verify", "--cassette-dir", str(CASSETTES), "--keep", str(copy)]) == 2

    assert "not empty" in capsys.readouterr().out
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == before
