"""ALOR's argument checks, shared by every facade method: each raises
:class:`~integrations.errors.ValidationError` naming the argument, before anything is sent."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Optional, Union
from urllib.parse import unquote

from integrations.errors import ValidationError
from integrations.validation import json_value as _json_value
from integrations.validation import show as _show

ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders"
FORMATS = {"simple": "Simple", "slim": "Slim", "heavy": "Heavy"}
EXCHANGES = ("MOEX", "SPBX")
SIDES = ("buy", "sell")
MAX_QUANTITY = 2**31 - 1

_TICKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
_PORTFOLIO = re.compile(r"[A-Za-z0-9-]{1,32}")
# ALOR order numbers are strings of decimal digits (a positive number: not all zeros).
_ORDER_NUMBER = re.compile(r"(?=[0-9]*[1-9])[0-9]{1,20}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_DESCRIPTIONS = {
    _ORDER_NUMBER.pattern: "a positive number of at most 20 decimal digits",
    _REQUEST_ID.pattern: "an identifier of at most 128 characters (letters, digits, . _ : -)",
    _PORTFOLIO.pattern: "an identifier of at most 32 characters (letters, digits, -)",
}
_METHODS = ("GET", "POST", "PUT", "DELETE")
_MAX_PATH = 2048

# A price is sent as a JSON number the exchange must be able to read back: finite, positive, with a
# sane number of significant digits and a sane magnitude (so 1e-400 is not sent as 0.0, nor 1e400
# as Infinity).
PRICE_MAX_DIGITS = 20
PRICE_MIN_EXPONENT = -12
PRICE_MAX_EXPONENT = 15

PriceLike = Union[Decimal, int, float, str]


def _exchange(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in EXCHANGES:
        raise ValidationError(f"exchange must be one of {', '.join(EXCHANGES)}, not {_show(value)}")
    return value.upper()


def _token(value: Any, name: str, pattern: re.Pattern[str]) -> str:
    # Values go into URL paths, headers and query strings, so anything beyond plain identifiers is
    # refused outright. fullmatch, not match: "$" would let a trailing newline through.
    if not isinstance(value, str) or not pattern.fullmatch(value):
        what = _DESCRIPTIONS.get(pattern.pattern, "a non-empty identifier (letters, digits, . _ -)")
        raise ValidationError(f"{name} must be {what}, not {_show(value)}")
    return value


def _order_number(value: Any) -> str:
    """An order number: a string of decimal digits, or a positive int (not a bool)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value < 10**20:
            raise ValidationError(
                f"order_number must be a positive number of at most 20 digits, not {_show(value)}"
            )
        return str(value)
    return _token(value, "order_number", _ORDER_NUMBER)


def _int_in(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{name} must be an integer from {low} to {high}, not {_show(value)}")
    return value


def _price(value: Any) -> Decimal:
    """A price as a :class:`Decimal`, kept exactly as given (a float via its shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise ValidationError(f"price must be a number (Decimal, int, float or str), not {_show(value)}")
    if isinstance(value, str) and len(value) > 100:
        raise ValidationError("price must be a number of at most 100 characters")
    try:
        price = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValidationError(f"price must be a number, not {_show(value)}") from None
    if not price.is_finite() or price <= 0:
        raise ValidationError(f"price must be a positive finite number, not {_show(value)}")
    digits = price.as_tuple().digits
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1
    if significant > PRICE_MAX_DIGITS:
        raise ValidationError(
            f"price has {significant} significant digits, more than the {PRICE_MAX_DIGITS} that can be "
            f"sent exactly: {_show(value)}"
        )
    if not PRICE_MIN_EXPONENT <= price.adjusted() <= PRICE_MAX_EXPONENT:
        raise ValidationError(
            f"price is out of range: its magnitude must be from 1e{PRICE_MIN_EXPONENT} to below "
            f"1e{PRICE_MAX_EXPONENT + 1} (its exponent is {price.adjusted()}): {_show(value)}"
        )
    return price


def _side(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in SIDES:
        raise ValidationError(f"side must be 'buy' or 'sell', not {_show(value)}")
    return value.lower()


def _comment(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 100 or not _printable(value):
        raise ValidationError(
            "comment must be a string of at most 100 characters, without control characters"
        )
    return value


def _printable(text: str) -> bool:
    """No control characters (C0, DEL, C1) and no lone surrogates (which cannot be encoded)."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path(value: Any) -> str:
    """A path below a service's base URL: no scheme or host, no query or fragment, no ``.``/``..``
    segments or empty ones (``//``), no control characters, even percent-encoded."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > _MAX_PATH:
        raise ValidationError(
            f"path must start with '/' (at most {_MAX_PATH} characters), not {_show(value)}"
        )
    problem = None
    if not _printable(value) or not _printable(unquote(value)):
        problem = "control characters"
    elif "?" in value or "#" in value:
        problem = "'?' or '#' (pass query parameters as params=)"
    elif "\\" in value or any(c.isspace() for c in value):
        problem = "backslashes or spaces"
    else:
        segments = value[1:].split("/")
        for n, segment in enumerate(segments):
            decoded = unquote(segment)
            if decoded in (".", ".."):
                problem = "'.' or '..' segments"
            elif "/" in decoded or "\\" in decoded:
                problem = "percent-encoded slashes"
            elif not segment and n < len(segments) - 1:
                problem = "empty segments ('//')"
            if problem:
                break
    if problem:
        raise ValidationError(f"path must not contain {problem}: {_show(value)}")
    return value


def _query(value: Any) -> Optional[dict[str, Any]]:
    """Query parameters: a mapping of string keys to JSON scalars or lists of them (no nesting)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"params must be a dict of query parameters, not {type(value).__name__}")
    params = dict(value)
    for key, item in params.items():
        if not isinstance(key, str) or not key or not _printable(key):
            raise ValidationError(
                f"params keys must be non-empty strings without control characters, not {_show(key)}"
            )
        for scalar in item if isinstance(item, (list, tuple)) else (item,):
            if isinstance(scalar, (dict, list, tuple)):
                raise ValidationError(f"params[{_show(key)}]: query parameters cannot nest")
            _json_value(scalar, f"params[{_show(key)}]")
    return params


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, not {_show(value)}")
    return value


def _request_id(value: Any) -> Optional[str]:
    """An order command's own request id (``X-REQID``): ``None`` for a new one."""
    return None if value is None else _token(value, "request_id", _REQUEST_ID)
