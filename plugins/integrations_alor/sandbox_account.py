"""The ALOR emulator's account ledger (issue 13): trades from fills, positions with their average
price, money and buying power, per portfolio; and the account routes (positions, summary, risk,
trades and their history).

Called by :class:`~integrations_alor.sandbox.AlorEmulator` under its lock."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from .sandbox_data import Account, Instrument

if TYPE_CHECKING:
    from integrations.sandbox import JsonApp

__all__ = ["Ledger", "install"]


class Ledger:
    """What every portfolio holds and did. ``fill`` books one execution."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self._accounts = tuple(accounts)
        self.fills: list[dict[str, Any]] = []

    def fill(
        self,
        *,
        portfolio: str,
        inst: Instrument,
        side: str,
        lots: int,
        price: Decimal,
        order_number: str,
        at: float,
    ) -> None:
        """Book an execution of ``lots`` lots of ``inst`` at ``price`` for ``portfolio``."""
        self.fills.append(
            {
                "portfolio": portfolio,
                "inst": inst,
                "side": side,
                "lots": lots,
                "price": price,
                "order": order_number,
                "at": at,
            }
        )


def install(api: JsonApp, emulator: Any) -> None:
    """Add the account routes to the ``api`` service of ``emulator``."""
