"""Transport: timeouts on every request, JSON decoding, and failures mapped to the error tree."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Iterator

import pytest

from integrations import (
    ConnectionError,
    NotFound,
    PermissionDenied,
    ProtocolError,
    RateLimited,
    Rejected,
    ServiceUnavailable,
    Timeout,
    Timeouts,
    ValidationError,
    raise_for_status,
)
from integrations.errors import AccessTokenRejected
from integrations.sandbox import SandboxServer
from integrations.transport import Deadline, Response, Transport


def app(environ: dict, start_response: Any) -> Iterator[bytes]:
    path = environ["PATH_INFO"]
    if path == "/slow":
        time.sleep(0.5)
    if path == "/html":
        body, ctype = b"<html>maintenance</html>", "text/html"
    else:
        body, ctype = (
            json.dumps({"path": path, "query": environ["QUERY_STRING"]}).encode(),
            "application/json",
        )
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer({"svc": app}) as s:
        yield s


def test_default_timeouts_apply_to_every_request():
    t = Transport()
    assert t.timeouts == Timeouts(connect=5.0, read=30.0)


def test_timeouts_coerce_and_validate():
    assert Timeouts.coerce(2) == Timeouts(2.0, 2.0, 2.0)  # a number is the whole call's budget
    assert Timeouts.coerce((1, 3)) == Timeouts(1.0, 3.0, Timeouts().total)
    for bad in (0, -1, (1,), (1, 0), "5", True, float("inf"), float("nan"), (1, float("inf"))):
        with pytest.raises(ValidationError):
            Timeouts.coerce(bad)


def test_json_round_trip(server):
    r = Transport().send("GET", server.base_urls["svc"] + "/a", params={"x": "1"})
    assert r.status == 200
    assert r.json() == {"path": "/a", "query": "x=1"}
    assert r.headers["content-type"] == "application/json"


def test_non_json_body_is_a_protocol_error(server):
    r = Transport().send("GET", server.base_urls["svc"] + "/html")
    with pytest.raises(ProtocolError, match="expected a JSON body"):
        r.json()


def test_read_timeout_per_client_and_per_call(server):
    url = server.base_urls["svc"] + "/slow"
    with pytest.raises(Timeout) as info:
        Transport(timeouts=Timeouts(1, 0.1)).send("GET", url, request_id="rid-1")
    assert info.value.request_id == "rid-1"
    assert info.value.should_retry
    with pytest.raises(Timeout):
        Transport().send("GET", url, deadline=Deadline(Timeouts(1, 0.1)))
    assert (
        Transport(timeouts=Timeouts(1, 0.1)).send("GET", url, deadline=Deadline(Timeouts(1, 5))).status == 200
    )


def test_connection_refused_is_a_transport_error_without_the_query():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(ConnectionError) as info:
        Transport(timeouts=Timeouts(1, 1)).send("GET", f"http://127.0.0.1:{port}/x?token=very-secret")
    assert "very-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, Rejected),
        (401, AccessTokenRejected),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Rejected),
        (429, RateLimited),
        (500, ServiceUnavailable),
        (503, ServiceUnavailable),
    ],
)
def test_status_mapping(status, error):
    body = json.dumps({"code": "E1", "message": "no"}).encode()
    response = Response(
        status=status,
        headers={"Retry-After": "2"},
        content=body,
        url="https://x/y?token=s",
        elapsed=0.0,
        request_id="r",
    )
    with pytest.raises(error) as info:
        raise_for_status("p", response)
    if status < 500:
        assert (info.value.status, info.value.code, info.value.message) == (status, "E1", "no")
    if status == 429:
        assert info.value.retry_after == 2.0


def test_2xx_passes():
    raise_for_status("p", Response(status=204, headers={}, content=b"", url="u", elapsed=0.0))
