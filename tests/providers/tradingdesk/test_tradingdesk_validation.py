"""Bad input raises ValidationError before anything is sent (the transport refuses to send here)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import integrations
from integrations import ValidationError
from integrations.testing.inputs import BAD_TIMEOUTS
from integrations_tradingdesk import RpcCall


@pytest.fixture
def td(no_requests):
    with integrations.connect(
        "tradingdesk", credentials={"email": "a@b.test", "password": "not-used"}
    ) as client:
        yield client
    # Not even authentication was attempted.
    assert no_requests == []


@pytest.mark.parametrize(
    "method",
    [
        "",
        None,
        1,
        " ",
        "Campaign getList",
        "a&b=c",
        "x/y",
        b"User.getInfo",
        "User.getInfo\n",  # was sent as ?method=User.getInfo%0A
        "User.getInfo\r\n",
        "\nUser.getInfo",
        "User.get\x00Info",
        "1User",
        "x" * 200,
        True,
        ["User.getInfo"],
    ],
)
def test_method_names(td, method):
    with pytest.raises(ValidationError, match="method"):
        td.rpc(method)
    with pytest.raises(ValidationError, match="method"):
        td.notify(method)


@pytest.mark.parametrize(
    "params",
    [
        [42, 23],
        (1, 2),
        "minuend=42",
        5,
        {1: "x"},
        {True: "x"},
        {None: "x"},
        # Used to raise TypeError or go out as NaN/Infinity:
        {"day": dt.date(2023, 10, 1)},
        {"at": dt.datetime(2023, 10, 1, 12)},
        {"ids": {1, 2}},
        {"ids": frozenset()},
        {"o": object()},
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": -float("inf")},
        {"x": Decimal("NaN")},
        {"x": Decimal("Infinity")},
        {"x": Decimal("1e400")},
        {"x": [1, {"y": float("nan")}]},
        {"x": {"y": {"z": dt.date(2023, 1, 1)}}},
        {"x": {1: "nested int key"}},
        {"x": b"bytes"},
        {"x": bytearray(b"x")},
        {"x": 2**64},
        {"x": -(2**63) - 1},
        {"x": 10**5000},
        {"x": "\ud800"},
        {"x": range(3)},
        {"x": iter([1])},
    ],
)
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
        ("2023-10-01\n", "2023-10-31", "date_from"),
        ("2023-10-01", "2023-10-31\n", "date_to"),
        ("\uff12\uff10\uff12\uff13-10-01", "2023-10-31", "date_from"),
        (True, "2023-10-31", "date_from"),
        (["2023-10-01"], "2023-10-31", "date_from"),
        pytest.param(10**5000, "2023-10-31", "date_from", id="10**5000"),
    ],
)
def test_periods(td, date_from, date_to, message):
    with pytest.raises(ValidationError, match=message):
        td.coverage_and_inspection(date_from, date_to)
    with pytest.raises(ValidationError, match=message):
        td.target_statistics("geo_id", date_from, date_to)


@pytest.mark.parametrize(
    "target", ["", "  ", None, 5, "geo_id\n", "geo id", "geo/id", "x" * 65, True, ["geo_id"]]
)
def test_target_name(td, target):
    with pytest.raises(ValidationError, match="target_name"):
        td.target_statistics(target, "2023-10-01", "2023-10-31")


@pytest.mark.parametrize(
    "campaign_id",
    [
        0,
        -1,
        "",
        " ",
        None,
        True,
        False,
        1.5,
        [1],
        "1\n",
        "1 2",
        "../1",
        "x" * 65,
        2**63,
        pytest.param(10**5000, id="10**5000"),
        b"1",
        {1},
    ],
)
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
        None,  # raised TypeError
        5,  # raised TypeError
        b"User.getInfo",
        [RpcCall("User.getInfo\n", {})],
        [RpcCall("subtract", {"x": float("nan")})],
        [RpcCall("subtract", {"x": {1, 2}})],
        [RpcCall("update", {}, notify="yes")],
        [("subtract", {"when": dt.date(2023, 10, 1)})],
        [("subtract", {"x": object()})],
        [["User.getInfo", {}]],
        [None],
        (item for item in [("User.getInfo", None), ("subtract", {"x": float("inf")})]),
        (item for item in [("User.getInfo", None), 5]),
        (item for item in []),
    ],
)
def test_batches(td, calls):
    with pytest.raises(ValidationError):
        td.batch(calls)


@pytest.mark.parametrize("retry", ["yes", 1, 0, None, [], "True"])
def test_retry_must_be_a_bool(td, retry):
    with pytest.raises(ValidationError, match="retry"):
        td.rpc("Campaign.getList", retry=retry)
    with pytest.raises(ValidationError, match="retry"):
        td.batch([("Campaign.getList", None)], retry=retry)


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_timeout_on_every_method(td, timeout):
    calls = [
        lambda: td.user_info(timeout=timeout),
        lambda: td.campaigns(timeout=timeout),
        lambda: td.campaign(1, timeout=timeout),
        lambda: td.partner_clients(timeout=timeout),
        lambda: td.coverage_and_inspection(timeout=timeout),
        lambda: td.coverage_and_inspection("2023-10-01", "2023-10-31", timeout=timeout),
        lambda: td.target_statistics("geo_id", timeout=timeout),
        lambda: td.rpc("Campaign.getList", timeout=timeout),
        lambda: td.rpc("Campaign.getList", retry=True, timeout=timeout),
        lambda: td.notify("update", {"x": 1}, timeout=timeout),
        lambda: td.batch([("User.getInfo", None)], timeout=timeout),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="timeout"):
            call()


def test_timeout_is_checked_before_authenticating_with_a_token(no_requests):
    # The administrator token needs no login; nothing may be sent all the same.
    client = integrations.connect("tradingdesk", credentials={"token": "t" * 40})
    with client, pytest.raises(ValidationError, match="timeout"):
        client.user_info(timeout=(1, float("inf")))
    assert no_requests == []


@pytest.mark.parametrize(
    ("params", "items"),
    [
        (None, None),
        ({}, [("User.getInfo", {})]),
        ({"minuend": 42, "subtrahend": 23}, [RpcCall("subtract", {"minuend": 42})]),
        (
            {"a": [1, 2.5, Decimal("1.10"), None, True, "x\ny"], "b": {"c": (1,)}, "d": 2**64 - 1},
            [("update", {"values": [1, 2, 3]}), RpcCall("update", {"x": -(2**63)}, notify=True)],
        ),
    ],
)
def test_valid_input_is_sent(no_requests, params, items):
    with integrations.connect("tradingdesk", credentials={"token": "t" * 40}) as client:
        with pytest.raises(AssertionError, match="a request was sent"):
            client.rpc("subtract", params)
        with pytest.raises(AssertionError, match="a request was sent"):
            client.notify("update", params)
        if items is not None:
            with pytest.raises(AssertionError, match="a request was sent"):
                client.batch(iter(items))
    assert len(no_requests) == 2 + (items is not None)


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
