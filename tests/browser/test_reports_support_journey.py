"""The Support, Offers and Products reports in Chromium under the strict CSP: an owner
opens each with a period of data (rollup rows), at a desktop and a phone width; the
charts draw, nothing scrolls the page sideways, axe-core finds nothing (the watched
context, tests/browser/conftest.py), and an agent's Support page holds their own row
only."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import Membership
from catalog import services as catalog_services
from insights.models import DailyFigure
from tests.browser.conftest import PHONE
from tests.browser.pages import assert_no_sideways_scroll, screenshot, sign_in, verified_user

pytestmark = pytest.mark.browser


def _rows(business, owner, agent, product):
    today = timezone.localdate(timezone=business.tz)
    for n in range(10):
        day = today - datetime.timedelta(days=n)
        DailyFigure.objects.create(
            business=business, day=day, dim="total", key="", conversations=5 + n,
            messages_in=20, messages_out=18, responded=4, resolved=3, rating_requests=3,
            ratings=2, rating_sum=9, rated_5=1, rated_4=1,
        )  # fmt: skip
        for user, count in ((owner, 3), (agent, 2 + n)):
            DailyFigure.objects.create(
                business=business, day=day, dim="agent", key=str(user.pk), conversations=count,
                messages_out=count * 3,
            )  # fmt: skip
        DailyFigure.objects.create(
            business=business, day=day, dim="hour", key=str(9 + n % 8), conversations=5 + n
        )
        DailyFigure.objects.create(
            business=business, day=day, dim="product", key=str(product.pk), conversations=2,
            bought=1, paid=1, units=2, gross=5_000, fee=200,
        )  # fmt: skip


def test_support_offers_and_products_on_a_desktop_and_a_phone(open_context):
    owner = verified_user("rosa@example.com", "Rosa")
    agent = verified_user("caio@example.com", "Caio")
    business = account_services.create_business(user=owner, name="Cestas Rosa", slug="cestas")
    Membership.objects.create(user=agent, business=business, role=Membership.Role.AGENT)
    product = catalog_services.create_product(
        actor=owner, business=business, name="Breakfast basket", retailer_id="BB", price=2_500
    )
    _rows(business, owner, agent, product)

    for size, suffix in (({"width": 1280, "height": 900}, "desktop"), (PHONE, "phone")):
        page = open_context(viewport=size).new_page()
        sign_in(page, owner.email)
        page.goto("/dashboard/cestas/insights/support/")
        expect(page.get_by_role("heading", name="By agent", exact=True)).to_be_visible()
        expect(
            page.get_by_role("table", name="Conversations received by weekday and hour")
        ).to_be_visible()
        expect(page.locator("#chart-support-ratings canvas")).to_be_visible()
        assert_no_sideways_scroll(page)
        screenshot(page, f"reports-support-{suffix}.png")
        page.get_by_role("link", name="Products").click()
        expect(page.get_by_role("rowheader", name="Breakfast basket").first).to_be_visible()
        assert_no_sideways_scroll(page)
        screenshot(page, f"reports-products-{suffix}.png")
        page.get_by_role("link", name="Offers").click()
        expect(page.get_by_text("No broadcast was sent in this period.")).to_be_visible()
        assert_no_sideways_scroll(page)
        page.context.close()

    page = open_context(viewport=PHONE).new_page()
    sign_in(page, agent.email)
    page.goto("/dashboard/cestas/insights/support/")
    expect(page.get_by_role("heading", name="Your figures", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Your figures")
    expect(table.get_by_role("rowheader", name="Caio")).to_be_visible()
    expect(table.get_by_role("rowheader", name="Rosa")).to_have_count(0)
    assert_no_sideways_scroll(page)
    screenshot(page, "reports-support-agent-phone.png")
