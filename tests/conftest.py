"""Shared fixtures. Cassette tests replay with every socket refused; the tests named "live" run
against a provider's sandbox on 127.0.0.1 (pytest-socket refuses any other host). ``clock``,
``no_requests`` and ``threaded`` come from the package's own pytest plugin
(:mod:`integrations.testing.pytest_plugin`), as they do for a plugin author's tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

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
def td_sandbox(clock: ManualClock) -> Iterator[Any]:
    """A live Trading Desk sandbox on 127.0.0.1 sharing the test's manual clock."""
    with sandbox.running("tradingdesk", clock=clock) as sb:
        yield sb


@pytest.fixture
def td_live(td_sandbox: Any, clock: ManualClock) -> Iterator[Any]:
    """A TradingDeskClient logged in (lazily) to the live sandbox with the default user's email and password."""
    with live_client("tradingdesk", td_sandbox, clock) as client:
        yield client


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
