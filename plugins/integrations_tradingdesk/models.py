"""Trading Desk's attrs models, the cattrs converter that builds them, and its date formats.

Money and rates (``cpc``, ``cpm``, ``ctr``, ``spent``) are ``float``: the server computes them in
floating point and sends JSON floats (unrounded at the leaves of a statistics tree, e.g.
``87.71187310212129``), they are analytics aggregates rather than ledger amounts, and any sum or
comparison of them is approximate anyway. ``Decimal`` would suggest an exactness the source does not
have; ``Decimal(repr(x))`` recovers the wire digits exactly when a caller wants it.

Only ``Report.getCoverageAndInspection`` and ``Statistic.getTarget`` have published shapes. The other
results are read tolerantly: known fields become attributes, unknown ones are kept in ``extra``, ids
may be ints or strings, and PHP's ``[]`` for an empty object is read as ``{}``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Tuple, Type, TypeVar, Union

import attrs

from integrations.converters import LazyConverter
from integrations.errors import ProtocolError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "Campaign",
    "CampaignCoverage",
    "Group",
    "Metrics",
    "PartnerClient",
    "TargetNode",
    "TargetStatistics",
    "UserInfo",
    "as_list",
    "as_object",
    "converter",
    "parse_datetime",
    "structure_campaign",
    "structure_campaigns",
    "structure_coverage",
    "structure_partner_clients",
    "structure_target",
    "structure_user_info",
]

log = logging.getLogger("integrations.tradingdesk")

Id = Union[int, str]
T = TypeVar("T")


# -- dates ---------------------------------------------------------------------------------------

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")
# PHP's timezone_type 2 abbreviations (DST ones carry their own offset). Unknown ones fall back to UTC.
_ABBREVIATIONS = {
    "UTC": 0,
    "UT": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 1,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "MET": 1,
    "MEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "MSD": 4,
    "SAMT": 4,
    "YEKT": 5,
    "OMST": 6,
    "NOVT": 7,
    "KRAT": 7,
    "IRKT": 8,
    "YAKT": 9,
    "VLAT": 10,
    "MAGT": 11,
    "PETT": 12,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "JST": 9,
    "KST": 9,
    "HKT": 8,
    "AEST": 10,
    "AEDT": 11,
}
# Used only when the system has no tz database; Moscow has kept +03:00 all year since 2014.
_FIXED_ZONES = {"Europe/Moscow": 3, "Etc/UTC": 0, "Etc/GMT": 0, "UTC": 0, "GMT": 0}


def _offset(text: str) -> Optional[dt.timezone]:
    match = _OFFSET.match(text.strip())
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
    return dt.timezone(-delta if sign == "-" else delta)


def _zone(name: str, timezone_type: Any) -> dt.tzinfo:
    fixed = _offset(name)
    if fixed is not None or timezone_type == 1:
        return fixed or dt.timezone.utc
    if timezone_type == 2 or (timezone_type is None and "/" not in name):
        if name.upper() in _ABBREVIATIONS:
            return dt.timezone(dt.timedelta(hours=_ABBREVIATIONS[name.upper()]))
        if timezone_type == 2:
            log.warning("unknown time zone abbreviation %r; reading the time as UTC", name)
            return dt.timezone.utc
    try:
        import zoneinfo

        return zoneinfo.ZoneInfo(name)
    except (ImportError, ValueError, LookupError, OSError):
        hours = _FIXED_ZONES.get(name, _ABBREVIATIONS.get(name.upper()))
        if hours is None:
            log.warning("unknown time zone %r; reading the time as UTC", name)
            return dt.timezone.utc
        return dt.timezone(dt.timedelta(hours=hours))


def _parse_text(text: str, tz: Optional[dt.tzinfo] = None) -> dt.datetime:
    match = _DATETIME.match(text.strip())
    if not match:
        raise ValueError("not a date and time")
    year, month, day, hour, minute, second, fraction, suffix = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    naive = dt.datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if suffix:
        zone = dt.timezone.utc if suffix.upper() == "Z" else _offset(suffix)
        return naive.replace(tzinfo=zone)
    return naive.replace(tzinfo=tz or dt.timezone.utc)


def parse_datetime(value: Any) -> dt.datetime:
    """A timezone-aware datetime from ``YYYY-MM-DD HH:MM:SS[.ffffff]``, ISO 8601 (naive means UTC) or a
    PHP DateTime object ``{"date", "timezone_type", "timezone"}`` (1: offset, 2: abbreviation,
    3: zone id). Raises ``ValueError`` for anything else."""
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, dict) and isinstance(value.get("date"), str):
        zone = value.get("timezone")
        tz = _zone(zone, value.get("timezone_type")) if isinstance(zone, str) and zone else None
        return _parse_text(value["date"], tz)
    raise ValueError(f"cannot read a date from {type(value).__name__}")


# -- PHP quirks ----------------------------------------------------------------------------------


def as_object(value: Any, what: str) -> Dict[str, Any]:
    """An object result; PHP's ``json_encode`` writes an empty associative array as ``[]``."""
    if isinstance(value, dict):
        return value
    if value == []:
        return {}
    raise ProtocolError(f"{what}: expected an object, got {type(value).__name__}")


def as_list(value: Any, what: str) -> List[Any]:
    """A list result; PHP writes an array whose keys are not 0..n-1 as an object, so take its values."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    raise ProtocolError(f"{what}: expected an array, got {type(value).__name__}")


# -- models --------------------------------------------------------------------------------------


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class Group:
    """A user group (``{"id", "title"}``)."""

    id: Optional[Id] = None
    title: str = ""
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class UserInfo:
    """``User.getInfo``. ``tags`` are the titles of the advertising campaigns the user can see;
    ``created_at`` is timezone-aware (from PHP's ``date_create``). The administrator's ``auth_token``
    is deliberately not kept; ``email`` is left out of ``repr``."""

    email: str = attrs.field(default="", repr=False)
    tags: Tuple[str, ...] = ()
    groups: Tuple[Group, ...] = ()
    methods: Tuple[str, ...] = ()
    is_active: Optional[bool] = None
    created_at: Optional[dt.datetime] = None
    id: Optional[Id] = None
    extra: Mapping[str, Any] = _extra()

    def can_call(self, method: str) -> bool:
        """True if ``method`` is among the methods this user may call."""
        return method in self.methods


@attrs.frozen(kw_only=True)
class Campaign:
    """An advertising campaign (``Campaign.getList`` / ``Campaign.getInfo``; shape unconfirmed)."""

    id: Id
    title: Optional[str] = None
    status: Optional[str] = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class PartnerClient:
    """A partner's client (``Partner.getClients``; shape unconfirmed). ``email`` is left out of ``repr``."""

    id: Id
    title: Optional[str] = None
    email: Optional[str] = attrs.field(default=None, repr=False)
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class Metrics:
    """Delivery statistics. ``ctr`` is a percent (click/show*100), ``cpm`` = spent/show*1000 and
    ``cpc`` = spent/click (0 when nothing was clicked)."""

    show: int
    click: int
    cpc: float
    cpm: float
    ctr: float
    spent: float
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class CampaignCoverage(Metrics):
    """One campaign's row of ``Report.getCoverageAndInspection``; quartiles only for video."""

    name: str
    unique_imps: Optional[int] = None
    quartile_25: Optional[int] = None
    quartile_50: Optional[int] = None
    quartile_75: Optional[int] = None
    quartile_100: Optional[int] = None

    @property
    def video_quartiles(self) -> Optional[Tuple[int, int, int, int]]:
        """Views reaching 25/50/75/100 % of the video, or ``None`` for a non-video campaign."""
        q = (self.quartile_25, self.quartile_50, self.quartile_75, self.quartile_100)
        if any(v is None for v in q):
            return None
        return (int(q[0] or 0), int(q[1] or 0), int(q[2] or 0), int(q[3] or 0))


@attrs.frozen(kw_only=True)
class TargetNode:
    """A node of a ``Statistic.getTarget`` tree (for ``geo_id``: continent, country, region, city).

    A leaf has ``metrics``; an inner node has ``children`` and, for a region, a ``total``.
    """

    name: str
    metrics: Optional[Metrics] = None
    total: Optional[Metrics] = None
    children: Mapping[str, TargetNode] = attrs.field(factory=dict, repr=False)

    def __getitem__(self, name: str) -> TargetNode:
        return self.children[name]

    def walk(self, path: Tuple[str, ...] = ()) -> Iterator[Tuple[Tuple[str, ...], TargetNode]]:
        """This node and every descendant, depth first, with their paths."""
        here = (*path, self.name)
        yield here, self
        for child in self.children.values():
            yield from child.walk(here)


@attrs.frozen(kw_only=True)
class TargetStatistics:
    """``Statistic.getTarget``: the tree for one targeting key over a period (inclusive)."""

    target_name: str
    date_from: Optional[dt.date]
    date_to: Optional[dt.date]
    roots: Mapping[str, TargetNode]
    total: Optional[Metrics] = None

    def __getitem__(self, name: str) -> TargetNode:
        return self.roots[name]

    def node(self, *path: str) -> TargetNode:
        """The node at ``path`` (e.g. ``"Europe", "Russia", "Moscow"``); raises ``KeyError``."""
        node = self.roots[path[0]]
        for name in path[1:]:
            node = node.children[name]
        return node

    def walk(self) -> Iterator[Tuple[Tuple[str, ...], TargetNode]]:
        for root in self.roots.values():
            yield from root.walk()

    def leaves(self) -> Iterator[Tuple[Tuple[str, ...], Metrics]]:
        """Every node that carries metrics of its own, with its path."""
        for path, node in self.walk():
            if node.metrics is not None:
                yield path, node.metrics


# -- the converter -------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _structure_int(value: Any, _: Any) -> int:
    if _is_number(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_float(value: Any, _: Any) -> float:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _structure_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    if _is_number(value):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_bool(value: Any, _: Any) -> bool:
    # PHP backends read booleans out of TINYINT columns: 1/0 and "1"/"0" are as likely as true/false.
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1"):
        return bool(int(value))
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_id(value: Any, _: Any) -> Id:
    if isinstance(value, str) and value:
        return int(value) if value.isdigit() and value.isascii() else value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an int or string id, got {type(value).__name__}")


def _structure_datetime(value: Any, _: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else parse_datetime(value)


def _configure(converter: cattrs.Converter) -> None:
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    converter.register_structure_hook_func(lambda t: t == Id, _structure_id)
    converter.register_structure_hook_func(
        lambda t: t == Optional[Id], lambda v, t: None if v is None else _structure_id(v, t)
    )


converter = LazyConverter(_configure)


def _build(cls: Type[T], data: Dict[str, Any], what: str) -> T:
    try:
        return converter.structure(data, cls)
    except KeyError as exc:
        raise ProtocolError(f"{what}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise ProtocolError(f"{what}: malformed result ({type(exc).__name__}: {exc})") from None


def _split(
    data: Mapping[str, Any], aliases: Mapping[str, Tuple[str, ...]], dropped: Tuple[str, ...] = ()
) -> Dict[str, Any]:
    """Known fields under their attribute names (first alias present wins); the rest in ``extra``."""
    known: Dict[str, Any] = {}
    used = set(dropped)
    for attribute, names in aliases.items():
        for name in names:
            if name in data:
                used.add(name)
                if data[name] is not None and attribute not in known:
                    known[attribute] = data[name]
    known["extra"] = {k: v for k, v in data.items() if k not in used}
    return known


_USER = {
    "id": ("id",),
    "email": ("email",),
    "tags": ("tags",),
    "groups": ("groups",),
    "methods": ("methods",),
    "is_active": ("is_active", "isActive"),
    "created_at": ("date_create", "created_at", "dateCreate"),
}
_NAMED = {"id": ("id",), "title": ("title", "name"), "status": ("status",), "email": ("email",)}
_METRICS = {
    "show": ("show",),
    "click": ("click",),
    "cpc": ("cpc",),
    "cpm": ("cpm",),
    "ctr": ("ctr",),
    "spent": ("spent",),
}
_COVERAGE = {
    **_METRICS,
    "unique_imps": ("UniqueImps", "uniqueImps", "unique_imps"),
    **{f"quartile_{q}": (f"quartile_{q}",) for q in (25, 50, 75, 100)},
}


def structure_user_info(result: Any) -> UserInfo:
    data = as_object(result, "User.getInfo")
    # The administrator's own long-lived token comes back as auth_token; it is never kept.
    known = _split(data, _USER, dropped=("auth_token",))
    tags = known.get("tags")
    if tags is not None:
        # The guide's form is [{"title": "Test1_Jul23"}, ...]; plain strings are read too.
        known["tags"] = [_title(t, "User.getInfo tags") for t in as_list(tags, "User.getInfo tags")]
    groups = known.get("groups")
    if groups is not None:
        known["groups"] = [_group(g) for g in as_list(groups, "User.getInfo groups")]
    if "created_at" in known:
        try:
            known["created_at"] = parse_datetime(known["created_at"])
        except ValueError:
            # An unknown date shape must not cost the caller the rest of the user info.
            log.warning("User.getInfo: unreadable date_create; created_at left empty")
            known["extra"] = {**known["extra"], "date_create": known.pop("created_at")}
    return _build(UserInfo, known, "User.getInfo")


def _title(value: Any, what: str) -> Any:
    if isinstance(value, dict):
        if "title" not in value:
            raise ProtocolError(f"{what}: an entry without a title")
        return value["title"]
    return value


def _group(value: Any) -> Dict[str, Any]:
    if isinstance(value, dict):
        return _split(value, {"id": ("id",), "title": ("title", "name")})
    return {"title": value, "extra": {}}


def _named(cls: Type[T], value: Any, what: str, fields: Tuple[str, ...]) -> T:
    data = as_object(value, what)
    return _build(cls, _split(data, {k: _NAMED[k] for k in fields}), what)


def structure_campaign(result: Any) -> Campaign:
    return _named(Campaign, result, "Campaign.getInfo", ("id", "title", "status"))


def structure_campaigns(result: Any) -> Tuple[Campaign, ...]:
    items = as_list(result, "Campaign.getList")
    return tuple(_named(Campaign, item, "Campaign.getList", ("id", "title", "status")) for item in items)


def structure_partner_clients(result: Any) -> Tuple[PartnerClient, ...]:
    items = as_list(result, "Partner.getClients")
    fields = ("id", "title", "email")
    return tuple(_named(PartnerClient, item, "Partner.getClients", fields) for item in items)


def structure_coverage(result: Any) -> Dict[str, CampaignCoverage]:
    """Campaign name → its row, in the server's order."""
    what = "Report.getCoverageAndInspection"
    report = {}
    for name, row in as_object(result, what).items():
        known = _split(as_object(row, f"{what} row"), _COVERAGE)
        report[name] = _build(CampaignCoverage, {**known, "name": name}, f"{what} row")
    return report


def _is_metrics(value: Any) -> bool:
    return isinstance(value, dict) and any(
        key in value and not isinstance(value[key], (dict, list)) for key in ("show", "click")
    )


def _metrics(value: Dict[str, Any], what: str) -> Metrics:
    return _build(Metrics, _split(value, _METRICS), what)


def _children(data: Mapping[str, Any], what: str) -> Tuple[Dict[str, TargetNode], Optional[Metrics]]:
    children: Dict[str, TargetNode] = {}
    total = None
    for key, value in data.items():
        if key == "total" and _is_metrics(value):
            total = _metrics(value, f"{what} total")
        elif isinstance(value, (dict, list)):
            children[key] = _node(key, value, what)
    return children, total


def _node(name: str, value: Any, what: str) -> TargetNode:
    data = as_object(value, what)
    metrics = _metrics(data, what) if _is_metrics(data) else None
    children, total = _children(data, what)
    return TargetNode(name=name, metrics=metrics, total=total, children=children)


def structure_target(
    result: Any, target_name: str, date_from: Optional[dt.date], date_to: Optional[dt.date]
) -> TargetStatistics:
    """The ``Statistic.getTarget`` tree as :class:`TargetNode` objects (any depth)."""
    what = "Statistic.getTarget"
    roots, total = _children(as_object(result, what), what)
    return TargetStatistics(
        target_name=target_name, date_from=date_from, date_to=date_to, roots=roots, total=total
    )
