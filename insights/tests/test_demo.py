"""The demo's history (insights/demo_history.py): months of chats, orders, refunds,
ratings, campaigns and offers, so that every report has something to show."""

import datetime

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from chats.models import Contact, Conversation, Message
from insights.models import Campaign, Touch
from marketing.models import Broadcast, SatisfactionRating
from payments.models import Order, Payment, Refund

pytestmark = pytest.mark.django_db


def test_the_demo_has_months_of_history_for_every_report():
    # given an empty database, when the demo is loaded (as `make run` does)
    started = timezone.now()
    call_command("seed_demo", verbosity=0)

    # then (one load, several checks: it takes a few seconds)
    check_months_of_conversations(started)
    check_nothing_is_dated_in_the_future()
    check_messages_both_ways_by_several_members()
    check_sources_campaigns_and_offers(started)
    check_orders_refunds_and_ratings()


def check_months_of_conversations(started):
    aurora = Conversation.objects.filter(business__slug="padaria-aurora")
    oldest = min(aurora.values_list("created_at", flat=True))
    assert started - oldest > datetime.timedelta(days=90)
    days = aurora.annotate(day=TruncDate("created_at")).values("day").distinct().count()
    assert days >= 30
    hours = {c.created_at.astimezone(c.business.tz).hour for c in aurora.select_related("business")}
    assert len(hours) >= 10


def check_nothing_is_dated_in_the_future():
    now = timezone.now()
    assert not Message.objects.filter(created_at__gt=now).exists()
    assert not Order.objects.filter(paid_at__gt=now).exists()
    assert not Touch.objects.filter(occurred_at__gt=now).exists()
    assert not SatisfactionRating.objects.filter(created_at__gt=now).exists()


def check_messages_both_ways_by_several_members():
    aurora = Message.objects.filter(conversation__business__slug="padaria-aurora")
    staff = aurora.filter(author__memberships__business__slug="padaria-aurora")
    assert staff.values("author").distinct().count() >= 3
    assert aurora.filter(sender__user__isnull=False).count() > 50  # the customers'


def check_sources_campaigns_and_offers(started):
    sources = set(
        Conversation.objects.filter(business__slug="padaria-aurora").values_list(
            "utm_source", flat=True
        )
    )
    assert {"instagram", "whatsapp", "google", ""} <= sources
    paid = Campaign.objects.filter(business__slug="padaria-aurora", auto_key="", broadcast=None)
    assert paid.count() == 2
    google = paid.get(code="encomendas-de-bolo")
    assert google.spend_lines.count() > 60
    assert paid.get(code="sourdough-week").total_cost > 0
    assert Broadcast.objects.count() >= 3
    offers = Campaign.objects.filter(broadcast__isnull=False)
    assert all(c.starts_on < timezone.localdate() for c in offers if c.broadcast.send_at < started)
    assert Contact.objects.filter(offers_opt_out_at__isnull=False).exists()


def check_orders_refunds_and_ratings():
    orders = Order.objects.filter(conversation__contact__user__email__contains="cliente")
    paid = orders.filter(paid_at__isnull=False).count()
    assert paid > orders.count() / 2
    assert orders.filter(status=Order.Status.EXPIRED).exists()
    refunds = Refund.objects.filter(status=Refund.Status.SUCCEEDED).select_related("order")
    assert {r.amount == r.order.total for r in refunds} == {True, False}  # full and partial
    assert Payment.objects.filter(status__in=Payment.SETTLED).count() >= paid - 1
    scores = dict(SatisfactionRating.objects.values_list("score").annotate(n=Count("id")))
    assert len(scores) >= 3
    assert Conversation.objects.filter(status=Conversation.Status.RESOLVED).count() > 10
