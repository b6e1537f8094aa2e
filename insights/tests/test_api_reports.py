"""The reports API (insights/report_api.py): shapes, the pages' permissions (outsider
404, agent 403 on money, an agent's own Support row), bad input, query counts for 1
and 365 days, and the streamed CSV."""

import csv
import datetime
import io
import json
import uuid
import zoneinfo

import jsonschema
import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.services.conversations import start_conversation_with_message
from insights.models import DailyFigure
from insights.services import rollups
from insights.tests.factories import make_campaign
from insights.tests.helpers import customer_with_card
from insights.tests.report_data import activity, conversation, figure
from payments.services import orders as order_services
from payments.services import paying
from payments.tests.factories import PIN

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MONEY = ("overview/", "timeseries/", "breakdowns/source/", "conversations/",
         "conversations/export/")  # fmt: skip
ALL = (*MONEY, "support/")


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _url(business, path: str) -> str:
    return f"/api/v1/businesses/{business.slug}/insights/{path}"


def _today(business):
    return timezone.now().astimezone(business.tz).date()


@pytest.fixture
def seeded(owner, agent, business):
    """Rollups on two days of the last 7 and one day of the 7 before; four conversations
    today (one handled by the agent)."""
    today = _today(business)
    yesterday = today - datetime.timedelta(days=1)
    figure(business, today, conversations=4, bought=1, unpaid=1, requests=2, paid=1,
           gross=10_000, fee=399, messages_in=5)  # fmt: skip
    figure(business, yesterday, conversations=6, bought=2, unpaid=1, requests=3, paid=3,
           gross=20_000, fee=798, refunds=1_000)  # fmt: skip
    figure(business, today - datetime.timedelta(days=8), conversations=5, bought=1, paid=1,
           gross=15_000, fee=600)  # fmt: skip
    figure(business, today, "source", "instagram", conversations=3, bought=1, paid=1,
           gross=10_000, fee=399)  # fmt: skip
    figure(business, yesterday, "source", "", conversations=7, bought=2, unpaid=2, paid=3,
           gross=20_000, fee=798, refunds=1_000)  # fmt: skip
    figure(business, today, "response", "gt24h", conversations=2, unpaid=1)
    figure(business, today, "response", "lt5m", conversations=2, bought=1)
    figure(business, today, "hour", "14", conversations=1)
    figure(business, today, "hour", "9", conversations=3, bought=1)
    figure(business, today, "agent", str(agent.pk), conversations=1, messages_out=4, resolved=1)
    figure(business, today, "agent", str(owner.pk), conversations=2, messages_out=7)
    campaign = make_campaign(owner, business, name="Flyer", code="flyer")
    figure(business, today, "campaign", str(campaign.pk), conversations=3, bought=2)
    product = make_product(owner, business, name="Bolo de fubá")
    now = timezone.now()
    facts = [
        conversation(business, UserFactory(display_name="Ana"), started_at=now,
                     outcome="unpaid", source="instagram", campaign=campaign, response=120),
        conversation(business, UserFactory(display_name="Bia"), started_at=now,
                     outcome="none", product=product, response=100_000, agent=agent),
        conversation(business, UserFactory(display_name="=cmd|' /C calc'!A0"), started_at=now,
                     outcome="bought", revenue=9_601, agent=owner, response=4000),
        conversation(business, UserFactory(display_name="Duda"), started_at=now),
    ]  # fmt: skip
    for fact in facts[:3]:
        activity(fact, today, incoming=2)
    return {"campaign": campaign, "product": product, "facts": facts, "today": today}


# --- Shapes -----------------------------------------------------------------------------


def test_overview_figures_previous_period_and_change(owner, business, seeded):
    body = _client(owner).get(_url(business, "overview/") + "?range=7", **EN).json()
    today = seeded["today"]
    assert body["period"] == {
        "first": (today - datetime.timedelta(days=6)).isoformat(), "last": today.isoformat(),
        "range": "7", "group": "day", "notes": [],
    }  # fmt: skip
    assert body["previous_period"]["last"] == (today - datetime.timedelta(days=7)).isoformat()
    assert body["currency"] == "BRL"
    current, previous, change = body["current"], body["previous"], body["change"]
    assert current["conversations"] == 10 and previous["conversations"] == 5
    assert change["conversations"] == "100.0"
    assert current["customers"] == 3
    assert (current["requests"], current["paid"]) == (5, 4)
    assert current["conversion"] == "30.0" and previous["conversion"] == "20.0"
    assert (current["gross"], current["fee"], current["refunds"]) == (30_000, 1_197, 1_000)
    assert current["net"] == 30_000 - 1_197 - 1_000 and isinstance(current["net"], int)
    assert current["average_order_value"] == 7_500
    assert current["revenue_per_conversation"] == 2_780
    assert change["refunds"] is None  # nothing refunded before: no percentage


def test_timeseries_one_item_per_bucket_with_sums_and_net(owner, business, seeded):
    client = _client(owner)
    body = client.get(_url(business, "timeseries/") + "?range=7&group=day").json()
    assert len(body["results"]) == 7
    last = body["results"][-1]
    assert last["first"] == last["last"] == seeded["today"].isoformat()
    assert (last["conversations"], last["paid"], last["gross"]) == (4, 1, 10_000)
    assert last["net"] == 10_000 - 399 and last["conversion"] == "25.0"
    assert sum(item["net"] for item in body["results"]) == 30_000 - 1_197 - 1_000
    weeks = client.get(_url(business, "timeseries/") + "?range=90&group=week").json()
    assert weeks["period"]["group"] == "week"
    assert sum(item["conversations"] for item in weeks["results"]) == 15
    first = weeks["results"][0]
    assert first["first"] == weeks["period"]["first"]  # cut at the period's start


def test_breakdowns_per_dimension(owner, business, seeded, agent):
    client = _client(owner)

    def results(dim):
        response = client.get(_url(business, f"breakdowns/{dim}/") + "?range=7", **EN)
        assert response.status_code == 200, dim
        assert response.json()["dim"] == dim
        return response.json()["results"]

    sources = {item["name"]: item for item in results("source")}
    assert sources["Direct"]["key"] == "" and sources["Direct"]["conversations"] == 7
    assert sources["instagram"]["net"] == 10_000 - 399
    assert sources["Direct"]["conversion"] == "28.6" and sources["Direct"]["no_request"] == 3
    assert [i["key"] for i in results("response")] == ["lt5m", "gt24h"]  # fastest first
    assert [i["name"] for i in results("hour")] == ["09:00", "14:00"]
    campaign = results("campaign")[0]
    assert (campaign["name"], campaign["key"]) == ("Flyer", str(seeded["campaign"].pk))
    assert {i["key"] for i in results("agent")} == {str(agent.pk), str(owner.pk)}
    assert results("label") == [] and results("product") == []


def test_support_for_the_owner_lists_every_agent(owner, agent, business, seeded):
    body = _client(owner).get(_url(business, "support/") + "?range=7", **EN).json()
    assert body["total"]["conversations"] == 10 and body["total"]["messages_in"] == 5
    assert {row["key"] for row in body["agents"]} >= {str(agent.pk), str(owner.pk)}
    times = body["total"]["times"]
    assert set(times) == {"all", "inside_hours", "outside_hours"}
    assert times["all"]["response_median"] == 4000  # of 120, 4000, 100000
    assert len(body["heatmap"]) == 7 and all(len(day) == 24 for day in body["heatmap"])
    assert [d["score"] for d in body["total"]["distribution"]] == [5, 4, 3, 2, 1]


def test_conversations_list_is_paginated_with_the_drill_down_filters(owner, business, seeded):
    client = _client(owner)
    url = _url(business, "conversations/")
    body = client.get(url + "?range=7&limit=3").json()
    ids = [c["conversation_id"] for c in body["results"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)  # newest first
    rest = client.get(body["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    assert set(ids) | {rest["results"][0]["conversation_id"]} == {
        f.conversation_id for f in seeded["facts"]
    }
    bought = client.get(url + "?range=7&outcome=bought").json()
    (row,) = bought["results"]
    assert row["contact"] == "=cmd|' /C calc'!A0"  # JSON is no spreadsheet: as typed
    assert (row["revenue"], row["outcome"], row["agent_id"]) == (9_601, "bought", owner.pk)
    assert bought["filters"]["outcome"] == "bought"
    product = seeded["product"]
    by_product = client.get(url + f"?range=7&dim=product&key={product.pk}").json()
    assert [r["product"] for r in by_product["results"]] == ["Bolo de fubá"]
    lost = client.get(url + "?range=7&outcome=lost").json()
    assert sorted(r["contact"] for r in lost["results"]) == ["Ana", "Bia"]
    slow = client.get(url + "?range=7&bucket=gt24h").json()
    assert [r["contact"] for r in slow["results"]] == ["Bia"]


# --- CSV --------------------------------------------------------------------------------


def test_the_export_streams_the_pages_csv_rows(owner, business, seeded):
    response = _client(owner).get(
        _url(business, "conversations/export/") + "?range=7", HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["conversation", "started", "contact"]
    assert len(rows) == 5
    assert any(row[2] == "'=cmd|' /C calc'!A0" for row in rows)  # formula-safe
    bought = [row for row in rows if row[7] == "bought"]
    assert bought[0][9:] == ["96.01", "BRL"]


def test_the_export_with_a_filter_and_an_error_is_json(owner, outsider, business, seeded):
    response = _client(owner).get(_url(business, "conversations/export/") + "?outcome=unpaid")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 2
    refused = _client(outsider).get(_url(business, "conversations/export/"), HTTP_ACCEPT="text/csv")
    assert refused.status_code == 404 and refused["Content-Type"] == "application/json"


# --- Permissions ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL)
def test_an_outsider_and_another_business_get_404(outsider, business, seeded, path):
    assert _client(outsider).get(_url(business, path)).status_code == 404
    assert APIClient().get(_url(business, path)).status_code == 401


@pytest.mark.parametrize("path", MONEY)
def test_an_agent_asking_for_money_gets_403_forbidden(agent, business, seeded, path):
    response = _client(agent).get(_url(business, path), **EN)
    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden", "detail": "You do not have permission to do that.",
    }  # fmt: skip


def test_an_agent_sees_support_with_their_own_row_only(agent, owner, business, seeded):
    body = _client(agent).get(_url(business, "support/") + "?range=7").json()
    assert [row["key"] for row in body["agents"]] == [str(agent.pk)]
    (mine,) = body["agents"]
    assert (mine["conversations"], mine["messages_out"], mine["resolved"]) == (1, 4, 1)
    assert mine["times"]["all"]["response_median"] == 100_000
    assert body["total"]["conversations"] == 10  # the team's totals, as on the page
    assert str(owner.display_name) not in str(body)


def test_token_and_session_auth_work_as_on_the_other_endpoints(owner, business, seeded):
    raw = create_api_token(user=owner, name="reports")[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(_url(business, "overview/")).status_code == 200
    session = APIClient()
    session.force_login(owner)
    assert session.get(_url(business, "support/")).status_code == 200


# --- Bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, note",
    [
        ("range=forever", "The period was not valid; showing the last 28 days."),
        ("range=custom&from=2026-05-01&to=2026-01-01", "The period ended before it started"),
        ("range=custom&from=01/02/2026&to=2026-02-01", "The period was not valid"),
        ("range=custom&from=1990-01-01&to=2040-01-01", "The period was not valid"),
        ("range=custom&from=2001-01-01&to=2051-01-01", "A period is at most 3 years"),
        ("group=fortnight", "That grouping is not available"),
        ("range=%00%27%3B--&from=<script>", "The period was not valid"),
    ],
)
@pytest.mark.parametrize("path", (*ALL[:-2], "support/"))
def test_bad_periods_give_the_default_with_a_note(owner, business, seeded, query, note, path):
    response = _client(owner).get(_url(business, path) + "?" + query, **EN)
    assert response.status_code == 200
    notes = response.json()["period"]["notes"]
    assert any(n.startswith(note) for n in notes), notes


def test_a_50_year_custom_range_is_cut_to_3_years(owner, business):
    body = (
        _client(owner)
        .get(_url(business, "timeseries/") + "?range=custom&from=2040-01-01&to=2090-01-01", **EN)
        .json()
    )
    assert body["period"]["last"] == "2090-01-01"
    assert body["period"]["notes"][0].startswith("A period is at most 3 years")
    assert body["period"]["group"] == "month" and len(body["results"]) <= 38


def test_bad_filters_are_left_out_with_a_note(owner, business, seeded):
    client = _client(owner)
    url = _url(business, "conversations/")
    for query in ("dim=nope&key=1", "dim=campaign&key=abc", "outcome=%00", "weekday=9",
                  "hour=-1", "bucket=soon", "day=2001-01-01", "key=" + "x" * 5000):  # fmt: skip
        response = client.get(f"{url}?range=7&{query}", **EN)
        assert response.status_code == 200, query
        body = response.json()
        if query.startswith("key="):
            continue  # a key without a dim is no filter
        assert "Some filters were not valid and were left out." in body["period"]["notes"]
        assert len(body["results"]) == 4, query
    assert client.get(f"{url}?limit=0").status_code == 400  # the API's pagination rules
    assert client.get(f"{url}?before=abc").status_code == 400


def test_an_unknown_dimension_is_404(owner, business):
    client = _client(owner)
    for dim in ("total", "nope", "%00", "SOURCE"):
        assert client.get(_url(business, f"breakdowns/{dim}/")).status_code == 404, dim


# --- Query counts -----------------------------------------------------------------------


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if isinstance(response, StreamingHttpResponse):
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", [*ALL, "breakdowns/agent/", "breakdowns/response/"])
def test_query_count_is_the_same_for_1_and_365_days(owner, business, seeded, path):
    today = seeded["today"]
    year_ago = today - datetime.timedelta(days=364)
    rows = []
    for n in range(0, 364, 7):  # a year of rollup rows (not today: seeded)
        day = year_ago + datetime.timedelta(days=n)
        rows += [
            DailyFigure(business=business, day=day, dim="total", conversations=1, paid=1,
                        gross=1000, fee=40),
            DailyFigure(business=business, day=day, dim="source", key="x", conversations=1),
            DailyFigure(business=business, day=day, dim="agent", key=str(owner.pk),
                        conversations=1),
        ]  # fmt: skip
    DailyFigure.objects.bulk_create(rows)
    client = _client(owner)
    url = _url(business, path)
    one_day = _count(client, f"{url}?range=today")
    a_year = _count(client, f"{url}?range=custom&from={year_ago}&to={today}")
    assert one_day == a_year


# --- On rollups built through the services ----------------------------------------------


def test_a_sale_through_the_services_in_the_api_on_its_local_day(owner, business):
    business.timezone = "America/Sao_Paulo"
    business.save(update_fields=["timezone"])
    customer, card = customer_with_card(display_name="Late")
    late = datetime.datetime(2026, 5, 10, 23, 30, tzinfo=zoneinfo.ZoneInfo("America/Sao_Paulo"))
    with time_machine.travel(late, tick=False):  # 02:30 UTC on 11 May
        conv, _m = start_conversation_with_message(
            customer=customer, business=business, body="Oi", first_touch={"utm_source": "ig"}
        )
        order = order_services.create_payment_request(
            actor=owner, conversation=conv,
            lines=[{"name": "Bolo", "unit_price": 4_000, "quantity": 1}],
        )  # fmt: skip
        paying.pay_order(
            payer=customer, order=order, card=card, confirmation="pin", pin=PIN,
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        rollups.rebuild(business=business)
    fee = order.payments.get().fee
    client = _client(owner)
    day = "?range=custom&from=2026-05-10&to=2026-05-10"
    overview = client.get(_url(business, "overview/") + day).json()["current"]
    assert (overview["conversations"], overview["paid"], overview["gross"]) == (1, 1, 4_000)
    assert overview["net"] == 4_000 - fee and overview["conversion"] == "100.0"
    next_day = client.get(_url(business, "overview/") + day.replace("10", "11")).json()
    assert next_day["current"]["paid"] == 0
    (source,) = client.get(_url(business, "breakdowns/source/") + day).json()["results"]
    assert (source["key"], source["bought"], source["net"]) == ("ig", 1, 4_000 - fee)
    hours = client.get(_url(business, "breakdowns/hour/") + day).json()["results"]
    assert [h["key"] for h in hours] == ["23"]
    (row,) = client.get(_url(business, "conversations/") + day).json()["results"]
    assert (row["conversation_id"], row["contact"], row["outcome"]) == (conv.pk, "Late", "bought")
    assert (row["started_on"], row["started_hour"], row["revenue"]) == (
        "2026-05-10",
        23,
        4_000 - fee,
    )


def _json_schema(node):
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's ``null`` type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def test_the_responses_are_what_the_schema_documents(owner, agent, business, seeded):
    with translation.override("en"):
        spec = json.loads(OpenApiJsonRenderer().render(
            SchemaGenerator().get_schema(request=None, public=True)
        ))  # fmt: skip
    components = _json_schema(spec["components"])
    client = _client(owner)
    for path, component in (
        ("overview/", "Overview"), ("timeseries/", "Timeseries"),
        ("breakdowns/product/", "Breakdown"), ("support/", "Support"),
        ("conversations/?limit=2", "ConversationPage"),
    ):  # fmt: skip
        body = client.get(_url(business, path) + ("&" if "?" in path else "?") + "range=7").json()
        jsonschema.validate(
            body, {"$ref": f"#/components/schemas/{component}", "components": components}
        )
    refused = _client(agent).get(_url(business, "overview/")).json()
    jsonschema.validate(refused, {"$ref": "#/components/schemas/Error", "components": components})
    operations = [op for p, item in spec["paths"].items() if "/insights/" in p
                  for op in item.values()]  # fmt: skip
    assert len(operations) == 6 and all(op["tags"] == ["insights (reports)"] for op in operations)


def test_a_number_of_days_is_the_last_n_days_as_on_the_pages(owner, business, seeded):
    body = _client(owner).get(_url(business, "timeseries/") + "?range=365").json()
    today = seeded["today"]
    assert body["period"]["range"] == "custom" and body["period"]["notes"] == []
    assert body["period"]["first"] == (today - datetime.timedelta(days=364)).isoformat()
    assert body["period"]["group"] == "month"
