"""What the library costs per call, against raw requests, on the ALOR sandbox (loopback).

Measures N order-book calls (MOEX:SBER, depth 20, Simple) three ways, in one run, interleaved:

- library:     AlorClient.orderbook(): validation, hooks, token check, JSON and an attrs model;
- raw session: the same HTTP request on one requests.Session configured as the library's is
               (trust_env=False: no per-request proxy/netrc lookups), decoding the JSON;
- default session: the same on a requests.Session with default settings (for information);
- new conn:    requests.get() per call (a new TCP connection each time), as popular community clients do.

Prints the median per-call time of each (median over several runs) and the ratios. Targets:
library / raw session <= 1.15, and library faster than a new connection per call.

    python bench/call_overhead.py [--calls 300] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable, Dict, List

import requests

sys.path.insert(0, os.path.dirname(__file__))

import _sandbox_process

import integrations


def _median_call(fn: Callable[[], object], calls: int) -> float:
    times: List[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    proc, info = _sandbox_process.start("alor")
    try:
        client = integrations.connect("alor", base_urls=info["base_urls"], credentials=info["credentials"])
        client.orderbook("MOEX", "SBER")  # authenticate outside the measurement
        jwt = client.client.tokens.token().access
        url = info["base_urls"]["api"] + "/md/v2/orderbooks/MOEX/SBER"
        params = {"depth": 20, "format": "Simple"}
        headers = {"Authorization": f"Bearer {jwt}"}
        session = requests.Session()
        session.trust_env = False  # as the library's transport: the comparison is like for like
        default_session = requests.Session()

        ways: Dict[str, Callable[[], object]] = {
            "library": lambda: client.orderbook("MOEX", "SBER"),
            "raw session": lambda: session.get(url, params=params, headers=headers, timeout=(5, 30)).json(),
            "default session": lambda: default_session.get(url, params=params, headers=headers,
                                                           timeout=(5, 30)).json(),
            "new conn": lambda: requests.get(url, params=params, headers=headers, timeout=(5, 30)).json(),
        }
        for fn in ways.values():  # warm up connections and code paths
            _median_call(fn, 20)
        results: Dict[str, List[float]] = {name: [] for name in ways}
        for run in range(args.runs):
            order = list(ways)[run % len(ways):] + list(ways)[:run % len(ways)]  # rotate to spread drift evenly
            for name in order:
                results[name].append(_median_call(ways[name], args.calls))
        client.close()
        session.close()
        default_session.close()
    finally:
        _sandbox_process.stop(proc)

    med = {name: statistics.median(values) for name, values in results.items()}
    print(f"order book MOEX:SBER depth 20, {args.calls} calls x {args.runs} runs; median per call:")
    for name, value in med.items():
        print(f"  {name:<16} {value * 1e6:8.1f} us")
    ratio = med["library"] / med["raw session"]
    speedup = med["new conn"] / med["library"]
    print(f"library / raw session = {ratio:.3f}  (target <= 1.15: {'ok' if ratio <= 1.15 else 'MISSED'})")
    print(f"new conn / library    = {speedup:.2f}x  (target > 1: {'ok' if speedup > 1 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
