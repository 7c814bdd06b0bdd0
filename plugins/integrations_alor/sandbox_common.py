"""What every part of the ALOR emulator shares: the table of error answers (:data:`ERRORS`, with
their sources; the README's table is generated from it), the JSON answer helpers, ASP.NET-style
case-insensitive reading of queries and bodies, and the authenticated principal of a request.

A part of the emulator with error answers of its own adds them to :data:`ERRORS` at import
(``ERRORS.update(MY_ERRORS)``), each with a test that triggers it."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional
from urllib.parse import parse_qsl

from integrations.sandbox.jsonapp import JsonRequest, Reply

from .sandbox_data import FORMATS, MAX_DEPTH

__all__ = ["ERRORS", "ErrorAnswer", "Outcome", "error_table_markdown"]

JsonObj = dict[str, Any]
Outcome = tuple[int, Any]  # status and JSON body (None: an empty body)


class ErrorAnswer(NamedTuple):
    """One error answer of the emulator: when it is sent, what it is, and on what authority.

    ``body`` is None for an empty body, else a JSON object whose ``message`` may hold ``{name}``
    fields filled in per request. ``source`` is ``"spec"`` when both the status and the body are the
    spec's, else ``"assumption"`` (``reason`` says what is documented and what is assumed).
    """

    situation: str
    status: int
    body: Optional[JsonObj]
    source: str
    reason: str


_DEPTH_MESSAGE = f"depth must be an integer from 1 to {MAX_DEPTH}"

#: Every error answer the emulator sends. The README's table is generated from this one
#: (:func:`error_table_markdown`), and tests/providers/alor/test_sandbox_documented_shapes.py checks
#: that each entry is what the emulator sends.
ERRORS: dict[str, ErrorAnswer] = {
    # -- oauth: POST /refresh ----------------------------------------------------------------------
    "refresh_rejected": ErrorAnswer(
        "POST /refresh with a missing, unknown, malformed or revoked (superseded) refresh token",
        403,
        None,
        "assumption",
        "The status is the spec's ('could not generate a JWT: the refresh token is wrong or has "
        "expired', reference §3); the body is undocumented: sent empty.",
    ),
    "refresh_body_not_json": ErrorAnswer(
        "POST /refresh with a body that is not JSON",
        400,
        {"message": "Request body is not valid JSON"},
        "assumption",
        "Undocumented; a 400 with a message, like every documented 400 of the API.",
    ),
    "refresh_allowed_portfolios_malformed": ErrorAnswer(
        "POST /refresh whose allowedPortfolios is not a JSON array of strings",
        400,
        {"message": "allowedPortfolios must be a JSON array of portfolio names"},
        "assumption",
        "The spec gives allowedPortfolios as a JSON array (reference §3); its refusal is undocumented.",
    ),
    "refresh_allowed_portfolios_foreign": ErrorAnswer(
        "POST /refresh whose allowedPortfolios names a portfolio the account does not have",
        400,
        {"message": "allowedPortfolios names a portfolio of another account"},
        "assumption",
        "Undocumented (a 403 would be as plausible). An empty list is ignored.",
    ),
    # -- routing -----------------------------------------------------------------------------------
    "route_not_found": ErrorAnswer(
        "Any path the emulator does not serve (oauth or api)",
        404,
        None,
        "assumption",
        "Plain HTTP; the spec's 404 'resource not found' has no body.",
    ),
    "method_not_allowed": ErrorAnswer(
        "A served path with another HTTP method",
        405,
        None,
        "assumption",
        "Plain HTTP; undocumented.",
    ),
    # -- authentication and rights -----------------------------------------------------------------
    "unauthorized": ErrorAnswer(
        "No Bearer JWT, or a malformed, forged, expired or foreign (other seed) one, on any api "
        "endpoint except /md/v2/time",
        401,
        None,
        "assumption",
        "The status is the spec's (a missing, expired or other-contour JWT, reference §5, §7); the body "
        "is undocumented: sent empty.",
    ),
    "portfolio_forbidden": ErrorAnswer(
        "An order command, cancel or order list for a portfolio that is not in the JWT's portfolios claim",
        403,
        None,
        "assumption",
        "The status is the spec's ('insufficient rights', reference §5, §7); the body is undocumented: "
        "sent empty. Such a command is not remembered under its request id (it never reached trading).",
    ),
    # -- order books -------------------------------------------------------------------------------
    "depth_out_of_range": ErrorAnswer(
        "GET /md/v2/orderbooks with depth that is not an integer from 1 to 50",
        400,
        {"message": _DEPTH_MESSAGE},
        "assumption",
        "The spec's range is 1..50, default 20 (the guide's 'default and maximum 20' is older; the "
        "spec is followed). What the server does outside it is undocumented (reference §4): a 400.",
    ),
    "format_unknown": ErrorAnswer(
        "format that is not Simple, Slim or Heavy (any case), on order books and order lists",
        400,
        {"message": "format must be one of Simple, Slim, Heavy"},
        "assumption",
        "The spec lists the three formats; the refusal is undocumented.",
    ),
    "exchange_unknown": ErrorAnswer(
        "GET /md/v2/orderbooks/{exchange}/... with an exchange other than MOEX or SPBX",
        400,
        {"message": "Unknown exchange {exchange}"},
        "assumption",
        "The spec's exchanges are MOEX and SPBX; the refusal is undocumented.",
    ),
    "symbol_unknown": ErrorAnswer(
        "GET /md/v2/orderbooks for an unknown symbol, or an instrumentGroup that is not the symbol's "
        "board (option unknown_symbol_status=200: a 200 with both sides empty instead)",
        404,
        None,
        "assumption",
        "The order book documents only 200 and 401; /md/v2/Securities documents 404 for an unknown "
        "symbol (reference §4).",
    ),
    # -- order commands: POST /commandapi/warptrans/TRADE/v2/client/orders/actions/{kind} ----------
    "request_id_missing": ErrorAnswer(
        "An order command without X-REQID or X-ALOR-REQID",
        400,
        {"message": "X-REQID header is required"},
        "assumption",
        "The spec marks X-REQID required; the refusal is undocumented: a 400 with only a message.",
    ),
    "request_id_repeated": ErrorAnswer(
        "An order command whose request id this login has used before (any command endpoint)",
        400,
        {
            "message": "Request with such {header} was already handled. We return the response to that "
            "request.",
            "oldResponse": {"statusCode": "<first status>", "body": "<first body>"},
        },
        "spec",
        "The spec's 400 schema and text (reference §5). Naming X-REQID rather than X-ALOR-REQID when the "
        "client sent X-REQID is an assumption. The first answer is kept forever, 400s included.",
    ),
    "body_not_json": ErrorAnswer(
        "An order command whose body is not JSON",
        400,
        {"message": "Request body is not valid JSON"},
        "assumption",
        "Undocumented: a 400 with only a message (no invented code).",
    ),
    "portfolio_missing": ErrorAnswer(
        "An order command without user.portfolio",
        400,
        {"message": "user.portfolio is required"},
        "assumption",
        "Undocumented: a 400 with only a message.",
    ),
    "side_invalid": ErrorAnswer(
        "An order command whose side is not buy or sell (any case)",
        400,
        {"message": "side must be buy or sell"},
        "assumption",
        "Undocumented: a 400 with only a message.",
    ),
    "quantity_invalid": ErrorAnswer(
        "An order command whose quantity is not a positive integer (lots)",
        400,
        {"message": "Invalid or unsupported quantity"},
        "assumption",
        "The text is the spec's /cws (WebSocket commands) error example (reference §5); that REST sends "
        "it too is assumed.",
    ),
    "comment_invalid": ErrorAnswer(
        "An order command whose comment is not a string of at most 100 characters",
        400,
        {"message": "comment must be a string of at most 100 characters"},
        "assumption",
        "The spec's 100-character limit; the refusal is undocumented.",
    ),
    "time_in_force_invalid": ErrorAnswer(
        "An order command with an unknown timeInForce",
        400,
        {"message": "Unknown timeInForce"},
        "assumption",
        "The spec's six values; the refusal is undocumented.",
    ),
    "instrument_missing": ErrorAnswer(
        "An order command without instrument.symbol or instrument.exchange",
        400,
        {"message": "instrument.symbol and instrument.exchange are required"},
        "assumption",
        "Undocumented: a 400 with only a message.",
    ),
    "instrument_unknown": ErrorAnswer(
        "An order command for an unknown instrument, or an instrumentGroup that is not its board",
        400,
        {"message": "Instrument {exchange}:{symbol} not found"},
        "assumption",
        "Undocumented: a 400 with only a message (the spec also lists a bodiless 404 for commands).",
    ),
    "market_mismatch": ErrorAnswer(
        "An order command for an instrument whose market the portfolio does not trade (D: FOND and "
        "SPBX, G: CURR, 7500: FORTS), e.g. MOEX:SBER on G39004",
        400,
        {"message": "Portfolio {portfolio} does not trade on the {market} market ({exchange}:{symbol})"},
        "assumption",
        "ALOR issues portfolios per market; the refusal's text is undocumented: a 400 with only a "
        "message. That D portfolios trade SPBX is an assumption too.",
    ),
    "price_invalid": ErrorAnswer(
        "A limit or stop-limit command without a positive price",
        400,
        {"message": "price must be a positive number"},
        "assumption",
        "Undocumented: a 400 with only a message.",
    ),
    "stop_condition_invalid": ErrorAnswer(
        "A stop or stop-limit command without a positive triggerPrice and a known condition",
        400,
        {"message": "triggerPrice and condition (More, Less, MoreOrEqual, LessOrEqual) are required"},
        "assumption",
        "Undocumented: a 400 with only a message.",
    ),
    "protecting_seconds_invalid": ErrorAnswer(
        "A stop or stop-limit command whose protectingSeconds is not an integer from 1 to 300",
        400,
        {"message": "protectingSeconds must be an integer from 1 to 300"},
        "assumption",
        "The spec's range; the refusal is undocumented.",
    ),
    # -- cancel: DELETE /commandapi/warptrans/TRADE/v2/client/orders/{orderId | all} ----------------
    "cancel_parameters_missing": ErrorAnswer(
        "A cancel without portfolio, or with an exchange other than MOEX or SPBX",
        400,
        {"message": "portfolio and exchange (MOEX or SPBX) are required"},
        "assumption",
        "The spec marks both required; the refusal is undocumented.",
    ),
    "cancel_stop_invalid": ErrorAnswer(
        "A cancel of one order without stop, or any cancel whose stop is not true or false (any case)",
        400,
        {"message": "stop must be true or false"},
        "assumption",
        "The spec marks stop required on a single cancel; the refusal is undocumented.",
    ),
    "cancel_not_found": ErrorAnswer(
        "A cancel of an order that is unknown, not working, of another portfolio or exchange, or of "
        "the other kind (stop flag)",
        400,
        {"code": "OrderToCancelNotFound (404)", "message": "Order to cancel not found"},
        "spec",
        "The spec's 400 example for DELETE .../orders/{orderId} (reference §5).",
    ),
    "cancel_all_nothing": ErrorAnswer(
        "DELETE .../orders/all when no matching order is working",
        400,
        {"code": "OrderToCancelNotFound", "message": "Orders to cancel not found"},
        "spec",
        "The spec's 400 example for DELETE .../orders/all (reference §5).",
    ),
    # -- order lists: GET /md/v2/Clients/{exchange}/{portfolio}/{orders | stoporders}[/{orderId}] ----
    "order_not_found": ErrorAnswer(
        "GET one order or stop order that is unknown or belongs to another portfolio, exchange or kind",
        404,
        None,
        "assumption",
        "The status is the spec's (reference §6); the body is undocumented: sent empty.",
    ),
}


#: The answers of the core (authentication, order books, order commands and lists); the parts add
#: theirs to :data:`ERRORS` when imported (ACCOUNT_ERRORS, COMMANDS_ERRORS, MARKET_ERRORS).
CORE_ERRORS: tuple[str, ...] = tuple(ERRORS)


def error_table_markdown() -> str:
    """:data:`ERRORS` as a Markdown table (situation | status | body | source), for the README."""
    rows = ["| Situation | Status | Body | Source |", "| --- | --- | --- | --- |"]
    for answer in ERRORS.values():
        body = "(empty)" if answer.body is None else json.dumps(answer.body, ensure_ascii=False)
        body = body.replace("|", "\\|")
        rows.append(f"| {answer.situation} | {answer.status} | `{body}` | {answer.source}: {answer.reason} |")
    return "\n".join(rows)


_JSON = "application/json; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"


_EXCHANGES = frozenset({"MOEX", "SPBX"})


def _json(status: int, obj: Any) -> Reply:
    return Reply(status, json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), _JSON)


def _answer(key: str, **fields: Any) -> Outcome:
    """The status and JSON body (None: empty) of :data:`ERRORS` ``[key]``, its message filled in."""
    answer = ERRORS[key]
    if answer.body is None:
        return answer.status, None
    body = dict(answer.body)
    if fields:
        body["message"] = str(body["message"]).format(**fields)
    return answer.status, body


def _reply(outcome: Outcome) -> Reply:
    status, body = outcome
    return Reply(status) if body is None else _json(status, body)


def _error(key: str, **fields: Any) -> Reply:
    return _reply(_answer(key, **fields))


def _query(request: JsonRequest) -> dict[str, str]:
    # ASP.NET binds query parameters case-insensitively (the last of repeated ones wins).
    pairs = parse_qsl(request.environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return {k.lower(): v for k, v in pairs}


def _ci(obj: Any) -> JsonObj:
    # ASP.NET binds JSON property names case-insensitively (the SDK sends {"Token": ...}).
    return {str(k).lower(): v for k, v in obj.items()} if isinstance(obj, dict) else {}


def _format(query: dict[str, str]) -> Optional[str]:
    fmt = (query.get("format") or "simple").lower()
    return fmt if fmt in FORMATS else None


class _Principal(NamedTuple):
    login: str
    portfolios: frozenset[str]
    exp: int
