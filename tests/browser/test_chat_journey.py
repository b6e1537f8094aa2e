"""The chat journey in Chromium, on the real ASGI server with real websockets: a
customer asks about a product, the merchant sees the conversation arrive in the inbox
without reloading and answers; both see each other typing, the reply and the read
receipt live; a reload shows the same thread. Then a direct chat between two friends."""

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from catalog import services as catalog_services
from chats.services import settings as chat_settings
from core.tests.uploads import png_upload
from tests.browser.pages import (
    assert_no_sideways_scroll,
    screenshot,
    sign_in,
    verified_user,
)

pytestmark = pytest.mark.browser
HOURS = "We open 7 am to 7 pm, Monday to Saturday."
PIX = "Our Pix key is the shop's e-mail."


def test_customer_asks_about_a_product_and_the_merchant_answers_live(open_live):
    merchant = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    business = account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa", city="Recife"
    )
    product = catalog_services.create_product(
        actor=merchant, business=business, name="Sourdough loaf", retailer_id="SD-1", price=2490
    )
    catalog_services.add_product_photos(
        actor=merchant, product=product, uploads=[png_upload((200, 200), "loaf.png")]
    )
    for shortcut, text in (("horario", HOURS), ("pix", PIX)):
        chat_settings.save_quick_reply(
            actor=merchant, business=business, shortcut=shortcut, text=text
        )

    # The merchant has the inbox open.
    shop = open_live()
    sign_in(shop, merchant.email)
    shop.goto("/dashboard/padaria-rosa/inbox/")
    expect(shop.get_by_text("No conversations yet")).to_be_visible()

    # The customer opens the product page and asks about it.
    buyer = open_live()
    sign_in(buyer, customer.email)
    buyer.goto(f"/s/padaria-rosa/p/{product.pk}/")
    buyer.get_by_role("button", name="Ask about this product").click()
    message_box = buyer.get_by_label("Message", exact=True)
    expect(message_box).to_have_value("Hi! I'd like to know more about Sourdough loaf.")
    expect(buyer.locator(".ask-product")).to_contain_text("Sourdough loaf")
    message_box.fill("Hi! Is the sourdough loaf available on Saturday?")
    buyer.get_by_role("button", name="Send").click()
    thread = buyer.locator("#messages")
    expect(thread).to_contain_text("available on Saturday")
    expect(thread.locator(".chat-product")).to_contain_text("R$")

    # The conversation appears in the merchant's inbox without a reload.
    row = shop.locator("#inbox-rows").get_by_role("link", name="Carla")
    expect(row).to_be_visible()
    expect(row).to_contain_text("1")  # the unread badge
    row.click()
    expect(shop.locator("#messages")).to_contain_text("available on Saturday")

    # The merchant types (once the thread is live): the customer sees it; the reply
    # arrives live.
    for page in (shop, buyer):
        expect(page.locator("#thread")).to_have_attribute("data-live", "on")
    reply_box = shop.get_by_label("Message", exact=True)
    # A page sends "typing" at most every 3 s and shows it for 5 s; on a busy machine
    # the first one can come late, so the merchant goes on typing, as people do.
    typing = buyer.locator("#typing")
    for attempt in range(3):
        reply_box.press_sequentially("Yes, " if attempt == 0 else ".")
        try:
            expect(typing).to_have_text("typing…", timeout=6_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    reply_box.press_sequentially("we bake it at 7 am.")
    shop.get_by_role("button", name="Send").click()
    expect(buyer.locator("#messages")).to_contain_text("we bake it at 7 am.")

    # The customer's page is open, so the merchant's reply shows as read.
    mine = shop.locator("#messages .msg.mine").last
    expect(mine.locator(".msg-status")).to_have_text("Read")

    # Quick replies: "/" opens the list, typing filters it, Enter puts the text in.
    reply_box.press_sequentially("/ho")
    menu = shop.get_by_role("listbox", name="Quick replies")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("option")).to_have_count(1)
    expect(menu.get_by_role("option", selected=True)).to_contain_text("/horario")
    reply_box.press("Enter")
    expect(menu).to_be_hidden()
    expect(reply_box).to_have_value(HOURS)
    reply_box.press("Enter")
    expect(buyer.locator("#messages .msg").last).to_contain_text(HOURS)
    # A bare shortcut is never sent as it is: a tap on the list, or sending it typed out.
    reply_box.press_sequentially("/")
    menu.get_by_role("option").filter(has_text="/pix").click()
    expect(reply_box).to_have_value(PIX)
    reply_box.fill("/horario")
    shop.get_by_role("button", name="Send").click()
    expect(buyer.locator("#messages .msg").last).to_contain_text(HOURS)
    assert "/horario" not in buyer.locator("#messages").inner_text()
    reply_box.fill("")
    screenshot(shop, "chat-inbox.png")
    screenshot(buyer, "chat-customer.png")

    # A reload shows exactly the same thread.
    before = buyer.locator("#messages .msg").all_inner_texts()
    buyer.reload()
    expect(buyer.locator("#messages .msg")).to_have_count(len(before))
    assert buyer.locator("#messages .msg").all_inner_texts() == before

    # On a phone, both sides fit the screen.
    for page, name in ((buyer, "chat-customer-phone.png"), (shop, "chat-inbox-phone.png")):
        page.set_viewport_size({"width": 390, "height": 844})
        assert_no_sideways_scroll(page)
        screenshot(page, name)


def test_two_friends_chat_directly(open_live):
    carla = verified_user("carla@example.com", "Carla")
    verified_user("fred@example.com", "Fred")

    one = open_live()
    sign_in(one, carla.email)
    one.goto("/chats/")
    one.get_by_label("Friend's e-mail or phone").fill("fred@example.com")
    one.get_by_role("button", name="Start chat").click()
    expect(one.get_by_role("heading", name="Fred")).to_be_visible()
    one.get_by_label("Message", exact=True).fill("Oi Fred! Coffee on Saturday?")
    one.get_by_label("Message", exact=True).press("Enter")
    expect(one.locator("#messages")).to_contain_text("Coffee on Saturday?")

    # Carla also has her chat list open in another tab.
    chats = one.context.new_page()
    chats.goto("/chats/")
    expect(chats.locator("#chat-list")).to_contain_text("Coffee on Saturday?")

    two = open_live()
    sign_in(two, "fred@example.com")
    two.goto("/chats/")
    two.get_by_role("link", name="Carla").click()
    expect(two.locator("#messages")).to_contain_text("Coffee on Saturday?")
    two.get_by_label("Message", exact=True).fill("Sure, 10 am!")
    two.get_by_role("button", name="Send").click()
    expect(one.locator("#messages")).to_contain_text("Sure, 10 am!")
    expect(one.locator("#presence")).to_have_text("online")
    # Her list shows the reply without a reload.
    expect(chats.locator("#chat-list")).to_contain_text("Sure, 10 am!")


def test_without_websockets_the_chat_still_works(open_live):
    business_owner = verified_user("rosa@example.com", "Rosa")
    customer = verified_user("carla@example.com", "Carla")
    account_services.create_business(user=business_owner, name="Padaria Rosa", slug="padaria-rosa")

    # The customer's network refuses websockets: the page falls back to posting and polling.
    buyer = open_live()
    buyer.route_web_socket("**/ws/chat/", lambda ws: ws.close())
    sign_in(buyer, customer.email)
    buyer.goto("/c/padaria-rosa?text=Oi%2C+tudo+bem%3F&ref=flyer")
    # The link's page starts nothing until she sends its (prefilled) first message.
    expect(buyer.get_by_label("Message", exact=True)).to_have_value("Oi, tudo bem?")
    buyer.get_by_role("button", name="Send").click()
    expect(buyer.locator("#messages")).to_contain_text("Oi, tudo bem?")
    expect(buyer.locator("#live-note")).to_contain_text("checking for new messages")

    shop = open_live()
    sign_in(shop, business_owner.email)
    shop.goto("/dashboard/padaria-rosa/inbox/")
    shop.locator("#inbox-rows").get_by_role("link", name="Carla").click()
    expect(shop.locator("#messages")).to_contain_text("Oi, tudo bem?")
    shop.get_by_label("Message", exact=True).fill("Tudo ótimo!")
    shop.get_by_role("button", name="Send").click()
    # Polling brings the reply within a few seconds, once.
    expect(buyer.locator("#messages")).to_contain_text("Tudo ótimo!", timeout=10_000)
    expect(buyer.locator("#messages .msg")).to_have_count(2)
