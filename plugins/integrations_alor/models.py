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

    Validated, not coerced: the sides and the timestamp must be present (a missing side or
    timestamp is never read as empty or 0, so a reply of another shape, an order ack say, never
    passes for an empty book), each side a list (``null``: empty) of levels whose price is a finite,
    non-negative number and whose volume a whole, non-negative number (1.9 is refused, not
    truncated), the timestamp a whole non-negative number of milliseconds, ``existing`` (optional)
    a boolean. Raises :class:`~integrations.errors.ProtocolError` naming the first violation.
    """
    fmt = wire_format.lower()
    keys, (pk, vk) = _KEYS[fmt], _LEVEL_KEYS[fmt]
    where = f"order book ({wire_format})"
    if not isinstance(data, Mapping):
        raise ProtocolError(f"{where}: expected a JSON object, got {type(data).__name__}")
    missing = [keys[k] for k in ("bids", "asks", "ms_timestamp") if keys[k] not in data]
    if missing:
        raise ProtocolError(f"{where}: malformed body: no {', '.join(repr(k) for k in missing)}")
    existing = data.get(keys["existing"], False)
    if not isinstance(existing, bool):
        raise ProtocolError(f"{where}: malformed body: {keys['existing']!r} is not a boolean")
    return OrderBook(
        bids=_side(data[keys["bids"]], pk, vk, where, keys["bids"]),
        asks=_side(data[keys["asks"]], pk, vk, where, keys["asks"]),
        ms_timestamp=_whole(data[keys["ms_timestamp"]], where, repr(keys["ms_timestamp"])),
        existing=existing,
    )


def _side(value: Any, pk: str, vk: str, where: str, name: str) -> Tuple[PriceLevel, ...]:
    # The hot path of every order book: one PriceLevel per level, built directly.
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ProtocolError(f"{where}: malformed body: {name!r} is not a list")
    levels = []
    for level in value:
        if not isinstance(level, Mapping) or pk not in level or vk not in level:
            raise ProtocolError(f"{where}: malformed body: a level of {name!r} lacks {pk!r} or {vk!r}")
        levels.append(
            PriceLevel(
                _level_price(level[pk], where, name), _whole(level[vk], where, f"a volume in {name!r}")
            )
        )
    return tuple(levels)


def _level_price(value: Any, where: str, name: str) -> Decimal:
    price = value if type(value) is Decimal else None
    if price is None:
        try:
            price = _structure_decimal(value, Decimal)
        except (ValueError, ArithmeticError):
            price = None
        except ProtocolError:
            raise ProtocolError(f"{where}: malformed body: a price in {name!r} is not a number") from None
    if price is None or not price.is_finite() or price < 0:
        raise ProtocolError(
            f"{where}: malformed body: a price in {name!r} is not a finite, non-negative number"
        )
    return price


def _whole(value: Any, where: str, what: str) -> int:
    """A whole, non-negative number (a volume, a timestamp), never truncated."""
    if type(value) is int:
        if value >= 0:
            return value
    elif isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        try:
            if value >= 0 and value == int(value):
                return int(value)
        except (ValueError, OverflowError, ArithmeticError):  # NaN, infinities
            pass
    raise ProtocolError(f"{where}: malformed body: {what} is not a whole non-negative number")
