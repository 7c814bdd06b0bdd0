"""A JSON-RPC reply is parsed and validated exactly once: the call hook returns decoded outcomes, and
the facade builds its models from them."""

from __future__ import annotations

import json
import types
from typing import Any, List

from integrations.protocols import jsonrpc


def test_a_reply_is_parsed_and_validated_once_per_call(td_live: Any, monkeypatch: Any) -> None:
    td_live.user_info()  # log in first: the count below is for one call
    parses: List[bytes] = []
    decodes: List[Any] = []
    real_decode = jsonrpc.decode

    def loads(data: Any, **kwargs: Any) -> Any:
        parses.append(data)
        return json.loads(data, **kwargs)

    def decode(*args: Any, **kwargs: Any) -> Any:
        decodes.append(args)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jsonrpc, "json", types.SimpleNamespace(loads=loads))
    monkeypatch.setattr(jsonrpc, "decode", decode)
    campaigns = td_live.campaigns()
    assert campaigns
    assert len(parses) == 1  # the reply's body, parsed once...
    assert len(json.loads(parses[0])["result"]) == len(campaigns)
    assert len(decodes) == 1  # ...and validated as JSON-RPC once
