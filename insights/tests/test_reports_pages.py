"""Insights → Overview, Chats that sell, the drill-down conversations page and their
CSV exports (insights/report_views.py): metric definitions on rollup rows,
permissions, bad input, query counts and streaming."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from insights.models import DailyFigure
from insights.reports import common
from insights.reports.overview import build_overview
from insights.reports.period import parse_period
from insights.reports.sales import build_sales
from insights.tests.factories import make_campaign
from insights.tests.report_data import activity, conversation, figure

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
D = datetime.date


def _url(name, business, *args):
    return reverse(name, args=[business.slug, *args])


def _today(business):
    return timezone.now().astimezone(business.tz).date()


def _link(**filters):
    return "/drill?" + "&".join(f"{k}={v}" for k, v in sorted(filters.items()))


@pytest.fixture
def seeded(owner, business):
    """Two days of rollups in the last 7 days, one in the 7 before, and facts."""
    today = _today(business)
    yesterday = today - datetime.timedelta(days=1)
    figure(
        business,
        today,
        conversations=4,
        bought=1,
        unpaid=1,
        requests=2,
        paid=1,
        gross=10_000,
        fee=399,
        refunds=0,
    )
    figure(
        business,
        yesterday,
        conversations=6,
        bought=2,
        unpaid=1,
        requests=3,
        paid=3,
        gross=20_000,
        fee=798,
        refunds=1_000,
    )
    figure(
        business,
        today - datetime.timedelta(days=8),
        conversations=5,
        bought=1,
        paid=1,
        gross=15_000,
        fee=600,
    )
    figure(
        business,
        today,
        "source",
        "instagram",
        conversations=3,
        bought=1,
        paid=1,
        gross=10_000,
        fee=399,
    )
    figure(
        business,
        yesterday,
        "source",
        "",
        conversations=7,
        bought=2,
        unpaid=2,
        paid=3,
        gross=20_000,
        fee=798,
        refunds=1_000,
    )
    figure(business, today, "response", "lt5m", conversations=2, bought=1)
    figure(business, today, "response", "gt24h", conversations=2, unpaid=1)
    monday = today - datetime.timedelta(days=today.weekday())
    if monday >= today - datetime.timedelta(days=6):
        figure(business, monday, "hour", "9", conversations=4, bought=1)
    campaign = make_campaign(owner, business, name="Flyer", code="flyer")
    figure(business, today, "campaign", str(campaign.pk), conversations=3, bought=2)
    figure(business, today, "campaign", "", conversations=1)
    product = make_product(owner, business, name="Bolo de fubá")
    figure(
        business,
        today,
        "product",
        str(product.pk),
        conversations=2,
        paid=1,
        units=2,
        gross=4_000,
        fee=160,
    )
    now = timezone.now()
    facts = [
        conversation(
            business,
            UserFactory(display_name="Ana"),
            started_at=now,
            outcome="unpaid",
            source="instagram",
            campaign=campaign,
            response=120,
        ),
        conversation(
            business,
            UserFactory(display_name="Bia"),
            started_at=now,
            outcome="none",
            product=product,
            response=100_000,
            labels=["vip"],
        ),
        conversation(
            business,
            UserFactory(display_name="=cmd|' /C calc'!A0"),
            started_at=now,
            outcome="bought",
            revenue=9_601,
            agent=owner,
            response=4000,
        ),
        conversation(business, UserFactory(display_name="Duda"), started_at=now, outcome="none"),
    ]
    for fact in facts[:3]:
        activity(fact, today, incoming=2)
    activity(facts[3], today, incoming=0, outgoing=1)  # only the business wrote
    return {"campaign": campaign, "product": product, "facts": facts, "today": today}


def _report(business, query="range=7"):
    from django.http import QueryDict

    return parse_period(business, QueryDict(query))


# --- Metric definitions ---------------------------------------------------------------


def test_overview_metrics_and_change_against_the_previous_period(business, seeded):
    o = build_overview(business=business, report=_report(business), link=_link)
    m = {metric.name: metric for metric in o.metrics}
    assert m["conversations"].value == 10 and m["conversations"].previous == 5
    assert m["conversations"].change == Decimal("100.0")
    assert m["customers"].value == 3  # conversations with a customer message
    assert m["requests"].value == 5 and m["paid"].value == 4
    assert m["conversion"].value == Decimal("30.0")  # 3 of 10 bought
    assert m["conversion"].previous == Decimal("20.0")
    assert (m["gross"].value, m["fee"].value, m["refunds"].value) == (30_000, 1_197, 1_000)
    assert m["net"].value == 30_000 - 1_197 - 1_000
    assert m["aov"].value == 7_500  # gross / paid orders
    assert m["per_conversation"].value == 2_780  # net / conversations, half up
    assert m["conversion"].link == "/drill?outcome=bought"
    funnel = [[c.value for c in row[1:]] for row in o.tables["funnel"].rows]
    assert funnel == [[10, Decimal("100.0")], [5, Decimal("50.0")], [3, Decimal("30.0")]]
    sources = {row[0].value: row[1].value for row in o.tables["sources"].rows}
    assert sources == {"Direct": 20_000 - 798 - 1_000, "instagram": 10_000 - 399}
    series = o.tables["series"].rows
    assert len(series) == 7 and sum(row[1].value for row in series) == m["net"].value


def test_sales_breakdowns_heatmap_and_lost_chats(business, seeded):
    sales = build_sales(
        business=business, report=_report(business), link=_link, chat_url=lambda pk: f"/chat/{pk}"
    )
    t = sales.tables
    campaign = {row[0].value: [c.value for c in row[1:]] for row in t["sales_campaign"].rows}
    assert campaign["Flyer"][:5] == [3, 2, 0, 1, Decimal("66.7")]
    assert campaign["No campaign"][0] == 1
    assert [row[0].value for row in t["sales_response"].rows] == ["Under 5 min", "Over 24 h"]
    product = t["sales_product"].rows[0]
    assert (product[0].value, product[-1].value) == ("Bolo de fubá", 4_000 - 160)
    assert product[1].link == f"/drill?dim=product&key={seeded['product'].pk}"
    lost = [row[0].value for row in t["sales_lost"].rows]
    assert sorted(lost) == ["Ana", "Bia"]  # unpaid, and a product card with no request
    assert t["sales_lost"].rows[0][0].link.startswith("/chat/")
    heat = t["sales_heatmap"]
    if heat.rows:
        monday = heat.rows[0]
        assert monday[10].value == Decimal("25.0") and "weekday=1" in monday[10].link
        assert monday[11].value is None


def test_a_period_with_nothing_is_empty_not_an_error(business):
    o = build_overview(business=business, report=_report(business, "range=today"), link=_link)
    assert o.current.conversion is None and o.tables["funnel"].rows == []


# --- Pages and permissions ------------------------------------------------------------


PAGES = ("insights_overview", "insights_sales", "insights_conversations")


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_pages_render_for_the_owner(client, owner, business, seeded, language):
    client.force_login(owner)
    for name in PAGES:
        response = client.get(_url(name, business) + "?range=7", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, name
    page = client.get(_url("insights_overview", business), **EN).content.decode()
    assert "Net revenue" in page and "R$" in page and 'aria-current="page"' in page
    assert _url("insights_export", business, "series") in page
    page = client.get(_url("insights_sales", business), **EN).content.decode()
    assert "Lost chats" in page and "Bolo de fubá" in page
    assert reverse("inbox_thread", args=[business.slug, seeded["facts"][0].conversation_id]) in page


def test_the_nav_entry_and_what_an_agent_may_open(client, agent, business, seeded):
    client.force_login(agent)
    page = client.get(reverse("dashboard", args=[business.slug]), **EN).content.decode()
    assert _url("insights_overview", business) in page
    response = client.get(_url("insights_overview", business))
    assert response.status_code in (302, 404)  # on to Support once it exists
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("insights_support", args=[business.slug]))
    for url in (
        _url("insights_sales", business),
        _url("insights_conversations", business),
        _url("insights_conversations_csv", business),
        _url("insights_export", business, "overview"),
    ):
        assert client.get(url).status_code == 404, url


def test_admins_see_everything(client, admin, business, seeded):
    client.force_login(admin)
    for name in PAGES:
        assert client.get(_url(name, business)).status_code == 200


def test_outsiders_and_another_business_get_404(client, outsider, other, owner, business, seeded):
    client.force_login(outsider)
    for name in PAGES:
        assert client.get(_url(name, business)).status_code == 404
    client.force_login(other.owner)
    for name in PAGES:
        assert client.get(_url(name, business)).status_code == 404
    # Their own pages show none of this business's data.
    page = client.get(_url("insights_sales", other.business), **EN).content.decode()
    assert "Bolo de fubá" not in page and "Ana" not in page
    body = b"".join(
        client.get(_url("insights_conversations_csv", other.business)).streaming_content
    )
    assert body.decode().count("\n") == 1  # the header only


def test_sign_in_is_required(client, business):
    response = client.get(_url("insights_overview", business))
    assert response.status_code == 302 and "login" in response["Location"]


# --- Bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "range=custom&from=2026-03-10&to=2026-03-01",
        "range=custom&from=1970-01-01&to=2026-01-01",
        "range=custom&from=1900-01-01&to=2950-01-01",
        "range=custom&from=10/03/2026&to=12/03/2026",
        "range=%00&group=%00",
        "range=7&group=<script>alert(1)</script>",
        "range=7&dim=source&key=%00",
        "range=7&dim=source&key=" + "x" * 101,
        "range=7&dim=campaign&key=abc",
        "range=7&dim=campaign&key=99999999999999999999999",
        "range=7&dim=hour&key=24",
        "range=7&dim=nope&key=1",
        "range=7&outcome=maybe&weekday=8&hour=-1&bucket=soon&day=yesterday",
        "range=7&day=1999-01-01",
        "range=7&page=abc",
        "range=7&page=99999",
        "range=7&range=28&range=custom",
    ],
)
def test_hostile_queries_never_fail(client, owner, business, seeded, query):
    client.force_login(owner)
    for name in (*PAGES, "insights_conversations_csv"):
        response = client.get(f"{_url(name, business)}?{query}", **EN)
        assert response.status_code == 200, (name, query)
        if name == "insights_conversations_csv":
            b"".join(response.streaming_content)


def test_a_bad_period_says_so(client, owner, business, seeded):
    client.force_login(owner)
    page = client.get(
        _url("insights_overview", business) + "?range=custom&from=2026-03-10&to=2026-03-01", **EN
    ).content.decode()
    assert "The period ended before it started; showing the last 28 days." in page
    page = client.get(_url("insights_conversations", business) + "?outcome=maybe", **EN)
    assert "Some filters were not valid" in page.content.decode()
    # An unreadable key is not "direct": the filter is dropped, all conversations show.
    page = client.get(_url("insights_conversations", business) + "?range=7&dim=source&key="
                      + "x" * 101, **EN).content.decode()  # fmt: skip
    assert "Some filters were not valid" in page and "4 conversations" in page


def test_unknown_export_is_404(client, owner, business):
    client.force_login(owner)
    assert client.get(_url("insights_export", business, "nothing")).status_code == 404
    assert client.get(_url("insights_export", business, "sales_nothing")).status_code == 404


# --- Drill-down -------------------------------------------------------------------------


def _names(client, business, query):
    page = client.get(f"{_url('insights_conversations', business)}?range=7&{query}", **EN)
    assert page.status_code == 200
    text = page.content.decode()
    return {name for name in ("Ana", "Bia", "calc", "Duda") if name in text}


def test_drill_down_filters(client, owner, business, seeded):
    client.force_login(owner)
    campaign, product = seeded["campaign"], seeded["product"]
    assert _names(client, business, "") == {"Ana", "Bia", "calc", "Duda"}
    assert _names(client, business, "outcome=bought") == {"calc"}
    assert _names(client, business, "outcome=requested") == {"Ana", "calc"}
    assert _names(client, business, "outcome=lost") == {"Ana", "Bia"}
    assert _names(client, business, "dim=source&key=instagram") == {"Ana"}
    assert _names(client, business, "dim=source&key=") == {"Bia", "calc", "Duda"}
    assert _names(client, business, f"dim=campaign&key={campaign.pk}") == {"Ana"}
    assert _names(client, business, f"dim=product&key={product.pk}") == {"Bia"}
    assert _names(client, business, f"dim=agent&key={owner.pk}") == {"calc"}
    label = product.business.labels.get(name="vip")
    assert _names(client, business, f"dim=label&key={label.pk}") == {"Bia"}
    assert _names(client, business, "bucket=lt5m") == {"Ana"}
    assert _names(client, business, "dim=response&key=1-4h") == {"calc"}
    assert _names(client, business, "bucket=gt24h") == {"Bia"}
    assert _names(client, business, "bucket=none") == {"Duda"}
    local = timezone.now().astimezone(business.tz)
    assert len(_names(client, business, f"hour={local.hour}&weekday={local.isoweekday()}")) == 4
    assert _names(client, business, f"weekday={(local.isoweekday() % 7) + 1}") == set()
    assert len(_names(client, business, f"day={local.date().isoformat()}")) == 4


def test_a_conversation_at_2330_in_sao_paulo_is_on_that_local_day(client, owner, business):
    # 23:30 on 10 March in São Paulo (UTC−3) is 02:30 on 11 March in UTC.
    started = datetime.datetime(2026, 3, 11, 2, 30, tzinfo=datetime.UTC)
    fact = conversation(
        business,
        UserFactory(display_name="Late"),
        started_at=started,
        outcome="bought",
        revenue=5000,
    )
    assert (fact.started_on, fact.started_hour) == (D(2026, 3, 10), 23)
    client.force_login(owner)
    base = _url("insights_conversations", business) + "?range=custom"
    page = client.get(base + "&from=2026-03-10&to=2026-03-10&hour=23", **EN).content.decode()
    assert "Late" in page
    page = client.get(base + "&from=2026-03-11&to=2026-03-11", **EN).content.decode()
    assert "Late" not in page


def test_drill_down_paginates(client, owner, business):
    now = timezone.now()
    for n in range(55):
        conversation(business, UserFactory(display_name=f"C{n:02d}"), started_at=now)
    client.force_login(owner)
    url = _url("insights_conversations", business) + "?range=7"
    first = client.get(url, **EN).content.decode()
    second = client.get(url + "&page=2", **EN).content.decode()
    assert "Page 1 of 2" in first and "page=2" in first
    assert first.count("<tr>") - 1 == 50 and second.count("<tr>") - 1 == 5


# --- Query counts ---------------------------------------------------------------------


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if isinstance(response, StreamingHttpResponse):
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "name", [*PAGES, "insights_conversations_csv", ("insights_export", "sales_campaign")]
)
def test_query_count_is_the_same_for_1_and_365_days(client, owner, business, seeded, name):
    today = seeded["today"]
    year_ago = today - datetime.timedelta(days=364)
    rows = []
    for n in range(0, 364, 7):  # a year of rollup rows (not today: seeded)
        day = year_ago + datetime.timedelta(days=n)
        rows += [
            DailyFigure(
                business=business, day=day, dim="total", conversations=1, paid=1, gross=1000, fee=40
            ),
            DailyFigure(business=business, day=day, dim="hour", key="9", conversations=1),
            DailyFigure(business=business, day=day, dim="source", key="x", conversations=1),
        ]
    DailyFigure.objects.bulk_create(rows)
    client.force_login(owner)
    args = (name[1],) if isinstance(name, tuple) else ()
    url = _url(name[0] if args else name, business, *args)
    one_day = _count(client, f"{url}?range=today")
    a_year = _count(client, f"{url}?range=custom&from={year_ago}&to={today}")
    assert one_day == a_year


# --- CSV ------------------------------------------------------------------------------


def _csv(response):
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_table_exports(client, owner, business, seeded):
    client.force_login(owner)
    rows = _csv(client.get(_url("insights_export", business, "overview") + "?range=7"))
    assert rows[0] == ["Figure", "This period", "Previous period", "Change", "currency"]
    net = next(row for row in rows if row[0] == "Net revenue")
    assert net[1] == "278.03" and net[-1] == "BRL"
    rows = _csv(client.get(_url("insights_export", business, "sales_source") + "?range=7"))
    assert rows[0][:2] == ["Source", "Conversations"]
    assert {row[0] for row in rows[1:]} == {"Direct", "instagram"}


def test_per_conversation_csv_is_streamed_and_formula_safe(client, owner, business, seeded):
    client.force_login(owner)
    rows = _csv(client.get(_url("insights_conversations_csv", business) + "?range=7"))
    assert rows[0] == [
        "conversation",
        "started",
        "contact",
        "source",
        "campaign",
        "agent",
        "first_response_seconds",
        "outcome",
        "paid_orders",
        "revenue",
        "currency",
    ]
    by_outcome = {row[7]: row for row in rows[1:]}
    bought = by_outcome["bought"]
    assert bought[2].startswith("'=")  # a spreadsheet shows it, never runs it
    assert bought[5] == "Olga Owner" and bought[9] == "96.01" and bought[6] == "4000"
    assert by_outcome["unpaid"][4] == "Flyer"
    filtered = _csv(
        client.get(_url("insights_conversations_csv", business) + "?range=7&outcome=lost")
    )
    assert len(filtered) == 3


def test_csv_reads_in_chunks(business, seeded, monkeypatch):
    from insights.reports import conversations as drill

    seen = {}
    original = type(drill.ConversationFact.objects.all()).iterator

    def spy(self, chunk_size=None):
        seen["chunk_size"] = chunk_size
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(drill.ConversationFact.objects.all()), "iterator", spy)
    report = _report(business)
    qs = drill.list_conversations(business=business, period=report.period, filters=drill.Filters())
    assert len(list(drill.csv_rows(business, qs))) == 4
    assert seen["chunk_size"] == 2000


def test_bucket_sums_match_days(business, seeded):
    report = _report(business, "range=90&group=week")
    weeks = common.grouped(business, report.period, "week")
    assert sum(t.conversations for _b, t in weeks) == 15
