"""The base of ALOR's facade: sending a request within the caller's timeout, and the order-command
plumbing (the body every order shares, one request id per command) that every command method uses.
The methods themselves are grouped by topic: :mod:`.api` (order books, market and limit orders,
cancels, the escape hatch), :mod:`.api_account`, :mod:`.api_market`, :mod:`.api_commands`."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import attrs

from integrations.client import ProviderClient
from integrations.errors import ProtocolError
from integrations.transport import Request, Response, TimeoutLike, Timeouts
from integrations.validation import timeouts as _timeouts

from .checks import (
    _PORTFOLIO,
    _TICKER,
    MAX_QUANTITY,
    ORDERS,
    _comment,
    _exchange,
    _int_in,
    _side,
    _token,
)
from .models import OrderAck
from .provider import NAME

__all__ = ["AlorBase"]


class AlorBase(ProviderClient):
    """What every group of ALOR methods builds on."""

    provider_name = NAME

    def _send(self, request: Request, timeout: Optional[TimeoutLike]) -> Response:
        timeouts = _timeouts(timeout)
        if timeouts is not None:
            request = attrs.evolve(request, timeout=timeouts)
        response: Response = self._client.call(request)
        return response

    def _get(
        self, path: str, params: Optional[Mapping[str, Any]], operation: str, timeout: Optional[TimeoutLike]
    ) -> Any:
        """GET ``path`` (a read: retried after a failure whose outcome is unknown) and decode its JSON,
        numbers with a fraction as :class:`~decimal.Decimal`."""
        request = Request(
            "GET", path, params=dict(params) if params else None, operation=f"{NAME}.{operation}"
        )
        return self._send(request, timeout).json(decimals=True)

    def _order_body(
        self,
        portfolio: Any,
        exchange: Any,
        symbol: Any,
        side: Any,
        quantity: Any,
        comment: Any,
        instrument_group: Any,
    ) -> dict[str, Any]:
        instrument: dict[str, Any] = {
            "symbol": _token(symbol, "symbol", _TICKER),
            "exchange": _exchange(exchange),
        }
        if instrument_group is not None:
            instrument["instrumentGroup"] = _token(instrument_group, "instrument_group", _TICKER)
        body: dict[str, Any] = {
            "side": _side(side),
            "quantity": _int_in(quantity, "quantity", 1, MAX_QUANTITY),
            "instrument": instrument,
            "user": {"portfolio": _token(portfolio, "portfolio", _PORTFOLIO)},
        }
        comment = _comment(comment)
        if comment is not None:
            body["comment"] = comment
        return body

    def _command(
        self,
        path: str,
        body: dict[str, Any],
        request_id: Optional[str],
        timeouts: Optional[Timeouts],
        *,
        method: str = "POST",
        operation: Optional[str] = None,
    ) -> OrderAck:
        """Send an order command (``POST .../actions/market``, ``PUT .../actions/limit/{id}``...) with
        one request id on every attempt; the answer's ``orderNumber`` is the (new) order's."""
        rid = request_id or self._client.ctx.ids.new_id()
        name = operation or f"{path}_order"
        # ALOR deduplicates commands by X-REQID, so a command whose reply was lost is safe to send
        # again with the same id: the repeat is answered with the first attempt's result
        # (integrations_alor._first_answer turns ALOR's "already handled" 400 back into it).
        request = Request(
            method,
            f"{ORDERS}/actions/{path}",
            json=body,
            request_id=rid,
            operation=f"{NAME}.{name}",
            retry=True,
        )
        answer = self._send(request, timeouts).json()
        number = answer.get("orderNumber") if isinstance(answer, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        if not isinstance(number, str) or not number:
            raise ProtocolError(
                f"ALOR accepted the {name.replace('_', ' ')} without an orderNumber",
                provider=NAME,
                request_id=rid,
            )
        return OrderAck(order_number=number, message=str(answer.get("message", "")), request_id=rid)
