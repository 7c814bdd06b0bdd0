"""The environment the conformance rules run in: the provider's :class:`Profile`, a fresh sandbox
on a manual clock, a host with an audit wrapper (:class:`Kit`), and how a broken rule is reported
(:class:`ConformanceFailure`). The rules themselves are in :mod:`integrations.testing.conformance`."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type

import attrs

from .. import errors
from ..client import connect
from ..hookspecs import hookimpl
from ..host import Host
from ..provider import ProviderSpec
from ..runtime import ManualClock, SequentialIds
from ..tokens import Token

__all__ = ["ConformanceFailure", "ErrorReply", "Kit", "NotApplicable", "Profile", "kit"]


@attrs.frozen
class ErrorReply:
    """An error answer the suite injects (``Fault.respond``) and the error family it must become:
    :class:`~integrations.errors.ApiError` (the provider said no) or
    :class:`~integrations.errors.OperationFailed` (failed, retrying may help). ``text``, when set,
    must appear in the error's message (the provider's own words reach the caller)."""

    status: int
    body: Any
    family: Type[errors.IntegrationError]
    text: Optional[str] = None
    headers: Tuple[Tuple[str, str], ...] = (("Content-Type", "application/json"),)


@attrs.frozen
class Profile:
    """How the conformance suite exercises a provider: ``ProviderSpec(..., conformance=Profile(...))``
    or a ``"module:attr"`` reference to one.

    - ``read(client)``: a safe read through the facade (retried after a lost reply).
    - ``command(client, key)``: a command the provider deduplicates by its idempotency key, sent with
      ``key`` as its request id; ``None`` when the provider has none.
    - ``idempotency_header``: the header that carries the key (``"Idempotency-Key"``, ``"X-REQID"``).
    - ``unsafe(client)``: a command a repeat would perform twice (never retried); ``None`` if none.
    - ``error_replies``: the error answers to inject and their families; empty: built from the
      provider's declared error fields (``ProviderSpec.errors``) for a REST provider.
    - ``sandbox_options``: keyword options for the emulator factory.
    """

    read: Callable[[Any], Any]
    command: Optional[Callable[[Any, str], Any]] = None
    idempotency_header: Optional[str] = None
    unsafe: Optional[Callable[[Any], Any]] = None
    error_replies: Tuple[ErrorReply, ...] = ()
    sandbox_options: Mapping[str, Any] = attrs.field(factory=dict)


class ConformanceFailure(AssertionError):
    """A broken rule: ``rule``, what the rule expects, and the evidence seen."""

    def __init__(self, rule: str, expected: str, evidence: str) -> None:
        super().__init__(f"[{rule}] {expected}\n  evidence: {evidence}")
        self.rule = rule
        self.expected = expected
        self.evidence = evidence


class NotApplicable(Exception):
    """The rule does not apply to this provider (its profile has no such call)."""


# -- the environment of one rule ------------------------------------------------------------------


class _Audit:
    """A wrapper plugin: every token the provider's hooks hand out (for the secrets canary)."""

    def __init__(self) -> None:
        self.tokens: List[Token] = []
        self._lock = threading.Lock()

    def _keep(self, token: Any) -> Any:
        if isinstance(token, Token):
            with self._lock:
                self.tokens.append(token)
        return token

    @hookimpl(wrapper=True)
    def integrations_authenticate(self, ctx: Any, credentials: Any) -> Any:
        return self._keep((yield))

    @hookimpl(wrapper=True)
    def integrations_refresh(self, ctx: Any, token: Any) -> Any:
        return self._keep((yield))

    def secrets(self) -> List[str]:
        with self._lock:
            return [v for t in self.tokens for v in (t.access, t.refresh) if v]


@attrs.define
class Kit:
    """What a rule works with: the provider, its profile, a live sandbox on ``clock``, and a host
    with an audit wrapper. ``client()`` connects a new facade client to the sandbox."""

    provider: str
    spec: ProviderSpec
    profile: Profile
    host: Host
    sandbox: Any
    clock: ManualClock
    audit: _Audit

    def client(self, **options: Any) -> Any:
        args: Dict[str, Any] = {
            "base_urls": self.sandbox.base_urls,
            "credentials": self.sandbox.credentials,
            "clock": self.clock,
            "ids": SequentialIds(),
            "host": self.host,
            "timeout": 10,
        }
        args.update(options)
        return connect(self.provider, **args)

    def counts(self) -> Any:
        from ..sandbox import controls

        return controls(self.sandbox.emulator).counts()

    def controls(self) -> Any:
        from ..sandbox import controls

        return controls(self.sandbox.emulator)

    def mark(self) -> int:
        """The request log's length now: ``since(mark)`` gives what came after."""
        return len(self.sandbox.requests())

    def since(self, mark: int) -> List[Any]:
        seen: List[Any] = self.sandbox.requests()
        return seen[mark:]

    @property
    def refreshes(self) -> bool:
        """Whether the provider's plugin implements ``integrations_refresh``."""
        return self.host.hooks_for(self.provider).refresh is not None


def _renewals(before: Any, after: Any) -> int:
    return int(after.logins - before.logins) + int(after.refreshes - before.refreshes)


def _show(requests: Sequence[Any]) -> str:
    return ", ".join(
        f"{r.method} {r.service}{r.path}" + (f" ({r.fault.action})" if r.fault else "") for r in requests
    )


@contextlib.contextmanager
def kit(provider: str, *, host: Optional[Host] = None) -> Iterator[Kit]:
    """A :class:`Kit` for ``provider``: a fresh sandbox and a host with the audit wrapper."""
    from .. import sandbox as sandbox_module

    audit = _Audit()
    base = host or Host()
    checked = Host(
        group=base.group,
        strict=base.strict,
        load_entry_points=base._load_entry_points,
        plugins=(*base._extra, ("integrations-conformance-audit", audit)),
    )
    spec = checked.provider(provider)
    profile = spec.conformance_profile()
    if profile is None:
        raise ConformanceFailure(
            "profile",
            f"provider {provider!r} declares how the suite exercises it (ProviderSpec.conformance)",
            "ProviderSpec.conformance is None",
        )
    if spec.emulator is None:
        raise ConformanceFailure("profile", f"provider {provider!r} ships an emulator", "emulator is None")
    clock = ManualClock(float(int(time.time())))
    sb = sandbox_module.start(provider, host=checked, clock=clock, **dict(profile.sandbox_options))
    try:
        from ..sandbox import controls

        try:
            controls(sb.emulator)
        except errors.PluginError as exc:
            raise ConformanceFailure(
                "emulator-controls", "the emulator offers the standard controls", str(exc)
            ) from None
        yield Kit(provider, spec, profile, checked, sb, clock, audit)
    finally:
        sb.stop()
