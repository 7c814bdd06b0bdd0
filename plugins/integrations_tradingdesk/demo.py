"""``integrations demo`` for Trading Desk: log in, user info, campaigns, and a month of statistics."""

from __future__ import annotations

import datetime as dt
from typing import Callable

from .api import TradingDeskClient

# The sandbox holds data for June to December 2023; in November a video and a banner campaign run.
MONTH = (dt.date(2023, 11, 1), dt.date(2023, 11, 30))


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def run(client: TradingDeskClient, write: Callable[[str], None]) -> None:
    info = client.user_info()
    token = client.client.tokens.peek()
    expiry = f"; access token valid until {_utc(token.expires_at)}" if token and token.expires_at else ""
    write(f"authenticated as {info.email} (User.auth){expiry}")
    created = info.created_at.isoformat() if info.created_at else "unknown"
    groups = ", ".join(g.title for g in info.groups)
    write(f"groups: {groups}; {len(info.methods)} methods; created {created}")

    campaigns = client.campaigns()
    write("")
    write(f"campaigns ({len(campaigns)})")
    write(f"{'id':>7}  {'status':<10} title")
    for campaign in campaigns:
        write(f"{campaign.id!s:>7}  {campaign.status or '-':<10} {campaign.title or ''}")

    first, last = MONTH
    report = client.coverage_and_inspection(first, last)
    write("")
    write(f"coverage and inspection, {first} to {last}")
    write(f"{'campaign':<34} {'shows':>9} {'clicks':>7} {'ctr %':>6} {'spent':>11}")
    for name, row in report.items():
        write(f"{name:<34} {row.show:>9} {row.click:>7} {row.ctr:>6.3f} {row.spent:>11.2f}")

    tree = client.target_statistics("geo_id", first, last)
    write("")
    write(f"geo statistics (Statistic.getTarget geo_id), {first} to {last}: region totals")
    write(f"{'region':<40} {'shows':>9} {'clicks':>7} {'cpm':>8}")
    for path, node in tree.walk():
        if node.total is not None:
            write(f"{' / '.join(path):<40} {node.total.show:>9} {node.total.click:>7} {node.total.cpm:>8.2f}")
