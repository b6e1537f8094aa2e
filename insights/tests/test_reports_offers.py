"""The Offers report: each broadcast's sent, delivered, read, replied, opted out,
credited orders and revenue and ROI, built through the services as merchants and
customers make them; the period and paging; the page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chats.models import Contact, Message, ScheduledMessage
from chats.services import consent, outbox, receipts
from chats.tests.factories import say
from insights.models import Campaign
from insights.reports import offers
from insights.reports.period import parse_period
from insights.selectors import Period
from insights.tests.helpers import customer_with_card, paid_order, start_chat
from marketing import services as marketing

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = float("inf")


def opted_in(business):
    customer, card = customer_with_card()
    conversation = start_chat(business, customer)
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.grant_offers_consent(customer=customer, contact=contact, source="chat")
    return customer, card, conversation


def send_broadcast(owner, business, *, send_at=None, text="Cakes at {business}!"):
    broadcast = marketing.create_broadcast(
        actor=owner, business=business, text=text, audience="all", send_at=send_at
    )
    return broadcast


def offer_seq(conversation) -> int:
    row = ScheduledMessage.objects.get(conversation=conversation, kind="offer", status="sent")
    return row.message.seq


def today_period(business, days=1) -> Period:
    today = timezone.localdate(timezone=business.tz)
    return Period(today - datetime.timedelta(days=days - 1), today, business.tz)


def test_a_broadcast_from_sending_to_revenue(owner, business):
    # given three customers who accept offers, and a broadcast sent to them
    buyer, card, buyer_chat = opted_in(business)
    _quitter, _card, quitter_chat = opted_in(business)
    opted_in(business)  # and one who does nothing
    broadcast = send_broadcast(owner, business)
    outbox.send_due()
    Campaign.objects.filter(broadcast=broadcast).update(total_cost=5_000)
    # when the buyer reads it, answers and pays; the quitter gets it and opts out by the
    # offer's link (without opening the chat)
    receipts.mark_read(actor=buyer, conversation=buyer_chat, seq=offer_seq(buyer_chat))
    say(buyer, buyer_chat, "I want two!")
    order = paid_order(owner, buyer_chat, buyer, card, amount=10_000)
    receipts.mark_delivered(actor=_quitter, conversation=quitter_chat, seq=offer_seq(quitter_chat))
    consent.withdraw_offers_consent(contact=quitter_chat.contact, source="link")
    # then the report credits the broadcast with it
    report = offers.offers_report(business=business, period=today_period(business))
    [row] = report.rows
    assert row.broadcast == broadcast and row.recipients == 3
    assert (row.sent, row.delivered, row.read, row.replied, row.opted_out) == (3, 2, 1, 1, 1)
    assert row.orders == 1 and row.gross == 10_000 and row.fee == order.payments.get().fee
    assert row.net == 10_000 - row.fee and row.cost == 5_000
    assert row.roi == ((row.net - 5_000) * 100 / offers.Decimal(5_000)).quantize(
        offers.Decimal("0.1")
    )
    assert str(row.read_rate) == "33.3" and str(row.reply_rate) == "33.3"


def test_a_reply_or_an_opt_out_after_the_window_does_not_count(owner, business):
    customer, _card, chat = opted_in(business)
    send_broadcast(owner, business)
    outbox.send_due()
    later = timezone.now() + datetime.timedelta(days=8)  # the window is 7 days
    reply = say(customer, chat, "Hi, is it still on?")
    consent.withdraw_offers_consent(contact=chat.contact, source="chat")
    # (as if they happened 8 days later: the clock is not what is under test)
    Message.objects.filter(pk=reply.pk).update(created_at=later)
    Contact.objects.filter(pk=chat.contact_id).update(offers_opt_out_at=later)
    [row] = offers.offers_report(business=business, period=today_period(business)).rows
    assert (row.sent, row.replied, row.opted_out) == (1, 0, 0)


def test_no_cost_no_roi_and_nothing_sent_yet(owner, business):
    opted_in(business)
    send_broadcast(owner, business)  # not sent: the outbox has not run
    [row] = offers.offers_report(business=business, period=today_period(business)).rows
    assert row.sent == 0 and row.recipients == 1 and row.roi is None and row.read_rate is None


def test_daily_spend_is_the_cost(owner, business):
    opted_in(business)
    broadcast = send_broadcast(owner, business)
    campaign = Campaign.objects.get(broadcast=broadcast)
    Campaign.objects.filter(pk=campaign.pk).update(cost_mode="daily")
    today = timezone.localdate(timezone=business.tz)
    campaign.spend_lines.create(day=today, amount=300)
    campaign.spend_lines.create(day=today - datetime.timedelta(days=40), amount=200)
    [row] = offers.offers_report(business=business, period=today_period(business)).rows
    assert row.cost == 500 and str(row.roi) == "-100.0"


def test_only_the_period_broadcasts_of_this_business_newest_first(owner, business, other):
    opted_in(business)
    opted_in(other.business)
    now = timezone.now()
    first = send_broadcast(owner, business, send_at=now + datetime.timedelta(minutes=1))
    second = send_broadcast(owner, business, send_at=now + datetime.timedelta(minutes=2))
    far = send_broadcast(owner, business, send_at=now + datetime.timedelta(days=30))
    send_broadcast(other.owner, other.business)
    report = offers.offers_report(business=business, period=today_period(business))
    assert [row.broadcast for row in report.rows] == [second, first]
    assert far not in [row.broadcast for row in report.rows]


def test_paging(owner, business):
    opted_in(business)
    made = [send_broadcast(owner, business) for _ in range(3)]
    page1 = offers.offers_report(business=business, period=today_period(business), size=2)
    page2 = offers.offers_report(business=business, period=today_period(business), page=2, size=2)
    assert page1.has_next and not page2.has_next
    assert {r.broadcast.pk for r in page1.rows + page2.rows} == {b.pk for b in made}


@pytest.mark.parametrize(
    ("value", "page"),
    [("", 1), ("2", 2), ("0", 1), ("-3", 1), ("abc", 1), ("٣", 1), ("99999999", 1),
     ("10001", offers.MAX_PAGE), (None, 1)],
)  # fmt: skip
def test_parse_page(value, page):
    assert offers.parse_page(value) == page


def test_query_count_is_fixed(owner, business):
    for _ in range(3):
        opted_in(business)
    send_broadcast(owner, business)
    counts = []
    for days, n in ((1, 1), (365, 3)):
        if n == 3:
            send_broadcast(owner, business)
            send_broadcast(owner, business)
            outbox.send_due()
        with CaptureQueriesContext(connection) as captured:
            report = offers.offers_report(business=business, period=today_period(business, days))
        assert len(report.rows) == n
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 6


def test_period_from_the_query(business):
    report = parse_period(business, {"range": "7"})
    assert report.days == 7


# --- The page ---------------------------------------------------------------------------


def url(business):
    return reverse("insights_offers", args=[business.slug])


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_the_page_for_owners_and_admins(client, owner, admin, business, language):
    buyer, card, chat = opted_in(business)
    broadcast = send_broadcast(owner, business, text="=SUM(A1) cakes at {business}")
    outbox.send_due()
    paid_order(owner, chat, buyer, card, amount=10_000)
    for user in (owner, admin):
        client.force_login(user)
        response = client.get(url(business), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        page = response.content.decode()
        assert "=SUM(A1) cakes" in page
        assert reverse("broadcast_detail", args=[business.slug, broadcast.pk]) in page
        assert "R$" in page
    csv = client.get(url(business), {"format": "csv"}, **EN)
    lines = b"".join(csv.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0] == (
        "Sent at,Message,Recipients,Sent,Delivered,Read,Replied,Opted out,Orders,Net revenue,"
        "Cost,ROI,currency"
    )
    cells = lines[1].split(",")
    assert cells[1] == "'=SUM(A1) cakes at {business}"  # formula-safe
    assert cells[2:9] == ["1", "1", "0", "0", "0", "0", "1"]
    assert cells[9:] == ["96.01", "0.00", "", "BRL"]  # 100.00 less the fee of 3.99


def test_agents_outsiders_and_other_businesses_get_404(client, business, agent, outsider, other):
    for user in (agent, outsider, other.owner):
        client.force_login(user)
        assert client.get(url(business)).status_code == 404
        assert client.get(url(business), {"format": "csv"}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"page": "abc"}, {"page": "-1"}, {"page": "99999999999"}, {"range": "x", "page": "2"},
     {"range": "custom", "from": "2026-02-30", "to": "2026-03-01"}],
)  # fmt: skip
def test_bad_input_never_a_500(client, owner, business, params):
    client.force_login(owner)
    assert client.get(url(business), params, **EN).status_code == 200


def test_paging_links(client, owner, business, monkeypatch):
    monkeypatch.setattr(offers, "PAGE_SIZE", 1)
    opted_in(business)
    send_broadcast(owner, business)
    send_broadcast(owner, business)
    client.force_login(owner)
    first = client.get(url(business), **EN).content.decode()
    assert "page=2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get(url(business), {"page": "2"}, **EN).content.decode()
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_the_page_query_count_is_the_same_for_1_and_365_days(client, owner, business):
    for _ in range(3):
        opted_in(business)
    send_broadcast(owner, business)
    client.force_login(owner)
    today = timezone.localdate(timezone=business.tz)
    first = (today - datetime.timedelta(days=364)).isoformat()
    counts = []
    for params in ({"range": "today"}, {"range": "custom", "from": first, "to": today.isoformat()}):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(business), params).status_code == 200
        counts.append(len(captured))
        send_broadcast(owner, business)  # and more broadcasts do not add queries either
        outbox.send_due()
    assert counts[0] == counts[1]


def test_a_broadcast_at_23_30_in_sao_paulo_is_on_that_local_day(owner, business):
    opted_in(business)
    day = timezone.localdate(timezone=business.tz) + datetime.timedelta(days=2)
    late = datetime.datetime.combine(day, datetime.time(23, 30), tzinfo=business.tz)
    broadcast = send_broadcast(owner, business, send_at=late)  # 02:30 UTC the next day
    on_the_day = Period(day, day, business.tz)
    next_day = Period(
        day + datetime.timedelta(days=1), day + datetime.timedelta(days=1), business.tz
    )
    assert [
        r.broadcast for r in offers.offers_report(business=business, period=on_the_day).rows
    ] == [broadcast]
    assert offers.offers_report(business=business, period=next_day).rows == []
