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

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_METHOD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _method(value: Any) -> str:
    # The name also goes into ?method=, so only plain identifiers with dots are accepted.
    if not isinstance(value, str) or not _METHOD.match(value):
        raise ValidationError(f"method must be a non-empty name such as 'Campaign.getList', not {value!r}")
    return value


def _params(value: Any) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"params must be a dict of named parameters (or None), not {type(value).__name__}; "
            "Trading Desk takes parameters by name"
        )
    if not all(isinstance(key, str) for key in value):
        raise ValidationError("params keys must be strings")
    return dict(value)


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{name} is not a calendar date: {value!r}") from None
    raise ValidationError(f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, not {value!r}")


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
        return RpcCall(_method(item.method), _params(item.params), notify=item.notify)
    if isinstance(item, tuple) and len(item) in (1, 2):
        return RpcCall(_method(item[0]), _params(item[1] if len(item) == 2 else None))
    raise ValidationError(
        f"batch item {position} must be an RpcCall or a (method, params) tuple, not {item!r}"
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
        return structure_user_info(self._read("User.getInfo", {}, timeout))

    # -- campaigns and clients ---------------------------------------------------------------

    def campaigns(self, *, timeout: Optional[TimeoutLike] = None) -> Tuple[Campaign, ...]:
        """``Campaign.getList``: every campaign the user can see."""
        return structure_campaigns(self._read("Campaign.getList", {}, timeout))

    def campaign(self, campaign_id: Union[int, str], *, timeout: Optional[TimeoutLike] = None) -> Campaign:
        """``Campaign.getInfo``. Raises :class:`~integrations.errors.RpcError` (code -32005 in the
        sandbox) for an unknown id."""
        valid = (isinstance(campaign_id, int) and not isinstance(campaign_id, bool) and campaign_id > 0) or (
            isinstance(campaign_id, str) and bool(campaign_id.strip())
        )
        if not valid:
            raise ValidationError(
                f"campaign_id must be a positive int or a non-empty string, not {campaign_id!r}"
            )
        return structure_campaign(self._read("Campaign.getInfo", {"id": campaign_id}, timeout))

    def partner_clients(self, *, timeout: Optional[TimeoutLike] = None) -> Tuple[PartnerClient, ...]:
        """``Partner.getClients``. A user without that method gets an ``RpcError`` (-32003 in the sandbox)."""
        return structure_partner_clients(self._read("Partner.getClients", {}, timeout))

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
        period = _period(date_from, date_to)
        result = self._read("Report.getCoverageAndInspection", _period_params(period), timeout)
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
        if not isinstance(target_name, str) or not target_name.strip():
            raise ValidationError(
                f"target_name must be a non-empty string such as 'geo_id', not {target_name!r}"
            )
        period = _period(date_from, date_to)
        params = {"targetName": target_name, **_period_params(period)}
        result = self._read("Statistic.getTarget", params, timeout)
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
        """
        return self._result(_method(method), _params(params), retry=_flag(retry, "retry"), timeout=timeout)

    def notify(
        self,
        method: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[TimeoutLike] = None,
    ) -> None:
        """Send a notification: no id, and the server sends no reply (HTTP 204 or an empty body).
        Never retried: nothing could tell a repeat from a new notification."""
        call = RpcCall(_method(method), _params(params), notify=True)
        self._call(self._request(call, retry=False), timeout)

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
        if isinstance(calls, (str, bytes, Mapping)) or not isinstance(calls, Iterable):
            raise ValidationError("calls must be a list of RpcCall or (method, params) items")
        items = [_batch_item(item, n) for n, item in enumerate(calls)]
        request = jsonrpc.build_batch(
            items,
            ids=self._client.ctx.ids,
            path=provider.PATH,
            query_parameter=provider.QUERY_PARAMETER,
            operation=f"{provider.NAME}.batch",
            retry=_flag(retry, "retry"),
        )
        return self._call(request, timeout)

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

    def _call(self, request: Request, timeout: Optional[TimeoutLike]) -> List[RpcOutcome]:
        if timeout is not None:
            request = attrs.evolve(request, timeout=Timeouts.coerce(timeout))
        outcomes: List[RpcOutcome] = self._client.call(request)
        return outcomes

    def _result(
        self, method: str, params: Dict[str, Any], *, retry: bool, timeout: Optional[TimeoutLike]
    ) -> Any:
        return self._call(self._request(RpcCall(method, params), retry=retry), timeout)[0].unwrap()

    def _read(self, method: str, params: Dict[str, Any], timeout: Optional[TimeoutLike]) -> Any:
        return self._result(method, params, retry=True, timeout=timeout)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, not {value!r}")
    return value
