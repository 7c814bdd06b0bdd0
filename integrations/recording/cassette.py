"""A vcrpy cassette with an index: replay cost per request does not grow with the cassette.

Stock vcrpy compares every request with every recorded one (O(n) per request, O(n²) per cassette).
:class:`IndexedCassette` keys each interaction with the protocol matcher's :meth:`key` and keeps,
per key, the recorded interactions in order, so a lookup is a dict access. Playback is locked, so
threads sharing a cassette never play one response twice. A request that matches nothing is
explained by the closest recorded request and the first field that differs.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Deque, Dict, Iterator, List, Optional, Tuple

from vcr.cassette import Cassette
from vcr.errors import UnhandledHTTPRequestError

from .matchers import Key, ProtocolMatcher

__all__ = ["IndexedCassette"]

# vcrpy's shape for a near miss: (recorded request, matched parts, [(matcher, why it failed)]).
Similar = Tuple[Any, List[str], List[Tuple[str, str]]]


class IndexedCassette(Cassette):  # type: ignore[misc]  # vcrpy ships no type information
    """Drop-in for ``vcr.cassette.Cassette`` when ``match_on`` is one :class:`ProtocolMatcher`;
    any other configuration falls back to vcrpy's linear search."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        matchers = list(self._match_on)
        self._matcher: Optional[ProtocolMatcher] = (
            matchers[0] if len(matchers) == 1 and isinstance(matchers[0], ProtocolMatcher) else None
        )
        self._index: Dict[Key, List[int]] = {}
        self._unplayed: Dict[Key, Deque[int]] = {}
        self._lock = threading.RLock()
        self._local = threading.local()

    # vcrpy asks can_play_response_for() and then play_response() for the same request object;
    # filtering (redaction) is the costly part, so it is done once per request object.
    def _filtered(self, request: Any) -> Any:
        cached = getattr(self._local, "last", None)
        if cached is not None and cached[0] is request:
            return cached[1]
        filtered = self._before_record_request(request)
        self._local.last = (request, filtered)
        return filtered

    def _key(self, request: Any) -> Optional[Key]:
        filtered = self._filtered(request)
        if not filtered or self._matcher is None:
            return None
        return self._matcher.key(filtered)

    def append(self, request: Any, response: Any) -> None:
        with self._lock:
            before = len(self.data)
            super().append(request, response)
            if self._matcher is not None and len(self.data) > before:
                key = self._matcher.key(self.data[-1][0])
                self._index.setdefault(key, []).append(before)
                self._unplayed.setdefault(key, collections.deque()).append(before)

    def rewind(self) -> None:
        with self._lock:
            super().rewind()
            self._unplayed = {k: collections.deque(v) for k, v in self._index.items()}

    def _responses(self, request: Any) -> Iterator[Tuple[int, Any]]:
        if self._matcher is None:
            yield from super()._responses(request)
            return
        key = self._key(request)
        for index in self._index.get(key, ()) if key is not None else ():
            yield index, self.data[index][1]

    def __contains__(self, request: Any) -> bool:
        if self._matcher is None:
            return bool(super().__contains__(request))
        key = self._key(request)
        with self._lock:
            return key is not None and (
                bool(self._unplayed.get(key)) or (self.allow_playback_repeats and key in self._index)
            )

    def play_response(self, request: Any) -> Any:
        if self._matcher is None:
            return super().play_response(request)
        key = self._key(request)
        with self._lock:
            queue = self._unplayed.get(key) if key is not None else None
            if queue:
                index = queue.popleft()
            elif self.allow_playback_repeats and key in self._index:
                index = self._index[key][0]
            else:
                raise UnhandledHTTPRequestError(
                    f"The cassette ({self._path!r}) doesn't contain the request ({request!r}) asked for"
                )
            if self.play_counts[index] == 0 and index < getattr(self, "_loaded_count", 0):
                self._played_interactions.append(self.data[index])
            self.play_counts[index] += 1
            return self.data[index][1]

    def find_requests_with_most_matches(self, request: Any) -> List[Similar]:
        """The recorded request(s) closest to ``request``: most leading key fields in common.

        Returns vcrpy's shape, ``(request, matched fields, [(matcher, "<field> differs: a != b")])``,
        so vcrpy's "no match" error names the closest request and the field that differs.
        """
        if self._matcher is None:
            return list(super().find_requests_with_most_matches(request))
        key = self._key(request)
        if key is None:
            return []
        best: List[Similar] = []
        best_score = 0
        for stored, _ in self.data:
            stored_key = self._matcher.key(stored)
            same = [name for (name, a), (_, b) in zip(key, stored_key) if a == b]
            score = 0
            for (_, a), (_, b) in zip(key, stored_key):
                if a != b:
                    break
                score += 1
            if score == 0 or score < best_score:
                continue
            try:
                self._matcher(self._filtered(request), stored)
                fails: List[Tuple[str, str]] = [(self._matcher.__name__, "already played")]
            except AssertionError as exc:
                fails = [(self._matcher.__name__, str(exc))]
            if score > best_score:
                best, best_score = [], score
            best.append((stored, same, fails))
        return best[:3]
