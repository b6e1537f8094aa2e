"""Insights reports in Chromium: a merchant whose shop sold in a chat and lost
another opens Dashboard → Insights, sees the Overview's figures and charts (drawn
under the strict CSP, fitting a phone), changes the period with the form, opens
"Chats that sell", and finds the link to a lost chat in the inbox."""

import uuid

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from chats.services.conversations import start_conversation_with_message
from insights.services import rollups
from payments.services import orders, paying, pins
from payments.tests.factories import card_for
from tests.browser.conftest import PHONE
from tests.browser.pages import assert_no_sideways_scroll, screenshot, sign_in, verified_user

pytestmark = pytest.mark.browser
PIN = "739154"
DRAWN = """() => [...document.querySelectorAll("figure.chart canvas")].every((canvas) => {
  const chart = window.Chart && window.Chart.getChart(canvas);
  return chart && chart.width > 0;
})"""


def _request(merchant, conversation, amount):
    return orders.create_payment_request(
        actor=merchant, conversation=conversation,
        lines=[{"name": "Basket", "unit_price": amount, "quantity": 1}],
    )  # fmt: skip


def test_a_merchant_reads_the_reports_and_follows_a_lost_chat(context):
    merchant = verified_user("rosa@example.com", "Rosa")
    buyer = verified_user("nina@example.com", "Nina")
    lost = verified_user("lia@example.com", "Lia")
    business = account_services.create_business(
        user=merchant, name="Cestas Rosa", slug="cestas-rosa"
    )
    card = card_for(buyer)
    pins.set_pin(user=buyer, pin=PIN, pin_again=PIN)
    sold, _m = start_conversation_with_message(
        customer=buyer, business=business, body="Oi", first_touch={"utm_source": "instagram"}
    )
    paying.pay_order(
        payer=buyer, order=_request(merchant, sold, 10_000), card=card, confirmation="pin",
        pin=PIN, idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    asked, _m = start_conversation_with_message(customer=lost, business=business, body="Oi")
    _request(merchant, asked, 5_000)
    rollups.rebuild(business=business)

    page = context.new_page()
    sign_in(page, merchant.email)
    page.goto("/dashboard/cestas-rosa/")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", level=1, name="Insights")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Reports")
    expect(tabs.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    figures = page.get_by_role("list", name="Figures of the period")
    expect(figures).to_contain_text("Conversations started")
    expect(figures).to_contain_text("50.0")  # 1 of 2 conversations bought
    page.wait_for_function(DRAWN)
    expect(page.get_by_role("table", name="Net revenue by source")).to_contain_text("instagram")

    # The period form works without JavaScript: a select and a button.
    page.get_by_label("Period", exact=True).select_option(label="Last 7 days")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert "range=7" in page.url

    page.set_viewport_size(PHONE)
    page.wait_for_function(DRAWN)
    assert_no_sideways_scroll(page)
    screenshot(page, "insights-overview-phone.png")

    tabs.get_by_role("link", name="Chats that sell").click()
    assert "range=7" in page.url  # the period goes along
    lost_chats = page.get_by_role("table", name="Lost chats")
    expect(lost_chats).to_contain_text("Lia")
    assert_no_sideways_scroll(page)
    screenshot(page, "insights-sales-phone.png")
    # The chat opens in the inbox (its socket needs the ASGI server: the link suffices).
    expect(lost_chats.get_by_role("link", name="Lia")).to_have_attribute(
        "href", f"/dashboard/cestas-rosa/inbox/{asked.pk}/"
    )
