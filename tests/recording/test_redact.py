"""Redaction: headers, query, JSON at any depth, form bodies, JWTs, stable placeholders."""

from __future__ import annotations

import base64
import json

from integrations.recording import RecordingRules, Redactor, is_jwt, is_placeholder
from integrations.recording.redact import FAKE_SIGNATURE


def _jwt(claims: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(claims)}.c2lnbmF0dXJlLXRoYXQtaXMtcmVhbA"


RULES = RecordingRules(
    secret_headers=("Authorization",),
    secret_query=("token",),
    secret_fields=("token", "password"),
    jwt_claims_kept=("exp", "portfolios"),
)


def test_same_secret_same_placeholder_different_secret_different_one():
    r = Redactor([RULES])
    a, b = r.value("alpha-secret", "token"), r.value("beta-secret", "token")
    assert a == r.value("alpha-secret", "token") == "REDACTED-token-1"
    assert b == "REDACTED-token-2"
    assert is_placeholder(a)
    assert r.value(a, "token") == a  # placeholders are left alone (replayed requests)


def test_jwt_becomes_a_fake_jwt_that_keeps_only_allowed_claims():
    r = Redactor([RULES])
    fake = r.value(_jwt({"exp": 123, "portfolios": "D1 G1", "sub": "P039004", "n": 7}), "jwt")
    assert is_jwt(fake)
    assert fake.endswith("." + FAKE_SIGNATURE)
    claims = json.loads(base64.urlsafe_b64decode(fake.split(".")[1] + "=="))
    assert claims == {"exp": 123, "portfolios": "D1 G1", "sub": "REDACTED", "n": 0}


def test_json_any_depth_headers_query_and_echoes():
    r = Redactor([RULES])
    body = json.dumps(
        {"a": [{"b": {"Token": "tok-123456"}}], "note": "echo tok-123456", "password": "hunter22"}
    )
    out = r.body(body.encode(), "application/json").decode()
    assert "tok-123456" not in out and "hunter22" not in out
    assert r.headers({"Authorization": "Bearer tok-123456"}) == {"Authorization": "Bearer REDACTED-token-1"}
    assert "tok-123456" not in r.url("https://h/p?token=tok-123456&x=1")
    assert r.url("https://h/p?token=tok-123456&x=1").endswith("x=1")


def test_form_body_and_jwt_anywhere():
    r = Redactor([RULES])
    out = r.body(b"password=hunter22&user=me", "application/x-www-form-urlencoded").decode()
    assert "hunter22" not in out and "user=me" in out
    text = r.body(("token is " + _jwt({"exp": 1})).encode(), "text/plain").decode()
    assert text.endswith(FAKE_SIGNATURE)


def test_body_without_secrets_is_kept_byte_for_byte():
    r = Redactor([RULES])
    body = b'{"price": 281.10, "volume": 3}'
    assert r.body(body, "application/json") == body
