"""Deterministic in-process emulator of the ALOR Broker test contour (``oauthdev`` and ``apidev``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from werkzeug.wsgi import get_input_stream

from integrations.runtime import Clock, SystemClock
from integrations.sandbox.emulator import WSGIApp

from .sandbox_data import (
    ACCOUNTS,
    CONDITIONS,
    EMPTY_BOOK,
    FORMATS,
    MAX_DEPTH,
    TIME_IN_FORCE,
    Book,
    Order,
    build_market,
    positive_decimal,
)

__all__ = ["AlorEmulator"]

Environ = dict[str, Any]
JsonObj = dict[str, Any]
Reply = tuple[int, bytes, str]  # status, body, content type ("" when the body is empty)
Outcome = tuple[int, JsonObj]

_JSON = "application/json; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
_R401: Reply = (401, b"", "")
_R404: Reply = (404, b"", "")
_R405: Reply = (405, b"", "")
_SCOPE = "OrdersRead OrdersCreate Trades Personal Stats"
_EXCHANGES = frozenset({"MOEX", "SPBX"})
_ORDERS_PATH = ["commandapi", "warptrans", "trade", "v2", "client", "orders"]
_KINDS = frozenset({"market", "limit", "stop", "stoplimit"})
_TOKEN_CACHE_LIMIT = 4096
_DUPLICATE = "Request with such {} was already handled. We return the response to that request."
_NOT_FOUND_ONE: JsonObj = {"code": "OrderToCancelNotFound (404)", "message": "Order to cancel not found"}
_NOT_FOUND_ALL: JsonObj = {"code": "OrderToCancelNotFound", "message": "Orders to cancel not found"}
_DEFAULT_LOGIN = ACCOUNTS[0].login


class _Principal(NamedTuple):
    login: str
    portfolios: frozenset[str]
    exp: int


def _json(status: int, obj: Any) -> Reply:
    return status, json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), _JSON


def _bad(message: str, code: str = "Validation") -> Outcome:
    return 400, {"code": code, "message": message}


def _forbidden(portfolio: str) -> Outcome:
    return 403, {"message": f"Access to portfolio {portfolio} is denied"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _query(environ: Environ) -> dict[str, str]:
    # ASP.NET binds query parameters case-insensitively.
    return {k.lower(): v for k, v in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)}


def _ci(obj: Any) -> JsonObj:
    # ASP.NET binds JSON property names case-insensitively (the SDK sends {"Token": ...}).
    return {str(k).lower(): v for k, v in obj.items()} if isinstance(obj, dict) else {}


class AlorEmulator:
    """Emulator of the ALOR test contour: ``oauth`` (``POST /refresh``) and ``api`` (md + commandapi).

    Everything is derived from ``seed`` and ``clock``, so two emulators with the same seed answer the same
    request sequence byte for byte. One lock guards all mutable state because the sandbox server is
    threaded. Construction does no I/O.

    Accounts: ``P039004`` (default; portfolios ``D39004 G39004 750039004 D39014 G39014 750039014``) and
    ``P039005`` (``D39005 G39005 750039005``). Each has exactly one valid refresh token at a time.

    Choices where the public sources leave the behaviour open:

    * ``allowedPortfolios`` naming a portfolio the account does not own -> 400; an empty list is ignored.
    * Access tokens are HS256 JWTs signed with a per-seed key. They stay valid until ``exp`` even after
      the refresh token is rotated, as stateless JWTs do.
    * The order books are fixed per seed (only timestamps move). An unknown symbol, or an
      ``instrumentGroup`` that is not the symbol's board -> ``unknown_symbol_status`` (404 with an empty
      body; 200 gives empty sides). Unknown exchange, depth outside 1..50 or unknown format -> 400.
    * Request ids are deduplicated per login, across all create endpoints, forever. Every answer given
      after authentication is remembered (400 and 403 too), so a replay's ``oldResponse`` carries
      whatever the first status was. The duplicate message names the header the client used.
    * Cancelling a filled or cancelled order, or with the wrong ``stop`` flag or exchange -> 400 not
      found. ``DELETE .../all`` without ``stop`` cancels regular and stop orders alike.
    * Order lists are always in Simple format; modify (PUT) is not emulated.

    Test controls: :meth:`issue_refresh_token`, :attr:`refresh_count`, :attr:`orders_placed`,
    :meth:`delay_next_command`.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        access_token_ttl: float = 1800.0,
        unknown_symbol_status: int = 404,
    ) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._ttl = float(access_token_ttl)
        self._unknown_status = int(unknown_symbol_status)
        self._rng = random.Random(seed)
        self._key = hashlib.sha256(f"alor-emulator-jwt:{seed}".encode("ascii")).digest()
        self._jwt_header = _b64(b'{"alg":"HS256","typ":"JWT"}')
        self._lock = threading.Lock()
        self._market = build_market(seed)
        self._accounts = {a.login: a for a in ACCOUNTS}
        self._azp = {a.login: f"{self._rng.getrandbits(80):020x}" for a in ACCOUNTS}
        self._refresh_of: dict[str, str] = {}
        self._login_of: dict[str, str] = {}
        for account in ACCOUNTS:
            self._rotate(account.login)
        self._verified: dict[str, _Principal] = {}
        self._jti = 0
        self._refreshes = 0
        self._orders: dict[str, Order] = {}
        self._next_order = 18995978560 + self._rng.randrange(1_000_000)
        self._created = 0
        self._handled: dict[tuple[str, str], Outcome] = {}
        self._delay = 0.0

    # -- Emulator protocol and test controls --------------------------------------------------------

    def wsgi_apps(self) -> Mapping[str, WSGIApp]:
        return {
            "oauth": partial(self._serve, self._handle_oauth),
            "api": partial(self._serve, self._handle_api),
        }

    def credentials(self) -> dict[str, str]:
        with self._lock:
            return {"refresh_token": self._refresh_of[_DEFAULT_LOGIN]}

    def issue_refresh_token(self, login: str | None = None) -> str:
        """Give ``login`` (the default account if None) a new refresh token; the old one stops working."""
        login = login or _DEFAULT_LOGIN
        with self._lock:
            if login not in self._accounts:
                raise KeyError(f"unknown login {login!r}")
            return self._rotate(login)

    @property
    def refresh_count(self) -> int:
        """Successful ``POST /refresh`` calls so far."""
        with self._lock:
            return self._refreshes

    @property
    def orders_placed(self) -> int:
        """Orders actually created; replays of a known request id are not counted."""
        with self._lock:
            return self._created

    def delay_next_command(self, seconds: float) -> None:
        """Stall the response to the next order-create command by ``seconds`` of *real* time.

        "Next" means the next create that passes authentication and is not a request-id replay. The
        command is executed and remembered before the stall, so a client whose read timeout fires and
        which retries with the same request id gets the ``oldResponse`` replay at once. This uses
        ``time.sleep`` on purpose, not the emulator clock: it simulates a network stall that a client's
        socket timeout sees.
        """
        with self._lock:
            self._delay = float(seconds)

    # -- WSGI plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _serve(
        handler: Callable[[Environ, bytes], Reply], environ: Environ, start_response: Callable[..., Any]
    ) -> list[bytes]:
        # Always drain the body: an unread body would desync the next request on a keep-alive connection.
        raw = get_input_stream(environ).read()
        status, body, ctype = handler(environ, raw)
        headers = [("Content-Length", str(len(body)))]
        if ctype:
            headers.append(("Content-Type", ctype))
        start_response(_STATUS_LINES.get(status, f"{status} Unknown"), headers)
        return [body]

    # -- OAuth and access tokens ----------------------------------------------------------------------

    def _rotate(self, login: str) -> str:
        old = self._refresh_of.get(login)
        if old is not None:
            del self._login_of[old]
        h = f"{self._rng.getrandbits(128):032x}"
        token = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
        self._refresh_of[login] = token
        self._login_of[token] = login
        return token

    def _handle_oauth(self, environ: Environ, raw: bytes) -> Reply:
        if environ.get("PATH_INFO", "").strip("/").lower() != "refresh":
            return _R404
        if environ["REQUEST_METHOD"] != "POST":
            return _R405
        query = _query(environ)
        body: JsonObj = {}
        if raw.strip():
            try:
                body = _ci(json.loads(raw))
            except ValueError:
                return 400, b"Malformed JSON body", _TEXT
        # The body wins over the query; the SDK posts an empty ?token= next to a body token.
        token = body.get("token") or query.get("token")
        allowed: Any = body.get("allowedportfolios")
        if allowed is None and query.get("allowedportfolios"):
            try:
                allowed = json.loads(query["allowedportfolios"])
            except ValueError:
                allowed = False
        valid = isinstance(allowed, list) and all(isinstance(x, str) for x in allowed)
        if allowed is not None and not valid:
            return 400, b"allowedPortfolios must be a JSON array of strings", _TEXT
        now = self._clock.now()
        with self._lock:
            login = self._login_of.get(token) if isinstance(token, str) else None
            if login is None:
                return 403, b"Invalid or expired refresh token", _TEXT
            account = self._accounts[login]
            if allowed and not set(allowed) <= set(account.portfolios):
                return 400, b"allowedPortfolios names a portfolio of another client", _TEXT
            self._jti += 1
            self._refreshes += 1
            claims = {
                "sub": login,
                "ent": "client",
                "ein": account.ein,
                "clientid": account.clientid,
                "azp": self._azp[login],
                "agreements": account.agreements,
                "portfolios": " ".join(p for p in account.portfolios if not allowed or p in allowed),
                "scope": _SCOPE,
                "iat": int(now),
                "exp": int(now + self._ttl),
                "jti": f"{self._jti:016x}",
            }
        signing_input = f"{self._jwt_header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        return _json(200, {"AccessToken": f"{signing_input}.{self._sign(signing_input)}"})

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest())

    def _principal(self, environ: Environ) -> _Principal | None:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        # Verified tokens are cached so the hot path pays one dict lookup instead of an HMAC.
        with self._lock:
            principal = self._verified.get(token)
        if principal is None:
            principal = self._verify(token)
            if principal is None:
                return None
            with self._lock:
                if len(self._verified) >= _TOKEN_CACHE_LIMIT:
                    self._verified.clear()
                self._verified[token] = principal
        return principal if principal.exp > self._clock.now() else None

    def _verify(self, token: str) -> _Principal | None:
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii():
            return None
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        # A valid signature proves we minted the payload, so it decodes and carries every claim.
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return _Principal(claims["sub"], frozenset(claims["portfolios"].split()), int(claims["exp"]))

    # -- API routing ----------------------------------------------------------------------------------

    def _handle_api(self, environ: Environ, raw: bytes) -> Reply:
        method = environ["REQUEST_METHOD"]
        segs = environ.get("PATH_INFO", "").strip("/").split("/")
        low = [s.lower() for s in segs]
        n = len(low)
        if n >= 3 and low[0] == "md" and low[1] == "v2":
            if n == 3 and low[2] == "time":
                return _json(200, int(self._clock.now())) if method == "GET" else _R405
            if n == 5 and low[2] == "orderbooks":
                return self._orderbook(environ, segs[3], segs[4]) if method == "GET" else _R405
            if n in (6, 7) and low[2] == "clients" and low[5] in ("orders", "stoporders"):
                if method != "GET":
                    return _R405
                return self._list_orders(environ, segs[3].upper(), segs[4], low[5] == "stoporders", segs[6:])
        elif n in (7, 8) and low[:6] == _ORDERS_PATH:
            if n == 8 and low[6] == "actions" and low[7] in _KINDS:
                return self._create(environ, raw, low[7]) if method == "POST" else _R405
            if n == 7 and low[6] != "actions":
                if method != "DELETE":
                    return _R405
                return self._cancel(environ, None if low[6] == "all" else segs[6])
        return _R404

    # -- Market data ----------------------------------------------------------------------------------

    def _orderbook(self, environ: Environ, exchange: str, symbol: str) -> Reply:
        if self._principal(environ) is None:
            return _R401
        query = _query(environ)
        depth = 20
        if query.get("depth"):
            try:
                depth = int(query["depth"])
            except ValueError:
                depth = 0
            if not 1 <= depth <= MAX_DEPTH:
                return _json(400, {"message": f"depth must be an integer from 1 to {MAX_DEPTH}"})
        fmt = (query.get("format") or "simple").lower()
        if fmt not in FORMATS:
            return _json(400, {"message": "format must be one of Simple, Slim, Heavy"})
        if exchange.upper() not in _EXCHANGES:
            return _json(400, {"message": f"Unknown exchange {exchange}"})
        book = self._lookup(exchange, symbol, query.get("instrumentgroup"))
        if book is None:
            if self._unknown_status != 200:
                return self._unknown_status, b"", ""
            book = EMPTY_BOOK
        return 200, book.render(fmt, depth, self._clock.now()), _JSON

    def _lookup(self, exchange: str, symbol: str, group: str | None) -> Book | None:
        book = self._market.get((exchange.upper(), symbol.upper()))
        if book is None or book.instrument is None or (group and group.upper() != book.instrument.board):
            return None
        return book

    # -- Orders ---------------------------------------------------------------------------------------

    def _create(self, environ: Environ, raw: bytes, kind: str) -> Reply:
        principal = self._principal(environ)
        if principal is None:
            return _R401  # not "handled": a retry with a fresh token must still be able to place it
        header = "X-REQID" if environ.get("HTTP_X_REQID") else "X-ALOR-REQID"
        reqid = environ.get("HTTP_X_REQID") or environ.get("HTTP_X_ALOR_REQID")
        if not reqid:
            return _json(400, {"code": "Validation", "message": "X-REQID header is required"})
        now = self._clock.now()
        with self._lock:
            key = (principal.login, reqid)
            old = self._handled.get(key)
            if old is not None:
                return _json(
                    400,
                    {
                        "message": _DUPLICATE.format(header),
                        "oldResponse": {"statusCode": old[0], "body": old[1]},
                    },
                )
            status, body = self._handled[key] = self._place(principal, kind, raw, now)
            delay, self._delay = self._delay, 0.0
        reply = _json(status, body)
        if delay > 0:
            time.sleep(delay)  # real time on purpose, see delay_next_command
        return reply

    def _place(self, principal: _Principal, kind: str, raw: bytes, now: float) -> Outcome:
        """Validate and store one order; the caller holds the lock."""
        try:
            data = _ci(json.loads(raw, parse_float=Decimal))
        except ValueError:
            return _bad("Request body is not valid JSON", "InvalidJson")
        portfolio = _ci(data.get("user")).get("portfolio")
        if not isinstance(portfolio, str) or not portfolio:
            return _bad("user.portfolio is required")
        if portfolio not in principal.portfolios:
            return _forbidden(portfolio)
        side = data.get("side")
        side = side.lower() if isinstance(side, str) else ""
        if side not in ("buy", "sell"):
            return _bad("side must be buy or sell")
        qty = data.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            return _bad("Invalid or unsupported quantity")
        comment = data.get("comment")
        if comment is not None and (not isinstance(comment, str) or len(comment) > 100):
            return _bad("comment must be a string of at most 100 characters")
        tif = data.get("timeinforce") or "oneday"
        if not isinstance(tif, str) or tif.lower() not in TIME_IN_FORCE:
            return _bad("Unknown timeInForce")
        instrument = _ci(data.get("instrument"))
        symbol, exchange, group = (instrument.get(k) for k in ("symbol", "exchange", "instrumentgroup"))
        if not isinstance(symbol, str) or not isinstance(exchange, str):
            return _bad("instrument.symbol and instrument.exchange are required")
        book = self._lookup(exchange, symbol, group if isinstance(group, str) else None)
        if book is None or book.instrument is None:
            return _bad(f"Instrument {exchange}:{symbol} not found", "InstrumentNotFound")
        if kind == "market":
            price: Decimal | None = (book.asks if side == "buy" else book.bids)[0][0]
        elif kind == "stop":
            price = Decimal(0)
        else:
            price = positive_decimal(data.get("price"))
        if price is None:
            return _bad("price must be a positive number")
        order = Order(
            str(self._next_order),
            kind,
            side,
            qty,
            price,
            portfolio,
            book.instrument,
            comment,
            tif.lower(),
            now,
        )
        if order.is_stop:
            order.trigger = positive_decimal(data.get("triggerprice"))
            condition = data.get("condition")
            order.condition = CONDITIONS.get(condition.lower(), "") if isinstance(condition, str) else ""
            if order.trigger is None or not order.condition:
                return _bad("triggerPrice and condition (More, Less, MoreOrEqual, LessOrEqual) are required")
        if kind == "market":
            order.status, order.filled = "filled", qty
        self._next_order += 1
        self._created += 1
        self._orders[order.number] = order
        return 200, {"message": "success", "orderNumber": order.number}

    def _cancel(self, environ: Environ, order_id: str | None) -> Reply:
        principal = self._principal(environ)
        if principal is None:
            return _R401
        query = _query(environ)
        portfolio, exchange = query.get("portfolio"), (query.get("exchange") or "").upper()
        if not portfolio or exchange not in _EXCHANGES:
            return _json(400, _bad("portfolio and exchange (MOEX or SPBX) are required")[1])
        # SDK and ALORPY send True/False, so booleans are parsed case-insensitively.
        stop = {"true": True, "false": False}.get((query.get("stop") or "").lower())
        if stop is None and (order_id is not None or query.get("stop")):
            return _json(400, _bad("stop must be true or false")[1])
        if portfolio not in principal.portfolios:
            return _json(*_forbidden(portfolio))
        now = self._clock.now()
        with self._lock:
            if order_id is None:
                candidates = list(self._orders.values())
            else:
                candidates = [self._orders[order_id]] if order_id in self._orders else []
            targets = [
                o for o in candidates if o.status == "working" and o.matches(portfolio, exchange, stop)
            ]
            if not targets:
                return _json(400, _NOT_FOUND_ALL if order_id is None else _NOT_FOUND_ONE)
            for order in targets:
                order.status, order.updated = "canceled", now
        return 200, b"success", _TEXT

    def _list_orders(
        self, environ: Environ, exchange: str, portfolio: str, stop: bool, rest: list[str]
    ) -> Reply:
        principal = self._principal(environ)
        if principal is None:
            return _R401
        if portfolio not in principal.portfolios:
            return _json(*_forbidden(portfolio))
        with self._lock:
            if rest:
                order = self._orders.get(rest[0])
                if order is None or not order.matches(portfolio, exchange, stop):
                    return _R404
                return _json(200, order.to_json())
            items = [o.to_json() for o in self._orders.values() if o.matches(portfolio, exchange, stop)]
        return _json(200, items)
