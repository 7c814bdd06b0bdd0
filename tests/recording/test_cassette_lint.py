"""``integrations cassettes check`` finds planted secrets and passes on the committed cassettes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from werkzeug.test import Client

from integrations.cli import main
from integrations_alor.sandbox import AlorEmulator

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
SOURCE = CASSETTES / "alor" / "test_alor_replay" / "test_market_and_limit_orders_then_cancel.yaml"


def _real_jwt() -> str:
    emulator = AlorEmulator(seed=7)
    oauth = Client(emulator.wsgi_apps()["oauth"])
    return oauth.post("/refresh", json={"token": emulator.credentials()["refresh_token"]}).get_json()[
        "AccessToken"
    ]


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A copy of a recorded cassette with a real JWT and a password planted in it."""
    data = yaml.safe_load(SOURCE.read_text())
    data["interactions"][1]["request"]["headers"]["Authorization"] = [f"Bearer {_real_jwt()}"]
    body = json.loads(data["interactions"][1]["request"]["body"])
    body["user"]["password"] = "hunter2-correct-horse"
    data["interactions"][1]["request"]["body"] = json.dumps(body)
    target = tmp_path / "planted.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def test_planted_jwt_and_password_are_found(planted, capsys):
    assert main(["cassettes", "check", str(planted)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{planted}: interaction 1: request.headers.Authorization: a JWT with a real-looking signature" in out
    )
    assert "a Bearer value that is not a placeholder" in out
    assert (
        f"{planted}: interaction 1: request.body.user.password: password value that is not a placeholder"
        in out
    )
    assert "hunter2" not in out  # findings never print the secret


def test_secret_given_on_the_command_line_or_environment(planted, capsys, monkeypatch):
    assert main(["cassettes", "check", str(SOURCE), "--secret", "18996296606"]) == 1
    assert "a value given as secret" in capsys.readouterr().out
    monkeypatch.setenv("MY_PORTFOLIO", "D39004")
    assert main(["cassettes", "check", str(SOURCE), "--secret-env", "MY_PORTFOLIO"]) == 1
    monkeypatch.setenv("INTEGRATIONS_CASSETTE_SECRETS", "GAZP\nnot-present-anywhere")
    assert main(["cassettes", "check", str(SOURCE)]) == 0
    monkeypatch.setenv("INTEGRATIONS_CASSETTE_SECRETS", "SBER")
    assert main(["cassettes", "check", str(SOURCE)]) == 1


def test_committed_cassettes_pass(capsys):
    assert main(["cassettes", "check", str(CASSETTES)]) == 0
    assert "no secrets found" in capsys.readouterr().out
