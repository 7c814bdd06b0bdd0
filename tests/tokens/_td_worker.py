"""One process of the multi-process token store test (run as a script with the path of a JSON file of
its settings; prints its result as JSON). Shares nothing with its siblings but the token store."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List


def main() -> None:
    settings: Dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
    import integrations

    store_settings = settings["store"]
    store: Any
    if store_settings["kind"] == "file":
        from integrations.stores import FileTokenStore

        store = FileTokenStore(store_settings["path"])
    else:
        from integrations.stores import RedisTokenStore

        store = RedisTokenStore(
            store_settings["url"], provider="tradingdesk", account=store_settings["account"]
        )
    calls = 0
    failures: List[str] = []
    with integrations.connect(
        "tradingdesk", base_urls=settings["base_urls"], credentials=settings["credentials"], token_store=store
    ) as td:
        time.sleep(max(0.0, settings["start_at"] - time.time()))
        end = settings["start_at"] + settings["duration"]
        next_call = time.monotonic()
        while time.time() < end:
            try:
                td.campaigns(timeout=10)
            except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
                failures.append(f"{type(exc).__name__}: {exc}")
            calls += 1
            next_call += settings["interval"]
            time.sleep(max(0.0, next_call - time.monotonic()))
        manager = td.client.tokens
        stats = {"authentications": manager.authentications, "refreshes": manager.refreshes}
    print(json.dumps({"calls": calls, "failures": failures, **stats}))


if __name__ == "__main__":
    main()
