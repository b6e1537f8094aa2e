"""Payouts in Chromium: an owner adds a Pix key and sees it masked; the Balance &
payouts page shows available and pending money and, after the payout job, the
payout in its history; the owner pays out now with the password and turns automatic
payouts off; a customer with money in the wallet withdraws it to a Pix
key and sees the withdrawal in their history."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as account_services
from catalog.tests.factories import make_product
from chats.tests.factories import start_chat
from payments.models import Payout
from payments.services import ledger, orders, payouts, pins
from payments.tests.factories import card_for, pay
from payments.tests.payout_factories import credit_wallet
from tests.browser.pages import (
    PASSWORD,
    assert_no_sideways_scroll,
    screenshot,
    sign_in,
    verified_user,
)

pytestmark = pytest.mark.browser
PIN = "739154"
PHONE = {"width": 390, "height": 844}


def test_owner_gets_paid_out_and_a_customer_withdraws(open_context):
    owner = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=owner, name="Padaria Rosa", slug="padaria-rosa"
    )
    pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
    product = make_product(owner, business, name="Bolo", price=4500, stock=3)
    order = orders.create_payment_request(
        actor=owner,
        conversation=start_chat(business, customer),
        lines=[{"product_id": product.pk, "quantity": 2}],
    )
    payment = pay(customer, order, card_for(customer), pin=PIN)  # a credit card: D+2
    net = payment.amount - payment.fee  # 9000 − 359

    # The owner adds a Pix key and sees it masked.
    shop = open_context(viewport=PHONE).new_page()
    sign_in(shop, owner.email)
    shop.goto("/dashboard/padaria-rosa/balance/")
    expect(shop.locator("#balance-available")).to_contain_text("R$0.00")
    expect(shop.locator("#balance-pending")).to_contain_text("R$86.41")
    expect(shop.get_by_text("Available on")).to_be_visible()
    shop.get_by_role("button", name="Payout destinations").or_(
        shop.get_by_role("link", name="Payout destinations")
    ).first.click()
    shop.get_by_label("Type of key").select_option("cpf")
    shop.get_by_label("Pix key", exact=True).fill("529.982.247-25")
    shop.get_by_role("button", name="Add Pix key").click()
    expect(shop.get_by_text("was added")).to_be_visible()
    expect(shop.locator("#destinations")).to_contain_text("Pix CPF •••.982.247-••")
    assert "529.982.247-25" not in shop.content() and "52998224725" not in shop.content()
    assert_no_sideways_scroll(shop)

    # Two days later the payout job pays the available money out; the bank confirms.
    (run,) = payouts.run_payouts(now=timezone.now() + datetime.timedelta(days=2, minutes=5))
    assert run.payout.amount == net
    payouts.process_payout(payout_id=run.payout.pk)
    shop.goto("/dashboard/padaria-rosa/balance/")
    history = shop.locator("#payout-history")
    expect(history).to_contain_text("Paid")
    expect(history).to_contain_text("R$86.41")
    expect(history).to_contain_text("•••.982.247-••")
    assert_no_sideways_scroll(shop)
    screenshot(shop, "payouts-merchant.png")

    # R$25.00 more is available (the card payment's net is still pending today): the
    # owner pays it out now, confirmed with the password, and turns the job off.
    ledger.post(
        kind="test_credit",
        currency="BRL",
        entries=[
            (ledger.clearing_account("sandbox", "BRL"), -(net + 2500)),
            (ledger.account_for_business(business, "BRL"), net + 2500),
        ],
    )
    shop.reload()
    expect(shop.locator("#balance-available")).to_contain_text("R$25.00")
    shop.get_by_label("Your account password").fill("not my password")
    shop.get_by_role("button", name="Pay out now").click()
    expect(shop.locator(".field-error", has_text="Wrong password.")).to_be_visible()
    expect(shop.get_by_role("alert").filter(has_text="Wrong password.")).to_be_focused()
    assert Payout.objects.filter(business=business).count() == 1
    shop.get_by_label("Your account password").fill(PASSWORD)
    shop.get_by_role("button", name="Pay out now").click()
    expect(
        shop.get_by_text("Payout of R$25.00 to Pix CPF •••.982.247-•• is on its way.")
    ).to_be_visible()
    expect(shop.locator("#payout-history")).to_contain_text("In transit")
    shop.get_by_label("Off: only when I ask").check()
    shop.get_by_role("button", name="Save").click()
    expect(shop.get_by_text("Automatic payouts: Off: only when I ask.")).to_be_visible()
    expect(shop.get_by_label("Off: only when I ask")).to_be_checked()
    assert_no_sideways_scroll(shop)

    # A customer with money from friends withdraws it to a Pix key.
    credit_wallet(customer, 5000)
    buyer = open_context(viewport=PHONE).new_page()
    sign_in(buyer, customer.email)
    buyer.goto("/wallet/")
    buyer.get_by_role("link", name="Balance and withdrawals").click()
    expect(buyer.locator("#wallet-balance")).to_contain_text("R$50.00")
    buyer.get_by_role("link", name="Where to withdraw").click()
    buyer.get_by_label("Type of key").select_option("email")
    buyer.get_by_label("Pix key", exact=True).fill("carla.m@example.com")
    buyer.get_by_role("button", name="Add Pix key").click()
    expect(buyer.locator("#destinations")).to_contain_text("c•••@example.com")
    buyer.get_by_role("link", name="Wallet balance").click()
    buyer.get_by_label("Amount").fill("30.00")
    buyer.get_by_label("Payment PIN").fill(PIN)
    buyer.get_by_role("button", name="Withdraw").click()
    expect(buyer.get_by_text("is on its way")).to_be_visible()
    expect(buyer.locator("#wallet-balance")).to_contain_text("R$20.00")
    expect(buyer.locator("#payout-history")).to_contain_text("In transit")
    withdrawal = Payout.objects.get(user=customer)
    payouts.process_payout(payout_id=withdrawal.pk)
    buyer.reload()
    expect(buyer.locator("#payout-history")).to_contain_text("Paid")
    expect(buyer.locator("#payout-history")).to_contain_text("R$30.00")
    assert_no_sideways_scroll(buyer)
    screenshot(buyer, "payouts-wallet.png")
