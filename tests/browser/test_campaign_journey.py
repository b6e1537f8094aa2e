"""A campaign traced to its sale, in Chromium on the real ASGI server: the merchant
creates a campaign that cost R$ 50,00 and copies its click-to-chat link; a new
customer opens it, signs in, chats, receives a payment request of R$ 100,00 and pays
it with the PIN; the campaign page then shows 1 click, 1 conversation, 1 paid order,
the net revenue (R$ 100,00 less the 3.99 % fee) and the ROI that follows from them."""

import re

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from catalog import services as catalog_services
from insights.models import Campaign, OrderAttribution
from payments.services import pins
from payments.tests.factories import card_for
from tests.browser.conftest import PHONE
from tests.browser.pages import (
    PASSWORD,
    assert_no_sideways_scroll,
    screenshot,
    sign_in,
    verified_user,
)

pytestmark = pytest.mark.browser
PIN = "739154"


def test_a_campaign_link_brings_a_chat_and_a_sale_and_the_campaign_page_counts_them(
    open_live,
):
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("nina@example.com", "Nina")
    business = account_services.create_business(
        user=merchant, name="Cestas Rosa", slug="cestas-rosa"
    )
    catalog_services.create_product(
        actor=merchant, business=business, name="Breakfast basket", retailer_id="BB", price=10_000
    )
    card_for(customer)
    pins.set_pin(user=customer, pin=PIN, pin_again=PIN)

    # The merchant creates the campaign and copies its click-to-chat link.
    shop = open_live()
    shop.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(shop, merchant.email)
    shop.goto("/dashboard/cestas-rosa/")
    shop.get_by_role("link", name="Campaigns").click()
    shop.get_by_role("button", name="New campaign").click()
    shop.get_by_label("Name").fill("Summer on Instagram")
    shop.get_by_label("Channel").select_option(label="Instagram")
    shop.get_by_label("Total cost").fill("50.00")
    shop.get_by_label("Prefilled message").fill("Hi! I saw your basket on Instagram")
    shop.get_by_role("button", name="Create campaign").click()
    expect(shop.get_by_role("heading", level=1, name="Summer on Instagram")).to_be_visible()
    shop.get_by_role("button", name=re.compile(r"^Copy link\W+Click-to-chat")).click()
    expect(shop.get_by_role("button", name="Copied")).to_be_visible()
    link = shop.evaluate("navigator.clipboard.readText()")
    campaign = Campaign.objects.get(business=business)
    assert f"ref={campaign.code}" in link and "utm_campaign=" in link

    # A new customer opens it, signs in on the way, and starts the chat.
    buyer = open_live()
    buyer.goto(link)
    expect(buyer).to_have_url(re.compile(r"/accounts/login/"))
    buyer.get_by_label("Email").fill(customer.email)
    buyer.get_by_label("Password").fill(PASSWORD)
    buyer.get_by_role("main").get_by_role("button", name="Sign In").click()
    message = buyer.get_by_label("Message", exact=True)
    expect(message).to_have_value("Hi! I saw your basket on Instagram")
    buyer.get_by_role("button", name="Send").click()
    expect(buyer.locator("#messages")).to_contain_text("I saw your basket")

    # The merchant answers with a payment request of R$ 100,00; the customer pays it.
    shop.goto("/dashboard/cestas-rosa/inbox/")
    shop.get_by_role("link", name=re.compile("Nina")).first.click()
    shop.locator("summary", has_text="Request payment").click()
    shop.get_by_role("spinbutton", name="Breakfast basket").fill("1")
    shop.get_by_role("button", name="Send payment request").click()
    request = buyer.locator("#messages .order-card").last
    expect(request).to_contain_text("R$100.00")
    request.get_by_role("button", name="Review and pay").click()
    buyer.get_by_label("Payment PIN").fill(PIN)
    buyer.get_by_role("button", name="Pay with PIN").click()
    expect(buyer.locator("#messages")).to_contain_text("Payment received")

    # The campaign page counts the click, the chat and the sale, and what it returned.
    shop.goto(f"/dashboard/cestas-rosa/campaigns/{campaign.pk}/")
    funnel = shop.locator("#figures .funnel")
    steps = funnel.get_by_role("listitem")
    expect(steps.nth(0)).to_have_text(re.compile(r"^\s*1\s+Clicks"))
    expect(steps.nth(1)).to_have_text(re.compile(r"^\s*1\s+Conversations"))
    expect(steps.nth(2)).to_contain_text(re.compile(r"^\s*1\s+Payment requests"))
    expect(steps.nth(3)).to_contain_text(re.compile(r"^\s*1\s+Paid orders"))
    figures = shop.locator("#figures dl")
    # R$ 100,00 − 3.99 % (R$ 3,99) = R$ 96,01; ROI = (96,01 − 50,00) / 50,00 = 92.0 %.
    expect(figures.locator("div", has_text="Net revenue")).to_contain_text("R$96.01")
    expect(figures.locator("div", has_text="Cost").first).to_contain_text("R$50.00")
    expect(figures.locator("div", has_text="ROI")).to_contain_text("92.0 %")
    screenshot(shop, "campaign-page.png")

    # On a phone: the page and the list fit the screen (the table scrolls in its box).
    shop.set_viewport_size(PHONE)
    assert_no_sideways_scroll(shop)
    screenshot(shop, "campaign-page-phone.png")
    shop.goto("/dashboard/cestas-rosa/campaigns/")
    row = shop.get_by_role("row", name=re.compile("Summer on Instagram"))
    expect(row).to_contain_text("R$96.01")
    assert_no_sideways_scroll(shop)
    screenshot(shop, "campaigns-phone.png")

    attribution = OrderAttribution.objects.get(business=business)
    assert attribution.first_campaign == attribution.last_campaign == campaign
    assert (attribution.gross, attribution.fee) == (10_000, 399)
