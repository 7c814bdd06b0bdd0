"""Every exception of the error tree survives pickle and copy with its attributes and its ``str()``:
errors cross process boundaries (ProcessPoolExecutor, multiprocessing.Pool) intact."""

from __future__ import annotations

import concurrent.futures
import copy
import multiprocessing
import pickle
from typing import Any, Dict

import pytest

from integrations import errors

CLASSES = [getattr(errors, name) for name in errors.__all__]


def _sample(cls: type) -> Any:
    """An instance of ``cls`` with every attribute it has set to something other than its default."""
    if issubclass(cls, errors.RpcError):
        exc = cls(
            -32602,
            "invalid params",
            {"field": ["price", {"why": "negative"}], "n": 3},
            provider="tradingdesk",
            status=200,
            request_id="17",
            raw='{"error": {}}',
        )
    elif issubclass(cls, errors.ApiError):
        kwargs: Dict[str, Any] = {"retry_after": 2.5} if issubclass(cls, errors.RateLimited) else {}
        exc = cls(
            "refused", provider="alor", status=400, code="BadRequest", request_id="r-1", raw="{}", **kwargs
        )
    elif issubclass(cls, errors.ServiceUnavailable):
        exc = cls("HTTP 503", status=503, provider="alor", request_id="r-2", outcome_unknown=False)
    elif issubclass(cls, errors.OperationFailed):
        exc = cls("lost", provider="alor", request_id="r-3", outcome_unknown=False)
    else:
        exc = cls("broken")
    exc.extra = {"added": ("later", 1)}  # an attribute set after construction travels too
    return exc


def _same(a: BaseException, b: BaseException) -> None:
    assert type(a) is type(b)
    assert vars(a) == vars(b)
    assert a.args == b.args
    assert str(a) == str(b)
    assert repr(a) == repr(b)


def test_every_class_is_sampled_with_attributes():
    assert len(CLASSES) == len(errors.__all__) >= 18
    for cls in CLASSES:
        assert issubclass(cls, errors.IntegrationError)
        assert vars(_sample(cls))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(cls, protocol):
    exc = _sample(cls)
    _same(exc, pickle.loads(pickle.dumps(exc, protocol)))  # noqa: S301 - our own bytes


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_copy_and_deepcopy(cls):
    exc = _sample(cls)
    shallow, deep = copy.copy(exc), copy.deepcopy(exc)
    _same(exc, shallow)
    _same(exc, deep)
    assert shallow is not exc and deep is not exc
    assert shallow.extra is exc.extra and deep.extra is not exc.extra


def test_a_message_changed_after_raising_travels():
    # The client rewrites message and args when an outcome is unknown (client._say_outcome_unknown).
    exc = errors.Timeout("read timed out", request_id="9")
    exc.message = "alor.market_order: outcome unknown: read timed out"
    exc.args = (exc.message,)
    _same(exc, pickle.loads(pickle.dumps(exc)))  # noqa: S301 - our own bytes


def test_the_cause_is_set_when_raised_but_not_pickled():
    def fail() -> None:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise errors.RpcError(-1, "outer", provider="p") from inner

    with pytest.raises(errors.RpcError) as info:
        fail()
    assert isinstance(info.value.__cause__, KeyError)
    restored = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own bytes
    assert restored.__cause__ is None  # as for every exception: the standard library drops it
    _same(info.value, restored)


def _raise_rpc_error(data: Any) -> None:
    raise errors.RpcError(-32000, "server error", data, provider="tradingdesk", status=200, request_id="5")


def _return_errors() -> Any:
    return [_sample(cls) for cls in CLASSES]


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_rpc_error_crosses_a_process_pool():
    context = multiprocessing.get_context("fork")  # the test module is importable as is in a fork
    data = {"nested": [1, {"k": "v"}]}
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        with pytest.raises(errors.RpcError) as info:
            pool.submit(_raise_rpc_error, data).result(timeout=60)
        returned = pool.submit(_return_errors).result(timeout=60)
    exc = info.value
    assert (exc.rpc_code, exc.message, exc.data, exc.status, exc.request_id) == (
        -32000,
        "server error",
        data,
        200,
        "5",
    )
    assert exc.provider == "tradingdesk" and exc.code == "-32000"
    assert str(exc) == "server error (tradingdesk, HTTP 200, code -32000, request id 5)"
    for got, cls in zip(returned, CLASSES):
        _same(got, _sample(cls))
