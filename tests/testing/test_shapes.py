"""``integrations.testing.shapes.json_shape``: what two documents must share to have one shape."""

from __future__ import annotations

import pytest

from integrations.testing.shapes import json_shape


def test_values_do_not_count_keys_types_and_nesting_do():
    assert json_shape({"a": 1, "b": {"c": "x"}}) == json_shape({"b": {"c": "y"}, "a": 7})
    assert json_shape({"a": 1}) != json_shape({"A": 1})  # casing
    assert json_shape({"a": 1}) != json_shape({"a": 1, "b": 1})  # an extra key
    assert json_shape({"a": True}) != json_shape({"a": 1})
    assert json_shape({"a": None}) != json_shape({"a": "x"})


def test_arrays_are_the_distinct_shapes_of_their_items():
    one, many = [{"p": 1.5, "v": 3}], [{"p": 1.5, "v": 3}, {"p": 2.5, "v": 4}]
    assert json_shape(one) == json_shape(many) == {"array": [{"object": [("p", "float"), ("v", "integer")]}]}
    assert json_shape([]) == {"array": []}
    assert json_shape([True, None, "x"]) == json_shape(["x", None, True])


def test_numbers_exact_or_json_and_key_order_on_request():
    assert json_shape({"a": 1}) != json_shape({"a": 1.0})
    assert json_shape({"a": 1}, numbers="json") == json_shape({"a": 1.0}, numbers="json")
    assert json_shape({"a": 1, "b": 2}) == json_shape({"b": 2, "a": 1})
    assert json_shape({"a": 1, "b": 2}, key_order=True) != json_shape({"b": 2, "a": 1}, key_order=True)
    with pytest.raises(TypeError):
        json_shape({"a": {1, 2}})
