"""Shared fixtures. Cassette tests replay with every socket refused; the tests named "live" run
against a provider's sandbox on 127.0.0.1 (pytest-socket refuses any other host)."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import integrations
from integrations import sandbox
from integrations.runtime import ManualClock, SequentialIds

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients honour the proxy variables; the tests talk to loopback servers, so a CI machine's
    proxy must not catch them. Tests of the proxy support set the variables themselves."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(float(int(time.time())))


def live_client(provider: str, sb: Any, clock: ManualClock) -> Any:
    """A client of ``provider`` connected to the live sandbox ``sb``, on the test's clock."""
    return integrations.connect(
        provider, base_urls=sb.base_urls, credentials=sb.credentials, clock=clock, ids=SequentialIds()
    )


@pytest.fixture
def alor_sandbox(clock: ManualClock) -> Iterator[Any]:
    """A live ALOR sandbox on 127.0.0.1 sharing the test's manual clock."""
    with sandbox.running("alor", clock=clock) as sb:
        yield sb


@pytest.fixture
def alor_live(alor_sandbox: Any, clock: ManualClock) -> Iterator[Any]:
    """An AlorClient connected to the live sandbox."""
    with live_client("alor", alor_sandbox, clock) as client:
        yield client


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> List[Tuple[str, str]]:
    """Record every attempt to send HTTP through any Transport, and refuse it."""
    sent: List[Tuple[str, str]] = []

    def refuse(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        sent.append((method, url))
        raise AssertionError(f"a request was sent: {method} {url}")

    monkeypatch.setattr(integrations.transport.Transport, "send", refuse)
    return sent


@pytest.fixture
def td_sandbox(clock: ManualClock) -> Iterator[Any]:
    """A live Trading Desk sandbox on 127.0.0.1 sharing the test's manual clock."""
    with sandbox.running("tradingdesk", clock=clock) as sb:
        yield sb


@pytest.fixture
def td_live(td_sandbox: Any, clock: ManualClock) -> Iterator[Any]:
    """A TradingDeskClient logged in (lazily) to the live sandbox with the default user's email and password."""
    with live_client("tradingdesk", td_sandbox, clock) as client:
        yield client


def run_in_threads(fn: Any, threads: int = 16) -> Tuple[List[Any], List[BaseException]]:
    """Start ``threads`` threads at once (a barrier) each running ``fn()``; return results and errors."""
    import threading

    barrier = threading.Barrier(threads)
    lock = threading.Lock()
    results: List[Any] = []
    errors: List[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - any failure is what the caller looks for
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(result)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=30)
    return results, errors


@pytest.fixture
def threaded() -> Any:
    """``threaded(fn)``: run ``fn`` in 16 threads released together; returns (results, errors)."""
    return run_in_threads


@pytest.fixture
def install_dist(tmp_path: Path) -> Callable[..., Path]:
    """``install_dist(dist, entry_points, {module: source})``: a distribution installed outside the
    repo, as a dist-info directory plus modules in a fresh site dir; returns the dir to put on
    ``sys.path``. That is all ``importlib.metadata`` needs to find its entry points."""

    def install(dist: str, entry_points: str, modules: Dict[str, str]) -> Path:
        site = tmp_path / f"site-{dist}"
        info = site / f"{dist}-1.2.3.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
        for name, source in modules.items():
            (site / f"{name}.py").write_text(source)
        return site

    return install
