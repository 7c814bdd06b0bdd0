"""``connect()`` without ``credentials=`` reads ``INTEGRATIONS_<PROVIDER>_<FIELD>`` from the environment,
as the recorder does; explicit credentials win; missing ones name the variables."""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

import integrations
from integrations import ConfigurationError


@pytest.fixture(autouse=True)
def no_credentials_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "INTEGRATIONS_ALOR_REFRESH_TOKEN",
        "INTEGRATIONS_TRADINGDESK_EMAIL",
        "INTEGRATIONS_TRADINGDESK_PASSWORD",
        "INTEGRATIONS_TRADINGDESK_TOKEN",
        "INTEGRATIONS_TRADINGDESK_REFRESH_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


def test_alor_credentials_from_the_environment_work_against_the_sandbox(alor_sandbox, monkeypatch):
    monkeypatch.setenv("INTEGRATIONS_ALOR_REFRESH_TOKEN", alor_sandbox.credentials["refresh_token"])
    with integrations.connect("alor", base_urls=alor_sandbox.base_urls) as client:
        assert client.orderbook("MOEX", "SBER", depth=5).bids
        assert client.portfolios


def test_trading_desk_credentials_from_the_environment(td_sandbox, monkeypatch):
    for field, value in td_sandbox.credentials.items():
        monkeypatch.setenv(f"INTEGRATIONS_TRADINGDESK_{field.upper()}", value)
    with integrations.connect("tradingdesk", base_urls=td_sandbox.base_urls) as client:
        assert client.user_info()


def test_explicit_credentials_win_over_the_environment(alor_sandbox, monkeypatch):
    monkeypatch.setenv("INTEGRATIONS_ALOR_REFRESH_TOKEN", "not-a-valid-token")
    with integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials
    ) as client:
        assert client.orderbook("MOEX", "SBER", depth=5).bids


def test_missing_credentials_name_the_variables(no_requests):
    with pytest.raises(ConfigurationError, match="INTEGRATIONS_ALOR_REFRESH_TOKEN") as caught:
        integrations.connect("alor")
    assert "environment" in str(caught.value)
    with pytest.raises(ConfigurationError, match="INTEGRATIONS_TRADINGDESK_EMAIL"):
        integrations.connect("tradingdesk")
    assert no_requests == []


@pytest.fixture
def memory_keyring() -> Iterator[Any]:
    """A real keyring backend (keyring's own plugin API), kept in memory, installed for one test."""
    keyring = pytest.importorskip("keyring", reason="the test extra installs keyring")
    from keyring.backend import KeyringBackend

    entries: Dict[Tuple[str, str], str] = {}

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> Optional[str]:
            return entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            entries.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        yield keyring
    finally:
        keyring.set_keyring(previous)


def test_credentials_from_the_keyring_when_the_environment_has_none(
    alor_sandbox, memory_keyring, monkeypatch
):
    token = alor_sandbox.credentials["refresh_token"]
    memory_keyring.set_password("integrations-alor", "refresh_token", token)
    with integrations.connect("alor", base_urls=alor_sandbox.base_urls) as client:
        assert client.orderbook("MOEX", "SBER", depth=5).bids
    # The environment wins over the keyring (and explicit credentials over both, above).
    monkeypatch.setenv("INTEGRATIONS_ALOR_REFRESH_TOKEN", "from-the-environment")
    spec = integrations.default_host().provider("alor")
    assert spec.credentials_from_env() == {"refresh_token": "from-the-environment"}


def test_a_missing_keyring_entry_is_named_with_the_variables(memory_keyring, no_requests):
    with pytest.raises(ConfigurationError) as caught:
        integrations.connect("alor")
    assert "INTEGRATIONS_ALOR_REFRESH_TOKEN" in str(caught.value)
    assert "keyring (service 'integrations-alor'" in str(caught.value)
    assert no_requests == []
