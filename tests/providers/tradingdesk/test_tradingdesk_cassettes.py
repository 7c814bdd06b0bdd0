"""Every Trading Desk cassette is free of secrets and loopback addresses.

The secrets are the sandbox's real ones for seed 0 (the seed every recording uses): the credentials
of all three accounts, the administrator token, the emails the API returns, and every token the
sandbox would issue, obtained by replaying more logins than any cassette contains against a fresh
emulator (tokens come from their own seeded stream, so the n-th token is the same in every run).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Set
from urllib.parse import urlsplit

import pytest
import yaml
from werkzeug.test import Client

from integrations.runtime import ManualClock
from integrations_tradingdesk.sandbox import TradingDeskEmulator

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "tradingdesk"
LOGINS = 30  # 60 access/refresh tokens: far more than any cassette's logins and refreshes


def _call(app: Client, method: str, params: Dict[str, Any], token: Optional[str] = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
    reply = json.loads(app.post("/api/v2/", query_string={"method": method}, data=body, headers=headers).data)
    assert "result" in reply, reply
    return reply["result"]


def sandbox_secrets(seed: int = 0) -> Set[str]:
    emulator = TradingDeskEmulator(seed=seed, clock=ManualClock(1_700_000_000.0))
    app = Client(emulator.wsgi_apps()["api"])
    admin = emulator.admin_credentials()["token"]
    secrets = {*emulator.credentials().values(), *emulator.restricted_credentials().values(), admin}
    secrets.add(_call(app, "User.getInfo", {}, admin)["email"])
    for _ in range(LOGINS):
        pair = _call(app, "User.auth", emulator.credentials())
        secrets.update((pair["access_token"], pair["refresh_token"]))
    # The default user also holds an administrator-issued token, which User.getInfo shows.
    secrets.add(_call(app, "User.getInfo", {}, pair["access_token"])["auth_token"])
    secrets.update(client["email"] for client in _call(app, "Partner.getClients", {}, pair["access_token"]))
    return secrets


known_secrets = functools.lru_cache(maxsize=None)(sandbox_secrets)


def cassette_files() -> List[Path]:
    return sorted(CASSETTES.rglob("*.yaml"))


def test_the_secret_list_is_real():
    secrets = sandbox_secrets()
    assert len(secrets) >= 2 * LOGINS + 7
    assert {"demo@sandbox.tradingdesk.test", "admin@sandbox.tradingdesk.test"} <= secrets
    assert sandbox_secrets() == secrets  # deterministic for the seed
    assert sum(bool(re.fullmatch(r"[0-9a-f]{40}", s)) for s in secrets) == 2 * LOGINS + 2


def test_the_enumerated_tokens_are_the_ones_a_recording_sandbox_issues(td_live, clock):
    # td_live's sandbox runs with the default seed, as recording does; log in, then refresh twice.
    td_live.user_info()
    for _ in range(2):
        clock.advance(8 * 86400)
        td_live.user_info()
    token = td_live.client.tokens.peek()
    assert {token.access, token.refresh} <= known_secrets()


def test_there_are_cassettes_to_check():
    assert len(cassette_files()) >= 10


@pytest.mark.parametrize("path", cassette_files(), ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_secret_and_only_the_canonical_host(path):
    text = path.read_text(encoding="utf-8")
    for secret in known_secrets():
        assert secret not in text, f"{path.name} contains a sandbox secret"
    # Any 40-hex-digit value would be a sandbox token beyond the ones enumerated above.
    assert not re.search(r"(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])", text)
    assert "127.0.0.1" not in text and "localhost" not in text.lower()
    interactions = (yaml.safe_load(text) or {}).get("interactions", [])
    assert interactions
    for interaction in interactions:
        parts = urlsplit(interaction["request"]["uri"])
        assert (parts.scheme, parts.hostname, parts.path) == ("https", "tdm4.adcloud.org", "/api/v2/")
        for value in interaction["request"]["headers"].get("Authorization", []):
            assert re.fullmatch(r"Bearer REDACTED-[a-z_]+-[0-9]+", value)


def test_credentials_and_tokens_became_placeholders():
    text = "\n".join(p.read_text(encoding="utf-8") for p in cassette_files())
    for field in ("email", "password", "access_token", "refresh_token"):
        values = re.findall(rf'"{field}":"([^"]*)"', text)
        assert values, field
        assert all(value.startswith("REDACTED-") for value in values), field
