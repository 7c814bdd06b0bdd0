"""A module imported on first attribute access: for code that needs a heavy module only in some calls.

``models = lazy_module("pkg.models")`` then ``models.Position``; under ``TYPE_CHECKING`` import the
real module under the same name, so type checkers see its types::

    if TYPE_CHECKING:
        from . import models
    else:
        models = lazy_module(__package__ + ".models")
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        # importlib caches the module in sys.modules and serialises concurrent first imports.
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on the first attribute access."""
    return _LazyModule(name)
