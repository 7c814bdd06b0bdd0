"""A small base for JSON-over-HTTP emulators: the WSGI plumbing every emulator needs.

:class:`JsonApp` drains the request body on every request (also when it answers 404, 405 or 401, so
a keep-alive connection stays in sync), routes ``(method, pattern)`` to handlers, answers 404 for an
unknown path and 405 for a known path with another method, checks ``Authorization: Bearer`` through
:meth:`JsonApp.check_bearer`, parses JSON bodies (a 400 on bad JSON) and turns a raised
:class:`JsonError` into its answer. It reads only the standard WSGI environ (no werkzeug) and keeps no
per-request state on the app, so the threaded sandbox server may call it concurrently.

>>> class AcmeApp(JsonApp):
...     @route("POST", "/token")
...     def token(self, request):
...         return self.json(200, {"access": "acme-access"})
...
...     @route("GET", "/quote/{symbol}", auth=True)
...     def quote(self, request):
...         return self.json(200, {"symbol": request.params["symbol"], "price": 42})
...
...     def check_bearer(self, token):
...         return token if token == "acme-access" else None
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any, Callable, ClassVar, Dict, Iterable, List, NamedTuple, Optional, Tuple, TypeVar
from urllib.parse import parse_qsl

__all__ = ["JsonApp", "JsonError", "JsonRequest", "Reply", "route"]

HeaderPairs = Tuple[Tuple[str, str], ...]
Handler = Callable[["JsonRequest"], "Reply"]
F = TypeVar("F", bound=Callable[..., Any])

_SEGMENT = re.compile(r"\{(\w+)(?::([^}]+))?\}")
_ROUTES_ATTR = "_jsonapp_routes"


class Reply(NamedTuple):
    """One answer: ``content_type`` ``""`` sends no Content-Type; ``headers`` come after it."""

    status: int
    body: bytes = b""
    content_type: str = ""
    headers: HeaderPairs = ()


class JsonError(Exception):
    """Raise from a handler to answer ``status`` with ``body`` (None: an empty body; else JSON)."""

    def __init__(self, status: int, body: Any = None, headers: Iterable[Tuple[str, str]] = ()) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers: HeaderPairs = tuple(headers)


class JsonRequest:
    """What a handler gets: the drained ``body``, the route's ``params`` and the Bearer ``principal``."""

    __slots__ = ("app", "body", "environ", "method", "params", "path", "principal")

    def __init__(self, app: JsonApp, environ: Dict[str, Any], body: bytes) -> None:
        self.app = app
        self.environ = environ
        self.method: str = str(environ.get("REQUEST_METHOD", "GET")).upper()
        self.path: str = str(environ.get("PATH_INFO", "")).strip("/")  # no leading or trailing "/"
        self.body = body
        self.params: Dict[str, str] = {}
        self.principal: Any = None  # what check_bearer returned, on an auth=True route

    @property
    def query(self) -> Dict[str, str]:
        """The query parameters (the first of repeated ones wins; blank values kept)."""
        pairs = parse_qsl(str(self.environ.get("QUERY_STRING", "")), keep_blank_values=True)
        result: Dict[str, str] = {}
        for name, value in pairs:
            result.setdefault(name, value)
        return result

    def header(self, name: str, default: str = "") -> str:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return str(self.environ.get(key, default))

    @property
    def bearer(self) -> Optional[str]:
        """The token of ``Authorization: Bearer <token>`` (scheme in any case), or None."""
        scheme, _, token = self.header("Authorization").strip().partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None

    def json(self, **loads: Any) -> Any:
        """The body parsed as JSON (``loads`` go to :func:`json.loads`); bad JSON raises the app's
        :meth:`JsonApp.bad_json` error."""
        try:
            return json.loads(self.body, **loads)
        except (ValueError, RecursionError):
            raise self.app.bad_json(self) from None


class _Route(NamedTuple):
    method: str
    regex: re.Pattern[str]
    target: Any  # an attribute name (class routes) or a callable taking the request
    auth: bool


def route(method: str, pattern: str, *, auth: bool = False) -> Callable[[F], F]:
    """Declare a :class:`JsonApp` method as the handler of ``method pattern`` (stackable).

    ``pattern`` is a path of literal segments and ``{name}`` (any one segment, possibly empty) or
    ``{name:regex}`` segments (a regex without braces); the values land in ``request.params``.
    Leading and trailing slashes of the pattern and of the request path are ignored. ``auth=True``
    checks the Bearer token first (:meth:`JsonApp.check_bearer`) and answers
    :meth:`JsonApp.unauthorized` without it.
    """

    def mark(fn: F) -> F:
        fn.__dict__.setdefault(_ROUTES_ATTR, []).append((method.upper(), pattern, auth))
        return fn

    return mark


class JsonApp:
    """A WSGI app for one service of an emulator. Subclass it, declare handlers with :func:`route`
    (or call :meth:`add`), and override the answer hooks to match the provider's exact answers."""

    #: Match paths case-insensitively (ASP.NET routes do). Set on the subclass.
    ignore_case: ClassVar[bool] = False
    #: Content-Type of :meth:`json` answers.
    json_content_type: ClassVar[str] = "application/json; charset=utf-8"
    #: Answer HEAD with an empty body (werkzeug does); else the body is built and the server drops it.
    drop_head_body: ClassVar[bool] = False
    _class_routes: ClassVar[List[_Route]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        routes: List[_Route] = []
        seen = set()
        for klass in reversed(cls.__mro__):  # base classes' routes first; an override replaces them
            for name in vars(klass):
                marks = getattr(getattr(cls, name, None), "__dict__", {}).get(_ROUTES_ATTR)
                if marks and name not in seen:
                    seen.add(name)
                    routes += [_Route(m, cls._compile(p), name, a) for m, p, a in marks]
        cls._class_routes = routes

    def __init__(self) -> None:
        self._routes: List[_Route] = [r._replace(target=getattr(self, r.target)) for r in self._class_routes]

    @classmethod
    def _compile(cls, pattern: str) -> re.Pattern[str]:
        pattern, parts, pos = pattern.strip("/"), [], 0
        for match in _SEGMENT.finditer(pattern):
            parts += [re.escape(pattern[pos : match.start()]), f"(?P<{match[1]}>{match[2] or '[^/]*'})"]
            pos = match.end()
        parts.append(re.escape(pattern[pos:]))
        return re.compile("".join(parts), re.IGNORECASE if cls.ignore_case else 0)

    def add(self, method: str, pattern: str, handler: Handler, *, auth: bool = False) -> None:
        """Route ``method pattern`` to ``handler(request)`` (as :func:`route`, at run time)."""
        self._routes.append(_Route(method.upper(), self._compile(pattern), handler, auth))

    # -- hooks: override to match the provider ----------------------------------------------------

    def check_bearer(self, token: str) -> Any:
        """Who ``token`` authenticates (stored as ``request.principal``), or None to answer 401."""
        return None

    def unauthorized(self, request: JsonRequest) -> Reply:
        return Reply(401)

    def not_found(self, request: JsonRequest) -> Reply:
        return Reply(404)

    def method_not_allowed(self, request: JsonRequest, allowed: List[str]) -> Reply:
        return Reply(405)

    def bad_json(self, request: JsonRequest) -> JsonError:
        return JsonError(400, {"message": "Request body is not valid JSON"})

    def dumps(self, obj: Any) -> bytes:
        """JSON text of an answer: compact UTF-8."""
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def status_line(self, status: int) -> str:
        try:
            return f"{status} {HTTPStatus(status).phrase}"
        except ValueError:
            return f"{status} Unknown"

    def response_headers(
        self, status: int, content_type: str, length: int, extra: HeaderPairs
    ) -> List[Tuple[str, str]]:
        """The header list: Content-Length (none on 1xx, 204, 304), Content-Type, then ``extra``."""
        headers = [] if status < 200 or status in (204, 304) else [("Content-Length", str(length))]
        if content_type:
            headers.append(("Content-Type", content_type))
        return headers + list(extra)

    # -- answers ----------------------------------------------------------------------------------

    def json(self, status: int, obj: Any, headers: Iterable[Tuple[str, str]] = ()) -> Reply:
        return Reply(status, self.dumps(obj), self.json_content_type, tuple(headers))

    def error_response(self, error: JsonError) -> Reply:
        if error.body is None:
            return Reply(error.status, b"", "", error.headers)
        return self.json(error.status, error.body, error.headers)

    # -- WSGI -------------------------------------------------------------------------------------

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        request = JsonRequest(self, environ, _drain(environ))  # first, whatever the answer
        try:
            response = self.dispatch(request)
        except JsonError as exc:
            response = self.error_response(exc)
        body = b"" if self.drop_head_body and request.method == "HEAD" else response.body
        headers = self.response_headers(response.status, response.content_type, len(body), response.headers)
        start_response(self.status_line(response.status), headers)
        return [body]

    def dispatch(self, request: JsonRequest) -> Reply:
        allowed: List[str] = []
        for entry in self._routes:
            match = entry.regex.fullmatch(request.path)
            if match is None:
                continue
            if entry.method != request.method:
                allowed.append(entry.method)
                continue
            request.params = match.groupdict()
            if entry.auth:
                token = request.bearer
                principal = None if token is None else self.check_bearer(token)
                if principal is None:
                    return self.unauthorized(request)
                request.principal = principal
            response: Reply = entry.target(request)
            return response
        if allowed:
            return self.method_not_allowed(request, allowed)
        return self.not_found(request)


def _drain(environ: Dict[str, Any]) -> bytes:
    """Read the whole request body (by Content-Length, or to the end when the server says it ends)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return bytes(stream.read(length)) if length > 0 else b""
