"""The live Trading Desk sandbox answers in the documented shapes.

Every reply example of the Trading Desk guide (docs/seeds/002_7fd84ed93695604f.txt) and every published
reply example of docs/reference/tradingdesk-api.md is copied below verbatim. The equivalent request goes
to the sandbox over HTTP with plain ``requests`` (integer ids, as the guide sends them), and the reply's
*shape* must equal the example's: the same keys with the same casing, the same nesting and the same
JSON value types, nothing extra and nothing missing. Values may differ.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

from integrations import sandbox
from integrations.sandbox import RunningSandbox
from integrations.testing.shapes import json_shape

# -- the documented examples, verbatim --------------------------------------------------------------

# docs/seeds/002_7fd84ed93695604f.txt, "Метод "User.auth"", "Пример использования метода", // Запрос
# The guides' examples, verbatim, one file each (their sources: tests/documented/examples/README.md).
EXAMPLES = Path(__file__).resolve().parents[2] / "documented" / "examples"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


GUIDE_USER_AUTH_REQUEST = example("tradingdesk/user_auth_request.json")

# docs/seeds/002_7fd84ed93695604f.txt, "Метод "User.auth"", "Пример использования метода", // Ответ
GUIDE_USER_AUTH_REPLY = example("tradingdesk/user_auth_reply.json")

# docs/seeds/002_7fd84ed93695604f.txt, "Метод "User.tokenRefresh"", "Пример использования метода", // Запрос
GUIDE_TOKEN_REFRESH_REQUEST = example("tradingdesk/token_refresh_request.json")

# docs/seeds/002_7fd84ed93695604f.txt, "Метод "User.tokenRefresh"", "Пример использования метода", // Ответ
GUIDE_TOKEN_REFRESH_REPLY = example("tradingdesk/token_refresh_reply.json")

# docs/seeds/002_7fd84ed93695604f.txt, "Метод "User.getInfo"", "Пример использования метода", // Запрос
GUIDE_USER_GET_INFO_REQUEST = example("tradingdesk/user_get_info_request.json")

# docs/seeds/002_7fd84ed93695604f.txt, "Метод "User.getInfo"", "Пример использования метода", // Ответ
GUIDE_USER_GET_INFO_REPLY = example("tradingdesk/user_get_info_reply.json")

# docs/reference/tradingdesk-api.md, §1 "Report.getCoverageAndInspection [C S4]": the request ...
REFERENCE_COVERAGE_REQUEST = (
    """{"jsonrpc":"2.0","method":"Report.getCoverageAndInspection","params":{},"id":1}"""
)

# ... and, after the arrow, its reply.
REFERENCE_COVERAGE_REPLY = """{"jsonrpc":"2.0","id":1,"result":{
   "name_campaign_test_Video_Jun23":{"show":1951130,"click":29574,"cpc":13.855,"cpm":210,"ctr":1.516,
     "spent":409737.3,"UniqueImps":746352,"quartile_25":1716342,"quartile_50":1624440,
     "quartile_75":1551103,"quartile_100":1483318},
   "name_campaign_test_Banners_Jul23":{"show":5382165,"click":11687,"cpc":25.329,"cpm":55,"ctr":0.217,
     "spent":296019.075,"UniqueImps":1746331}}}"""

# docs/reference/tradingdesk-api.md, §1 "Statistic.getTarget [C S3]": the request ...
REFERENCE_TARGET_REQUEST = """{"jsonrpc":"2.0","method":"Statistic.getTarget",
 "params":{"targetName":"geo_id","period":{"from":"2023-10-29","to":"2023-10-29"}},"id":1}"""

# ... and its reply (shortened there: the source also has the region "St.-Petersburg" with four cities).
REFERENCE_TARGET_REPLY = """{"jsonrpc":"2.0","id":1,"result":{"Europe":{"Russia":{"Orenburg Oblast":{
  "Orenburg":{"show":21646,"click":26,"cpc":87.71187310212129,"cpm":105.35473993602298,
              "ctr":0.12011457082139887,"spent":2280.5087006551535},
  "total":{"show":21646,"click":26,"cpc":87.712,"cpm":105.355,"ctr":0.12,"spent":2280.509}}}}}}"""


# -- the one comparison helper --------------------------------------------------------------------


def shape(value: Any) -> Any:
    """JSON's one number type: the documents print ``cpm`` as 210 and ``cpc`` as 13.855."""
    return json_shape(value, numbers="json")


# -- talking to the live sandbox ------------------------------------------------------------------


@pytest.fixture
def td() -> Iterator[RunningSandbox]:
    with sandbox.running("tradingdesk") as sb:
        yield sb


def post(sb: RunningSandbox, method: str, body: Any, token: Optional[str] = None) -> Any:
    """POST ``body`` (a JSON text, or a value to encode) to ``{base}/api/v2/?method=<method>``."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, str) else json.dumps(body)
    url = f"{sb.base_urls['api']}/api/v2/"
    response = requests.post(url, params={"method": method}, data=data.encode(), headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def documented(request_text: str, **params: Any) -> Dict[str, Any]:
    """A documented request with its placeholder params replaced by real values."""
    request: Dict[str, Any] = json.loads(request_text)
    assert set(params) <= set(request["params"])
    request["params"].update(params)
    return request


def login(sb: RunningSandbox) -> Dict[str, Any]:
    reply = post(sb, "User.auth", documented(GUIDE_USER_AUTH_REQUEST, **sb.credentials))
    pair: Dict[str, Any] = reply["result"]
    return pair


def envelope(reply: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in reply.items() if key != "result"}


# -- the guide's examples ---------------------------------------------------------------------------


def test_user_auth_answers_in_the_guides_shape(td: RunningSandbox) -> None:
    example = json.loads(GUIDE_USER_AUTH_REPLY)
    request = documented(GUIDE_USER_AUTH_REQUEST, **td.credentials)
    assert request["id"] == 1
    reply = post(td, "User.auth", request)
    assert shape(reply) == shape(example)
    assert reply["id"] == 1 and type(reply["id"]) is int
    # The documented type is a number: an integer, like the example's 0.
    assert type(reply["result"]["expire_access_token"]) is int
    assert type(reply["result"]["expire_refresh_token"]) is int


def test_user_token_refresh_answers_in_the_guides_shape(td: RunningSandbox) -> None:
    example = json.loads(GUIDE_TOKEN_REFRESH_REPLY)
    refresh_token = login(td)["refresh_token"]
    reply = post(
        td, "User.tokenRefresh", documented(GUIDE_TOKEN_REFRESH_REQUEST, refresh_token=refresh_token)
    )
    assert shape(reply) == shape(example)
    assert reply["id"] == 1 and type(reply["id"]) is int
    assert type(reply["result"]["expire_access_token"]) is int
    assert type(reply["result"]["expire_refresh_token"]) is int


def test_user_get_info_answers_in_the_guides_shape(td: RunningSandbox) -> None:
    example = json.loads(GUIDE_USER_GET_INFO_REPLY)
    token = login(td)["access_token"]
    reply = post(td, "User.getInfo", documented(GUIDE_USER_GET_INFO_REQUEST), token=token)
    assert shape(reply) == shape(example)
    # The keys also come in the guide's order.
    assert list(reply["result"]) == list(example["result"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}", reply["result"]["date_create"]["date"])
    # The default user's own values follow the example where that makes sense (it is active, though).
    for key in ("tags", "groups", "date_create"):
        assert reply["result"][key] == example["result"][key], key
    assert reply["result"]["methods"][: len(example["result"]["methods"])] == example["result"]["methods"]


# -- the reference's published examples -----------------------------------------------------------


def test_coverage_report_answers_in_the_documented_shape(td: RunningSandbox) -> None:
    example = json.loads(REFERENCE_COVERAGE_REPLY)
    token = login(td)["access_token"]
    reply = post(td, "Report.getCoverageAndInspection", REFERENCE_COVERAGE_REQUEST, token=token)
    assert shape(envelope(reply)) == shape(envelope(example))
    # The result is keyed by campaign name, which is data: the sandbox has both documented campaigns,
    # each shaped like its example row, and every other row is shaped like one of them (video or banner).
    report, rows = reply["result"], example["result"]
    for name, row in rows.items():
        assert shape(report[name]) == shape(row), name
    assert shape(rows["name_campaign_test_Video_Jun23"]) != shape(rows["name_campaign_test_Banners_Jul23"])
    documented_rows = [shape(row) for row in rows.values()]
    assert all(shape(row) in documented_rows for row in report.values())
    for row in report.values():
        counts = [key for key in row if key in ("show", "click", "UniqueImps") or key.startswith("quartile_")]
        assert all(type(row[key]) is int for key in counts)


def test_target_statistics_answer_in_the_documented_shape(td: RunningSandbox) -> None:
    example = json.loads(REFERENCE_TARGET_REPLY)
    token = login(td)["access_token"]
    reply = post(td, "Statistic.getTarget", REFERENCE_TARGET_REQUEST, token=token)
    assert shape(envelope(reply)) == shape(envelope(example))
    documented_region = example["result"]["Europe"]["Russia"]["Orenburg Oblast"]
    region = reply["result"]["Europe"]["Russia"]["Orenburg Oblast"]
    assert shape(region["Orenburg"]) == shape(documented_region["Orenburg"])
    assert shape(region["total"]) == shape(documented_region["total"])
    # Place names are data: every region of the tree, at the documented depth (continent → country →
    # region), holds cities shaped like the documented city and a "total" shaped like the documented one.
    regions: List[Dict[str, Any]] = [
        reg
        for continent in reply["result"].values()
        for country in continent.values()
        for reg in country.values()
    ]
    assert len(regions) >= 2
    for reg in regions:
        assert shape(reg["total"]) == shape(documented_region["total"])
        cities = {name: metrics for name, metrics in reg.items() if name != "total"}
        assert cities
        assert all(shape(metrics) == shape(documented_region["Orenburg"]) for metrics in cities.values())
        assert all(type(metrics["show"]) is int and type(metrics["click"]) is int for metrics in reg.values())


# -- ids and the guide's literal expiry ------------------------------------------------------------


@pytest.mark.parametrize("request_id", [1, "1"], ids=["int", "string"])
def test_an_id_comes_back_with_its_own_type(td: RunningSandbox, request_id: Any) -> None:
    token = login(td)["access_token"]
    body = {"jsonrpc": "2.0", "method": "User.getInfo", "params": {}, "id": request_id}
    reply = post(td, "User.getInfo", body, token=token)
    assert reply["id"] == request_id and type(reply["id"]) is type(request_id)
    failed = post(td, "User.getInfo", body)  # no token: an error reply echoes the id just the same
    assert "error" in failed
    assert failed["id"] == request_id and type(failed["id"]) is type(request_id)


def test_int_and_string_ids_each_come_back_with_their_own_type_in_one_batch(td: RunningSandbox) -> None:
    token = login(td)["access_token"]
    batch = [
        {"jsonrpc": "2.0", "method": "User.getInfo", "params": {}, "id": 1},
        {"jsonrpc": "2.0", "method": "User.getInfo", "params": {}, "id": "1"},
    ]
    replies = post(td, "User.getInfo", batch, token=token)
    assert sorted((type(r["id"]).__name__, r["id"]) for r in replies) == [("int", 1), ("str", "1")]
    example = json.loads(GUIDE_USER_GET_INFO_REPLY)
    assert all(shape(r["result"]) == shape(example["result"]) for r in replies)


def test_expiry_format_zero_sends_the_guides_literal_zero() -> None:
    with sandbox.running("tradingdesk", expiry_format="zero") as sb:
        pair = login(sb)
        refreshed = post(
            sb,
            "User.tokenRefresh",
            documented(GUIDE_TOKEN_REFRESH_REQUEST, refresh_token=pair["refresh_token"]),
        )
        # Apart from the token values, the replies are the guide's examples exactly.
        auth = post(sb, "User.auth", documented(GUIDE_USER_AUTH_REQUEST, **sb.credentials))
        for reply, example in ((auth, GUIDE_USER_AUTH_REPLY), (refreshed, GUIDE_TOKEN_REFRESH_REPLY)):
            result = {**reply["result"], "access_token": "string", "refresh_token": "string"}
            assert {**reply, "result": result} == json.loads(example)
            assert type(reply["result"]["expire_access_token"]) is int
        # The tokens themselves still work.
        assert "result" in post(
            sb, "User.getInfo", documented(GUIDE_USER_GET_INFO_REQUEST), refreshed["result"]["access_token"]
        )
