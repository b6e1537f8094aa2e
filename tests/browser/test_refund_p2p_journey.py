"""Money after the sale, in Chromium on the real ASGI server: a merchant refunds half
of a paid order and the customer sees the refund card arrive live in the chat; a user
sends money to a friend in a direct chat, confirmed by PIN, and the friend sees it
arrive live, their wallet balance grow, and withdraws it to a Pix key."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import User
from chats.services import conversations
from core.events import collect_events
from payments.gateway.base import CardDetails
from payments.models import Payout, Refund
from payments.services import cards, ledger, orders, payouts, pins
from tests.browser.pages import screenshot, sign_in, verified_user

pytestmark = pytest.mark.browser
PIN = "739154"


def _card(user: User, number: str):
    details = CardDetails(
        number=number,
        exp_month=12,
        exp_year=timezone.now().year + 3,
        cvc="123",
        holder_name=user.display_name,
    )
    return cards.add_card(user=user, details=details)


def test_merchant_refunds_half_and_the_customer_sees_it_live(open_live):
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa"
    )
    # Made here, in the test's thread: nothing to push yet. An order of R$60.00.
    with collect_events():
        conversation, _ = conversations.start_conversation(customer=customer, business=business)
        order = orders.create_payment_request(
            actor=merchant,
            conversation=conversation,
            lines=[{"name": "Cake", "unit_price": 6000, "quantity": 1}],
        )
        pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
        _card(customer, "4242424242424242")

    # The customer pays it in the browser (the sandbox's charges live in the server's
    # cache, where the refund will look for them).
    buyer = open_live()
    sign_in(buyer, customer.email)
    buyer.goto(f"/orders/{order.pk}/")
    buyer.get_by_label("Payment PIN").fill(PIN)
    buyer.get_by_role("button", name="Pay with PIN").click()
    expect(buyer.locator("#messages")).to_contain_text("Payment received")

    shop = open_live()
    sign_in(shop, merchant.email)
    shop.goto(f"/dashboard/padaria-rosa/orders/{order.pk}/")
    expect(shop.get_by_text("Left to refund")).to_be_visible()
    shop.get_by_label("Amount to refund").fill("30.00")
    shop.get_by_label("Reason").fill("One half arrived broken")
    shop.once("dialog", lambda dialog: dialog.accept())
    shop.get_by_role("button", name="Refund", exact=True).click()
    expect(shop.get_by_text("Refunded. The customer sees it in the chat.")).to_be_visible()

    # The customer's open chat shows the refund card and the order card's new status.
    card = buyer.locator("#messages .refund-card").last
    expect(card).to_contain_text("R$30.00")
    expect(card).to_contain_text("One half arrived broken")
    expect(buyer.locator("#messages .order-card").last).to_contain_text("Partially refunded")
    screenshot(buyer, "refund-customer.png")
    screenshot(shop, "refund-merchant.png")
    refund = Refund.objects.get()
    assert refund.amount == 3000 and refund.status == "succeeded"


def test_a_friend_sees_money_arrive_live_and_their_wallet_grow(open_live):
    carla = verified_user("carla@example.com", "Carla")
    bia = verified_user("bia@example.com", "Bia")
    with collect_events():
        conversation, _ = conversations.start_direct_conversation(user=carla, peer=bia)
        pins.set_pin(user=carla, pin=PIN, pin_again=PIN)
        pins.set_pin(user=bia, pin=PIN, pin_again=PIN)
        _card(carla, "4000056655665556")  # Visa debit

    friend = open_live()
    sign_in(friend, bia.email)
    friend.goto("/wallet/")
    expect(friend.locator("#wallet-balance")).to_have_text("R$0.00")
    friend.goto(f"/chats/{conversation.pk}/")

    sender = open_live()
    sign_in(sender, carla.email)
    sender.goto(f"/chats/{conversation.pk}/")
    sender.get_by_role("link", name="Send money").click()
    expect(sender.get_by_role("heading", name="Send money to Bia")).to_be_visible()
    sender.get_by_label("Amount").fill("25.00")
    sender.get_by_label("Note").fill("Pizza last night")
    sender.get_by_label("Payment PIN").fill(PIN)
    sender.get_by_role("button", name="Send with PIN").click()
    expect(sender.get_by_text("Money sent.")).to_be_visible()

    # It arrives live in Bia's open chat, and her wallet has it.
    card = friend.locator("#messages .p2p-card").last
    expect(card).to_contain_text("Carla sent money to Bia")
    expect(card).to_contain_text("R$25.00")
    screenshot(friend, "p2p-friend.png")
    friend.goto("/wallet/")
    expect(friend.locator("#wallet-balance")).to_have_text("R$25.00")
    assert ledger.wallet_account(bia, "BRL").balance == 2500

    # Bia withdraws R$20.00 of it to her Pix key, confirmed with her PIN.
    friend.get_by_role("link", name="Balance and withdrawals").click()
    friend.get_by_role("link", name="Where to withdraw").click()
    friend.get_by_label("Type of key").select_option("email")
    friend.get_by_label("Pix key", exact=True).fill("bia.pix@example.com")
    friend.get_by_role("button", name="Add Pix key").click()
    expect(friend.locator("#destinations")).to_contain_text("b•••@example.com")
    friend.get_by_role("link", name="Wallet balance").click()
    friend.get_by_label("Amount").fill("20.00")
    friend.get_by_label("Payment PIN").fill(PIN)
    friend.get_by_role("button", name="Withdraw").click()
    expect(friend.get_by_text("is on its way")).to_be_visible()
    expect(friend.locator("#wallet-balance")).to_contain_text("R$5.00")
    expect(friend.locator("#payout-history")).to_contain_text("In transit")
    payouts.process_payout(payout_id=Payout.objects.get(user=bia).pk)
    friend.reload()
    expect(friend.locator("#payout-history")).to_contain_text("Paid")
    assert ledger.wallet_account(bia, "BRL").balance == 500
