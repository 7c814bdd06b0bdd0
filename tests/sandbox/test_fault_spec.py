"""The Fault value: validation, its ``--fault`` spelling, and ``integrations sandbox --fault``."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import List

import attrs
import pytest
import requests

from integrations.cli import build_parser
from integrations.sandbox import FAULT_SYNTAX, Fault

ORDER_PATH = "/commandapi/warptrans/TRADE/v2/client/orders/actions/market"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("drop_reply", Fault.drop_reply()),
        (
            f"drop_reply:method=post,path={ORDER_PATH},times=1",
            Fault.drop_reply(method="POST", path=ORDER_PATH, times=1),
        ),
        (
            "drop_reply:how=close,path~=/orders/actions/",
            Fault.drop_reply(how="close", path=re.compile("/orders/actions/")),
        ),
        ("reset:service=oauth,skip=2", Fault.reset(service="oauth", skip=2)),
        (
            "respond:status=429,header=Retry-After: 3600,body={}",
            Fault.respond(429, {"Retry-After": "3600"}, b"{}"),
        ),
        ("respond: status = 503 , method = get", Fault.respond(503, method="GET")),
        ("drip:interval=0.5,chunk=3,head=true", Fault.drip(interval=0.5, chunk=3, head=True)),
        ("truncate:after=7", Fault.truncate(after=7)),
        ("silence:rpc_method=Campaign.getList", Fault.silence(rpc_method="Campaign.getList")),
        ("silence:rpc_method~=^Campaign\\.", Fault.silence(rpc_method=re.compile(r"^Campaign\."))),
        ("redirect:status=307,location=http://127.0.0.1:1/x", Fault.redirect(307, "http://127.0.0.1:1/x")),
        ("huge:size=1000000", Fault.huge(1_000_000)),
        (
            '{"action": "respond", "status": 503, "headers": {"Content-Type": "text/html"}, "body": "<p>a, b</p>",'
            ' "path~": "^/md/", "times": 2}',
            Fault.respond(
                503, {"Content-Type": "text/html"}, "<p>a, b</p>", path=re.compile("^/md/"), times=2
            ),
        ),
        ('{"action": "drip", "interval": 1, "head": false, "headers": []}', None),
    ],
)
def test_parse(spec, expected):
    if expected is None:
        with pytest.raises(ValueError, match="drip takes no 'headers'"):
            Fault.parse(spec)
    else:
        assert Fault.parse(spec) == expected


@pytest.mark.parametrize(
    "fault",
    [
        Fault.drop_reply(method="POST", path=ORDER_PATH, times=1),
        Fault.respond(
            503, [("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], "x, y\nz"
        ),
        Fault.respond(429, {"Retry-After": "3600"}, service="api", skip=1),
        Fault.drip(0.25, 4, head=True, rpc_method=re.compile("^User\\.")),
        Fault.redirect(308, "/api/a,b"),
        Fault.huge(12345, status=500),
        Fault.truncate(after=3, how="reset"),
        Fault.silence(),
        Fault.reset(how="close", path=re.compile("^/x$")),
    ],
)
def test_str_is_the_spec_and_parses_back(fault):
    assert Fault.parse(str(fault)) == fault
    assert repr(fault).startswith(f"Fault.{fault.action}(")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("explode", "the action must be one of"),
        ("respond", "respond needs status="),
        ("redirect:status=302", "redirect needs location="),
        ("respond:status=abc", "bad status"),
        ("respond:status=99", "final status from 200 to 599"),
        ("redirect:status=200,location=/x", "redirect needs one of"),
        ("huge:size=1", "at least 2 bytes"),
        ("drop_reply:size=5", "drop_reply takes no 'size'"),
        ("drop_reply:method~=P.*", "takes no 'method~'"),
        ("drop_reply:times=0", "times must be a positive integer"),
        ("drop_reply:how=softly", "how"),
        ("drop_reply:path~=(", "bad path~"),
        ("drop_reply:method", "expected KEY=VALUE"),
        ("drip:head=maybe", "expected true or false"),
        ("respond:status=200,header=NoColon", "expected 'Name: value'"),
        ("{not json", "not valid JSON"),
        ("[1]", "the action must be one of"),
        ('{"action": "respond", "status": true}', "expected an integer"),
    ],
)
def test_parse_errors(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Fault.parse(spec)


def test_constructor_validation():
    with pytest.raises(ValueError, match="from 200 to 599"):
        Fault.respond(600)
    with pytest.raises(ValueError, match="invalid header"):
        Fault.respond(200, {"X-Evil": "a\r\nInjected: 1"})
    with pytest.raises(TypeError, match=r"re\.Pattern"):
        Fault.drop_reply(path=42)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        Fault.drop_reply(pathh="/x")  # a misspelt criterion is not silently ignored
    with pytest.raises(TypeError, match=r"Fault\.respond\(\) got unexpected keyword argument\(s\) size"):
        Fault.respond(503, size=5)  # another action's parameter neither
    with pytest.raises(ValueError, match="skip"):
        Fault.silence(skip=-1)
    assert attrs.evolve(Fault.drop_reply(), times=2).times == 2


def test_cli_accepts_repeated_faults_and_reports_bad_ones(capsys):
    args = build_parser().parse_args(
        [
            "sandbox",
            "alor",
            "--fault",
            "respond:status=429,header=Retry-After: 3600,times=1",
            "--fault",
            '{"action": "drop_reply", "method": "POST", "path~": "/actions/"}',
        ]
    )
    assert args.fault == [
        Fault.respond(429, {"Retry-After": "3600"}, times=1),
        Fault.drop_reply(method="POST", path=re.compile("/actions/")),
    ]
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["sandbox", "alor", "--fault", "respond:times=1"])
    assert info.value.code == 2
    assert "argument --fault: fault 'respond:times=1': respond needs status=" in capsys.readouterr().err


def test_cli_help_documents_the_syntax(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--help"])
    out = capsys.readouterr().out
    assert "--fault SPEC" in out
    assert FAULT_SYNTAX.splitlines()[0] in out
    for action in ("respond", "drop_reply", "reset", "drip", "truncate", "silence", "redirect", "huge"):
        assert f"\n  {action} " in out


def test_cli_sandbox_applies_faults_given_on_the_command_line():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "integrations",
            "sandbox",
            "alor",
            "--seconds",
            "3",
            "--fault",
            "respond:status=429,header=Retry-After: 3600,path=/md/v2/time,times=1",
            "--fault",
            "drop_reply:how=close,path=/md/v2/time,times=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: List[str] = []
        deadline = time.monotonic() + 30
        while not any(line.startswith("  fault[2]") for line in lines) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        (api,) = [line.split(" = ")[1].strip() for line in lines if "base_urls['api']" in line]
        assert "  fault[1] = respond:status=429,header=Retry-After: 3600,path=/md/v2/time,times=1\n" in lines
        with requests.Session() as http:
            first = http.get(api + "/md/v2/time", timeout=(1, 1))
            assert (first.status_code, first.headers["Retry-After"]) == (429, "3600")
            with pytest.raises(requests.ConnectionError):
                http.get(api + "/md/v2/time", timeout=(1, 1))
            assert http.get(api + "/md/v2/time", timeout=(1, 1)).status_code == 200
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "  fault[1] applied to 1 request(s)" in out
    assert "  fault[2] applied to 1 request(s)" in out
