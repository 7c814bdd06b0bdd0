"""ALOR's attrs models and the cattrs converter that builds them from any wire format."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Optional, Tuple

import attrs

from integrations.converters import LazyConverter
from integrations.errors import ProtocolError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "AlorAccount",
    "CancelAck",
    "OrderAck",
    "OrderBook",
    "PriceLevel",
    "converter",
    "structure_orderbook",
]


@attrs.frozen(slots=True)
class PriceLevel:
    """One order-book level: a price and the volume in lots."""

    price: Decimal
    volume: int


@attrs.frozen
class OrderBook:
    """An order book, whatever the wire format (Simple, Slim or Heavy). Sides are best-first.

    ``existing`` is true for snapshot (history) data; ``ms_timestamp`` is Unix milliseconds.
    """

    bids: Tuple[PriceLevel, ...]
    asks: Tuple[PriceLevel, ...]
    ms_timestamp: int
    existing: bool

    @property
    def best_bid(self) -> Optional[PriceLevel]:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Optional[PriceLevel]:
        return self.asks[0] if self.asks else None

    @property
    def is_empty(self) -> bool:
        """No data: the provider answered with both sides empty."""
        return not self.bids and not self.asks


@attrs.frozen
class OrderAck:
    """The provider accepted an order command. ``order_number`` is the exchange order id."""

    order_number: str
    message: str
    request_id: str


@attrs.frozen
class CancelAck:
    """The provider cancelled the order."""

    order_number: str
    message: str


@attrs.frozen
class AlorAccount:
    """What the access JWT says about the account (decoded without verifying the signature)."""

    login: str
    client_id: str
    portfolios: Tuple[str, ...]
    agreements: Tuple[str, ...]
    expires_at: Optional[float]


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if type(value) is Decimal:
        return value
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise ProtocolError(f"expected a number, got {type(value).__name__}")


# Each wire format names the same fields differently; map them onto the Simple names once.
_KEYS = {
    "simple": {"bids": "bids", "asks": "asks", "ms_timestamp": "ms_timestamp", "existing": "existing"},
    "heavy": {"bids": "bids", "asks": "asks", "ms_timestamp": "msTimestamp", "existing": "existing"},
    "slim": {"bids": "b", "asks": "a", "ms_timestamp": "t", "existing": "h"},
}
_LEVEL_KEYS = {"simple": ("price", "volume"), "heavy": ("price", "volume"), "slim": ("p", "v")}


def _volume(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise ProtocolError(f"expected an integer volume, got {type(value).__name__}")


def _structure_levels(value: Any, _: Any) -> Tuple[PriceLevel, ...]:
    # The hot path of every order book: one PriceLevel per level, built directly (no per-level
    # dict, no generated per-field dispatch). Levels arrive as (price, volume) pairs.
    return tuple(PriceLevel(_structure_decimal(price, Decimal), _volume(volume)) for price, volume in value)


_LEVELS = Tuple[PriceLevel, ...]


def _configure(converter: cattrs.Converter) -> None:
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_structure_hook_func(lambda cls: cls == _LEVELS, _structure_levels)


converter = LazyConverter(_configure)


def structure_orderbook(data: Any, wire_format: str) -> OrderBook:
    """Build an :class:`OrderBook` from a decoded Simple, Slim or Heavy body.

    Raises :class:`~integrations.errors.ProtocolError` when the body has the wrong shape.
    """
    fmt = wire_format.lower()
    keys, (pk, vk) = _KEYS[fmt], _LEVEL_KEYS[fmt]
    if not isinstance(data, Mapping):
        raise ProtocolError(f"order book: expected a JSON object, got {type(data).__name__}")
    try:
        normalized = {
            "bids": [(lvl[pk], lvl[vk]) for lvl in data.get(keys["bids"]) or ()],
            "asks": [(lvl[pk], lvl[vk]) for lvl in data.get(keys["asks"]) or ()],
            "ms_timestamp": data.get(keys["ms_timestamp"]) or 0,
            "existing": bool(data.get(keys["existing"], False)),
        }
        return converter.structure(normalized, OrderBook)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ProtocolError(f"order book ({wire_format}): malformed body: {type(exc).__name__}") from None
