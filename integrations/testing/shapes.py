"""The shape of a JSON document, to compare an answer with a documented example structurally: the
same keys (with their casing), the same nesting and the same JSON value types, whatever the values.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["json_shape"]


def json_shape(value: Any, *, key_order: bool = False, numbers: str = "exact") -> Any:
    """The shape of a decoded JSON ``value``, as plain data that compares with ``==``.

    - an object: its keys (casing included) with the shapes of their values; with ``key_order``
      the order of the keys counts too;
    - an array: the distinct shapes of its items, so a one-level and a twenty-level order book
      have the same shape (an empty array's shape is the empty list);
    - a scalar: ``"string"``, ``"boolean"``, ``"null"``, and for numbers ``"integer"`` or ``"float"``
      (``numbers="exact"``: ``1`` and ``1.0`` differ, as they do on the wire) or ``"number"``
      (``numbers="json"``: JSON's one number type, for documents that print 210 and 13.855 alike).

    Raises ``TypeError`` for a value JSON cannot hold.
    """
    if numbers not in ("exact", "json"):
        raise ValueError("numbers must be 'exact' or 'json'")

    def shape(item: Any) -> Any:
        if isinstance(item, dict):
            fields = [(key, shape(child)) for key, child in item.items()]
            return {"object": fields if key_order else sorted(fields, key=lambda field: field[0])}
        if isinstance(item, list):
            distinct = {json.dumps(shape(child), sort_keys=True): shape(child) for child in item}
            return {"array": [distinct[text] for text in sorted(distinct)]}
        if item is None:
            return "null"
        if isinstance(item, bool):
            return "boolean"
        if isinstance(item, int):
            return "integer" if numbers == "exact" else "number"
        if isinstance(item, float):
            return "float" if numbers == "exact" else "number"
        if isinstance(item, str):
            return "string"
        raise TypeError(f"not a JSON value: {type(item).__name__}")

    return shape(value)
