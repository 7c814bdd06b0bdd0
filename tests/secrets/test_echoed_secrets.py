"""A server that echoes secrets: whatever it puts in an error (the refresh token, the access JWT, the
email, the password), none of it reaches the caller: not ``str(exc)``, ``repr(exc)``, any attribute
at any depth, the formatted traceback, the pickled error, nor any log line (DEBUG included).

Against the live sandboxes, with ``Fault.respond`` answers built from the client's actual secrets."""

from __future__ import annotations

import json
import logging
import pickle
import re
import traceback
from typing import Any, Callable, Iterator, List, Set

import pytest

import integrations
from integrations import errors
from integrations.protocols import jsonrpc
from integrations.runtime import SequentialIds
from integrations.sandbox import Fault
from integrations.scrub import PLACEHOLDER
from integrations.transport import Request

ORDERBOOK = "/md/v2/orderbooks/MOEX/SBER"


# -- where a secret could hide ------------------------------------------------------------------------


def _texts(value: Any, seen: Set[int], depth: int = 0) -> Iterator[str]:
    """Every string in ``value``: containers, exceptions (args, attributes, causes, notes) and
    objects' attributes, at any depth."""
    if depth > 40 or id(value) in seen:
        return
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, (bytes, bytearray)):
        yield bytes(value).decode("utf-8", "replace")
        return
    if value is None or isinstance(value, (int, float, bool)):
        return
    seen.add(id(value))
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(k, seen, depth + 1)
            yield from _texts(v, seen, depth + 1)
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _texts(v, seen, depth + 1)
        return
    if isinstance(value, BaseException):
        yield str(value)
        yield repr(value)
        yield from _texts(value.args, seen, depth + 1)
        yield from _texts(value.__cause__, seen, depth + 1)
        yield from _texts(value.__context__, seen, depth + 1)
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict) and not callable(value):
        yield from _texts(attributes, seen, depth + 1)


def leaks(exc: BaseException, secrets: Set[str], logs: str = "") -> List[str]:
    """What shows a secret: ``[]`` when nothing does. Names the place, never the secret."""
    places = {
        "str": str(exc),
        "repr": repr(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "pickle": pickle.dumps(exc).decode("latin-1"),
        "logs": logs,
    }
    places.update({f"attribute text {n}": t for n, t in enumerate(_texts(exc, set()))})
    found = []
    for where, text in places.items():
        for secret in secrets:
            pieces = [secret]
            if secret.count(".") == 2 and secret.startswith("eyJ"):
                pieces.append(secret.rsplit(".", 1)[1])  # a JWT's signature identifies it alone
            if any(piece and piece in text for piece in pieces):
                found.append(f"{where} shows a secret of length {len(secret)}")
    return found


def client_secrets(sb: Any, client: Any) -> Set[str]:
    """The credential values and every token the client holds now."""
    values = set(sb.credentials.values())
    token = client.client.tokens.peek()
    if token is not None:
        values |= {token.access, *([token.refresh] if token.refresh else [])}
    return values


def expect_no_leak(
    caplog: pytest.LogCaptureFixture, sb: Any, client: Any, action: Callable[[], Any], raises: Any
) -> BaseException:
    """Run ``action``, which must raise ``raises``; assert the error and the logs show no secret."""
    before = client_secrets(sb, client)
    with pytest.raises(raises) as info:
        action()
    secrets = before | client_secrets(sb, client)  # a renewal may have happened meanwhile
    logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(info.value, secrets, logs) == []
    return info.value


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


# -- ALOR ------------------------------------------------------------------------------------------


@pytest.fixture
def alor(alor_sandbox, alor_live):
    alor_live.orderbook("MOEX", "SBER", depth=1)  # logged in: the JWT is known
    return alor_sandbox, alor_live


def _alor_echo(sb: Any, client: Any) -> str:
    token = client.client.tokens.peek()
    return f"refresh {sb.credentials['refresh_token']} access {token.access} Bearer {token.access}"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.Rejected),
        (401, errors.AccessTokenRejected),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
    ],
)
def test_alor_json_error_echoing_the_tokens(alor, caplog, status, expected):
    sb, client = alor
    echo = _alor_echo(sb, client)
    body = json.dumps({"code": "Echo", "message": f"bad request: {echo}", "token": echo, "echo": [echo]})
    sb.faults.add(Fault.respond(status, {"Content-Type": "application/json"}, body, path=ORDERBOOK))
    exc = expect_no_leak(caplog, sb, client, lambda: client.orderbook("MOEX", "SBER"), expected)
    assert PLACEHOLDER in exc.message and PLACEHOLDER in exc.raw
    assert exc.status == status and exc.code == "Echo"


def test_alor_error_code_echoing_a_token(alor, caplog):
    sb, client = alor
    refresh = sb.credentials["refresh_token"]
    body = json.dumps({"code": refresh, "message": "no"})
    sb.faults.add(Fault.respond(400, {"Content-Type": "application/json"}, body, path=ORDERBOOK))
    exc = expect_no_leak(caplog, sb, client, lambda: client.orderbook("MOEX", "SBER"), errors.Rejected)
    assert exc.code == PLACEHOLDER


def test_alor_500_html_page_echoing_the_tokens(alor, caplog):
    sb, client = alor
    page = f"<html><body><h1>500</h1><pre>{_alor_echo(sb, client)}</pre></body></html>"
    sb.faults.add(Fault.respond(500, {"Content-Type": "text/html"}, page, path=ORDERBOOK))
    expect_no_leak(caplog, sb, client, lambda: client.orderbook("MOEX", "SBER"), errors.ServiceUnavailable)


def test_alor_long_body_cut_inside_a_token(alor, caplog):
    # The preview (raw) is cut at 500 characters: the cut falls inside the echoed refresh token.
    sb, client = alor
    refresh = sb.credentials["refresh_token"]
    prefix = '{"message": "x", "pad": "' + "p" * (500 - 30 - len(refresh) // 2)
    body = prefix[: 500 - len(refresh) // 2] + refresh + '"}'
    sb.faults.add(Fault.respond(400, {"Content-Type": "application/json"}, body, path=ORDERBOOK))
    exc = expect_no_leak(caplog, sb, client, lambda: client.orderbook("MOEX", "SBER"), errors.Rejected)
    assert refresh[: len(refresh) // 2] not in exc.raw
    assert exc.raw.endswith(PLACEHOLDER)


@pytest.mark.parametrize("status", [400, 403, 500])
def test_alor_refresh_refused_echoing_the_refresh_token(alor_sandbox, alor_live, caplog, status):
    sb, client = alor_sandbox, alor_live
    refresh = sb.credentials["refresh_token"]
    body = json.dumps({"message": f"refresh token {refresh} is revoked", "token": refresh})
    sb.faults.add(Fault.respond(status, {"Content-Type": "application/json"}, body, service="oauth"))
    expected = errors.ServiceUnavailable if status == 500 else errors.AuthenticationError
    expect_no_leak(caplog, sb, client, lambda: client.orderbook("MOEX", "SBER"), expected)
    expect_no_leak(caplog, sb, client, lambda: client.client.token(), expected)


def test_alor_non_json_200_echoing_the_tokens(alor, caplog):
    sb, client = alor
    sb.faults.add(Fault.respond(200, {"Content-Type": "text/plain"}, _alor_echo(sb, client), path=ORDERBOOK))
    expect_no_leak(caplog, sb, client, lambda: client.orderbook("MOEX", "SBER"), errors.ProtocolError)


# -- Trading Desk ----------------------------------------------------------------------------------


@pytest.fixture
def td(td_sandbox, td_live):
    td_live.user_info()  # logged in: both tokens are known
    return td_sandbox, td_live


def _td_echo(sb: Any, client: Any) -> str:
    token = client.client.tokens.peek()
    creds = sb.credentials
    return f"user {creds['email']} password {creds['password']} access {token.access} refresh {token.refresh}"


def _rpc_error(code: int, message: str, data: Any = None) -> str:
    error = {"code": code, "message": message, **({"data": data} if data is not None else {})}
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error})


def _td_data(sb: Any, client: Any) -> Any:
    token = client.client.tokens.peek()
    creds = sb.credentials
    return {
        "request": {"email": creds["email"], "password": creds["password"]},
        "seen": [token.access, {"deeper": (token.refresh, _td_echo(sb, client))}],
        "Authorization": f"Bearer {token.access}",
    }


@pytest.mark.parametrize("code", [-32602, -32603, -32000, -32003])
def test_td_rpc_error_echoing_everything(td, caplog, code):
    sb, client = td
    body = _rpc_error(code, f"failed for {_td_echo(sb, client)}", _td_data(sb, client))
    sb.faults.add(Fault.respond(200, {"Content-Type": "application/json"}, body, rpc_method="User.getInfo"))
    exc = expect_no_leak(caplog, sb, client, client.user_info, errors.RpcError)
    assert exc.rpc_code == code and PLACEHOLDER in exc.message
    assert exc.data["request"]["password"] == PLACEHOLDER
    assert exc.data["seen"][0] == PLACEHOLDER


def test_td_token_rejection_echoing_the_token(td, caplog):
    sb, client = td
    body = _rpc_error(-32001, f"Unauthorized: {_td_echo(sb, client)}", _td_data(sb, client))
    sb.faults.add(Fault.respond(401, {"Content-Type": "application/json"}, body, rpc_method="User.getInfo"))
    expect_no_leak(caplog, sb, client, client.user_info, errors.AccessTokenRejected)


@pytest.mark.parametrize("status", [200, 500])
def test_td_non_json_echoing_everything(td, caplog, status):
    sb, client = td
    page = f"<html><body>Fatal error: {_td_echo(sb, client)}</body></html>"
    sb.faults.add(Fault.respond(status, {"Content-Type": "text/html"}, page, rpc_method="User.getInfo"))
    expected = errors.ProtocolError if status == 200 else errors.ServiceUnavailable
    expect_no_leak(caplog, sb, client, client.user_info, expected)


@pytest.mark.parametrize("code", [-32004, -32603, -32000])
def test_td_login_refused_echoing_the_credentials(td_sandbox, td_live, caplog, code):
    # Not logged in yet: User.auth answers with an error that repeats the email and the password.
    sb, client = td_sandbox, td_live
    creds = sb.credentials
    echo = f"login {creds['email']} / {creds['password']} refused"
    body = _rpc_error(code, echo, {"params": dict(creds)})
    sb.faults.add(Fault.respond(200, {"Content-Type": "application/json"}, body, rpc_method="User.auth"))
    # A standard code is never a refusal of the credentials; others are, by code or by message.
    expected = errors.RpcError if code in jsonrpc.STANDARD_CODES else errors.AuthenticationError
    expect_no_leak(caplog, sb, client, client.user_info, expected)
    expect_no_leak(caplog, sb, client, client.client.token, expected)


def test_td_refresh_refused_echoing_the_tokens(td, caplog, clock):
    sb, client = td
    body = _rpc_error(-32603, f"cannot rotate {_td_echo(sb, client)}", _td_data(sb, client))
    sb.faults.add(
        Fault.respond(200, {"Content-Type": "application/json"}, body, rpc_method="User.tokenRefresh")
    )
    sb.faults.add(Fault.respond(500, {}, _td_echo(sb, client), rpc_method="User.auth"))
    clock.advance(7 * 86400)  # the access token is due: a refresh, refused, then a login, failing
    expect_no_leak(caplog, sb, client, client.user_info, errors.IntegrationError)


def test_td_admin_token_echoed(td_sandbox, clock, caplog):
    sb = td_sandbox
    admin = sb.emulator.admin_credentials()
    with integrations.connect(
        "tradingdesk", base_urls=sb.base_urls, credentials=admin, clock=clock, ids=SequentialIds()
    ) as client:
        body = _rpc_error(-32603, f"token {admin['token']} broke", {"token": admin["token"]})
        sb.faults.add(
            Fault.respond(200, {"Content-Type": "application/json"}, body, rpc_method="User.getInfo")
        )
        with pytest.raises(errors.RpcError) as info:
            client.user_info()
    assert leaks(info.value, {admin["token"]}, caplog.text) == []


def test_td_batch_member_error_echoing_everything(td, caplog):
    # A failed member does not raise: its outcome carries the error, returned, not raised, by the client.
    sb, client = td
    error = json.loads(_rpc_error(-32603, f"member failed: {_td_echo(sb, client)}", _td_data(sb, client)))
    body = json.dumps([error])
    sb.faults.add(Fault.respond(200, {"Content-Type": "application/json"}, body, rpc_method="User.getInfo"))
    before = client_secrets(sb, client)
    outcomes = client.batch([("User.getInfo", {}), ("Campaign.getList", {})])
    assert not outcomes[0].ok and not outcomes[1].ok
    for outcome in outcomes:
        with pytest.raises(errors.IntegrationError) as info:
            outcome.unwrap()
        logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
        assert leaks(info.value, before | client_secrets(sb, client), logs) == []
    assert isinstance(outcomes[0].error, errors.RpcError) and PLACEHOLDER in outcomes[0].error.message


# -- repr, URL user info, secret values too short to scrub ---------------------------------------------


def test_request_repr_shows_no_password(td_sandbox):
    from integrations_tradingdesk import provider

    password = td_sandbox.credentials["password"]
    request = jsonrpc.build_request(
        jsonrpc.RpcCall("User.auth", {"email": "a@example.com", "password": password}),
        ids=SequentialIds(),
        path=provider.PATH,
        query_parameter=provider.QUERY_PARAMETER,
        authenticated=False,
        operation="tradingdesk.User.auth",
    )
    text = repr(request)
    assert password not in text and "a@example.com" not in text
    assert "tradingdesk.User.auth" in text and "POST" in text and provider.PATH in text
    assert f"request_id={request.request_id!r}" in text
    headers = Request("GET", "/x", headers={"Authorization": "Bearer abcdefghijklmnopq"}, params={"t": "zz"})
    assert "abcdefghijklmnopq" not in repr(headers) and "zz" not in repr(headers)


def _with_userinfo(urls: Any, userinfo: str) -> Any:
    return {k: re.sub(r"^(https?://)", rf"\g<1>{userinfo}@", v) for k, v in urls.items()}


USER, PASSWORD = "deploy", "s3cr3t-Pa55word/with:chars"


@pytest.mark.parametrize(
    "fault",
    [
        Fault.reset(path=ORDERBOOK),
        Fault.respond(500, path=ORDERBOOK),
        Fault.respond(400, {}, '{"message": "bad"}', path=ORDERBOOK),
        Fault.respond(200, {"Content-Type": "text/plain"}, "not json", path=ORDERBOOK),
        Fault.respond(403, service="oauth"),
    ],
    ids=["reset", "500", "400", "not-json", "login-refused"],
)
def test_base_url_user_info_never_shows(alor_sandbox, clock, caplog, fault):
    from urllib.parse import quote

    sb = alor_sandbox
    userinfo = f"{USER}:{quote(PASSWORD, safe='')}"
    urls = _with_userinfo(sb.base_urls, userinfo)
    with integrations.connect(
        "alor", base_urls=urls, credentials=sb.credentials, clock=clock, ids=SequentialIds(), max_retries=0
    ) as client:
        if fault.service != "oauth":
            client.orderbook("MOEX", "SBER", depth=1)
        sb.faults.add(fault)
        with pytest.raises(errors.IntegrationError) as info:
            client.orderbook("MOEX", "SBER")
        secrets = {PASSWORD, quote(PASSWORD, safe=""), userinfo, *client_secrets(sb, client)}
        assert leaks(info.value, secrets, caplog.text) == []
        assert "127.0.0.1" in str(info.value) or fault.service == "oauth" or info.value.status


def test_short_credentials_do_not_blank_out_messages():
    from integrations.scrub import MIN_SECRET_LENGTH, SecretSet

    secrets = SecretSet(["ab", "x1", "abc", "p4ss"])
    assert MIN_SECRET_LENGTH == 4
    assert secrets.scrub_text("abc ab x1 label") == "abc ab x1 label"
    assert secrets.scrub_text("my p4ss!") == f"my {PLACEHOLDER}!"
