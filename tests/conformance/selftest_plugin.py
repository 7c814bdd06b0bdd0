"""A small third-party-style REST plugin, with its emulator, for testing the conformance suite
itself: correct by default, and broken on purpose by naming a rule in ``BROKEN`` (the tests set it).

- ``"single-flight"``: the call hook handles a 401 itself by logging in again (each thread on its
  own) instead of raising ``AccessTokenRejected`` for the host's single-flight renewal;
- ``"idempotency-key"``: a new ``Idempotency-Key`` on every attempt instead of the request's id;
- ``"recording-secret"``: the recording rules leave out the ``renewal_key`` field;
- ``"error-family"``: a 400 is raised as ``ServiceUnavailable`` (retry may help) instead of an
  ``ApiError`` (the provider said no).

The provider's name is one no real plugin will use.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Any, Dict, Mapping, Optional, Set

import integrations
from integrations import ProviderSpec, RecordingRules, Token, errors, hookimpl
from integrations.protocols.rest import ErrorFields, raise_for_status
from integrations.runtime import Clock, SystemClock
from integrations.sandbox import Counts, JsonApp, JsonError, JsonRequest, Reply, route
from integrations.testing.conformance import Profile
from integrations.transport import Request

NAME = "integrations_selftest_conformance"
BROKEN: Set[str] = set()
ERRORS = ErrorFields(code="error.code", message="error.message")
ACCESS_TTL = 600.0


class SelftestClient(integrations.ProviderClient):
    provider_name = NAME

    def quote(self, symbol: str) -> Dict[str, Any]:
        if not symbol.isalpha():
            raise errors.ValidationError(f"symbol must be letters, not {symbol!r}")
        return self.client.call(Request("GET", f"/quotes/{symbol}", operation=f"{NAME}.quote")).json()

    def place_order(self, symbol: str, quantity: int, *, request_id: Optional[str] = None) -> Dict[str, Any]:
        # The server deduplicates orders by their Idempotency-Key: safe to retry with the same key.
        request = Request(
            "POST",
            "/orders",
            json={"symbol": symbol, "quantity": quantity},
            request_id=request_id or str(uuid.uuid4()),
            retry=True,
            operation=f"{NAME}.place_order",
        )
        return self.client.call(request).json()

    def cancel_everything(self) -> Dict[str, Any]:
        # Not deduplicated: a repeat would act twice, so never retried.
        return self.client.call(Request("POST", "/cancel-all", operation=f"{NAME}.cancel_all")).json()


def _token(body: Any, now: float) -> Token:
    return Token(
        access=body["session_key"],
        refresh=body["renewal_key"],
        expires_at=now + float(body["expires_in"]),
        issued_at=now,
    )


class Plugin:
    """The hook implementations (registered on a Host by the tests)."""

    @hookimpl
    def integrations_register_providers(self, register: Any) -> None:
        secret_fields = ("api_secret", "session_key") + (
            () if "recording-secret" in BROKEN else ("renewal_key",)
        )
        register(
            ProviderSpec(
                name=NAME,
                contours={"test": {"api": "https://api.selftest.invalid"}},
                credentials=(frozenset({"api_key", "api_secret"}),),
                facade=SelftestClient,
                reauthenticate=True,
                emulator=SelftestEmulator,
                recording=RecordingRules(secret_fields=secret_fields),
                errors=ERRORS,
                conformance=PROFILE,
            )
        )

    @hookimpl
    def integrations_authenticate(self, ctx: Any, credentials: Mapping[str, str]) -> Token:
        login = Request(
            "POST", "/auth/login", json=dict(credentials), authenticated=False, operation=f"{NAME}.login"
        )
        return _token(ctx.call(login).json(), ctx.clock.now())

    @hookimpl
    def integrations_refresh(self, ctx: Any, token: Token) -> Token:
        renew = Request(
            "POST",
            "/auth/refresh",
            json={"renewal_key": token.refresh},
            authenticated=False,
            operation=f"{NAME}.refresh",
        )
        try:
            return _token(ctx.call(renew).json(), ctx.clock.now())
        except errors.PermissionDenied as exc:
            # A refused renewal key is an authentication failure: the host then logs in again with
            # the credentials (reauthenticate=True), which a plain 403 would not make it do.
            raise errors.AuthenticationError(
                exc.message, provider=NAME, status=exc.status, code=exc.code
            ) from exc

    @hookimpl
    def integrations_call(self, ctx: Any, token: Optional[Token], request: Request, deadline: Any) -> Any:
        headers = {"Authorization": f"Bearer {token.access}"} if token is not None else {}
        if request.request_id is not None:
            key = str(uuid.uuid4()) if "idempotency-key" in BROKEN else request.request_id
            headers["Idempotency-Key"] = key
        response = ctx.send(request, deadline, headers=headers)
        if response.status == 401 and token is not None and "single-flight" in BROKEN:
            fresh = self.integrations_authenticate(ctx, {"api_key": "selftest-key", "api_secret": SECRET})
            response = ctx.send(request, deadline, headers={"Authorization": f"Bearer {fresh.access}"})
        if response.status == 400 and "error-family" in BROKEN:
            raise errors.ServiceUnavailable(f"{NAME}: HTTP 400", status=400, provider=NAME)
        raise_for_status(NAME, response, fields=ERRORS)
        return response


SECRET = "selftest-api-secret-7f3a9c"


class SelftestEmulator(JsonApp):
    """Login with a key and secret; rotating renewal keys; quotes; orders deduplicated by key."""

    def __init__(self, *, seed: int = 0, clock: Optional[Clock] = None) -> None:
        super().__init__()
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._sessions: Dict[str, float] = {}  # session key -> expiry
        self._renewals: Set[str] = set()
        self._orders: Dict[str, Dict[str, Any]] = {}
        self._logins = self._refreshes = self._commands = 0

    # -- the Emulator contract and the standard controls -----------------------------------------

    def wsgi_apps(self) -> Mapping[str, Any]:
        return {"api": self}

    def credentials(self) -> Dict[str, str]:
        return {"api_key": "selftest-key", "api_secret": SECRET}

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._sessions.clear()

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._renewals.clear()

    def counts(self) -> Counts:
        with self._lock:
            return Counts(logins=self._logins, refreshes=self._refreshes, commands=self._commands)

    # -- the API ---------------------------------------------------------------------------------

    def _issue(self) -> Reply:
        n = next(self._ids)
        session, renewal = f"sess-{uuid.UUID(int=n * 7919).hex}", f"renew-{uuid.UUID(int=n * 104729).hex}"
        self._sessions[session] = self._clock.now() + ACCESS_TTL
        self._renewals.add(renewal)
        return self.json(200, {"session_key": session, "renewal_key": renewal, "expires_in": ACCESS_TTL})

    @route("POST", "/auth/login")
    def login(self, request: JsonRequest) -> Reply:
        body = request.json()
        if body != self.credentials():
            raise JsonError(403, {"error": {"code": "BAD_CREDENTIALS", "message": "wrong key or secret"}})
        with self._lock:
            self._logins += 1
            return self._issue()

    @route("POST", "/auth/refresh")
    def refresh(self, request: JsonRequest) -> Reply:
        key = request.json().get("renewal_key")
        with self._lock:
            if key not in self._renewals:
                raise JsonError(403, {"error": {"code": "RENEWAL_REFUSED", "message": "unknown renewal key"}})
            self._renewals.discard(key)  # rotation: a renewal key works once
            self._refreshes += 1
            return self._issue()

    def check_bearer(self, token: str) -> Any:
        with self._lock:
            expiry = self._sessions.get(token)
            return token if expiry is not None and self._clock.now() < expiry else None

    @route("GET", "/quotes/{symbol}", auth=True)
    def quote(self, request: JsonRequest) -> Reply:
        symbol = request.params["symbol"]
        if symbol != symbol.upper():
            raise JsonError(404, {"error": {"code": "NO_SUCH_SYMBOL", "message": f"no symbol {symbol}"}})
        return self.json(200, {"symbol": symbol, "price": "101.25"})

    @route("POST", "/orders", auth=True)
    def order(self, request: JsonRequest) -> Reply:
        key = request.header("Idempotency-Key")
        with self._lock:
            if key and key in self._orders:
                return self.json(200, self._orders[key])  # the first attempt's answer
            self._commands += 1
            placed = {"order_id": str(1000 + self._commands), **request.json()}
            if key:
                self._orders[key] = placed
            return self.json(200, placed)

    @route("POST", "/cancel-all", auth=True)
    def cancel_all(self, request: JsonRequest) -> Reply:
        with self._lock:
            self._commands += 1
        return self.json(200, {"cancelled": True})


PROFILE = Profile(
    read=lambda client: client.quote("SBER"),
    command=lambda client, key: client.place_order("SBER", 1, request_id=key),
    idempotency_header="Idempotency-Key",
    unsafe=lambda client: client.cancel_everything(),
)
