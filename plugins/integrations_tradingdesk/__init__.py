"""The Trading Desk provider plugin (JSON-RPC 2.0). Work in progress: only the sandbox exists yet."""
