"""Record and replay provider sessions with vcrpy: redaction, protocol matchers, canonical hosts,
and a replay clock frozen at the recording instant.

Needs the ``recording`` extra (vcrpy, PyYAML): ``pip install 'trading-integrations[recording]'``. Importing
this package imports neither: each name below is imported on first use (PEP 562), so the pytest
plugin, which lives here, loads neither in a test run that does not record or replay.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING:  # what mypy and editors see; at run time __getattr__ imports each on first use
    from ..provider import RecordingRules
    from .cassette import IndexedCassette
    from .harness import CassetteFormat, make_vcr, read_recorded_at, register, use_cassette, vcr_config
    from .matchers import JsonRpcMatcher, ProtocolMatcher, RestMatcher
    from .modes import MODES
    from .redact import Redactor, is_jwt, is_placeholder
    from .session import NetworkBlocked, RecordedSession, network_blocked, recorded_session
    from .verify import Difference, compare_dirs, verify

__all__ = [
    "MODES",
    "CassetteFormat",
    "Difference",
    "IndexedCassette",
    "compare_dirs",
    "JsonRpcMatcher",
    "NetworkBlocked",
    "RecordedSession",
    "RecordingRules",
    "Redactor",
    "is_jwt",
    "is_placeholder",
    "make_vcr",
    "network_blocked",
    "read_recorded_at",
    "recorded_session",
    "register",
    "RestMatcher",
    "ProtocolMatcher",
    "use_cassette",
    "vcr_config",
    "verify",
    "ReplayClock",
    "WebSocketReplayError",
    "WsRecorder",
    "WsReplayer",
]

# Where each lazily imported name lives (relative to this package).
_LAZY: Dict[str, str] = {
    "RecordingRules": "..provider",
    "IndexedCassette": ".cassette",
    "CassetteFormat": ".harness",
    "make_vcr": ".harness",
    "read_recorded_at": ".harness",
    "register": ".harness",
    "use_cassette": ".harness",
    "vcr_config": ".harness",
    "JsonRpcMatcher": ".matchers",
    "ProtocolMatcher": ".matchers",
    "RestMatcher": ".matchers",
    "MODES": ".modes",
    "Redactor": ".redact",
    "ReplayClock": ".ws",
    "WebSocketReplayError": ".ws",
    "WsRecorder": ".ws",
    "WsReplayer": ".ws",
    "is_jwt": ".redact",
    "is_placeholder": ".redact",
    "NetworkBlocked": ".session",
    "RecordedSession": ".session",
    "network_blocked": ".session",
    "recorded_session": ".session",
    "Difference": ".verify",
    "compare_dirs": ".verify",
    "verify": ".verify",
}


def _import_on_first_use(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(where, __name__)
    except ModuleNotFoundError as exc:
        from .modes import HEAVY_MODULES, missing_message

        if exc.name not in HEAVY_MODULES:
            raise
        raise ModuleNotFoundError(missing_message(f"integrations.recording.{name}"), name=exc.name) from exc
    value = getattr(module, name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any name here, typos included
    __getattr__ = _import_on_first_use


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``verify`` names both a submodule and the function exported here. Importing the submodule
    makes the import system bind it on this package; keep that name for the function, as before."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return  # the submodule stays reachable as sys.modules[f"{__name__}.{name}"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
