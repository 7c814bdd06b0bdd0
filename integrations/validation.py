"""Argument checks that every facade needs, raising :class:`~integrations.errors.ValidationError`
before anything is sent: timeouts, JSON values to send, and error-message-safe reprs."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Optional

from .errors import ValidationError
from .transport import Timeouts

__all__ = ["MAX_TIMEOUT", "json_value", "show", "timeouts"]

# A day: longer waits are mistakes, and the platform refuses waits past threading.TIMEOUT_MAX.
MAX_TIMEOUT = 86400.0


def show(value: Any) -> str:
    """A short repr for an error message: never fails (a huge int's repr raises), never long."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - any failing __repr__ just gets the type's name
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def timeouts(value: Any) -> Optional[Timeouts]:
    """``timeout=`` as :class:`Timeouts` (``None``: the client's), checked before anything is sent."""
    if value is None:
        return None
    try:
        timeouts = Timeouts.coerce(value)
    except ValidationError:
        raise
    except (TypeError, ValueError, OverflowError):  # e.g. an int too large for a float
        raise ValidationError(
            "timeout must be a finite positive number, a (connect, read) pair or a Timeouts, "
            f"not {show(value)}"
        ) from None
    # Waits (locks, sockets) refuse a timeout beyond the platform's limit with an OverflowError.
    if max(timeouts.connect, timeouts.read, timeouts.total) > MAX_TIMEOUT:
        raise ValidationError(f"timeout must be at most {MAX_TIMEOUT:g} seconds, not {show(value)}")
    return timeouts


_MAX_DEPTH = 32
_INT_RANGE = (-(2**63), 2**64 - 1)


def json_value(value: Any, name: str, depth: int = 0) -> None:
    """Check that ``value`` is JSON that can be sent as it is: dict (string keys), list, tuple, str,
    int (64-bit), finite float or Decimal, bool, None. Never reprs the value (it may hold secrets)."""
    if depth > _MAX_DEPTH:
        raise ValidationError(f"{name} is nested more than {_MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(f"{name} holds a string with a lone surrogate, not UTF-8") from None
        return
    if isinstance(value, int):
        if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise ValidationError(f"{name} holds an integer that does not fit in 64 bits")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{name} holds {value!r}: JSON has finite numbers only")
        return
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(f"{name} holds Decimal {str(value)!r}: JSON has finite numbers only")
        if not value.is_zero() and not -300 <= value.adjusted() <= 300:
            raise ValidationError(
                f"{name} holds a Decimal whose exponent ({value.adjusted()}) is out of range"
            )
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{name} has a {type(key).__name__} key: JSON object keys are strings")
            json_value(key, f"{name} key", depth + 1)
            json_value(item, f"{name}[{show(key)}]", depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for n, item in enumerate(value):
            json_value(item, f"{name}[{n}]", depth + 1)
        return
    raise ValidationError(
        f"{name} holds a {type(value).__name__}: only dict, list, str, int, float, Decimal, bool and "
        "None can be sent as JSON"
    )
