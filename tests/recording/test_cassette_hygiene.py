"""The committed cassettes hold only canonical hosts and no secret."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml

from integrations.recording.redact import FAKE_SIGNATURE
from integrations_alor.sandbox import AlorEmulator

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
CANONICAL = {"alor": {"oauthdev.alor.ru", "apidev.alor.ru"}, "tradingdesk": {"tdm4.adcloud.org"}}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]*)")


def _cassettes(provider: str):
    return sorted((CASSETTES / provider).rglob("*.yaml"))


def test_alor_cassettes_exist():
    assert len(_cassettes("alor")) >= 8


@pytest.mark.parametrize("provider", sorted(CANONICAL))
def test_cassettes_name_only_canonical_hosts(provider):
    for path in _cassettes(provider):
        text = path.read_text()
        assert "127.0.0.1" not in text and "localhost" not in text, path
        data = yaml.safe_load(text)
        assert isinstance(data["recorded_at"], float), path
        for interaction in data.get("interactions", []):
            uri = interaction["request"]["uri"]
            assert uri.startswith("https://"), (path, uri)
            assert uri.split("/")[2] in CANONICAL[provider], (path, uri)
        for connection in data.get("connections", []):  # a WebSocket frames file (*.ws.yaml)
            url = connection["url"]
            assert url.startswith("wss://"), (path, url)
            assert url.split("/")[2] in CANONICAL[provider], (path, url)


def test_alor_cassettes_hold_no_secret():
    # The sandbox is deterministic: seed 0 issues the same refresh token, signing key and login.
    emulator = AlorEmulator(seed=0)
    refresh_token = emulator.credentials()["refresh_token"]
    for path in _cassettes("alor"):
        text = path.read_text()
        assert refresh_token not in text, path
        assert "P039004" not in text, path  # the login (sub) is replaced in every JWT
        for match in JWT.finditer(text):
            assert match.group(1) == FAKE_SIGNATURE, (path, "a JWT with a real signature")
        data = yaml.safe_load(text)
        for interaction in data.get("interactions", []):
            for value in interaction["request"]["headers"].get("Authorization", []):
                assert JWT.fullmatch(value.split(" ", 1)[1]), (path, "Authorization is not a fake JWT")
        for connection in data.get("connections", []):  # the token in every sent frame: a fake JWT
            for frame in connection["frames"]:
                if frame["dir"] == "send":
                    token = json.loads(frame["text"]).get("token")
                    assert token is None or JWT.fullmatch(token), (path, "a frame's token is not a fake JWT")


def test_redacted_jwts_keep_what_replay_needs():
    path = CASSETTES / "alor" / "test_alor_replay" / "test_account_claims_come_from_the_jwt.yaml"
    text = path.read_text()
    token = JWT.search(text).group(0)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert isinstance(claims["exp"], int)
    assert claims["portfolios"].split()[0] == "D39004"
    assert claims["sub"] == claims["clientid"] == "REDACTED"
