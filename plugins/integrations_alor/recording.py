"""What ALOR's cassettes must never hold, and how its requests match on replay: plain data, read by
the recording harness only when it runs."""

from __future__ import annotations

from integrations.provider import RecordingRules

RECORDING = RecordingRules(
    secret_headers=("Authorization",),
    secret_query=("token",),
    secret_fields=("token", "refreshToken", "refresh_token", "AccessToken"),
    # Portfolios and agreements are what the client reads from the JWT; they grant nothing alone.
    # iss and aud are the same constants for every ALOR token (docs/seeds, "Шаг 4").
    jwt_claims_kept=("exp", "iat", "nbf", "ent", "scope", "portfolios", "agreements", "iss", "aud"),
    matcher="rest",
)
