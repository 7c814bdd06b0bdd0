"""A small, provider-agnostic JSON-RPC 2.0 client codec, and the HTTP rules around it.

Requests: :func:`envelope` and :func:`notification` build request objects (``params`` is always an
object, ``{}`` when empty; a notification has no ``id`` member at all); :func:`build_request` and
:func:`build_batch` wrap them in a :class:`~integrations.transport.Request` whose ``request_id`` *is*
the JSON-RPC id, fixed when the request is built, so a retry carries the same id.

Replies: :func:`parse_reply` validates one response object (``jsonrpc`` is ``"2.0"``, the id matches,
exactly one of ``result`` and ``error``, an error object has an int ``code`` and a str ``message``)
and :func:`match_batch` pairs a batch's replies with its calls by id, whatever their order. A
malformed reply raises :class:`~integrations.errors.ProtocolError`; an error object becomes an
:class:`~integrations.errors.RpcError`. In a batch, each call gets its own :class:`RpcOutcome`, so one
failed call never hides the others' results.

HTTP (:func:`check_response`): the status alone is not trusted. A 429 is ``RateLimited``, a 407 a
proxy's refusal and a 3xx an unfollowed redirect (``ProtocolError``), whatever the body; any other
JSON body is read as JSON-RPC whatever the status; an empty body (e.g. 204) is valid only when
nothing but notifications was sent; 401 and 403 on an authenticated request mean the access token
was rejected; a body that is not JSON is a :class:`~integrations.errors.ServiceUnavailable` on 5xx
and a ``ProtocolError`` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Pattern, Sequence, Tuple, Union

import attrs

from .. import errors
from ..provider import CallContext
from ..runtime import IdSource
from ..tokens import Token
from ..transport import STRICT_FLOATS, Deadline, Request, Response
from .rest import raise_for_status

__all__ = [
    "STANDARD_CODES",
    "AuthErrorRule",
    "RpcCall",
    "RpcOutcome",
    "build_batch",
    "build_request",
    "check_response",
    "decode",
    "envelope",
    "exchange",
    "match_batch",
    "notification",
    "parse_reply",
]

log = logging.getLogger(__name__)

VERSION = "2.0"
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
STANDARD_CODES: FrozenSet[int] = frozenset(
    {PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR}
)

RpcId = Union[str, int]


def _params(value: Any) -> Any:
    # A non-mapping is left as it is, for the facade to refuse with a ValidationError.
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else value


@attrs.frozen
class RpcCall:
    """One call of a batch: ``method`` with named ``params``; ``notify=True`` expects no reply."""

    method: str
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_params)
    notify: bool = False


@attrs.frozen
class RpcOutcome:
    """What became of one call: its ``result``, or its ``error`` (an :class:`RpcError` the server
    sent, or a :class:`ProtocolError` when its reply was missing or malformed). A notification's
    outcome has ``notification=True``, no id and no result: the server never answers one."""

    method: str
    id: Optional[RpcId]
    result: Any = None
    error: Optional[errors.IntegrationError] = None
    notification: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        """The result; raises the error instead if the call failed."""
        if self.error is not None:
            raise self.error
        return self.result


@attrs.frozen
class AuthErrorRule:
    """Which JSON-RPC errors mean "the access token was rejected".

    A code in ``codes`` always does; a code in ``other_known_codes`` never does; any other code
    does when its message matches ``message_pattern`` (an unknown server saying "Token expired").
    """

    codes: FrozenSet[int] = frozenset()
    other_known_codes: FrozenSet[int] = STANDARD_CODES
    message_pattern: Pattern[str] = re.compile(r"token|auth", re.IGNORECASE)

    def matches(self, code: Optional[int], message: str) -> bool:
        if code in self.codes:
            return True
        if code in self.other_known_codes:
            return False
        return bool(self.message_pattern.search(message))


# -- requests ------------------------------------------------------------------------------------


def envelope(method: str, params: Optional[Mapping[str, Any]], request_id: RpcId) -> Dict[str, Any]:
    """A request object. ``params`` is always sent, as an object (``{}`` when there are none)."""
    return {"jsonrpc": VERSION, "method": method, "params": _params(params), "id": request_id}


def notification(method: str, params: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A notification: a request object without an ``id`` member (``"id": null`` would be a request)."""
    return {"jsonrpc": VERSION, "method": method, "params": _params(params)}


def new_rpc_id(ids: IdSource, *, integer: bool = True) -> RpcId:
    """A fresh id: an integer (the form JSON-RPC servers and their documentation use most, and
    Trading Desk's guide shows) unless ``integer`` is false. Integers come from ``ids.new_int()``
    when the source has it, else from 53 bits of a hash of ``ids.new_id()``."""
    if not integer:
        return ids.new_id()
    new_int = getattr(ids, "new_int", None)
    if callable(new_int):
        return int(new_int())
    return int(hashlib.sha256(ids.new_id().encode()).hexdigest()[:13], 16)


def _object(call: RpcCall, ids: IdSource, integer_ids: bool) -> Tuple[Dict[str, Any], Optional[str]]:
    if call.notify:
        return notification(call.method, call.params), None
    rpc_id = new_rpc_id(ids, integer=integer_ids)
    return envelope(call.method, call.params, rpc_id), str(rpc_id)


def build_request(
    call: RpcCall,
    *,
    ids: IdSource,
    path: str,
    query_parameter: Optional[str] = None,
    authenticated: bool = True,
    operation: str = "",
    retry: bool = False,
    integer_ids: bool = True,
) -> Request:
    """A POST of one request object (or notification) to ``path``, the method mirrored in the query
    as ``?<query_parameter>=<method>`` when a parameter name is given.

    ``retry``: whether the call may be sent again when its outcome is unknown. False by default:
    a JSON-RPC server need not deduplicate by id, so only the caller knows whether a method is a
    read. A notification is never retried (nothing could tell a repeat from a new one).
    ``integer_ids``: the id is an integer (see :func:`new_rpc_id`); ``Request.request_id`` is its text.
    """
    body, request_id = _object(call, ids, integer_ids)
    return Request(
        "POST",
        path,
        params={query_parameter: call.method} if query_parameter else None,
        json=body,
        request_id=request_id,
        operation=operation or call.method,
        authenticated=authenticated,
        retry=retry and not call.notify,
    )


def build_batch(
    calls: Sequence[RpcCall],
    *,
    ids: IdSource,
    path: str,
    query_parameter: Optional[str] = None,
    authenticated: bool = True,
    operation: str = "batch",
    retry: bool = False,
    integer_ids: bool = True,
) -> Request:
    """A POST of a batch (a JSON array). ``?<query_parameter>=`` lists the distinct methods, comma
    separated, in call order: a batch has no single method, and the list keeps it identifiable in
    access logs. The request id is the first call's id. ``retry`` as for :func:`build_request`; a
    batch holding a notification is never retried.

    Raises :class:`~integrations.errors.ValidationError` for an empty batch.
    """
    if not calls:
        raise errors.ValidationError("a batch needs at least one call (the spec answers [] with an error)")
    bodies = [_object(call, ids, integer_ids) for call in calls]
    request_ids = [rid for _, rid in bodies if rid is not None]
    methods = ",".join(dict.fromkeys(call.method for call in calls))
    return Request(
        "POST",
        path,
        params={query_parameter: methods} if query_parameter else None,
        json=[body for body, _ in bodies],
        request_id=request_ids[0] if request_ids else None,
        operation=operation,
        authenticated=authenticated,
        retry=retry and len(request_ids) == len(calls),
    )


# -- replies -------------------------------------------------------------------------------------


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _same_id(a: Any, b: Any) -> bool:
    # The same value, whatever the JSON type it was echoed in: 1 and "1" (PHP servers echo ids
    # through loosely typed arrays), never 1 and 2. Booleans are not ids.
    if not (_is_id(a) and _is_id(b)):
        return False
    return a == b if type(a) is type(b) else str(a) == str(b)


def _int_code(value: Any) -> Optional[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _NUMERIC_CODE.fullmatch(value.strip()):
        return int(value)
    return None


_NUMERIC_CODE = re.compile(r"-?[0-9]{1,10}")


def _error(value: Any, *, provider: str, status: Optional[int], request_id: Optional[str]) -> errors.RpcError:
    """The :class:`RpcError` of an ``error`` member, whatever its form: the specified object
    ``{"code": int, "message": str, "data"?}``, an object whose code is a string or missing, or a
    bare code or message (``"error": -32001``, ``"error": "Unauthorized"``). ``rpc_code`` is the
    numeric code when there is one, else ``None``; ``code`` keeps the code as sent."""
    if isinstance(value, dict):
        raw_code, message, data = value.get("code"), value.get("message"), value.get("data")
    else:
        raw_code, message, data = (value, None, None) if _int_code(value) is not None else (None, value, None)
    rpc_code = _int_code(raw_code)
    if not isinstance(message, str) or not message:
        message = f"JSON-RPC error {raw_code}" if raw_code is not None else "JSON-RPC error"
    return errors.RpcError(
        rpc_code,
        message,
        data,
        code=None if raw_code is None else str(raw_code),
        provider=provider,
        status=status,
        request_id=request_id,
    )


def parse_reply(
    reply: Any,
    expected_id: Optional[RpcId],
    *,
    method: str = "",
    provider: str = "",
    status: Optional[int] = None,
) -> RpcOutcome:
    """Validate one response object against the id it should carry.

    Read tolerantly, because servers in the wild (Trading Desk's guide among them) describe the
    JSON-RPC 1.0 envelope: ``"error": null`` beside a result and ``"result": null`` beside an error
    are accepted, an id echoed as the same value in another JSON type matches (``1`` and ``"1"``), and
    an error member in any form becomes an :class:`~integrations.errors.RpcError` (see
    :func:`_error`). An error reply may carry ``id: null`` (the server could not read the request's
    id). Raises :class:`~integrations.errors.ProtocolError` for anything that is not a response.
    """
    rid = str(expected_id) if expected_id is not None else None

    def bad(why: str) -> errors.ProtocolError:
        return errors.ProtocolError(
            f"invalid JSON-RPC reply{f' to {method}' if method else ''}: {why}",
            provider=provider,
            request_id=rid,
        )

    if not isinstance(reply, dict):
        raise bad(f"expected an object, got {type(reply).__name__}")
    if reply.get("jsonrpc") != VERSION:
        raise bad('"jsonrpc" is not "2.0"')
    if "id" not in reply:
        raise bad("no id member")
    failed = reply.get("error") is not None
    if failed and reply.get("result") is not None:
        raise bad("it has both a result and an error")
    if not failed and "result" not in reply:
        raise bad("it has neither a result nor an error")
    reply_id = reply["id"]
    if reply_id is not None and not _is_id(reply_id):
        raise bad("the id is neither a string, a number nor null")
    if failed:
        error = _error(reply["error"], provider=provider, status=status, request_id=rid)
        if reply_id is not None and not _same_id(reply_id, expected_id):
            raise bad("the id does not match the request's")
        return RpcOutcome(method, expected_id, error=error)
    if not _same_id(reply_id, expected_id):
        raise bad("the id does not match the request's")
    return RpcOutcome(method, expected_id, result=reply["result"])


def _kind(item: Any) -> str:
    """``call``, ``notification``, or ``invalid`` (a member the server can only answer with ``id: null``)."""
    method = item.get("method") if isinstance(item, Mapping) else None
    if not isinstance(item, Mapping) or item.get("jsonrpc") != VERSION or not isinstance(method, str):
        return "invalid"
    if "id" not in item:
        return "notification"
    return "call" if _is_id(item["id"]) else "invalid"


def match_batch(
    sent: Sequence[Any], replies: Any, *, provider: str = "", status: Optional[int] = None
) -> List[RpcOutcome]:
    """Pair a batch reply with the sent members; one outcome per sent member, in order.

    Replies are matched by id (the server may answer in any order). A reply with ``id: null`` is an
    error the server could not attribute (an invalid member, or one whose id it could not read);
    such errors go to the members left without a reply, in order. A member left with no reply gets
    a ``ProtocolError`` outcome. Raises ``ProtocolError`` only when the reply as a whole is
    unusable: not an array, an answer to an id never sent, or two answers to one id.
    """
    if not isinstance(replies, list):
        raise errors.ProtocolError(
            f"batch reply: expected an array, got {type(replies).__name__}", provider=provider
        )
    kinds = [_kind(item) for item in sent]
    # Keyed by the id's text: a server may echo 1 as "1" (see _same_id).
    index = {str(item["id"]): n for n, item in enumerate(sent) if kinds[n] == "call"}
    found: Dict[int, RpcOutcome] = {}
    orphans: List[errors.IntegrationError] = []
    for reply in replies:
        reply_id = reply.get("id") if isinstance(reply, dict) else None
        if reply_id is None:
            # parse_reply refuses a *result* with a null id, so this is an error object.
            orphan = parse_reply(reply, None, provider=provider, status=status).error
            orphans.extend([orphan] if orphan is not None else [])
            continue
        at = index.get(str(reply_id)) if _is_id(reply_id) else None
        if at is None:
            raise errors.ProtocolError("batch reply: an answer to an id never sent", provider=provider)
        if at in found:
            raise errors.ProtocolError("batch reply: two answers for one id", provider=provider)
        method = str(sent[at].get("method", ""))
        try:
            found[at] = parse_reply(reply, sent[at]["id"], method=method, provider=provider, status=status)
        except errors.ProtocolError as exc:
            found[at] = RpcOutcome(method, reply_id, error=exc)
    outcomes = []
    for n, item in enumerate(sent):
        method = str(item.get("method", "")) if isinstance(item, Mapping) else ""
        item_id = item["id"] if kinds[n] == "call" else None
        if kinds[n] == "notification":
            outcomes.append(RpcOutcome(method, None, notification=True))
        elif n in found:
            outcomes.append(found[n])
        elif orphans:
            outcomes.append(RpcOutcome(method, item_id, error=orphans.pop(0)))
        else:
            outcomes.append(
                RpcOutcome(
                    method,
                    item_id,
                    error=errors.ProtocolError(
                        f"batch reply: no answer for {method or 'an invalid member'}",
                        provider=provider,
                        request_id=None if item_id is None else str(item_id),
                    ),
                )
            )
    if orphans:
        log.warning("%s: %d batch error(s) with a null id matched no call", provider, len(orphans))
    return outcomes


def decode(sent: Any, document: Any, *, provider: str = "", status: Optional[int] = None) -> List[RpcOutcome]:
    """The outcomes of what was ``sent`` (one object or a batch) given the decoded reply ``document``
    (``None``: no body). One outcome per sent object, in order.

    Raises ``RpcError`` when the server rejected the whole body (a single error answering a batch
    or a notification) and ``ProtocolError`` when the reply cannot be understood.
    """
    if isinstance(sent, list):
        if all(_kind(item) == "notification" for item in sent) and not isinstance(document, dict):
            return [RpcOutcome(str(item.get("method", "")), None, notification=True) for item in sent]
        if isinstance(document, dict):
            # One non-array error answers a batch the server could not read at all.
            parse_reply(document, None, provider=provider, status=status).unwrap()
            raise errors.ProtocolError("batch reply: a single result for a whole batch", provider=provider)
        return match_batch(sent, document, provider=provider, status=status)
    if not isinstance(sent, dict):
        raise errors.ValidationError("a JSON-RPC request body must be an object or an array")
    method = str(sent.get("method", ""))
    if "id" not in sent:
        if isinstance(document, dict) and document.get("error") is not None:
            # Not a reply (notifications get none) but a refusal of the body itself.
            parse_reply(document, None, method=method, provider=provider, status=status).unwrap()
        return [RpcOutcome(method, None, notification=True)]
    if document is None:
        raise errors.ProtocolError(
            f"no reply to {method}: an empty body answers only notifications",
            provider=provider,
            request_id=str(sent["id"]),
        )
    return [parse_reply(document, sent["id"], method=method, provider=provider, status=status)]


# -- HTTP ----------------------------------------------------------------------------------------

_NOT_JSON = object()


def _document(response: Response) -> Any:
    """The decoded body, ``None`` when empty, ``_NOT_JSON`` when it is not JSON."""
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content, **STRICT_FLOATS)  # NaN, Infinity, 1e999 refused
    except ValueError:
        return _NOT_JSON


def _expects_reply(sent: Any) -> bool:
    items = sent if isinstance(sent, list) else [sent]
    return any(_kind(item) != "notification" for item in items)


def _single_error(document: Any, provider: str, status: int) -> Optional[errors.RpcError]:
    if not isinstance(document, dict) or document.get("error") is None:
        return None
    try:
        error = parse_reply(document, document.get("id"), provider=provider, status=status).error
    except errors.ProtocolError:
        return None
    return error if isinstance(error, errors.RpcError) else None


def _rpc_message(response: Response, provider: str) -> Optional[str]:
    """The message of a JSON-RPC error body, if there is one."""
    if response.status >= 400:
        error = _single_error(_document(response), provider, response.status)
        if error is not None:
            return f"HTTP {response.status}: {error.message}"
    return None


def _rejected(
    provider: str, response: Response, error: Optional[errors.RpcError]
) -> errors.AccessTokenRejected:
    message = error.message if error is not None else f"HTTP {response.status}"
    return errors.AccessTokenRejected(
        f"the access token was rejected: {message}",
        provider=provider,
        status=response.status,
        code=error.code if error is not None else None,
        request_id=response.request_id,
    )


def check_response(
    response: Response, sent: Any, *, provider: str, authenticated: bool, auth_rule: AuthErrorRule
) -> List[RpcOutcome]:
    """Apply the HTTP and JSON-RPC rules to ``response``; return the outcomes of ``sent``.

    Raises :class:`~integrations.errors.AccessTokenRejected` when an authenticated request's token
    was rejected (HTTP 401, HTTP 403 unless the body is a known non-auth JSON-RPC error, or an error
    ``auth_rule`` matches, in any member of a batch); the ``RpcError`` of a single call; and
    ``ServiceUnavailable``, ``RateLimited`` or ``ProtocolError`` when there is no usable reply.
    """
    status = response.status
    if status == 429 or status == 407 or 300 <= status < 400:
        # Whatever the body says: a 429 is a refusal (RateLimited, with Retry-After in seconds or as
        # an HTTP date), a 407 a proxy's, and a 3xx an unfollowed redirect (ProtocolError): none of
        # them is the server's JSON-RPC answer to what was sent.
        raise_for_status(provider, response, message=_rpc_message(response, provider))
    document = _document(response)
    if authenticated and status in (401, 403):
        error = _single_error(document, provider, status)
        if status == 403 and error is not None and error.rpc_code in auth_rule.other_known_codes:
            raise error  # e.g. "Access denied" sent with 403: a permission, not the token
        raise _rejected(provider, response, error)
    if document is _NOT_JSON or (document is None and (_expects_reply(sent) or status >= 300)):
        if status in (401, 403):
            raise errors.AuthenticationError(
                f"HTTP {status} without a JSON-RPC body",
                provider=provider,
                status=status,
                request_id=response.request_id,
            )
        if status == 429 or status >= 500 or (document is None and status >= 300):
            raise_for_status(provider, response, message=f"HTTP {status} without a JSON-RPC body")
        what = "an empty body" if document is None else "a body that is not JSON"
        raise errors.ProtocolError(
            f"{provider}: HTTP {status} with {what}", provider=provider, request_id=response.request_id
        )
    try:
        results = decode(sent, document, provider=provider, status=status)
    except errors.RpcError as exc:
        if authenticated and auth_rule.matches(exc.rpc_code, exc.message):
            raise _rejected(provider, response, exc) from None
        raise
    except errors.ProtocolError:
        if status >= 500:
            raise_for_status(provider, response, message=f"HTTP {status} with a body that is not JSON-RPC")
        raise
    if authenticated:
        for result in results:
            failure = result.error
            if isinstance(failure, errors.RpcError) and auth_rule.matches(failure.rpc_code, failure.message):
                raise _rejected(provider, response, failure)
    if not isinstance(sent, list) and results[0].error is not None:
        raise results[0].error
    return results


def exchange(
    ctx: CallContext,
    token: Optional[Token],
    request: Request,
    deadline: Deadline,
    *,
    provider: str,
    auth_rule: AuthErrorRule,
) -> List[RpcOutcome]:
    """Send ``request`` (its ``json`` is a request object or a batch) with ``token`` as Bearer, and
    return the outcomes of what was sent, decoded and validated once by :func:`check_response`."""
    headers = {"Accept": "application/json", **request.headers}
    if token is not None:
        headers["Authorization"] = f"Bearer {token.access}"
    response = ctx.send(request, deadline, headers=headers)
    return check_response(
        response, request.json, provider=provider, authenticated=token is not None, auth_rule=auth_rule
    )
