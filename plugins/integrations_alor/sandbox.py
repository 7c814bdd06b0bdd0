"""Deterministic in-process emulator of the ALOR Broker test contour (``oauthdev`` and ``apidev``).

Every answer follows, in this order: the getting-started guide's examples (docs/seeds/000_*.txt), the
official spec ``WarpOpenAPIv2.yml`` as summarised in docs/reference/alor-api.md, and where both are
silent an assumption. Every error answer is listed in :data:`ERRORS` with its source.
"""

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
from typing import Any, Optional

from integrations.runtime import Clock, SystemClock
from integrations.sandbox.emulator import Counts, WSGIApp
from integrations.sandbox.jsonapp import HeaderPairs, JsonApp, JsonError, JsonRequest, Reply

from . import sandbox_account, sandbox_commands, sandbox_market
from .sandbox_account import Ledger
from .sandbox_common import (
    _EXCHANGES,
    _JSON,
    _TEXT,
    ERRORS,
    ErrorAnswer,
    JsonObj,
    Outcome,
    _answer,
    _ci,
    _error,
    _format,
    _json,
    _Principal,
    _query,
    _reply,
    error_table_markdown,
)
from .sandbox_data import (
    ACCOUNTS,
    EMPTY_BOOK,
    MARKETS_OF_PORTFOLIO_KIND,
    MAX_DEPTH,
    Book,
    Order,
    build_market,
)
from .sandbox_market import MarketSim

__all__ = ["ERRORS", "AlorEmulator", "ErrorAnswer", "error_table_markdown"]


_SCOPE = "OrdersRead OrdersCreate Trades Personal Stats"
_ISSUER = "Alor.Identity"
_AUDIENCE = "Client WARP WarpATConnector subscriptionsApi CommandApi InstrumentApi TradingViewPlatform"
# The guide's token header is {"alg":"ES256","typ":"JWT","cty":"JWT"}; only alg differs, see AlorEmulator.
_JWT_HEADER = b'{"alg":"HS256","typ":"JWT","cty":"JWT"}'
_ORDERS_PATH = "/commandapi/warptrans/TRADE/v2/client/orders"
_KINDS = ("market", "limit", "stop", "stoplimit")
_TOKEN_CACHE_LIMIT = 4096
_DEFAULT_LOGIN = ACCOUNTS[0].login


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_key(seed: int, generation: int) -> bytes:
    suffix = f":{generation}" if generation else ""  # generation 0: the key every cassette was signed with
    return hashlib.sha256(f"alor-emulator-jwt:{seed}{suffix}".encode("ascii")).digest()


class _App(JsonApp):
    """One service of the contour (``oauth`` or ``api``): ASP.NET routes match in any case."""

    ignore_case = True

    def __init__(self, check_bearer: Callable[[str], Optional[_Principal]]) -> None:
        super().__init__()
        self._check = check_bearer

    def check_bearer(self, token: str) -> Optional[_Principal]:
        return self._check(token)

    def unauthorized(self, request: JsonRequest) -> Reply:
        return _error("unauthorized")

    def not_found(self, request: JsonRequest) -> Reply:
        return _error("route_not_found")

    def method_not_allowed(self, request: JsonRequest, allowed: list[str]) -> Reply:
        return _error("method_not_allowed")

    def bad_json(self, request: JsonRequest) -> JsonError:
        return JsonError(*_answer("body_not_json"))

    def response_headers(
        self, status: int, content_type: str, length: int, extra: HeaderPairs
    ) -> list[tuple[str, str]]:
        # Always a Content-Length first, whatever the status (unknown_symbol_status may be anything).
        return [("Content-Length", str(length))] + ([("Content-Type", content_type)] if content_type else [])


class AlorEmulator:
    """Emulator of the ALOR test contour: ``oauth`` (``POST /refresh``) and ``api`` (md + commandapi).

    Everything is derived from ``seed`` and ``clock``, so two emulators with the same seed answer the same
    request sequence byte for byte. One lock guards all mutable state because the sandbox server is
    threaded. Construction does no I/O.

    Accounts: ``P039004`` (default; portfolios ``D39004 G39004 750039004 D39014 G39014 750039014``) and
    ``P039005`` (``D39005 G39005 750039005``). Each has exactly one valid refresh token at a time. A
    ``D`` portfolio trades the stock market (``FOND``: boards TQBR, TQOB, TQCB; and ``SPBX``), a ``G``
    portfolio the currency market (``CURR``: CETS), a ``7500`` portfolio the derivatives market
    (``FORTS``: RFUD). The instruments are in :mod:`.sandbox_data`.

    **The access token** is the guide's (Шаг 4): header ``{"alg":..,"typ":"JWT","cty":"JWT"}`` and the
    claims ``sub ent ein clientid azp agreements portfolios scope exp iat iss aud`` in that order, all
    strings except ``exp`` and ``iat`` (Unix seconds, from the emulator clock). **One deliberate
    deviation:** it is signed with HS256 under a per-seed key, and its header says so, where the
    contour signs with ES256. ES256 signatures are randomised, which would break byte-identical
    re-recording; clients never verify the signature (docs/reference/alor-api.md §2). So, unlike the
    contour's, two tokens minted in the same second for the same account and portfolios are
    byte-identical (they carry the same claims, so nothing can tell them apart). Tokens stay valid
    until ``exp`` even after the refresh token is rotated, as stateless JWTs do.

    **Error answers** are all in :data:`ERRORS`, each with its source (spec or assumption).

    Other choices where the public sources leave the behaviour open:

    * The order books are fixed per seed (only timestamps move): the resting liquidity, while the
      simulated last price (:mod:`.sandbox_market`) moves with the clock; sides are best-first; depth 1..50,
      default 20 (the spec). Every price is written with a fraction (``92345.0``), as the documented
      prices are JSON floats; volumes are integers (lots). Bond levels carry the yield ``y`` in Slim
      only, as in the spec's examples.
    * Request ids are deduplicated per login, across all create endpoints, forever. Every answer given
      after the request passed authentication and the portfolio check is remembered, 400s included, so
      a replay's ``oldResponse`` carries whatever the first status was.
    * A market order fills at once at the best opposite price; a marketable limit order at once at the
      last price, a working one when the price reaches it (:mod:`.sandbox_commands`); fills are booked in
      the account (:mod:`.sandbox_account`). Cancelling a filled or cancelled order,
      or with the wrong ``stop`` flag or exchange -> 400 not found. ``DELETE .../all`` without ``stop``
      cancels regular and stop orders alike.
    * Order lists honour ``format`` with the spec's Order and StopOrder schemas (field names and order
      per format). A stop order's ``exchangeOrderId`` is null until it triggers (when the simulated
      price meets its condition, checked before every read and command), its ``protectingSeconds``
      defaults to 15 (the spec's example). ``allowMargin`` is not checked. Modify (PUT, and POST for
      stops as the SDK sends) places the new order and cancels the original (:mod:`.sandbox_commands`).

    Test controls: the standard :class:`~integrations.sandbox.EmulatorControls`
    (:meth:`expire_access_tokens`, :meth:`revoke_refresh_tokens`, :meth:`counts`), and
    :meth:`issue_refresh_token`, :attr:`refresh_count`, :attr:`orders_placed`, :meth:`delay_next_command`.
    The HTTP plumbing (routing, body draining, Bearer check) is :class:`~integrations.sandbox.JsonApp`.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Optional[Clock] = None,
        access_token_ttl: float = 1800.0,
        unknown_symbol_status: int = 404,
    ) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._ttl = float(access_token_ttl)
        self._unknown_status = int(unknown_symbol_status)
        self._rng = random.Random(seed)
        self._seed = seed
        self._generation = 0  # bumped by expire_access_tokens: a new signing key
        self._key = _jwt_key(seed, 0)
        self._jwt_header = _b64(_JWT_HEADER)
        self._lock = threading.Lock()
        self._market = build_market(seed)
        self._accounts = {a.login: a for a in ACCOUNTS}
        self._markets_of = {p.name: MARKETS_OF_PORTFOLIO_KIND[p.kind] for a in ACCOUNTS for p in a.portfolios}
        self._azp = {a.login: f"{self._rng.getrandbits(80):020x}" for a in ACCOUNTS}
        self._refresh_of: dict[str, str] = {}
        self._login_of: dict[str, str] = {}
        for account in ACCOUNTS:
            self._rotate(account.login)
        self._verified: dict[str, _Principal] = {}
        self._refreshes = 0
        self._orders: dict[str, Order] = {}
        self._next_order = 18995978560 + self._rng.randrange(1_000_000)
        self._created = 0
        self._cancels = 0
        self._handled: dict[tuple[str, str], Outcome] = {}
        self._delay = 0.0
        self._oauth = _App(self._principal)
        self._oauth.add("POST", "/refresh", self._refresh)
        api = self._api = _App(self._principal)
        api.add("GET", "/md/v2/time", lambda request: _json(200, int(self._clock.now())))
        api.add("GET", "/md/v2/orderbooks/{exchange}/{symbol}", self._orderbook, auth=True)
        lists = "/md/v2/Clients/{exchange}/{portfolio}/{kind:orders|stoporders}"
        api.add("GET", lists, self._list_orders, auth=True)
        api.add("GET", lists + "/{order_id}", self._list_orders, auth=True)
        api.add("POST", _ORDERS_PATH + "/actions/{kind:" + "|".join(_KINDS) + "}", self._create, auth=True)
        api.add("DELETE", _ORDERS_PATH + "/{order_id:(?!actions$)[^/]*}", self._cancel, auth=True)
        # Issue 13: the simulated market, the account ledger, and the routes built on them.
        self.market = MarketSim(seed, self._clock, self._market)
        self.ledger = Ledger(ACCOUNTS)
        sandbox_market.install(api, self)
        sandbox_account.install(api, self)
        sandbox_commands.install(api, self)
        # Issue 14: the /ws data subscriptions (integrations_alor.sandbox_ws).
        from .sandbox_ws import WsService

        self.ws = WsService(self)

    def settle(self) -> None:
        """Bring orders up to the clock's now (stop orders, fills); the caller holds the lock."""
        sandbox_commands.settle(self, self._clock.now())

    # -- Emulator protocol and test controls --------------------------------------------------------

    def wsgi_apps(self) -> Mapping[str, WSGIApp]:
        return {"oauth": self._oauth, "api": self._api}

    def websocket_apps(self) -> Mapping[str, Callable[[Any], None]]:
        """The WebSocket services (issue 14): ``ws`` (data subscriptions, :mod:`.sandbox_ws`)."""
        return {"ws": self.ws.handler}

    def drop_ws_connections(self) -> int:
        """Drop every open ``/ws`` connection, as a network failure does; returns how many."""
        return self.ws.drop_connections()

    def refuse_next_subscription(self, status: int = 400, message: str = "Subscription refused") -> None:
        """Answer the next ``/ws`` subscribe request with the status frame ``status``/``message``."""
        self.ws.refuse_next_subscription(status, message)

    def credentials(self) -> dict[str, str]:
        with self._lock:
            return {"refresh_token": self._refresh_of[_DEFAULT_LOGIN]}

    def issue_refresh_token(self, login: Optional[str] = None) -> str:
        """Give ``login`` (the default account if None) a new refresh token; the old one stops working."""
        login = login or _DEFAULT_LOGIN
        with self._lock:
            if login not in self._accounts:
                raise KeyError(f"unknown login {login!r}")
            return self._rotate(login)

    def expire_access_tokens(self) -> None:
        """Every JWT issued so far gets 401 from now on, as an expired one does; new ones work.

        The signing key changes (so a JWT minted after this differs from one minted before in the
        same second); the first key, the one the cassettes were recorded with, is used until then.
        """
        with self._lock:
            self._generation += 1
            self._key = _jwt_key(self._seed, self._generation)
            self._verified.clear()

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far gets 403 on ``POST /refresh``, as a revoked one does.

        The refresh token is ALOR's only credential: the sandbox's :meth:`credentials` stop working
        (JWTs already issued keep working until they expire); :meth:`issue_refresh_token` gives a
        working one again.
        """
        with self._lock:
            self._login_of.clear()

    def counts(self) -> Counts:
        """``logins``: successful ``POST /refresh`` (ALOR has no separate refresh exchange, so
        ``refreshes`` is 0); ``commands``: orders created plus cancels that cancelled something (a
        replayed request id is not counted)."""
        with self._lock:
            return Counts(logins=self._refreshes, refreshes=0, commands=self._created + self._cancels)

    @property
    def refresh_count(self) -> int:
        """Successful ``POST /refresh`` calls so far (``counts().logins``)."""
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

    # -- OAuth and access tokens ----------------------------------------------------------------------

    def _rotate(self, login: str) -> str:
        old = self._refresh_of.get(login)
        if old is not None:
            self._login_of.pop(old, None)  # gone already after revoke_refresh_tokens
        h = f"{self._rng.getrandbits(128):032x}"
        token = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
        self._refresh_of[login] = token
        self._login_of[token] = login
        return token

    def _refresh(self, request: JsonRequest) -> Reply:
        query = _query(request)
        body: JsonObj = {}
        if request.body.strip():
            try:
                body = _ci(request.json())
            except JsonError:
                return _error("refresh_body_not_json")
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
            return _error("refresh_allowed_portfolios_malformed")
        now = self._clock.now()
        with self._lock:
            login = self._login_of.get(token) if isinstance(token, str) else None
            if login is None:
                return _error("refresh_rejected")
            account = self._accounts[login]
            if allowed and not set(allowed) <= set(account.names):
                return _error("refresh_allowed_portfolios_foreign")
            self._refreshes += 1
            # The guide's claims, in the guide's order and with its value types.
            claims = {
                "sub": login,
                "ent": "client",
                "ein": account.ein,
                "clientid": account.clientid,
                "azp": self._azp[login],
                "agreements": account.agreements,
                "portfolios": " ".join(p for p in account.names if not allowed or p in allowed),
                "scope": _SCOPE,
                "exp": int(now + self._ttl),
                "iat": int(now),
                "iss": _ISSUER,
                "aud": _AUDIENCE,
            }
        signing_input = f"{self._jwt_header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        return _json(200, {"AccessToken": f"{signing_input}.{self._sign(signing_input)}"})

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest())

    def _principal(self, token: str) -> Optional[_Principal]:
        """The Bearer check of every api endpoint except /md/v2/time (None: 401)."""
        # Verified tokens are cached so the hot path pays one dict lookup instead of an HMAC. Equal
        # tokens carry equal claims, so they share an entry.
        with self._lock:
            principal = self._verified.get(token)
            generation = self._generation
        if principal is None:
            principal = self._verify(token)
            if principal is None:
                return None
            with self._lock:
                if generation != self._generation:  # expire_access_tokens ran meanwhile
                    return None
                if len(self._verified) >= _TOKEN_CACHE_LIMIT:
                    self._verified.clear()
                self._verified[token] = principal
        return principal if principal.exp > self._clock.now() else None

    def _verify(self, token: str) -> Optional[_Principal]:
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii():
            return None
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        # A valid signature proves we minted the payload, so it decodes and carries every claim.
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return _Principal(claims["sub"], frozenset(claims["portfolios"].split()), int(claims["exp"]))

    # -- Market data ----------------------------------------------------------------------------------

    def _orderbook(self, request: JsonRequest) -> Reply:
        exchange, symbol = request.params["exchange"], request.params["symbol"]
        query = _query(request)
        depth = 20  # the spec's default
        if query.get("depth"):
            try:
                depth = int(query["depth"])
            except ValueError:
                depth = 0
            if not 1 <= depth <= MAX_DEPTH:
                return _error("depth_out_of_range")
        fmt = _format(query)
        if fmt is None:
            return _error("format_unknown")
        if exchange.upper() not in _EXCHANGES:
            return _error("exchange_unknown", exchange=exchange)
        book = self._lookup(exchange, symbol, query.get("instrumentgroup"))
        if book is None:
            if self._unknown_status != 200:
                return Reply(self._unknown_status)
            book = EMPTY_BOOK
        return Reply(200, book.render(fmt, depth, self._clock.now()), _JSON)

    def _lookup(self, exchange: str, symbol: str, group: Optional[str]) -> Optional[Book]:
        book = self._market.get((exchange.upper(), symbol.upper()))
        if book is None or book.instrument is None or (group and group.upper() != book.instrument.board):
            return None
        return book

    # -- Orders ---------------------------------------------------------------------------------------

    def _create(
        self, request: JsonRequest, execute: Optional[Callable[[_Principal, float], Outcome]] = None
    ) -> Reply:
        """Run an order command once per request id: a create, or ``execute(principal, now)`` (a
        modify, from :mod:`.sandbox_commands`). A repeat gets the first answer in ``oldResponse``."""
        # A 401 (before this) is not "handled": a retry with a fresh token must still place it.
        principal: _Principal = request.principal
        kind = request.params["kind"].lower()
        header = "X-REQID" if request.header("X-REQID") else "X-ALOR-REQID"
        reqid = request.header("X-REQID") or request.header("X-ALOR-REQID")
        if not reqid:
            return _error("request_id_missing")
        now = self._clock.now()
        with self._lock:
            key = (principal.login, reqid)
            old = self._handled.get(key)
            if old is not None:
                status, body = _answer("request_id_repeated", header=header)
                body["oldResponse"] = {"statusCode": old[0], "body": old[1]}
                return _json(status, body)
            self.settle()
            if execute is None:
                outcome = self._place(principal, kind, request, now)
            else:
                outcome = execute(principal, now)
            if outcome[0] == 403:
                return _reply(outcome)  # refused before trading: the id stays unused
            self._handled[key] = outcome
            delay, self._delay = self._delay, 0.0
        reply = _reply(outcome)
        if delay > 0:
            time.sleep(delay)  # real time on purpose, see delay_next_command
        return reply

    def _place(self, principal: _Principal, kind: str, request: JsonRequest, now: float) -> Outcome:
        """Validate and store one order (:func:`.sandbox_commands.place`); the caller holds the lock."""
        try:
            data = _ci(request.json(parse_float=Decimal))
        except JsonError:
            return _answer("body_not_json")
        return sandbox_commands.place(self, principal, kind, data, now)

    def _cancel(self, request: JsonRequest) -> Reply:
        principal: _Principal = request.principal
        order_id: Optional[str] = request.params["order_id"]
        if order_id is not None and order_id.lower() == "all":
            order_id = None
        query = _query(request)
        portfolio, exchange = query.get("portfolio"), (query.get("exchange") or "").upper()
        if not portfolio or exchange not in _EXCHANGES:
            return _error("cancel_parameters_missing")
        # SDK and ALORPY send True/False, so booleans are parsed case-insensitively.
        stop = {"true": True, "false": False}.get((query.get("stop") or "").lower())
        if stop is None and (order_id is not None or query.get("stop")):
            return _error("cancel_stop_invalid")
        if portfolio not in principal.portfolios:
            return _error("portfolio_forbidden")
        now = self._clock.now()
        with self._lock:
            self.settle()
            if order_id is None:
                candidates = list(self._orders.values())
            else:
                candidates = [self._orders[order_id]] if order_id in self._orders else []
            targets = [
                o for o in candidates if o.status == "working" and o.matches(portfolio, exchange, stop)
            ]
            if not targets:
                return _error("cancel_all_nothing" if order_id is None else "cancel_not_found")
            for order in targets:
                order.status, order.updated = "canceled", now
            self._cancels += 1
        return Reply(200, b"success", _TEXT)

    def _list_orders(self, request: JsonRequest) -> Reply:
        principal: _Principal = request.principal
        exchange, portfolio = request.params["exchange"].upper(), request.params["portfolio"]
        stop, order_id = request.params["kind"].lower() == "stoporders", request.params.get("order_id")
        if portfolio not in principal.portfolios:
            return _error("portfolio_forbidden")
        fmt = _format(_query(request))
        if fmt is None:
            return _error("format_unknown")
        with self._lock:
            self.settle()  # stop orders triggered and limit orders filled since the last read
            if order_id is not None:
                order = self._orders.get(order_id)
                if order is None or not order.matches(portfolio, exchange, stop):
                    return _error("order_not_found")
                return _json(200, order.to_json(fmt))
            items = [o.to_json(fmt) for o in self._orders.values() if o.matches(portfolio, exchange, stop)]
        return _json(200, items)
