"""Trading Desk's description: contours, the endpoint, credentials, auth error codes.

Facts come from ``docs/reference/tradingdesk-api.md``; where the real server is unknown, the values
here follow that document's "client rule" column.
"""

from __future__ import annotations

from integrations.protocols.jsonrpc import STANDARD_CODES, AuthErrorRule

NAME = "tradingdesk"
DESCRIPTION = "Trading Desk / adcloud (JSON-RPC 2.0)"

# The only endpoint the public documentation names (docs/reference/tradingdesk-api.md §1, S1/S2).
# Whether a separate production host exists is unknown, so no "prod" contour is registered rather
# than a guessed one.
CONTOURS = {
    "test": {"api": "https://tdm4.adcloud.org"},
}

# Every call is POST {api}/api/v2/?method=<Namespace.method>; the query parameter lets the server
# (and its access logs) see the method without parsing the body.
PATH = "/api/v2/"
QUERY_PARAMETER = "method"

# Email and password log in with User.auth; a refresh token alone (say, from a shared TokenStore)
# starts with User.tokenRefresh; an administrator's long-lived token is used as is.
CREDENTIALS = (frozenset({"email", "password"}), frozenset({"refresh_token"}), frozenset({"token"}))

# The two methods that run without a Bearer token.
UNAUTHENTICATED_METHODS = frozenset({"User.auth", "User.tokenRefresh"})

# Access tokens live days (7 in the sandbox), so renewing five minutes early costs nothing; the
# TokenManager still keeps the margin at most a tenth of a short-lived token's lifetime.
TOKEN_LEEWAY = 300.0

UNAUTHORIZED = -32001
BAD_REFRESH_TOKEN = -32002
ACCESS_DENIED = -32003
BAD_LOGIN = -32004
CAMPAIGN_NOT_FOUND = -32005

# How a rejected *access* token is recognised in a JSON-RPC error: code -32001 (the sandbox's; the
# real code is unpublished), or an unknown code whose message mentions a token or authorisation.
# Codes known to mean something else never count, whatever their message says ("Invalid refresh
# token" is an answer to User.tokenRefresh, not a rejected access token). Reassign this attribute
# (e.g. ``attrs.evolve(provider.AUTH_ERRORS, codes=frozenset({-32001, -32010}))``) to adapt to the
# real server: the call hook reads it on every call.
AUTH_ERRORS = AuthErrorRule(
    codes=frozenset({UNAUTHORIZED}),
    other_known_codes=STANDARD_CODES | {BAD_REFRESH_TOKEN, ACCESS_DENIED, BAD_LOGIN, CAMPAIGN_NOT_FOUND},
)
