"""ALOR's streaming replayed from a recorded WebSocket session: the frames live beside the test's
cassette (``<test>.ws.yaml``), recorded against the sandbox's ``/ws`` with the HTTP calls.

Re-record with ``pytest --integrations-record-mode=rewrite --integrations-only
tests/providers/alor/test_stream_replay.py``; the replay runs offline, also under ``faketime +5y``.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import yaml

from integrations.recording.ws import frames_path
from integrations_alor.models import OrderBook
from integrations_alor.stream import Gap


def test_an_orderbook_subscription_yields_the_full_book_then_updates_as_the_market_moves(
    integrations_session,
):
    baseline = threading.active_count()
    with integrations_session("alor") as s:
        books = []
        with s.client.subscribe_orderbook("MOEX", "SBER", depth=5, frequency=100, timeout=10) as stream:
            books.append(stream.next())
            for _ in range(3):
                s.clock.advance(60.0)  # the simulated market moves with the session's clock
                books.append(stream.next())
        # Closing the subscription stopped the client's reader thread.
        assert not [t for t in threading.enumerate() if t.name == "alor-stream"]
    assert threading.active_count() == baseline  # the sandbox's threads too, when recording
    assert all(isinstance(book, OrderBook) for book in books)
    assert books[0].existing and not any(book.existing for book in books[1:])
    for book in books:
        assert len(book.bids) == len(book.asks) == 5
        assert isinstance(book.best_bid.price, Decimal) and book.best_bid.price < book.best_ask.price
    # Each update is a newer book of the moving market.
    stamps = [book.ms_timestamp for book in books]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert len({(book.bids, book.asks) for book in books}) > 1


# The client's reconnect back-off waits on real time (threading.Event.wait), which never returns under
# libfaketime: CI's faketime run leaves this replay out, like every realtime test.
@pytest.mark.realtime
def test_a_dropped_connection_is_followed_by_a_resubscription_and_a_fresh_snapshot(integrations_session):
    with integrations_session("alor") as s:
        stream = s.client.subscribe_orderbook("MOEX", "GAZP", depth=3, timeout=10, gaps="marker")
        with stream:
            first = stream.next()
            if s.recording:  # on replay, the recorded loss of the connection plays back here
                assert s.sandbox.emulator.drop_ws_connections() == 1
            gap = stream.next()
            again = stream.next()
            s.clock.advance(60.0)
            moved = stream.next()
    assert isinstance(first, OrderBook) and first.existing
    assert isinstance(gap, Gap) and gap.reason == "reconnect"
    # After resubscribing, the server's first answer again: the full book, then updates.
    assert isinstance(again, OrderBook) and again.existing and again.bids == first.bids
    assert isinstance(moved, OrderBook) and not moved.existing
    # Two connections were recorded (and replayed): the one lost, and the one that resubscribed.
    connections = yaml.safe_load(frames_path(s.cassette).read_text())["connections"]
    assert len(connections) == 2 and "closed" in [f["dir"] for f in connections[0]["frames"]]
