"""Models of ALOR's order commands beyond placing and cancelling one order (issue 13): the answer of
``DELETE .../orders/all`` and the estimate of an order (``POST .../orders/estimate``), built with
cattrs through a :class:`~integrations.converters.LazyConverter`.

The estimate's fields are the spec's ``response_EstimateOrder`` (WarpOpenAPIv2.yml); the
endpoint has no ``format`` parameter, so there is one wire shape, read by name in any case."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Optional

import attrs

from integrations.converters import LazyConverter
from integrations.errors import ProtocolError

from . import wire

if TYPE_CHECKING:
    import cattrs

__all__ = ["CancelAllAck", "OrderEstimate", "structure_estimate"]


@attrs.frozen
class CancelAllAck:
    """The answer of :meth:`~integrations_alor.api.AlorClient.cancel_all_orders`.

    Either way no matching order is working any more. ``nothing_to_cancel`` is true when ALOR
    answered its documented ``OrderToCancelNotFound`` (no matching working order: none existed, or a
    first attempt whose reply was lost had cancelled them); ``message`` is ALOR's text."""

    portfolio: str
    exchange: str
    stop: Optional[bool]
    nothing_to_cancel: bool
    message: str


@attrs.frozen
class OrderEstimate:
    """What an order would cost and how many lots the portfolio could buy or sell.

    Quantities are lots (``quantity_to_*`` with margin, ``not_margin_quantity_to_*`` without);
    ``order_evaluation`` is the order's value and ``commission`` its fee, in the portfolio's
    currency; ``buy_price`` is the price of one lot used for a ``budget`` estimate (``None``
    otherwise, as the spec says); ``is_united_portfolio`` tells whether the united money position
    was used."""

    portfolio: str
    symbol: str
    exchange: str
    board: Optional[str]
    quantity_to_sell: Decimal
    quantity_to_buy: Decimal
    not_margin_quantity_to_sell: Decimal
    not_margin_quantity_to_buy: Decimal
    order_evaluation: Decimal
    commission: Decimal
    buy_price: Optional[Decimal]
    is_united_portfolio: bool


# Wire names (WarpOpenAPIv2.yml, response_EstimateOrder) of each field, compared case-insensitively.
_ESTIMATE_KEYS = {
    "portfolio": "portfolio",
    "symbol": "ticker",
    "exchange": "exchange",
    "board": "board",
    "quantity_to_sell": "quantitytosell",
    "quantity_to_buy": "quantitytobuy",
    "not_margin_quantity_to_sell": "notmarginquantitytosell",
    "not_margin_quantity_to_buy": "notmarginquantitytobuy",
    "order_evaluation": "orderevaluation",
    "commission": "commission",
    "buy_price": "buyprice",
    "is_united_portfolio": "isunitedportfolio",
}
_OPTIONAL = frozenset({"board", "buy_price"})


def _configure(converter: cattrs.Converter) -> None:
    converter.register_structure_hook(Decimal, wire.decimal)
    converter.register_structure_hook(str, wire.text)
    converter.register_structure_hook(bool, wire.boolean)


converter = LazyConverter(_configure)


def structure_estimate(data: Any) -> OrderEstimate:
    """An :class:`OrderEstimate` from one decoded estimate object. Raises
    :class:`~integrations.errors.ProtocolError` naming what is missing or malformed."""
    if not isinstance(data, Mapping):
        raise ProtocolError(f"order estimate: expected a JSON object, got {type(data).__name__}")
    lowered = {str(k).lower(): v for k, v in data.items()}
    fields: dict[str, Any] = {}
    for name, key in _ESTIMATE_KEYS.items():
        value = lowered.get(key)
        if value is None:
            if name in _OPTIONAL:
                fields[name] = None
                continue
            if name == "is_united_portfolio":
                value = False  # an older server may not send it
            else:
                raise ProtocolError(f"order estimate: malformed body: no {key!r}")
        fields[name] = value
    try:
        return converter.structure(fields, OrderEstimate)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(f"order estimate: malformed body: {exc}") from None
