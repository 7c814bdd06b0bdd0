"""``integrations demo`` for ALOR: an order book, a market order, a limit order and its cancellation,
then the account: positions and the summary after those orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

from .api import AlorClient


def run(client: AlorClient, write: Callable[[str], None]) -> None:
    account = client.account
    portfolio = account.portfolios[0]
    write(f"authenticated as {account.login}; portfolios: {', '.join(account.portfolios)}")

    book = client.orderbook("MOEX", "SBER", depth=5)
    write("")
    write("MOEX:SBER order book (top 5)")
    write(f"{'bid volume':>12} {'bid':>10} | {'ask':<10} {'ask volume':<12}")
    for i in range(max(len(book.bids), len(book.asks))):
        bid = book.bids[i] if i < len(book.bids) else None
        ask = book.asks[i] if i < len(book.asks) else None
        left = f"{bid.volume:>12} {bid.price:>10}" if bid else " " * 23
        right = f"{ask.price:<10} {ask.volume:<12}" if ask else ""
        write(f"{left} | {right}".rstrip())
    write("")

    market = client.market_order(
        portfolio=portfolio,
        exchange="MOEX",
        symbol="SBER",
        side="buy",
        quantity=1,
        comment="integrations demo",
    )
    write(f"market buy 1 lot SBER: order number {market.order_number}")

    if book.best_bid is None:
        write("the sandbox book has no bids; skipping the limit order")
        return
    # Far below the market (and the sandbox's price band), so it rests until it is cancelled.
    price = (book.best_bid.price * Decimal("0.9")).quantize(Decimal("0.01"))
    limit = client.limit_order(
        portfolio=portfolio,
        exchange="MOEX",
        symbol="SBER",
        side="buy",
        quantity=1,
        price=price,
        comment="integrations demo",
    )
    write(f"limit buy 1 lot SBER at {price}: order number {limit.order_number}")
    cancel = client.cancel_order(limit.order_number, portfolio=portfolio, exchange="MOEX")
    write(f"cancel order {cancel.order_number}: {cancel.message}")

    write("")
    write(f"account {portfolio} after these orders")
    for position in client.positions(portfolio, without_currency=True):
        write(
            f"  position {position.symbol}: {position.qty_lots} lots ({position.qty_units} units) "
            f"at an average {position.avg_price}, unrealised P/L {position.unrealised_pl}"
        )
    summary = client.summary(portfolio)
    write(
        f"  buying power {summary.buying_power} (at the morning {summary.buying_power_at_morning}), "
        f"portfolio value {summary.portfolio_evaluation}, commission {summary.commission}"
    )
