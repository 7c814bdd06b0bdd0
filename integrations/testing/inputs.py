"""Hypothesis strategies for hostile input: what a facade's validation must turn into
``ValidationError`` before anything is sent. For the tests of any provider plugin (needs
hypothesis, which comes with the ``test`` extra)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, List, Mapping

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from ..client import connect
from ..errors import ValidationError
from ..transport import Timeouts

__all__ = [
    "ANYTHING",
    "BAD_TIMEOUTS",
    "NASTY",
    "NASTY_TEXT",
    "NUMBERS",
    "SCALARS",
    "SETTINGS",
    "TEXT",
    "TIMEOUTS",
    "attempt",
    "maybe",
]

# Deterministic and quick enough for CI; fixtures are function-scoped on purpose (no_requests).
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Characters that break identifiers, paths, headers and query strings.
NASTY = st.sampled_from(
    [
        *("\x00", "\n", "\r", "\t", "\x7f", "\x85", "\u2028", "\ud800", "\udfff", "\ufeff", "\uff11"),
        *(
            "/",
            ".",
            "..",
            "?",
            "#",
            "%",
            "%2e",
            "%2f",
            "%0a",
            "\\",
            " ",
            "a",
            "Z",
            "1",
            "0",
            "-",
            "_",
            ":",
            "@",
        ),
    ]
)
NASTY_TEXT = st.lists(NASTY, max_size=8).map("".join)
TEXT = st.one_of(st.text(max_size=12), NASTY_TEXT, st.just("x" * 300))
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, 10**20, 10**400]),
    st.builds(pow, st.just(10), st.just(5000)),  # too long for str() and repr()
    st.floats(),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, 5e-324, -0.0]),
    st.decimals(),
    st.sampled_from(
        [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("1e400"), Decimal("1e-400")]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    TEXT,
    st.binary(max_size=8),
    st.dates(),
    st.datetimes(),
    st.builds(object),
    st.sampled_from([Ellipsis, int, Timeouts]),
)
ANYTHING = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.one_of(TEXT, st.integers(), st.none(), st.booleans()), children, max_size=3),
        st.sets(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=8,
)


def maybe(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = ANYTHING) -> st.SearchStrategy[Any]:
    """Mostly plausible values (so that every argument gets checked, and some calls are sent), and
    anything at all about one time in eight."""
    return st.sampled_from(range(8)).flatmap(lambda n: bad if n == 0 else valid)


TIMEOUTS = maybe(
    st.one_of(
        st.none(),
        st.floats(min_value=0.001, max_value=100),
        st.tuples(st.floats(min_value=0.001, max_value=10), st.floats(min_value=0.001, max_value=10)),
        st.just(Timeouts(1, 2, 3)),
    ),
    st.one_of(st.tuples(NUMBERS, NUMBERS), NUMBERS, ANYTHING),
)

# timeout= values every method must refuse with ValidationError, before anything is sent.
BAD_TIMEOUTS = [
    (1, float("inf")),  # used to raise OverflowError
    (float("inf"), 1),
    (1, float("nan")),
    float("inf"),
    float("nan"),
    0,
    -1,
    True,
    "5",
    10**400,  # an int too large for a float
    (1, 10**400),
    (1,),
    (1, 2, 3),
    [1, 2],
    (True, 1),
    Decimal("5"),
    {"connect": 1},
]


def attempt(
    sent: List[Any], provider: str, credentials: Mapping[str, str], call: Callable[[Any], Any]
) -> str:
    """Run ``call(client)`` on a fresh client of ``provider`` while every send is refused (``sent``
    is the list a refusing fixture appends to, and its AssertionError says "a request was sent").
    Returns ``"invalid"`` (a ValidationError, nothing sent) or ``"sent"``; anything else fails."""
    before = len(sent)
    with connect(provider, credentials=credentials) as client:
        try:
            call(client)
        except ValidationError:
            assert len(sent) == before, "a ValidationError after something was sent"  # noqa: S101
            event("invalid")
            return "invalid"
        except AssertionError as exc:
            if "a request was sent" not in str(exc):
                raise
            assert len(sent) == before + 1  # noqa: S101
            event("sent")
            return "sent"
    pytest.fail("the call returned although nothing could be sent")
