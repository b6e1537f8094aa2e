"""The catalog journey in Chromium: a merchant builds a collection and a product with
two photos through the dashboard; a signed-out visitor then finds them in the shop."""

import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import User
from catalog.models import Product
from tests.browser.pages import PASSWORD, assert_no_sideways_scroll, screenshot, sign_in

pytestmark = pytest.mark.browser


def _photo(path: Path, background: str, accent: str) -> Path:
    """A product-like photo: a round "bread" on a plain background."""
    image = Image.new("RGB", (900, 900), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((170, 230, 730, 670), fill=accent)
    draw.ellipse((260, 300, 640, 470), fill="#f8e7b9")
    image.save(path, "JPEG", quality=90)
    return path


def _loaded(img) -> bool:
    """Whether the image loaded (waiting for a lazy one to finish)."""
    img.scroll_into_view_if_needed()
    handle = img.element_handle()
    img.page.wait_for_function("img => img.complete", arg=handle)
    return handle.evaluate("img => img.naturalWidth > 0")


def test_a_merchant_lists_a_product_and_a_visitor_sees_it(page, open_context, tmp_path):
    # Given a merchant with a verified e-mail and a business.
    merchant = User.objects.create_user(email="rosa@example.com", password=PASSWORD, language="en")
    EmailAddress.objects.create(user=merchant, email=merchant.email, verified=True, primary=True)
    account_services.create_business(
        user=merchant, name="Padaria Rosa", slug="padaria-rosa", city="Recife"
    )

    # The merchant signs in and opens the catalog from the dashboard.
    sign_in(page, merchant.email)
    page.get_by_role("link", name="Catalog", exact=True).click()
    expect(page.get_by_role("heading", name="Catalog", level=1)).to_be_visible()
    expect(page.get_by_text("No products yet.")).to_be_visible()

    # A collection first.
    page.get_by_role("navigation", name="Catalog pages").get_by_role(
        "link", name="Collections"
    ).click()
    page.get_by_label("Name", exact=True).fill("Breads")
    page.get_by_role("button", name="Create collection").click()
    expect(page.get_by_text("Collection “Breads” created.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Cakes")
    page.get_by_role("button", name="Create collection").click()
    page.get_by_role("button", name="Move “Cakes” up").click()
    expect(page.get_by_text("Collection “Cakes” moved.")).to_be_visible()
    assert page.locator(".collection-list input[name=name]").evaluate_all(
        "inputs => inputs.map(i => i.value)"
    ) == ["Cakes", "Breads"]
    screenshot(page, "catalog-collections.png")

    # Then a product in it, with two photos chosen at once.
    page.get_by_role("navigation", name="Catalog pages").get_by_role(
        "link", name="Products"
    ).click()
    page.get_by_role("main").get_by_role("button", name="Add product").first.click()
    expect(page.get_by_role("heading", name="New product")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Pão de queijo")
    page.get_by_label("Description").fill("Cheese bread from Minas, baked every morning.")
    page.get_by_label("SKU").fill("PQ-01")
    page.get_by_label("Price", exact=True).fill("abc")
    page.get_by_role("button", name="Add product").click()
    # A typo is refused on its field, and what was typed stays.
    typo = "Enter the amount as a number, e.g. 19.90."
    expect(page.locator(".field-error", has_text=typo)).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text=typo)).to_be_focused()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Pão de queijo")

    page.get_by_label("Price", exact=True).fill("12.50")
    page.get_by_label("Compare-at price").fill("15.00")
    page.get_by_label("Stock").fill("40")
    page.get_by_label("Breads").check()
    page.get_by_label("Photos").set_input_files(
        [
            _photo(tmp_path / "front.jpg", "#f1e4d3", "#d9a441"),
            _photo(tmp_path / "basket.jpg", "#dfe9e3", "#c58b2a"),
        ]
    )
    page.get_by_role("button", name="Add product").click()
    expect(page.get_by_text("Product “Pão de queijo” added.")).to_be_visible()
    expect(page.get_by_role("heading", name="Edit product")).to_be_visible()

    # The edit page lists both photos; the first is the cover.
    photos = page.locator("#photos").get_by_role("listitem")
    expect(photos).to_have_count(2)
    expect(photos.first).to_contain_text("Cover")
    page.get_by_role("textbox", name="Alt text of photo 2").fill("A basket of cheese bread")
    page.get_by_role("button", name="Save alt text of photo 2").click()
    expect(page.get_by_text("Alt text saved.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Alt text of photo 2")).to_have_value(
        "A basket of cheese bread"
    )
    screenshot(page, "catalog-edit.png")

    # The list shows it, and the quick toggles work in place (HTMX).
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Catalog").click()
    row = page.get_by_role("row", name=re.compile("Pão de queijo"))
    expect(row).to_contain_text("PQ-01")
    expect(row).to_contain_text("R$12.50")
    assert _loaded(row.locator("img")), "the thumbnail did not load"
    list_url = page.url
    in_stock = row.get_by_role("button", name=re.compile("^In stock"))
    expect(in_stock).to_have_attribute("aria-pressed", "true")
    in_stock.click()
    expect(page.get_by_role("status")).to_contain_text("“Pão de queijo” is out of stock.")
    expect(row.get_by_role("button", name=re.compile("^In stock"))).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(row).to_contain_text("Out of stock")
    assert page.url == list_url  # swapped in place, no navigation
    assert Product.objects.get(retailer_id="PQ-01").stock == 0
    row.get_by_role("button", name=re.compile("^In stock")).click()
    expect(page.get_by_role("status")).to_contain_text("“Pão de queijo” is in stock.")
    expect(row.get_by_role("button", name=re.compile("^In stock"))).to_have_attribute(
        "aria-pressed", "true"
    )
    assert Product.objects.get(retailer_id="PQ-01").stock is None
    screenshot(page, "catalog-dashboard.png")
    # On a phone the rows become cards, with nothing cut off sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(row.get_by_role("button", name=re.compile("^Visible"))).to_be_in_viewport()
    assert_no_sideways_scroll(page)
    screenshot(page, "catalog-dashboard-phone.png")
    row.get_by_role("link", name="Pão de queijo").click()
    expect(page.get_by_role("heading", name="Edit product")).to_be_visible()
    assert_no_sideways_scroll(page)
    screenshot(page, "catalog-edit-phone.png")

    # A signed-out visitor, in a browser of their own, finds it in the shop.
    visitor = open_context().new_page()
    visitor.goto("/s/padaria-rosa/")
    expect(visitor.get_by_role("heading", name="Padaria Rosa", level=1)).to_be_visible()
    breads = visitor.get_by_role("region", name="Breads")
    expect(breads.get_by_role("heading", name="Breads")).to_be_visible()
    card = breads.get_by_role("article").filter(has_text="Pão de queijo")
    expect(card).to_contain_text("R$12.50")
    expect(card).to_contain_text("R$15.00")
    assert _loaded(card.locator("img")), "the product card's photo did not load"
    screenshot(visitor, "catalog-shop.png")

    card.get_by_role("link").first.click()
    expect(visitor.get_by_role("heading", name="Pão de queijo", level=1)).to_be_visible()
    expect(visitor.get_by_text("Cheese bread from Minas, baked every morning.")).to_be_visible()
    expect(visitor.get_by_text("In stock", exact=True)).to_be_visible()
    gallery = visitor.get_by_role("region", name="Photos")
    images = gallery.get_by_role("img")
    expect(images).to_have_count(2)
    expect(gallery.get_by_role("img", name="A basket of cheese bread")).to_be_visible()
    for i in range(2):
        assert _loaded(images.nth(i)), f"photo {i + 1} did not load"
    screenshot(visitor, "catalog-product.png")
