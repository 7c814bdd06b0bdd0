"""The scrubbing mechanism itself: known values in any form, secret shapes, URLs, exceptions."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote

import pytest

from integrations import errors
from integrations.scrub import PLACEHOLDER, SecretSet, redact_shapes, safe_url

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwiZXhwIjoxfQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_known_values_in_every_echoed_form():
    password = 'pa/ss"wörd with space'
    secrets = SecretSet([password])
    for form in (
        password,
        json.dumps(password)[1:-1],
        json.dumps(password)[1:-1].replace("/", "\\/"),
        quote(password, safe=""),
        quote(password, safe="").replace("%20", "+"),
    ):
        assert secrets.scrub_text(f"<{form}>") == f"<{PLACEHOLDER}>", form


def test_a_longer_secret_is_replaced_whole():
    secrets = SecretSet(["abcd", "abcdefgh"])
    assert secrets.scrub_text("x abcdefgh y") == f"x {PLACEHOLDER} y"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {JWT} here", f"token {PLACEHOLDER} here"),
        ("Authorization: Bearer 0123456789abcdef0123", f"Authorization: [REDACTED] {PLACEHOLDER}"),
        ('{"password": "hunter2", "user": "me"}', '{"password": "[REDACTED]", "user": "me"}'),
        ('{"refresh_token":"abc\\"def","x":1}', '{"refresh_token":"[REDACTED]","x":1}'),
        ("a=1&token=zzz&b=2", "a=1&token=[REDACTED]&b=2"),
        ("see https://bob:pw@example.com/x", f"see https://{PLACEHOLDER}@example.com/x"),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: [REDACTED] {PLACEHOLDER}"),
        ("nothing secret here: a Bearer token expired", "nothing secret here: a Bearer token expired"),
    ],
)
def test_secret_shapes_in_a_preview(text, expected):
    assert redact_shapes(text) == expected
    assert redact_shapes(expected) == expected  # idempotent


def test_messages_keep_their_words():
    # Field-shaped redaction is for previews only: a message keeps "token: expired".
    secrets = SecretSet()
    assert secrets.scrub_text("token: expired; basic validation failed") == (
        "token: expired; basic validation failed"
    )


def test_api_error_raw_is_a_redacted_preview():
    exc = errors.Rejected("no", raw='{"password": "hunter2", "jwt": "' + JWT + '"}' + "x" * 2000)
    assert "hunter2" not in exc.raw and JWT not in exc.raw and len(exc.raw) == 500


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@host:8443/a/b?token=1#f", "https://host:8443/a/b"),
        ("http://127.0.0.1:5000/api/x", "http://127.0.0.1:5000/api/x"),
        ("https://tok@host/", "https://host/"),
        ("/relative?q=1", "/relative"),
    ],
)
def test_safe_url(url, expected):
    assert safe_url(url) == expected


def test_url_user_info_is_secret():
    secrets = SecretSet()
    secrets.add_url("https://deploy:p%40ss-word@host/api")
    assert secrets.scrub_text("p@ss-word and p%40ss-word") == f"{PLACEHOLDER} and {PLACEHOLDER}"
    secrets.add_url("https://host/no-user-info")
    assert secrets.scrub_text("host deploy") == "host deploy"  # the user name alone is not secret


def test_exception_scrubbed_at_any_depth_and_along_its_chain():
    secrets = SecretSet(["s3cret-value"])
    inner = errors.ProtocolError("inner s3cret-value")
    try:
        try:
            raise inner
        except errors.ProtocolError as cause:
            raise errors.RpcError(
                -1,
                "outer s3cret-value",
                {"a": [{"b": ("s3cret-value",)}], "password": "whatever", "s3cret-value": 1},
                code="s3cret-value",
                raw="raw s3cret-value",
            ) from cause
    except errors.RpcError as exc:
        outer = exc
    outer.__notes__ = ["note s3cret-value"]
    secrets.scrub_exception(outer)
    assert "s3cret-value" not in repr(vars(outer)) + str(outer) + repr(outer.args)
    assert outer.data == {"a": [{"b": (PLACEHOLDER,)}], "password": PLACEHOLDER, PLACEHOLDER: 1}
    assert outer.__cause__ is inner and str(inner) == f"inner {PLACEHOLDER}"


def test_a_suppressed_context_is_dropped():
    secrets = SecretSet()
    try:
        try:
            json.loads("not json but a whole body")
        except ValueError:
            raise errors.ProtocolError("not JSON") from None
    except errors.ProtocolError as exc:
        caught = exc
    assert caught.__context__ is not None
    secrets.scrub_exception(caught)
    assert caught.__context__ is None and caught.__suppress_context__


def test_tokens_are_bounded_credentials_are_not():
    secrets = SecretSet(["credential-1"])
    for n in range(100):
        secrets.add_token(f"token-number-{n:04d}")
    text = " ".join(["credential-1", "token-number-0000", "token-number-0099"])
    assert secrets.scrub_text(text) == f"{PLACEHOLDER} token-number-0000 {PLACEHOLDER}"
    assert "credential-1" not in repr(secrets)


def test_adding_from_many_threads():
    secrets = SecretSet()
    barrier = threading.Barrier(8)

    def add(n: int) -> None:
        barrier.wait()
        for i in range(20):
            secrets.add(f"thread-{n}-value-{i}")

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert secrets.scrub_text("thread-7-value-19 thread-0-value-0") == f"{PLACEHOLDER} {PLACEHOLDER}"
