"""``connect()`` without ``credentials=`` reads ``INTEGRATIONS_<PROVIDER>_<FIELD>`` from the environment,
as the recorder does; explicit credentials win; missing ones name the variables."""

from __future__ import annotations

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
