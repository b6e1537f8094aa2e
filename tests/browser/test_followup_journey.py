"""After the sale, in Chromium on the real ASGI server: a paid order is marked shipped
and delivered by the merchant (through the services, with "days" of one second); the
shipping card, the delivery card and then the check-in arrive live in the customer's
open chat; the customer taps 5 and sees it recorded, and the merchant's open thread
shows the rating live too.

The outbox rows are sent from this test's process (``outbox.send_due``, as a worker
would), in a thread of their own (Playwright's loop runs in this one), with their
socket events routed to the server: through its Redis key prefix, or on the embedded
default through the database relay the server runs (chats.relay)."""

import contextlib
import copy
import time

import pytest
from django.utils.timezone import now as django_now
from playwright.sync_api import expect

from accounts import services as account_services
from catalog import services as catalog_services
from chats import relay
from chats.services import conversations as chat_conversations
from chats.services import outbox
from core import events
from core.events import collect_events
from marketing.models import SatisfactionRating
from payments.services import orders, pins, shipping
from payments.tests.factories import card_for, pay
from tests.browser.pages import in_a_thread, screenshot, sign_in, verified_user

pytestmark = pytest.mark.browser
PIN = "739154"


@contextlib.contextmanager
def _events_to_the_server(settings):
    if settings.REDIS_URL:
        layers = copy.deepcopy(settings.CHANNEL_LAYERS)
        layers["default"]["CONFIG"]["prefix"] = settings.ASGI_SERVER_ENV["REDIS_KEY_PREFIX"]
        settings.CHANNEL_LAYERS = layers
        yield
    else:
        events.set_relay_writer(relay._write)
        try:
            yield
        finally:
            events.set_relay_writer(None)


def _send_due_until(kind: str, timeout: float = 20.0) -> None:
    from chats.models import ScheduledMessage

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outbox.send_due()
        if not ScheduledMessage.objects.filter(kind=kind, status="scheduled").exists():
            return
        time.sleep(0.3)
    raise AssertionError(f"the {kind} was not sent in {timeout} s")


def test_checkin_arrives_live_and_the_customer_rates_5(open_live, settings):
    settings.FOLLOWUP_DAY_SECONDS = 1  # the default check-in: 3 "days" after delivery
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa"
    )
    product = catalog_services.create_product(
        actor=merchant, business=business, name="Sourdough loaf", retailer_id="SD", price=2490
    )
    with collect_events():  # in the test's thread: nothing to push yet
        conversation, _ = chat_conversations.start_conversation(
            customer=customer, business=business
        )
        order = orders.create_payment_request(
            actor=merchant, conversation=conversation,
            lines=[{"product_id": product.pk, "quantity": 1}],
        )  # fmt: skip
        pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
        pay(customer, order, card_for(customer), pin=PIN)

    buyer = open_live()
    sign_in(buyer, customer.email)
    buyer.goto(f"/chats/{conversation.pk}/")
    expect(buyer.locator("#messages")).to_contain_text("Payment received")
    shop = open_live()
    sign_in(shop, merchant.email)
    shop.goto(f"/dashboard/padaria-rosa/inbox/{conversation.pk}/")
    expect(shop.locator("#messages")).to_contain_text("Payment received")

    with _events_to_the_server(settings):
        # The merchant ships: the shipping card arrives live.
        def ship():
            shipping.mark_shipped(
                actor=merchant, order=order, carrier="Correios", tracking_code="AA123456789BR"
            )
            _send_due_until("shipping_update")

        in_a_thread(ship)
        expect(buyer.locator("#messages .shipping-card").last).to_contain_text("AA123456789BR")

        # Delivered: the delivery card now, the check-in three "days" (seconds) later.
        def deliver():
            shipping.mark_delivered(actor=merchant, order=order)
            _send_due_until("shipping_update")

        in_a_thread(deliver)
        expect(buyer.locator("#messages")).to_contain_text("delivered")
        expect(buyer.locator(".followup-card")).to_have_count(0)
        in_a_thread(lambda: _send_due_until("followup"))
        checkin = buyer.locator("#messages .followup-card").last
        expect(checkin).to_contain_text("How is the Sourdough loaf working out for you?")
        expect(shop.locator("#messages .followup-card").last).to_contain_text("Sourdough loaf")

        # The customer taps 5: recorded, shown on both sides.
        checkin.get_by_role("button", name="Rate 5 out of 5").click()
        expect(buyer.get_by_text("Thank you for your rating!")).to_be_visible()
        expect(buyer.locator("#messages .followup-card").last).to_contain_text("Rated 5 out of 5")
        expect(shop.locator("#messages .followup-card").last).to_contain_text("Rated 5 out of 5")
        screenshot(buyer, "followup-customer.png")
        screenshot(shop, "followup-merchant.png")

    assert SatisfactionRating.objects.get(order=order).score == 5


def test_the_open_inbox_follows_a_batch_of_offers_in_few_requests(open_live, settings):
    """A batch of automated messages (a broadcast's) to many conversations at once:
    the merchant's open inbox shows them all, fetching the list once rather than one
    request per row."""
    from chats.services.outbox_bulk import Row, schedule_many

    merchant = verified_user("rosa@example.com", "Rosa")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa"
    )
    customers = [verified_user(f"cliente{i}@example.com", f"Cliente {i:02d}") for i in range(12)]
    with collect_events():  # in the test's thread: nothing to push yet
        conversations = [
            chat_conversations.start_conversation(customer=c, business=business)[0]
            for c in customers
        ]

    shop = open_live()
    sign_in(shop, merchant.email)
    row_requests = []
    shop.on("request", lambda r: row_requests.append(r.url) if "/row/" in r.url else None)
    shop.goto("/dashboard/padaria-rosa/inbox/")
    expect(shop.locator("#inbox")).to_have_attribute("data-live", "on")

    def send_offers():
        now = django_now()
        rows = [
            Row(
                conversation_id=c.pk, dedupe_key=f"test:offer:{c.pk}", due_at=now, body="New cakes!"
            )
            for c in conversations
        ]
        schedule_many(kind="text", rows=rows, dispatch=False)
        _send_due_until("text")

    with _events_to_the_server(settings):
        in_a_thread(send_offers)
    for i in range(12):
        expect(
            shop.locator("#inbox-rows").get_by_role("link", name=f"Cliente {i:02d}")
        ).to_be_visible()
    assert len(row_requests) <= 5, row_requests
