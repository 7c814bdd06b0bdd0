"""ALOR streaming (issue 14) against the live sandbox's ``/ws`` on 127.0.0.1, on the test's manual
clock: the simulated market moves only when the test advances the clock, so every update here is
caused by the test."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any, Callable, List

import pytest

from integrations import errors
from integrations_alor.models import OrderBook
from integrations_alor.models_account import Order, Position, Summary, Trade
from integrations_alor.models_market import AllTrade, Candle, Quote
from integrations_alor.sandbox_data import INSTRUMENTS
from integrations_alor.stream import Gap, StreamClosed, StreamGap

# Real-time waits on a live socket (timeouts, reconnect back-off): under libfaketime timed waits do
# not return, and these tests replay no cassette (test_stream_replay.py replays under faketime).
pytestmark = pytest.mark.realtime

SBER = next(i for i in INSTRUMENTS if i.symbol == "SBER")
WAIT = 10.0  # real seconds: the most any step may take on a slow CI machine


def _until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _reader_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "alor-stream" and t.is_alive()]


# -- market data ---------------------------------------------------------------------------------


def test_orderbook_updates_follow_the_simulated_market(alor_sandbox, alor_live, clock):
    market = alor_sandbox.emulator.market
    with alor_live.subscribe_orderbook("MOEX", "SBER", depth=5, frequency=100) as stream:
        first = stream.next(timeout=WAIT)
        assert isinstance(first, OrderBook) and first.existing  # the full book first
        assert len(first.bids) == len(first.asks) == 5
        assert first.ms_timestamp == int(clock.now() * 1000)
        start_price = market.last_price(SBER, clock.now())
        seen = []
        for _ in range(6):
            clock.advance(60)
            book = stream.next(timeout=WAIT)
            assert not book.existing and book.ms_timestamp == int(clock.now() * 1000)
            # The book keeps its shape and moves with the simulated price.
            moved = market.last_price(SBER, clock.now()) - start_price
            assert book.best_bid.price == first.best_bid.price + moved
            assert [lvl.volume for lvl in book.bids] == [lvl.volume for lvl in first.bids]
            seen.append(book.best_bid.price)
        assert len(set(seen)) > 1  # the market did move over six minutes
        # The clock stands still: nothing is sent, and iteration times out.
        with pytest.raises(errors.Timeout):
            stream.next(timeout=0.3)


def test_frequency_is_measured_on_the_emulator_clock(alor_live, clock):
    with alor_live.subscribe_orderbook("MOEX", "SBER", frequency=1000, format="Slim") as stream:
        stream.next(timeout=WAIT)
        clock.advance(0.5)  # less than the frequency: no update yet
        with pytest.raises(errors.Timeout):
            stream.next(timeout=0.3)
        clock.advance(0.5)
        assert stream.next(timeout=WAIT).ms_timestamp == int(clock.now() * 1000)


def test_iteration_timeout_raises(alor_live):
    stream = alor_live.subscribe_quotes("MOEX", "SBER", timeout=0.2)
    assert isinstance(next(stream), Quote)
    with pytest.raises(errors.Timeout), stream:
        for _ in stream:
            pass
    assert stream.closed
    assert list(stream) == []  # a closed subscription's iteration just ends
    with pytest.raises(StreamClosed):
        stream.next(timeout=1)


def test_quotes_bars_and_all_trades_are_the_rest_models(alor_live, clock):
    now = int(clock.now())
    with alor_live.subscribe_quotes("MOEX", "SBER", format="Heavy", frequency=500) as quotes, \
            alor_live.subscribe_bars("MOEX", "SBER", 60, from_=now - 600) as bars, \
            alor_live.subscribe_all_trades("MOEX", "SBER", depth=3, format="Slim") as trades:  # fmt: skip
        quote = quotes.next(timeout=WAIT)
        rest = alor_live.quotes(["MOEX:SBER"], format="Heavy")[0]
        assert quote == rest
        history = [bars.next(timeout=WAIT) for _ in range(10)]
        assert all(isinstance(c, Candle) for c in history)
        starts = [int(c.time.timestamp()) for c in history]
        assert starts == sorted(starts) and starts[-1] <= now
        latest = [trades.next(timeout=WAIT) for _ in range(3)]
        assert all(isinstance(t, AllTrade) for t in latest)
        clock.advance(180)
        assert isinstance(quotes.next(timeout=WAIT), Quote)
        newer = bars.next(timeout=WAIT)
        assert int(newer.time.timestamp()) >= starts[-1]
        fresh = trades.next(timeout=WAIT)
        assert fresh.time > latest[-1].time  # trades made since, oldest first


def test_subscriptions_share_one_connection(alor_sandbox, alor_live):
    ws = alor_sandbox.emulator.ws
    with (
        alor_live.subscribe_orderbook("MOEX", "SBER") as a,
        alor_live.subscribe_orderbook("MOEX", "GAZP", depth=1) as b,
        alor_live.subscribe_quotes("MOEX", "SBER") as c,
    ):
        assert a.next(timeout=WAIT) != b.next(timeout=WAIT)
        c.next(timeout=WAIT)
        assert ws.connections_opened == 1 and ws.open_connections == 1
        assert alor_live.streams.connections == 1
        assert len({a.guid, b.guid, c.guid}) == 3


def test_callbacks_receive_models_on_the_reader_thread(alor_live, clock):
    got: List[Any] = []
    threads = set()

    def on_update(book: Any) -> None:
        threads.add(threading.current_thread().name)
        got.append(book)
        if len(got) == 2:
            raise RuntimeError("a callback's bug")  # logged and counted; the stream goes on

    sub = alor_live.subscribe_orderbook("MOEX", "SBER", on_update=on_update)
    _until(lambda: len(got) == 1, "the first book")
    for n in range(3):
        clock.advance(1)
        _until(lambda n=n: len(got) == n + 2, "an update")
    assert all(isinstance(b, OrderBook) for b in got)
    assert threads == {"alor-stream"} and sub.callback_errors == 1
    with pytest.raises(errors.ValidationError):
        sub.next(timeout=0.1)  # a callback subscription has nothing to iterate
    alor_live.close()
    assert not _reader_threads()


# -- reconnects and slow consumers -----------------------------------------------------------------


def test_dropped_connection_resubscribes_with_a_fresh_snapshot(alor_sandbox, alor_live, clock):
    ws = alor_sandbox.emulator.ws
    with (
        alor_live.subscribe_orderbook("MOEX", "SBER", depth=3) as books,
        alor_live.subscribe_quotes("MOEX", "SBER", gaps="marker") as quotes,
    ):
        assert books.next(timeout=WAIT).existing
        quotes.next(timeout=WAIT)
        old = {books.guid, quotes.guid}
        assert alor_sandbox.emulator.drop_ws_connections() == 1
        with pytest.raises(StreamGap) as info:
            books.next(timeout=WAIT)
        assert info.value.gap == Gap("reconnect")
        snapshot = books.next(timeout=WAIT)
        assert snapshot.existing  # the full book again, after the marker
        assert quotes.next(timeout=WAIT) == Gap("reconnect")  # gaps="marker": an item
        assert isinstance(quotes.next(timeout=WAIT), Quote)
        assert ws.connections_opened == 2 and alor_live.streams.reconnects == 1
        assert not old & {books.guid, quotes.guid}  # resubscribed under new guids
        resubscribed = [m for m in ws.messages() if m.guid in {books.guid, quotes.guid}]
        assert [m.connection for m in resubscribed] == [2, 2]
        clock.advance(1)
        assert not books.next(timeout=WAIT).existing  # and updates flow again


def test_too_many_unread_events_disconnect_and_the_client_recovers(alor_sandbox, alor_live, clock):
    ws = alor_sandbox.emulator.ws
    with alor_live.subscribe_all_trades("MOEX", "SBER", gaps="marker", max_pending=100_000) as trades:
        clock.advance(3 * 86400)  # ~10 000 trades in one go: more than 5000 wait to be sent
        _until(lambda: ws.connections_opened == 2, "the reconnect")
        items = []
        _until(lambda: items.append(trades.next(timeout=WAIT)) or Gap("reconnect") in items, "the marker")
        assert len(items) <= 5001  # the server gave up on the rest
        resent = lambda: [m for m in ws.messages() if m.opcode == "AllTradesGetAndSubscribe"]  # noqa: E731
        _until(lambda: len(resent()) == 2 and resent()[1].connection == 2, "the resubscription")
        clock.advance(600)
        assert isinstance(trades.next(timeout=WAIT), AllTrade)


def test_slow_consumer_loses_the_oldest_items_behind_a_marker(alor_sandbox, alor_live, clock):
    ws = alor_sandbox.emulator.ws
    ws.record_send_times()
    with alor_live.subscribe_orderbook("MOEX", "SBER", max_pending=3, gaps="marker", frequency=25) as stream:
        for n in range(8):
            _until(lambda n=n: len(ws.send_times) == n + 1, "the server to send")
            clock.advance(1)
        _until(lambda: len(ws.send_times) == 9, "the last update")
        _until(lambda: stream.pending == 4, "the reader to queue it")  # the marker and 3 books
        gap = stream.next(timeout=1)
        assert gap == Gap("overflow", dropped=6)  # 9 sent, the 6 oldest dropped
        rest = [stream.next(timeout=1) for _ in range(3)]
        assert [b.ms_timestamp for b in rest] == sorted(b.ms_timestamp for b in rest)
        assert rest[-1].ms_timestamp == int(clock.now() * 1000)  # the newest are kept


# -- tokens ---------------------------------------------------------------------------------------


def test_every_message_carries_the_current_token(alor_sandbox, alor_live, clock):
    ws = alor_sandbox.emulator.ws
    first = alor_live.subscribe_quotes("MOEX", "SBER")
    before = alor_live.client.token().access
    alor_sandbox.emulator.expire_access_tokens()
    clock.advance(1801)  # past the token's lifetime: the next message renews it first
    second = alor_live.subscribe_orderbook("MOEX", "SBER")
    after = alor_live.client.token().access
    assert after != before
    first.close()
    second.close()
    _until(lambda: sum(m.opcode == "unsubscribe" for m in ws.messages()) == 2, "both unsubscribes")
    carried = {(m.opcode, m.guid): (m.token, m.authorized) for m in ws.messages()}
    assert carried[("QuotesSubscribe", first.guid)] == (before, True)
    assert carried[("OrderBookGetAndSubscribe", second.guid)] == (after, True)
    assert carried[("unsubscribe", first.guid)] == (after, True)


def test_a_rejected_token_is_renewed_once_and_the_subscription_resent(alor_sandbox, alor_live):
    ws = alor_sandbox.emulator.ws
    with alor_live.subscribe_orderbook("MOEX", "SBER") as books:
        books.next(timeout=WAIT)
        refreshes = alor_sandbox.emulator.refresh_count
        alor_sandbox.emulator.expire_access_tokens()  # the held token is refused from now on
        with alor_live.subscribe_quotes("MOEX", "SBER") as quotes:
            assert isinstance(quotes.next(timeout=WAIT), Quote)
        assert alor_sandbox.emulator.refresh_count == refreshes + 1
        tail = [m for m in ws.messages() if m.opcode == "QuotesSubscribe"]
        assert [m.authorized for m in tail] == [False, True]
        assert tail[0].token != tail[1].token and tail[0].guid != tail[1].guid


# -- refusals and validation ------------------------------------------------------------------------


def test_refused_subscriptions_raise_typed_errors(alor_sandbox, alor_live):
    emulator = alor_sandbox.emulator
    emulator.refuse_next_subscription(status=429, message="Too many subscriptions")
    with pytest.raises(errors.RateLimited) as info:
        alor_live.subscribe_orderbook("MOEX", "SBER")
    assert info.value.status == 429 and "Too many subscriptions" in str(info.value)
    emulator.refuse_next_subscription(status=400, message="Bad request")
    with pytest.raises(errors.Rejected):
        alor_live.subscribe_quotes("MOEX", "SBER")
    with pytest.raises(errors.NotFound):
        alor_live.subscribe_orderbook("MOEX", "NOSUCH")
    with pytest.raises(errors.PermissionDenied):
        alor_live.subscribe_positions("D39005", exchange="MOEX")  # another login's portfolio
    # Each was the client's only subscription: its refusal closed the connection again.
    assert alor_live.streams.connections == 4 and not _reader_threads()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.subscribe_orderbook("MOEX", "SBER", depth=51),
        lambda c: c.subscribe_orderbook("NYSE", "SBER"),
        lambda c: c.subscribe_orderbook("MOEX", "SB ER"),
        lambda c: c.subscribe_orderbook("MOEX", "SBER", format="Xml"),
        lambda c: c.subscribe_orderbook("MOEX", "SBER", frequency=5, format="Slim"),
        lambda c: c.subscribe_orderbook("MOEX", "SBER", on_update=42),
        lambda c: c.subscribe_orderbook("MOEX", "SBER", gaps="ignore"),
        lambda c: c.subscribe_orderbook("MOEX", "SBER", timeout=-1),
        lambda c: c.subscribe_quotes("MOEX", "SBER", max_pending=0),
        lambda c: c.subscribe_bars("MOEX", "SBER", "7X", from_=0),
        lambda c: c.subscribe_bars("MOEX", "SBER", 60, from_="yesterday"),
        lambda c: c.subscribe_all_trades("MOEX", "SBER", depth=-1),
        lambda c: c.subscribe_orders("D39004", exchange="MOEX", order_statuses=["lost"]),
        lambda c: c.subscribe_positions("D 39004", exchange="MOEX"),
        lambda c: c.subscribe_trades("D39004", exchange="MOEX", skip_history="no"),
    ],
)
def test_invalid_arguments_are_refused_before_connecting(alor_live, call):
    with pytest.raises(errors.ValidationError):
        call(alor_live)
    assert alor_live.streams.connections == 0


# -- account streams --------------------------------------------------------------------------------


def test_account_streams_follow_orders_and_fills(alor_live, clock):
    c = alor_live
    with c.subscribe_orders("D39004", exchange="MOEX") as orders, c.subscribe_trades(
        "D39004", exchange="MOEX"
    ) as trades, c.subscribe_positions("D39004", exchange="MOEX", format="Slim") as positions, \
            c.subscribe_summaries("D39004", exchange="MOEX", format="Heavy") as summaries:  # fmt: skip
        money = positions.next(timeout=WAIT)
        assert isinstance(money, Position) and money.is_currency
        summary = summaries.next(timeout=WAIT)
        assert isinstance(summary, Summary)
        ack = c.market_order(portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy", quantity=2)
        order = orders.next(timeout=WAIT)
        assert isinstance(order, Order) and order.id == ack.order_number and order.status == "filled"
        trade = trades.next(timeout=WAIT)
        assert isinstance(trade, Trade) and trade.order_number == ack.order_number and trade.qty == 2
        changed = {}
        _until(lambda: changed.update({p.symbol: p for p in [positions.next(timeout=WAIT)]}) or "SBER" in changed,
               "the SBER position")  # fmt: skip
        assert changed["SBER"].qty_lots == 2
        assert summaries.next(timeout=WAIT).buying_power < summary.buying_power
        rest = c.limit_order(
            portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy", quantity=1, price=Decimal("1")
        )
        working = orders.next(timeout=WAIT)
        assert working.id == rest.order_number and working.status == "working"
        c.cancel_order(rest.order_number, portfolio="D39004", exchange="MOEX")
        assert orders.next(timeout=WAIT).status == "canceled"


# -- closing --------------------------------------------------------------------------------------


def test_closing_the_client_stops_every_thread(alor_sandbox, alor_live, clock):
    baseline = threading.active_count()
    subs = [
        alor_live.subscribe_orderbook("MOEX", "SBER"),
        alor_live.subscribe_quotes("MOEX", "GAZP"),
        alor_live.subscribe_all_trades("MOEX", "SBER", on_update=lambda trade: 1 / 0),
    ]
    clock.advance(60)
    subs[0].next(timeout=WAIT)
    assert threading.active_count() > baseline and _reader_threads()
    alor_live.close()
    assert not _reader_threads()  # joined by close()
    assert all(s.closed for s in subs)
    messages = alor_sandbox.emulator.ws.messages
    _until(lambda: sum(m.opcode == "unsubscribe" for m in messages()) == 3, "three unsubscribes")
    # The sandbox's own threads for that connection end as it closes.
    _until(lambda: threading.active_count() == baseline, "the thread count back to its baseline")
    with pytest.raises(errors.ConfigurationError):
        alor_live.subscribe_quotes("MOEX", "SBER")


def test_closing_the_last_subscription_closes_the_connection(alor_sandbox, alor_live):
    ws = alor_sandbox.emulator.ws
    alor_live.client.token()  # authenticated first: its keep-alive HTTP connection stays open
    baseline = threading.active_count()
    with alor_live.subscribe_quotes("MOEX", "SBER") as quotes:
        quotes.next(timeout=WAIT)
    assert not _reader_threads()
    _until(lambda: ws.open_connections == 0, "the server to see the connection closed")
    _until(lambda: threading.active_count() == baseline, "the thread count back to its baseline")
    with alor_live.subscribe_quotes("MOEX", "SBER") as again:  # opens a new one lazily
        again.next(timeout=WAIT)
    assert ws.connections_opened == 2


def test_threads_subscribing_at_once_share_one_connection(alor_sandbox, alor_live):
    symbols = ["SBER", "GAZP", "SBER", "GAZP", "SBER", "GAZP"]
    subs: List[Any] = [None] * len(symbols)

    def subscribe(n: int) -> None:
        subs[n] = alor_live.subscribe_quotes("MOEX", symbols[n])

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(len(symbols))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert [s.next(timeout=WAIT).symbol for s in subs] == symbols
    assert alor_sandbox.emulator.ws.connections_opened == 1 and len({s.guid for s in subs}) == 6
    alor_live.close()
    assert not _reader_threads()


def test_a_refused_resubscription_ends_that_subscription_with_its_error(alor_sandbox, alor_live):
    with (
        alor_live.subscribe_orderbook("MOEX", "SBER") as books,
        alor_live.subscribe_quotes("MOEX", "SBER") as quotes,
    ):
        books.next(timeout=WAIT)
        quotes.next(timeout=WAIT)
        alor_sandbox.emulator.refuse_next_subscription(status=503, message="Try later")
        alor_sandbox.emulator.drop_ws_connections()
        with pytest.raises(StreamGap):
            books.next(timeout=WAIT)
        with pytest.raises(errors.ServiceUnavailable):  # the first resubscription was refused
            books.next(timeout=WAIT)
        assert books.closed and list(books) == []
        with pytest.raises(StreamGap):
            quotes.next(timeout=WAIT)
        assert isinstance(quotes.next(timeout=WAIT), Quote)  # the other one goes on


def test_closing_while_reconnecting_stops_at_once(alor_sandbox, alor_live):
    stream = alor_live.subscribe_quotes("MOEX", "SBER", gaps="marker")
    stream.next(timeout=WAIT)
    for server in alor_sandbox.ws_servers:
        server.stop()  # every reconnect attempt now fails
    _until(lambda: stream.next(timeout=WAIT) == Gap("reconnect"), "the marker")
    started = time.monotonic()
    alor_live.close()
    assert time.monotonic() - started < 2.0 and not _reader_threads()
    with pytest.raises(StreamClosed):
        stream.next(timeout=0.1)
