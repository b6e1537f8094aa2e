"""A customer on a phone, with a keyboard and a screen reader in mind (issue #16,
items 11 and 19–23): the header's icons have names, a skip link leads to the content,
the focus is visible, the chat is a log with a level-one heading, the pay form's
order table scrolls in a box the keyboard reaches, and a wrong PIN or a bad sign-up
moves the focus to an error summary that says what went wrong.

axe-core checks every page these tests load (tests/browser/conftest.py); the phone
screenshots of the fixed pages go to ``test-results/screenshots/``."""

import re

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from catalog import services as catalog_services
from chats.services import conversations as chat_conversations
from chats.services import messages as chat_messages
from core.events import collect_events
from core.tests.uploads import png_upload
from payments.tests.factories import card_for
from tests.browser.conftest import PHONE, run_axe
from tests.browser.pages import sign_in, verified_user

pytestmark = pytest.mark.browser
PIN = "739154"

# Every id an aria-describedby / aria-labelledby names, that no element has.
_DANGLING_REFERENCES = """() => [
  ...document.querySelectorAll("[aria-describedby], [aria-labelledby]")
].flatMap((el) => ["aria-describedby", "aria-labelledby"].flatMap((attr) =>
  (el.getAttribute(attr) || "").split(/\\s+/)
    .filter((id) => id && !document.getElementById(id))
    .map((id) => `${el.tagName.toLowerCase()}[name=${el.getAttribute("name")}] ${attr}=${id}`)))"""

# The focused element's outline, and the colour behind it.
_FOCUS_RING = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  let back = el.parentElement, colour = "rgba(0, 0, 0, 0)";
  while (back && (colour === "rgba(0, 0, 0, 0)" || colour === "transparent")) {
    colour = getComputedStyle(back).backgroundColor;
    back = back.parentElement;
  }
  if (colour === "rgba(0, 0, 0, 0)") colour = "rgb(255, 255, 255)";
  return {style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          colour: style.outlineColor, behind: colour};
}"""


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, two: str) -> float:
    a, b = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _shot(page, folder, name):
    (folder / "screenshots").mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=folder / "screenshots" / name, full_page=True)


def _assert_focus_is_visible(page):
    ring = page.evaluate(_FOCUS_RING)
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert _contrast(ring["colour"], ring["behind"]) >= 3, ring


def _shop_with_a_payment_request():
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa", city="Recife"
    )
    product = catalog_services.create_product(
        actor=merchant, business=business, name="Sourdough loaf", retailer_id="SD", price=2490
    )
    catalog_services.add_product_photos(
        actor=merchant, product=product, uploads=[png_upload((200, 200), "loaf.png")]
    )
    from payments.services import orders, pins

    pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
    card_for(customer)
    with collect_events():
        conversation, _ = chat_conversations.start_conversation(
            customer=customer, business=business
        )
        chat_messages.send_text(actor=customer, conversation=conversation, body="Two loaves")
        order = orders.create_payment_request(
            actor=merchant,
            conversation=conversation,
            lines=[{"product_id": product.pk, "quantity": 2}],
            shipping=800,
        )
    return customer, conversation, order


def test_a_phone_customer_can_find_read_and_pay_with_a_keyboard(open_live, screenshots):
    customer, conversation, order = _shop_with_a_payment_request()
    buyer = open_live(viewport=PHONE)
    sign_in(buyer, customer.email)

    # The header's icons have visible names on a phone, which are also their names.
    buyer.goto("/s/padaria-rosa/")
    header = buyer.get_by_role("banner")
    for name in ("Shops", "Chats", "Dashboard"):
        link = header.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        label = link.get_by_text(name, exact=True)
        assert label.bounding_box()["width"] > 10, f"{name}: the label is hidden on a phone"
    account = header.locator("details.dropdown > summary")
    expect(account).to_have_accessible_name(re.compile("^Carla"))
    assert account.get_by_text("Carla").bounding_box()["width"] > 10
    (screenshots / "screenshots").mkdir(exist_ok=True)
    buyer.screenshot(
        path=screenshots / "screenshots" / "a11y-header-phone.png",
        clip={"x": 0, "y": 0, "width": PHONE["width"], "height": 80},
    )
    # The shop's product cards are named once: the photo beside the name is decorative.
    expect(buyer.get_by_role("link", name="Sourdough loaf", exact=True)).to_be_visible()
    expect(buyer.locator(".product-card img")).to_have_attribute("alt", "")
    _shot(buyer, screenshots, "a11y-shop-phone.png")

    # The first Tab reaches "Skip to content", shown with a visible focus ring; it
    # leads to the main region.
    buyer.goto(f"/chats/{conversation.pk}/")
    buyer.keyboard.press("Tab")
    skip = buyer.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    _assert_focus_is_visible(buyer)
    buyer.keyboard.press("Enter")
    expect(buyer.locator("#main")).to_be_focused()
    buyer.keyboard.press("Tab")
    _assert_focus_is_visible(buyer)

    # The chat: a level-one heading, a log announcing additions only, receipts out of it.
    expect(buyer.get_by_role("heading", level=1)).to_have_text("Padaria Rosa")
    log = buyer.get_by_role("log", name="Messages")
    expect(log).to_have_attribute("aria-relevant", "additions")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_attribute("tabindex", "0")
    expect(log.locator(".msg-status").first).to_have_attribute("aria-hidden", "true")
    expect(buyer.locator("#receipt-summary")).to_have_text(re.compile("^Your last message: "))
    assert not buyer.locator("[aria-live] [aria-live]").count()
    attach = buyer.locator(".attach summary").bounding_box()
    assert attach["width"] >= 24 and attach["height"] >= 24, attach
    expect(log.locator(".order-card")).to_contain_text("Payment request #1")
    _shot(buyer, screenshots, "a11y-chat-phone.png")

    # The pay form: the order table scrolls in a named region the keyboard reaches.
    buyer.goto(f"/orders/{order.pk}/")
    table_box = buyer.get_by_role("region", name="Order items")
    expect(table_box).to_have_attribute("tabindex", "0")
    # Every amount, the total's too, is on screen without scrolling sideways.
    total = table_box.locator("tfoot tr").last.locator("td").last
    expect(total).to_contain_text("R$57.80")
    total_box, viewport = total.bounding_box(), buyer.viewport_size
    assert total_box["x"] + total_box["width"] <= viewport["width"], total_box
    scroll, client = buyer.evaluate(
        "(el) => [el.scrollWidth, el.clientWidth]", table_box.element_handle()
    )
    assert scroll <= client, f"the order table scrolls sideways on a phone: {scroll} > {client}"
    table_box.focus()
    expect(table_box).to_be_focused()
    _assert_focus_is_visible(buyer)
    _shot(buyer, screenshots, "a11y-pay-phone.png")

    # A wrong PIN: the focus moves to a summary that says the payment failed and why,
    # and the PIN field's description points at its error.
    buyer.get_by_label("Payment PIN").fill("102938")
    buyer.get_by_role("button", name="Pay with PIN").click()
    summary = buyer.get_by_role("alert").filter(has_text="The payment did not go through.")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("PIN")
    pin = buyer.get_by_label("Payment PIN")
    expect(pin).to_have_attribute("aria-invalid", "true")
    described = pin.get_attribute("aria-describedby").split()
    error_id = pin.get_attribute("id") + "_error"
    assert error_id in described
    expect(buyer.locator(f"#{error_id}")).to_contain_text("PIN")
    assert buyer.evaluate(_DANGLING_REFERENCES) == []
    _assert_focus_is_visible(buyer)
    _shot(buyer, screenshots, "a11y-pay-wrong-pin-phone.png")

    buyer.goto("/wallet/")
    _shot(buyer, screenshots, "a11y-wallet-phone.png")


def test_a_sign_up_with_errors_says_what_is_wrong_and_takes_the_focus(page):
    page.set_viewport_size(PHONE)
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("new.customer@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password (again)").fill("shorter")
    page.get_by_role("main").get_by_role("button", name="Sign Up").click()
    summary = page.locator(".form-errors")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    error_id = password.get_attribute("id") + "_error"
    assert error_id in password.get_attribute("aria-describedby").split()
    expect(page.locator(f"#{error_id}")).to_be_visible()
    # Each error in the summary links to its field.
    expect(summary.get_by_role("link").first).to_have_attribute("href", re.compile("^#id_"))
    assert page.evaluate(_DANGLING_REFERENCES) == []


def test_the_audit_names_the_rule_the_element_and_the_fix(page):
    page.set_content(
        '<html lang="en"><title>t</title><body><main>'
        '<p style="color: #aaa">Faint text</p><input type="text"></main></body></html>'
    )
    problems = run_axe(page)
    assert any(p.startswith("color-contrast at p: ") and "contrast" in p for p in problems)
    assert any(p.startswith("label at input: ") for p in problems), problems
