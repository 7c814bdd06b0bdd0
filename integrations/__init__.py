"""integrations: one synchronous plugin host for trading APIs.

>>> import integrations
>>> from integrations_alor import AlorClient
>>> with integrations.connect(AlorClient, credentials={"refresh_token": "..."}) as alor:
...     book = alor.orderbook("MOEX", "SBER", depth=5)
"""

from __future__ import annotations

from .client import Client, ProviderClient, connect
from .errors import (
    AccessTokenRejected,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectionError,  # noqa: A004 - ours subclasses TransportError; the builtin stays reachable as builtins.ConnectionError
    IntegrationError,
    NotFound,
    OperationFailed,
    PermissionDenied,
    PluginError,
    ProtocolError,
    RateLimited,
    Rejected,
    RpcError,
    ServiceUnavailable,
    Timeout,
    TransportError,
    ValidationError,
)
from .hookspecs import hookimpl
from .host import Host, PluginLoadError, RegisteredProvider, default_host
from .protocols.rest import ErrorFields, raise_for_status
from .provider import CallContext, ProviderSpec, RecordingRules
from .runtime import Clock, IdSource, ManualClock, SequentialIds, SystemClock, UuidIds
from .tokens import MemoryTokenStore, Token, TokenStore
from .transport import Deadline, Request, Response, Timeouts

__version__ = "0.1.0"

__all__ = [
    "AccessTokenRejected",
    "ApiError",
    "AuthenticationError",
    "CallContext",
    "Client",
    "Clock",
    "ConfigurationError",
    "ConnectionError",
    "Deadline",
    "ErrorFields",
    "Host",
    "IdSource",
    "IntegrationError",
    "ManualClock",
    "MemoryTokenStore",
    "NotFound",
    "OperationFailed",
    "PermissionDenied",
    "PluginError",
    "PluginLoadError",
    "ProtocolError",
    "ProviderClient",
    "ProviderSpec",
    "RateLimited",
    "RecordingRules",
    "RegisteredProvider",
    "Rejected",
    "Request",
    "Response",
    "RpcError",
    "SequentialIds",
    "ServiceUnavailable",
    "SystemClock",
    "Timeout",
    "Timeouts",
    "Token",
    "TokenStore",
    "TransportError",
    "UuidIds",
    "ValidationError",
    "__version__",
    "connect",
    "default_host",
    "hookimpl",
    "raise_for_status",
]
