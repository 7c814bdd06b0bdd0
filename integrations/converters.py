"""A cattrs converter built on first use, for plugins' models.

``import cattrs`` costs about 10 ms, which every process that imports the host would pay (the host
loads every installed plugin) whether or not it ever structures a reply. A :class:`LazyConverter`
pays it on the first call that does.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Optional, Type, TypeVar

from ._fork import renew_locks_in_child

if TYPE_CHECKING:
    import cattrs

__all__ = ["LazyConverter"]

T = TypeVar("T")


class LazyConverter:
    """``cattrs.Converter(detailed_validation=False)``, configured by ``configure(converter)`` (the
    plugin registers its hooks there) when first needed. Thread-safe."""

    def __init__(self, configure: Callable[[cattrs.Converter], None]) -> None:
        self._configure = configure
        self._converter: Optional[cattrs.Converter] = None
        self._lock = threading.Lock()
        renew_locks_in_child(self, _lock=threading.Lock)

    def get(self) -> cattrs.Converter:
        """The converter, built and configured on the first call."""
        converter = self._converter
        if converter is None:
            with self._lock:
                if self._converter is None:
                    import cattrs

                    built = cattrs.Converter(detailed_validation=False)
                    self._configure(built)
                    self._converter = built
                converter = self._converter
        return converter

    def structure(self, data: Any, cls: Type[T]) -> T:
        """Structure ``data`` as ``cls``. The structuring hooks' own exceptions pass through; a
        cattrs validation error becomes a ``ValueError`` with its message."""
        import cattrs

        try:
            return self.get().structure(data, cls)
        except cattrs.BaseValidationError as exc:
            raise ValueError(str(exc)) from exc
