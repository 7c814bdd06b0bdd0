"""ALOR's description: contours, services, credentials, token lifetime, error body fields."""

from __future__ import annotations

from integrations.protocols.rest import ErrorFields

NAME = "alor"
DESCRIPTION = "ALOR Broker (REST + JWT)"

# "ws" is the WebSocket API for data subscriptions (docs/reference/alor-api.md §8).
CONTOURS = {
    "test": {
        "oauth": "https://oauthdev.alor.ru",
        "api": "https://apidev.alor.ru",
        "ws": "wss://apidev.alor.ru/ws",
    },
    "prod": {"oauth": "https://oauth.alor.ru", "api": "https://api.alor.ru", "ws": "wss://api.alor.ru/ws"},
}

CREDENTIALS = (frozenset({"refresh_token"}),)

# The access JWT lives about 30 minutes; ALOR names a token per request as abuse, so renew a minute
# before expiry and never sooner.
TOKEN_LEEWAY = 60.0
DEFAULT_LIFETIME = 1800.0

# ALOR's error bodies: {"code": "OrderToCancelNotFound", "message": "..."}
# (docs/reference/alor-api.md §5 and §7).
ERROR_FIELDS = ErrorFields(code="code", message="message")

# A subscription queues at most this many unread items before it drops the oldest (stream.py).
STREAM_MAX_PENDING = 10_000
