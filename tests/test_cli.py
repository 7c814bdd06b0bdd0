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
