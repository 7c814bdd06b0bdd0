"""A cross-cutting plugin installed from outside the repo (an audit log) wraps every HTTP exchange of
every provider: logins, refreshes and API calls, each with its operation name and real elapsed time."""

from __future__ import annotations

import sys
from typing import Any, Iterator

import pytest

import integrations
from integrations import Host, sandbox
from integrations.runtime import ManualClock, SequentialIds

AUDIT = '''
"""An audit plugin: one record per HTTP exchange, whatever the provider. It asks only for the hook
arguments it uses (pluggy passes a subset)."""
import threading
import time

from integrations import hookimpl

SEEN = []
_lock = threading.Lock()


@hookimpl(wrapper=True)
def integrations_call(ctx, request, deadline):
    started = time.perf_counter()
    outcome = "ok"
    try:
        return (yield)
    except Exception as exc:
        outcome = type(exc).__name__
        raise
    finally:
        with _lock:
            SEEN.append((ctx.provider, request.operation, outcome, time.perf_counter() - started,
                         deadline.elapsed()))
'''


@pytest.fixture
def audit(install_dist: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    site = install_dist(
        "integrations_selftest_audit_dist",
        "[integrations]\nintegrations_selftest_audit = integrations_selftest_audit_plugin\n",
        {"integrations_selftest_audit_plugin": AUDIT},
    )
    monkeypatch.syspath_prepend(str(site))
    import integrations_selftest_audit_plugin  # type: ignore[import-not-found]

    yield integrations_selftest_audit_plugin
    sys.modules.pop("integrations_selftest_audit_plugin", None)


def test_an_installed_wrapper_sees_logins_refreshes_and_calls_of_both_providers(audit: Any) -> None:
    host = Host(strict=True)
    assert (
        host.plugin_manager.get_plugin("integrations_selftest_audit") is audit
    )  # found through the entry-point group
    clock = ManualClock(1_700_000_000.0)
    with (
        sandbox.running("alor", clock=clock, host=host) as alor_sb,
        sandbox.running("tradingdesk", clock=clock, host=host) as td_sb,
    ):
        alor = integrations.connect(
            "alor",
            base_urls=alor_sb.base_urls,
            credentials=alor_sb.credentials,
            clock=clock,
            ids=SequentialIds(),
            host=host,
        )
        td = integrations.connect(
            "tradingdesk",
            base_urls=td_sb.base_urls,
            credentials=td_sb.credentials,
            clock=clock,
            ids=SequentialIds(prefix="00000001"),
            host=host,
        )
        with alor, td:
            alor.orderbook("MOEX", "SBER", depth=1)
            td.campaigns()
            clock.advance(7 * 86400)  # both access tokens are now due: one refresh each
            alor.orderbook("MOEX", "SBER", depth=1)
            td.user_info()
            alor_sb.emulator.delay_next_command(0.3)  # the server takes 0.3 s of real time
            alor.limit_order(
                portfolio=alor.portfolios[0],
                exchange="MOEX",
                symbol="SBER",
                side="buy",
                quantity=1,
                price="100.5",
            )

    seen = [(provider, operation, outcome) for provider, operation, outcome, _, _ in audit.SEEN]
    assert seen == [
        ("alor", "alor.refresh", "ok"),
        ("alor", "alor.orderbook", "ok"),
        ("tradingdesk", "tradingdesk.User.auth", "ok"),
        ("tradingdesk", "tradingdesk.Campaign.getList", "ok"),
        ("alor", "alor.refresh", "ok"),
        ("alor", "alor.orderbook", "ok"),
        ("tradingdesk", "tradingdesk.User.tokenRefresh", "ok"),
        ("tradingdesk", "tradingdesk.User.getInfo", "ok"),
        ("alor", "alor.limit_order", "ok"),
    ]
    for _, operation, _, elapsed, since_call_start in audit.SEEN:
        assert 0 < elapsed < 5, operation
        assert since_call_start >= elapsed  # the call started before this exchange did
    *_, (_, _, _, order_elapsed, _) = audit.SEEN
    assert order_elapsed >= 0.3  # real time, not the frozen test clock
