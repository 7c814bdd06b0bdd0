"""Offline, deterministic emulator of the Trading Desk (adcloud) JSON-RPC 2.0 API.

Follows the Trading Desk guide (``docs/seeds/002_7fd84ed93695604f.txt``: every example in it is a fact
about the real contour), the confirmed facts of ``docs/reference/tradingdesk-api.md`` and, where the
real server is unknown, that document's "Emulator default". Every choice that is not a documented
fact is listed in :data:`ASSUMPTIONS` (rendered by :func:`assumptions_markdown`). The seeded data
lives in :mod:`sandbox_data`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import random
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from integrations.runtime import Clock, SystemClock
from integrations.sandbox.emulator import Counts, WSGIApp
from integrations.sandbox.jsonapp import HeaderPairs, JsonApp, JsonRequest, Reply, route

from .sandbox_data import (
    EXPIRY_FORMATS,
    SandboxAccount,
    SandboxData,
    format_expiry,
    parse_period,
)

__all__ = [
    "ASSUMPTIONS",
    "assumptions_markdown",
    "ACCESS_DENIED",
    "BAD_LOGIN",
    "BAD_REFRESH_TOKEN",
    "CAMPAIGN_NOT_FOUND",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "UNAUTHORIZED",
    "RpcError",
    "TradingDeskEmulator",
]

# What the sandbox does where the guide and the reference leave a choice: (situation, what the sandbox
# does, source). "guide" is docs/seeds/002_7fd84ed93695604f.txt, "reference" is
# docs/reference/tradingdesk-api.md; "assumption" marks a choice no document makes, with its reason.
ASSUMPTIONS: Tuple[Tuple[str, str, str], ...] = (
    (
        "Reply envelope",
        'Strict JSON-RPC 2.0: `{"jsonrpc","id","result"}` or `{"jsonrpc","id","error"}`, never both '
        "members and never a null partner",
        "guide, the examples of User.auth, User.tokenRefresh and User.getInfo; reference §3. The guide's "
        "prose (1.0 style: `result` null on error, `error` null on success) is not followed",
    ),
    (
        "Member order in a reply",
        "`jsonrpc`, `id`, then `result` or `error`",
        "assumption: the reference's §1 examples use this order, the guide's examples "
        "`jsonrpc`, `result`, `id`; JSON objects are unordered, so either is faithful",
    ),
    (
        "Request id",
        "Echoed with the type and value received (int stays int, string stays string, null stays null), "
        "in single calls and batches; a bool, object, array or non-finite number is -32600 with id null",
        'guide ("id" of any type; examples send `"id": 1`); reference §3',
    ),
    (
        "`expire_access_token`, `expire_refresh_token` (default)",
        "int: Unix seconds of the expiry (now + 7 days, now + 60 days); other forms via `expiry_format`",
        "guide documents a number (examples print 0); what it counts is unknown, so the reference's §2 "
        'emulator default. The guide calls it "время жизни" (lifetime): `expiry_format="lifetime"` '
        "sends seconds to live instead",
    ),
    (
        '`expiry_format="zero"`',
        "0 for both expiries (no expiry information); the tokens still expire after their lifetimes",
        "guide, the literal value of the User.auth and User.tokenRefresh examples",
    ),
    (
        "Token lifetimes",
        "Access 7 days, refresh 60 days, administrator-issued 90 days",
        "guide: User.auth (7 дней), User.tokenRefresh (60 дней), administrator token (3 месяца)",
    ),
    (
        "Token text",
        "40 lowercase hex characters (the real ones look like JWTs: `eyJ0..._7JU`)",
        "assumption: a value, not a shape; the cassette checks recognise sandbox tokens by this form",
    ),
    (
        "User.getInfo keys",
        "Exactly `email`, `auth_token`, `tags`, `groups`, `methods`, `isActive`, `date_create`, in that "
        "order (no `id`)",
        "guide, Метод User.getInfo",
    ),
    (
        "`auth_token` of a user who holds an administrator token",
        "That token: a string, usable as Bearer for 90 days. The administrator account and the default "
        "user hold one",
        'guide, Метод User.getInfo and "Обратите внимание" (a user may hold both kinds of token)',
    ),
    (
        "`auth_token` of a user who holds no administrator token",
        "The key is kept, with JSON null (the restricted user)",
        "assumption: the guide lists the key without condition, so it stays; null is what PHP's "
        "json_encode writes for an unset or NULL column, and an empty string could pass for a token. "
        "The reference is silent",
    ),
    (
        "`isActive`",
        "JSON `true` for every account; blocked users are not modelled",
        "guide (true active, false blocked). What a blocked user's calls get is unknown",
    ),
    (
        "`date_create`",
        'PHP DateTime `{"date": "YYYY-MM-DD HH:MM:SS.000000", "timezone_type": 3, '
        '"timezone": "Europe/Moscow"}` for every account; the default user\'s is the example\'s value',
        "guide example; reference §1 (PHP DateTime). Whole seconds, as in the example",
    ),
    (
        "`tags`",
        'A list of `{"title"}` objects (default user: Test1_Jul23, Test2_Jul23); nothing is filtered by '
        "them: every user sees every campaign",
        "guide example; what tags restrict is unknown (assumption)",
    ),
    (
        "`groups` and `methods`",
        'Groups are `{"id": int, "title": str}` roles, `{"id": 1, "title": "default"}` for every user. '
        "`methods` is granted per user, not derived from groups: the restricted user has the default "
        "role but not Partner.getClients",
        "guide example; how roles map to methods is unknown (assumption)",
    ),
    (
        "The default user's `methods`",
        "The guide's seven methods in the guide's order, then Statistic.getTarget",
        "assumption: the guide's example user lacks Statistic.getTarget, but the guide's own curl "
        "example calls it with a user's token, and the sandbox's statistics need it",
    ),
    (
        "A method missing from the user's `methods`",
        '-32003 "Access denied"',
        "reference §2 emulator default",
    ),
    (
        "Missing, bad or expired access token; bad or expired refresh token",
        "HTTP 200 with -32001 / -32002; `auth_errors_as_http_401` answers HTTP 401 instead",
        "reference §2 emulator default",
    ),
    (
        "User.tokenRefresh",
        "Returns a new pair; the old refresh token and its access token die at once",
        "guide (both tokens are renewed); the old access token dying at once is an assumption",
    ),
    (
        "`params`",
        "Absent, `{}` and `[]` all mean none; Trading Desk methods refuse positional params (-32602)",
        "reference §1-2 (the guide's prose calls params required and an array; every example sends "
        "an object)",
    ),
    (
        "Method-name case",
        'Case-sensitive: "user.tokenRefresh" (as the guide\'s prose once spells it) is -32601',
        "assumption: every example spells User.tokenRefresh",
    ),
    (
        "`?method=` differing from the body's method",
        "The body wins; `strict_query_method` answers -32600",
        "reference §2 emulator default",
    ),
    (
        "Batches and notifications",
        "Full JSON-RPC 2.0 (any reply order, none for notifications, HTTP 204 when nothing is returned)",
        "reference §2-4 emulator default",
    ),
    (
        "Campaign.getList, Campaign.getInfo, Partner.getClients",
        '`[{"id": int, "title", "status"}]`, one such object, `[{"id": int, "title", "email"}]`',
        "reference §2 (assumption there: no published shapes)",
    ),
    (
        "Report.getCoverageAndInspection period",
        'Optional `"period": {"from", "to"}`, inclusive; absent means the whole lifetime',
        "reference §1 (the name of the period parameter is an assumption there)",
    ),
    (
        "Statistic.getTarget",
        "Only `targetName` geo_id (anything else is -32602); `period` optional (absent: the whole data "
        "range); a `total` only at region level",
        "reference §1: the other target names, whether `period` is required and whether country and "
        "continent levels have a `total` are unknown (assumption)",
    ),
    (
        "Empty map result (no campaign or city in the period)",
        "`[]`, as PHP's json_encode writes an empty array",
        "reference §1 (assumption there)",
    ),
    (
        "JSON text",
        'Compact, non-ASCII as \\uXXXX and "/" as "\\/" (`Europe\\/Moscow`), as PHP\'s json_encode',
        "assumption: the backend is PHP (reference §1)",
    ),
)


def assumptions_markdown() -> str:
    """:data:`ASSUMPTIONS` as a Markdown table (situation | sandbox | source)."""
    lines = ["| Situation | What the sandbox does | Source |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |".replace("\n", " ") for a, b, c in ASSUMPTIONS]
    return "\n".join(lines) + "\n"


PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNAUTHORIZED = -32001
BAD_REFRESH_TOKEN = -32002
ACCESS_DENIED = -32003
BAD_LOGIN = -32004
CAMPAIGN_NOT_FOUND = -32005

_MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
    UNAUTHORIZED: "Unauthorized",
    BAD_REFRESH_TOKEN: "Invalid refresh token",
    ACCESS_DENIED: "Access denied",
    BAD_LOGIN: "Invalid email or password",
    CAMPAIGN_NOT_FOUND: "Campaign not found",
}
_AUTH_CODES = (UNAUTHORIZED, BAD_REFRESH_TOKEN)
# Practice 2 of docs/reference/tradingdesk-api.md §5 (the 2008 "JSON-RPC over HTTP" draft);
# unlisted codes map to 500.
_HTTP_STATUS = {PARSE_ERROR: 500, INVALID_REQUEST: 400, METHOD_NOT_FOUND: 404}
_TARGET_NAMES = ("geo_id",)

JsonObj = Dict[str, Any]


class RpcError(Exception):
    """A JSON-RPC error object raised by a method handler."""

    def __init__(self, code: int, data: Any = None) -> None:
        super().__init__(code, data)
        self.code = code
        self.data = data

    def as_json(self) -> JsonObj:
        error: JsonObj = {"code": self.code, "message": _MESSAGES.get(self.code, "Server error")}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass
class _Token:
    kind: str  # "access", "refresh" or "admin"
    account_id: int
    expires_at: float
    partner: Optional[str] = None  # the other half of an access/refresh pair, dropped with it on rotation


def _reply(request_id: Any, *, result: Any = None, error: Optional[RpcError] = None) -> JsonObj:
    # Strict 2.0, member order as the reference's published examples (see ASSUMPTIONS). The id is
    # echoed as received: its JSON type is never changed.
    if error is not None:
        return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON; the spec wants a parse error.
    raise ValueError(f"invalid JSON constant {name}")


def _is_number(value: Any) -> bool:
    # A huge literal such as 1e400 parses to inf, which json.dumps would write as the non-JSON Infinity.
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_id(value: Any) -> bool:
    return value is None or isinstance(value, str) or _is_number(value)


def _is_empty(params: Any) -> bool:
    return params is None or params == {} or params == []


def _named(params: Any) -> JsonObj:
    """Trading Desk methods take named params only; absent, ``{}`` and ``[]`` all mean none."""
    if _is_empty(params):
        return {}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "params must be an object")
    return params


def _spec_subtract(params: Any) -> Any:
    if isinstance(params, list) and len(params) == 2:
        minuend, subtrahend = params
    elif isinstance(params, dict) and "minuend" in params and "subtrahend" in params:
        minuend, subtrahend = params["minuend"], params["subtrahend"]
    else:
        raise RpcError(INVALID_PARAMS, "expected [minuend, subtrahend] or {minuend, subtrahend}")
    if not (_is_number(minuend) and _is_number(subtrahend)):
        raise RpcError(INVALID_PARAMS, "operands must be numbers")
    return _finite(minuend - subtrahend)


def _spec_sum(params: Any) -> Any:
    values = [] if _is_empty(params) else params
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        raise RpcError(INVALID_PARAMS, "expected an array of numbers")
    return _finite(sum(values))


def _finite(result: Any) -> Any:
    if not _is_number(result):
        raise RpcError(INVALID_PARAMS, "the result overflows")
    return result


def _spec_noop(params: Any) -> Any:
    return None


# The JSON-RPC specification's own example methods; they need no token and, having no namespace,
# cannot collide with Trading Desk names.
_SPEC_METHODS: Dict[str, Callable[[Any], Any]] = {
    "subtract": _spec_subtract,
    "sum": _spec_sum,
    "get_data": lambda params: ["hello", 5],
    "update": _spec_noop,
    "notify_hello": _spec_noop,
    "notify_sum": _spec_noop,
}


def _period(params: JsonObj) -> Tuple[_dt.date, _dt.date]:
    try:
        return parse_period(params.get("period"))
    except ValueError as exc:
        raise RpcError(INVALID_PARAMS, str(exc)) from None


_TEXT = "text/plain; charset=utf-8"


class _App(JsonApp):
    """``POST /api/v2``, answered as the werkzeug-based emulator did (the cassettes' bytes): upper-case
    reason phrases, werkzeug's header order, and no body on HEAD."""

    json_content_type = "application/json"
    drop_head_body = True

    def __init__(self, handle: Callable[[bytes, Optional[str], Optional[str]], Tuple[int, Any]]) -> None:
        super().__init__()
        self._handle = handle

    @route("POST", "/api/v2")
    def rpc(self, request: JsonRequest) -> Reply:
        authorization = request.header("Authorization") or None
        status, payload = self._handle(request.body, request.query.get("method"), authorization)
        if payload is None:
            return Reply(204)
        headers = (("WWW-Authenticate", 'Bearer error="invalid_token"'),) if status == 401 else ()
        return self.json(status, payload, headers)

    def not_found(self, request: JsonRequest) -> Reply:
        return Reply(404, b"Not Found\n", _TEXT)

    def method_not_allowed(self, request: JsonRequest, allowed: List[str]) -> Reply:
        return Reply(405, b"Method Not Allowed\n", _TEXT, (("Allow", "POST"),))

    def dumps(self, obj: Any) -> bytes:
        # Mimic PHP's json_encode: compact, non-ASCII as \uXXXX and "/" escaped. A "/" can only occur
        # inside a JSON string, so the blanket replacement is safe.
        return json.dumps(obj, separators=(",", ":")).replace("/", "\\/").encode("ascii")

    def status_line(self, status: int) -> str:
        return super().status_line(status).upper()

    def response_headers(
        self, status: int, content_type: str, length: int, extra: HeaderPairs
    ) -> List[Tuple[str, str]]:
        headers = [h for h in extra if h[0] == "Allow"]
        if content_type:
            headers.append(("Content-Type", content_type))
        if status != 204:
            headers.append(("Content-Length", str(length)))
        return headers + [h for h in extra if h[0] != "Allow"]


class TradingDeskEmulator:
    """In-process emulator of the Trading Desk API at ``POST /api/v2/?method=<Namespace.method>``.

    Serves one WSGI app, ``"api"``. JSON-RPC 2.0 is implemented exactly (batches, notifications and
    every conformance vector of the spec), with the spec's test methods ``subtract``, ``sum``,
    ``get_data``, ``update``, ``notify_hello`` and ``notify_sum`` available without a token.

    Accounts: the default user (:meth:`credentials`), who also holds a three-month token issued by the
    administrator (``User.getInfo``'s ``auth_token``), a restricted user without ``Partner.getClients``
    and without an administrator token (``auth_token`` null; :meth:`restricted_credentials`), and an
    administrator account that only has its administrator-issued token (:meth:`admin_credentials`).
    ``User.auth`` and ``User.tokenRefresh`` need no token; every other method needs
    ``Authorization: Bearer <access or administrator-issued token>``. A refresh rotates the pair: the old
    refresh and access tokens die at once. Replies echo the request's ``id`` with its own JSON type.

    Error codes: -32001 Unauthorized (missing, bad or expired access token), -32002 Invalid refresh
    token, -32003 Access denied (method not in the user's ``methods``), -32004 Invalid email or
    password, -32005 Campaign not found, and the spec's -32700/-32600/-32601/-32602/-32603.

    Options: ``expiry_format`` picks how ``expire_*_token`` is written: ``epoch`` (the default, int Unix
    seconds), ``epoch_ms``, ``lifetime`` (int seconds to live), ``date``, ``php`` or ``zero`` (the
    guide's literal 0 for both: no expiry information); ``auth_errors_as_http_401`` answers
    -32001/-32002 with HTTP 401 instead of 200; ``http_status_mapping`` maps error codes to HTTP
    statuses (the 2008 draft) instead of always 200; ``strict_query_method`` rejects a request whose
    ``?method=`` differs from the body's with -32600. Both status switches apply to single responses
    only: a batch answer is always 200.

    Deterministic for a given ``seed``; all time comes from ``clock``. Thread-safe. Every choice not
    fixed by the documents is in :data:`ASSUMPTIONS`. Test controls: the standard
    :class:`~integrations.sandbox.EmulatorControls` (:meth:`expire_access_tokens`,
    :meth:`revoke_refresh_tokens`, :meth:`counts`), :attr:`auth_count`, :attr:`refresh_count` and
    :meth:`revoke_admin_token`. The HTTP plumbing is :class:`~integrations.sandbox.JsonApp`.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Optional[Clock] = None,
        access_token_ttl: float = 7 * 86400,
        refresh_token_ttl: float = 60 * 86400,
        admin_token_ttl: float = 90 * 86400,
        expiry_format: str = "epoch",
        auth_errors_as_http_401: bool = False,
        http_status_mapping: bool = False,
        strict_query_method: bool = False,
    ) -> None:
        if expiry_format not in EXPIRY_FORMATS:
            raise ValueError(f"expiry_format must be one of {EXPIRY_FORMATS}, not {expiry_format!r}")
        if min(access_token_ttl, refresh_token_ttl, admin_token_ttl) <= 0:
            raise ValueError("token lifetimes must be positive")
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._access_ttl = access_token_ttl
        self._refresh_ttl = refresh_token_ttl
        self._expiry_format = expiry_format
        self._auth_401 = auth_errors_as_http_401
        self._status_mapping = http_status_mapping
        self._strict_query = strict_query_method
        self._data = SandboxData(seed)
        # Tokens get their own stream so the data never depends on how many logins happened.
        self._token_rng = random.Random(f"tradingdesk-sandbox-tokens:{seed}")
        self._lock = threading.Lock()
        self._tokens: Dict[str, _Token] = {}
        self._auth_count = 0
        self._refresh_count = 0
        # Administrator-issued tokens by account id: User.getInfo's auth_token, usable as Bearer.
        self._admin_tokens: Dict[int, str] = {}
        issued_at = self._clock.now()
        self._admin_token = self._new_token_locked()
        # The other users' administrator tokens come from a stream of their own, so the administrator
        # account's token and every token User.auth issues stay what they were before those existed.
        issued_rng = random.Random(f"tradingdesk-sandbox-admin-issued:{seed}")
        for account in (self._data.admin, self._data.default, self._data.restricted):
            if not account.has_admin_token:
                continue
            token = self._admin_token if account.is_admin else self._new_token_locked(issued_rng)
            self._admin_tokens[account.id] = token
            self._tokens[token] = _Token("admin", account.id, issued_at + admin_token_ttl)
        self._private: Dict[str, Callable[[JsonObj, SandboxAccount], Any]] = {
            "User.getInfo": self._user_get_info,
            "Campaign.getList": lambda params, account: [c.public() for c in self._data.campaigns],
            "Campaign.getInfo": self._campaign_get_info,
            "Partner.getClients": lambda params, account: [dict(c) for c in self._data.clients],
            "Report.getCoverageAndInspection": self._coverage_report,
            "Statistic.getTarget": self._statistic_target,
        }
        self._public: Dict[str, Callable[[JsonObj], Any]] = {
            "User.auth": self._user_auth,
            "User.tokenRefresh": self._token_refresh,
        }
        self._app = _App(self._handle)

    # -- Emulator protocol and test controls ---------------------------------------------------

    def wsgi_apps(self) -> Mapping[str, WSGIApp]:
        return {"api": self._app}

    def credentials(self) -> Dict[str, str]:
        """Email and password of the default user, who may call every method."""
        return {"email": self._data.default.email, "password": self._data.password}

    def restricted_credentials(self) -> Dict[str, str]:
        """Email and password of a user whose ``methods`` lack ``Partner.getClients``."""
        account = self._data.restricted
        return {"email": account.email, "password": account.password or ""}

    def admin_credentials(self) -> Dict[str, str]:
        """The administrator's token, used directly as Bearer; it cannot be refreshed."""
        return {"token": self._admin_token}

    def revoke_admin_token(self) -> None:
        """Make the administrator account's token fail with -32001 from now on (``User.getInfo`` of
        other users keeps showing their own administrator-issued tokens)."""
        with self._lock:
            self._tokens.pop(self._admin_token, None)

    def expire_access_tokens(self) -> None:
        """Every access token ``User.auth`` and ``User.tokenRefresh`` issued so far gets -32001 "token
        expired" from now on; their refresh tokens still work. Administrator-issued tokens are not
        affected (see :meth:`revoke_admin_token`)."""
        with self._lock:
            for record in self._tokens.values():
                if record.kind == "access":
                    record.expires_at = float("-inf")

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far gets -32002 from ``User.tokenRefresh``, as a rotated one
        does; access tokens keep working, and email and password still log in (``User.auth``)."""
        with self._lock:
            for token in [t for t, record in self._tokens.items() if record.kind == "refresh"]:
                del self._tokens[token]

    def counts(self) -> Counts:
        """``logins``: successful ``User.auth``; ``refreshes``: successful ``User.tokenRefresh``;
        ``commands``: always 0, as no emulated method changes anything (``Campaign.create`` and the
        like are -32601)."""
        with self._lock:
            return Counts(logins=self._auth_count, refreshes=self._refresh_count, commands=0)

    @property
    def auth_count(self) -> int:
        """Successful ``User.auth`` calls so far."""
        with self._lock:
            return self._auth_count

    @property
    def refresh_count(self) -> int:
        """Successful ``User.tokenRefresh`` calls so far."""
        with self._lock:
            return self._refresh_count

    # -- HTTP (the plumbing is _App's) ----------------------------------------------------------

    def _handle(
        self, body: bytes, query_method: Optional[str], authorization: Optional[str]
    ) -> Tuple[int, Any]:
        """Answer one HTTP body: ``(status, JSON payload or None for 204)``."""
        try:
            document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return self._single(_reply(None, error=RpcError(PARSE_ERROR)))
        if isinstance(document, list):
            if not document:
                return self._single(_reply(None, error=RpcError(INVALID_REQUEST)))
            # ?method= cannot name a whole batch, so it is never checked for one.
            replies = [self._handle_one(member, None, False, authorization) for member in document]
            answered = [r for r in replies if r is not None]
            return (200, answered) if answered else (204, None)
        reply = self._handle_one(document, query_method, self._strict_query, authorization)
        return (204, None) if reply is None else self._single(reply)

    def _single(self, reply: JsonObj) -> Tuple[int, JsonObj]:
        error = reply.get("error")
        if error is None:
            return 200, reply
        if self._auth_401 and error["code"] in _AUTH_CODES:
            return 401, reply
        if self._status_mapping:
            return _HTTP_STATUS.get(error["code"], 500), reply
        return 200, reply

    # -- JSON-RPC ------------------------------------------------------------------------------

    def _handle_one(
        self, request: Any, query_method: Optional[str], check_query: bool, authorization: Optional[str]
    ) -> Optional[JsonObj]:
        """Run one request object; None for a notification, which gets no reply even on failure."""
        if not isinstance(request, dict):
            return _reply(None, error=RpcError(INVALID_REQUEST))
        has_id = "id" in request
        request_id = request.get("id")
        # An id of a legal type is echoed even when the rest is invalid; otherwise it is undeterminable.
        reply_id = request_id if _valid_id(request_id) else None
        method = request.get("method")
        params = request.get("params")
        if (
            request.get("jsonrpc") != "2.0"
            or not isinstance(method, str)
            or not _valid_id(request_id)
            or ("params" in request and not isinstance(params, (list, dict)))
        ):
            return _reply(reply_id, error=RpcError(INVALID_REQUEST))
        try:
            if check_query and query_method != method:
                raise RpcError(INVALID_REQUEST, "?method= does not match the body's method")
            result = self._invoke(method, params, authorization)
        except RpcError as exc:
            return _reply(request_id, error=exc) if has_id else None
        except Exception as exc:  # noqa: BLE001 - a handler bug must still produce a well-formed reply
            return _reply(request_id, error=RpcError(INTERNAL_ERROR, type(exc).__name__)) if has_id else None
        return _reply(request_id, result=result) if has_id else None

    def _invoke(self, method: str, params: Any, authorization: Optional[str]) -> Any:
        spec_method = _SPEC_METHODS.get(method)
        if spec_method is not None:
            return spec_method(params)
        public = self._public.get(method)
        if public is not None:
            return public(_named(params))
        private = self._private.get(method)
        if private is None:
            raise RpcError(METHOD_NOT_FOUND)
        account = self._authenticate(authorization)
        if method not in account.methods:
            raise RpcError(ACCESS_DENIED, f"{method} is not in this user's methods")
        return private(_named(params), account)

    # -- tokens --------------------------------------------------------------------------------

    def _new_token_locked(self, rng: Optional[random.Random] = None) -> str:
        source = self._token_rng if rng is None else rng
        while True:
            token = f"{source.getrandbits(160):040x}"
            if token not in self._tokens:
                return token

    def _issue_pair_locked(self, account_id: int) -> JsonObj:
        now = self._clock.now()
        access = self._new_token_locked()
        self._tokens[access] = _Token("access", account_id, now + self._access_ttl)
        refresh = self._new_token_locked()
        self._tokens[refresh] = _Token("refresh", account_id, now + self._refresh_ttl, partner=access)
        self._tokens[access].partner = refresh
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expire_access_token": format_expiry(self._expiry_format, now, self._access_ttl),
            "expire_refresh_token": format_expiry(self._expiry_format, now, self._refresh_ttl),
        }

    def _authenticate(self, authorization: Optional[str]) -> SandboxAccount:
        if not authorization:
            raise RpcError(UNAUTHORIZED, "missing Authorization header")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise RpcError(UNAUTHORIZED, "expected Authorization: Bearer <token>")
        with self._lock:
            record = self._tokens.get(token)
            if record is None or record.kind == "refresh":
                raise RpcError(UNAUTHORIZED, "invalid token")
            if self._clock.now() >= record.expires_at:
                raise RpcError(UNAUTHORIZED, "token expired")
            return self._data.accounts[record.account_id]

    # -- methods -------------------------------------------------------------------------------

    def _user_auth(self, params: JsonObj) -> JsonObj:
        email, password = params.get("email"), params.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise RpcError(INVALID_PARAMS, "email and password are required strings")
        for account in self._data.accounts.values():
            # The administrator has no password (password None), so it can never log in here.
            if (
                account.email == email.strip().lower()
                and account.password is not None
                and account.password == password
            ):
                with self._lock:
                    self._auth_count += 1
                    return self._issue_pair_locked(account.id)
        raise RpcError(BAD_LOGIN)

    def _token_refresh(self, params: JsonObj) -> JsonObj:
        token = params.get("refresh_token")
        if not isinstance(token, str):
            raise RpcError(INVALID_PARAMS, "refresh_token is a required string")
        with self._lock:
            record = self._tokens.get(token)
            if record is None or record.kind != "refresh":
                raise RpcError(BAD_REFRESH_TOKEN, "unknown, rotated or non-refresh token")
            if self._clock.now() >= record.expires_at:
                raise RpcError(BAD_REFRESH_TOKEN, "refresh token expired")
            del self._tokens[token]
            if record.partner is not None:
                self._tokens.pop(record.partner, None)
            self._refresh_count += 1
            return self._issue_pair_locked(record.account_id)

    def _user_get_info(self, params: JsonObj, account: SandboxAccount) -> JsonObj:
        # A user without an administrator token gets "auth_token": null (see ASSUMPTIONS).
        return account.info(self._admin_tokens.get(account.id))

    def _campaign_get_info(self, params: JsonObj, account: SandboxAccount) -> JsonObj:
        raw = params.get("id")
        # PHP coerces numeric strings, so "1234" is as good as 1234; anything else is a bad id.
        if isinstance(raw, str) and raw.isdigit() and raw.isascii():
            raw = int(raw)
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise RpcError(INVALID_PARAMS, "id must be an integer")
        campaign = self._data.campaign(raw)
        if campaign is None:
            raise RpcError(CAMPAIGN_NOT_FOUND, {"id": raw})
        return campaign

    def _coverage_report(self, params: JsonObj, account: SandboxAccount) -> Any:
        return self._data.coverage_report(*_period(params))

    def _statistic_target(self, params: JsonObj, account: SandboxAccount) -> Any:
        target = params.get("targetName")
        if not isinstance(target, str) or not target:
            raise RpcError(INVALID_PARAMS, "targetName is a required string")
        first, last = _period(params)
        if target not in _TARGET_NAMES:
            raise RpcError(INVALID_PARAMS, {"targetName": target, "supported": list(_TARGET_NAMES)})
        return self._data.geo_target(first, last)
