"""Provider-agnostic wire protocols for plugins: :mod:`.jsonrpc` (a JSON-RPC 2.0 client codec and
its HTTP rules) and :mod:`.rest` (the REST status-to-error mapping)."""
