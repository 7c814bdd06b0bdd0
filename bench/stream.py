"""What an ALOR subscription costs, against a raw ``websockets`` client reading the same frames, on
the ALOR sandbox's ``/ws`` (loopback; the sandbox in a child process on the system clock).

Two measurements, each run several times, the library and the raw client interleaved in one run:

- **throughput**: an order book (MOEX:SBER, depth 20, Simple) that the sandbox sends as fast as the
  connection takes it (its ``frequency_override = 0`` control, a benchmark-only setting): updates
  per second reaching the consumer's loop over ``--seconds``. Library: ``subscribe_orderbook`` and
  ``for book in stream`` (JSON with Decimals, routing by guid, the bounded queue, the attrs
  ``OrderBook``). Raw: ``websockets.sync.client`` ``recv()`` and ``json.loads`` in the same loop.
- **latency**: the same book in Slim at 10 ms (the spec's minimum, so neither side is saturated):
  from the moment the sandbox's writer hands a frame to the socket (``time.perf_counter`` in the
  child, recorded by its ``record_send_times`` control; on Linux ``perf_counter`` is
  CLOCK_MONOTONIC, shared by processes) to the moment the consumer's loop has the item (the model,
  for the library; the decoded dict, for the raw client). Frames are matched by their order within
  the subscription's guid.

Prints, per way, the median over runs of: updates/s, latency median and p99 (ms); and the ratios
library / raw.

    python bench/stream.py [--runs 5] [--seconds 2] [--frames 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List, Tuple

import integrations
from integrations_alor import AlorClient

_CHILD = """
import json, sys
from integrations import sandbox
sb = sandbox.start("alor")
ws = sb.emulator.ws
ws.record_send_times()
print(json.dumps({"base_urls": sb.base_urls, "credentials": sb.credentials}), flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "fast":
        ws.frequency_override = 0
    elif command == "normal":
        ws.frequency_override = None
    elif command == "times":
        times = list(ws.send_times)
        ws.send_times.clear()
        print(json.dumps(times), flush=True)
    else:
        break
sb.stop()
"""


class Child:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())

    def command(self, text: str) -> Any:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline()) if text == "times" else None

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=20)


def _request(opcode_fields: Dict[str, Any], jwt: str) -> Tuple[str, str]:
    guid = str(uuid.uuid4())
    return guid, json.dumps({**opcode_fields, "guid": guid, "token": jwt})


BOOK = {"opcode": "OrderBookGetAndSubscribe", "code": "SBER", "exchange": "MOEX", "depth": 20}


def library_throughput(client: AlorClient, seconds: float) -> float:
    with client.subscribe_orderbook("MOEX", "SBER", depth=20, timeout=10) as stream:
        next(stream)
        count, started = 0, time.perf_counter()
        for _book in stream:
            count += 1
            if count % 64 == 0 and time.perf_counter() - started >= seconds:
                break
        return count / (time.perf_counter() - started)


def raw_throughput(url: str, jwt: str, seconds: float) -> float:
    from websockets.sync.client import connect

    guid, request = _request({**BOOK, "format": "Simple"}, jwt)
    with connect(url, compression=None) as ws:
        ws.send(request)
        count, started = 0, None
        while True:
            frame = json.loads(ws.recv(timeout=10))
            if frame.get("guid") != guid or "data" not in frame:
                continue
            if started is None:
                started = time.perf_counter()  # after the snapshot, as for the library
                continue
            count += 1
            if count % 64 == 0 and time.perf_counter() - started >= seconds:
                return count / (time.perf_counter() - started)


def library_latency(client: AlorClient, child: Child, frames: int) -> List[float]:
    child.command("times")  # clear the log
    arrived: List[float] = []
    with client.subscribe_orderbook(
        "MOEX", "SBER", depth=20, format="Slim", frequency=10, timeout=10
    ) as stream:
        guid = stream.guid
        for _book in stream:
            arrived.append(time.perf_counter())
            if len(arrived) >= frames:
                break
    return _match(arrived, guid, child.command("times"))


def raw_latency(url: str, jwt: str, child: Child, frames: int) -> List[float]:
    from websockets.sync.client import connect

    child.command("times")
    guid, request = _request({**BOOK, "format": "Slim", "frequency": 10}, jwt)
    arrived: List[float] = []
    with connect(url, compression=None) as ws:
        ws.send(request)
        while len(arrived) < frames:
            frame = json.loads(ws.recv(timeout=10))
            if frame.get("guid") == guid and "data" in frame:
                arrived.append(time.perf_counter())
    return _match(arrived, guid, child.command("times"))


def _match(arrived: List[float], guid: str, sent: List[Tuple[str, float]]) -> List[float]:
    mine = [at for g, at in sent if g == guid][: len(arrived)]
    assert len(mine) == len(arrived), "every frame consumed was sent once"
    return [(got - at) * 1000.0 for got, at in zip(arrived, mine)]


def _p99(values: List[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()

    child = Child()
    try:
        info = child.info
        client = integrations.connect(
            AlorClient, base_urls=info["base_urls"], credentials=info["credentials"]
        )
        jwt = client.client.token().access
        url = info["base_urls"]["ws"]
        results: Dict[str, Dict[str, List[float]]] = {
            way: {"rate": [], "p50": [], "p99": []} for way in ("library", "raw")
        }
        for run in range(args.runs):
            child.command("fast")
            results["raw"]["rate"].append(raw_throughput(url, jwt, args.seconds))
            results["library"]["rate"].append(library_throughput(client, args.seconds))
            child.command("normal")
            for way, latencies in (
                ("library", library_latency(client, child, args.frames)),
                ("raw", raw_latency(url, jwt, child, args.frames)),
            ):
                results[way]["p50"].append(statistics.median(latencies))
                results[way]["p99"].append(_p99(latencies))
            print(
                f"run {run + 1}: updates/s library {results['library']['rate'][-1]:,.0f} "
                f"raw {results['raw']['rate'][-1]:,.0f}; latency p50 library "
                f"{results['library']['p50'][-1]:.3f} ms raw {results['raw']['p50'][-1]:.3f} ms",
                flush=True,
            )
        client.close()
    finally:
        child.stop()

    summary = {way: {k: statistics.median(v) for k, v in r.items()} for way, r in results.items()}
    print()
    print(f"{'':10} {'updates/s':>12} {'latency p50':>13} {'latency p99':>13}   (median of {args.runs} runs)")
    for way in ("library", "raw"):
        s = summary[way]
        print(f"{way:10} {s['rate']:12,.0f} {s['p50']:10.3f} ms {s['p99']:10.3f} ms")
    lib, raw = summary["library"], summary["raw"]
    print(
        f"{'ratio':10} {lib['rate'] / raw['rate']:12.2f} {lib['p50'] / raw['p50']:13.2f} "
        f"{lib['p99'] / raw['p99']:13.2f}   (library / raw)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
