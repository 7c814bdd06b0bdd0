"""Seeded accounts and statistics for the Trading Desk sandbox emulator (see ``sandbox.py``).

Everything here is pure: built once from ``random.Random(seed)`` and then only read, so the
emulator can serve it from many threads without a lock.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

__all__ = [
    "ALL_METHODS",
    "GUIDE_METHODS",
    "DATA_FIRST_DAY",
    "DATA_LAST_DAY",
    "EXPIRY_FORMATS",
    "SandboxAccount",
    "SandboxData",
    "format_expiry",
    "parse_period",
    "php_datetime",
]

DATA_FIRST_DAY = _dt.date(2023, 6, 1)
DATA_LAST_DAY = _dt.date(2023, 12, 31)

# The `methods` list of the guide's User.getInfo example, in its order (docs/seeds/002_7fd84ed93695604f.txt).
GUIDE_METHODS: Tuple[str, ...] = (
    "User.auth",
    "User.tokenRefresh",
    "Campaign.getList",
    "Campaign.getInfo",
    "Partner.getClients",
    "Report.getCoverageAndInspection",
    "User.getInfo",
)
# Every Trading Desk method the emulator knows; also the `methods` list of a full-rights user: the
# guide's list plus Statistic.getTarget, which the guide's own curl example calls with a user's token
# (the example user simply lacks it).
ALL_METHODS: Tuple[str, ...] = (*GUIDE_METHODS, "Statistic.getTarget")

# How ``expire_access_token`` / ``expire_refresh_token`` are written. The guide documents a number (its
# examples print 0) without saying what it counts; "epoch" (int Unix seconds) is the reference's
# emulator default, "zero" is the guide's literal 0 ("no expiry information"), the rest exercise the
# client's other accepted forms (docs/reference/tradingdesk-api.md §2).
EXPIRY_FORMATS = ("epoch", "epoch_ms", "lifetime", "date", "php", "zero")

# Moscow has had no DST since 2014, so a fixed offset renders "Europe/Moscow" correctly for any
# date the sandbox clock is likely to show, without depending on the tzdata package.
_MOSCOW = _dt.timezone(_dt.timedelta(hours=3))

JsonObj = Dict[str, Any]


def php_datetime(moment: _dt.datetime, timezone_type: int, timezone: str) -> JsonObj:
    """Serialise ``moment`` the way PHP's ``json_encode(new DateTime(...))`` does."""
    date = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return {"date": date, "timezone_type": timezone_type, "timezone": timezone}


def format_expiry(fmt: str, now: float, ttl: float) -> Any:
    """Render a token expiry (``now + ttl``) in one of :data:`EXPIRY_FORMATS`."""
    expires = now + ttl
    if fmt == "epoch":
        return int(expires)
    if fmt == "epoch_ms":
        return int(expires * 1000)
    if fmt == "lifetime":
        return int(ttl)
    if fmt == "date":
        # Naive text is read as UTC by the client rule of docs/reference/tradingdesk-api.md §2,
        # so it must be UTC here.
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(expires)))
    if fmt == "php":
        return php_datetime(_dt.datetime.fromtimestamp(expires, _MOSCOW), 3, "Europe/Moscow")
    if fmt == "zero":
        # The guide's examples print 0 for both expiries; read as "no expiry information".
        return 0
    raise ValueError(f"unknown expiry format {fmt!r}; expected one of {EXPIRY_FORMATS}")


_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_date(value: Any, name: str) -> _dt.date:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise ValueError(f"{name} must be a YYYY-MM-DD string")
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not a calendar date") from None


def parse_period(period: Any) -> Tuple[_dt.date, _dt.date]:
    """Validate an optional ``{"from", "to"}`` period (inclusive); raise ValueError when it is bad.

    Absent (or null) means the whole data range, as the doc says of Report.getCoverageAndInspection.
    """
    if period is None:
        return DATA_FIRST_DAY, DATA_LAST_DAY
    if not isinstance(period, dict):
        raise ValueError("period must be an object {from, to}")
    first = _parse_date(period.get("from"), "period.from")
    last = _parse_date(period.get("to"), "period.to")
    if first > last:
        raise ValueError("period.from is after period.to")
    return first, last


@dataclass(frozen=True)
class SandboxAccount:
    """One sandbox user. ``password`` is None for the administrator account, which only has a token.

    ``tags`` are titles (the guide: "the list of advertising campaigns available to the user"; the
    sandbox filters nothing by them), ``groups`` are ``(id, title)`` roles and ``date_create`` is a
    naive Moscow wall-clock time, all written as the guide's ``User.getInfo`` example writes them.
    """

    id: int
    email: str
    password: Optional[str]
    tags: Tuple[str, ...]
    groups: Tuple[Tuple[int, str], ...]
    methods: Tuple[str, ...]
    is_admin: bool
    date_create: _dt.datetime
    # Holds a three-month token issued by the administrator (User.getInfo's auth_token).
    has_admin_token: bool = False
    is_active: bool = True

    def info(self, auth_token: Optional[str]) -> JsonObj:
        """``User.getInfo``'s result: exactly the guide's keys, in the guide's order.

        ``auth_token`` is the administrator-issued token, or None (JSON null) for a user who has none.
        """
        return {
            "email": self.email,
            "auth_token": auth_token,
            "tags": [{"title": title} for title in self.tags],
            "groups": [{"id": gid, "title": title} for gid, title in self.groups],
            "methods": list(self.methods),
            "isActive": self.is_active,
            "date_create": php_datetime(self.date_create, 3, "Europe/Moscow"),
        }


@dataclass(frozen=True)
class _Campaign:
    id: int
    title: str
    status: str
    video: bool
    cpm: int  # fixed price per mille, as the doc's report implies (cpm exactly 210 and 55)
    # (ordinal, show, click, unique imps, (quartile_25, _50, _75, _100)) per day with data
    days: Tuple[Tuple[int, int, int, int, Tuple[int, int, int, int]], ...]

    def public(self) -> JsonObj:
        return {"id": self.id, "title": self.title, "status": self.status}


@dataclass(frozen=True)
class _City:
    path: Tuple[str, str, str, str]  # continent, country, region, city
    days: Tuple[Tuple[int, int, int, float], ...]  # ordinal, show, click, spent


# (title, video?, status, first day, last day, cpm); the draft campaign has no statistics at all.
_CAMPAIGNS = (
    ("name_campaign_test_Video_Jun23", True, "completed", _dt.date(2023, 6, 1), _dt.date(2023, 8, 31), 210),
    ("name_campaign_test_Banners_Jul23", False, "completed", _dt.date(2023, 7, 1), _dt.date(2023, 9, 30), 55),
    ("name_campaign_test_Video_Oct23", True, "active", _dt.date(2023, 10, 1), _dt.date(2023, 12, 31), 180),
    ("name_campaign_test_Banners_Nov23", False, "paused", _dt.date(2023, 11, 1), _dt.date(2023, 12, 15), 60),
    ("name_campaign_test_Banners_Draft", False, "draft", None, None, 50),
)

# (continent, country, region, city, typical daily shows, first day or None, last day or None)
_GEO = (
    ("Europe", "Russia", "Moscow", "Moscow", 60000, None, None),
    ("Europe", "Russia", "Moscow", "Zelenograd", 4000, None, _dt.date(2023, 11, 30)),
    ("Europe", "Russia", "Orenburg Oblast", "Orenburg", 21000, None, None),
    ("Europe", "Russia", "Orenburg Oblast", "Orsk", 6000, _dt.date(2023, 9, 1), None),
    ("Europe", "Russia", "St.-Petersburg", "Saint Petersburg", 45000, None, None),
    ("Europe", "Russia", "St.-Petersburg", "Kolpino", 3000, None, None),
    ("Europe", "Russia", "St.-Petersburg", "Pushkin", 2500, None, None),
    ("Europe", "Russia", "St.-Petersburg", "Shushary", 400, None, None),
    ("Asia", "Kazakhstan", "Almaty", "Almaty", 15000, _dt.date(2023, 8, 1), None),
)
_QUARTILES = ("quartile_25", "quartile_50", "quartile_75", "quartile_100")
_NEVER_CLICKED = "Shushary"  # keeps a click == 0 leaf (cpc 0) in every period, as in the doc


def _round3(value: float) -> Any:
    # The doc's report shows "cpm":210, i.e. PHP emits a whole rounded value without a fraction.
    rounded = round(float(value), 3)
    return int(rounded) if rounded.is_integer() else rounded


def _metrics(show: int, click: int, spent: float, rounded: bool) -> JsonObj:
    cpc: Any = spent / click if click else 0
    ctr = click / show * 100 if show else 0.0
    cpm = spent / show * 1000 if show else 0.0
    if rounded:
        return {
            "show": show,
            "click": click,
            "cpc": _round3(cpc),
            "cpm": _round3(cpm),
            "ctr": _round3(ctr),
            "spent": _round3(spent),
        }
    return {"show": show, "click": click, "cpc": cpc, "cpm": cpm, "ctr": ctr, "spent": spent}


def _days(first: _dt.date, last: _dt.date) -> List[_dt.date]:
    return [first + _dt.timedelta(days=n) for n in range((last - first).days + 1)]


class SandboxData:
    """Accounts, campaigns, clients and daily statistics generated from one seed."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.password = f"sandbox-{rng.getrandbits(48):012x}"
        self.admin, self.default, self.restricted = self._accounts(rng)
        self.accounts: Dict[int, SandboxAccount] = {
            a.id: a for a in (self.admin, self.default, self.restricted)
        }
        self.campaigns: Tuple[_Campaign, ...] = tuple(self._campaigns(rng))
        self.clients: Tuple[JsonObj, ...] = tuple(
            {"id": rng.randint(200, 299) * 10 + n, "title": title, "email": email}
            for n, (title, email) in enumerate(
                (
                    ("OOO Romashka", "ads@romashka.example"),
                    ("IP Ivanov", "ivanov@mail.example"),
                    ("Sandbox Agency", "media@agency.example"),
                )
            )
        )
        self.cities: Tuple[_City, ...] = tuple(self._cities(rng))

    def _accounts(self, rng: random.Random) -> Tuple[SandboxAccount, SandboxAccount, SandboxAccount]:
        # The ids are drawn even though User.getInfo no longer shows them: they key the token table, and
        # drawing them keeps every later value of the seeded stream where it was.
        ids = rng.sample(range(1000, 9999), 3)
        # Tags, group and creation date of the default user are the guide's example values; the others
        # follow the same style. Every date is Europe/Moscow (timezone_type 3), as in the guide.
        admin = SandboxAccount(
            ids[0],
            "admin@sandbox.tradingdesk.test",
            None,
            ("Test1_Jul23", "Test2_Jul23", "Test3_Oct23"),
            ((1, "default"), (2, "admin")),
            ALL_METHODS,
            True,
            _dt.datetime(2023, 5, 15, 9, 30, 0),
            has_admin_token=True,
        )
        default = SandboxAccount(
            ids[1],
            "demo@sandbox.tradingdesk.test",
            self.password,
            ("Test1_Jul23", "Test2_Jul23"),
            ((1, "default"),),
            ALL_METHODS,
            False,
            _dt.datetime(2023, 10, 27, 14, 21, 52),
            # The guide's example user has both kinds of token, as its "Обратите внимание" allows.
            has_admin_token=True,
        )
        restricted = SandboxAccount(
            ids[2],
            "restricted@sandbox.tradingdesk.test",
            self.password + "-r",
            ("Test1_Jul23",),
            ((1, "default"),),
            tuple(m for m in ALL_METHODS if m != "Partner.getClients"),
            False,
            _dt.datetime(2023, 7, 3, 18, 45, 10),
            # No administrator token: User.getInfo answers "auth_token": null (see sandbox.ASSUMPTIONS).
        )
        return admin, default, restricted

    @staticmethod
    def _campaigns(rng: random.Random) -> List[_Campaign]:
        ids = sorted(rng.sample(range(10000, 99999), len(_CAMPAIGNS)))
        out = []
        for cid, (title, video, status, first, last, cpm) in zip(ids, _CAMPAIGNS):
            days = []
            if first is not None and last is not None:
                ctr = rng.uniform(1.2, 1.8) if video else rng.uniform(0.15, 0.3)
                reach = rng.uniform(0.3, 0.45)
                for day in _days(first, last):
                    show = rng.randint(15000, 28000) if video else rng.randint(45000, 75000)
                    click = int(show * ctr / 100 * rng.uniform(0.8, 1.2))
                    uniq = int(show * reach * rng.uniform(0.9, 1.1))
                    quartiles = (0, 0, 0, 0)
                    if video:
                        q25 = int(show * rng.uniform(0.85, 0.9))
                        q50 = int(q25 * rng.uniform(0.93, 0.97))
                        q75 = int(q50 * rng.uniform(0.93, 0.97))
                        quartiles = (q25, q50, q75, int(q75 * rng.uniform(0.93, 0.97)))
                    days.append((day.toordinal(), show, click, uniq, quartiles))
            out.append(_Campaign(cid, title, status, video, cpm, tuple(days)))
        return out

    @staticmethod
    def _cities(rng: random.Random) -> List[_City]:
        out = []
        for continent, country, region, city, volume, first, last in _GEO:
            ctr = rng.uniform(0.08, 0.2)
            days = []
            for day in _days(first or DATA_FIRST_DAY, last or DATA_LAST_DAY):
                show = int(volume * rng.uniform(0.8, 1.2))
                click = 0 if city == _NEVER_CLICKED else int(show * ctr / 100 * rng.uniform(0.5, 1.5))
                days.append((day.toordinal(), show, click, show * rng.uniform(70.0, 140.0) / 1000))
            out.append(_City((continent, country, region, city), tuple(days)))
        return out

    def campaign(self, campaign_id: int) -> Optional[JsonObj]:
        for campaign in self.campaigns:
            if campaign.id == campaign_id:
                return campaign.public()
        return None

    def coverage_report(self, first: _dt.date, last: _dt.date) -> Any:
        """``Report.getCoverageAndInspection``: totals per campaign title, ``[]`` when nothing ran."""
        lo, hi = first.toordinal(), last.toordinal()
        report: JsonObj = {}
        for campaign in self.campaigns:
            show = click = uniq = 0
            quartiles = [0, 0, 0, 0]
            for ordinal, d_show, d_click, d_uniq, d_quartiles in campaign.days:
                if lo <= ordinal <= hi:
                    show, click, uniq = show + d_show, click + d_click, uniq + d_uniq
                    quartiles = [a + b for a, b in zip(quartiles, d_quartiles)]
            if not show:
                continue
            # Daily uniques are summed: the sandbox does not model reach overlap between days.
            row = _metrics(show, click, show * campaign.cpm / 1000, rounded=True)
            row["UniqueImps"] = uniq
            if campaign.video:
                for name, value in zip(_QUARTILES, quartiles):
                    row[name] = value
            report[campaign.title] = row
        # PHP's json_encode turns an empty associative array into [].
        return report or []

    def geo_target(self, first: _dt.date, last: _dt.date) -> Any:
        """``Statistic.getTarget`` for ``geo_id``: continent / country / region / city, plus region totals."""
        lo, hi = first.toordinal(), last.toordinal()
        tree: Dict[str, Dict[str, Dict[str, JsonObj]]] = {}
        sums: Dict[Tuple[str, str, str], List[Any]] = {}
        for city in self.cities:
            show = click = 0
            spent = 0.0
            for ordinal, d_show, d_click, d_spent in city.days:
                if lo <= ordinal <= hi:
                    show, click, spent = show + d_show, click + d_click, spent + d_spent
            if not show:
                continue
            continent, country, region, name = city.path
            tree.setdefault(continent, {}).setdefault(country, {}).setdefault(region, {})[name] = _metrics(
                show, click, spent, rounded=False
            )
            acc = sums.setdefault((continent, country, region), [0, 0, 0.0])
            acc[0], acc[1], acc[2] = acc[0] + show, acc[1] + click, acc[2] + spent
        for (continent, country, region), (show, click, spent) in sums.items():
            tree[continent][country][region]["total"] = _metrics(show, click, spent, rounded=True)
        return tree or []
