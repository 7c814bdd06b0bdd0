"""Recording against a provider's contour with the user's own credentials from the environment
(``INTEGRATIONS_<PROVIDER>_<FIELD>``). With no internet here, a sandbox started by the test stands in
for the real test contour, reached through ``base_urls``; the harness only sees an HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict

import attrs
import pytest

from integrations import ConfigurationError, default_host, sandbox
from integrations.cli import main
from integrations.recording import recorded_session

# One call per provider. The user's e-mail is a credential: the cassette holds a placeholder for it
# wherever it appears, replies included, so the replayed profile differs from the live one there.
CALLS: Dict[str, Callable[[Any], Any]] = {
    "alor": lambda client: client.orderbook("MOEX", "SBER", depth=3),
    "tradingdesk": lambda client: attrs.evolve(client.user_info(), email="(credential)"),
}


@pytest.mark.parametrize("provider", sorted(CALLS))
def test_records_with_credentials_from_the_environment_and_replays_offline(
    provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = default_host().provider(provider)
    cassette = tmp_path / "session.yaml"
    with sandbox.running(provider) as contour:
        variables = {spec.credential_variable(field): value for field, value in contour.credentials.items()}
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        with recorded_session(
            provider,
            cassette,
            mode="once",
            against="contour",
            connect_options={"base_urls": contour.base_urls},
        ) as s:
            assert s.recording and s.sandbox is None
            recorded = CALLS[provider](s.client)

    text = cassette.read_text(encoding="utf-8")
    # Every HTTP service was used: canonical hosts only (the WebSocket service is not HTTP).
    for url in spec.contours["test"].values():
        if url.startswith("http"):
            assert url in text
    assert "127.0.0.1" not in text
    for value in variables.values():
        assert value not in text
    secret_envs = [arg for name in variables for arg in ("--secret-env", name)]
    assert main(["cassettes", "check", str(cassette), *secret_envs]) == 0

    for name in variables:
        monkeypatch.delenv(name)
    with recorded_session(provider, cassette, mode="none") as s:
        assert not s.recording
        assert CALLS[provider](s.client) == recorded


def test_missing_variables_are_named_before_anything_is_recorded(tmp_path: Path, monkeypatch) -> None:
    for name in (
        "INTEGRATIONS_TRADINGDESK_EMAIL",
        "INTEGRATIONS_TRADINGDESK_PASSWORD",
        "INTEGRATIONS_TRADINGDESK_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTEGRATIONS_TRADINGDESK_EMAIL", "someone@example.com")  # no password

    with (
        pytest.raises(ConfigurationError) as info,
        recorded_session("tradingdesk", tmp_path / "c.yaml", mode="once", against="contour"),
    ):
        pass  # pragma: no cover

    # Then, with keyring installed, where in the keyring the fields may be instead.
    assert str(info.value).startswith(
        "provider 'tradingdesk': set INTEGRATIONS_TRADINGDESK_EMAIL and INTEGRATIONS_TRADINGDESK_PASSWORD"
        " or INTEGRATIONS_TRADINGDESK_REFRESH_TOKEN or INTEGRATIONS_TRADINGDESK_TOKEN in the environment"
    )
    assert "someone@example.com" not in str(info.value)
    assert not (tmp_path / "c.yaml").exists()


def test_any_complete_credential_shape_is_taken() -> None:
    spec = default_host().provider("tradingdesk")
    assert spec.credentials_from_env({"INTEGRATIONS_TRADINGDESK_TOKEN": "t"}) == {"token": "t"}
    assert spec.credentials_from_env(
        {"INTEGRATIONS_TRADINGDESK_EMAIL": "e", "INTEGRATIONS_TRADINGDESK_PASSWORD": "p"}
    ) == {"email": "e", "password": "p"}
    alor = default_host().provider("alor")
    assert alor.credential_variable("refresh_token") == "INTEGRATIONS_ALOR_REFRESH_TOKEN"
