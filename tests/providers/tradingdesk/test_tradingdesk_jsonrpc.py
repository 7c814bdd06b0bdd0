"""The JSON-RPC 2.0 codec on its own: envelopes, every reply vector of the spec (docs/reference/tradingdesk-api.md §4), malformed
replies, batch matching, and the HTTP rules. No sockets: responses are built by hand."""

from __future__ import annotations

import json
import random
from typing import Any, List, Optional

import pytest

from integrations import (
    AccessTokenRejected,
    AuthenticationError,
    ProtocolError,
    RateLimited,
    RpcError,
    SequentialIds,
    ServiceUnavailable,
    ValidationError,
)
from integrations.protocols import jsonrpc
from integrations.protocols.jsonrpc import RpcCall, RpcOutcome
from integrations.transport import Response
from integrations_tradingdesk import provider

PARSE = {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
INVALID = {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None}


def response(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(
        status=status,
        headers={"Content-Type": content_type},
        content=content,
        url="https://tdm4.adcloud.org/api/v2/?method=x",
        elapsed=0.0,
        request_id="rid",
    )


def check(
    body: Any,
    sent: Any,
    *,
    status: int = 200,
    authenticated: bool = True,
    content_type: str = "application/json",
) -> List[RpcOutcome]:
    return jsonrpc.check_response(
        response(body, status, content_type),
        sent,
        provider="tradingdesk",
        authenticated=authenticated,
        auth_rule=provider.AUTH_ERRORS,
    )


# -- requests ------------------------------------------------------------------------------------


def test_envelope_always_sends_params_as_an_object():
    assert jsonrpc.envelope("Campaign.getList", None, "a") == {
        "jsonrpc": "2.0",
        "method": "Campaign.getList",
        "params": {},
        "id": "a",
    }
    assert jsonrpc.envelope("subtract", {"minuend": 42, "subtrahend": 23}, 3)["params"] == {
        "minuend": 42,
        "subtrahend": 23,
    }


def test_a_notification_has_no_id_member_at_all():
    body = jsonrpc.notification("update", None)
    assert body == {"jsonrpc": "2.0", "method": "update", "params": {}}
    assert "id" not in body


def test_build_request_fixes_the_id_and_mirrors_the_method_in_the_query():
    ids = SequentialIds()
    request = jsonrpc.build_request(
        RpcCall("User.getInfo"), ids=ids, path="/api/v2/", query_parameter="method"
    )
    assert (request.method, request.path, request.params) == ("POST", "/api/v2/", {"method": "User.getInfo"})
    assert request.json["id"] == 1 and request.request_id == "1"  # integer ids: the guide's form
    text = jsonrpc.build_request(RpcCall("User.getInfo"), ids=ids, path="/", integer_ids=False)
    assert text.json["id"] == text.request_id == "00000000-0000-4000-8000-000000000002"
    assert not request.retry and request.authenticated  # a JSON-RPC id is no deduplication key
    assert jsonrpc.build_request(RpcCall("User.getInfo"), ids=ids, path="/", retry=True).retry
    note = jsonrpc.build_request(
        RpcCall("update", notify=True), ids=ids, path="/api/v2/", authenticated=False, retry=True
    )
    assert "id" not in note.json and note.request_id is None
    assert not note.retry and not note.authenticated and note.params is None


def test_build_batch():
    calls = [RpcCall("User.getInfo"), RpcCall("Campaign.getList"), RpcCall("User.getInfo", {"x": 1})]
    request = jsonrpc.build_batch(calls, ids=SequentialIds(), path="/api/v2/", query_parameter="method")
    ids = [item["id"] for item in request.json]
    assert len(set(ids)) == 3 and request.request_id == str(ids[0])
    assert request.params == {"method": "User.getInfo,Campaign.getList"}
    assert not request.retry
    assert jsonrpc.build_batch(calls, ids=SequentialIds(), path="/", retry=True).retry
    with_note = jsonrpc.build_batch(
        [RpcCall("a"), RpcCall("b", notify=True)], ids=SequentialIds(), path="/", retry=True
    )
    assert not with_note.retry  # a notification cannot be deduplicated, so never re-sent
    with pytest.raises(ValidationError, match="at least one"):
        jsonrpc.build_batch([], ids=SequentialIds(), path="/")


# -- the spec's reply vectors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent_id", "reply", "result"),
    [
        (1, {"jsonrpc": "2.0", "result": 19, "id": 1}, 19),
        (2, {"jsonrpc": "2.0", "result": -19, "id": 2}, -19),
        (3, {"jsonrpc": "2.0", "result": 19, "id": 3}, 19),
        (4, {"jsonrpc": "2.0", "result": 19, "id": 4}, 19),
    ],
)
def test_spec_results(sent_id, reply, result):
    outcome = jsonrpc.parse_reply(reply, sent_id, method="subtract")
    assert outcome.ok and outcome.unwrap() == result and outcome.id == sent_id


@pytest.mark.parametrize(
    ("sent", "reply", "code"),
    [
        (
            {"jsonrpc": "2.0", "method": "foobar", "id": "1"},
            {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"},
            -32601,
        ),
        # invalid JSON and an invalid Request object: the server could not read the id, so it is null.
        ({"jsonrpc": "2.0", "method": "foobar", "id": "1"}, PARSE, -32700),
        ({"jsonrpc": "2.0", "method": "foobar", "id": "1"}, INVALID, -32600),
    ],
)
def test_spec_errors_of_a_single_call(sent, reply, code):
    with pytest.raises(RpcError) as info:
        check(reply, sent)
    assert info.value.rpc_code == code and info.value.code == str(code)
    assert info.value.message == reply["error"]["message"]


@pytest.mark.parametrize("body", [b"", None])
def test_spec_notifications_get_no_reply(body):
    sent = {"jsonrpc": "2.0", "method": "update", "params": {"values": [1, 2, 3, 4, 5]}}
    (outcome,) = check(body if body is not None else b"", sent, status=204 if body is None else 200)
    assert outcome.notification and outcome.ok and outcome.result is None and outcome.id is None


@pytest.mark.parametrize(
    ("sent", "reply", "code"),
    [
        # batch, invalid JSON; empty array: one non-array error answers the whole body
        ([{"jsonrpc": "2.0", "method": "sum", "params": [1, 2, 4], "id": "1"}], PARSE, -32700),
        ([], INVALID, -32600),
    ],
)
def test_spec_a_whole_batch_rejected(sent, reply, code):
    with pytest.raises(RpcError) as info:
        jsonrpc.decode(sent, reply)
    assert info.value.rpc_code == code


@pytest.mark.parametrize(("sent", "reply"), [([1], [INVALID]), ([1, 2, 3], [INVALID, INVALID, INVALID])])
def test_spec_invalid_batch_members_get_their_null_id_errors(sent, reply):
    outcomes = jsonrpc.match_batch(sent, reply)
    assert [o.error.rpc_code for o in outcomes] == [-32600] * len(sent)


MIXED = [
    {"jsonrpc": "2.0", "method": "sum", "params": [1, 2, 4], "id": "1"},
    {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
    {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": "2"},
    {"foo": "boo"},
    {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
    {"jsonrpc": "2.0", "method": "get_data", "id": "9"},
]
MIXED_REPLY = [
    {"jsonrpc": "2.0", "result": 7, "id": "1"},
    {"jsonrpc": "2.0", "result": 19, "id": "2"},
    INVALID,
    {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
    {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"},
]


@pytest.mark.parametrize("seed", range(5))
def test_spec_mixed_batch_in_request_order_whatever_the_reply_order(seed):
    reply = list(MIXED_REPLY)
    random.Random(seed).shuffle(reply)
    outcomes = check(reply, MIXED)
    assert [o.method for o in outcomes] == ["sum", "notify_hello", "subtract", "", "foo.get", "get_data"]
    assert outcomes[0].unwrap() == 7
    assert outcomes[1].notification
    assert outcomes[2].unwrap() == 19
    assert outcomes[3].error.rpc_code == -32600 and outcomes[3].id is None
    assert outcomes[4].error.rpc_code == -32601 and outcomes[4].id == "5"
    with pytest.raises(RpcError):
        outcomes[4].unwrap()
    assert outcomes[5].unwrap() == ["hello", 5]


def test_spec_batch_of_notifications_only_gets_nothing():
    sent = [
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1, 2, 4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
    ]
    outcomes = check(b"", sent, status=204)
    assert [(o.method, o.notification) for o in outcomes] == [("notify_sum", True), ("notify_hello", True)]


# -- tolerated envelopes (Trading Desk's guide describes the JSON-RPC 1.0 form) --------------------


@pytest.mark.parametrize(
    ("reply", "result"),
    [
        ({"jsonrpc": "2.0", "result": 19, "error": None, "id": 1}, 19),  # 1.0 style: error null
        ({"jsonrpc": "2.0", "result": None, "id": 1}, None),  # a null result is a result
        ({"jsonrpc": "2.0", "result": None, "error": None, "id": 1}, None),
        ({"jsonrpc": "2.0", "result": 19, "id": "1"}, 19),  # the same id, echoed as a string
    ],
)
def test_tolerated_success_envelopes(reply, result):
    outcome = jsonrpc.parse_reply(reply, 1, method="subtract")
    assert outcome.ok and outcome.result == result


@pytest.mark.parametrize(
    ("error", "rpc_code", "code", "message"),
    [
        ({"code": -32601, "message": "Method not found"}, -32601, "-32601", "Method not found"),
        ({"code": "-32601", "message": "Method not found"}, -32601, "-32601", "Method not found"),
        ({"code": "E_AUTH", "message": "Unauthorized"}, None, "E_AUTH", "Unauthorized"),
        ({"message": "Unauthorized"}, None, None, "Unauthorized"),
        ({"code": -32601}, -32601, "-32601", "JSON-RPC error -32601"),
        ({"code": -32601, "message": None}, -32601, "-32601", "JSON-RPC error -32601"),
        ({"code": -32601.0, "message": "x"}, None, "-32601.0", "x"),
        ({"code": True, "message": "x"}, None, "True", "x"),
        (-32001, -32001, "-32001", "JSON-RPC error -32001"),  # a bare code
        ("Method not found", None, None, "Method not found"),  # a bare message
    ],
)
def test_every_error_form_becomes_an_rpc_error(error, rpc_code, code, message):
    for reply in (
        {"jsonrpc": "2.0", "error": error, "id": 1},
        {"jsonrpc": "2.0", "result": None, "error": error, "id": "1"},
    ):  # 1.0 style, string id
        failure = jsonrpc.parse_reply(reply, 1).error
        assert isinstance(failure, RpcError)
        assert (failure.rpc_code, failure.code, failure.message) == (rpc_code, code, message)


def test_a_batch_reply_may_echo_ids_in_another_type():
    sent = [jsonrpc.envelope("a", None, 1), jsonrpc.envelope("b", None, 2)]
    outcomes = jsonrpc.decode(
        sent,
        [
            {"jsonrpc": "2.0", "result": "B", "id": "2"},
            {"jsonrpc": "2.0", "result": "A", "error": None, "id": "1"},
        ],
    )
    assert [o.result for o in outcomes] == ["A", "B"]
    assert [o.id for o in outcomes] == [1, 2]


# -- malformed replies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        19,
        [{"jsonrpc": "2.0", "result": 19, "id": 1}],
        {"result": 19, "id": 1},
        {"jsonrpc": "1.0", "result": 19, "id": 1},
        {"jsonrpc": 2.0, "result": 19, "id": 1},
        {"jsonrpc": "2.0", "result": 19},
        {"jsonrpc": "2.0", "result": 19, "id": 2},
        {"jsonrpc": "2.0", "result": 19, "id": None},
        {"jsonrpc": "2.0", "result": 19, "id": True},
        {"jsonrpc": "2.0", "result": 19, "id": [1]},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "result": 19, "error": {"code": 1, "message": "x"}, "id": 1},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": 2},
    ],
)
def test_malformed_replies_are_protocol_errors(reply):
    with pytest.raises(ProtocolError):
        jsonrpc.parse_reply(reply, 1)
    with pytest.raises(ProtocolError):
        check(reply, {"jsonrpc": "2.0", "method": "subtract", "params": {}, "id": 1})


def test_error_data_is_kept():
    reply = {
        "jsonrpc": "2.0",
        "error": {"code": -32005, "message": "Campaign not found", "data": {"id": 1}},
        "id": 1,
    }
    error = jsonrpc.parse_reply(reply, 1).error
    assert isinstance(error, RpcError) and error.data == {"id": 1} and error.rpc_code == -32005


SENT = [jsonrpc.envelope("a", None, "1"), jsonrpc.envelope("b", None, "2")]


def test_batch_member_errors_stay_with_their_member():
    reply = [
        {"jsonrpc": "2.0", "error": {"code": -32005, "message": "Campaign not found"}, "id": "2"},
        {"jsonrpc": "2.0", "result": {"ok": True}, "id": "1"},
    ]
    first, second = check(reply, SENT)
    assert first.unwrap() == {"ok": True}
    assert second.error.rpc_code == -32005


def test_batch_member_without_a_reply_or_with_a_bad_one():
    missing = jsonrpc.match_batch(SENT, [{"jsonrpc": "2.0", "result": 1, "id": "1"}])
    assert missing[0].unwrap() == 1 and isinstance(missing[1].error, ProtocolError)
    malformed = jsonrpc.match_batch(
        SENT, [{"jsonrpc": "2.0", "result": 1, "id": "1"}, {"jsonrpc": "1.0", "result": 2, "id": "2"}]
    )
    assert malformed[0].ok and isinstance(malformed[1].error, ProtocolError)


def test_a_null_id_error_goes_to_the_member_left_without_a_reply():
    outcomes = jsonrpc.match_batch(SENT, [INVALID, {"jsonrpc": "2.0", "result": 1, "id": "1"}])
    assert outcomes[0].unwrap() == 1
    assert outcomes[1].error.rpc_code == -32600 and outcomes[1].id == "2"


def test_an_unattributable_null_id_error_is_logged_not_raised(caplog):
    reply = [{"jsonrpc": "2.0", "result": 1, "id": "1"}, {"jsonrpc": "2.0", "result": 2, "id": "2"}, INVALID]
    assert [o.result for o in jsonrpc.match_batch(SENT, reply, provider="tradingdesk")] == [1, 2]
    assert "null id matched no call" in caplog.text


@pytest.mark.parametrize(
    "reply",
    [
        {"jsonrpc": "2.0", "result": 1, "id": "1"},  # a single result for a batch
        [{"jsonrpc": "2.0", "result": 1, "id": "7"}],  # an id never sent
        [{"jsonrpc": "2.0", "result": 1, "id": 1}, {"jsonrpc": "2.0", "result": 1, "id": "1"}],  # 1 twice
        [{"jsonrpc": "2.0", "result": 1, "id": "1"}, {"jsonrpc": "2.0", "result": 1, "id": "1"}],  # twice
        [{"jsonrpc": "2.0", "result": 1, "id": None}],  # a result nobody can own
        ["1"],
        "1",
    ],
)
def test_unusable_batch_replies(reply):
    with pytest.raises(ProtocolError):
        jsonrpc.decode(SENT, reply)


# -- HTTP rules ----------------------------------------------------------------------------------

CALL = {"jsonrpc": "2.0", "method": "User.getInfo", "params": {}, "id": "1"}
NOTE = {"jsonrpc": "2.0", "method": "update", "params": {}}
UNAUTHORIZED = {"jsonrpc": "2.0", "error": {"code": -32001, "message": "Unauthorized"}, "id": "1"}


def error_reply(code: int, message: str, rid: Optional[str] = "1") -> Any:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": rid}


def test_an_empty_body_answers_only_notifications():
    with pytest.raises(ProtocolError, match="empty body"):
        check(b"", CALL, status=204)
    with pytest.raises(ProtocolError):
        check(b"", CALL, status=200)
    assert check(b"", NOTE, status=200)[0].notification


@pytest.mark.parametrize(
    ("status", "body", "sent", "error"),
    [
        (500, b"<html>Internal Server Error</html>", CALL, ServiceUnavailable),
        (502, b"", CALL, ServiceUnavailable),
        (503, b"", NOTE, ServiceUnavailable),
        (500, {"message": "oops"}, CALL, ServiceUnavailable),  # JSON, but not JSON-RPC
        (200, b"<html>hello</html>", CALL, ProtocolError),
        (404, b"Not Found\n", CALL, ProtocolError),
        (200, {"message": "oops"}, CALL, ProtocolError),
        (429, b"slow down", CALL, RateLimited),
    ],
)
def test_replies_without_json_rpc(status, body, sent, error):
    with pytest.raises(error):
        check(body, sent, status=status, content_type="text/html")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, UNAUTHORIZED),
        (401, b"Unauthorized"),
        (401, b""),
        (403, b""),
        (403, b"Forbidden"),
        (200, UNAUTHORIZED),
        (401, error_reply(-32000, "Server error")),
    ],
)
def test_a_rejected_access_token(status, body):
    with pytest.raises(AccessTokenRejected) as info:
        check(body, CALL, status=status)
    assert info.value.status == status


def test_the_json_body_wins_over_the_status():
    # The 2008 draft maps -32601 to 404 and -32603 to 500: still an RpcError with its code.
    with pytest.raises(RpcError) as info:
        check(error_reply(-32601, "Method not found"), CALL, status=404)
    assert (info.value.rpc_code, info.value.status) == (-32601, 404)
    with pytest.raises(RpcError) as info:
        check(error_reply(-32603, "Internal error"), CALL, status=500)
    assert info.value.rpc_code == -32603
    # "Access denied" with 403 is a permission, not a token problem: no refresh would help.
    with pytest.raises(RpcError) as info:
        check(error_reply(-32003, "Access denied"), CALL, status=403)
    assert not isinstance(info.value, AuthenticationError)


@pytest.mark.parametrize(
    ("code", "message", "is_auth"),
    [
        (-32001, "Unauthorized", True),
        (-32001, "whatever the text", True),
        (-32010, "Token expired", True),  # unknown code, message mentions a token
        (-32011, "Authorization required", True),
        (-32099, "Server busy", False),
        (-32602, "Invalid params: token", False),  # a known code keeps its meaning
        (-32002, "Invalid refresh token", False),
        (-32003, "Access denied", False),
    ],
)
def test_which_json_rpc_errors_mean_a_rejected_access_token(code, message, is_auth):
    expected = AccessTokenRejected if is_auth else RpcError
    with pytest.raises(expected) as info:
        check(error_reply(code, message), CALL)
    assert isinstance(info.value, AccessTokenRejected) == is_auth
    assert info.value.code == str(code)


def test_the_auth_rule_is_configurable():
    rule = jsonrpc.AuthErrorRule(codes=frozenset({-32050}), other_known_codes=frozenset({-32001}))
    outcome = response(error_reply(-32050, "Session gone"))
    with pytest.raises(AccessTokenRejected):
        jsonrpc.check_response(outcome, CALL, provider="p", authenticated=True, auth_rule=rule)
    with pytest.raises(RpcError):
        jsonrpc.check_response(response(UNAUTHORIZED), CALL, provider="p", authenticated=True, auth_rule=rule)


def test_unauthenticated_requests_never_see_a_rejected_access_token():
    with pytest.raises(RpcError) as info:
        check(UNAUTHORIZED, CALL, authenticated=False)
    assert not isinstance(info.value, AccessTokenRejected)
    with pytest.raises(RpcError) as info:
        check(error_reply(-32002, "Invalid refresh token"), CALL, status=401, authenticated=False)
    assert info.value.status == 401
    with pytest.raises(AuthenticationError) as plain:
        check(b"Unauthorized", CALL, status=401, authenticated=False)
    assert not isinstance(plain.value, AccessTokenRejected)


def test_one_rejected_member_rejects_the_whole_batch():
    reply = [
        {"jsonrpc": "2.0", "result": 1, "id": "1"},
        {"jsonrpc": "2.0", "error": {"code": -32001, "message": "Unauthorized"}, "id": "2"},
    ]
    with pytest.raises(AccessTokenRejected):
        check(reply, SENT)
    with pytest.raises(AccessTokenRejected):
        check({"jsonrpc": "2.0", "error": {"code": -32001, "message": "Unauthorized"}, "id": None}, SENT)


def test_a_notification_refused_as_a_whole_raises():
    with pytest.raises(RpcError) as info:
        check(PARSE, NOTE)
    assert info.value.rpc_code == -32700
