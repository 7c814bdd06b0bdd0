"""Record and replay provider sessions with vcrpy: redaction, protocol matchers, canonical hosts,
and a replay clock frozen at the recording instant."""

from __future__ import annotations

from .harness import CassetteFormat, make_vcr, read_recorded_at, register, vcr_config
from .matchers import jsonrpc_matcher, rest_matcher
from .redact import Redactor, is_jwt, is_placeholder
from .rules import RecordingRules
from .session import MODES, NetworkBlocked, RecordedSession, network_blocked, recorded_session

__all__ = [
    "MODES",
    "CassetteFormat",
    "NetworkBlocked",
    "RecordedSession",
    "RecordingRules",
    "Redactor",
    "is_jwt",
    "is_placeholder",
    "jsonrpc_matcher",
    "make_vcr",
    "network_blocked",
    "read_recorded_at",
    "recorded_session",
    "register",
    "rest_matcher",
    "vcr_config",
]
