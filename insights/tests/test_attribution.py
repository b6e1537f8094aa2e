"""Attribution: the snapshot taken when an order is paid (first and last touch within
the window, broadcasts, direct orders), refunds read later, and a property: whatever
the touches, orders and refunds, the revenue credited to the campaigns plus direct
is the revenue of all paid orders, to the centavo, under first and last touch."""

import datetime
import uuid
import zoneinfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from chats.models import Contact
from chats.services import consent, outbox
from insights.models import AttributionSettings, Campaign, OrderAttribution, Touch
from insights.selectors import credited_revenue
from insights.services import attribution, touches
from insights.tests.helpers import click, customer_with_card, paid_order, start_chat
from marketing import services as marketing
from payments.models import Payment, PaymentPin, Refund
from payments.services import orders as order_services
from payments.services import paying, pins, refunds
from payments.services.ledger import fee_for

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def campaign(business, code):
    return Campaign.objects.create(
        business=business, name=code, code=code, currency=business.currency
    )


def age(touch_ids, moment):
    """Move touches to ``moment`` (clicks are stamped when made; tests need the past)."""
    Touch.objects.filter(pk__in=touch_ids).update(occurred_at=moment)


@pytest.fixture
def carla(business):
    return customer_with_card(display_name="Carla")


def test_first_and_last_touch_within_the_window(owner, business, carla):
    customer, card = carla
    insta, flyer = campaign(business, "insta"), campaign(business, "flyer")
    now = timezone.now()
    # an anonymous click, then the chat (which links the visitor), then a signed-in click
    click(business, ip="203.0.113.9", ref="insta", utm_source="instagram", gclid="G1")
    touches.flush()
    first_click = Touch.objects.get()
    age([first_click.pk], now - 3 * DAY)
    conversation = start_chat(business, customer, ip="203.0.113.9")
    age(Touch.objects.filter(kind="conversation").values("pk"), now - 2 * DAY)
    click(business, user=customer, ip="192.0.2.200", ref="flyer")
    touches.flush()

    order = paid_order(owner, conversation, customer, card, amount=10_000)

    snap = order.attribution
    assert snap.first_touch == first_click and snap.first_campaign == insta
    assert (snap.first_source, snap.first_click_id) == ("instagram", "G1")
    assert snap.last_campaign == flyer and snap.last_touch.kind == "click"
    assert (snap.gross, snap.fee, snap.currency) == (10_000, fee_for(10_000, 399), "BRL")
    assert snap.conversation == conversation and snap.contact_id == conversation.contact_id
    assert snap.window_days == 7 and snap.paid_at == order.paid_at and not snap.is_direct


def test_an_order_without_a_campaign_touch_is_direct(owner, business, carla):
    customer, card = carla
    conversation = start_chat(business, customer)  # no link values: no campaign
    click(business, ip="198.51.100.1", utm_source="someone-else")  # another visitor
    touches.flush()

    snap = paid_order(owner, conversation, customer, card).attribution
    assert snap.is_direct and snap.first_touch is None and snap.last_touch is None


@pytest.mark.parametrize("tz", ["UTC", "America/Sao_Paulo"])
@pytest.mark.parametrize(
    ("before_payment", "credited"),
    [
        (7 * DAY - datetime.timedelta(seconds=1), True),
        (7 * DAY, True),
        (7 * DAY + datetime.timedelta(seconds=1), False),
    ],
)
def test_the_window_edge(owner, business, carla, monkeypatch, tz, before_payment, credited):
    business.timezone = tz
    business.save(update_fields=["timezone"])
    customer, card = carla
    conversation = start_chat(business, customer, ref="flyer")
    paid_at = timezone.now().replace(microsecond=0) + datetime.timedelta(seconds=5)
    age(Touch.objects.values("pk"), paid_at - before_payment)
    monkeypatch.setattr(timezone, "now", lambda: paid_at)  # the moment the order is paid

    snap = paid_order(owner, conversation, customer, card).attribution

    assert snap.paid_at == paid_at
    assert (snap.last_campaign is not None) is credited
    assert (snap.first_campaign is not None) is credited


@pytest.mark.parametrize(("days", "credited"), [(1, False), (7, True), (28, True)])
def test_the_business_chooses_its_window(owner, business, carla, days, credited):
    AttributionSettings.objects.create(business=business, window_days=days)
    customer, card = carla
    conversation = start_chat(business, customer, ref="flyer")
    age(Touch.objects.values("pk"), timezone.now() - 2 * DAY)

    snap = paid_order(owner, conversation, customer, card).attribution
    assert snap.window_days == days and (not snap.is_direct) is credited


def test_an_offer_delivered_is_credited_under_last_touch(owner, business, carla, settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = float("inf")
    customer, card = carla
    flyer = campaign(business, "flyer")
    conversation = start_chat(business, customer, ref="flyer")
    age(Touch.objects.values("pk"), timezone.now() - 3 * DAY)
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.grant_offers_consent(customer=customer, contact=contact, source="chat")
    broadcast = marketing.create_broadcast(
        actor=owner, business=business, text="Cakes!", audience="all"
    )
    outbox.send_due()

    snap = paid_order(owner, conversation, customer, card).attribution

    assert snap.first_campaign == flyer
    assert snap.last_campaign == broadcast.campaign and snap.last_touch.kind == "offer"


def test_touches_of_other_customers_and_shops_do_not_count(owner, business, other, carla):
    customer, card = carla
    conversation = start_chat(business, customer, ip="203.0.113.1")
    start_chat(business, UserFactory(), ip="203.0.113.2", ref="theirs")
    start_chat(other.business, customer, ip="203.0.113.1", ref="elsewhere")
    click(other.business, ip="203.0.113.1", utm_source="elsewhere")
    touches.flush()

    assert paid_order(owner, conversation, customer, card).attribution.is_direct


def test_the_snapshot_is_taken_once(owner, business, carla):
    customer, card = carla
    campaign(business, "flyer")
    conversation = start_chat(business, customer, ref="flyer")
    order = paid_order(owner, conversation, customer, card)
    campaign(business, "later")
    start_chat(business, UserFactory(), ref="later")

    attribution.attribute_order(order=order)

    assert OrderAttribution.objects.filter(order=order).count() == 1
    assert order.attribution.last_campaign.code == "flyer"


def test_a_refund_changes_no_attribution_and_is_read_by_the_revenue(owner, business, carla):
    customer, card = carla
    conversation = start_chat(business, customer, ref="flyer")
    order = paid_order(owner, conversation, customer, card, amount=10_000)
    before = OrderAttribution.objects.values().get(order=order)

    refund = refunds.refund_order(
        actor=owner, order=order, amount=4_000, reason="broken", idempotency_key=uuid.uuid4().hex
    )

    assert OrderAttribution.objects.values().get(order=order) == before
    flyer = order.attribution.last_campaign_id
    for model in ("first", "last"):
        revenue = credited_revenue(business=business, model=model)[flyer]
        assert (revenue.orders, revenue.gross, revenue.fee) == (1, 10_000, 399)
        assert revenue.refunds == refund.amount - refund.fee == 4_000 - 160
        assert revenue.net == 10_000 - 399 - 3_840


def test_revenue_by_period_and_model(owner, business, carla):
    customer, card = carla
    campaign(business, "first"), campaign(business, "second")
    conversation = start_chat(business, customer, ref="first")
    click(business, user=customer, ref="second")
    touches.flush()
    paid_order(owner, conversation, customer, card, amount=5_000)
    now = timezone.now()

    first = credited_revenue(business=business, model="first")
    last = credited_revenue(business=business, model="last")
    assert [c.code for c in Campaign.objects.filter(pk__in=first)] == ["first"]
    assert [c.code for c in Campaign.objects.filter(pk__in=last)] == ["second"]
    assert credited_revenue(business=business, model="last", end=now - DAY) == {}
    assert credited_revenue(business=business, model="last", start=now - DAY)
    with pytest.raises(ValueError):
        credited_revenue(business=business, model="middle")


def test_the_payment_path_pays_a_few_queries(owner, business, carla, django_assert_max_num_queries):
    customer, card = carla
    conversation = start_chat(business, customer, ref="flyer")
    order = paid_order(owner, conversation, customer, card)
    OrderAttribution.objects.filter(order=order).delete()
    order.conversation = conversation  # as the paying service loads it
    payment_id = order.payments.get().pk

    with django_assert_max_num_queries(4):
        attribution.attribute_order(order=order, payment_id=payment_id)
    assert order.attribution.last_campaign is not None


# --- Property ----------------------------------------------------------------------------------

FAST_PIN = "481526"
SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")


class Rollback(Exception):
    """Ends a hypothesis example, undoing what it wrote."""


@pytest.fixture
def world(owner, business, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    people = []
    for n in range(3):
        customer, card = customer_with_card(display_name=f"C{n}")
        PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin(FAST_PIN))
        people.append((customer, card))
    return {"owner": owner, "business": business, "people": people}


CODES = ("insta", "flyer", "google")
OP = st.one_of(
    # who (customer), which campaign (or an unknown one: automatic), days ago, ip
    st.tuples(st.just("click"), st.integers(0, 2), st.integers(0, 3), st.integers(0, 40)),
    st.tuples(st.just("chat"), st.integers(0, 2), st.integers(0, 3), st.integers(0, 40)),
    # who pays, the amount
    st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 90_000), st.just(0)),
    # which order, the amount
    st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 90_000), st.just(0)),
)


def _step(world, op, orders, chats) -> None:
    kind, who, a, b = op
    business = world["business"]
    customer, card = world["people"][who % 3]
    code = (*CODES, "unknown")[a % 4]
    if kind == "click":
        click(business, user=customer if b % 2 else None, ip=f"203.0.113.{who}", ref=code)
        touches.flush()
        age([Touch.objects.latest("id").pk], timezone.now() - b * DAY)
    elif kind == "chat":
        if who in chats:
            return
        chats[who] = start_chat(business, customer, ip=f"203.0.113.{who}", ref=code)
        age([Touch.objects.latest("id").pk], timezone.now() - b * DAY / 4)
    elif kind == "pay":
        if who not in chats:
            chats[who] = start_chat(business, customer)
        order = order_services.create_payment_request(
            actor=world["owner"], conversation=chats[who],
            lines=[{"name": "Item", "unit_price": a, "quantity": 1}],
        )  # fmt: skip
        paying.pay_order(
            payer=customer, order=order, card=card, confirmation="pin", pin=FAST_PIN,
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        orders.append(order)
    elif orders:
        try:
            refunds.refund_order(
                actor=world["owner"], order=orders[who % len(orders)], amount=a,
                reason="property", idempotency_key=uuid.uuid4().hex,
            )  # fmt: skip
        except Exception as exc:  # too large, or more than is left
            if getattr(exc, "code", "") not in {"refund_too_large", "insufficient_balance"}:
                raise


def _paid_revenue(business) -> int:
    """The revenue of all paid orders, from payments' own rows."""
    total = 0
    for payment in Payment.objects.filter(business=business, status__in=Payment.SETTLED):
        total += payment.amount - payment.fee
    for refund in Refund.objects.filter(order__business=business, status="succeeded"):
        total -= refund.amount - refund.fee
    return total


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(OP, max_size=12))
def test_credited_revenue_adds_up_to_the_revenue_of_all_paid_orders(world, ops):
    business = world["business"]
    try:
        with transaction.atomic():
            for code in CODES[:2]:
                campaign(business, code)
            orders: list = []
            chats: dict = {}
            for op in ops:
                _step(world, op, orders, chats)
            expected = _paid_revenue(business)
            assert OrderAttribution.objects.filter(business=business).count() == len(orders)
            for model in ("first", "last"):
                credited = credited_revenue(business=business, model=model)
                assert sum(r.net for r in credited.values()) == expected
                assert sum(r.orders for r in credited.values()) == len(orders)
                assert sum(r.gross for r in credited.values()) == sum(o.total for o in orders)
            raise Rollback
    except Rollback:
        pass
