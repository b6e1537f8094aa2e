"""Shipping and delivery of paid orders, their cards through the outbox, the payment
reminder and the expired card: who may, what changes, what the customer sees."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from chats import events
from chats.models import Message, ScheduledMessage
from chats.services import outbox
from chats.tests.factories import start_chat
from core.errors import AppError
from core.events import collect_events
from payments.models import AuditEvent, Order, Shipment
from payments.services import orders, shipping
from payments.tests.factories import card_for, pay

pytestmark = pytest.mark.django_db
STATUS = Order.Status
SCHEDULED = ScheduledMessage.Status.SCHEDULED


@pytest.fixture
def paid(shop, customer):
    """Carla's order (2 × Bolo + shipping), paid."""
    order, _product = shop
    pay(customer, order, card_for(customer))
    order.refresh_from_db()
    assert order.status == STATUS.PROCESSING
    return order


def ship(actor, order, **kwargs):
    kwargs.setdefault("carrier", "Correios")
    kwargs.setdefault("tracking_code", "AA123456789BR")
    return shipping.mark_shipped(actor=actor, order=order, **kwargs)


def cards(order):
    return list(Message.objects.filter(conversation=order.conversation, kind="shipping_update"))


def render(message):
    return events.render_messages([message], "en")[0]


# --- Shipping --------------------------------------------------------------------------


def test_shipping_everything_sends_one_shipping_card(owner, paid):
    shipment = ship(
        owner, paid, tracking_url="https://rastreamento.correios.com.br/?objetos=AA123456789BR"
    )
    paid.refresh_from_db()
    assert paid.status == STATUS.SHIPPED
    assert shipment.number == 1
    assert [(i.order_item.name, i.quantity) for i in shipment.items.all()] == [("Bolo", 2)]
    row = ScheduledMessage.objects.get(dedupe_key=f"order:{paid.pk}:shipment:1")
    assert row.kind == "shipping_update" and row.status == SCHEDULED
    assert cards(paid) == []  # not before a worker sends it

    outbox.send_due()

    (card,) = cards(paid)
    html = render(card)
    assert "Order #1 shipped" in html and "Correios" in html and "AA123456789BR" in html
    assert 'href="https://rastreamento.correios.com.br/?objetos=AA123456789BR"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert card.sender.business_id == paid.business_id
    event = AuditEvent.objects.filter(order=paid).last()
    assert (event.from_status, event.to_status, event.actor) == ("processing", "shipped", owner)


def test_partial_shipments_then_the_rest(owner, agent, paid):
    (item,) = paid.items.all()
    ship(owner, paid, items={item.pk: 1})
    paid.refresh_from_db()
    assert paid.status == STATUS.PARTIALLY_SHIPPED
    assert shipping.remaining_quantities(paid) == {item.pk: 1}
    ship(agent, paid, carrier="Jadlog", tracking_code="JD-0001", items={item.pk: 1})
    paid.refresh_from_db()
    assert paid.status == STATUS.SHIPPED
    outbox.send_due()
    first, second = cards(paid)
    assert "Part of order #1 shipped" in render(first)
    assert "Order #1 shipped" in render(second) and "Jadlog" in render(second)
    keys = set(ScheduledMessage.objects.values_list("dedupe_key", flat=True))
    assert {f"order:{paid.pk}:shipment:1", f"order:{paid.pk}:shipment:2"} <= keys


def test_a_partially_shipped_order_can_ship_again_without_a_status_change(owner, shop, customer):
    order, product = shop
    conversation = order.conversation
    bigger = orders.create_payment_request(
        actor=owner,
        conversation=conversation,
        lines=[{"product_id": product.pk, "quantity": 1}, {"name": "Card", "unit_price": 500}],
    )
    pay(customer, bigger, card_for(customer, "4242424242424242"))
    cake, note = bigger.items.all()
    ship(owner, bigger, items={cake.pk: 1, note.pk: 0})
    with pytest.raises(AppError) as error:
        ship(owner, bigger, items={cake.pk: 1})
    assert error.value.code == "too_many"
    ship(owner, bigger, items={note.pk: 1})
    bigger.refresh_from_db()
    assert bigger.status == STATUS.SHIPPED


def test_an_unpaid_order_cannot_ship(owner, shop):
    order, _product = shop
    with pytest.raises(AppError) as error:
        ship(owner, order)
    assert (error.value.code, error.value.status_code) == ("not_paid", 409)
    assert not Shipment.objects.exists()
    assert not ScheduledMessage.objects.filter(kind="shipping_update").exists()
    assert Order.objects.get(pk=order.pk).status == STATUS.PENDING


def test_another_business_or_an_outsider_gets_not_found(other, outsider, customer, paid):
    for actor in (other.owner, other.agent, outsider, customer):
        with pytest.raises(AppError) as error:
            ship(actor, paid)
        assert error.value.status_code == 404
        with pytest.raises(AppError) as error:
            shipping.mark_delivered(actor=actor, order=paid)
        assert error.value.status_code == 404
    assert not Shipment.objects.exists()
    assert Order.objects.get(pk=paid.pk).status == STATUS.PROCESSING


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"carrier": ""}, "carrier"),
        ({"carrier": None}, "carrier"),
        ({"carrier": "<b>Correios</b>"}, "carrier"),
        ({"carrier": "C" * 61}, "carrier"),
        ({"tracking_code": "   "}, "tracking_code"),
        ({"tracking_code": "AB<script>"}, "tracking_code"),
        ({"tracking_code": "AB\n12"}, "tracking_code"),
        ({"tracking_url": "javascript:alert(1)"}, "tracking_url"),
        ({"tracking_url": "ftp://example.com/x"}, "tracking_url"),
        ({"tracking_url": "https://" + "a" * 600 + ".com"}, "tracking_url"),
        ({"tracking_url": 12}, "tracking_url"),
        ({"items": {}}, "items"),
        ({"items": [1, 2]}, "items"),
        ({"items": {999999: 1}}, "items"),
        ({"items": {"1": 1}}, "items"),
    ],
)
def test_bad_shipping_input_changes_nothing(owner, paid, kwargs, field):
    with pytest.raises(AppError) as error:
        ship(owner, paid, **kwargs)
    assert error.value.field == field
    assert not Shipment.objects.exists()
    assert Order.objects.get(pk=paid.pk).status == STATUS.PROCESSING


def test_bad_quantities_change_nothing(owner, paid):
    (item,) = paid.items.all()
    for quantity in (3, -1, 1.5, True, "1"):
        with pytest.raises(AppError):
            ship(owner, paid, items={item.pk: quantity})
    assert not Shipment.objects.exists()


def test_a_fully_shipped_order_cannot_ship_again(owner, paid):
    ship(owner, paid)
    with pytest.raises(AppError) as error:
        ship(owner, paid)
    assert error.value.code == "already_shipped"
    assert Shipment.objects.count() == 1


# --- Delivery ----------------------------------------------------------------------------


def test_delivered_completes_the_order_with_a_delivery_card(owner, paid):
    with pytest.raises(AppError) as error:
        shipping.mark_delivered(actor=owner, order=paid)
    assert error.value.code == "not_shipped"
    ship(owner, paid)
    shipping.mark_delivered(actor=owner, order=paid)
    paid.refresh_from_db()
    assert paid.status == STATUS.COMPLETED
    with pytest.raises(AppError) as error:
        shipping.mark_delivered(actor=owner, order=paid)
    assert error.value.code == "already_delivered"
    outbox.send_due()
    _shipped, delivered = cards(paid)
    assert "Order #1 delivered" in render(delivered)
    assert ScheduledMessage.objects.filter(dedupe_key=f"order:{paid.pk}:delivered").count() == 1


def test_previews_for_the_inbox_and_emails(owner, paid):
    ship(owner, paid)
    shipping.mark_delivered(actor=owner, order=paid)
    outbox.send_due()
    from chats import kinds

    shipped, delivered = cards(paid)
    assert kinds.get("shipping_update").preview(shipped) == (
        "📦 Order #1 shipped: Correios AA123456789BR"
    )
    assert kinds.get("shipping_update").preview(delivered) == "📬 Order #1 was delivered"


def test_a_tampered_link_is_not_rendered_as_one(owner, paid):
    ship(owner, paid)
    ScheduledMessage.objects.update(
        payload={"event": "shipped", "number": 1, "carrier": "X", "tracking_code": "Y",
                 "tracking_url": "javascript:alert(1)", "items": "nope"}
    )  # fmt: skip
    outbox.send_due()
    html = render(cards(paid)[0])
    assert "javascript:" not in html and "Track the parcel" not in html


# --- Dashboard ------------------------------------------------------------------------------


def test_the_order_page_ships_and_delivers(client, owner, paid):
    client.force_login(owner)
    url = reverse("order_detail", args=[paid.business.slug, paid.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Mark as shipped" in page.content and b'for="id_carrier"' in page.content
    (item,) = paid.items.all()
    response = client.post(
        reverse("order_ship", args=[paid.business.slug, paid.pk]),
        {
            "carrier": "Correios",
            "tracking_code": "AA123456789BR",
            "tracking_url": "https://example.com/t/AA123456789BR",
            f"ship_{item.pk}": "2",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert b"Shipment 1 of order #1 recorded" in response.content
    assert b"AA123456789BR" in response.content and b"Mark as delivered" in response.content
    response = client.post(
        reverse("order_deliver", args=[paid.business.slug, paid.pk]), follow=True
    )
    assert b"marked delivered" in response.content
    assert Order.objects.get(pk=paid.pk).status == STATUS.COMPLETED


def test_the_order_page_shows_errors_with_what_was_typed(client, owner, paid):
    client.force_login(owner)
    (item,) = paid.items.all()
    response = client.post(
        reverse("order_ship", args=[paid.business.slug, paid.pk]),
        {"carrier": "Correios", "tracking_code": "AA1", "tracking_url": "javascript:x",
         f"ship_{item.pk}": "1"},
    )  # fmt: skip
    assert response.status_code == 400
    assert b"starting with http:// or https://" in response.content
    assert b'value="Correios"' in response.content
    response = client.post(
        reverse("order_ship", args=[paid.business.slug, paid.pk]),
        {"carrier": "Correios", "tracking_code": "AA1", f"ship_{item.pk}": "9"},
    )
    assert response.status_code == 400
    assert not Shipment.objects.exists()


def test_an_unpaid_order_page_has_no_shipping_and_refuses_it(client, owner, shop):
    order, _product = shop
    client.force_login(owner)
    page = client.get(reverse("order_detail", args=[order.business.slug, order.pk]))
    assert b"Mark as shipped" not in page.content
    for data in ({"carrier": "Correios", "tracking_code": "AA1"}, {}):
        response = client.post(
            reverse("order_ship", args=[order.business.slug, order.pk]), data, follow=True
        )
        assert b"Only a paid order can be shipped." in response.content
    assert not Shipment.objects.exists()


def test_other_businesses_get_not_found_from_the_shipping_views(client, other, paid):
    client.force_login(other.owner)
    for name in ("order_ship", "order_deliver"):
        for slug in (paid.business.slug, other.business.slug):
            response = client.post(
                reverse(name, args=[slug, paid.pk]), {"carrier": "X", "tracking_code": "Y"}
            )
            assert response.status_code == 404
    assert not Shipment.objects.exists()


# --- Reminders and expiry ---------------------------------------------------------------------


def _reminder(order):
    return ScheduledMessage.objects.filter(dedupe_key=f"order:{order.pk}:reminder").first()


def test_a_payment_request_schedules_one_reminder_before_it_expires(owner, shop, settings):
    order, _product = shop
    row = _reminder(order)
    expected = order.expires_at - datetime.timedelta(seconds=settings.PAYMENT_REMINDER_BEFORE)
    assert row.kind == "payment_reminder" and row.status == SCHEDULED
    assert abs((row.due_at - expected).total_seconds()) < 1


def test_no_reminder_when_it_would_be_in_the_past(owner, business, customer):
    conversation = start_chat(business, customer)
    order = orders.create_payment_request(
        actor=owner,
        conversation=conversation,
        lines=[{"name": "Cake", "unit_price": 2000}],
        expires_in=datetime.timedelta(hours=2),
    )
    assert _reminder(order) is None


def test_paying_cancels_the_reminder(customer, paid):
    assert _reminder(paid).status == ScheduledMessage.Status.CANCELED


def test_canceling_and_expiring_cancel_the_reminder(owner, shop, customer):
    order, _product = shop
    orders.cancel_order(actor=owner, order=order)
    assert _reminder(order).status == ScheduledMessage.Status.CANCELED
    other_order = orders.create_payment_request(
        actor=owner, conversation=order.conversation, lines=[{"name": "Pie", "unit_price": 900}]
    )
    orders.expire_orders(now=timezone.now() + datetime.timedelta(days=2))
    assert _reminder(other_order).status == ScheduledMessage.Status.CANCELED


def test_a_due_reminder_reaches_the_chat_with_the_pay_button(
    owner, shop, customer, django_capture_on_commit_callbacks
):
    order, _product = shop
    ScheduledMessage.objects.filter(pk=_reminder(order).pk).update(due_at=timezone.now())
    outbox.send_due()
    reminder = Message.objects.get(conversation=order.conversation, kind="payment_reminder")
    html = render(reminder)
    assert "Reminder: payment request #1" in html and "Review and pay" in html
    # Once paid, the reminder card is refreshed in the open chats and loses its button.
    with collect_events() as sent, django_capture_on_commit_callbacks(execute=True):
        pay(customer, order, card_for(customer))
    updated = [e for _g, e in sent if e["type"] == "chat.message_updated"]
    assert reminder.seq in [e["message"]["seq"] for e in updated]
    assert "Review and pay" not in render(Message.objects.get(pk=reminder.pk))


def test_at_expiry_the_request_card_shows_expired_in_the_open_chat(
    owner, shop, django_capture_on_commit_callbacks
):
    order, _product = shop
    with collect_events() as sent, django_capture_on_commit_callbacks(execute=True):
        assert orders.expire_orders(now=timezone.now() + datetime.timedelta(days=2)) == 1
    (update,) = [e for _g, e in sent if e["type"] == "chat.message_updated"]
    assert update["message"]["seq"] == order.message.seq
    assert "Expired" in update["html"]["en"] and "Review and pay" not in update["html"]["en"]


def test_the_reminder_text_has_one_clock_and_no_double_period(owner, shop):
    order, _product = shop
    expiry = timezone.make_aware(datetime.datetime(2026, 12, 7, 1, 31))
    Order.objects.filter(pk=order.pk).update(expires_at=expiry)
    ScheduledMessage.objects.filter(pk=_reminder(order).pk).update(due_at=timezone.now())
    outbox.send_due()
    reminder = Message.objects.get(conversation=order.conversation, kind="payment_reminder")
    html = render(reminder)
    assert "1:31 AM." in html and ".." not in html
