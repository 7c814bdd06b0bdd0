"""What a provider contributes to recording: which values are secret, and how requests match."""

from __future__ import annotations

from typing import Tuple

import attrs

__all__ = ["RecordingRules"]


def _lower(values: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(v.lower() for v in values)


@attrs.frozen
class RecordingRules:
    """A provider's redaction table and matcher, applied to requests and responses alike.

    - ``secret_headers``, ``secret_query`` and ``secret_fields`` name headers, query parameters and
      form or JSON keys (at any depth) whose values are secret. Names are case-insensitive.
    - ``jwt_claims_kept`` lists the JWT claims a faked JWT keeps (the others become placeholders).
    - ``matcher`` is ``"rest"`` (method, path, sorted query and JSON body without secrets or request
      ids) or ``"jsonrpc"`` (the RPC method and params, ignoring ``id``).
    - ``request_id_headers`` and ``request_id_fields`` are never compared when matching.
    """

    secret_headers: Tuple[str, ...] = attrs.field(default=("authorization",), converter=_lower)
    secret_query: Tuple[str, ...] = attrs.field(default=(), converter=_lower)
    secret_fields: Tuple[str, ...] = attrs.field(default=(), converter=_lower)
    jwt_claims_kept: Tuple[str, ...] = ("exp", "iat", "nbf")
    matcher: str = attrs.field(default="rest", validator=attrs.validators.in_(("rest", "jsonrpc")))
    request_id_headers: Tuple[str, ...] = attrs.field(default=(), converter=_lower)
    request_id_fields: Tuple[str, ...] = attrs.field(default=(), converter=_lower)
