"""Fault injection for the sandbox server, and the record of what it received.

A :class:`Fault` says what to do to matching requests: answer instead of the app, lose the reply after
the app acted, reset the connection, drip the reply, stay silent, redirect, send an oversized body.
Every running sandbox holds a :class:`FaultPlan` (``sandbox.faults``) which its server consults for every
request of every service, so any emulator, built-in or third-party, gets faults with no code of its own.

>>> with integrations.sandbox.running("alor") as sb:
...     lost = sb.faults.add(Fault.drop_reply(method="POST", path=re.compile("/orders/actions/"), times=1))
...     ...                      # the order is placed; the client sees its connection reset
...     assert lost.hits == 1 and sb.requests()[-1].fault == lost.fault

Matching (every criterion given must hold; none given matches every request):

- ``service``: the first path segment, the key of ``base_urls`` (``"api"``, ``"oauth"``).
- ``method``: the HTTP method, case-insensitive.
- ``path``: the path inside the service, as the emulator sees it (``PATH_INFO``, percent-decoded). A
  ``str`` must be equal; an ``re.Pattern`` is *searched* (anchor it with ``^...$`` for a full match).
- ``rpc_method``: a JSON-RPC method named by the body (a request object or any member of a batch) or
  by the ``?method=`` query parameter; a ``str`` is compared, an ``re.Pattern`` searched.
- ``when``: any predicate of the :class:`RequestRecord`, checked last. It runs under the plan's
  lock, so keep it quick and never touch the plan from it.
- ``skip``: let the first ``skip`` matching requests through untouched; ``times``: then apply to this
  many (``None``: to every one). A fault whose ``times`` is used up stops matching.

Faults apply in the order they were added: the first one that matches a request applies, once.
"""

from __future__ import annotations

import json
import re
import threading
from typing import (
    Any,
    Callable,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)
from urllib.parse import parse_qsl

import attrs

__all__ = ["FAULT_SYNTAX", "Fault", "FaultHandle", "FaultPlan", "Headers", "RequestRecord", "rpc_methods"]

Matcher = Union[str, re.Pattern[str]]
HeadersLike = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]

_ACTIONS = ("respond", "drop_reply", "reset", "drip", "truncate", "silence", "redirect", "huge")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOW = ("reset", "close")
# The parameters each action takes, in the order repr and str show them.
_PARAMS: Mapping[str, Tuple[str, ...]] = {
    "respond": ("status", "headers", "body"),
    "drop_reply": ("how",),
    "reset": ("how",),
    "drip": ("interval", "chunk", "head"),
    "truncate": ("after", "how"),
    "silence": (),
    "redirect": ("status", "location"),
    "huge": ("size", "status"),
}
_REQUIRED: Mapping[str, Tuple[str, ...]] = {
    "respond": ("status",),
    "redirect": ("status", "location"),
    "huge": ("size",),
}
_MATCH = ("service", "method", "path", "rpc_method", "skip", "times")
_MATCH_KEYWORDS = frozenset(_MATCH) | {"when"}


def _upper(value: Optional[str]) -> Optional[str]:
    return None if value is None else str(value).upper()


def _header_pairs(value: HeadersLike) -> Tuple[Tuple[str, str], ...]:
    if value is None:
        return ()
    items: Iterable[Any] = value.items() if isinstance(value, Mapping) else value
    pairs = tuple((str(name), str(val)) for name, val in items)
    for name, val in pairs:
        # A CR or LF would let a header break the response framing the fault is meant to control.
        if not name or any(c in name for c in "\r\n:") or any(c in val for c in "\r\n"):
            raise ValueError(f"invalid header {name!r}: {val!r}")
    return pairs


def _bytes(value: Union[bytes, str]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _optional_count(instance: Any, attribute: Any, value: Optional[int]) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{attribute.name} must be a positive integer or None, not {value!r}")


def _count(instance: Any, attribute: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative integer, not {value!r}")


def _matcher(instance: Any, attribute: Any, value: Optional[Matcher]) -> None:
    if value is not None and not isinstance(value, (str, re.Pattern)):
        raise TypeError(f"{attribute.name} must be a str (exact) or an re.Pattern (searched), not {value!r}")


def _show(value: Any) -> str:
    if isinstance(value, re.Pattern):
        return f"re.compile({value.pattern!r})"
    return repr(value)


@attrs.frozen(repr=False)
class Fault:
    """What to do to the requests that match. Build one with a constructor named after its action:

    ``Fault.respond(429, {"Retry-After": "3600"})``, ``Fault.drop_reply()``, ``Fault.reset()``,
    ``Fault.drip(interval=0.2)``, ``Fault.truncate(after=10)``, ``Fault.silence()``,
    ``Fault.redirect(307, "/api/elsewhere")``, ``Fault.huge(10_000_000)``.

    Each takes the matching criteria as keyword arguments (``service``, ``method``, ``path``,
    ``rpc_method``, ``times``, ``skip``, ``when``; see the module docstring). Use ``attrs.evolve`` for a
    variant. ``str(fault)`` is its ``integrations sandbox --fault`` spelling; :meth:`parse` reads it.
    """

    action: str = attrs.field(validator=attrs.validators.in_(_ACTIONS))
    # Which requests.
    service: Optional[str] = None
    method: Optional[str] = attrs.field(default=None, converter=_upper)
    path: Optional[Matcher] = attrs.field(default=None, validator=_matcher)
    rpc_method: Optional[Matcher] = attrs.field(default=None, validator=_matcher)
    times: Optional[int] = attrs.field(default=None, validator=_optional_count)
    skip: int = attrs.field(default=0, validator=_count)
    when: Optional[Callable[[RequestRecord], bool]] = attrs.field(default=None, eq=False)
    # What to do.
    status: int = 0
    headers: Tuple[Tuple[str, str], ...] = attrs.field(default=(), converter=_header_pairs)
    body: bytes = attrs.field(default=b"", converter=_bytes)
    how: str = attrs.field(default="reset", validator=attrs.validators.in_(_HOW))
    interval: float = attrs.field(default=0.1, converter=float)
    chunk: int = attrs.field(default=1, validator=_count)
    head: bool = False
    after: int = attrs.field(default=0, validator=_count)
    location: str = ""
    size: int = attrs.field(default=0, validator=_count)

    def __attrs_post_init__(self) -> None:
        action = self.action
        if action == "respond" and not 200 <= self.status <= 599:
            raise ValueError(f"respond needs a final status from 200 to 599, not {self.status!r}")
        if action == "redirect":
            if self.status not in _REDIRECTS:
                raise ValueError(f"redirect needs one of {sorted(_REDIRECTS)}, not {self.status!r}")
            if not self.location or any(c in self.location for c in "\r\n"):
                raise ValueError(f"redirect needs a location on one line, not {self.location!r}")
        if action == "huge":
            if self.status == 0:
                object.__setattr__(self, "status", 200)
            if self.size < 2:
                raise ValueError("huge needs a size of at least 2 bytes (the smallest JSON string)")
            if not 200 <= self.status <= 599:
                raise ValueError(f"huge needs a status from 200 to 599, not {self.status!r}")
        if action == "drip" and (self.interval < 0 or self.chunk < 1):
            raise ValueError("drip needs interval >= 0 and chunk >= 1")

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def _build(cls, action: str, match: Mapping[str, Any], **params: Any) -> Fault:
        unknown = sorted(set(match) - _MATCH_KEYWORDS)
        if unknown:
            raise TypeError(
                f"Fault.{action}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                f"it matches by {', '.join(sorted(_MATCH_KEYWORDS))}"
            )
        return cls(action, **params, **match)

    @classmethod
    def respond(
        cls, status: int, headers: HeadersLike = None, body: Union[bytes, str] = b"", **match: Any
    ) -> Fault:
        """Answer ``status`` with ``headers`` and ``body`` instead of the app (which never sees the
        request). ``Content-Length`` is set from the body; the connection stays usable."""
        return cls._build("respond", match, status=status, headers=headers, body=body)

    @classmethod
    def drop_reply(cls, *, how: str = "reset", **match: Any) -> Fault:
        """Let the app process the request, then end the connection without sending its reply: the
        lost reply after the server acted. ``how="reset"`` aborts with a TCP RST (the client reads
        ``ECONNRESET``); ``how="close"`` closes cleanly (FIN: the client reads end-of-stream)."""
        return cls._build("drop_reply", match, how=how)

    @classmethod
    def reset(cls, *, how: str = "reset", **match: Any) -> Fault:
        """End the connection before the app sees the request (it is read, never processed).
        ``how`` as for :meth:`drop_reply`."""
        return cls._build("reset", match, how=how)

    @classmethod
    def drip(cls, interval: float = 0.1, chunk: int = 1, *, head: bool = False, **match: Any) -> Fault:
        """Let the app answer, then send its body ``chunk`` bytes at a time with ``interval`` seconds
        between pieces (``head=True``: the status line and headers too)."""
        return cls._build("drip", match, interval=interval, chunk=chunk, head=head)

    @classmethod
    def truncate(cls, after: int = 0, *, how: str = "close", **match: Any) -> Fault:
        """Let the app answer, send its headers (with the full ``Content-Length``) and the first
        ``after`` bytes of its body, then end the connection (``how`` as for :meth:`drop_reply`)."""
        return cls._build("truncate", match, after=after, how=how)

    @classmethod
    def silence(cls, **match: Any) -> Fault:
        """Read the request and never answer; the connection stays open until the client gives up
        or the server stops. The app never sees the request."""
        return cls._build("silence", match)

    @classmethod
    def redirect(cls, status: int, location: str, **match: Any) -> Fault:
        """Answer ``status`` (301, 302, 303, 307 or 308) with ``Location: location`` instead of the
        app. ``location`` may be relative (``/api/elsewhere``) or absolute (another port, itself)."""
        return cls._build("redirect", match, status=status, location=location)

    @classmethod
    def huge(cls, size: int, *, status: int = 200, **match: Any) -> Fault:
        """Answer ``status`` with a valid JSON body of exactly ``size`` bytes (``{"data":"xxx…"}``),
        streamed in 64 KiB pieces, never built in memory. The app never sees the request."""
        return cls._build("huge", match, size=size, status=status)

    # -- matching -------------------------------------------------------------------------------

    @property
    def needs_rpc_methods(self) -> bool:
        """Whether matching this fault needs the request body parsed."""
        return self.rpc_method is not None or self.when is not None

    def matches(self, request: RequestRecord) -> bool:
        """Whether ``request`` meets every matching criterion (``skip`` and ``times`` aside)."""
        if self.service is not None and request.service != self.service:
            return False
        if self.method is not None and request.method != self.method:
            return False
        if self.path is not None:
            if isinstance(self.path, str):
                if request.path != self.path:
                    return False
            elif self.path.search(request.path) is None:
                return False
        if self.rpc_method is not None:
            if isinstance(self.rpc_method, str):
                if self.rpc_method not in request.rpc_methods:
                    return False
            elif not any(self.rpc_method.search(name) for name in request.rpc_methods):
                return False
        return self.when is None or bool(self.when(request))

    # -- spelling -------------------------------------------------------------------------------

    def _fields(self) -> List[Tuple[str, Any]]:
        defaults = {a.name: a.default for a in attrs.fields(Fault)}
        shown = [(name, getattr(self, name)) for name in _PARAMS[self.action]]
        shown += [(name, getattr(self, name)) for name in _MATCH if getattr(self, name) != defaults[name]]
        return shown

    def __repr__(self) -> str:
        args = [f"{name}={_show(value)}" for name, value in self._fields()]
        if self.when is not None:
            args.append(f"when={self.when!r}")
        return f"Fault.{self.action}({', '.join(args)})"

    def __str__(self) -> str:
        """The ``--fault`` spelling: ``ACTION:KEY=VALUE,...``, or JSON when a value holds a comma or
        a newline. :meth:`parse` reads it back (a ``when`` predicate cannot be spelled)."""
        pairs: List[Tuple[str, str]] = []
        for name, value in self._fields():
            if name == "headers":
                pairs += [("header", f"{n}: {v}") for n, v in value]
            elif name == "body":
                if value:
                    pairs.append(("body", value.decode("utf-8", "backslashreplace")))
            elif isinstance(value, re.Pattern):
                pairs.append((f"{name}~", value.pattern))
            elif isinstance(value, bool):
                pairs.append((name, "true" if value else "false"))
            else:
                pairs.append((name, str(value)))
        if any(c in value for _, value in pairs for c in ",\r\n"):
            document: dict[str, Any] = {"action": self.action}
            for key, value in pairs:
                if key == "header":
                    document.setdefault("headers", []).append(value)
                else:
                    document[key] = value
            return json.dumps(document, ensure_ascii=False)
        return self.action + (":" + ",".join(f"{k}={v}" for k, v in pairs) if pairs else "")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Read a fault from its command-line spelling (see :data:`FAULT_SYNTAX`). Raises ValueError."""
        text = spec.strip()
        items: List[Tuple[str, Any]] = []
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"fault {spec!r} is not valid JSON: {exc}") from None
            if not isinstance(data, dict):
                raise ValueError(f"fault {spec!r}: expected a JSON object")
            action = data.pop("action", None)
            items = list(data.items())
        else:
            action, _, rest = text.partition(":")
            for part in rest.split(",") if rest.strip() else []:
                key, eq, value = part.partition("=")
                if not eq:
                    raise ValueError(f"fault {spec!r}: expected KEY=VALUE, not {part!r}")
                items.append((key.strip(), value))
        if not isinstance(action, str) or action.strip() not in _ACTIONS:
            raise ValueError(f"fault {spec!r}: the action must be one of {', '.join(_ACTIONS)}")
        action = action.strip()
        kwargs: dict[str, Any] = {}
        headers: List[Tuple[str, str]] = []
        allowed = set(_PARAMS[action]) | set(_MATCH)
        for key, value in items:
            name = key[:-1] if key.endswith("~") else key
            name = "headers" if name in ("header", "headers") else name
            if name not in allowed or (key.endswith("~") and name not in ("path", "rpc_method")):
                raise ValueError(
                    f"fault {spec!r}: {action} takes no {key!r} "
                    f"(it takes {', '.join(sorted(allowed | {'path~', 'rpc_method~'}))})"
                )
            try:
                if name == "headers":
                    headers += _parse_headers(value)
                    continue
                kwargs[name] = _convert(name, value, regex=key.endswith("~"))
            except (TypeError, ValueError, re.error) as exc:
                raise ValueError(f"fault {spec!r}: bad {key}: {exc}") from None
        if headers:
            kwargs["headers"] = headers
        missing = [name for name in _REQUIRED.get(action, ()) if name not in kwargs]
        if missing:
            raise ValueError(f"fault {spec!r}: {action} needs {', '.join(f'{m}=' for m in missing)}")
        try:
            # Through the named constructor, so that its defaults (truncate's how="close") apply.
            constructor: Callable[..., Fault] = getattr(cls, action)
            return constructor(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fault {spec!r}: {exc}") from None


def _parse_headers(value: Any) -> List[Tuple[str, str]]:
    if isinstance(value, Mapping):
        return [(str(k), str(v)) for k, v in value.items()]
    lines = [value] if isinstance(value, str) else list(value)
    pairs = []
    for line in lines:
        name, colon, val = str(line).partition(":")
        if not colon or not name.strip():
            raise ValueError(f"expected 'Name: value', not {line!r}")
        pairs.append((name.strip(), val.strip()))
    return pairs


def _convert(name: str, value: Any, *, regex: bool) -> Any:
    if isinstance(value, str) and name != "body":
        value = value.strip()
    if regex:
        return re.compile(str(value))
    if name in ("times", "skip", "status", "chunk", "size", "after"):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"expected an integer, not {value!r}")
        return int(value)
    if name == "interval":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number, not {value!r}")
        return float(value)
    if name == "head":
        if isinstance(value, bool):
            return value
        flag = {
            "1": True,
            "true": True,
            "yes": True,
            "on": True,
            "0": False,
            "false": False,
            "no": False,
            "off": False,
        }.get(str(value).strip().lower())
        if flag is None:
            raise ValueError(f"expected true or false, not {value!r}")
        return flag
    if not isinstance(value, str):
        raise ValueError(f"expected a string, not {value!r}")
    return value


FAULT_SYNTAX = """\
fault SPEC: ACTION[:KEY=VALUE,KEY=VALUE...], or the same as a JSON object with an "action" key
(use JSON when a value contains a comma). Faults apply in the order given; the first that matches a
request applies to it.

actions and their keys:
  respond     status=N [header=NAME: VALUE]... [body=TEXT]   answer instead of the app
  drop_reply  [how=reset|close]           the app acts, then the connection ends with no reply
  reset       [how=reset|close]           the connection ends before the app sees the request
  drip        [interval=SECONDS] [chunk=BYTES] [head=true]    the reply's body trickles out
  truncate    [after=BYTES] [how=close|reset]                 the reply stops after BYTES of body
  silence                                 the request is read and never answered
  redirect    status=301|302|303|307|308 location=URL
  huge        size=BYTES [status=N]       a JSON body of exactly BYTES bytes, streamed
matching keys (all optional; every one given must hold):
  service=NAME  method=VERB  path=EXACT  path~=REGEX  rpc_method=NAME  rpc_method~=REGEX
  skip=N (let the first N matches through)  times=N (then apply N times; default: always)
  path is the path inside the service (after /SERVICE); a REGEX is searched, anchor it with ^...$

examples:
  --fault 'drop_reply:method=POST,path~=/orders/actions/,times=1'
  --fault 'respond:status=429,header=Retry-After: 3600,service=api'
  --fault 'drop_reply:rpc_method=Campaign.getList,times=1'
  --fault '{"action": "respond", "status": 503, "body": "<html>busy, retry</html>",
            "headers": {"Content-Type": "text/html"}, "path~": "^/md/"}'
"""


# -- what the server received ------------------------------------------------------------------------


class Headers(Mapping[str, str]):
    """Request headers: read-only, case-insensitive, repeated headers joined with ``", "``. The
    ``repr`` names the headers but never shows their values."""

    __slots__ = ("_items",)

    def __init__(self, pairs: Iterable[Tuple[str, str]] = ()) -> None:
        items: dict[str, Tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in items:
                items[key] = (items[key][0], f"{items[key][1]}, {value}")
            else:
                items[key] = (name, value)
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({', '.join(self)})"


def rpc_methods(query: str, body: bytes) -> Tuple[str, ...]:
    """The JSON-RPC methods a request names: each request object of the body (one, or a batch's
    members in order), and the ``?method=`` query parameter if the body does not name it already."""
    found: List[str] = []
    start = body.lstrip()[:1]
    if start in (b"{", b"["):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
        for item in document if isinstance(document, list) else [document]:
            if isinstance(item, dict) and isinstance(item.get("method"), str):
                found.append(item["method"])
    if "method=" in query:
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key == "method" and value and value not in found:
                found.insert(0, value)
    return tuple(found)


def split_service(path: str) -> Tuple[str, str]:
    """``"/api/md/v2/time"`` -> ``("api", "/md/v2/time")``; ``"/api"`` -> ``("api", "")``."""
    name, sep, rest = path.lstrip("/").partition("/")
    return name, sep + rest


@attrs.frozen
class RequestRecord:
    """One request the sandbox server received, in arrival order (``seq`` counts from 1).

    ``path`` is inside ``service`` and percent-decoded; ``query`` is the raw query string;
    ``rpc_methods`` as :func:`rpc_methods`; ``connection`` is the client's port (requests on one
    keep-alive connection share it); ``at`` is ``time.monotonic()`` on arrival. ``fault`` is the fault
    that applied, or None. ``processed`` says whether the app saw the request, and ``status`` is the
    status the app or the fault produced, *even when a fault then kept it from the client* (None when
    there was none: a reset, silence, or a request still being handled).
    """

    seq: int
    at: float = attrs.field(repr=False)
    service: str
    method: str
    path: str
    query: str
    rpc_methods: Tuple[str, ...]
    headers: Headers = attrs.field(repr=False, hash=False)
    body: bytes = attrs.field(repr=False)
    connection: int = attrs.field(repr=False)
    fault: Optional[Fault] = None
    status: Optional[int] = None
    processed: bool = False
    fault_handle: Optional[FaultHandle] = attrs.field(default=None, eq=False, repr=False)

    @property
    def request_id(self) -> Optional[str]:
        """The ``X-REQID`` header, else ``X-ALOR-REQID``, else None."""
        return self.headers.get("X-REQID") or self.headers.get("X-ALOR-REQID")

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError if it is not)."""
        return json.loads(self.body)


# -- the plan ------------------------------------------------------------------------------------------


class FaultHandle:
    """A fault in a plan: ``hits`` is how many requests it has applied to so far."""

    __slots__ = ("_hits", "_plan", "_seen", "fault")

    def __init__(self, fault: Fault, plan: FaultPlan) -> None:
        self.fault = fault
        self._plan = plan
        self._seen = 0  # matching requests let through by ``skip``
        self._hits = 0

    @property
    def hits(self) -> int:
        with self._plan._lock:
            return self._hits

    @property
    def exhausted(self) -> bool:
        """True once ``times`` is used up: the fault no longer matches."""
        with self._plan._lock:
            return self._done()

    def _done(self) -> bool:
        return self.fault.times is not None and self._hits >= self.fault.times

    def __repr__(self) -> str:
        return f"<FaultHandle {self.fault!r} hits={self.hits}>"


class FaultPlan:
    """The faults of one sandbox server, thread-safe. Add, remove and clear at any time, also while
    requests flow; each request is matched against the plan as it was when the request arrived."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._handles: List[FaultHandle] = []
        # Replaced, never mutated: the server reads it without the lock to skip matching entirely
        # when it is empty (the no-fault hot path).
        self._active: Tuple[FaultHandle, ...] = ()
        self._needs_rpc = False

    def add(self, fault: Fault) -> FaultHandle:
        """Append ``fault`` (it applies after the faults added before it) and return its handle."""
        if not isinstance(fault, Fault):
            raise TypeError(f"expected a Fault, not {type(fault).__name__}")
        handle = FaultHandle(fault, self)
        with self._lock:
            self._handles.append(handle)
            self._refresh()
        return handle

    def extend(self, faults: Iterable[Fault]) -> List[FaultHandle]:
        return [self.add(fault) for fault in faults]

    def remove(self, handle: FaultHandle) -> None:
        """Take ``handle``'s fault out of the plan (no error if it is not in it any more)."""
        with self._lock:
            self._handles = [h for h in self._handles if h is not handle]
            self._refresh()

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._handles = []
            self._refresh()

    def handles(self) -> Sequence[FaultHandle]:
        """The faults in the plan, in order, including those whose ``times`` is used up."""
        with self._lock:
            return tuple(self._handles)

    def __len__(self) -> int:
        with self._lock:
            return len(self._handles)

    def __iter__(self) -> Iterator[FaultHandle]:
        return iter(self.handles())

    def __repr__(self) -> str:
        return f"FaultPlan({list(self.handles())!r})"

    @property
    def active(self) -> bool:
        """Whether any fault can still apply (read without a lock: a cheap check on every request)."""
        return bool(self._active)

    @property
    def needs_rpc_methods(self) -> bool:
        return self._needs_rpc

    def take(self, request: RequestRecord) -> Optional[FaultHandle]:
        """The first fault that applies to ``request``, counted as a hit; None if none does."""
        with self._lock:
            for handle in self._active:
                if handle._done() or not handle.fault.matches(request):
                    continue
                if handle._seen < handle.fault.skip:
                    handle._seen += 1
                    continue
                handle._hits += 1
                if handle._done():
                    self._refresh()
                return handle
        return None

    def _refresh(self) -> None:
        self._active = tuple(h for h in self._handles if not h._done())
        self._needs_rpc = any(h.fault.needs_rpc_methods for h in self._active)
