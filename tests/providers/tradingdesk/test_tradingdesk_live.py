"""Trading Desk against the live sandbox on 127.0.0.1: the JSON-RPC 2.0 spec examples our client can
express, batches, permissions, HTTP status conventions and wrapper plugins.

What the client cannot express, it does not send: positional params (it always sends named params, as
Trading Desk does) and invalid members. Those spec vectors are fed to the codec in
``test_tradingdesk_jsonrpc.py``; the sandbox's side of every vector is in ``test_sandbox_app.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, List

import pytest

import integrations
from integrations import (
    Host,
    ManualClock,
    ProtocolError,
    RpcError,
    SequentialIds,
    ServiceUnavailable,
    hookimpl,
    sandbox,
)
from integrations_tradingdesk import RpcCall, RpcOutcome

DAY = 86400.0


def _connect(sb: Any, clock: ManualClock, **kwargs: Any) -> Any:
    kwargs.setdefault("credentials", sb.credentials)
    return integrations.connect(
        "tradingdesk", base_urls=sb.base_urls, clock=clock, ids=SequentialIds(), **kwargs
    )


# -- the spec's examples, through the client -----------------------------------------------------


def test_spec_named_params(td_live):
    assert td_live.rpc("subtract", {"subtrahend": 23, "minuend": 42}) == 19
    assert td_live.rpc("subtract", {"minuend": 42, "subtrahend": 23}) == 19
    assert td_live.rpc("subtract", {"minuend": 23, "subtrahend": 42}) == -19


def test_spec_non_existent_method(td_live):
    with pytest.raises(RpcError) as info:
        td_live.rpc("foobar")
    error = info.value
    assert (error.rpc_code, error.message, error.status) == (-32601, "Method not found", 200)
    assert error.provider == "tradingdesk" and error.request_id
    assert error.data is None


def test_spec_notifications_get_no_reply(td_sandbox, td_live):
    assert td_live.notify("update", {"values": [1, 2, 3, 4, 5]}) is None
    assert td_live.notify("foobar") is None  # even a failing notification gets no reply
    assert td_live.rpc("get_data") == ["hello", 5]


def test_spec_mixed_batch_as_far_as_the_client_can_express_it(td_live):
    outcomes = td_live.batch(
        [
            ("sum", None),  # no params: the sandbox sums nothing
            RpcCall("notify_hello", {"value": 7}, notify=True),
            ("subtract", {"minuend": 42, "subtrahend": 23}),
            ("foo.get", {"name": "myself"}),
            ("get_data",),
        ]
    )
    assert all(isinstance(o, RpcOutcome) for o in outcomes)
    assert [o.method for o in outcomes] == ["sum", "notify_hello", "subtract", "foo.get", "get_data"]
    assert outcomes[0].unwrap() == 0
    assert outcomes[1].notification and outcomes[1].ok
    assert outcomes[2].unwrap() == 19
    assert not outcomes[3].ok and outcomes[3].error.rpc_code == -32601
    assert outcomes[4].unwrap() == ["hello", 5]
    assert len({o.id for o in outcomes if not o.notification}) == 4


def test_spec_batch_of_notifications_only(td_live):
    outcomes = td_live.batch(
        [
            RpcCall("notify_sum", {"values": [1, 2, 4]}, notify=True),
            RpcCall("notify_hello", {"value": 7}, notify=True),
        ]
    )
    assert [(o.method, o.notification, o.result) for o in outcomes] == [
        ("notify_sum", True, None),
        ("notify_hello", True, None),
    ]


def test_the_http_status_mapping_of_the_2008_draft_changes_nothing(clock):
    with (
        sandbox.running("tradingdesk", clock=clock, http_status_mapping=True, strict_query_method=True) as sb,
        _connect(sb, clock) as client,
    ):
        with pytest.raises(RpcError) as info:
            client.rpc("foobar")
        assert (info.value.rpc_code, info.value.status) == (-32601, 404)
        with pytest.raises(RpcError) as info:
            client.campaign(1)
        assert (info.value.rpc_code, info.value.status) == (-32005, 500)
        # strict_query_method: ?method= always equals the body's method
        assert client.rpc("subtract", {"minuend": 3, "subtrahend": 1}) == 2
        assert client.user_info().methods


# -- Trading Desk methods, live ------------------------------------------------------------------


def test_batch_member_errors_stay_with_their_member(td_sandbox, td_live):
    campaigns = td_live.campaigns()
    outcomes = td_live.batch(
        [
            ("User.getInfo", None),
            ("Campaign.getInfo", {"id": campaigns[0].id}),
            ("Campaign.getInfo", {"id": 1}),
            ("Partner.getClients", {}),
        ]
    )
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert outcomes[1].result["id"] == campaigns[0].id
    assert outcomes[2].error.rpc_code == -32005 and outcomes[2].error.data == {"id": 1}
    with pytest.raises(RpcError):
        outcomes[2].unwrap()


def test_a_batch_whose_token_is_rejected_is_sent_once_more_with_the_same_ids(clock):
    seen: List[Any] = []

    class Spy:
        @hookimpl(wrapper=True)
        def integrations_call(self, ctx: Any, token: Any, request: Any) -> Any:
            if request.operation == "tradingdesk.batch":  # logins and refreshes pass here too
                seen.append([m["id"] for m in request.json])
            return (yield)

    client_clock = ManualClock(clock.now())
    with (
        sandbox.running("tradingdesk", clock=clock) as sb,
        _connect(sb, client_clock, host=Host(plugins=(("spy", Spy()),))) as client,
    ):
        client.batch([("User.getInfo", None)])
        clock.advance(8 * DAY)
        outcomes = client.batch([("User.getInfo", None), ("Campaign.getList", None)])
        assert all(o.ok for o in outcomes)
        assert sb.emulator.refresh_count == 1
    assert seen[1] == seen[2] and len(seen) == 3


def test_restricted_user_is_denied_partner_clients(td_sandbox, clock):
    with _connect(td_sandbox, clock, credentials=td_sandbox.emulator.restricted_credentials()) as client:
        info = client.user_info()
        assert not info.can_call("Partner.getClients") and info.can_call("Campaign.getList")
        with pytest.raises(RpcError) as denied:
            client.partner_clients()
        assert (denied.value.rpc_code, denied.value.message) == (-32003, "Access denied")
        assert client.campaigns()
        assert client.client.tokens.refreshes == 0  # a permission error is not a token error


def test_campaign_ids_as_int_or_str(td_live):
    first = td_live.campaigns()[0]
    assert isinstance(first.id, int)
    assert td_live.campaign(first.id) == td_live.campaign(str(first.id)) == first


def test_an_empty_period_is_php_empty_array_read_as_empty(td_live):
    assert td_live.coverage_and_inspection("2022-01-01", "2022-12-31") == {}
    assert td_live.target_statistics("geo_id", "2022-01-01", "2022-12-31").roots == {}


def test_statistics_are_consistent_between_the_two_reports(td_live):
    day = dt.date(2023, 10, 29)
    tree = td_live.target_statistics("geo_id", day, day)
    for _path, node in tree.walk():
        if node.total is not None:
            cities = [child.metrics for child in node.children.values()]
            assert node.total.show == sum(m.show for m in cities)
            assert node.total.spent == pytest.approx(sum(m.spent for m in cities), abs=1e-3)
    coverage = td_live.coverage_and_inspection(day, day)
    assert coverage and all(row.show > 0 for row in coverage.values())


def test_unsupported_target_name_is_the_servers_call(td_live):
    with pytest.raises(RpcError) as info:
        td_live.target_statistics("os_id")
    assert info.value.rpc_code == -32602


def test_a_wrong_base_url_is_a_protocol_error_not_a_crash(td_sandbox, clock):
    # The sandbox answers 404 text/plain outside /api/v2/: not JSON, not 5xx.
    urls = {"api": td_sandbox.base_urls["api"] + "/elsewhere"}
    with (
        integrations.connect(
            "tradingdesk", base_urls=urls, credentials=td_sandbox.credentials, clock=clock
        ) as client,
        pytest.raises(ProtocolError, match="HTTP 404"),
    ):
        client.user_info()


def test_sixteen_threads_share_one_login_and_one_refresh_per_expiry(td_sandbox, td_live, clock, threaded):
    for round_ in range(3):
        if round_:
            clock.advance(7 * DAY)
        _, errors = threaded(lambda: [td_live.user_info() for _ in range(3)])
        assert not errors, errors
    assert (td_sandbox.emulator.auth_count, td_sandbox.emulator.refresh_count) == (1, 2)


def _flaky_transport(monkeypatch: Any, fail_on: int) -> List[Any]:
    """Transport.send answers attempt number ``fail_on`` with an HTML 503; records every JSON-RPC id."""
    real = integrations.transport.Transport.send
    sent: List[Any] = []

    def send(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        sent.append(kwargs["json"].get("id"))
        if len(sent) == fail_on:
            return integrations.Response(
                503, {"Content-Type": "text/html"}, b"<html>busy</html>", url, 0.0, kwargs.get("request_id")
            )
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(integrations.transport.Transport, "send", send)
    return sent


def test_a_5xx_without_json_is_retried_with_the_same_id(td_live, monkeypatch):
    sent = _flaky_transport(monkeypatch, fail_on=2)  # 1: User.auth, 2: Campaign.getList
    assert td_live.campaigns()
    assert len(sent) == 3 and sent[1] == sent[2] != sent[0]


def test_a_5xx_without_json_is_service_unavailable(td_sandbox, clock, monkeypatch):
    sent = _flaky_transport(monkeypatch, fail_on=2)
    with _connect(td_sandbox, clock, max_retries=0) as client, pytest.raises(ServiceUnavailable) as info:
        client.campaigns()
    assert info.value.status == 503 and info.value.should_retry and len(sent) == 2
