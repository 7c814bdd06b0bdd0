"""Bad input raises ValidationError before anything is sent (the transport refuses to send here)."""

from __future__ import annotations

import datetime as dt

import pytest

import integrations
from integrations import ValidationError
from integrations_tradingdesk import RpcCall


@pytest.fixture
def td(no_requests):
    with integrations.connect(
        "tradingdesk", credentials={"email": "a@b.test", "password": "not-used"}
    ) as client:
        yield client
    # Not even authentication was attempted.
    assert no_requests == []


@pytest.mark.parametrize("method", ["", None, 1, " ", "Campaign getList", "a&b=c", "x/y", b"User.getInfo"])
def test_method_names(td, method):
    with pytest.raises(ValidationError, match="method"):
        td.rpc(method)
    with pytest.raises(ValidationError, match="method"):
        td.notify(method)


@pytest.mark.parametrize("params", [[42, 23], (1, 2), "minuend=42", 5, {1: "x"}])
def test_params_must_be_named(td, params):
    with pytest.raises(ValidationError, match="params"):
        td.rpc("subtract", params)
    with pytest.raises(ValidationError, match="params"):
        td.notify("update", params)


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [
        ("2023/10/01", "2023-10-31", "date_from"),
        ("2023-10-01", "31.10.2023", "date_to"),
        ("2023-02-30", "2023-03-01", "calendar"),
        ("2023-10-1", "2023-10-31", "date_from"),
        (20231001, "2023-10-31", "date_from"),
        ("2023-10-01T00:00:00", "2023-10-31", "date_from"),
        ("2023-10-31", "2023-10-01", "after"),
        (dt.date(2023, 10, 31), dt.date(2023, 10, 1), "after"),
        ("2023-10-01", None, "both"),
        (None, dt.date(2023, 10, 1), "both"),
    ],
)
def test_periods(td, date_from, date_to, message):
    with pytest.raises(ValidationError, match=message):
        td.coverage_and_inspection(date_from, date_to)
    with pytest.raises(ValidationError, match=message):
        td.target_statistics("geo_id", date_from, date_to)


@pytest.mark.parametrize("target", ["", "  ", None, 5])
def test_target_name(td, target):
    with pytest.raises(ValidationError, match="target_name"):
        td.target_statistics(target, "2023-10-01", "2023-10-31")


@pytest.mark.parametrize("campaign_id", [0, -1, "", " ", None, True, 1.5, [1]])
def test_campaign_id(td, campaign_id):
    with pytest.raises(ValidationError, match="campaign_id"):
        td.campaign(campaign_id)


@pytest.mark.parametrize(
    "calls",
    [
        [],
        (),
        "User.getInfo",
        {"User.getInfo": {}},
        [("User.getInfo", None), "Campaign.getList"],
        [("User.getInfo", [1])],
        [("", {})],
        [("a", {}, "extra")],
        [RpcCall("", {})],
        [RpcCall("subtract", {1: 2})],
        [RpcCall("subtract", [42, 23])],
    ],
)
def test_batches(td, calls):
    with pytest.raises(ValidationError):
        td.batch(calls)


def test_validation_error_is_a_value_error():
    assert issubclass(ValidationError, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"contour": "prod"}, integrations.ConfigurationError),  # unknown: not registered
        ({"credentials": {}}, integrations.ConfigurationError),
        ({"credentials": {"email": "a@b.test"}}, integrations.ConfigurationError),
        ({"credentials": {"email": "a@b.test", "password": ""}}, integrations.ConfigurationError),
        ({"credentials": {"token": 123}}, integrations.ConfigurationError),
        ({"base_urls": {"oauth": "http://127.0.0.1:1"}}, integrations.ConfigurationError),
    ],
)
def test_connect_arguments(kwargs, error, no_requests):
    kwargs = {"credentials": {"email": "a@b.test", "password": "secret-password"}, **kwargs}
    with pytest.raises(error) as info:
        integrations.connect("tradingdesk", **kwargs)
    assert "secret-password" not in str(info.value)
    assert no_requests == []


def test_dates_accept_date_and_datetime_objects(monkeypatch, no_requests):
    sent = []
    with integrations.connect("tradingdesk", credentials={"token": "t" * 40}) as client:
        monkeypatch.setattr(
            client, "_read", lambda method, params, timeout: sent.append((method, params)) or {}
        )
        client.coverage_and_inspection(dt.date(2023, 10, 1), dt.datetime(2023, 10, 31, 23, 59))
        client.coverage_and_inspection()
        client.target_statistics("geo_id", "2023-10-29", "2023-10-29")
    assert sent == [
        ("Report.getCoverageAndInspection", {"period": {"from": "2023-10-01", "to": "2023-10-31"}}),
        ("Report.getCoverageAndInspection", {}),
        (
            "Statistic.getTarget",
            {"targetName": "geo_id", "period": {"from": "2023-10-29", "to": "2023-10-29"}},
        ),
    ]
    assert no_requests == []
