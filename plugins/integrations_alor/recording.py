"""What ALOR's cassettes must never hold, and how its requests match on replay: plain data, read by
the recording harness only when it runs."""

from __future__ import annotations

from integrations.provider import RecordingRules

RECORDING = RecordingRules(
    secret_headers=("Authorization",),
    secret_query=("token",),
    secret_fields=("token", "refreshToken", "refresh_token", "AccessToken"),
    # Portfolios and agreements are what the client reads from the JWT; they grant nothing alone.
    jwt_claims_kept=("exp", "iat", "nbf", "ent", "scope", "portfolios", "agreements"),
    matcher="rest",
)
