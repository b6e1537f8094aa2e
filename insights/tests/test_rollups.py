"""The reports' rollups (docs/insights.md, "Rollups"): each metric's definition on a
conversation built through the services, local days in the business's time zone,
the incremental refresh, the rebuild command, and a property: whatever happens in
whatever order, the refreshed rollups equal a rebuild from the raw rows."""

import datetime
import uuid
import zoneinfo
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.tests.factories import make_product
from chats.models import Label
from chats.services import inbox
from chats.services.conversations import start_conversation_with_message
from chats.services.messages import send_text
from core.errors import AppError
from insights.models import (
    ActivityDay,
    ConversationFact,
    DailyFigure,
    Outcome,
    RollupState,
    RollupVersion,
    StaleConversation,
)
from insights.services import rollups
from insights.services.campaigns import set_attribution_window
from insights.tests.helpers import customer_with_card
from payments.models import PaymentPin
from payments.services import orders as order_services
from payments.services import paying, pins, refunds
from payments.tests.factories import PIN

pytestmark = pytest.mark.django_db
SP = zoneinfo.ZoneInfo("America/Sao_Paulo")
MIN = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def at(month, day, hour, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=SP)


@pytest.fixture
def shop(business):
    business.timezone = "America/Sao_Paulo"
    business.save(update_fields=["timezone"])
    return business


def request_payment(owner, conversation, amount, product=None):
    line = {"name": "Item", "unit_price": amount, "quantity": 1}
    if product is not None:
        line = {"product_id": product.pk, "quantity": 2}
    return order_services.create_payment_request(
        actor=owner, conversation=conversation, lines=[line]
    )


def pay(customer, card, order, pin=PIN):
    paying.pay_order(
        payer=customer, order=order, card=card, confirmation="pin", pin=pin,
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    order.refresh_from_db()
    return order


def figure(business, day, dim="total", key=""):
    return DailyFigure.objects.filter(business=business, day=day, dim=dim, key=key).first()


def test_one_conversation_from_product_card_to_refund(owner, shop, agent):
    customer, card = customer_with_card(display_name="Carla")
    product = make_product(owner, shop, price=2_500)
    label = Label.objects.create(business=shop, name="VIP")
    with time_machine.travel(at(3, 2, 10), tick=False) as clock:
        conversation, _message = start_conversation_with_message(
            customer=customer, business=shop, product_id=product.pk, body="",
            first_touch={"utm_source": "instagram"},
        )  # fmt: skip
        clock.shift(12 * MIN)
        send_text(actor=agent, conversation=conversation, body="Hello!")
        clock.shift(MIN)
        send_text(actor=owner, conversation=conversation, body="Anything else?")
        order = request_payment(owner, conversation, 0, product=product)
        inbox.set_labels(actor=owner, conversation=conversation, label_ids=[label.pk])
        clock.shift(2 * HOUR)
        pay(customer, card, order)
        clock.shift(DAY)
        inbox.set_status(actor=owner, conversation=conversation, status="resolved")
        request_payment(owner, conversation, 900)  # unpaid
        # (the sandbox gateway keeps a charge a week: refund within it)
        clock.shift(5 * DAY)
        refunds.refund_order(
            actor=owner, order=order, amount=1_000, reason="broken",
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        rollups.rebuild(business=shop)

    fact = ConversationFact.objects.get(pk=conversation.pk)
    assert fact.started_on == datetime.date(2026, 3, 2) and fact.started_hour == 10
    assert fact.source == "instagram" and fact.product_id == product.pk
    assert fact.first_response_seconds == 12 * 60  # the agent's, not the owner's later one
    assert fact.agent_id == agent.pk  # nobody assigned: the first to answer
    assert fact.resolution_seconds == int((DAY + 12 * MIN + MIN + 2 * HOUR).total_seconds())
    assert fact.outcome == Outcome.BOUGHT and fact.requests == 2 and fact.paid_orders == 1
    payment = order.payments.get()
    refund = order.refunds.get()
    net = payment.amount - payment.fee - (refund.amount - refund.fee)
    assert fact.revenue == net

    started = figure(shop, datetime.date(2026, 3, 2))
    assert (started.conversations, started.bought, started.responded, started.resolved) == (
        1, 1, 1, 1,
    )  # fmt: skip
    # out: two texts, the payment request and the receipt
    assert (started.messages_in, started.messages_out, started.requests) == (1, 4, 1)
    # the refund days later corrects the day the order was paid
    assert (started.paid, started.gross, started.fee) == (1, 5_000, payment.fee)
    assert started.refunds == refund.amount - refund.fee and started.net == net
    assert figure(shop, datetime.date(2026, 3, 3)).requests == 1  # the unpaid request
    assert figure(shop, datetime.date(2026, 3, 2), "source", "instagram").bought == 1
    assert figure(shop, datetime.date(2026, 3, 2), "label", str(label.pk)).paid == 1
    assert figure(shop, datetime.date(2026, 3, 2), "hour", "10").conversations == 1
    assert figure(shop, datetime.date(2026, 3, 2), "response", "5-60m").conversations == 1
    by_agent = figure(shop, datetime.date(2026, 3, 2), "agent", str(agent.pk))
    assert by_agent.messages_out == 1 and by_agent.conversations == 1 and by_agent.paid == 1
    assert figure(shop, datetime.date(2026, 3, 2), "agent", str(owner.pk)).messages_out == 2
    sold = figure(shop, datetime.date(2026, 3, 2), "product", str(product.pk))
    assert (sold.conversations, sold.units, sold.gross) == (1, 2, 5_000)
    assert (sold.fee, sold.refunds) == (started.fee, started.refunds)  # its only line


def test_a_sale_at_23_30_in_sao_paulo_is_on_that_local_day(owner, shop):
    customer, card = customer_with_card()
    with time_machine.travel(at(5, 10, 23, 30), tick=False):
        conversation, _m = start_conversation_with_message(
            customer=customer, business=shop, body="Hi"
        )
        pay(customer, card, request_payment(owner, conversation, 4_000))
        rollups.rebuild(business=shop)
    # 02:30 UTC on May 11th
    assert figure(shop, datetime.date(2026, 5, 10)).paid == 1
    assert figure(shop, datetime.date(2026, 5, 11)) is None
    assert ConversationFact.objects.get().started_hour == 23


def test_no_payment_request_and_an_unpaid_one(owner, shop):
    quiet, _c = customer_with_card()
    asked, _c2 = customer_with_card()
    with time_machine.travel(at(4, 1, 9), tick=False) as clock:
        start_conversation_with_message(customer=quiet, business=shop, body="Just looking")
        conversation, _m = start_conversation_with_message(
            customer=asked, business=shop, body="How much?"
        )
        clock.shift(8 * DAY)  # after the 7-day window: not this conversation's outcome
        request_payment(owner, conversation, 1_000)
        rollups.rebuild(business=shop)
    outcomes = dict(ConversationFact.objects.values_list("conversation__contact__user", "outcome"))
    assert outcomes == {quiet.pk: Outcome.NONE, asked.pk: Outcome.NONE}
    day = figure(shop, datetime.date(2026, 4, 1))
    # the payment request eight days later is the second one's first response
    assert (day.conversations, day.bought, day.unpaid, day.responded) == (2, 0, 0, 1)
    assert figure(shop, datetime.date(2026, 4, 1), "response", "none").conversations == 1
    assert figure(shop, datetime.date(2026, 4, 1), "response", "gt24h").conversations == 1


def test_refresh_folds_in_new_messages_and_late_changes(owner, shop):
    customer, card = customer_with_card()
    with time_machine.travel(at(6, 1, 15), tick=True) as clock:
        rollups.refresh()  # the first run ever: a rebuild of nothing
        conversation, _m = start_conversation_with_message(
            customer=customer, business=shop, body="Hi"
        )
        order = pay(customer, card, request_payment(owner, conversation, 3_000))
        assert rollups.refresh() == 1
        assert figure(shop, datetime.date(2026, 6, 1)).paid == 1
        assert not StaleConversation.objects.exists()
        clock.shift(3 * DAY)
        refunds.refund_order(
            actor=owner, order=order, amount=3_000, reason="returned",
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        assert StaleConversation.objects.count() == 1
        rollups.refresh()
        paid_day = figure(shop, datetime.date(2026, 6, 1))  # not the refund's day
        assert paid_day.refunds == 3_000 - order.refunds.get().fee
        assert paid_day.net == 0  # refunded in full: the fee was given back too
        clock.shift(10 * MIN)
        rollups.refresh()  # still within the overlap: looked at again
        clock.shift(10 * MIN)
        assert rollups.refresh() == 0  # nothing new


def test_rebuild_command(owner, shop, other):
    customer, _card = customer_with_card()
    start_conversation_with_message(customer=customer, business=shop, body="Hi")
    out = StringIO()
    call_command("rebuild_insights", "--business", shop.slug, "--since", "2020-01-01", stdout=out)
    assert "Rebuilt the rollups of 1 conversations" in out.getvalue()
    assert DailyFigure.objects.filter(business=shop, dim="total").count() == 1
    with pytest.raises(CommandError, match="No business"):
        call_command("rebuild_insights", "--business", "nope")
    with pytest.raises(CommandError, match="must be a date"):
        call_command("rebuild_insights", "--since", "01/02/2026")


# --- Property ---------------------------------------------------------------------------

FAST_PIN = "481526"


class Rollback(Exception):
    """Ends a hypothesis example, undoing what it wrote."""


@pytest.fixture
def world(owner, shop, agent, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # every example starts at the same minute of the travelled clock: no rate limit
    settings.CHAT_MESSAGES_PER_MINUTE = 100_000
    people = []
    for n in range(3):
        customer, card = customer_with_card(display_name=f"C{n}")
        PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin(FAST_PIN))
        people.append((customer, card))
    labels = [Label.objects.create(business=shop, name=f"L{n}") for n in range(2)]
    products = [make_product(owner, shop, price=1_000 * (n + 1)) for n in range(2)]
    return {
        "owner": owner, "agent": agent, "business": shop, "people": people,
        "labels": labels, "products": products,
    }  # fmt: skip


OP = st.one_of(
    # customer (0-2), how: text / product 0 / product 1, source
    st.tuples(st.just("chat"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("customer"), st.integers(0, 2), st.just(0)),
    # customer, staff member (owner / agent)
    st.tuples(st.just("reply"), st.integers(0, 2), st.integers(0, 1)),
    # customer, amount or product
    st.tuples(st.just("request"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("pay"), st.integers(0, 2), st.just(0)),
    # which paid order, share refunded in tenths
    st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 10)),
    st.tuples(st.just("status"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("assign"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("labels"), st.integers(0, 2), st.integers(0, 3)),
    # hours to wait (up to 3 days, so days and the window's edge are crossed)
    st.tuples(st.just("wait"), st.integers(1, 72), st.just(0)),
    st.tuples(st.just("refresh"), st.just(0), st.just(0)),
)
SOURCES = ("", "instagram", "google")
STATUSES = ("open", "pending", "resolved")


def _step(world, op, state) -> None:
    kind, who, n = op
    business, owner = world["business"], world["owner"]
    chats, orders = state["chats"], state["orders"]
    customer, card = world["people"][who % 3]
    conversation = chats.get(who)
    if kind == "chat" and conversation is None:
        product = world["products"][n - 1].pk if n else None
        chats[who], _m = start_conversation_with_message(
            customer=customer, business=business, body="" if product else "Hi",
            product_id=product, first_touch={"utm_source": SOURCES[n]},
        )  # fmt: skip
    elif kind == "wait":  # time passes, and the beat refreshes the rollups meanwhile
        rollups.refresh()
        state["clock"].shift(datetime.timedelta(hours=who))
    elif kind == "refresh":
        rollups.refresh()
    elif conversation is None:
        return
    elif kind == "customer":
        send_text(actor=customer, conversation=conversation, body="more")
    elif kind == "reply":
        staff = (owner, world["agent"])[n]
        try:
            send_text(actor=staff, conversation=conversation, body="answer")
        except AppError as exc:  # an agent does not see a conversation assigned to another
            assert exc.code == "not_found" and staff == world["agent"]
    elif kind == "request":
        product = world["products"][n - 2] if n >= 2 else None
        orders.append(request_payment(owner, conversation, 1_000 + 700 * n, product=product))
    elif kind == "pay":
        pending = [o for o in orders if o.conversation_id == conversation.pk and not o.paid_at]
        if pending and pending[0].expires_at > timezone.now():
            pay(customer, card, pending[0], pin=FAST_PIN)
    elif kind == "refund":
        paid = [o for o in orders if o.paid_at]
        if paid:
            order = paid[who % len(paid)]
            try:
                refunds.refund_order(
                    actor=owner, order=order, amount=max(1, order.total * n // 10),
                    reason="property", idempotency_key=uuid.uuid4().hex,
                )  # fmt: skip
            except Exception as exc:  # more than is left to refund
                if getattr(exc, "code", "") not in {"refund_too_large", "insufficient_balance"}:
                    raise
    elif kind == "status":
        inbox.set_status(actor=owner, conversation=conversation, status=STATUSES[n])
    elif kind == "assign":
        assignee = (None, owner.pk, world["agent"].pk)[n]
        inbox.assign(actor=owner, conversation=conversation, assignee_id=assignee)
    elif kind == "labels":
        labels = world["labels"]
        wanted = ([], [labels[0].pk], [labels[1].pk], [x.pk for x in labels])[n]
        inbox.set_labels(actor=owner, conversation=conversation, label_ids=wanted)


def snapshot(business) -> dict:
    """Every rollup row of ``business``, comparable (ids and order left out)."""

    def rows(model):
        return sorted(
            repr(sorted((k, v) for k, v in row.items() if k != "id"))
            for row in model.objects.filter(business=business).values()
        )

    return {
        "facts": rows(ConversationFact),
        "activity": rows(ActivityDay),
        "figures": rows(DailyFigure),
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(OP, min_size=3, max_size=25))
def test_refreshed_rollups_equal_a_rebuild_from_the_raw_rows(world, ops):
    business = world["business"]
    try:
        with transaction.atomic(), time_machine.travel(at(7, 1, 8), tick=True) as clock:
            RollupState.objects.update_or_create(pk=1, defaults={"scanned_until": None})
            rollups.refresh()
            state = {"chats": {}, "orders": [], "clock": clock}
            # two conversations from the start (one from a product card), so that
            # most steps act on something
            for op in [("chat", 0, 1), ("chat", 1, 0), *ops]:
                _step(world, op, state)
            clock.shift(MIN)
            rollups.refresh()
            refreshed = snapshot(business)
            rollups.rebuild(business=business)
            assert snapshot(business) == refreshed
            # and the money adds up to payments' own rows, to the centavo
            total = DailyFigure.objects.filter(business=business, dim="total")
            paid = [o for o in state["orders"] if o.paid_at]
            assert sum(f.paid for f in total) == len(paid)
            assert sum(f.gross for f in total) == sum(o.total for o in paid)
            raise Rollback
    except Rollback:
        pass


def test_a_new_attribution_window_rebuilds_the_business_at_the_next_refresh(owner, shop):
    customer, card = customer_with_card()
    with time_machine.travel(at(8, 1, 9), tick=True) as clock:
        rollups.refresh()
        conversation, _m = start_conversation_with_message(
            customer=customer, business=shop, body="Hi"
        )
        clock.shift(3 * DAY)  # 3 days later: inside a 7-day window, not a 1-day one
        pay(customer, card, request_payment(owner, conversation, 2_000))
        rollups.refresh()
        assert ConversationFact.objects.get().outcome == Outcome.BOUGHT
        set_attribution_window(actor=owner, business=shop, window_days=1)
        assert RollupVersion.objects.get(business=shop).rebuild_wanted_at is not None
        clock.shift(10 * MIN)
        rollups.refresh()
    assert ConversationFact.objects.get().outcome == Outcome.NONE
    assert RollupVersion.objects.get(business=shop).rebuild_wanted_at is None
