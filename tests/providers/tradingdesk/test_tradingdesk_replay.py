"""Trading Desk through the host, replayed from cassettes recorded against the sandbox.

Re-record with ``pytest tests/providers/tradingdesk --integrations-record-mode=rewrite``. Every
assertion holds both while recording (real sandbox values) and on replay (redacted placeholders).
"""

from __future__ import annotations

import datetime as dt

import pytest

from integrations import RpcError
from integrations_tradingdesk import RpcCall
from integrations_tradingdesk.models import Campaign, CampaignCoverage, Metrics, PartnerClient, UserInfo
from integrations_tradingdesk.sandbox_data import ALL_METHODS

DAY = 86400.0


def test_user_info(integrations_session):
    with integrations_session("tradingdesk") as s:
        info = s.client.user_info()
    assert isinstance(info, UserInfo)
    assert set(info.methods) == set(ALL_METHODS)
    # The guide's example user (docs/seeds/002_7fd84ed93695604f.txt, User.getInfo), as the sandbox serves it.
    assert [g.title for g in info.groups] == ["default"]
    assert info.tags == ("Test1_Jul23", "Test2_Jul23") and info.is_active is True
    assert info.created_at == dt.datetime(2023, 10, 27, 11, 21, 52, tzinfo=dt.timezone.utc)
    assert info.created_at.utcoffset() == dt.timedelta(hours=3)  # Europe/Moscow, from PHP's DateTime
    assert info.email and info.id is None  # the guide's reply carries no id


def test_campaigns_and_one_campaign(integrations_session):
    with integrations_session("tradingdesk") as s:
        campaigns = s.client.campaigns()
        first = s.client.campaign(campaigns[0].id)
        again = s.client.campaign(str(campaigns[-1].id))
    assert len(campaigns) == 5 and all(isinstance(c, Campaign) for c in campaigns)
    assert {c.status for c in campaigns} == {"completed", "active", "paused", "draft"}
    assert all(isinstance(c.id, int) and c.title for c in campaigns)
    assert first == campaigns[0] and again == campaigns[-1]


def test_unknown_campaign_is_an_rpc_error_with_its_data(integrations_session):
    with integrations_session("tradingdesk") as s:
        with pytest.raises(RpcError) as info:
            s.client.campaign(1)
        with pytest.raises(RpcError) as missing:
            s.client.rpc("Campaign.archive", {"id": 1})
    assert (info.value.rpc_code, info.value.message, info.value.data) == (
        -32005,
        "Campaign not found",
        {"id": 1},
    )
    assert info.value.provider == "tradingdesk" and info.value.status == 200
    assert missing.value.rpc_code == -32601


def test_partner_clients(integrations_session):
    with integrations_session("tradingdesk") as s:
        clients = s.client.partner_clients()
    assert len(clients) == 3 and all(isinstance(c, PartnerClient) for c in clients)
    assert [c.title for c in clients] == ["OOO Romashka", "IP Ivanov", "Sandbox Agency"]
    assert all(isinstance(c.id, int) and c.email for c in clients)


def test_coverage_over_every_campaigns_lifetime(integrations_session):
    with integrations_session("tradingdesk") as s:
        report = s.client.coverage_and_inspection()
    assert len(report) == 4  # the draft campaign never ran
    for name, row in report.items():
        assert isinstance(row, CampaignCoverage) and row.name == name
        assert 0 < row.unique_imps <= row.show
        assert row.ctr == pytest.approx(row.click / row.show * 100, abs=5e-4)  # a percent
        assert row.cpm == pytest.approx(row.spent / row.show * 1000, abs=1e-3)
        assert (row.video_quartiles is not None) == ("Video" in name)
    video = report["name_campaign_test_Video_Jun23"]
    assert video.show >= video.quartile_25 >= video.quartile_50 >= video.quartile_75 >= video.quartile_100 > 0


def test_coverage_for_a_period(integrations_session):
    with integrations_session("tradingdesk") as s:
        whole = s.client.coverage_and_inspection()
        november = s.client.coverage_and_inspection("2023-11-01", dt.date(2023, 11, 30))
        one_day = s.client.coverage_and_inspection("2023-09-01", "2023-09-01")
    assert set(november) == {"name_campaign_test_Video_Oct23", "name_campaign_test_Banners_Nov23"}
    assert set(one_day) == {"name_campaign_test_Banners_Jul23"}
    for name, row in november.items():
        assert row.show < whole[name].show


def test_target_statistics_geo_tree(integrations_session):
    with integrations_session("tradingdesk") as s:
        tree = s.client.target_statistics("geo_id", "2023-10-01", "2023-10-31")
    assert tree.target_name == "geo_id"
    assert (tree.date_from, tree.date_to) == (dt.date(2023, 10, 1), dt.date(2023, 10, 31))
    assert set(tree.roots) == {"Europe", "Asia"}
    spb = tree.node("Europe", "Russia", "St.-Petersburg")
    assert set(spb.children) == {"Saint Petersburg", "Kolpino", "Pushkin", "Shushary"}
    assert spb["Shushary"].metrics.click == 0 and spb["Shushary"].metrics.cpc == 0
    regions = [node for _path, node in tree.walk() if node.total is not None]
    assert len(regions) == 4
    for region in regions:
        cities = [child.metrics for child in region.children.values()]
        assert all(isinstance(m, Metrics) for m in cities)
        assert region.total.show == sum(m.show for m in cities)
        assert region.total.click == sum(m.click for m in cities)
    assert len(list(tree.leaves())) == 9


def test_a_refresh_mid_session(integrations_session):
    with integrations_session("tradingdesk") as s:
        s.client.user_info()
        first = s.client.client.tokens.peek()
        s.clock.advance(7 * DAY - 60)  # a minute before expiry: inside the leeway
        assert s.client.campaigns()
        second = s.client.client.tokens.peek()
        assert second.access != first.access and second.refresh != first.refresh
        assert second.expires_at == pytest.approx(s.clock.now() + 7 * DAY, abs=1)
        assert (s.client.client.tokens.authentications, s.client.client.tokens.refreshes) == (1, 1)
        if s.sandbox is not None:
            assert (s.sandbox.emulator.auth_count, s.sandbox.emulator.refresh_count) == (1, 1)


def test_php_datetime_expiries(integrations_session):
    with integrations_session("tradingdesk", sandbox={"expiry_format": "php"}) as s:
        s.client.user_info()
        token = s.client.client.tokens.peek()
        assert token.expires_at == pytest.approx(s.clock.now() + 7 * DAY, abs=1)
        assert token.refresh_expires_at == pytest.approx(s.clock.now() + 60 * DAY, abs=1)


def test_batch(integrations_session):
    with integrations_session("tradingdesk") as s:
        outcomes = s.client.batch(
            [
                ("User.getInfo", None),
                ("Campaign.getInfo", {"id": 1}),
                RpcCall("notify_hello", {"value": 7}, notify=True),
                ("subtract", {"minuend": 42, "subtrahend": 23}),
            ]
        )
    assert [o.ok for o in outcomes] == [True, False, True, True]
    assert set(outcomes[0].result["methods"]) == set(ALL_METHODS)
    assert outcomes[1].error.rpc_code == -32005
    assert outcomes[2].notification
    assert outcomes[3].result == 19
