"""Payment requests: creating them (snapshots, validation, numbering), their chat card,
the one map of transitions, canceling, expiring and who may do what."""

import datetime
import itertools

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import make_product
from chats import events
from chats.models import Message
from chats.services import conversations, inbox
from chats.services import messages as chat_messages
from chats.tests.factories import say, start_chat
from core.errors import AppError
from core.events import collect_events
from core.money import MAX_MINOR
from payments import kinds
from payments.models import AuditEvent, Card, Order, OrderItem, Payment
from payments.services import orders

pytestmark = pytest.mark.django_db
STATUS = Order.Status


@pytest.fixture
def customer(db):
    return UserFactory(email="customer@example.com")


@pytest.fixture
def conversation(business, customer):
    return start_chat(business, customer)


@pytest.fixture
def bread(owner, business):
    return make_product(owner, business, name="Sourdough", price=1500)


def request(actor, conversation, lines=None, **kwargs):
    lines = lines if lines is not None else [{"name": "Cake", "unit_price": 2000, "quantity": 1}]
    return orders.create_payment_request(
        actor=actor, conversation=conversation, lines=lines, **kwargs
    )


def _live_payment(order, status="pending"):
    card = Card.objects.create(
        user=order.customer, gateway="sandbox", token=f"tok_{order.pk}", brand="visa",
        last4="4242", exp_month=12, exp_year=2040, holder_name="C",
    )  # fmt: skip
    return Payment.objects.create(
        order=order, payer=order.customer, business=order.business, card=card,
        amount=order.total, currency=order.currency, status=status, confirmation="pin",
        idempotency_key=f"k{order.pk}", gateway="sandbox",
    )  # fmt: skip


# --- Creating ---------------------------------------------------------------------------


def test_a_request_snapshots_products_and_adds_up(owner, business, conversation, bread):
    order = request(
        owner,
        conversation,
        [
            {"product_id": bread.pk, "quantity": 2},
            {"name": "Gift wrap", "unit_price": 350, "quantity": 1},
        ],
        shipping=1000,
        discount=500,
        note="Thanks!",
    )
    Product.objects.filter(pk=bread.pk).update(name="Renamed", price=9999)

    order.refresh_from_db()
    items = list(order.items.all())
    assert [(i.name, i.unit_price, i.quantity, i.line_total) for i in items] == [
        ("Sourdough", 1500, 2, 3000),
        ("Gift wrap", 350, 1, 350),
    ]
    assert items[0].product_id == bread.pk and items[1].product_id is None
    assert (order.subtotal, order.shipping, order.discount, order.total) == (3350, 1000, 500, 3850)
    assert order.currency == business.currency == "BRL"
    assert order.status == STATUS.PENDING and order.note == "Thanks!"
    assert order.customer == conversation.contact.user and order.created_by == owner
    assert order.number == 1
    event = AuditEvent.objects.get(order=order)
    assert (event.action, event.to_status, event.actor) == ("created", "pending", owner)


def test_orders_are_numbered_per_business(owner, business, conversation, other):
    first, second = request(owner, conversation), request(owner, conversation)
    elsewhere = request(other.owner, start_chat(other.business))
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)


def test_expiry_defaults_to_24_hours_and_is_bounded(owner, conversation):
    before = timezone.now()
    order = request(owner, conversation)
    assert before + datetime.timedelta(hours=24) <= order.expires_at
    assert order.expires_at <= timezone.now() + datetime.timedelta(hours=24)
    for wrong in (datetime.timedelta(minutes=59), datetime.timedelta(days=7, seconds=1), 24):
        with pytest.raises(AppError) as caught:
            request(owner, conversation, expires_in=wrong)
        assert caught.value.code == "invalid_expiry"


def test_another_business_product_is_refused(owner, conversation, other):
    theirs = make_product(other.owner, other.business, price=100)
    with pytest.raises(AppError) as caught:
        request(owner, conversation, [{"product_id": theirs.pk, "quantity": 1}])
    assert caught.value.code == "product_not_found"
    assert not Order.objects.exists()


def test_an_inactive_product_is_refused(owner, conversation, bread):
    Product.objects.filter(pk=bread.pk).update(is_active=False)
    with pytest.raises(AppError) as caught:
        request(owner, conversation, [{"product_id": bread.pk, "quantity": 1}])
    assert caught.value.code == "product_not_found"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("shipping", 1.5, "invalid_amount"),
        ("shipping", True, "invalid_amount"),
        ("shipping", "100", "invalid_amount"),
        ("shipping", -1, "money_negative"),
        ("shipping", MAX_MINOR + 1, "money_too_large"),
        ("discount", 0.0, "invalid_amount"),
        ("discount", -5, "money_negative"),
    ],
)
def test_bad_amounts_are_refused(owner, conversation, field, value, code):
    with pytest.raises(AppError) as caught:
        request(owner, conversation, **{field: value})
    assert caught.value.code == code
    assert not Order.objects.exists() and not Message.objects.filter(kind="payment_request")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({"name": "Cake", "unit_price": 19.9, "quantity": 1}, "invalid_amount"),
        ({"name": "Cake", "unit_price": False, "quantity": 1}, "invalid_amount"),
        ({"name": "Cake", "unit_price": 0, "quantity": 1}, "invalid_amount"),
        ({"name": "Cake", "unit_price": -100, "quantity": 1}, "money_negative"),
        ({"name": "Cake", "unit_price": MAX_MINOR + 1, "quantity": 1}, "money_too_large"),
        ({"name": "Cake", "unit_price": 100, "quantity": 0}, "invalid_quantity"),
        ({"name": "Cake", "unit_price": 100, "quantity": 1000}, "invalid_quantity"),
        ({"name": "Cake", "unit_price": 100, "quantity": 2.0}, "invalid_quantity"),
        ({"name": "  ", "unit_price": 100, "quantity": 1}, "invalid_line"),
        ({"name": "x" * 121, "unit_price": 100, "quantity": 1}, "invalid_line"),
        ({"product_id": "1", "quantity": 1}, "product_not_found"),
        ({"product_id": 10**20, "quantity": 1}, "product_not_found"),
        ("Cake", "invalid_line"),
    ],
)
def test_bad_lines_are_refused(owner, conversation, line, code):
    with pytest.raises(AppError) as caught:
        request(owner, conversation, [line])
    assert caught.value.code == code
    assert not Order.objects.exists()


def test_absurd_subtotals_are_refused(owner, conversation):
    line = {"name": "Gold", "unit_price": MAX_MINOR, "quantity": 2}
    with pytest.raises(AppError) as caught:
        request(owner, conversation, [line])
    assert caught.value.code == "money_too_large"


def test_between_one_and_fifty_lines(owner, conversation):
    with pytest.raises(AppError) as caught:
        request(owner, conversation, [])
    assert caught.value.code == "no_items"
    line = {"name": "Cake", "unit_price": 100, "quantity": 1}
    with pytest.raises(AppError) as caught:
        request(owner, conversation, [line] * 51)
    assert caught.value.code == "too_many_items"
    assert request(owner, conversation, [line] * 50).items.count() == 50


def test_the_discount_cannot_exceed_items_and_shipping(owner, conversation):
    with pytest.raises(AppError) as caught:
        request(owner, conversation, shipping=500, discount=2501)
    assert caught.value.code == "discount_too_large"
    with pytest.raises(AppError) as caught:
        request(owner, conversation, shipping=500, discount=2500)
    assert caught.value.code == "total_not_positive"
    assert request(owner, conversation, shipping=500, discount=2499).total == 1


def test_the_database_checks_the_totals_too(owner, conversation):
    order = request(owner, conversation)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(total=F("total") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.filter(order=order).update(line_total=F("line_total") + 1)


# --- Who may request --------------------------------------------------------------------


def test_staff_who_see_the_conversation_may_request(business, admin, agent, conversation):
    assert request(admin, conversation).created_by == admin
    assert request(agent, conversation).created_by == agent  # unassigned: agents see it


@pytest.mark.parametrize("who", ["outsider", "customer", "other_owner", "colleague_agent"])
def test_others_get_not_found(who, business, owner, agent, outsider, customer, other, conversation):
    if who == "colleague_agent":
        inbox.assign(actor=owner, conversation=conversation, assignee_id=owner.pk)
    actor = {
        "outsider": outsider,
        "customer": customer,
        "other_owner": other.owner,
        "colleague_agent": agent,
    }[who]
    with pytest.raises(AppError) as caught:
        request(actor, conversation)
    assert caught.value.code == "not_found"
    assert not Order.objects.exists()


def test_direct_chats_get_no_payment_requests(owner, customer):
    direct, _created = conversations.start_direct_conversation(user=owner, peer=customer)
    with pytest.raises(AppError) as caught:
        request(owner, direct)
    assert caught.value.code == "not_business"


# --- The chat card ----------------------------------------------------------------------


def test_the_request_is_posted_in_the_chat(owner, business, customer, conversation):
    say(customer, conversation, "Can I pay here?")
    order = request(owner, conversation, shipping=1000)

    message = Message.objects.filter(conversation=conversation).order_by("seq").last()
    assert Message.objects.filter(conversation=conversation, kind="payment_request").count() == 1
    assert message.kind == "payment_request" and order.message == message
    assert Order.objects.get(pk=order.pk).message_id == message.pk
    assert message.payload == {
        "order_id": order.pk,
        "business_id": business.pk,
        "number": 1,
        "total": 3000,
        "currency": "BRL",
    }
    assert message.sender.business_id == business.pk and message.author == owner
    assert kinds._preview_payment_request(message).startswith("💳 Payment request #1 — ")
    assert "30" in kinds._preview_payment_request(message)


def test_the_card_renders_items_totals_status_and_the_review_link(owner, conversation, bread):
    order = request(owner, conversation, [{"product_id": bread.pk, "quantity": 3}], discount=500)
    html = events.render_messages([order.message], "en")[0]
    assert "Payment request #1" in html
    assert "3 × Sourdough" in html and "R$45.00" in html and "R$40.00" in html
    assert "Awaiting payment" in html
    assert f'href="/orders/{order.pk}/"' in html and "Review and pay" in html

    orders.cancel_order(actor=owner, order=order)
    html = events.render_messages([Message.objects.get(pk=order.message_id)], "en")[0]
    assert "Canceled" in html and "Review and pay" not in html


def test_many_cards_render_in_a_fixed_number_of_queries(
    owner, conversation, django_assert_num_queries
):
    for _n in range(2):
        request(owner, conversation)
    few = list(Message.objects.filter(kind="payment_request").select_related("sender", "author"))
    with django_assert_num_queries(2):
        events.render_messages(few, "en")
    for _n in range(8):
        request(owner, conversation, [{"name": "Pie", "unit_price": 100, "quantity": 2}] * 3)
    many = list(Message.objects.filter(kind="payment_request").select_related("sender", "author"))
    assert len(many) == 10
    with django_assert_num_queries(2):
        html = events.render_messages(many, "en")
    assert all("Payment request #" in h for h in html)


def test_a_card_never_shows_an_order_of_another_conversation(owner, business, conversation):
    order = request(owner, conversation)
    elsewhere = start_chat(business)
    forged, _created = chat_messages.post_message(
        conversation=elsewhere,
        sender=None,
        kind="payment_request",
        payload={"order_id": order.pk, "business_id": business.pk},
    )
    html = events.render_messages([forged], "en")[0]
    assert "no longer available" in html and "Review and pay" not in html


# --- Transitions ------------------------------------------------------------------------

PAIRS = list(itertools.product(STATUS.values, STATUS.values))


@pytest.mark.parametrize(("start", "to"), PAIRS)
def test_every_transition_follows_the_map(owner, conversation, start, to):
    order = request(owner, conversation)
    Order.objects.filter(pk=order.pk).update(status=start)
    order.refresh_from_db()
    legal = to in Order.TRANSITIONS[start]

    if legal:
        orders.transition_order(order=order, to=to, actor=owner, data={"why": "test"})
        order.refresh_from_db()
        assert order.status == to
        event = AuditEvent.objects.filter(order=order).last()
        assert (event.action, event.from_status, event.to_status, event.actor, event.data) == (
            "status", start, to, owner, {"why": "test"},
        )  # fmt: skip
        assert (order.paid_at is not None) == (to == STATUS.PROCESSING)
    else:
        with pytest.raises(AppError) as caught:
            orders.transition_order(order=order, to=to, actor=owner)
        assert caught.value.code == "illegal_transition"
        order.refresh_from_db()
        assert order.status == start
        assert AuditEvent.objects.filter(order=order).count() == 1  # "created" only


def test_an_unknown_status_is_illegal(owner, conversation):
    order = request(owner, conversation)
    with pytest.raises(AppError) as caught:
        orders.transition_order(order=order, to="refunded")
    assert caught.value.code == "illegal_transition"


def test_a_transition_refreshes_the_card_after_commit(
    owner, conversation, django_capture_on_commit_callbacks
):
    """In the languages of those who may open the thread (the customer and the
    business's members), not in every site language."""
    MembershipFactory(user=UserFactory(language="fr"), business=conversation.business)
    order = request(owner, conversation)
    with collect_events() as sent, django_capture_on_commit_callbacks(execute=True):
        orders.transition_order(order=order, to=STATUS.PROCESSING)
    updates = [event for _group, event in sent if event["type"] == "chat.message_updated"]
    assert len(updates) == 1
    update = updates[0]
    assert update["conversation"] == conversation.pk
    assert update["message"]["seq"] == order.message.seq
    assert set(update["html"]) == {"en", "fr"}  # the factories' users: "en"; a member: "fr"
    assert "Paid" in update["html"]["en"] and "Review and pay" not in update["html"]["en"]
    assert "Payé" in update["html"]["fr"]


# --- Canceling ----------------------------------------------------------------------------


def test_staff_cancel_a_pending_order(owner, conversation):
    order = request(owner, conversation)
    orders.cancel_order(actor=owner, order=order)
    order.refresh_from_db()
    assert order.status == STATUS.CANCELED
    event = AuditEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, event.actor) == ("pending", "canceled", owner)


@pytest.mark.parametrize("status", ["pending", "succeeded"])
def test_no_cancel_while_a_payment_is_live(owner, conversation, status):
    order = request(owner, conversation)
    _live_payment(order, status)
    with pytest.raises(AppError) as caught:
        orders.cancel_order(actor=owner, order=order)
    assert caught.value.code == "payment_in_progress"
    order.refresh_from_db()
    assert order.status == STATUS.PENDING


def test_a_failed_payment_does_not_block_canceling(owner, conversation):
    order = request(owner, conversation)
    _live_payment(order, "failed")
    assert orders.cancel_order(actor=owner, order=order).status == STATUS.CANCELED


@pytest.mark.parametrize("status", ["processing", "canceled", "expired", "completed"])
def test_only_pending_orders_can_be_canceled(owner, conversation, status):
    order = request(owner, conversation)
    Order.objects.filter(pk=order.pk).update(status=status)
    with pytest.raises(AppError) as caught:
        orders.cancel_order(actor=owner, order=order)
    assert caught.value.code == "not_cancelable"


@pytest.mark.parametrize("who", ["customer", "outsider", "other_admin", "colleague_agent"])
def test_only_staff_who_see_it_can_cancel(
    who, owner, agent, customer, outsider, other, conversation
):
    order = request(owner, conversation)
    if who == "colleague_agent":
        inbox.assign(actor=owner, conversation=conversation, assignee_id=owner.pk)
    actor = {
        "customer": customer, "outsider": outsider, "other_admin": other.admin,
        "colleague_agent": agent,
    }[who]  # fmt: skip
    order = Order.objects.select_related("conversation").get(pk=order.pk)
    with pytest.raises(AppError) as caught:
        orders.cancel_order(actor=actor, order=order)
    assert caught.value.code == "not_found"
    assert Order.objects.get(pk=order.pk).status == STATUS.PENDING


# --- Expiring -------------------------------------------------------------------------------


def test_pending_orders_expire_once_past_their_expiry(owner, conversation):
    order = request(owner, conversation, expires_in=datetime.timedelta(hours=1))
    paid = request(owner, conversation, expires_in=datetime.timedelta(hours=1))
    orders.transition_order(order=paid, to=STATUS.PROCESSING)
    later = request(owner, conversation, expires_in=datetime.timedelta(hours=2))
    now = timezone.now()

    assert orders.expire_orders(now=now + datetime.timedelta(minutes=59)) == 0
    assert orders.expire_orders(now=now + datetime.timedelta(minutes=61)) == 1
    assert orders.expire_orders(now=now + datetime.timedelta(minutes=62)) == 0  # idempotent

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {
        order.pk: STATUS.EXPIRED,
        paid.pk: STATUS.PROCESSING,
        later.pk: STATUS.PENDING,
    }
    event = AuditEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, event.actor) == ("pending", "expired", None)


def test_an_order_being_paid_does_not_expire(owner, conversation):
    order = request(owner, conversation, expires_in=datetime.timedelta(hours=1))
    _live_payment(order, "pending")
    assert orders.expire_orders(now=timezone.now() + datetime.timedelta(hours=2)) == 0
    assert Order.objects.get(pk=order.pk).status == STATUS.PENDING


def test_the_beat_task_expires_orders(owner, conversation, settings):
    from payments import tasks

    order = request(owner, conversation, expires_in=datetime.timedelta(hours=1))
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    assert tasks.expire_orders.apply().get() == 1
    assert settings.CELERY_BEAT_SCHEDULE["expire-orders"] == {
        "task": "payments.tasks.expire_orders",
        "schedule": 60,
    }


def test_kind_is_registered():
    from chats import kinds as chat_kinds

    assert chat_kinds.get("payment_request").template == "payments/messages/payment_request.html"
