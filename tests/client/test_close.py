"""``close()`` is final: no request of any kind after it returns, and a retry waiting at that moment
gives up instead of sending."""

from __future__ import annotations

import threading
import time

import pytest

import integrations
from integrations import ConfigurationError
from integrations.runtime import SequentialIds
from integrations.sandbox import Fault

BOOK = "/md/v2/orderbooks/MOEX/SBER"


def test_nothing_is_sent_after_close(alor_sandbox, alor_live):
    alor_live.orderbook("MOEX", "SBER", depth=1)
    alor_live.close()
    alor_sandbox.clear_requests()
    calls = [
        lambda: alor_live.orderbook("MOEX", "SBER", depth=1),
        lambda: alor_live.portfolios,
        lambda: alor_live.account,
        lambda: alor_live.request("GET", "/md/v2/time"),
        lambda: alor_live.client.token(),
    ]
    for call in calls:
        with pytest.raises(ConfigurationError, match="closed"):
            call()
    assert alor_sandbox.requests() == []


def test_a_retry_waiting_when_the_client_closes_is_not_sent(alor_sandbox):
    # The real clock: the retry's back-off is a real wait, during which another thread closes.
    client = integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials, ids=SequentialIds()
    )
    client.orderbook("MOEX", "SBER", depth=1)
    client.client.backoff = 0.5
    alor_sandbox.faults.add(Fault.respond(503, body="busy", path=BOOK))
    alor_sandbox.clear_requests()
    failure = []

    def call() -> None:
        try:
            client.orderbook("MOEX", "SBER", depth=1)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            failure.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.2)  # the first attempt got its 503 and the client waits to retry
    client.close()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert len(alor_sandbox.requests()) == 1
    assert isinstance(failure[0], ConfigurationError) and "closed" in str(failure[0])
