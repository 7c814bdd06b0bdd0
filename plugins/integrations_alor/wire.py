"""How ALOR's scalars read off the wire, for every model's cattrs converter: exact Decimals, ids as
strings whether sent as strings or numbers, whole numbers, booleans. Each raises ``ValueError``
(the models' structure functions turn it into a ``ProtocolError`` naming the model)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["boolean", "decimal", "text", "whole"]


def decimal(value: Any, _: Any = None) -> Decimal:
    """A finite Decimal from a JSON number (read as Decimal, int or float) or a numeric string."""
    if type(value) is Decimal:
        number = value
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            number = Decimal(value)
        except ArithmeticError:
            raise ValueError(f"expected a number, got {str(value)[:40]!r}") from None
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return number


def text(value: Any, _: Any = None) -> str:
    """A string; an id sent as a number (the spec's StopOrder and AllTrade ids) becomes one too."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    raise ValueError(f"expected a string or an integer id, got {type(value).__name__}")


def whole(value: Any, _: Any = None) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ValueError(f"expected a whole number, got {type(value).__name__}")


def boolean(value: Any, _: Any = None) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected a boolean, got {type(value).__name__}")
