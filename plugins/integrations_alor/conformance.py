"""How the conformance suite exercises ALOR (``pytest --integrations-conformance=alor``)."""

from __future__ import annotations

from typing import Any

from integrations.testing.conformance import Profile


def _read(client: Any) -> Any:
    return client.orderbook("MOEX", "SBER", depth=5)


def _limit_order(client: Any, key: str) -> Any:
    return client.limit_order(
        portfolio=client.portfolios[0],
        exchange="MOEX",
        symbol="SBER",
        side="buy",
        quantity=1,
        price="100.5",
        request_id=key,
    )


# Every ALOR command carries a request id that the server deduplicates: there is no unsafe one.
# The error answers come from the provider's declared error fields (ProviderSpec.errors).
PROFILE = Profile(read=_read, command=_limit_order, idempotency_header="X-REQID")
