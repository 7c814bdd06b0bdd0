"""What Trading Desk's cassettes must never hold, and how its requests match on replay: plain data,
read by the recording harness only when it runs."""

from __future__ import annotations

from integrations.provider import RecordingRules

RECORDING = RecordingRules(
    secret_headers=("Authorization",),
    secret_fields=("email", "password", "access_token", "refresh_token", "token", "auth_token"),
    matcher="jsonrpc",
)
