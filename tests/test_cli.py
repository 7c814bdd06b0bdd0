"""The ``integrations`` command."""

from __future__ import annotations

import re
import subprocess
import sys

from integrations.cli import main


def test_demo_runs_offline_against_the_sandbox(capsys):
    assert main(["demo", "alor"]) == 0
    out = capsys.readouterr().out
    assert "MOEX:SBER order book (top 5)" in out
    rows = [line for line in out.splitlines() if re.match(r"^\s+\d+\s+\d+\.\d+ \| \d+\.\d+\s+\d+$", line)]
    assert len(rows) == 5
    assert re.search(r"market buy 1 lot SBER: order number \d+", out)
    assert re.search(r"cancel order \d+: success", out)


def test_unknown_demo_provider_fails_cleanly(capsys):
    assert main(["demo", "nope"]) == 2
    assert "unknown provider 'nope'" in capsys.readouterr().err


def test_sandbox_command_prints_urls_and_credentials():
    out = subprocess.run(
        [sys.executable, "-m", "integrations", "sandbox", "alor", "--seconds", "0.2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert re.search(r"base_urls\['api'\] = http://127\.0\.0\.1:\d+/api", out)
    assert re.search(r"base_urls\['oauth'\] = http://127\.0\.0\.1:\d+/oauth", out)
    assert "credentials['refresh_token'] = " in out


def test_cassette_commands_name_the_extra_when_the_harness_is_missing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    assert main(["cassettes", "check", "cassettes"]) == 2
    assert main(["cassettes", "verify"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "integrations cassettes check needs PyYAML, which is not installed: pip install 'trading-integrations[recording]'",
        "integrations cassettes verify needs PyYAML, which is not installed: pip install 'trading-integrations[recording]'",
    ]
