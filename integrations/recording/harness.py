"""vcrpy wiring: redaction, protocol matchers, canonical hosts and the cassette format.

``vcr_config(*providers)`` returns keyword arguments for ``vcr.VCR`` (or pytest-recording's
``vcr_config`` fixture); ``make_vcr(*providers)`` returns a configured ``vcr.VCR`` with the matcher
and the cassette format registered.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import vcr
import yaml

from ..host import Host, default_host
from ..provider import ProviderSpec, RecordingRules
from .cassette import IndexedCassette
from .matchers import HostDispatchMatcher, matcher_for
from .redact import Redactor

__all__ = [
    "CASSETTE_SUFFIXES",
    "CassetteFormat",
    "MATCHER_NAME",
    "SERIALIZER_NAME",
    "cassette_files",
    "load_cassette_file",
    "make_vcr",
    "read_recorded_at",
    "register",
    "use_cassette",
    "vcr_config",
]

MATCHER_NAME = "integrations"
SERIALIZER_NAME = "integrations"
# Response headers that would say "this came from the sandbox" or vary run to run for no reason.
_DROPPED_RESPONSE_HEADERS = frozenset({"server", "date"})


class CassetteFormat:
    """vcrpy's YAML format plus ``recorded_at`` (Unix seconds): the instant replay freezes the clock at."""

    def __init__(self, recorded_at: Optional[float] = None) -> None:
        self.recorded_at = recorded_at

    def serialize(self, cassette_dict: Dict[str, Any]) -> str:
        recorded_at = self.recorded_at if self.recorded_at is not None else time.time()
        data = {"recorded_at": recorded_at, **cassette_dict}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)

    def deserialize(self, text: str) -> Dict[str, Any]:
        data = yaml.safe_load(text) or {}
        if self.recorded_at is None and "recorded_at" in data:
            self.recorded_at = float(data["recorded_at"])
        return {"interactions": data.get("interactions", []), "version": data.get("version", 1)}


CASSETTE_SUFFIXES = (".yaml", ".yml")


def cassette_files(root: str | Path) -> List[Path]:
    """``root`` itself if it is a file, else every cassette file under it, sorted: WebSocket frames
    files (``<cassette stem>.ws.yaml``, :mod:`integrations.recording.ws`) included, which
    ``cassettes check`` and ``cassettes verify`` read as such."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix in CASSETTE_SUFFIXES and p.is_file())


def load_cassette_file(path: str | Path) -> Dict[str, Any]:
    """A cassette file's YAML as a mapping (empty if it holds none). Raises ``OSError`` and
    ``yaml.YAMLError``."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return data if isinstance(data, dict) else {}


def read_recorded_at(path: str | Path) -> Optional[float]:
    """The ``recorded_at`` of a cassette file, or ``None`` if the file is missing or has none."""
    p = Path(path)
    if not p.exists():
        return None
    value = load_cassette_file(p).get("recorded_at")
    return float(value) if value is not None else None


def _specs(providers: Iterable[str], host: Optional[Host]) -> Tuple[ProviderSpec, ...]:
    h = host or default_host()
    return tuple(h.provider(name) for name in providers)


def _rules_by_host(specs: Sequence[ProviderSpec]) -> Dict[str, RecordingRules]:
    table: Dict[str, RecordingRules] = {}
    for spec in specs:
        for urls in spec.contours.values():
            for url in urls.values():
                table[urlsplit(url).netloc.lower()] = spec.recording or RecordingRules()
    return table


def _matcher(specs: Sequence[ProviderSpec]) -> HostDispatchMatcher:
    by_host = {host: matcher_for(rules) for host, rules in _rules_by_host(specs).items()}
    return HostDispatchMatcher(by_host, matcher_for(RecordingRules()))


def vcr_config(
    *providers: str,
    canonical_urls: Optional[Mapping[str, str]] = None,
    redactor: Optional[Redactor] = None,
    host: Optional[Host] = None,
) -> Dict[str, Any]:
    """Keyword arguments for ``vcr.VCR`` covering ``providers``.

    ``canonical_urls`` maps a local base URL (the sandbox's) to the contour's canonical one, so
    cassettes never hold a loopback address. The matcher is named ``"integrations"``; register it
    with :func:`register` (``make_vcr`` does).
    """
    specs = _specs(providers, host)
    redactor = redactor or Redactor(spec.recording or RecordingRules() for spec in specs)
    rewrites = sorted((canonical_urls or {}).items(), key=lambda kv: len(kv[0]), reverse=True)

    def before_record_request(request: Any) -> Any:
        for local, canonical in rewrites:
            if request.uri.startswith(local):
                request.uri = canonical.rstrip("/") + request.uri[len(local) :]
                break
        request.uri = redactor.url(request.uri)
        for name, value in redactor.headers(dict(request.headers)).items():
            request.headers[name] = value
        if request.body:
            request.body = redactor.body(request.body, str(request.headers.get("Content-Type", "")))
            if "Content-Length" in request.headers:
                request.headers["Content-Length"] = str(len(request.body))
        return request

    def before_record_response(response: Dict[str, Any]) -> Dict[str, Any]:
        # Sorted, so that a re-recording is byte-for-byte comparable whatever order a server used.
        headers = {
            k: v
            for k, v in sorted(response.get("headers", {}).items(), key=lambda kv: kv[0].lower())
            if k.lower() not in _DROPPED_RESPONSE_HEADERS
        }
        headers = redactor.headers(headers)
        content_type = " ".join(str(v) for k, v in headers.items() if k.lower() == "content-type")
        body = response.get("body", {}).get("string", b"")
        if body:
            redacted = redactor.body(body, content_type)
            response["body"]["string"] = redacted
            for k in list(headers):
                if k.lower() == "content-length":
                    headers[k] = [str(len(redacted))]
        response["headers"] = headers
        return response

    return {
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "decode_compressed_response": True,
        "match_on": [MATCHER_NAME],
        "record_on_exception": False,
    }


def register(
    v: vcr.VCR, *providers: str, host: Optional[Host] = None, cassette_format: Optional[CassetteFormat] = None
) -> vcr.VCR:
    """Register the ``integrations`` matcher (and cassette format) on an existing ``vcr.VCR``."""
    v.register_matcher(MATCHER_NAME, _matcher(_specs(providers, host)))
    v.register_serializer(SERIALIZER_NAME, cassette_format or CassetteFormat())
    return v


def make_vcr(
    *providers: str,
    record_mode: str = "none",
    canonical_urls: Optional[Mapping[str, str]] = None,
    redactor: Optional[Redactor] = None,
    cassette_format: Optional[CassetteFormat] = None,
    host: Optional[Host] = None,
) -> vcr.VCR:
    """A ``vcr.VCR`` configured for ``providers``: redaction, matchers, canonical hosts, format."""
    config = vcr_config(*providers, canonical_urls=canonical_urls, redactor=redactor, host=host)
    v = vcr.VCR(record_mode=record_mode, serializer=SERIALIZER_NAME, **config)
    return register(v, *providers, host=host, cassette_format=cassette_format)


def use_cassette(v: vcr.VCR, path: str | Path, **kwargs: Any) -> Any:
    """Like ``v.use_cassette(path)``, with an :class:`IndexedCassette`: constant-time lookups,
    thread-safe playback, and "closest request" diagnostics."""
    return IndexedCassette.use(**v.get_merged_config(path=str(path), **kwargs))
