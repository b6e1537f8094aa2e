"""The Support report: its metrics' definitions (docs/insights.md, "Reports"), the
percentile computation on both databases, agents' scope, and the page."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats.services import inbox
from chats.services.conversations import start_conversation_with_message
from chats.services.messages import send_text
from insights.models import ConversationFact, DailyFigure
from insights.reports import support
from insights.selectors import Period
from insights.services import rollups
from insights.tests.helpers import start_chat

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MONDAY = datetime.date(2026, 11, 2)


def period(business, first=MONDAY, days=7):
    return Period(first, first + datetime.timedelta(days=days - 1), business.tz)


def figure(business, day, dim="total", key="", **values):
    return DailyFigure.objects.create(business=business, day=day, dim=dim, key=key, **values)


def fact(business, *, day=MONDAY, agent=None, in_hours=None, response=None, resolution=None):
    conversation = start_chat(business, UserFactory())
    moment = datetime.datetime.combine(day, datetime.time(10), tzinfo=business.tz)
    return ConversationFact.objects.create(
        conversation=conversation, business=business, started_at=moment, started_on=day,
        started_hour=10, agent=agent, in_hours=in_hours, first_response_seconds=response,
        resolution_seconds=resolution,
    )  # fmt: skip


def test_percentile_is_percentile_cont():
    assert support.percentile([], 0.5) is None
    assert support.percentile([7], 0.9) == 7
    assert support.percentile([10, 20, 30, 40], 0.5) == 25
    assert support.percentile([10, 20, 30, 40], 0.9) == pytest.approx(37)
    assert support.percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)


def test_counts_are_the_sums_of_the_period_days_only(business, other):
    figure(business, MONDAY, conversations=3, messages_in=10, messages_out=8, responded=2,
           resolved=1)  # fmt: skip
    figure(business, MONDAY + datetime.timedelta(days=6), conversations=1, messages_in=1)
    figure(business, MONDAY + datetime.timedelta(days=7), conversations=50)  # after
    figure(business, MONDAY - datetime.timedelta(days=1), conversations=50)  # before
    figure(business, MONDAY, dim="source", key="instagram", conversations=50)  # a breakdown
    figure(other.business, MONDAY, conversations=50)  # another business
    report = support.support_report(business=business, period=period(business))
    total = report.total
    assert (total.conversations, total.messages_in, total.messages_out) == (4, 11, 8)
    assert (total.responded, total.resolved) == (2, 1)


def test_ratings_average_distribution_and_response_rate(business):
    figure(business, MONDAY, rating_requests=8, ratings=3, rating_sum=12, rated_5=1, rated_4=2)
    figure(business, MONDAY + datetime.timedelta(days=1), rating_requests=2, ratings=1,
           rating_sum=1, rated_1=1)  # fmt: skip
    total = support.support_report(business=business, period=period(business)).total
    assert total.ratings == 4 and total.rating_requests == 10
    assert str(total.rating_average) == "3.25"  # (5 + 4 + 4 + 1) / 4
    assert total.distribution == [(5, 1), (4, 2), (3, 0), (2, 0), (1, 1)]
    assert str(total.rating_rate) == "40.0"  # 4 ratings / 10 requests


def test_no_data_gives_none_not_zero_division(business):
    report = support.support_report(business=business, period=period(business))
    assert report.total.rating_average is None and report.total.rating_rate is None
    assert report.total.times["all"].response_median is None
    assert report.agents == [] and sum(map(sum, report.heatmap)) == 0


@pytest.mark.parametrize("vendor", ["database", "python"])
def test_median_and_p90_inside_and_outside_hours(business, agent, owner, vendor, monkeypatch):
    if vendor == "python":  # the SQLite fallback, whatever database runs the tests
        monkeypatch.setattr(connection, "vendor", "sqlite")
    for seconds, hours in ((10, True), (20, True), (30, False), (40, False)):
        fact(business, agent=agent, in_hours=hours, response=seconds, resolution=seconds * 100)
    fact(business, agent=owner, in_hours=None, response=1000)  # no hours set: "all" only
    fact(business, agent=None, response=None)  # never answered: in no percentile
    fact(business, day=MONDAY + datetime.timedelta(days=8), agent=agent, response=1)  # after
    report = support.support_report(business=business, period=period(business))
    times = report.total.times
    assert times["all"].response_median == pytest.approx(30)  # 10 20 30 40 1000
    assert times["all"].response_p90 == pytest.approx(616)  # 40 + 0.6 × 960
    assert times["in"].response_median == pytest.approx(15)
    assert times["out"].response_median == pytest.approx(35)
    assert times["out"].resolution_p90 == pytest.approx(3900)
    assert times["all"].resolution_median == pytest.approx(2500)  # 1000 … 4000
    rows = {row.key: row for row in report.agents}
    assert rows[str(agent.pk)].times["all"].response_median == pytest.approx(25)
    assert rows[str(owner.pk)].times["in"].response_median is None
    assert rows[str(owner.pk)].times["all"].response_p90 == pytest.approx(1000)
    assert rows[""].label == "Nobody" and rows[""].times["all"].response_median is None


def test_per_agent_rows_and_an_agent_sees_only_their_own(business, agent, owner):
    figure(business, MONDAY, conversations=5, messages_in=9)
    figure(business, MONDAY, dim="agent", key=str(agent.pk), conversations=3, messages_out=7,
           ratings=1, rating_sum=5, rated_5=1)  # fmt: skip
    figure(business, MONDAY, dim="agent", key=str(owner.pk), conversations=2, messages_out=1)
    fact(business, agent=owner, response=60)
    fact(business, agent=agent, response=30)
    report = support.support_report(business=business, period=period(business))
    assert [(row.label, row.conversations) for row in report.agents] == [
        (str(agent), 3), ("Olga Owner", 2),
    ]  # fmt: skip
    assert report.agents[0].messages_out == 7 and str(report.agents[0].rating_average) == "5.00"
    own = support.support_report(business=business, period=period(business), agent=agent)
    assert [row.key for row in own.agents] == [str(agent.pk)]
    assert own.agents[0].times["all"].response_median == pytest.approx(30)
    # the team's totals stay the team's
    assert own.total.conversations == 5 and own.total.times["all"].response_median == 45


def test_heatmap_is_local_weekday_by_start_hour(business):
    figure(business, MONDAY, dim="hour", key="9", conversations=2)
    figure(business, MONDAY + datetime.timedelta(days=7), dim="hour", key="9", conversations=1)
    figure(business, MONDAY + datetime.timedelta(days=6), dim="hour", key="23", conversations=4)
    figure(business, MONDAY, dim="hour", key="bogus", conversations=99)  # ignored
    heatmap = support.support_report(business=business, period=period(business, days=14)).heatmap
    assert heatmap[0][9] == 3  # two Mondays
    assert heatmap[6][23] == 4  # Sunday
    assert sum(map(sum, heatmap)) == 7


def test_query_count_does_not_depend_on_the_period(business, agent):
    today = timezone.localdate()
    for n in range(0, 400, 20):
        day = today - datetime.timedelta(days=n)
        figure(business, day, conversations=1)
        figure(business, day, dim="agent", key=str(agent.pk), conversations=1)
        figure(business, day, dim="hour", key="8", conversations=1)
        fact(business, day=day, agent=agent, response=n + 1)
    counts = []
    for days in (1, 365):
        with CaptureQueriesContext(connection) as captured:
            first = today - datetime.timedelta(days=days - 1)
            support.support_report(business=business, period=period(business, first, days))
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- The page ---------------------------------------------------------------------------


def url(business, name="insights_support"):
    return reverse(name, args=[business.slug])


def custom(first, last):
    return {"range": "custom", "from": first.isoformat(), "to": last.isoformat()}


@pytest.fixture
def figures(business, owner, agent, admin):
    today = timezone.localdate(timezone=business.tz)
    figure(business, today, conversations=3, messages_in=5, messages_out=4, ratings=2,
           rating_sum=9, rated_5=1, rated_4=1, rating_requests=4)  # fmt: skip
    figure(business, today, dim="agent", key=str(agent.pk), conversations=2, messages_out=3)
    figure(business, today, dim="agent", key=str(admin.pk), conversations=1, messages_out=1)
    figure(business, today, dim="hour", key="14", conversations=3)
    fact(business, day=today, agent=agent, in_hours=True, response=300, resolution=7200)
    fact(business, day=today, agent=admin, in_hours=False, response=90)
    return today


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_the_owner_sees_every_agent(client, owner, business, agent, admin, figures, language):
    client.force_login(owner)
    response = client.get(url(business), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    page = response.content.decode()
    assert str(agent) in page and str(admin) in page
    drill = reverse("insights_conversations", args=[business.slug]) + "?range=28"
    assert f"{drill}&amp;dim=agent&amp;key={agent.pk}" in page  # an agent's conversations
    weekday = figures.isoweekday()
    assert f"{drill}&amp;weekday={weekday}&amp;hour=14" in page  # a heatmap cell
    if language == "en":
        assert "Conversations received" in page and "5 min" in page and "4.50" in page
        assert "Ratings per request" in page and "50.0%" in page
        assert 'id="chart-support-heatmap"' in page and 'id="chart-support-ratings"' in page


def test_an_agent_sees_the_team_totals_and_only_their_own_row(client, business, agent, admin,
                                                              figures):  # fmt: skip
    client.force_login(agent)
    page = client.get(url(business), **EN).content.decode()
    assert "Your figures" in page and str(agent) in page
    assert str(admin) not in page  # another member's row
    assert "1 min 30" not in page and "2 h" in page  # their own times only in the table
    assert "insights/conversations" not in page  # no drill-down for agents
    # the other reports are not theirs: "not found", as for an outsider
    for name in ("insights_offers", "insights_products"):
        assert client.get(url(business, name)).status_code == 404
    response = client.get(url(business), {"format": "csv", "table": "support_agents"})
    csv = b"".join(response.streaming_content).decode()
    assert str(agent) in csv and str(admin) not in csv


def test_outsiders_and_other_businesses_get_404(client, business, outsider, other, figures):
    client.force_login(outsider)
    assert client.get(url(business)).status_code == 404
    client.force_login(other.owner)
    assert client.get(url(business)).status_code == 404
    assert client.get(url(business) + "?format=csv").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"range": "custom", "from": "2026-05-01", "to": "2026-04-01"},
        {"range": "custom", "from": "1900-01-01", "to": "2100-01-01"},
        {"range": "custom", "from": "01/05/2026", "to": "2026-05-10"},
        {"range": "<script>alert(1)</script>", "group": "\x00"},
        {"range": "custom", "from": "2026-01-01", "to": "9999-99-99"},
        {"format": "csv", "table": "../../etc/passwd"},
        {"format": "xml", "page": "-1"},
    ],
)
def test_bad_input_is_the_default_never_a_500(client, owner, business, figures, params):
    client.force_login(owner)
    response = client.get(url(business), params, **EN)
    assert response.status_code == 200
    if params.get("format") != "csv":
        page = response.content.decode()
        assert "<script>alert(1)</script>" not in page
        assert ('class="report-note"' in page) == ("range" in params)  # what was not usable


def test_csv_tables(client, owner, business, agent, admin, figures):
    UserFactory._meta.model.objects.filter(pk=agent.pk).update(display_name="=HYPERLINK(1)")
    client.force_login(owner)
    agents = client.get(url(business), {"format": "csv", "table": "support_agents"}, **EN)
    assert agents["Content-Type"].startswith("text/csv")
    lines = b"".join(agents.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0].startswith('Agent,Conversations,Messages out,Resolved,"First response, median"')
    assert "'=HYPERLINK(1),2,3,0,300,300,7200,7200,0," in lines[1:]  # formula-safe; seconds
    hours = client.get(url(business), {"format": "csv", "table": "support_agent_hours"}, **EN)
    lines = b"".join(hours.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert "'=HYPERLINK(1),300,,7200," in lines  # inside opening hours only
    assert f"{admin},,90,," in lines  # outside
    summary = client.get(url(business), {"format": "csv"}, **EN)  # the first table
    body = b"".join(summary.streaming_content).decode()
    assert "Figure,Value\r\nConversations received,3\r\n" in body
    assert "Average rating (1–5),4.50\r\n" in body and "Ratings per request,50.0\r\n" in body
    ratings = client.get(url(business), {"format": "csv", "table": "support_ratings"}, **EN)
    body = b"".join(ratings.streaming_content).decode()
    assert "Score,Ratings" in body and "\r\n5,1\r\n4,1\r\n3,0" in body
    heatmap = client.get(url(business), {"format": "csv", "table": "support_heatmap"}, **EN)
    rows = b"".join(heatmap.streaming_content).decode().splitlines()
    weekday = figures.isoweekday()
    assert rows[weekday].split(",")[15] == "3"  # the hour 14 column


def test_the_page_query_count_is_the_same_for_1_and_365_days(client, owner, business, agent,
                                                             figures):  # fmt: skip
    for n in range(1, 365, 9):
        day = figures - datetime.timedelta(days=n)
        figure(business, day, conversations=1)
        figure(business, day, dim="agent", key=str(agent.pk), conversations=1)
        figure(business, day, dim="hour", key=str(n % 24), conversations=1)
        fact(business, day=day, agent=agent, response=n)
    client.force_login(owner)
    counts = []
    for params in ({"range": "today"}, custom(figures - datetime.timedelta(days=364), figures)):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(business), params).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- Through the services and the rollups -----------------------------------------------


def test_the_report_of_conversations_built_through_the_services(owner, business, agent):
    start = datetime.datetime.combine(MONDAY, datetime.time(10), tzinfo=business.tz)
    with time_machine.travel(start, tick=False) as clock:
        first, _m = start_conversation_with_message(
            customer=UserFactory(), business=business, body="Hi"
        )
        clock.shift(datetime.timedelta(minutes=12))
        send_text(actor=agent, conversation=first, body="Hello!")
        second, _m = start_conversation_with_message(
            customer=UserFactory(), business=business, body="Are you open?"
        )
        clock.shift(datetime.timedelta(hours=2))
        send_text(actor=owner, conversation=second, body="Yes")
        send_text(actor=owner, conversation=second, body="Until 6")
        clock.shift(datetime.timedelta(days=1))
        inbox.set_status(actor=owner, conversation=first, status="resolved")
        rollups.rebuild(business=business)

    report = support.support_report(business=business, period=period(business))
    total = report.total
    assert (total.conversations, total.messages_in, total.messages_out) == (2, 2, 3)
    assert (total.responded, total.resolved) == (2, 1)
    assert total.times["all"].response_median == pytest.approx((12 * 60 + 2 * 3600) / 2)
    resolution = (datetime.timedelta(days=1, hours=2, minutes=12)).total_seconds()
    assert total.times["all"].resolution_p90 == pytest.approx(resolution)
    rows = {row.key: row for row in report.agents}
    assert rows[str(agent.pk)].messages_out == 1 and rows[str(owner.pk)].messages_out == 2
    assert rows[str(owner.pk)].times["all"].response_median == pytest.approx(2 * 3600)
    assert report.heatmap[0][10] == 2  # Monday, 10:00 in the business's time zone
