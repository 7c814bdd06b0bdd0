"""ALOR's description: contours, services, credentials, recording rules."""

from __future__ import annotations

from integrations.provider import RecordingRules

NAME = "alor"

CONTOURS = {
    "test": {"oauth": "https://oauthdev.alor.ru", "api": "https://apidev.alor.ru"},
    "prod": {"oauth": "https://oauth.alor.ru", "api": "https://api.alor.ru"},
}

CREDENTIALS = (frozenset({"refresh_token"}),)

# The access JWT lives about 30 minutes; ALOR names a token per request as abuse, so renew a minute
# before expiry and never sooner.
TOKEN_LEEWAY = 60.0
DEFAULT_LIFETIME = 1800.0

RECORDING = RecordingRules(
    secret_headers=("Authorization",),
    secret_query=("token",),
    secret_fields=("token", "refreshToken", "refresh_token", "AccessToken"),
    # Portfolios and agreements are what the client reads from the JWT; they grant nothing alone.
    jwt_claims_kept=("exp", "iat", "nbf", "ent", "scope", "portfolios", "agreements"),
    matcher="rest",
)
