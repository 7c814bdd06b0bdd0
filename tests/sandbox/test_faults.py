"""Fault injection in the sandbox server, against the live ALOR and Trading Desk sandboxes and a
third-party emulator, with plain ``requests`` and raw sockets as the client. Every case that can
hang is bounded by a client timeout of about a second, and its elapsed time is asserted."""

from __future__ import annotations

import http.client as http_client
import json
import re
import socket
import threading
import time
from http.client import RemoteDisconnected
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
import requests

import integrations
from integrations import Host, ProviderSpec, hookimpl, sandbox
from integrations.sandbox import Fault, FaultHandle, RequestRecord, SandboxServer

# Measures real elapsed time: not run under faketime (see .ci/run).
pytestmark = pytest.mark.realtime

ORDER_PATH = "/commandapi/warptrans/TRADE/v2/client/orders/actions/market"
ORDER = {
    "side": "buy",
    "quantity": 1,
    "instrument": {"symbol": "SBER", "exchange": "MOEX"},
    "user": {"portfolio": "D39004"},
}
TIMEOUT = (1.0, 1.0)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def causes(exc: BaseException) -> List[BaseException]:
    """``exc`` and everything it wraps (requests and urllib3 nest the socket error in ``args``)."""
    found: List[BaseException] = []
    stack: List[Optional[BaseException]] = [exc]
    while stack:
        e = stack.pop()
        if e is None or any(e is f for f in found):
            continue
        found.append(e)
        stack += [a for a in e.args if isinstance(a, BaseException)] + [e.__cause__, e.__context__]
    return found


def alor_token(http: requests.Session, sb: Any) -> str:
    r = http.post(
        sb.base_urls["oauth"] + "/refresh", json={"token": sb.credentials["refresh_token"]}, timeout=TIMEOUT
    )
    assert r.status_code == 200
    return str(r.json()["AccessToken"])


def place(http: requests.Session, sb: Any, token: str, reqid: str) -> requests.Response:
    return http.post(
        sb.base_urls["api"] + ORDER_PATH,
        json=ORDER,
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {token}", "X-REQID": reqid},
    )


def alor_time(http: requests.Session, sb: Any, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return http.get(sb.base_urls["api"] + "/md/v2/time", **kwargs)


def rpc(
    http: requests.Session,
    sb: Any,
    document: Any,
    *,
    method: Optional[str] = None,
    token: Optional[str] = None,
) -> requests.Response:
    if method is None and isinstance(document, dict):
        method = document.get("method")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post(
        sb.base_urls["api"] + "/api/v2/",
        params={"method": method} if method else None,
        json=document,
        headers=headers,
        timeout=TIMEOUT,
    )


def call(method: str, params: Any = None, id: int = 1) -> Dict[str, Any]:  # noqa: A002 - JSON-RPC's name
    document: Dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        document["params"] = params
    return document


def faulted(sb: Any) -> List[RequestRecord]:
    return [r for r in sb.requests() if r.fault is not None]


# -- the lost reply: ALOR -------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "symptom"), [("reset", ConnectionResetError), ("close", RemoteDisconnected)])
def test_alor_order_whose_reply_is_dropped_was_placed_and_its_retry_gets_the_old_response(
    alor_sandbox, http, how, symptom
):
    token = alor_token(http, alor_sandbox)
    lost = alor_sandbox.faults.add(Fault.drop_reply(how=how, method="POST", path=ORDER_PATH, times=1))
    with pytest.raises(requests.ConnectionError) as info:
        place(http, alor_sandbox, token, "reqid-lost")
    assert any(isinstance(e, symptom) for e in causes(info.value)), causes(info.value)
    assert alor_sandbox.emulator.orders_placed == 1  # the server acted before the reply was lost
    assert (lost.hits, lost.exhausted) == (1, True)

    retry = place(http, alor_sandbox, token, "reqid-lost")  # same id: ALOR answers what it did
    assert retry.status_code == 400
    old = retry.json()["oldResponse"]
    assert old["statusCode"] == 200
    assert old["body"]["message"] == "success"
    assert alor_sandbox.emulator.orders_placed == 1

    first, second = [r for r in alor_sandbox.requests() if r.path == ORDER_PATH]
    assert (first.request_id, first.fault, first.processed, first.status) == (
        "reqid-lost",
        lost.fault,
        True,
        200,
    )
    assert (second.request_id, second.fault, second.processed, second.status) == (
        "reqid-lost",
        None,
        True,
        400,
    )
    assert first.fault_handle is lost


def test_reset_ends_the_connection_before_the_app_sees_the_request(alor_sandbox, http):
    token = alor_token(http, alor_sandbox)
    reset = alor_sandbox.faults.add(Fault.reset(method="POST", times=1))
    with pytest.raises(requests.ConnectionError) as info:
        place(http, alor_sandbox, token, "reqid-reset")
    assert any(isinstance(e, ConnectionResetError) for e in causes(info.value))
    assert alor_sandbox.emulator.orders_placed == 0
    (record,) = faulted(alor_sandbox)
    assert (record.fault, record.processed, record.status) == (reset.fault, False, None)
    # Not processed, so the retry with the same id places it, once.
    assert place(http, alor_sandbox, token, "reqid-reset").json()["message"] == "success"
    assert alor_sandbox.emulator.orders_placed == 1


def test_reset_with_a_clean_close_reads_as_a_remote_disconnect(alor_sandbox, http):
    alor_sandbox.faults.add(Fault.reset(how="close", times=1))
    with pytest.raises(requests.ConnectionError) as info:
        alor_time(http, alor_sandbox)
    assert any(isinstance(e, RemoteDisconnected) for e in causes(info.value))


def test_only_the_faulted_connection_is_ended_keep_alive_goes_on(alor_sandbox, http):
    assert alor_time(http, alor_sandbox).status_code == 200
    alor_sandbox.faults.add(Fault.respond(503, times=1))
    assert alor_time(http, alor_sandbox).status_code == 503  # an answer: the connection stays
    with requests.Session() as other:
        assert alor_time(other, alor_sandbox).status_code == 200  # a second, idle connection
        alor_sandbox.faults.add(Fault.drop_reply(times=1))
        with pytest.raises(requests.ConnectionError):
            alor_time(http, alor_sandbox)
        assert alor_time(http, alor_sandbox).status_code == 200  # the pool opens a new connection
        assert alor_time(other, alor_sandbox).status_code == 200
    conn = [r.connection for r in alor_sandbox.requests()]
    assert conn[0] == conn[1] == conn[3]  # before, the 503, and the dropped one: one connection
    assert conn[4] not in (conn[0], conn[2])  # after the drop: a new one
    assert conn[5] == conn[2]  # the other connection was not touched


# -- the lost reply: Trading Desk --------------------------------------------------------------------------


def test_tradingdesk_rpc_whose_reply_is_lost_reached_the_server_once(td_sandbox, http):
    lost = td_sandbox.faults.add(Fault.drop_reply(rpc_method="User.auth", times=1))
    login = call("User.auth", td_sandbox.credentials)
    with pytest.raises(requests.ConnectionError):
        rpc(http, td_sandbox, login)
    assert td_sandbox.emulator.auth_count == 1
    assert lost.hits == 1
    (record,) = td_sandbox.requests()
    assert (record.rpc_methods, record.processed, record.status, record.fault) == (
        ("User.auth",),
        True,
        200,
        lost.fault,
    )
    assert record.query == "method=User.auth"
    answer = rpc(http, td_sandbox, login).json()
    assert "access_token" in answer["result"]
    assert td_sandbox.emulator.auth_count == 2


def test_tradingdesk_batch_member_and_query_method_match(td_sandbox, http):
    token = rpc(http, td_sandbox, call("User.auth", td_sandbox.credentials)).json()["result"]["access_token"]
    td_sandbox.faults.add(Fault.respond(500, rpc_method="Campaign.getList"))
    td_sandbox.faults.add(Fault.respond(418, rpc_method="Only.InQuery"))
    td_sandbox.faults.add(Fault.respond(503, rpc_method=re.compile(r"^Campaign\.get")))
    batch = [call("User.getInfo", id=1), call("Campaign.getList", id=2)]
    assert rpc(http, td_sandbox, batch, token=token).status_code == 500  # any member of a batch
    assert rpc(http, td_sandbox, [call("User.getInfo")], token=token).status_code == 200
    # The query's ?method= alone, with a body that names nothing.
    r = http.post(
        td_sandbox.base_urls["api"] + "/api/v2/?method=Only.InQuery", data=b"not json", timeout=TIMEOUT
    )
    assert r.status_code == 418
    assert rpc(http, td_sandbox, call("Campaign.getInfo", {"id": 1}), token=token).status_code == 503  # regex
    records = td_sandbox.requests()
    assert records[1].rpc_methods == ("User.getInfo", "Campaign.getList")
    assert records[3].rpc_methods == ("Only.InQuery",)
    assert records[4].rpc_methods == ("Campaign.getInfo",)
    assert [r.fault.status if r.fault else None for r in records] == [None, 500, None, 418, 503]


# -- answering instead of the app ----------------------------------------------------------------------


def test_respond_429_with_retry_after_instead_of_the_app(alor_sandbox, http):
    token = alor_token(http, alor_sandbox)
    limit = alor_sandbox.faults.add(
        Fault.respond(429, {"Retry-After": "3600"}, b'{"message":"slow down"}', path=ORDER_PATH, times=1)
    )
    r = place(http, alor_sandbox, token, "reqid-429")
    assert (r.status_code, r.reason, r.headers["Retry-After"], r.json()) == (
        429,
        "Too Many Requests",
        "3600",
        {"message": "slow down"},
    )
    assert alor_sandbox.emulator.orders_placed == 0
    assert limit.hits == 1
    assert place(http, alor_sandbox, token, "reqid-429").status_code == 200  # times=1: used up


def test_respond_with_an_html_page(alor_sandbox, http):
    page = "<html><body>Service temporarily unavailable</body></html>"
    alor_sandbox.faults.add(Fault.respond(503, {"Content-Type": "text/html"}, page, service="api"))
    r = alor_time(http, alor_sandbox)
    assert (r.status_code, r.headers["Content-Type"], r.text) == (503, "text/html", page)
    assert int(r.headers["Content-Length"]) == len(page)


def test_redirect_to_another_path_of_itself(alor_sandbox, http):
    alor_sandbox.faults.add(Fault.redirect(307, "/api/md/v2/time", path="/md/v2/moved"))
    r = http.get(alor_sandbox.base_urls["api"] + "/md/v2/moved", timeout=TIMEOUT, allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (307, "/api/md/v2/time")
    r = http.get(alor_sandbox.base_urls["api"] + "/md/v2/moved", timeout=TIMEOUT)
    assert r.status_code == 200 and isinstance(r.json(), int)
    assert [h.status_code for h in r.history] == [307]
    assert [(x.path, x.processed) for x in alor_sandbox.requests()] == [
        ("/md/v2/moved", False),
        ("/md/v2/moved", False),
        ("/md/v2/time", True),
    ]


def test_redirect_to_itself_loops_until_the_client_gives_up(alor_sandbox, http):
    loop = alor_sandbox.faults.add(Fault.redirect(301, "/api/md/v2/time", path="/md/v2/time"))
    http.max_redirects = 5
    with pytest.raises(requests.TooManyRedirects):
        alor_time(http, alor_sandbox)
    assert loop.hits == 6


def test_redirect_to_another_port(alor_sandbox, http):
    def landing(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"landed": true}']

    with SandboxServer({"elsewhere": landing}) as other:
        alor_sandbox.faults.add(Fault.redirect(302, other.base_urls["elsewhere"] + "/here", service="api"))
        r = alor_time(http, alor_sandbox)
        assert r.json() == {"landed": True}
        (arrived,) = other.requests()
        assert (arrived.service, arrived.path) == ("elsewhere", "/here")


@pytest.mark.parametrize("size", [2, 10, 11, 3 * 65536 + 5, 5_000_000])
def test_huge_answers_valid_json_of_exactly_size_bytes(alor_sandbox, http, size):
    alor_sandbox.faults.add(Fault.huge(size))
    r = alor_time(http, alor_sandbox)
    assert (r.status_code, int(r.headers["Content-Length"]), len(r.content)) == (200, size, size)
    document = r.json()
    value = document["data"] if isinstance(document, dict) else document
    assert set(value) <= {"x"}
    head = http.head(alor_sandbox.base_urls["api"] + "/md/v2/time", timeout=TIMEOUT)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, str(size), b"")


# -- slow, partial and missing replies ---------------------------------------------------------------------


def test_drip_sends_the_reply_in_pieces_with_pauses(alor_sandbox, http):
    plain = alor_time(http, alor_sandbox).content
    alor_sandbox.faults.add(Fault.drip(interval=0.1, chunk=2, times=1))
    started = time.monotonic()
    r = alor_time(http, alor_sandbox)
    elapsed = time.monotonic() - started
    pauses = -(-len(plain) // 2) - 1
    assert r.content == plain
    assert pauses * 0.1 * 0.9 <= elapsed < pauses * 0.1 + 1.0


def test_a_dripping_body_is_not_stopped_by_a_per_read_timeout(alor_sandbox, http):
    # requests' read timeout bounds each socket read, not the whole body: a client that needs a
    # deadline for the whole reply has to keep its own.
    alor_sandbox.faults.add(Fault.drip(interval=0.15, chunk=1, times=1))
    started = time.monotonic()
    r = alor_time(http, alor_sandbox, timeout=(1.0, 0.5))
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert 0.15 * (len(r.content) - 1) * 0.9 <= elapsed < 0.15 * len(r.content) + 1.5
    assert elapsed > 0.5  # longer than the read timeout


def test_drip_of_the_head_too_and_a_client_that_leaves_midway(alor_sandbox):
    alor_sandbox.faults.add(Fault.drip(interval=0.3, chunk=4, head=True, times=1))
    host, port = alor_sandbox.base_urls["api"].split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=1.0) as sock:
        sock.sendall(b"GET /api/md/v2/time HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        started = time.monotonic()
        assert sock.recv(1024) == b"HTTP"  # the status line itself trickles
        assert sock.recv(1024) == b"/1.1"
        assert 0.2 <= time.monotonic() - started < 1.0
    time.sleep(0.4)  # the server's next write finds the connection gone; it must just end it
    assert alor_time(requests, alor_sandbox).status_code == 200


def _read_time_raw(sb: Any) -> Any:
    # http.client, not requests: urllib3 1.26 (Python 3.9) does not enforce Content-Length by default.
    host, port = sb.base_urls["api"].split("//")[1].split("/")[0].split(":")
    connection = http_client.HTTPConnection(host, int(port), timeout=2.0)
    try:
        connection.request("GET", "/api/md/v2/time")
        return connection.getresponse().read()
    finally:
        connection.close()


def test_truncate_sends_part_of_the_body_then_ends_the_connection(alor_sandbox, http):
    alor_sandbox.faults.add(Fault.truncate(after=3, times=1))
    with pytest.raises(http_client.IncompleteRead) as info:
        _read_time_raw(alor_sandbox)
    assert len(info.value.partial) == 3
    alor_sandbox.faults.add(Fault.truncate(how="reset", times=1))
    with pytest.raises((http_client.IncompleteRead, ConnectionResetError)):
        _read_time_raw(alor_sandbox)
    assert [(r.processed, r.status) for r in faulted(alor_sandbox)] == [(True, 200), (True, 200)]


def test_silence_reads_the_request_and_never_answers(alor_sandbox, http):
    silent = alor_sandbox.faults.add(Fault.silence(path="/md/v2/time", times=1))
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        alor_time(http, alor_sandbox, timeout=(1.0, 0.5))
    assert 0.45 <= time.monotonic() - started < 1.5
    (record,) = alor_sandbox.requests()
    assert (record.fault, record.processed, record.status) == (silent.fault, False, None)
    assert alor_time(http, alor_sandbox).status_code == 200


def test_stop_returns_promptly_while_requests_are_held_silent_or_idle():
    before = set(threading.enumerate())
    outcome: List[BaseException] = []
    sb = sandbox.start("alor")
    try:
        sb.faults.add(Fault.silence(path="/md/v2/time"))
        idle = requests.Session()
        assert (
            idle.get(sb.base_urls["api"] + "/md/v2/orderbooks/MOEX/SBER", timeout=TIMEOUT).status_code == 401
        )

        def hang() -> None:
            try:
                requests.get(sb.base_urls["api"] + "/md/v2/time", timeout=(1.0, 5.0))
            except requests.RequestException as exc:
                outcome.append(exc)

        client = threading.Thread(target=hang)
        client.start()
        deadline = time.monotonic() + 1.0
        while len(sb.requests()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(sb.requests()) == 2  # the silent request has arrived and is held
    finally:
        started = time.monotonic()
        sb.stop()
        stopped = time.monotonic() - started
    client.join(2.0)
    assert stopped < 1.0
    assert not client.is_alive()
    assert time.monotonic() - started < 1.5
    assert [type(e) for e in outcome] == [requests.ConnectionError]  # not a 5 s read timeout
    idle.close()
    # Every handler thread of the server has ended, the idle keep-alive connection's too.
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []


# -- matching ------------------------------------------------------------------------------------------------


def test_matching_by_service_method_and_path(alor_sandbox, http):
    token = alor_token(http, alor_sandbox)
    api = alor_sandbox.base_urls["api"]
    alor_sandbox.faults.add(Fault.respond(501, service="oauth"))
    alor_sandbox.faults.add(Fault.respond(502, method="post"))  # methods are case-insensitive
    alor_sandbox.faults.add(Fault.respond(503, path="/md/v2/time"))  # exact
    alor_sandbox.faults.add(Fault.respond(504, path=re.compile(r"^/md/v2/orderbooks/MOEX/")))  # searched
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        http.post(alor_sandbox.base_urls["oauth"] + "/refresh", json={}, timeout=TIMEOUT).status_code == 501
    )
    assert place(http, alor_sandbox, token, "reqid-m").status_code == 502
    assert http.get(api + "/md/v2/time", timeout=TIMEOUT).status_code == 503
    assert http.get(api + "/md/v2/time/", timeout=TIMEOUT).status_code == 200  # not the exact path
    assert http.get(api + "/md/v2/orderbooks/MOEX/SBER", headers=auth, timeout=TIMEOUT).status_code == 504
    assert http.get(api + "/md/v2/orderbooks/SPBX/AAPL", headers=auth, timeout=TIMEOUT).status_code != 504
    assert alor_sandbox.emulator.orders_placed == 0


def test_times_skip_and_order(alor_sandbox, http):
    first = alor_sandbox.faults.add(Fault.respond(501, path="/md/v2/time", times=2))
    second = alor_sandbox.faults.add(Fault.respond(502, path="/md/v2/time", times=1))
    assert [alor_time(http, alor_sandbox).status_code for _ in range(4)] == [501, 501, 502, 200]
    assert (first.hits, second.hits, first.exhausted, second.exhausted) == (2, 1, True, True)
    assert list(alor_sandbox.faults) == [first, second]  # used up, still listed, no longer matching
    alor_sandbox.faults.clear()
    skipping = alor_sandbox.faults.add(Fault.respond(503, skip=2, times=1))
    assert [alor_time(http, alor_sandbox).status_code for _ in range(4)] == [200, 200, 503, 200]
    assert skipping.hits == 1


def test_remove_clear_and_a_predicate(alor_sandbox, http):
    token = alor_token(http, alor_sandbox)
    every = alor_sandbox.faults.add(Fault.respond(503))
    assert alor_time(http, alor_sandbox).status_code == 503
    alor_sandbox.faults.remove(every)
    alor_sandbox.faults.remove(every)  # removing twice is fine
    assert alor_time(http, alor_sandbox).status_code == 200
    alor_sandbox.faults.add(Fault.respond(409, when=lambda r: r.request_id == "reqid-dup"))
    assert place(http, alor_sandbox, token, "reqid-dup").status_code == 409
    assert place(http, alor_sandbox, token, "reqid-ok").status_code == 200
    alor_sandbox.faults.add(Fault.respond(503))
    alor_sandbox.faults.clear()
    assert len(alor_sandbox.faults) == 0
    assert alor_time(http, alor_sandbox).status_code == 200
    assert every.hits == 1


def test_no_fault_means_no_body_is_parsed(alor_sandbox, http, monkeypatch):
    import integrations.sandbox.server as server_module

    parsed: List[bytes] = []
    real = server_module.rpc_methods
    monkeypatch.setattr(
        server_module, "rpc_methods", lambda query, body: parsed.append(body) or real(query, body)
    )
    token = alor_token(http, alor_sandbox)
    place(http, alor_sandbox, token, "reqid-fast")
    alor_sandbox.faults.add(Fault.respond(503, method="DELETE"))  # needs no body to match
    place(http, alor_sandbox, token, "reqid-fast-2")
    assert parsed == []
    alor_sandbox.faults.add(Fault.respond(503, rpc_method="Nothing.here"))
    place(http, alor_sandbox, token, "reqid-fast-3")
    assert len(parsed) == 1


# -- the request log --------------------------------------------------------------------------------------


def test_request_log_records_what_the_server_received(alor_sandbox, http):
    token = alor_token(http, alor_sandbox)
    place(http, alor_sandbox, token, "reqid-log")
    alor_time(http, alor_sandbox, params={"x": "1"})
    refresh, order, clock = alor_sandbox.requests()
    assert [(r.service, r.method, r.path) for r in (refresh, order, clock)] == [
        ("oauth", "POST", "/refresh"),
        ("api", "POST", ORDER_PATH),
        ("api", "GET", "/md/v2/time"),
    ]
    assert refresh.seq < order.seq < clock.seq
    assert clock.query == "x=1"
    assert order.headers["x-reqid"] == order.headers["X-REQID"] == order.request_id == "reqid-log"
    assert "authorization" in order.headers
    assert order.json() == ORDER
    assert (order.status, order.processed, order.fault) == (200, True, None)
    assert order.connection == clock.connection  # one keep-alive connection
    assert token not in repr(order) and "reqid-log" not in repr(order.headers)  # names, never values
    alor_sandbox.clear_requests()
    assert alor_sandbox.requests() == []
    alor_time(http, alor_sandbox)
    (again,) = alor_sandbox.requests()
    assert again.seq == clock.seq + 1


def test_the_request_log_is_bounded():
    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        start_response("204 No Content", [])
        return []

    with SandboxServer({"svc": app}, request_log=3) as server, requests.Session() as http:
        for n in range(5):
            assert http.get(f"{server.base_urls['svc']}/{n}", timeout=TIMEOUT).status_code == 204
        assert [(r.seq, r.path) for r in server.requests()] == [(3, "/2"), (4, "/3"), (5, "/4")]


def test_faults_are_added_and_cleared_safely_while_requests_flow(alor_sandbox):
    threads, per_thread = 8, 40
    statuses: List[int] = []
    errors: List[BaseException] = []
    handles: List[FaultHandle] = []
    lock = threading.Lock()
    done = threading.Event()

    def worker() -> None:
        with requests.Session() as http:
            for _ in range(per_thread):
                try:
                    status = alor_time(http, alor_sandbox).status_code
                except requests.RequestException as exc:
                    with lock:
                        errors.append(exc)
                else:
                    with lock:
                        statuses.append(status)

    def churn() -> None:
        while not done.is_set():
            handles.append(alor_sandbox.faults.add(Fault.respond(503, times=3)))
            temporary = alor_sandbox.faults.add(Fault.respond(502))
            handles.append(temporary)
            time.sleep(0.001)
            alor_sandbox.faults.remove(temporary)
            if len(handles) % 10 == 0:
                alor_sandbox.faults.clear()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    churner = threading.Thread(target=churn)
    churner.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    done.set()
    churner.join(5)
    assert errors == []
    assert len(statuses) == threads * per_thread
    assert set(statuses) <= {200, 502, 503}
    faulted_statuses = [s for s in statuses if s != 200]
    assert faulted_statuses, "the churn should have hit some requests"
    assert sum(h.hits for h in handles) == len(faulted_statuses)
    records = alor_sandbox.requests()
    assert len(records) == threads * per_thread
    assert sorted(r.status for r in records if r.fault) == sorted(faulted_statuses)
    assert all(r.fault.status == r.status for r in records if r.fault)


# -- a third-party emulator gets faults with no code of its own -------------------------------------------


class KeyValueEmulator:
    """A tiny two-service emulator: ``kv`` (PUT/GET /<key>) and ``auth`` (POST /token)."""

    def __init__(self, seed: int = 0, clock: Any = None) -> None:
        self.store: Dict[str, bytes] = {}
        self.lock = threading.Lock()

    def wsgi_apps(self) -> Dict[str, Any]:
        return {"kv": self._kv, "auth": self._auth}

    def credentials(self) -> Dict[str, str]:
        return {"key": "kv-key"}

    def _kv(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        key = environ["PATH_INFO"].strip("/")
        with self.lock:
            if environ["REQUEST_METHOD"] == "PUT":
                self.store[key] = body
            value = self.store.get(key, b"")
        payload = json.dumps({"key": key, "value": value.decode()}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [payload]

    def _auth(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"token": "kv-token"}']


class KeyValuePlugin:
    @hookimpl
    def integrations_register_providers(self, register: Any) -> None:
        register(
            ProviderSpec(
                name="integrations_selftest_kv",
                description="a third-party key/value store",
                contours={"test": {"kv": "https://kv.invalid", "auth": "https://auth.invalid"}},
                credentials=(frozenset({"key"}),),
                facade=integrations.ProviderClient,
                emulator=KeyValueEmulator,
            )
        )


def test_a_third_party_emulator_gets_faults_with_no_code_of_its_own(http):
    host = Host(plugins=(("integrations_selftest_kv", KeyValuePlugin()),), load_entry_points=False)
    with sandbox.running("integrations_selftest_kv", host=host) as sb:
        kv, auth = sb.base_urls["kv"], sb.base_urls["auth"]
        lost = sb.faults.add(Fault.drop_reply(service="kv", method="PUT", path="/colour", times=1))
        sb.faults.add(Fault.respond(429, {"Retry-After": "1"}, service="auth", times=1))
        with pytest.raises(requests.ConnectionError):
            http.put(kv + "/colour", data=b"blue", timeout=TIMEOUT)
        assert sb.emulator.store == {"colour": b"blue"}  # processed, reply lost
        assert http.get(kv + "/colour", timeout=TIMEOUT).json() == {"key": "colour", "value": "blue"}
        assert http.post(auth + "/token", timeout=TIMEOUT).status_code == 429
        assert http.post(auth + "/token", timeout=TIMEOUT).json() == {"token": "kv-token"}
        assert http.get(sb.base_urls["kv"].rsplit("/", 1)[0] + "/nowhere", timeout=TIMEOUT).status_code == 404
        records = sb.requests()
        assert [(r.service, r.method, r.path, r.status) for r in records] == [
            ("kv", "PUT", "/colour", 200),
            ("kv", "GET", "/colour", 200),
            ("auth", "POST", "/token", 429),
            ("auth", "POST", "/token", 200),
            ("nowhere", "GET", "", 404),
        ]
        assert records[0].fault_handle is lost and records[0].body == b"blue"


def _read_to_end(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(1024):
        data += chunk
    return data


def test_a_raw_socket_sees_a_reset_not_a_reply(alor_sandbox):
    alor_sandbox.faults.add(Fault.drop_reply(times=1))
    host, port = alor_sandbox.base_urls["api"].split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=1.0) as sock:
        sock.sendall(b"GET /api/md/v2/time HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        started = time.monotonic()
        with pytest.raises(ConnectionResetError):
            _read_to_end(sock)
        assert time.monotonic() - started < 0.5
    (record,) = alor_sandbox.requests()
    assert (record.processed, record.status) == (True, 200)
