import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chats.tests.factories import start_chat
from insights import selectors
from insights.models import Touch
from insights.selectors import Period
from insights.services import spend
from insights.tests.factories import attribute, days_ago, make_campaign, touch
from payments.services import orders, refunds
from payments.tests.factories import card_for, pay

pytestmark = pytest.mark.django_db


def _paid_order(owner, business, customer, conversation, amount):
    order = orders.create_payment_request(
        actor=owner, conversation=conversation, lines=[{"name": "Bolo", "unit_price": amount}]
    )
    pay(customer, order, card_for(customer))
    order.refresh_from_db()
    return order


@pytest.fixture
def customer(db):
    from accounts.tests.factories import UserFactory
    from payments.services import pins
    from payments.tests.factories import PIN

    user = UserFactory(email="carla@example.com", display_name="Carla")
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user


def test_figures_of_a_campaign(owner, business, customer):
    # given a campaign that cost 50.00, 3 clicks by 2 visitors, a conversation with a
    # payment request of 100.00 paid, half refunded
    campaign = make_campaign(owner, business, name="Flyer", total_cost=5000)
    touch(campaign, visitor="a" * 32)
    touch(campaign, visitor="a" * 32)
    touch(campaign, visitor="b" * 32)
    conversation = start_chat(business, customer)
    touch(campaign, Touch.Kind.CONVERSATION, conversation=conversation)
    order = _paid_order(owner, business, customer, conversation, 10000)
    attribute(order, first=campaign, last=campaign, fee=399)
    refund = refunds.refund_order(
        actor=owner, order=order, amount=5000, reason="x", idempotency_key=uuid.uuid4().hex
    )
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    # when the figures are read for the last 28 days
    period = selectors.last_days(business)
    figures = selectors.campaign_detail(
        business=business, campaign=campaign, period=period, model="last"
    )
    # then
    assert (figures.clicks, figures.visitors, figures.conversations) == (3, 2, 1)
    assert (figures.payment_requests, figures.paid) == (1, 1)
    assert (figures.gross, figures.fee) == (10000, 399)
    assert figures.refunds == 5000 - refund.fee
    assert figures.net == 10000 - 399 - (5000 - refund.fee)
    assert figures.cost == 5000
    assert figures.cost_per_conversation == 5000 and figures.cost_per_purchase == 5000
    # (gross − refunds) / cost; the refund costs the merchant 50.00 less its fee share
    assert figures.roas == (Decimal(10000 - figures.refunds) / 5000).quantize(Decimal("0.01"))
    assert figures.roi == ((Decimal(figures.net) - 5000) / 5000).quantize(Decimal("0.01"))
    steps = selectors.funnel(figures, ["a", "b", "c", "d", "e"])
    assert [s.count for s in steps] == [3, 1, 1, 1, 0]
    assert [s.drop for s in steps] == [None, Decimal(67), Decimal(0), Decimal(0), Decimal(100)]


def test_no_cost_no_ratios(owner, business):
    campaign = make_campaign(owner, business)
    figures = selectors.campaign_figures(
        business=business, campaigns=[campaign], period=selectors.last_days(business),
        model="last",
    )[campaign.pk]  # fmt: skip
    assert figures.cost == 0
    assert figures.roas is None and figures.roi is None and figures.cost_per_purchase is None


def test_cost_total_when_the_dates_overlap_daily_by_the_lines_in_the_period(owner, business):
    today = selectors.last_days(business).last
    day = datetime.timedelta(days=1)
    old = make_campaign(
        owner, business, name="Old", total_cost=900, starts_on=today - 60 * day,
        ends_on=today - 40 * day,
    )  # fmt: skip
    running = make_campaign(owner, business, name="Running", total_cost=700, starts_on=today)
    daily = make_campaign(owner, business, name="Daily", cost_mode="daily")
    spend.add_spend_line(actor=owner, campaign=daily, day=today, amount=100)
    spend.add_spend_line(actor=owner, campaign=daily, day=today - 6 * day, amount=20)
    spend.add_spend_line(actor=owner, campaign=daily, day=today - 7 * day, amount=3)
    week = selectors.last_days(business, 7)
    figures = selectors.campaign_figures(
        business=business, campaigns=[old, running, daily], period=week, model="last"
    )
    assert (figures[old.pk].cost, figures[running.pk].cost, figures[daily.pk].cost) == (
        0, 700, 120,
    )  # fmt: skip


def test_first_and_last_touch_models_and_the_period(owner, business, customer):
    first, last = make_campaign(owner, business, name="A"), make_campaign(owner, business, name="B")
    conversation = start_chat(business, customer)
    order = _paid_order(owner, business, customer, conversation, 2000)
    attribute(order, first=first, last=last, fee=80)
    period = selectors.last_days(business)
    both = [first, last]
    by_first = selectors.campaign_figures(
        business=business, campaigns=both, period=period, model="first"
    )
    by_last = selectors.campaign_figures(
        business=business, campaigns=both, period=period, model="last"
    )
    assert (by_first[first.pk].paid, by_first[last.pk].paid) == (1, 0)
    assert (by_last[first.pk].paid, by_last[last.pk].paid) == (0, 1)
    # an order paid before the period is not counted
    attribute(order, first=first, last=last, paid_at=days_ago(40), fee=80)
    again = selectors.campaign_figures(
        business=business, campaigns=both, period=period, model="last"
    )
    assert again[last.pk].paid == 0


def test_credited_revenue_with_direct(owner, business, customer):
    campaign = make_campaign(owner, business)
    conversation = start_chat(business, customer)
    credited = _paid_order(owner, business, customer, conversation, 3000)
    direct = _paid_order(owner, business, customer, conversation, 1000)
    attribute(credited, first=campaign, last=campaign, fee=120)
    attribute(direct, fee=40)
    period = selectors.last_days(business)
    revenue = selectors.credited_revenue(
        business=business, start=period.start, end=period.end, model="first"
    )
    assert {key: row.net for key, row in revenue.items()} == {campaign.pk: 2880, None: 960}


def test_the_list_takes_a_fixed_number_of_queries(owner, business, customer, other):
    def count(n):
        for i in range(n):
            campaign = make_campaign(
                owner, business, name=f"C{i}", cost_mode="daily" if i % 2 else "total"
            )
            touch(campaign, visitor=f"{i:032d}")
            touch(campaign, Touch.Kind.CONVERSATION, conversation=start_chat(business))
        campaigns = list(selectors.list_campaigns(business=business))
        with CaptureQueriesContext(connection) as queries:
            selectors.campaign_figures(
                business=business, campaigns=campaigns, period=selectors.last_days(business),
                model="last",
            )  # fmt: skip
        return len(queries)

    assert count(1) == count(5) == 5


def test_period_from_the_query(business):
    period, preset = selectors.period_from(business, {})
    assert (period.days, preset) == (28, "28")
    assert selectors.period_from(business, {"days": "7"})[0].days == 7
    custom, preset = selectors.period_from(business, {"from": "2026-03-01", "to": "2026-03-31"})
    assert (custom.first, custom.last, preset) == (
        datetime.date(2026, 3, 1),
        datetime.date(2026, 3, 31),
        "custom",
    )
    # the period's edges are the business's midnights
    assert custom.start.utcoffset() == datetime.timedelta(hours=-3)
    for bad in (
        {"days": "x" * 10_000},
        {"from": "2026-02-30", "to": "x"},
        {"from": "0001-01-01", "to": "0001-01-02"},
    ):
        assert selectors.period_from(business, bad)[1] == "28"
    assert isinstance(custom, Period)
