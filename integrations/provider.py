"""What a provider plugin registers (:class:`ProviderSpec`) and what its hooks receive
(:class:`CallContext`)."""

from __future__ import annotations

import importlib
import os
import re
from typing import TYPE_CHECKING, Any, Callable, FrozenSet, Mapping, Optional, Tuple, Type, Union

import attrs

from .errors import ConfigurationError, PluginError
from .protocols.rest import ErrorFields
from .runtime import Clock, IdSource
from .transport import Deadline, Request, Response, Transport

if TYPE_CHECKING:
    from .client import ProviderClient
    from .sandbox.emulator import EmulatorFactory

__all__ = ["CallContext", "ProviderSpec", "RecordingRules"]


def _lower(values: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(v.lower() for v in values)


@attrs.frozen
class RecordingRules:
    """A provider's redaction table and matcher for cassettes: plain data, read by the recording
    harness only when it runs (the runtime never imports the harness).

    - ``secret_headers``, ``secret_query`` and ``secret_fields`` name headers, query parameters and
      form or JSON keys (at any depth) whose values are secret. Names are case-insensitive.
    - ``jwt_claims_kept`` lists the JWT claims a faked JWT keeps (the others become placeholders).
    - ``matcher`` is ``"rest"`` (method, path, sorted query and JSON body without secrets or request
      ids) or ``"jsonrpc"`` (the RPC method and params, ignoring ``id``).
    - ``request_id_fields`` name query parameters and JSON keys that carry a request id: never
      compared when matching.
    """

    secret_headers: Tuple[str, ...] = attrs.field(default=("authorization",), converter=_lower)
    secret_query: Tuple[str, ...] = attrs.field(default=(), converter=_lower)
    secret_fields: Tuple[str, ...] = attrs.field(default=(), converter=_lower)
    jwt_claims_kept: Tuple[str, ...] = ("exp", "iat", "nbf")
    matcher: str = attrs.field(default="rest", validator=attrs.validators.in_(("rest", "jsonrpc")))
    request_id_fields: Tuple[str, ...] = attrs.field(default=(), converter=_lower)


def _frozen_contours(value: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return {contour: dict(urls) for contour, urls in value.items()}


# demo(client, write): shows a provider off against its sandbox; write prints one line.
DemoFunction = Callable[[Any, Callable[[str], None]], None]


def resolve(value: Any, what: str) -> Any:
    """``value`` itself, or the object a ``"module:attr"`` reference names (imported now).

    Raises :class:`~integrations.errors.PluginError` when the reference names nothing importable.
    """
    if not isinstance(value, str):
        return value
    module, _, attr = value.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PluginError(f"{what} {value!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc


@attrs.frozen
class ProviderSpec:
    """A provider's description, registered through ``integrations_register_providers``.

    - ``name``: the provider's name (``connect("alor")``); unique across plugins.

    - ``contours``: contour name → service name → base URL, e.g.
      ``{"test": {"oauth": "https://oauthdev.alor.ru", "api": "https://apidev.alor.ru"}}``.
    - ``credentials``: the accepted credential shapes; a credential dict must contain every field of
      at least one of them, e.g. ``(frozenset({"email", "password"}), frozenset({"token"}))``.
    - ``facade``: the typed client class (``AlorClient``…), built around a generic :class:`Client`;
      a :class:`~integrations.client.ProviderClient` subclass whose ``provider_name`` is ``name``, or
      a ``"module:attr"`` reference to it, imported on the first ``connect()`` (the host imports
      every installed plugin, so a plugin that defers its facade keeps ``import integrations``
      light for everyone).
    - ``reauthenticate``: when a refresh is rejected, authenticate again from the credentials
      (true when the credentials differ from the refresh token).
    - ``emulator``: the factory of the test-contour emulator, or a ``"module:attr"`` reference to it
      (imported only when a sandbox starts, so production never imports emulator code), or ``None``.
    - ``recording``: redaction rules and the matcher for cassettes, or ``None``.
    - ``demo``: ``demo(client, write)`` shows the provider off against its sandbox
      (``integrations demo``); ``write`` prints one line. A ``"module:attr"`` reference works too.
    - ``errors``: where the provider's REST error bodies keep the error code and message
      (:class:`~integrations.protocols.rest.ErrorFields`: dotted paths, several candidates, or a
      mapper), or ``None`` for top-level ``code`` and ``message``. The call hook passes it on:
      ``raise_for_status(ctx.provider, response, fields=ERRORS)``, with the same ``ERRORS`` given
      here as ``ProviderSpec(..., errors=ERRORS)`` (``None`` is accepted there too).
    - ``conformance``: how the conformance suite exercises the provider
      (:class:`integrations.testing.conformance.Profile`, or a ``"module:attr"`` reference to one),
      for ``pytest --integrations-conformance=NAME``; ``None`` without one.
    """

    name: str
    contours: Mapping[str, Mapping[str, str]] = attrs.field(converter=_frozen_contours)
    credentials: Tuple[FrozenSet[str], ...]
    facade: Union[Type[ProviderClient], str]
    description: str = ""
    default_contour: str = "test"
    reauthenticate: bool = False
    token_leeway: float = 60.0
    emulator: Union[EmulatorFactory, str, None] = None
    recording: Optional[RecordingRules] = None
    demo: Union[DemoFunction, str, None] = None
    errors: Optional[ErrorFields] = None
    conformance: Any = None

    def facade_class(self) -> Type[ProviderClient]:
        """The facade class, imported first if ``facade`` is a reference. Raises
        :class:`~integrations.errors.PluginError` if it cannot be imported."""
        facade: Type[ProviderClient] = resolve(self.facade, f"provider {self.name!r}'s facade")
        return facade

    def conformance_profile(self) -> Any:
        """The conformance profile, imported first if ``conformance`` is a reference; ``None``."""
        if self.conformance is None:
            return None
        return resolve(self.conformance, f"provider {self.name!r}'s conformance profile")

    def demo_function(self) -> Optional[DemoFunction]:
        """The demo, imported first if ``demo`` is a reference; ``None`` without one."""
        if self.demo is None:
            return None
        demo: DemoFunction = resolve(self.demo, f"provider {self.name!r}'s demo")
        return demo

    @property
    def services(self) -> Tuple[str, ...]:
        names: set[str] = set()
        for urls in self.contours.values():
            names.update(urls)
        return tuple(sorted(names))

    def base_urls(self, contour: str, overrides: Optional[Mapping[str, str]] = None) -> dict[str, str]:
        """The contour's base URLs with ``overrides`` applied. Raises :class:`ConfigurationError`."""
        if contour not in self.contours:
            raise ConfigurationError(
                f"provider {self.name!r} has no contour {contour!r}; "
                f"known: {', '.join(sorted(self.contours))}"
            )
        urls = dict(self.contours[contour])
        for service, url in (overrides or {}).items():
            if service not in urls:
                raise ConfigurationError(
                    f"provider {self.name!r} has no service {service!r}; known: {', '.join(sorted(urls))}"
                )
            # A streaming service (its contour URL is ws:// or wss://) takes a WebSocket URL.
            schemes = (
                ("ws://", "wss://")
                if urls[service].startswith(("ws://", "wss://"))
                else ("http://", "https://")
            )
            if not isinstance(url, str) or not url.startswith(schemes):
                kind = "a ws(s)" if schemes[0] == "ws://" else "an http(s)"
                raise ConfigurationError(f"base URL for service {service!r} must be {kind} URL")
            urls[service] = url
        return {service: url.rstrip("/") for service, url in urls.items()}

    def check_credentials(self, credentials: Optional[Mapping[str, Any]]) -> dict[str, str]:
        """Return the credentials if they fit one accepted shape. Never echoes a value."""
        given = {k: v for k, v in (credentials or {}).items() if v not in (None, "")}
        for shape in self.credentials:
            if shape <= given.keys():
                bad = [k for k in shape if not isinstance(given[k], str)]
                if bad:
                    raise ConfigurationError(f"credential field(s) {', '.join(sorted(bad))} must be strings")
                return {k: given[k] for k in shape}
        shapes = " or ".join("{" + ", ".join(sorted(s)) + "}" for s in self.credentials)
        raise ConfigurationError(
            f"provider {self.name!r} needs credentials {shapes}; got fields {sorted(given) or 'none'}"
        )

    def credential_variable(self, field: str) -> str:
        """The environment variable that holds a credential field: ``INTEGRATIONS_ALOR_REFRESH_TOKEN``."""
        parts = ("integrations", self.name, field)
        return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", part).upper() for part in parts)

    @property
    def keyring_service(self) -> str:
        """The keyring service that may hold this provider's credential fields: ``integrations-alor``
        (one entry per field, the field's name as the user name)."""
        return f"integrations-{self.name}"

    def credentials_from_env(
        self, environ: Optional[Mapping[str, str]] = None, *, use_keyring: bool = True
    ) -> dict[str, str]:
        """The first accepted credential shape whose variables are all set (see
        :meth:`credential_variable`); failing that, when the ``keyring`` package is installed, the
        first shape whose fields are all in the keyring (service :attr:`keyring_service`, user name
        the field). Raises :class:`ConfigurationError` naming the variables and the keyring entries."""
        env = os.environ if environ is None else environ
        for shape in self.credentials:
            values = {field: env.get(self.credential_variable(field), "") for field in shape}
            if all(values.values()):
                return self.check_credentials(values)
        wanted = " or ".join(
            " and ".join(sorted(self.credential_variable(f) for f in shape)) for shape in self.credentials
        )
        problem = ""
        if use_keyring:
            found, problem = self._credentials_from_keyring()
            if found is not None:
                return found
        raise ConfigurationError(f"provider {self.name!r}: set {wanted} in the environment{problem}")

    def _credentials_from_keyring(self) -> Tuple[Optional[dict[str, str]], str]:
        try:
            import keyring  # optional: consulted only when installed and the environment has nothing
        except ImportError:
            return None, ""
        where = f" or in the keyring (service {self.keyring_service!r}, one entry per field)"
        try:
            for shape in self.credentials:
                values = {f: keyring.get_password(self.keyring_service, f) or "" for f in shape}
                if all(values.values()):
                    return self.check_credentials(values), ""
        except Exception as exc:  # noqa: BLE001 - a keyring backend may fail in many ways
            # The backend's message only: it names the backend, never a stored value.
            return None, f"{where}; the keyring could not be read: {type(exc).__name__}"
        return None, where


@attrs.frozen
class CallContext:
    """What every hook receives about the client it serves. Holds no secret.

    ``call(request)`` performs an unauthenticated exchange (a login, a refresh) through the
    provider's call hook, so wrappers see it, within the deadline of the call that needed it.
    """

    provider: str
    contour: str
    base_urls: Mapping[str, str]
    transport: Transport
    clock: Clock
    ids: IdSource
    _exchange: Callable[[Request], Any] = attrs.field(repr=False, eq=False, alias="exchange")

    def url(self, service: str, path: str) -> str:
        """Join a service's base URL and a path."""
        try:
            base = self.base_urls[service]
        except KeyError:
            raise ConfigurationError(f"provider {self.provider!r} has no service {service!r}") from None
        return base + (path if path.startswith("/") else "/" + path)

    def send(
        self, request: Request, deadline: Deadline, *, headers: Optional[Mapping[str, str]] = None
    ) -> Response:
        """Send ``request`` as one HTTP exchange through :attr:`transport` within ``deadline``: its
        method, its service's base URL joined with its path, its params, JSON body and headers (with
        ``headers`` on top, for credentials and provider-specific ids). What a call hook usually does."""
        merged = {**request.headers, **headers} if headers else request.headers
        return self.transport.send(
            request.method,
            self.url(request.service, request.path),
            params=request.params,
            json=request.json,
            headers=merged,
            deadline=deadline,
            request_id=request.request_id,
            operation=request.operation,
        )

    def call(self, request: Request) -> Any:
        """Send ``request`` (``authenticated=False``) through the provider's call hook, with the
        host's retry rules and the current call's deadline; return what the hook returns."""
        return self._exchange(request)
