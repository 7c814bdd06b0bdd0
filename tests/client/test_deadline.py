"""``timeout=T`` is the whole budget of one call: connecting, every read, every retry and every wait
for ``Retry-After`` end within ``T`` seconds of the call's start. Against the live sandboxes, with
``timeout=2``, each hanging case ends within 3 s of wall time."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from integrations import RateLimited, Timeout
from integrations.sandbox import Fault

# Measures real elapsed time: not run under faketime (see .ci/run).
pytestmark = pytest.mark.realtime

BOOK = "/md/v2/orderbooks/MOEX/SBER"


def _alor(client: Any) -> Callable[[], Any]:
    return lambda: client.orderbook("MOEX", "SBER", depth=5, timeout=2)


def _td(client: Any) -> Callable[[], Any]:
    return lambda: client.campaigns(timeout=2)


FAULTS = {
    "slow-dripping body": (Fault.drip, {"interval": 0.25}),
    "dripping headers": (Fault.drip, {"interval": 0.25, "head": True}),
    "silent server": (Fault.silence, {}),
}


def _elapsed(call: Callable[[], Any]) -> float:
    started = time.monotonic()
    with pytest.raises(Timeout) as info:
        call()
    assert "2 s deadline" in str(info.value) or "timed out" in str(info.value)
    return time.monotonic() - started


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_alor_call_ends_within_its_deadline(alor_sandbox, alor_live, fault):
    alor_live.orderbook("MOEX", "SBER", depth=1)  # authenticated before the fault
    make, options = FAULTS[fault]
    alor_sandbox.faults.add(make(path=BOOK, **options))
    assert _elapsed(_alor(alor_live)) < 3.0


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_tradingdesk_call_ends_within_its_deadline(td_sandbox, td_live, fault):
    td_live.user_info()
    make, options = FAULTS[fault]
    td_sandbox.faults.add(make(rpc_method="Campaign.getList", **options))
    assert _elapsed(_td(td_live)) < 3.0


@pytest.mark.parametrize("provider", ["alor", "tradingdesk"])
def test_a_retry_after_beyond_the_budget_raises_rate_limited_at_once(request, provider):
    sb = request.getfixturevalue(f"{'alor' if provider == 'alor' else 'td'}_sandbox")
    client = request.getfixturevalue(f"{'alor' if provider == 'alor' else 'td'}_live")
    call = _alor(client) if provider == "alor" else _td(client)
    call()  # authenticated before the fault
    match = {"path": BOOK} if provider == "alor" else {"rpc_method": "Campaign.getList"}
    sb.faults.add(Fault.respond(429, {"Retry-After": "3600"}, **match))
    started = time.monotonic()
    with pytest.raises(RateLimited) as info:
        call()
    assert time.monotonic() - started < 1.0  # no waiting for what cannot fit
    assert info.value.retry_after == 3600


def test_a_short_retry_after_within_the_budget_is_waited_for_and_retried(alor_sandbox, alor_live):
    alor_live.orderbook("MOEX", "SBER", depth=1)
    alor_sandbox.faults.add(Fault.respond(429, {"Retry-After": "1"}, path=BOOK, times=1))
    book = alor_live.orderbook("MOEX", "SBER", depth=1, timeout=5)
    assert book.bids


def test_the_deadline_covers_the_login_the_call_needs(td_sandbox, td_live):
    td_sandbox.faults.add(Fault.silence(rpc_method="User.auth"))
    started = time.monotonic()
    with pytest.raises(Timeout):
        td_live.campaigns(timeout=2)
    assert time.monotonic() - started < 3.0
    assert not [r for r in td_sandbox.requests() if "Campaign.getList" in r.rpc_methods]
