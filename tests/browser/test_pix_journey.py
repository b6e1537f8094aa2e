"""Collected Pix in Chromium on the real ASGI server: the customer opens the payment
request in the chat, chooses Pix, copies the "Pix Copia e Cola" code, pays it in the
sandbox bank in another tab (which posts the signed callback over HTTP, as a PSP
would), and the card in the chat turns paid by itself on both sides, with the
receipt."""

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from catalog import services as catalog_services
from chats.services import conversations
from chats.services import messages as chat_messages
from core.events import collect_events
from payments.models import LedgerTransaction, Payment, ReceivedPix
from payments.services import orders
from tests.browser.pages import screenshot, sign_in, verified_user

pytestmark = pytest.mark.browser


def test_customer_pays_a_request_by_pix_in_the_sandbox_bank(open_live):
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa"
    )
    loaf = catalog_services.create_product(
        actor=merchant, business=business, name="Sourdough loaf", retailer_id="SD", price=2490
    )
    # Made here, in the test's thread, where Playwright's loop runs: nothing to push yet.
    with collect_events():
        conversation, _ = conversations.start_conversation(customer=customer, business=business)
        chat_messages.send_text(actor=customer, conversation=conversation, body="Two loaves")
        orders.create_payment_request(
            actor=merchant, conversation=conversation,
            lines=[{"product_id": loaf.pk, "quantity": 2}], shipping=800,
        )  # fmt: skip

    buyer = open_live(permissions=["clipboard-read", "clipboard-write"])
    sign_in(buyer, customer.email)
    buyer.goto(f"/chats/{conversation.pk}/")
    shop = open_live()
    sign_in(shop, merchant.email)
    shop.goto(f"/dashboard/padaria-rosa/inbox/{conversation.pk}/")
    expect(shop.locator("#messages .order-card").last).to_contain_text("Awaiting payment")

    # The customer chooses Pix on the card: QR code, code, amount, payee, countdown.
    request = buyer.locator("#messages .order-card").last
    expect(request).to_contain_text("R$57.80")
    request.get_by_role("button", name="Pay with Pix").click()
    buyer.get_by_role("button", name="Pay with Pix").click()
    expect(buyer.get_by_role("heading", name="Pay with Pix")).to_be_visible()
    expect(buyer.locator(".pix-qr svg")).to_be_visible()
    expect(buyer.locator("#pix-panel")).to_contain_text("R$57.80")
    expect(buyer.locator("#pix-panel")).to_contain_text("Padaria Rosa")
    expect(buyer.locator("#pix-expiry")).to_contain_text("Pay within")
    buyer.get_by_role("button", name="Copy code").click()
    expect(buyer.locator("#pix-copied")).to_have_text("Copied")
    # (Headless Chromium keeps no system clipboard to read back: the field's code.)
    code = buyer.get_by_label("Pix Copia e Cola").input_value()
    assert code.startswith("000201") and "br.gov.bcb.pix" in code
    screenshot(buyer, "pix-customer-code.png")

    # Another tab: the sandbox bank (public, like the payer's bank app).
    bank = open_live()
    bank.goto("/pix/sandbox/bank/")
    bank.get_by_label("Pix Copia e Cola").fill(code)
    bank.get_by_role("button", name="Continue").click()
    expect(bank.locator("#bank-charge")).to_contain_text("R$57.80")
    expect(bank.locator("#bank-charge")).to_contain_text("Padaria Rosa")
    screenshot(bank, "pix-bank.png")
    bank.get_by_role("button", name="Pay").click()
    expect(bank.locator("#bank-paid")).to_contain_text("Pix sent")

    # By itself, within seconds: the customer's page goes back to the chat, paid, and
    # the merchant's open inbox shows it live.
    expect(buyer.locator("#messages .receipt-card").last).to_contain_text(
        "Payment received", timeout=15_000
    )
    expect(buyer.locator("#messages .order-card").last).to_contain_text("Paid")
    expect(shop.locator("#messages")).to_contain_text("Payment received", timeout=15_000)
    expect(shop.locator("#messages .order-card").last).to_contain_text("Paid")
    screenshot(buyer, "pix-customer-paid.png")
    screenshot(shop, "pix-merchant-paid.png")

    payment = Payment.objects.get(payer=customer)
    assert payment.method == "pix" and payment.status == "succeeded" and payment.fee == 57
    assert LedgerTransaction.objects.get().kind == "pix_payment"
    assert ReceivedPix.objects.get().payment_id == payment.pk
