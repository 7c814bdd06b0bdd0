"""Replay cost per request as cassettes grow: our harness against stock vcrpy, in one run.

Records cassettes of 10, 100 and 1,000 order-book interactions against the ALOR sandbox (into a
temporary directory, with the harness), then replays each one through the same AlorClient twice:

- ours:  integrations.recording (IndexedCassette: a dict lookup per request);
- stock: vcr.VCR(record_mode="none") with vcrpy's default matchers (a linear scan per request).

Prints the per-request median of each (median over several runs) and the ratios. Targets:
ours at 1,000 <= 1.5 x ours at 10, and stock / ours at 1,000 >= 20.

    python bench/replay.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import vcr

import integrations
from integrations.recording import read_recorded_at, recorded_session
from integrations.runtime import ManualClock, SequentialIds

SYMBOLS = ("SBER", "GAZP", "LKOH", "YDEX")
FORMATS = ("Simple", "Slim", "Heavy")
SIZES = (10, 100, 1000)


def _calls(n: int) -> List[Tuple[str, int, str]]:
    combos = [(s, d, f) for d in range(1, 51) for s in SYMBOLS for f in FORMATS]
    return [combos[i % len(combos)] for i in range(n)]


def _record(path: Path, n: int) -> None:
    with recorded_session("alor", path, mode="rewrite") as s:
        for symbol, depth, fmt in _calls(n):
            s.client.orderbook("MOEX", symbol, depth=depth, format=fmt)


def _per_request(
    run: Callable[[Callable[[], None]], None], calls: List[Tuple[str, int, str]], client: object
) -> float:
    times: List[float] = []

    def body() -> None:
        client.orderbook("MOEX", "SBER", depth=1)  # type: ignore[attr-defined]  # authenticate first
        for symbol, depth, fmt in calls[1:]:
            started = time.perf_counter()
            client.orderbook("MOEX", symbol, depth=depth, format=fmt)  # type: ignore[attr-defined]
            times.append(time.perf_counter() - started)

    run(body)
    return statistics.median(times)


def _ours(path: Path, calls: List[Tuple[str, int, str]]) -> float:
    with recorded_session("alor", path) as s:
        return _per_request(lambda body: body(), calls, s.client)


def _stock(path: Path, calls: List[Tuple[str, int, str]]) -> float:
    stock = vcr.VCR(record_mode="none")  # vcrpy's defaults: yaml, match on method + uri
    client = integrations.connect(
        "alor",
        credentials={"refresh_token": "REDACTED-refresh_token"},
        clock=ManualClock(read_recorded_at(path) or 0),
        ids=SequentialIds(),
    )

    def run(body: Callable[[], None]) -> None:
        with stock.use_cassette(str(path)):
            body()

    try:
        return _per_request(run, calls, client)
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: Dict[Tuple[str, int], List[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in SIZES:
            paths[n] = Path(tmp) / f"book-{n}.yaml"
            # One refresh plus n - 1 order books: n interactions in all.
            _record(paths[n], n - 1)
        for _ in range(args.runs):
            for n in SIZES:
                calls = [("SBER", 1, "Simple"), *_calls(n - 1)[1:]]
                results.setdefault(("ours", n), []).append(_ours(paths[n], calls))
                results.setdefault(("stock", n), []).append(_stock(paths[n], calls))
    med = {key: statistics.median(values) for key, values in results.items()}
    print(f"replay, per-request median over {args.runs} runs (order-book calls through AlorClient):")
    print(f"  {'interactions':>12} {'ours':>10} {'stock vcrpy':>12} {'stock/ours':>11}")
    for n in SIZES:
        ours, stock = med[("ours", n)], med[("stock", n)]
        print(f"  {n:>12} {ours * 1e6:>8.0f}us {stock * 1e6:>10.0f}us {stock / ours:>10.1f}x")
    growth = med[("ours", 1000)] / med[("ours", 10)]
    speedup = med[("stock", 1000)] / med[("ours", 1000)]
    print(
        f"ours at 1000 / ours at 10   = {growth:.2f}  (target <= 1.5: {'ok' if growth <= 1.5 else 'MISSED'})"
    )
    print(
        f"stock / ours at 1000        = {speedup:.1f}x (target >= 20: {'ok' if speedup >= 20 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
