"""Property: whatever TradingDeskClient's methods are given, they either raise ValidationError before
anything is sent, or reach the point of sending (the ``no_requests`` fixture then raises its
AssertionError). Nothing else: no TypeError, OverflowError, KeyError, ValueError... and a
ValidationError never follows a send."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable

from hypothesis import given
from hypothesis import strategies as st

from integrations.testing.inputs import ANYTHING, SETTINGS, TEXT, TIMEOUTS, maybe
from integrations.testing.inputs import attempt as attempt_call
from integrations_tradingdesk import RpcCall

LOGIN = {"email": "a@b.test", "password": "not-used"}
TOKEN = {"token": "t" * 40}  # no login: the call itself is the first thing sent


def attempt(no_requests: list[Any], call: Callable[[Any], Any], credentials: dict[str, str] = LOGIN) -> str:
    return attempt_call(no_requests, "tradingdesk", credentials, call)


METHODS = maybe(
    st.one_of(
        st.sampled_from(["User.getInfo", "Campaign.getList", "subtract", "update", "a.b.c"]),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,10}", fullmatch=True),
    ),
    st.one_of(TEXT, ANYTHING),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.text(max_size=5),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
PARAMS = maybe(
    st.one_of(st.none(), st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3)),
    st.one_of(ANYTHING, st.dictionaries(st.text(max_size=5), ANYTHING, max_size=3)),
)
RETRIES = maybe(st.booleans())
DATES = maybe(
    st.one_of(st.none(), st.dates(), st.datetimes(), st.dates().map(str)),
    st.one_of(TEXT, ANYTHING, st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\n?", fullmatch=True)),
)
CAMPAIGN_IDS = maybe(
    st.one_of(st.integers(min_value=-5, max_value=2**64), st.from_regex(r"[0-9a-z_-]{0,8}", fullmatch=True))
)
TARGETS = maybe(st.sampled_from(["geo_id", "os_id", "browser_id"]), st.one_of(TEXT, ANYTHING))
ITEMS = maybe(
    st.one_of(
        st.tuples(METHODS, PARAMS),
        st.tuples(METHODS),
        st.builds(RpcCall, METHODS, PARAMS, notify=RETRIES),
    )
)
BATCHES = maybe(
    st.one_of(
        st.lists(ITEMS, max_size=4),
        st.lists(ITEMS, max_size=4).map(tuple),
        st.lists(ITEMS, max_size=4).map(lambda items: (item for item in items)),
    )
)


@SETTINGS
@given(timeout=TIMEOUTS)
def test_user_info(no_requests, timeout):
    attempt(no_requests, lambda c: c.user_info(timeout=timeout))
    attempt(no_requests, lambda c: c.user_info(timeout=timeout), TOKEN)


@SETTINGS
@given(timeout=TIMEOUTS)
def test_campaigns(no_requests, timeout):
    attempt(no_requests, lambda c: c.campaigns(timeout=timeout), TOKEN)


@SETTINGS
@given(campaign_id=CAMPAIGN_IDS, timeout=TIMEOUTS)
def test_campaign(no_requests, campaign_id, timeout):
    attempt(no_requests, lambda c: c.campaign(campaign_id, timeout=timeout), TOKEN)


@SETTINGS
@given(timeout=TIMEOUTS)
def test_partner_clients(no_requests, timeout):
    attempt(no_requests, lambda c: c.partner_clients(timeout=timeout), TOKEN)


@SETTINGS
@given(date_from=DATES, date_to=DATES, timeout=TIMEOUTS)
def test_coverage_and_inspection(no_requests, date_from, date_to, timeout):
    attempt(no_requests, lambda c: c.coverage_and_inspection(date_from, date_to, timeout=timeout), TOKEN)


@SETTINGS
@given(target=TARGETS, date_from=DATES, date_to=DATES, timeout=TIMEOUTS)
def test_target_statistics(no_requests, target, date_from, date_to, timeout):
    attempt(no_requests, lambda c: c.target_statistics(target, date_from, date_to, timeout=timeout), TOKEN)


def decimal_only(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # as the transport sends a Decimal today
    raise TypeError(f"{type(value).__name__} was sent")


def sendable(params: Any) -> None:
    """What was sent is strict JSON (no NaN, no Infinity, not even from a Decimal) with string keys."""
    if params:
        assert all(isinstance(key, str) for key in params)
    json.dumps(params, allow_nan=False, default=decimal_only)


@SETTINGS
@given(method=METHODS, params=PARAMS, retry=RETRIES, timeout=TIMEOUTS)
def test_rpc(no_requests, method, params, retry, timeout):
    if attempt(no_requests, lambda c: c.rpc(method, params, retry=retry, timeout=timeout), TOKEN) == "sent":
        sendable(params)


@SETTINGS
@given(method=METHODS, params=PARAMS, timeout=TIMEOUTS)
def test_notify(no_requests, method, params, timeout):
    if attempt(no_requests, lambda c: c.notify(method, params, timeout=timeout), TOKEN) == "sent":
        sendable(params)


@SETTINGS
@given(calls=BATCHES, retry=RETRIES, timeout=TIMEOUTS)
def test_batch(no_requests, calls, retry, timeout):
    attempt(no_requests, lambda c: c.batch(calls, retry=retry, timeout=timeout), TOKEN)
