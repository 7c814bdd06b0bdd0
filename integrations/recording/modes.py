"""The harness's plain constants and its dependency check: nothing here imports vcrpy or PyYAML, so
the pytest plugin can declare its options and the package can explain a missing extra cheaply."""

from __future__ import annotations

import importlib.util
from typing import Tuple

__all__ = ["EXTRA_HINT", "HEAVY_MODULES", "MODES", "TARGETS", "missing_dependencies", "missing_message"]

# none: replay only; once: record cassettes that do not exist yet; rewrite: record every cassette anew.
MODES = ("none", "once", "rewrite")

# What a recording talks to: the provider's sandbox, or the contour itself (its real test servers).
TARGETS = ("sandbox", "contour")

EXTRA_HINT = "pip install 'trading-integrations[recording]'"

# Import name -> distribution name: what the ``recording`` extra installs.
_DEPENDENCIES = (("vcr", "vcrpy"), ("yaml", "PyYAML"))
HEAVY_MODULES = tuple(module for module, _ in _DEPENDENCIES)


def missing_dependencies() -> Tuple[str, ...]:
    """The distributions of the ``recording`` extra that are not installed (found without importing them)."""
    return tuple(dist for module, dist in _DEPENDENCIES if importlib.util.find_spec(module) is None)


def missing_message(what: str = "integrations.recording", missing: Tuple[str, ...] = ()) -> str:
    """A clear error message: what needs the extra, what is missing, and the command that installs it."""
    missing = missing or missing_dependencies() or tuple(dist for _, dist in _DEPENDENCIES)
    verb = "is" if len(missing) == 1 else "are"
    return f"{what} needs {' and '.join(missing)}, which {verb} not installed: {EXTRA_HINT}"
