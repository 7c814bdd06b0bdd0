"""Start many threads at once: what single-flight and thread-safety tests need (no pytest here)."""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Tuple

__all__ = ["run_in_threads"]


def run_in_threads(fn: Callable[[], Any], threads: int = 16) -> Tuple[List[Any], List[BaseException]]:
    """Start ``threads`` threads released together (a barrier), each running ``fn()``; return the
    results and the exceptions raised, each in completion order."""
    barrier = threading.Barrier(threads)
    lock = threading.Lock()
    results: List[Any] = []
    failures: List[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - any failure is what the caller looks for
            with lock:
                failures.append(exc)
        else:
            with lock:
                results.append(result)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=60)
    return results, failures
