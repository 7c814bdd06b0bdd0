"""``TradingDeskClient``: Trading Desk's typed facade. Every argument is validated before anything is sent."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import attrs

from integrations.client import ProviderClient
from integrations.errors import ValidationError
from integrations.protocols import jsonrpc
from integrations.protocols.jsonrpc import RpcCall, RpcOutcome
from integrations.transport import Request, TimeoutLike, Timeouts
from integrations.validation import json_value as _json_value
from integrations.validation import show as _show
from integrations.validation import timeouts as _timeouts

from . import provider
from .models import (
    Campaign,
    CampaignCoverage,
    PartnerClient,
    TargetStatistics,
    UserInfo,
    structure_campaign,
    structure_campaigns,
    structure_coverage,
    structure_partner_clients,
    structure_target,
    structure_user_info,
)

__all__ = ["BatchItem", "DateLike", "TradingDeskClient"]

DateLike = Union[str, dt.date]
# A batch item: an RpcCall, or a (method, params) pair (params may be None).
BatchItem = Union[RpcCall, Tuple[str, Optional[Mapping[str, Any]]]]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The name also goes into ?method=, so only plain identifiers with dots are accepted, in full.
_METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,127}")
_TARGET = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_ID = 2**63 - 1


def _method(value: Any) -> str:
    if not isinstance(value, str) or not _METHOD.fullmatch(value):
        raise ValidationError(
            f"method must be a non-empty name such as 'Campaign.getList', not {_show(value)}"
        )
    return value


def _params(value: Any) -> Dict[str, Any]:
    """Named parameters: a mapping of string keys to JSON values (checked in depth, before sending)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"params must be a dict of named parameters (or None), not {type(value).__name__}; "
            "Trading Desk takes parameters by name"
        )
    params = dict(value)
    if not all(isinstance(key, str) for key in params):
        raise ValidationError("params keys must be strings")
    _json_value(params, "params")
    return params


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{name} is not a calendar date: {_show(value)}") from None
    raise ValidationError(f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, not {_show(value)}")


def _period(date_from: Any, date_to: Any) -> Optional[Tuple[dt.date, dt.date]]:
    if date_from is None and date_to is None:
        return None
    if date_from is None or date_to is None:
        raise ValidationError("give both date_from and date_to, or neither")
    first, last = _date(date_from, "date_from"), _date(date_to, "date_to")
    if first > last:
        raise ValidationError(f"date_from ({first}) is after date_to ({last})")
    return first, last


def _period_params(period: Optional[Tuple[dt.date, dt.date]]) -> Dict[str, Any]:
    if period is None:
        return {}
    return {"period": {"from": period[0].isoformat(), "to": period[1].isoformat()}}


def _batch_item(item: Any, position: int) -> RpcCall:
    if isinstance(item, RpcCall):
        notify = _flag(item.notify, f"batch item {position}: notify")
        return RpcCall(_method(item.method), _params(item.params), notify=notify)
    if isinstance(item, tuple) and len(item) in (1, 2):
        return RpcCall(_method(item[0]), _params(item[1] if len(item) == 2 else None))
    raise ValidationError(
        f"batch item {position} must be an RpcCall or a (method, params) tuple, not {_show(item)}"
    )


def _campaign_id(value: Any) -> Union[int, str]:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_ID:
        return value
    if isinstance(value, str) and _CAMPAIGN_ID.fullmatch(value):
        return value
    raise ValidationError(
        "campaign_id must be a positive int or an identifier string (letters, digits, _ -), "
        f"not {_show(value)}"
    )


class TradingDeskClient(ProviderClient):
    """Trading Desk through the plugin host. Thread-safe; authenticates lazily on the first call.

    Obtain one with ``integrations.connect(TradingDeskClient, credentials={"email": ..., "password": ...})``
    or ``credentials={"token": <administrator token>}``.

    The typed methods are reads: after a failure whose outcome is unknown they are retried.
    :meth:`rpc`, :meth:`batch` and :meth:`notify` may call methods that change something, so they
    are not retried unless the caller passes ``retry=True``.
    """

    provider_name = provider.NAME

    # -- account -----------------------------------------------------------------------------

    def user_info(self, *, timeout: Optional[TimeoutLike] = None) -> UserInfo:
        """``User.getInfo``: who the token belongs to and which methods it may call."""
        return structure_user_info(self._read("User.getInfo", {}, _timeouts(timeout)))

    # -- campaigns and clients ---------------------------------------------------------------

    def campaigns(self, *, timeout: Optional[TimeoutLike] = None) -> Tuple[Campaign, ...]:
        """``Campaign.getList``: every campaign the user can see."""
        return structure_campaigns(self._read("Campaign.getList", {}, _timeouts(timeout)))

    def campaign(self, campaign_id: Union[int, str], *, timeout: Optional[TimeoutLike] = None) -> Campaign:
        """``Campaign.getInfo``. Raises :class:`~integrations.errors.RpcError` (code -32005 in the
        sandbox) for an unknown id."""
        timeouts = _timeouts(timeout)
        campaign_id = _campaign_id(campaign_id)
        return structure_campaign(self._read("Campaign.getInfo", {"id": campaign_id}, timeouts))

    def partner_clients(self, *, timeout: Optional[TimeoutLike] = None) -> Tuple[PartnerClient, ...]:
        """``Partner.getClients``. A user without that method gets an ``RpcError`` (-32003 in the sandbox)."""
        return structure_partner_clients(self._read("Partner.getClients", {}, _timeouts(timeout)))

    # -- statistics --------------------------------------------------------------------------

    def coverage_and_inspection(
        self,
        date_from: Optional[DateLike] = None,
        date_to: Optional[DateLike] = None,
        *,
        timeout: Optional[TimeoutLike] = None,
    ) -> Dict[str, CampaignCoverage]:
        """``Report.getCoverageAndInspection``: campaign name → totals, over the inclusive period or,
        with no dates, each campaign's whole lifetime. An empty report is ``{}``.

        Raises :class:`ValidationError` (before sending) for a bad date, only one date, or from > to.
        """
        timeouts = _timeouts(timeout)
        period = _period(date_from, date_to)
        result = self._read("Report.getCoverageAndInspection", _period_params(period), timeouts)
        return structure_coverage(result)

    def target_statistics(
        self,
        target_name: str,
        date_from: Optional[DateLike] = None,
        date_to: Optional[DateLike] = None,
        *,
        timeout: Optional[TimeoutLike] = None,
    ) -> TargetStatistics:
        """``Statistic.getTarget``: the statistics tree of one targeting key (``"geo_id"``: continent,
        country, region with a ``total``, city) over the inclusive period (none: all data)."""
        timeouts = _timeouts(timeout)
        if not isinstance(target_name, str) or not _TARGET.fullmatch(target_name):
            raise ValidationError(f"target_name must be a name such as 'geo_id', not {_show(target_name)}")
        period = _period(date_from, date_to)
        params = {"targetName": target_name, **_period_params(period)}
        result = self._read("Statistic.getTarget", params, timeouts)
        first, last = period if period is not None else (None, None)
        return structure_target(result, target_name, first, last)

    # -- escape hatches ----------------------------------------------------------------------

    def rpc(
        self,
        method: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        retry: bool = False,
        timeout: Optional[TimeoutLike] = None,
    ) -> Any:
        """Call any method by name with named ``params``; returns the decoded ``result``.

        Raises :class:`~integrations.errors.RpcError` when the server answers with an error object.
        Not retried after a failure whose outcome is unknown (Trading Desk does not deduplicate by
        JSON-RPC id, so a repeat could act twice): such a failure raises an
        :class:`~integrations.errors.OperationFailed` whose ``outcome_unknown`` is true. Pass
        ``retry=True`` for a method that only reads.

        Raises :class:`ValidationError` before sending for a method name that is not a plain dotted
        name, and ``params`` that are not a dict of plain JSON (string keys; list, str, 64-bit int,
        finite float or Decimal, bool, None: no dates, sets, bytes, NaN or infinity).
        """
        timeouts = _timeouts(timeout)
        return self._result(_method(method), _params(params), retry=_flag(retry, "retry"), timeouts=timeouts)

    def notify(
        self,
        method: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[TimeoutLike] = None,
    ) -> None:
        """Send a notification: no id, and the server sends no reply (HTTP 204 or an empty body).
        Never retried: nothing could tell a repeat from a new notification."""
        timeouts = _timeouts(timeout)
        call = RpcCall(_method(method), _params(params), notify=True)
        self._call(self._request(call, retry=False), timeouts)

    def batch(
        self, calls: Iterable[BatchItem], *, retry: bool = False, timeout: Optional[TimeoutLike] = None
    ) -> List[RpcOutcome]:
        """Send several calls in one JSON-RPC batch; one :class:`RpcOutcome` per call, in call order.

        A failed call does not raise: its outcome carries the error (``outcome.unwrap()`` raises it).
        A notification's outcome has ``notification=True``. The whole batch raises only when the server
        rejects it as a whole or the access token is rejected (the batch is then sent once more with
        the same ids after renewal). ``?method=`` carries the distinct method names, comma separated.
        Retried after an unknown outcome only with ``retry=True`` and no notification in it.
        Whether the real server accepts batches is unverified (docs/reference/tradingdesk-api.md §7):
        prefer single calls.
        """
        timeouts = _timeouts(timeout)
        flag = _flag(retry, "retry")
        if isinstance(calls, (str, bytes, bytearray, Mapping)) or not isinstance(calls, Iterable):
            raise ValidationError(
                f"calls must be a list of RpcCall or (method, params) items, not {type(calls).__name__}"
            )
        items = [_batch_item(item, n) for n, item in enumerate(calls)]
        if not items:
            raise ValidationError("a batch needs at least one call (the spec answers [] with an error)")
        request = jsonrpc.build_batch(
            items,
            ids=self._client.ctx.ids,
            path=provider.PATH,
            query_parameter=provider.QUERY_PARAMETER,
            operation=f"{provider.NAME}.batch",
            retry=flag,
        )
        return self._call(request, timeouts)

    # -- internals ---------------------------------------------------------------------------

    def _request(self, call: RpcCall, *, retry: bool) -> Request:
        return jsonrpc.build_request(
            call,
            ids=self._client.ctx.ids,
            path=provider.PATH,
            query_parameter=provider.QUERY_PARAMETER,
            authenticated=call.method not in provider.UNAUTHENTICATED_METHODS,
            operation=f"{provider.NAME}.{call.method}",
            retry=retry,
        )

    def _call(self, request: Request, timeouts: Optional[Timeouts]) -> List[RpcOutcome]:
        if timeouts is not None:
            request = attrs.evolve(request, timeout=timeouts)
        outcomes: List[RpcOutcome] = self._client.call(request)
        return outcomes

    def _result(
        self, method: str, params: Dict[str, Any], *, retry: bool, timeouts: Optional[Timeouts]
    ) -> Any:
        return self._call(self._request(RpcCall(method, params), retry=retry), timeouts)[0].unwrap()

    def _read(self, method: str, params: Dict[str, Any], timeouts: Optional[Timeouts]) -> Any:
        return self._result(method, params, retry=True, timeouts=timeouts)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, not {_show(value)}")
    return value
