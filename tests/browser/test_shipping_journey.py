"""Shipping in Chromium on the real ASGI server with a real Celery worker: the merchant
marks a paid order shipped from its page in the dashboard, the outbox's worker sends
the shipping card, and the customer, with the chat open, sees it arrive live; then
delivered. On the embedded default the card crosses from the worker to the web
process through the relay (chats/relay.py); with Redis, through its channel layer."""

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from catalog import services as catalog_services
from chats.services import conversations
from core.events import collect_events
from payments.models import Order
from payments.services import orders, pins
from payments.tests.factories import PIN, card_for, pay
from tests.browser.pages import (
    assert_no_sideways_scroll,
    screenshot,
    sign_in,
    verified_user,
)

pytestmark = pytest.mark.browser
ARRIVAL = 25_000  # ms: the worker, the broker's polling and the relay


def test_the_customer_sees_the_shipping_card_arrive_live(open_live, celery_worker):
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa"
    )
    product = catalog_services.create_product(
        actor=merchant, business=business, name="Sourdough loaf", retailer_id="SD", price=2490
    )
    # Made here, in the test's thread, where Playwright's loop runs: nothing to push yet.
    with collect_events():
        conversation, _ = conversations.start_conversation(customer=customer, business=business)
        order = orders.create_payment_request(
            actor=merchant,
            conversation=conversation,
            lines=[{"product_id": product.pk, "quantity": 2}],
        )
        pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
        pay(customer, order, card_for(customer))

    buyer = open_live()
    sign_in(buyer, customer.email)
    buyer.goto(f"/chats/{conversation.pk}/")
    expect(buyer.locator("#messages")).to_contain_text("Payment received")

    shop = open_live()
    sign_in(shop, merchant.email)
    shop.goto(f"/dashboard/padaria-rosa/orders/{order.pk}/")
    shop.get_by_label("Carrier").fill("Correios")
    shop.get_by_label("Tracking code").fill("AA123456789BR")
    shop.get_by_label("Tracking link").fill("https://example.com/track/AA123456789BR")
    shop.get_by_role("spinbutton", name="Sourdough loaf").fill("2")
    shop.get_by_role("button", name="Mark as shipped").click()
    expect(shop.get_by_text("Shipment 1 of order #1 recorded")).to_be_visible()

    card = buyer.locator("#messages .shipping-card").last
    expect(card).to_contain_text("Order #1 shipped", timeout=ARRIVAL)
    expect(card).to_contain_text("Correios")
    expect(card).to_contain_text("AA123456789BR")
    link = card.get_by_role("button", name="Track the parcel")
    expect(link).to_have_attribute("href", "https://example.com/track/AA123456789BR")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    # The payment request's card follows the order's status, live too.
    expect(buyer.locator("#messages .order-card").first).to_contain_text("Shipped")
    screenshot(buyer, "shipping-customer.png")

    shop.get_by_role("button", name="Mark as delivered").click()
    expect(shop.get_by_text("marked delivered")).to_be_visible()
    expect(buyer.locator("#messages .shipping-card").last).to_contain_text(
        "Order #1 delivered", timeout=ARRIVAL
    )
    assert Order.objects.get(pk=order.pk).status == Order.Status.COMPLETED
    screenshot(shop, "shipping-merchant.png")

    # On a phone, the card fits.
    buyer.set_viewport_size({"width": 375, "height": 740})
    assert_no_sideways_scroll(buyer)
