"""The models read Trading Desk's results tolerantly: PHP quirks, unknown fields, int-or-str ids, and
the geo tree of docs/reference/tradingdesk-api.md's own example."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from integrations import ProtocolError
from integrations_tradingdesk import models
from integrations_tradingdesk.models import Campaign, CampaignCoverage, Metrics, TargetNode, UserInfo

ADMIN_TOKEN = "0123456789abcdef0123456789abcdef01234567"


def user(**overrides):
    data = {
        "id": 4242,
        "email": "demo@example.test",
        "tags": ["sandbox", "demo"],
        "groups": [{"id": 2, "title": "Advertisers"}],
        "methods": ["User.getInfo", "Campaign.getList"],
        "is_active": 1,
        "auth_token": None,
        "date_create": {
            "date": "2023-06-01 12:00:00.000000",
            "timezone_type": 3,
            "timezone": "Europe/Moscow",
        },
    }
    data.update(overrides)
    return data


def test_user_info():
    info = models.structure_user_info(user())
    assert isinstance(info, UserInfo)
    assert (info.id, info.email, info.tags, info.methods) == (
        4242,
        "demo@example.test",
        ("sandbox", "demo"),
        ("User.getInfo", "Campaign.getList"),
    )
    assert info.groups[0].id == 2 and info.groups[0].title == "Advertisers"
    assert info.is_active is True
    assert info.created_at == dt.datetime(2023, 6, 1, 9, 0, tzinfo=dt.timezone.utc)
    assert info.created_at.utcoffset() == dt.timedelta(hours=3)
    assert info.can_call("Campaign.getList") and not info.can_call("Partner.getClients")
    assert info.extra == {}


def test_the_administrator_token_is_never_kept():
    info = models.structure_user_info(user(auth_token=ADMIN_TOKEN))
    assert ADMIN_TOKEN not in repr(info)
    assert ADMIN_TOKEN not in str(attrs.asdict(info))
    assert "auth_token" not in info.extra
    assert "demo@example.test" not in repr(info)  # the login stays out of logs too


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), (0, False), ("1", True), ("0", False), (True, True), (False, False), ("true", True)],
)
def test_is_active_in_every_php_form(value, expected):
    assert models.structure_user_info(user(is_active=value)).is_active is expected


@pytest.mark.parametrize(
    ("date_create", "utc"),
    [
        (
            {"date": "2023-05-15 09:30:00.250000", "timezone_type": 1, "timezone": "+03:00"},
            dt.datetime(2023, 5, 15, 6, 30, 0, 250000, tzinfo=dt.timezone.utc),
        ),
        (
            {"date": "2023-07-03 18:45:10.123456", "timezone_type": 2, "timezone": "MSK"},
            dt.datetime(2023, 7, 3, 15, 45, 10, 123456, tzinfo=dt.timezone.utc),
        ),
        (
            {"date": "2023-07-03 18:45:10.123456", "timezone_type": 2, "timezone": "EDT"},
            dt.datetime(2023, 7, 3, 22, 45, 10, 123456, tzinfo=dt.timezone.utc),
        ),
        (
            {"date": "2023-01-10 12:00:00.000000", "timezone_type": 3, "timezone": "Europe/Berlin"},
            dt.datetime(2023, 1, 10, 11, 0, tzinfo=dt.timezone.utc),
        ),
        (
            {"date": "2023-07-10 12:00:00.000000", "timezone_type": 3, "timezone": "Europe/Berlin"},
            dt.datetime(2023, 7, 10, 10, 0, tzinfo=dt.timezone.utc),
        ),
        (
            {"date": "2023-07-10 12:00:00.000000", "timezone_type": 3, "timezone": "UTC"},
            dt.datetime(2023, 7, 10, 12, 0, tzinfo=dt.timezone.utc),
        ),
        # An abbreviation nobody knows is read as UTC (and logged), rather than failing the whole call.
        (
            {"date": "2023-07-10 12:00:00.000000", "timezone_type": 2, "timezone": "XYZT"},
            dt.datetime(2023, 7, 10, 12, 0, tzinfo=dt.timezone.utc),
        ),
        ("2023-07-10 12:00:00", dt.datetime(2023, 7, 10, 12, 0, tzinfo=dt.timezone.utc)),
    ],
)
def test_created_at_from_every_php_datetime_form(date_create, utc):
    created = models.structure_user_info(user(date_create=date_create)).created_at
    assert created.tzinfo is not None
    assert created == utc


def test_an_unreadable_date_does_not_cost_the_rest():
    info = models.structure_user_info(user(date_create={"when": "yesterday"}))
    assert info.created_at is None and info.extra["date_create"] == {"when": "yesterday"}
    assert info.email == "demo@example.test"


def test_unknown_fields_are_kept_in_extra():
    info = models.structure_user_info(user(balance=12.5, phone="+7"))
    assert info.extra == {"balance": 12.5, "phone": "+7"}


def test_php_empty_array_is_an_empty_object():
    assert models.structure_user_info([]) == UserInfo()
    assert models.structure_coverage([]) == {}
    assert models.structure_target([], "geo_id", None, None).roots == {}
    assert models.structure_campaigns([]) == () == models.structure_campaigns({})
    with pytest.raises(ProtocolError):
        models.structure_user_info("nope")


def test_campaigns_with_int_or_str_ids_and_unknown_fields():
    campaigns = models.structure_campaigns(
        [
            {"id": 49755, "title": "Video", "status": "completed"},
            {"id": "63075", "name": "Banners", "status": "active", "budget": 1000},
            {"id": "cmp-7", "title": None},
        ]
    )
    assert [c.id for c in campaigns] == [49755, 63075, "cmp-7"]
    assert campaigns[1] == Campaign(id=63075, title="Banners", status="active", extra={"budget": 1000})
    assert campaigns[2].title is None and campaigns[2].status is None


def test_a_php_array_with_sparse_keys_arrives_as_an_object():
    campaigns = models.structure_campaigns({"49755": {"id": 49755, "title": "a"}, "63075": {"id": 63075}})
    assert [c.id for c in campaigns] == [49755, 63075]


@pytest.mark.parametrize("bad", [[{"title": "no id"}], [{"id": True}], [{"id": ""}], ["x"], "x"])
def test_campaigns_without_a_usable_id_are_protocol_errors(bad):
    with pytest.raises(ProtocolError):
        models.structure_campaigns(bad)


def test_partner_clients():
    (client,) = models.structure_partner_clients([{"id": 2000, "title": "OOO Romashka", "email": "a@b.test"}])
    assert (client.id, client.title, client.email) == (2000, "OOO Romashka", "a@b.test")
    assert "a@b.test" not in repr(client)


# The docs/reference/tradingdesk-api.md Report.getCoverageAndInspection example, verbatim.
COVERAGE = {
    "name_campaign_test_Video_Jun23": {
        "show": 1951130,
        "click": 29574,
        "cpc": 13.855,
        "cpm": 210,
        "ctr": 1.516,
        "spent": 409737.3,
        "UniqueImps": 746352,
        "quartile_25": 1716342,
        "quartile_50": 1624440,
        "quartile_75": 1551103,
        "quartile_100": 1483318,
    },
    "name_campaign_test_Banners_Jul23": {
        "show": 5382165,
        "click": 11687,
        "cpc": 25.329,
        "cpm": 55,
        "ctr": 0.217,
        "spent": 296019.075,
        "UniqueImps": 1746331,
    },
}


def test_coverage_rows():
    report = models.structure_coverage(COVERAGE)
    assert list(report) == list(COVERAGE)
    video, banners = report.values()
    assert isinstance(video, CampaignCoverage) and video.name == "name_campaign_test_Video_Jun23"
    assert (video.show, video.click, video.unique_imps) == (1951130, 29574, 746352)
    assert video.cpm == 210.0 and isinstance(video.cpm, float)
    assert video.video_quartiles == (1716342, 1624440, 1551103, 1483318)
    assert banners.video_quartiles is None and banners.quartile_25 is None
    assert banners.spent == pytest.approx(296019.075)
    assert video.extra == {}


def test_coverage_tolerates_spelling_and_new_fields():
    report = models.structure_coverage(
        {
            "c": {
                "show": "10",
                "click": 1,
                "cpc": "2.5",
                "cpm": 250,
                "ctr": 10,
                "spent": 2.5,
                "uniqueImps": 7,
                "viewability": 0.9,
            }
        }
    )
    row = report["c"]
    assert (row.show, row.cpc, row.unique_imps, row.extra) == (10, 2.5, 7, {"viewability": 0.9})


@pytest.mark.parametrize(
    "row",
    [
        {"click": 1, "cpc": 1, "cpm": 1, "ctr": 1, "spent": 1},
        {"show": "many", "click": 1, "cpc": 1, "cpm": 1, "ctr": 1, "spent": 1},
        {"show": 1.5, "click": 1, "cpc": 1, "cpm": 1, "ctr": 1, "spent": 1},
        {"show": True, "click": 1, "cpc": 1, "cpm": 1, "ctr": 1, "spent": 1},
    ],
)
def test_malformed_metrics_are_protocol_errors(row):
    with pytest.raises(ProtocolError):
        models.structure_coverage({"c": row})


# The docs/reference/tradingdesk-api.md Statistic.getTarget example, verbatim.
GEO = {
    "Europe": {
        "Russia": {
            "Orenburg Oblast": {
                "Orenburg": {
                    "show": 21646,
                    "click": 26,
                    "cpc": 87.71187310212129,
                    "cpm": 105.35473993602298,
                    "ctr": 0.12011457082139887,
                    "spent": 2280.5087006551535,
                },
                "total": {
                    "show": 21646,
                    "click": 26,
                    "cpc": 87.712,
                    "cpm": 105.355,
                    "ctr": 0.12,
                    "spent": 2280.509,
                },
            }
        }
    }
}


def test_geo_tree_from_the_documented_example():
    stats = models.structure_target(GEO, "geo_id", dt.date(2023, 10, 29), dt.date(2023, 10, 29))
    region = stats.node("Europe", "Russia", "Orenburg Oblast")
    assert isinstance(region, TargetNode) and region.metrics is None
    assert list(region.children) == ["Orenburg"]  # "total" is not a city
    assert region.total == Metrics(show=21646, click=26, cpc=87.712, cpm=105.355, ctr=0.12, spent=2280.509)
    city = stats["Europe"]["Russia"]["Orenburg Oblast"]["Orenburg"]
    assert city.metrics.cpc == 87.71187310212129  # leaves are not rounded; float keeps every digit
    assert city.children == {}
    assert [path for path, _ in stats.leaves()] == [("Europe", "Russia", "Orenburg Oblast", "Orenburg")]
    assert [path for path, _ in stats.walk()][:2] == [("Europe",), ("Europe", "Russia")]
    assert stats.target_name == "geo_id" and stats.date_from == dt.date(2023, 10, 29)


def test_geo_tree_of_any_depth_with_totals_anywhere():
    tree = {
        "Asia": {
            "total": {"show": 5, "click": 0, "cpc": 0, "cpm": 1, "ctr": 0, "spent": 0.005},
            "Almaty": {"show": 5, "click": 0, "cpc": 0, "cpm": 1, "ctr": 0, "spent": 0.005},
        },
        "Empty": [],
    }
    stats = models.structure_target(tree, "geo_id", None, None)
    assert stats["Asia"].total.show == 5 and stats["Asia"]["Almaty"].metrics.cpc == 0.0
    assert stats["Empty"].children == {} and stats["Empty"].metrics is None
