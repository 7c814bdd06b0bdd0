"""What the library costs per call, against raw requests, on the ALOR sandbox (loopback).

Measures N order-book calls (MOEX:SBER, depth 20, Simple) three ways, in one run, interleaved:

- library:     AlorClient.orderbook(): validation, hooks, token check, JSON and an attrs model;
- raw session: the same HTTP request on one requests.Session configured as the library's is
               (trust_env=False: no per-request proxy/netrc lookups), decoding the JSON;
- default session: the same on a requests.Session with default settings (for information);
- new conn:    requests.get() per call (a new TCP connection each time), as popular community clients do.

Prints, for each, the median per-call wall time and the client-side CPU time per call
(``time.process_time`` in this process; the sandbox runs in a child process), each the median over
several runs, and the ratios. Targets: CPU library / raw session <= 1.10 (wall time on a 2-core
machine is noisy, CPU time much less so), wall library / raw session <= 1.15, and the library faster
than a new connection per call.

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
from integrations_alor import AlorClient


def _median_call(fn: Callable[[], object], calls: int) -> float:
    times: List[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _cpu_per_call(fn: Callable[[], object], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - started) / calls


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    proc, info = _sandbox_process.start("alor")
    try:
        client = integrations.connect(
            AlorClient, base_urls=info["base_urls"], credentials=info["credentials"]
        )
        client.orderbook("MOEX", "SBER")  # authenticate outside the measurement
        jwt = client.client.token().access
        url = info["base_urls"]["api"] + "/md/v2/orderbooks/MOEX/SBER"
        params = {"depth": 20, "format": "Simple"}
        headers = {"Authorization": f"Bearer {jwt}"}
        session = requests.Session()
        session.trust_env = False  # as the library's transport: the comparison is like for like
        default_session = requests.Session()

        ways: Dict[str, Callable[[], object]] = {
            "library": lambda: client.orderbook("MOEX", "SBER"),
            "raw session": lambda: session.get(url, params=params, headers=headers, timeout=(5, 30)).json(),
            "default session": lambda: default_session.get(
                url, params=params, headers=headers, timeout=(5, 30)
            ).json(),
            "new conn": lambda: requests.get(url, params=params, headers=headers, timeout=(5, 30)).json(),
        }
        for fn in ways.values():  # warm up connections and code paths
            _median_call(fn, 20)
        results: Dict[str, List[float]] = {name: [] for name in ways}
        cpu: Dict[str, List[float]] = {name: [] for name in ways}
        for run in range(args.runs):
            order = (
                list(ways)[run % len(ways) :] + list(ways)[: run % len(ways)]
            )  # rotate to spread drift evenly
            for name in order:
                results[name].append(_median_call(ways[name], args.calls))
                cpu[name].append(_cpu_per_call(ways[name], args.calls))
        client.close()
        session.close()
        default_session.close()
    finally:
        _sandbox_process.stop(proc)

    med = {name: statistics.median(values) for name, values in results.items()}
    med_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"order book MOEX:SBER depth 20, {args.calls} calls x {args.runs} runs; median per call:")
    print(f"  {'':<16} {'wall':>10} {'client CPU':>12}")
    for name, value in med.items():
        print(f"  {name:<16} {value * 1e6:8.1f} us {med_cpu[name] * 1e6:9.1f} us")
    cpu_ratio = med_cpu["library"] / med_cpu["raw session"]
    ratio = med["library"] / med["raw session"]
    speedup = med["new conn"] / med["library"]
    print(
        f"CPU  library / raw session = {cpu_ratio:.3f}  (target <= 1.10: {'ok' if cpu_ratio <= 1.10 else 'MISSED'})"
    )
    print(
        f"wall library / raw session = {ratio:.3f}  (target <= 1.15: {'ok' if ratio <= 1.15 else 'MISSED'})"
    )
    print(f"wall new conn / library    = {speedup:.2f}x  (target > 1: {'ok' if speedup > 1 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
