"""Paying in the chat, in Chromium on the real ASGI server: a customer adds a card
(a declined one first), sets a PIN and registers a fingerprint (Chromium's virtual
authenticator); the merchant sends a payment request from the inbox; the customer
pays it with the fingerprint and both sides see the receipt live; a second request
is paid with the PIN."""

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from catalog import services as catalog_services
from chats.services import conversations
from chats.services import messages as chat_messages
from core.events import collect_events
from payments.models import LedgerTransaction, Payment
from tests.browser.pages import screenshot, sign_in, verified_user
from tests.browser.test_fingerprint_journey import add_virtual_authenticator

pytestmark = pytest.mark.browser
PIN = "739154"


def _add_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_label("Name on the card").fill("Carla Menezes")
    page.get_by_role("button", name="Add card").click()


def _request_payment(shop, quantity: str) -> None:
    shop.locator("summary", has_text="Request payment").click()
    shop.get_by_role("spinbutton", name="Sourdough loaf").fill(quantity)
    shop.get_by_label("Shipping").fill("8.00")
    shop.get_by_role("button", name="Send payment request").click()


def test_customer_pays_in_the_chat_with_a_fingerprint_then_the_pin(open_live):
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa"
    )
    catalog_services.create_product(
        actor=merchant, business=business, name="Sourdough loaf", retailer_id="SD", price=2490
    )
    # Made here, in the test's thread, where Playwright's loop runs: nothing to push yet.
    with collect_events():
        conversation, _ = conversations.start_conversation(customer=customer, business=business)
        chat_messages.send_text(actor=customer, conversation=conversation, body="Two loaves")

    buyer = open_live()
    sign_in(buyer, customer.email)
    # A declined card says why; a good one is saved.
    buyer.goto("/wallet/")
    _add_card(buyer, "4000 0000 0000 0002")
    expect(buyer.locator(".field-error", has_text="The card was declined")).to_be_visible()
    expect(buyer.get_by_role("alert").filter(has_text="The card was declined")).to_be_focused()
    _add_card(buyer, "4242 4242 4242 4242")
    expect(buyer.get_by_text("was added to your wallet")).to_be_visible()
    # A PIN, and a fingerprint with the device's authenticator.
    buyer.goto("/wallet/pin/")
    buyer.get_by_label("New PIN", exact=True).fill(PIN)
    buyer.get_by_label("New PIN again").fill(PIN)
    buyer.get_by_role("button", name="Set PIN").click()
    expect(buyer.get_by_text("Your payment PIN is set.").first).to_be_visible()
    add_virtual_authenticator(buyer)
    buyer.goto("/wallet/fingerprints/")
    buyer.get_by_label("Name of this device").fill("Carla's phone")
    buyer.get_by_role("button", name="Add fingerprint").click()
    expect(buyer.get_by_text("Fingerprint “Carla's phone” added.")).to_be_visible()
    buyer.goto(f"/chats/{conversation.pk}/")

    # The merchant sends a payment request from the inbox; it arrives live.
    shop = open_live()
    sign_in(shop, merchant.email)
    shop.goto(f"/dashboard/padaria-rosa/inbox/{conversation.pk}/")
    _request_payment(shop, "2")
    request = buyer.locator("#messages .order-card").last
    expect(request).to_contain_text("Payment request #1")
    expect(request).to_contain_text("R$57.80")  # 2 × 24.90 + 8.00

    # Paid with the fingerprint: the receipt shows live on both sides.
    request.get_by_role("button", name="Review and pay").click()
    buyer.get_by_role("button", name="Pay with fingerprint").click()
    expect(buyer.locator("#messages")).to_contain_text("Payment received")
    expect(shop.locator("#messages")).to_contain_text("Payment received")
    expect(shop.locator("#messages .order-card").last).to_contain_text("Paid")
    screenshot(buyer, "pay-customer.png")
    screenshot(shop, "pay-merchant.png")

    # A second request, paid with the PIN.
    _request_payment(shop, "1")
    second = buyer.locator("#messages .order-card").last
    expect(second).to_contain_text("Payment request #2")
    second.get_by_role("button", name="Review and pay").click()
    buyer.get_by_label("Payment PIN").fill(PIN)
    buyer.get_by_role("button", name="Pay with PIN").click()
    expect(buyer.locator("#messages .receipt-card")).to_have_count(2)

    payments = Payment.objects.filter(payer=customer, status="succeeded")
    assert sorted(payments.values_list("confirmation", flat=True)) == ["pin", "webauthn"]
    assert LedgerTransaction.objects.count() == 2
