"""Issue 11: a Flask app under a real ``gunicorn --preload`` (4 workers with 4 threads each) whose
client logged in and called ALOR before the fork serves 800 mixed requests (order books, limit
orders, cancels) against the live sandbox: no error, no reply meant for another worker or thread.

Crossed replies are caught on both sides: every order book must be the instrument's own book at the
requested depth, and every order number a worker reports must be, in the sandbox, the order with
the comment and price that this request sent, cancelled by the cancel sent for it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import requests

import integrations

pytest.importorskip("gunicorn", reason="the test extra installs gunicorn (POSIX only)")
pytest.importorskip("flask", reason="the test extra installs flask")

pytestmark = [pytest.mark.realtime, pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")]

WORKERS = 4
THREADS = 4
BOOKS = 400
ORDERS = 200  # each is two requests: the limit order, then its cancel
SYMBOLS = ("SBER", "GAZP", "LKOH", "ROSN")

APP = """
import json
import os

from flask import Flask, jsonify, request

import integrations

settings = json.loads(os.environ["INTEGRATIONS_GUNICORN_TEST"])
client = integrations.connect(
    "alor", base_urls=settings["base_urls"], credentials=settings["credentials"], timeout=20
)
PORTFOLIO = client.portfolios[0]
# Used before the fork (--preload): logged in, one pooled keep-alive connection open.
client.orderbook("MOEX", "SBER", depth=1)

app = Flask(__name__)


def levels(side):
    return [[str(level.price), level.volume] for level in side]


@app.route("/book/<symbol>/<int:depth>")
def book(symbol, depth):
    found = client.orderbook("MOEX", symbol, depth=depth)
    return jsonify(pid=os.getpid(), bids=levels(found.bids), asks=levels(found.asks))


@app.route("/order", methods=["POST"])
def order():
    sent = request.get_json()
    ack = client.limit_order(
        portfolio=PORTFOLIO, exchange="MOEX", symbol="SBER", side="buy", quantity=1,
        price=sent["price"], comment=sent["comment"],
    )
    return jsonify(pid=os.getpid(), order=ack.order_number, message=ack.message)


@app.route("/cancel/<number>", methods=["POST"])
def cancel(number):
    done = client.cancel_order(number, portfolio=PORTFOLIO, exchange="MOEX")
    return jsonify(pid=os.getpid(), order=done.order_number, message=done.message)
"""


def _start_gunicorn(directory: Path, settings: Dict[str, Any]) -> Tuple[subprocess.Popen[bytes], str]:
    (directory / "app_under_test.py").write_text(APP)
    log = directory / "gunicorn.log"
    env = dict(os.environ, INTEGRATIONS_GUNICORN_TEST=json.dumps(settings), PYTHONPATH=str(directory))
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "--preload",
            "--workers", str(WORKERS), "--threads", str(THREADS),
            "--bind", "127.0.0.1:0", "--chdir", str(directory), "--log-file", str(log),
            "app_under_test:app",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        listening = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
        booted = text.count("Booting worker")
        if listening and booted >= WORKERS:
            return server, listening.group(1)
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    server.wait()
    raise AssertionError(f"gunicorn did not start:\n{log.read_text() if log.exists() else ''}")


def _levels(side: Any) -> List[List[Any]]:
    return [[str(level.price), level.volume] for level in side]


def test_a_preloaded_gunicorn_app_serves_mixed_calls_with_no_error_and_no_crossed_reply(
    alor_sandbox: Any, tmp_path: Path
) -> None:
    with integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials
    ) as reference_client:
        reference = {
            s: reference_client.orderbook("MOEX", s, depth=50) for s in SYMBOLS
        }  # the sandbox's books do not move between calls
    expected = {s: (_levels(b.bids), _levels(b.asks)) for s, b in reference.items()}
    settings = {"base_urls": alor_sandbox.base_urls, "credentials": alor_sandbox.credentials}
    server, url = _start_gunicorn(tmp_path, settings)
    errors: List[str] = []
    crossed: List[str] = []
    pids: set[int] = set()
    placed: Dict[str, Tuple[str, Decimal]] = {}  # order number -> (comment, price) this request sent

    def one_book(n: int) -> None:
        symbol, depth = SYMBOLS[n % len(SYMBOLS)], 1 + (n * 7) % 50
        reply = requests.get(f"{url}/book/{symbol}/{depth}", timeout=30)
        if reply.status_code != 200:
            errors.append(f"book {symbol}: HTTP {reply.status_code}")
            return
        body = reply.json()
        pids.add(body["pid"])
        bids, asks = expected[symbol]
        if (body["bids"], body["asks"]) != (bids[:depth], asks[:depth]):
            crossed.append(f"book {symbol} depth {depth}")

    def one_order(n: int) -> None:
        comment, price = f"gunicorn-{n}", Decimal("100") + Decimal(n) / 100
        reply = requests.post(f"{url}/order", json={"comment": comment, "price": str(price)}, timeout=30)
        if reply.status_code != 200:
            errors.append(f"order {n}: HTTP {reply.status_code}")
            return
        body = reply.json()
        pids.add(body["pid"])
        placed[body["order"]] = (comment, price)
        done = requests.post(f"{url}/cancel/{body['order']}", timeout=30)
        if done.status_code != 200:
            errors.append(f"cancel {body['order']}: HTTP {done.status_code}")
        elif done.json()["order"] != body["order"] or done.json()["message"] != "success":
            crossed.append(f"cancel {body['order']}: {done.json()}")

    work = [(one_book, n) for n in range(BOOKS)] + [(one_order, n) for n in range(ORDERS)]
    work = [work[(i * 397) % len(work)] for i in range(len(work))]  # interleaved, deterministically
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            for future in [pool.submit(task, n) for task, n in work]:
                future.result()
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = (tmp_path / "gunicorn.log").read_text()

    assert errors == [], (errors[:5], log[-3000:])
    assert crossed == [], crossed[:5]
    assert len(placed) == ORDERS  # one order per request: none lost, none merged
    orders = alor_sandbox.emulator._orders
    for number, (comment, price) in placed.items():
        order = orders[number]
        assert (order.comment, order.price, order.status) == (comment, price, "canceled"), number
    assert "Traceback" not in log, log[-3000:]
    print(f"{BOOKS + 2 * ORDERS} requests served by {len(pids)} workers")
    assert len(pids) >= 2
