"""Events are written in the transaction of their cause, by the services, for the
businesses with an endpoint that wants them; nothing for a change that rolls back,
and next to nothing for a business nobody listens to."""

import datetime
import json
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats.models import ConsentSource
from chats.services import consent, inbox
from chats.tests.factories import say, start_chat
from payments.services import orders, payouts, refunds, shipping
from payments.tests.factories import card_for, pay, sale_in_chat
from payments.tests.payout_factories import add_pix
from webhooks.models import EVENT_TYPES, Delivery, Event
from webhooks.payloads import MAX_BYTES
from webhooks.services import capture, endpoints

pytestmark = pytest.mark.django_db


def _types() -> list[str]:
    return list(Event.objects.order_by("pk").values_list("type", flat=True))


def _data(event_type: str) -> dict:
    """The event's data as its sender sends it (built from the subject as it is now)."""
    return capture.ensure_payload(Event.objects.filter(type=event_type).latest("pk"))["data"]


@pytest.fixture
def listening(owner, business, loopback):
    return endpoints.create_endpoint(actor=owner, business=business, url="http://127.0.0.1:9/hook")


def test_a_sale_tells_its_story(owner, business, listening):
    sale = sale_in_chat(owner, business)
    assert _types() == [
        "contact.created", "conversation.created", "message.created", "message.created",
        "order.created",
    ]  # fmt: skip
    assert _data("message.created")["from"] == "business"  # the payment request's card
    order_data = _data("order.created")
    assert order_data["id"] == str(sale.order.pk) and order_data["total"] == 4500
    assert order_data["items"][0]["product_id"] == str(sale.product.pk)

    pay(sale.customer, sale.order, sale.card)
    assert "order.paid" in _types()
    assert _data("order.paid")["status"] == "processing"

    shipping.mark_shipped(actor=owner, order=sale.order, carrier="Correios", tracking_code="BR1")
    shipped = _data("order.shipped")
    assert shipped["shipment"]["carrier"] == "Correios" and shipped["status"] == "shipped"
    shipping.mark_delivered(actor=owner, order=sale.order)
    assert _data("order.delivered")["status"] == "completed"

    refund = refunds.refund_order(
        actor=owner, order=sale.order, amount=1000, reason="late", idempotency_key=uuid.uuid4().hex
    )
    assert _data("refund.created")["id"] == str(refund.pk)
    assert _data("refund.created")["amount"] == 1000
    # Every event has one pending delivery to the endpoint, and a small payload.
    assert Delivery.objects.filter(endpoint=listening).count() == Event.objects.count()
    for event in Event.objects.all():
        assert event.type in EVENT_TYPES
        payload = capture.ensure_payload(event)
        assert set(payload) == {"type", "timestamp", "data"}
        assert len(json.dumps(payload)) < MAX_BYTES


def test_conversation_and_contact_events(owner, business, listening):
    conversation = start_chat(business)
    say(conversation.contact.user, conversation, "Oi")
    inbox.set_status(actor=owner, conversation=conversation, status="resolved")
    assert _data("conversation.status_changed")["status"] == "resolved"
    assert _data("message.created")["body"] == "Oi"
    assert _data("message.created")["from"] == "customer"
    contact = conversation.contact
    consent.grant_offers_consent(customer=contact.user, contact=contact, source=ConsentSource.CHAT)
    consent.withdraw_offers_consent(contact=contact, source=ConsentSource.CHAT)
    assert _data("contact.opted_out")["id"] == str(contact.pk)


def test_cancel_and_expire(owner, business, listening):
    sale = sale_in_chat(owner, business)
    orders.cancel_order(actor=owner, order=sale.order)
    assert _data("order.canceled")["status"] == "canceled"
    other = orders.create_payment_request(
        actor=owner, conversation=sale.conversation, lines=[{"name": "Torta", "unit_price": 900}]
    )
    orders.expire_orders(now=other.expires_at + datetime.timedelta(minutes=1))
    assert _data("order.expired")["id"] == str(other.pk)


def test_payouts(owner, business, listening):
    sale = sale_in_chat(owner, business)
    pay(sale.customer, sale.order, card_for(sale.customer, "4000056655665556"))
    add_pix(owner, business)
    (run,) = payouts.run_payouts(now=timezone.now() + datetime.timedelta(days=2))
    payouts.process_payout(payout_id=run.payout.pk)
    data = _data("payout.paid")
    assert data["id"] == str(run.payout.pk) and data["status"] == "paid"
    assert data["business"]["slug"] == business.slug


def test_only_the_wanted_types_and_enabled_endpoints(owner, business, loopback):
    wants_orders = endpoints.create_endpoint(
        actor=owner, business=business, url="http://127.0.0.1:9/a", event_types=["order.created"]
    )
    off = endpoints.create_endpoint(actor=owner, business=business, url="http://127.0.0.1:9/b")
    endpoints.set_enabled(actor=owner, endpoint=off, enabled=False)
    sale_in_chat(owner, business)
    assert set(Delivery.objects.values_list("endpoint_id", "event__type")) == {
        (wants_orders.pk, "order.created")
    }
    assert _types() == ["order.created"]


def test_nothing_for_a_change_that_rolls_back(owner, business, listening):
    with pytest.raises(RuntimeError), transaction.atomic():
        start_chat(business)
        assert len(_types()) == 2
        raise RuntimeError
    assert _types() == []


def test_a_business_nobody_listens_to_pays_one_cached_lookup(owner, business, other):
    """No query at all once the answer is cached (in Redis, or for a few seconds in the
    process without it)."""
    customer = UserFactory()
    conversation = start_chat(business, customer)
    capture.has_endpoints(business.pk)  # warm
    with CaptureQueriesContext(connection) as queries:
        capture.record_event(type="message.created", business_id=business.pk, subject=None)
    assert len(queries) == 0
    say(customer, conversation, "Oi")
    assert not Event.objects.exists()


def test_the_cached_answer_follows_endpoint_writes(owner, business, loopback, settings):
    settings.WEBHOOKS_CACHE_ENDPOINTS = True
    assert capture.has_endpoints(business.pk) is False
    endpoint = endpoints.create_endpoint(actor=owner, business=business, url="http://127.0.0.1:9/a")
    # The test's own transaction never commits: run what the commit would.
    for _sids, callback, _robust in connection.run_on_commit:
        callback()
    connection.run_on_commit.clear()
    assert capture.has_endpoints(business.pk) is True
    endpoints.delete_endpoint(actor=owner, endpoint=endpoint)
    for _sids, callback, _robust in connection.run_on_commit:
        callback()
    connection.run_on_commit.clear()
    assert capture.has_endpoints(business.pk) is False


def test_ids_are_strings_and_a_huge_payload_is_cut():
    from webhooks import payloads

    assert payloads.stringify_ids(
        {"id": 1, "order_id": 2, "items": [{"product_id": 3, "quantity": 4}], "ok": True}
    ) == {"id": "1", "order_id": "2", "items": [{"product_id": "3", "quantity": 4}], "ok": True}

    class Big:
        pk = 7

    payloads.BUILDERS["test.big"] = lambda subject: {"id": subject.pk, "body": "x" * MAX_BYTES}
    try:
        assert payloads.build("test.big", Big()) == {"id": "7", "truncated": True}
    finally:
        del payloads.BUILDERS["test.big"]
