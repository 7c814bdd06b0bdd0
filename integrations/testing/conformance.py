"""The conformance suite: the rules every provider plugin keeps, checked against its own emulator.

Run it where the plugin is installed: ``pytest --integrations-conformance=NAME``. Each rule is a
function ``check_<rule>(kit)`` that raises :class:`ConformanceFailure` naming the rule, what was
expected and the evidence; :data:`RULES` lists them. The suite drives the provider through its
facade with the calls its :class:`Profile` names (``ProviderSpec.conformance``), and the emulator
through the standard controls (:class:`~integrations.sandbox.EmulatorControls`) and the sandbox's
fault injection. Every rule starts a fresh sandbox, on a manual clock shared with the client.
"""

from __future__ import annotations

import json
import logging
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import errors
from ..host import Host
from ..provider import ProviderSpec
from ._kit import ConformanceFailure, ErrorReply, Kit, NotApplicable, Profile, _renewals, _show, kit
from .threads import run_in_threads

__all__ = ["RULES", "ConformanceFailure", "ErrorReply", "Kit", "NotApplicable", "Profile", "check", "kit"]

THREADS = 16


# -- the rules -------------------------------------------------------------------------------------


def check_lazy_authentication(k: Kit) -> None:
    """connect() sends nothing; the first call logs in once; the next call reuses the token."""
    before, mark = k.counts(), k.mark()
    with k.client() as client:
        if k.since(mark):
            raise ConformanceFailure(
                "lazy-authentication", "connect() sends nothing", f"sent: {_show(k.since(mark))}"
            )
        k.profile.read(client)
        k.profile.read(client)
    after = k.counts()
    if after.logins - before.logins != 1 or after.refreshes != before.refreshes:
        raise ConformanceFailure(
            "lazy-authentication",
            "two calls on a new client log in exactly once and do not refresh",
            f"logins +{after.logins - before.logins}, refreshes +{after.refreshes - before.refreshes}; "
            f"requests: {_show(k.since(mark))}",
        )


def _in_threads(fn: Callable[[], Any]) -> List[BaseException]:
    return run_in_threads(fn, THREADS)[1]


def check_single_flight(k: Kit) -> None:
    """16 threads on a new client log in once; after the access token is rejected, they renew once."""
    with k.client() as client:
        before = k.counts()
        failures = _in_threads(lambda: k.profile.read(client))
        after = k.counts()
        if failures or after.logins - before.logins != 1:
            raise ConformanceFailure(
                "single-flight",
                f"{THREADS} threads calling a new client at once log in exactly once, and all succeed",
                f"logins +{after.logins - before.logins}, failures: {[repr(f) for f in failures[:3]]}",
            )
        k.controls().expire_access_tokens()
        before = k.counts()
        failures = _in_threads(lambda: k.profile.read(client))
        after = k.counts()
        if failures or _renewals(before, after) != 1:
            raise ConformanceFailure(
                "single-flight",
                f"{THREADS} threads whose access token was rejected renew it exactly once, and all succeed",
                f"renewals +{_renewals(before, after)}, failures: {[repr(f) for f in failures[:3]]}",
            )


def check_rejected_token(k: Kit) -> None:
    """A rejected access token costs one renewal and one retry of the call."""
    with k.client() as client:
        k.profile.read(client)
        k.controls().expire_access_tokens()
        before, mark = k.counts(), k.mark()
        try:
            k.profile.read(client)
        except errors.IntegrationError as exc:
            raise ConformanceFailure(
                "rejected-token",
                "a call whose access token was rejected renews it and succeeds (the plugin raises "
                "AccessTokenRejected for the provider's rejection)",
                f"{type(exc).__name__}: {exc}",
            ) from None
        after, seen = k.counts(), k.since(mark)
    renewals = _renewals(before, after)
    calls = len(seen) - renewals
    if renewals != 1 or calls != 2:
        raise ConformanceFailure(
            "rejected-token",
            "one renewal and one retry: the rejected call, the renewal, the call again",
            f"renewals +{renewals}, requests: {_show(seen)}",
        )


def check_rotation(k: Kit) -> None:
    """Two renewals in a row: each refresh uses the newest refresh token (a rotating provider
    refuses an old one), so neither falls back to a login."""
    with k.client() as client:
        k.profile.read(client)
        before = k.counts()
        try:
            for _ in range(2):
                k.controls().expire_access_tokens()
                k.profile.read(client)
            failure = ""
        except errors.IntegrationError as exc:
            failure = f"; a call failed: {type(exc).__name__}: {exc}"
        after = k.counts()
    refreshed = after.refreshes - before.refreshes
    logged_in = after.logins - before.logins
    if failure or refreshed + logged_in != 2 or (refreshed and logged_in):
        raise ConformanceFailure(
            "rotation",
            "two renewals in a row are two refreshes, each with the newest refresh token (or, for "
            "a provider without a refresh exchange, two logins)",
            f"refreshes +{refreshed}, logins +{logged_in}{failure}",
        )


def check_fallback(k: Kit) -> None:
    """A refused refresh token falls back to the credentials when the spec allows
    (``reauthenticate``); otherwise the call raises AuthenticationError, without a storm of logins."""
    with k.client() as client:
        k.profile.read(client)
        k.controls().revoke_refresh_tokens()
        k.controls().expire_access_tokens()
        before, mark = k.counts(), k.mark()
        try:
            k.profile.read(client)
            outcome: Optional[BaseException] = None
        except errors.IntegrationError as exc:
            outcome = exc
        after, seen = k.counts(), k.since(mark)
    if k.refreshes and k.spec.reauthenticate:
        if outcome is not None or after.logins - before.logins != 1:
            raise ConformanceFailure(
                "fallback",
                "with reauthenticate=True, a refused refresh token falls back to one login with the "
                "credentials and the call succeeds (the refresh hook raises AuthenticationError when "
                "the provider refuses the refresh token)",
                f"logins +{after.logins - before.logins}, outcome: {outcome!r}, requests: {_show(seen)}",
            )
    elif not isinstance(outcome, errors.AuthenticationError) or len(seen) > 4:
        raise ConformanceFailure(
            "fallback",
            "a refused refresh token (no fallback to credentials) raises AuthenticationError at once",
            f"outcome: {outcome!r}; {len(seen)} requests: {_show(seen)}",
        )


def check_rate_limit(k: Kit) -> None:
    """429 with Retry-After: waited out and retried within the budget; beyond it, RateLimited at once."""
    from ..sandbox import Fault

    with k.client() as client:
        k.profile.read(client)
        mark = k.mark()
        k.sandbox.faults.add(Fault.respond(429, {"Retry-After": "1"}, times=1))
        try:
            k.profile.read(client)
        except errors.IntegrationError as exc:
            raise ConformanceFailure(
                "rate-limit", "a 429 with Retry-After: 1 is waited out and the call retried", repr(exc)
            ) from None
        if len(k.since(mark)) != 2:
            raise ConformanceFailure(
                "rate-limit", "a 429 costs one retry", f"requests: {_show(k.since(mark))}"
            )
        mark = k.mark()
        k.sandbox.faults.add(Fault.respond(429, {"Retry-After": "3600"}, times=1))
        try:
            k.profile.read(client)
            outcome: Optional[BaseException] = None
        except errors.IntegrationError as exc:
            outcome = exc
        if (
            not isinstance(outcome, errors.RateLimited)
            or outcome.retry_after != 3600
            or len(k.since(mark)) != 1
        ):
            raise ConformanceFailure(
                "rate-limit",
                "a Retry-After beyond the call's budget raises RateLimited(retry_after=3600) at once",
                f"outcome: {outcome!r}, requests: {_show(k.since(mark))}",
            )


def check_idempotent_retry(k: Kit) -> None:
    """A deduplicated command whose reply was lost is retried with the same key, executed once."""
    from ..sandbox import Fault

    if k.profile.command is None:
        raise NotApplicable("the profile names no deduplicated command")
    with k.client() as client:
        k.profile.read(client)
        before, mark = k.counts(), k.mark()
        k.sandbox.faults.add(Fault.drop_reply(times=1))
        key = "c0ffee00-0000-4000-8000-00000000c0de"
        try:
            k.profile.command(client, key)
        except errors.IntegrationError as exc:
            raise ConformanceFailure(
                "idempotent-retry",
                "a command the provider deduplicates is retried after a lost reply and succeeds",
                repr(exc),
            ) from None
        after, seen = k.counts(), k.since(mark)
    header = k.profile.idempotency_header
    keys = [r.headers.get(header) for r in seen] if header else []
    executed = after.commands - before.commands
    if executed != 1 or len(seen) != 2 or (header and len(set(keys)) != 1):
        raise ConformanceFailure(
            "idempotent-retry",
            "the retry carries the same idempotency key and the command is executed once",
            f"executed {executed} times; {len(seen)} requests; {header or 'keys'}: {keys}",
        )


def check_unsafe_not_retried(k: Kit) -> None:
    """A command a repeat would perform twice is sent once; a lost reply is 'outcome unknown'."""
    from ..sandbox import Fault

    if k.profile.unsafe is None:
        raise NotApplicable("the profile names no unsafe command")
    with k.client() as client:
        k.profile.read(client)
        mark = k.mark()
        k.sandbox.faults.add(Fault.drop_reply(times=1))
        try:
            k.profile.unsafe(client)
            outcome: Optional[BaseException] = None
        except errors.IntegrationError as exc:
            outcome = exc
        seen = k.since(mark)
    if len(seen) != 1 or not isinstance(outcome, errors.OperationFailed) or not outcome.outcome_unknown:
        raise ConformanceFailure(
            "unsafe-not-retried",
            "an unsafe command whose reply was lost is sent once and raises OperationFailed "
            "with outcome_unknown=True",
            f"outcome: {outcome!r}; requests: {_show(seen)}",
        )


def check_deadline(k: Kit) -> None:
    """A silent server ends the call with Timeout within its budget."""
    from ..sandbox import Fault

    with k.client(timeout=1) as client:
        k.profile.read(client)
        k.sandbox.faults.add(Fault.silence(times=1))
        started = time.monotonic()
        try:
            k.profile.read(client)
            outcome: Optional[BaseException] = None
        except errors.IntegrationError as exc:
            outcome = exc
        elapsed = time.monotonic() - started
    if not isinstance(outcome, errors.Timeout) or elapsed > 2.5:
        raise ConformanceFailure(
            "deadline",
            "a call with timeout=1 against a silent server raises Timeout within the budget",
            f"outcome: {outcome!r} after {elapsed:.2f} s",
        )


def _put(body: Dict[str, Any], path: str, value: str) -> None:
    *parents, last = path.split(".")
    node = body
    for name in parents:
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            return  # the message path runs through the code's value: keep the code
        node = child
    node.setdefault(last, value)


def _default_error_replies(spec: ProviderSpec) -> Tuple[ErrorReply, ...]:
    """400, 403, 404 and 503 answers in the provider's declared error shape (its first paths)."""
    from ..protocols.rest import ErrorFields

    fields = spec.errors or ErrorFields()
    if fields.mapper is not None:
        raise ConformanceFailure(
            "profile",
            "a provider whose error fields use a mapper lists its error answers (Profile.error_replies)",
            "Profile.error_replies is empty",
        )
    text = "conformance canary: the provider refused"
    body: Dict[str, Any] = {}
    _put(body, fields.message[0], text)
    _put(body, fields.code[0], "CONFORMANCE")
    return (
        ErrorReply(400, body, errors.ApiError, text),
        ErrorReply(404, body, errors.ApiError, text),
        ErrorReply(403, body, errors.ApiError, text),
        ErrorReply(503, body, errors.OperationFailed),
    )


def check_error_mapping(k: Kit) -> None:
    """Error answers become the right family, with the provider's message."""
    from ..sandbox import Fault

    replies = k.profile.error_replies or _default_error_replies(k.spec)
    with k.client() as client:
        k.profile.read(client)
        for reply in replies:
            body = reply.body if isinstance(reply.body, (bytes, str)) else json.dumps(reply.body)
            handle = k.sandbox.faults.add(Fault.respond(reply.status, reply.headers, body))
            try:
                k.profile.read(client)
                outcome: Optional[BaseException] = None
            except errors.IntegrationError as exc:
                outcome = exc
            finally:
                k.sandbox.faults.remove(handle)
            wrong = not isinstance(outcome, reply.family) or (
                reply.text is not None and reply.text not in str(outcome)
            )
            if wrong:
                words = f" carrying {reply.text!r}" if reply.text else ""
                raise ConformanceFailure(
                    "error-mapping",
                    f"HTTP {reply.status} {str(body)[:120]} raises {reply.family.__name__}{words}",
                    f"got {type(outcome).__name__ if outcome else 'no error'}: {outcome}",
                )


def check_secrets(k: Kit) -> None:
    """No credential or token value reaches a cassette, a log line, a repr or an error."""
    from ..recording.lint import DeclaredSecrets, check_paths
    from ..recording.session import recorded_session
    from ..sandbox import Fault

    records: List[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(logging.DEBUG)
    logger = logging.getLogger("integrations")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    seen: List[Tuple[str, str]] = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            cassette = Path(directory) / "canary.yaml"
            with recorded_session(
                k.provider,
                cassette,
                mode="rewrite",
                host=k.host,
                sandbox_options=dict(k.profile.sandbox_options),
            ) as session:
                client, sb = session.client, session.sandbox
                secrets = [v for v in sb.credentials.values() if v]
                k.profile.read(client)
                from ..sandbox import controls

                controls(sb.emulator).expire_access_tokens()
                k.profile.read(client)  # a renewal on the cassette too
                if k.profile.command is not None:
                    k.profile.command(client, "c0ffee00-0000-4000-8000-0000000000aa")
                tokens = k.audit.secrets()
                echo = json.dumps({"message": " ".join(secrets + tokens), "code": "ECHO"})
                sb.faults.add(Fault.respond(400, (("Content-Type", "application/json"),), echo, times=1))
                try:
                    k.profile.read(client)
                except errors.IntegrationError as exc:
                    seen.append(("the error's str()", str(exc)))
                    seen.append(("the error's repr()", repr(exc)))
                    seen.append(("the pickled error", pickle.dumps(exc).decode("latin-1")))
                seen.append(("the client's repr()", repr(client)))
                seen.append(("the token's repr()", repr(client.client.tokens.peek())))
            seen.append(("the cassette", cassette.read_text()))
            findings = check_paths([cassette], declared=DeclaredSecrets.from_host(k.host))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    seen.append(("the log", "\n".join(records)))
    secrets = [v for v in secrets + k.audit.secrets() if len(v) >= 6]
    for where, text in seen:
        for value in secrets:
            if value in text:
                raise ConformanceFailure(
                    "secrets",
                    "no credential or token value appears in cassettes, logs, reprs or errors",
                    f"{where} holds a secret ({value[:3]}…, {len(value)} characters)",
                )
    if findings:
        raise ConformanceFailure(
            "secrets", "integrations cassettes check finds nothing in a recorded cassette", str(findings[0])
        )


#: Every rule, in the order the suite runs them: name -> check.
RULES: Dict[str, Callable[[Kit], None]] = {
    "lazy-authentication": check_lazy_authentication,
    "single-flight": check_single_flight,
    "rejected-token": check_rejected_token,
    "rotation": check_rotation,
    "fallback": check_fallback,
    "rate-limit": check_rate_limit,
    "idempotent-retry": check_idempotent_retry,
    "unsafe-not-retried": check_unsafe_not_retried,
    "deadline": check_deadline,
    "error-mapping": check_error_mapping,
    "secrets": check_secrets,
}


def check(provider: str, rule: str, *, host: Optional[Host] = None) -> bool:
    """Check one rule against ``provider`` (a fresh sandbox). Returns False when the rule does not
    apply (the profile has no such call); raises :class:`ConformanceFailure` when it is broken."""
    with kit(provider, host=host) as k:
        try:
            RULES[rule](k)
        except NotApplicable:
            return False
    return True
