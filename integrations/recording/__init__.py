"""Record and replay provider sessions with vcrpy: redaction, protocol matchers, canonical hosts,
and a replay clock frozen at the recording instant."""

from __future__ import annotations

from ..provider import RecordingRules
from .cassette import IndexedCassette
from .harness import CassetteFormat, make_vcr, read_recorded_at, register, use_cassette, vcr_config
from .matchers import JsonRpcMatcher, ProtocolMatcher, RestMatcher
from .redact import Redactor, is_jwt, is_placeholder
from .session import MODES, NetworkBlocked, RecordedSession, network_blocked, recorded_session
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
]
