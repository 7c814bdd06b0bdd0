"""Property: whatever AlorClient's methods are given, they either raise ValidationError before anything is
sent, or reach the point of sending (the ``no_requests`` fixture then raises its AssertionError).
Nothing else: no TypeError, OverflowError, KeyError, ValueError... and a ValidationError never follows
a send."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from hypothesis import given
from hypothesis import strategies as st

from integrations.testing.inputs import NASTY_TEXT, SETTINGS, TIMEOUTS, maybe
from integrations.testing.inputs import attempt as attempt_call

EXCHANGES = maybe(st.sampled_from(["MOEX", "SPBX", "moex"]))
SYMBOLS = maybe(
    st.one_of(
        st.sampled_from(["SBER", "SiZ3", "RU000A0JX0J2"]), st.from_regex(r"[A-Z0-9.]{1,8}", fullmatch=True)
    )
)
PORTFOLIOS = maybe(st.sampled_from(["D39004", "G12345", "750012345"]))
SIDES = maybe(st.sampled_from(["buy", "sell", "BUY"]))
QUANTITIES = maybe(st.integers(min_value=-5, max_value=2**32))
COMMENTS = maybe(st.one_of(st.none(), st.text(max_size=120)))
GROUPS = maybe(st.one_of(st.none(), st.sampled_from(["TQBR", "TQCB"])))
REQUEST_IDS = maybe(
    st.one_of(st.none(), st.uuids().map(str), st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True))
)
PRICES = maybe(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10, max_value=10**6),
        st.floats(min_value=-1, max_value=1e6),
        st.integers(min_value=-10, max_value=10**17),
        st.decimals().map(str),
        st.from_regex(r"-?[0-9]{0,22}(\.[0-9]{0,22})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    )
)
ORDER_NUMBERS = maybe(
    st.one_of(
        st.integers(min_value=-10, max_value=10**22),
        st.from_regex(r"-?[0-9a-z]{0,22}", fullmatch=True),
    )
).filter(lambda value: not (isinstance(value, int) and abs(value) > 10**4000))  # see the xfailed test
PATHS = maybe(
    st.one_of(
        st.sampled_from(["/md/v2/time", "/md/v2/Securities/MOEX:SBER", "/commandapi/x/"]),
        st.lists(
            st.one_of(NASTY_TEXT, st.sampled_from(["md", "v2", "..", ".", "", "%2e%2e"])), max_size=5
        ).map(lambda parts: "/" + "/".join(parts)),
    )
)
SERVICES = maybe(st.sampled_from(["api", "oauth", "API", "nope"]))
METHODS = maybe(st.sampled_from(["GET", "POST", "put", "DELETE", "PATCH"]))
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
PARAMS = maybe(
    st.one_of(
        st.none(),
        st.dictionaries(
            st.text(min_size=1, max_size=5),
            st.one_of(st.integers(max_value=2**60), st.text(max_size=5)),
            max_size=3,
        ),
    )
)
BODIES = maybe(JSON_VALUES)
RETRIES = maybe(st.one_of(st.none(), st.booleans()))


def attempt(no_requests: list[Any], call: Callable[[Any], Any]) -> str:
    return attempt_call(no_requests, "alor", {"refresh_token": "not-used"}, call)


@SETTINGS
@given(
    exchange=EXCHANGES,
    symbol=SYMBOLS,
    depth=maybe(st.integers(-5, 60)),
    fmt=maybe(st.sampled_from(["Simple", "slim", "HEAVY", "x"])),
    group=GROUPS,
    timeout=TIMEOUTS,
)
def test_orderbook(no_requests, exchange, symbol, depth, fmt, group, timeout):
    attempt(
        no_requests,
        lambda c: c.orderbook(
            exchange, symbol, depth=depth, format=fmt, instrument_group=group, timeout=timeout
        ),
    )


@SETTINGS
@given(
    portfolio=PORTFOLIOS,
    exchange=EXCHANGES,
    symbol=SYMBOLS,
    side=SIDES,
    quantity=QUANTITIES,
    comment=COMMENTS,
    group=GROUPS,
    request_id=REQUEST_IDS,
    timeout=TIMEOUTS,
)
def test_market_order(
    no_requests, portfolio, exchange, symbol, side, quantity, comment, group, request_id, timeout
):
    attempt(
        no_requests,
        lambda c: c.market_order(
            portfolio=portfolio,
            exchange=exchange,
            symbol=symbol,
            side=side,
            quantity=quantity,
            comment=comment,
            instrument_group=group,
            request_id=request_id,
            timeout=timeout,
        ),
    )


@SETTINGS
@given(
    portfolio=PORTFOLIOS,
    exchange=EXCHANGES,
    symbol=SYMBOLS,
    side=SIDES,
    quantity=QUANTITIES,
    price=PRICES,
    comment=COMMENTS,
    group=GROUPS,
    request_id=REQUEST_IDS,
    timeout=TIMEOUTS,
)
def test_limit_order(
    no_requests, portfolio, exchange, symbol, side, quantity, price, comment, group, request_id, timeout
):
    attempt(
        no_requests,
        lambda c: c.limit_order(
            portfolio=portfolio,
            exchange=exchange,
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            comment=comment,
            instrument_group=group,
            request_id=request_id,
            timeout=timeout,
        ),
    )


@SETTINGS
@given(price=PRICES)
def test_limit_order_price_sent_is_finite_and_positive(no_requests, price):
    if (
        attempt(
            no_requests,
            lambda c: c.limit_order(
                portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy", quantity=1, price=price
            ),
        )
        == "sent"
    ):
        number = Decimal(repr(price)) if isinstance(price, float) else Decimal(price)
        assert number.is_finite() and number > 0
        assert float(number) > 0 and float(number) != float("inf")  # as the transport sends it today


@SETTINGS
@given(
    order_number=ORDER_NUMBERS,
    portfolio=PORTFOLIOS,
    exchange=EXCHANGES,
    stop=maybe(st.booleans()),
    timeout=TIMEOUTS,
)
def test_cancel_order(no_requests, order_number, portfolio, exchange, stop, timeout):
    outcome = attempt(
        no_requests,
        lambda c: c.cancel_order(
            order_number, portfolio=portfolio, exchange=exchange, stop=stop, timeout=timeout
        ),
    )
    if outcome == "sent":
        assert str(order_number).isdigit() and str(order_number).isascii() and int(order_number) > 0
        assert not isinstance(order_number, bool)


@SETTINGS
@given(
    method=METHODS, path=PATHS, service=SERVICES, params=PARAMS, body=BODIES, retry=RETRIES, timeout=TIMEOUTS
)
def test_request(no_requests, method, path, service, params, body, retry, timeout):
    outcome = attempt(
        no_requests,
        lambda c: c.request(
            method, path, service=service, params=params, json=body, retry=retry, timeout=timeout
        ),
    )
    if outcome == "sent":
        segments = path.split("/")
        assert ".." not in segments and "." not in segments and "//" not in path
