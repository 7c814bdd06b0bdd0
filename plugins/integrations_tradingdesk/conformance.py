"""How the conformance suite exercises Trading Desk (``pytest --integrations-conformance=tradingdesk``)."""

from __future__ import annotations

import json
from typing import Any

from integrations import errors
from integrations.testing.conformance import ErrorReply, Profile


def _read(client: Any) -> Any:
    return client.campaigns()


def _create(client: Any) -> Any:
    # A create performed twice creates twice: never retried (the sandbox answers "method not found",
    # which is enough: the rule is about what the client sends).
    return client.rpc("Campaign.create", {"title": "conformance"})


def _rpc_error(code: int, message: str) -> str:
    # JSON-RPC 2.0, section 5: an error the server could not tie to a request carries "id": null.
    return json.dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": None})


_TEXT = "conformance canary: the provider refused"

# JSON-RPC errors travel in 200 answers; transport failures as HTTP statuses.
PROFILE = Profile(
    read=_read,
    unsafe=_create,
    error_replies=(
        ErrorReply(200, _rpc_error(-32602, _TEXT), errors.ApiError, _TEXT),
        ErrorReply(200, _rpc_error(-32601, _TEXT), errors.ApiError, _TEXT),
        ErrorReply(503, "Service Unavailable", errors.OperationFailed),
        ErrorReply(502, "<html>Bad Gateway</html>", errors.OperationFailed),
    ),
)
