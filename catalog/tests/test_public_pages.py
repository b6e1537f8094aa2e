"""The public shop (/s/<slug>/) and product pages: what a visitor sees, what stays
hidden, and a fixed number of queries whatever the size of the catalog."""

import html
import json
import re

import pytest

from accounts import services as account_services
from accounts.models import Business
from accounts.tests.factories import UserFactory
from catalog import services
from catalog.models import Product
from core.tests.uploads import png_upload

# Drawn in full: business, its opening hours, products, their photos, collection
# items (with their collections). A visitor who is signed in adds the session and
# the user.
SHOP_QUERIES = 5
# The product with its business (one join), then its photos.
PRODUCT_QUERIES = 2
# A visitor without a session first costs the business's versions and hours, which
# the process then keeps for a second (core.pagecache); a page served whole from
# the page cache reads nothing (see test_page_cache).
STATE_QUERIES = 2
# Everyone else gets the catalog parts from the fragment cache
# (catalog.views._cached_fragment): the shop needs only the business and its hours,
# the product page the product with its business.
SHOP_CACHED_QUERIES = 2
PRODUCT_CACHED_QUERIES = 1
SIGNED_IN_EXTRA = 2
# An address with a query string is drawn for its visitor (the language form's
# ``next`` holds it), with the cached parts — unless it holds tracking parameters alone
# (utm_*, ref: core.pagecache.TRACKING_PARAMS), which the page cache ignores.
QUERY = "?via=flyer"

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def make_catalog(*, owner, business: Business, size: int) -> dict[int, Product]:
    """``size`` products built through the services, numbered from 1. Product ``i``:

    - costs 23.90 + i (product 1 costs 24.90) and has 3 photos when ``i`` is odd, else 2;
    - is in "Breads" when ``i % 2 == 0``, in "Cakes" when ``i % 3 == 0`` and in
      "Gifts" when ``i % 4 == 0`` (so some are in 2 or 3 collections, some in none);
    - is hidden when ``i % 7 == 0``, out of stock when ``i % 5 == 0`` and on sale
      (compare-at 5.00 higher) when ``i % 4 == 1``.
    """
    collections = {
        name: services.create_collection(actor=owner, business=business, name=name)
        for name in ("Breads", "Cakes", "Gifts")
    }
    products = {}
    for i in range(1, size + 1):
        price = 2390 + 100 * i
        in_collections = [
            collections[name]
            for name, step in (("Breads", 2), ("Cakes", 3), ("Gifts", 4))
            if i % step == 0
        ]
        product = services.create_product(
            actor=owner,
            business=business,
            name=f"Product {i:02}",
            description=f"Fresh product number {i}, baked this morning.",
            retailer_id=f"SKU-{i:03}",
            price=price,
            compare_at_price=price + 500 if i % 4 == 1 else None,
            stock=0 if i % 5 == 0 else (None if i % 2 else 12),
            is_active=i % 7 != 0,
            collection_ids=[c.pk for c in in_collections],
        )
        services.add_product_photos(
            actor=owner,
            product=product,
            uploads=[png_upload((48, 48), f"p{i}-{n}.png") for n in range(3 if i % 2 else 2)],
        )
        products[i] = product
    return products


@pytest.fixture
def catalog(owner, business):
    return make_catalog(owner=owner, business=business, size=12)


def shop_url(business: Business) -> str:
    return f"/s/{business.slug}/"


def product_url(business: Business, product: Product) -> str:
    return f"/s/{business.slug}/p/{product.pk}/"


def sections(page: str) -> list[tuple[str, list[str]]]:
    """The shop's sections as (label, product names in the order shown)."""
    return [
        (html.unescape(label), re.findall(r'class="product-card">.*?<h3>(.*?)</h3>', body, re.S))
        for label, body in re.findall(
            r'<section class="shop-section" aria-label="([^"]*)">(.*?)</section>', page, re.S
        )
    ]


def card(page: str, name: str) -> str:
    cards = re.findall(r'<article class="product-card">.*?</article>', page, re.S)
    [found] = [c for c in cards if f"<h3>{name}</h3>" in c]
    return found


def json_ld(page: str) -> dict:
    [block] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return json.loads(block)


def meta(page: str, attr: str, key: str) -> str:
    [value] = re.findall(rf'<meta {attr}="{re.escape(key)}" content="([^"]*)">', page)
    return html.unescape(value)


# --- Queries ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 48])
def test_shop_page_runs_a_fixed_number_of_queries(
    client, owner, business, size, django_assert_num_queries
):
    # given a catalog of 3 or of 48 products, each with 2–3 photos, in 0–3 collections
    make_catalog(owner=owner, business=business, size=size)

    # when an anonymous visitor opens the shop for the first time
    with django_assert_num_queries(STATE_QUERIES + SHOP_QUERIES):
        response = client.get(shop_url(business))

    # then the count is the same for both sizes, and every visible product is shown
    assert response.status_code == 200
    shown = {name for _label, names in sections(response.content.decode()) for name in names}
    assert len(shown) == size - size // 7


@pytest.mark.parametrize("size", [3, 48])
def test_shop_page_for_a_signed_in_visitor_runs_a_fixed_number_of_queries(
    client, owner, business, size, django_assert_num_queries
):
    make_catalog(owner=owner, business=business, size=size)
    client.force_login(UserFactory())

    with django_assert_num_queries(SHOP_QUERIES + SIGNED_IN_EXTRA):
        response = client.get(shop_url(business))

    assert response.status_code == 200


@pytest.mark.parametrize("size", [3, 48])
@pytest.mark.parametrize("number", [1, 2])  # 3 photos and 2 photos
def test_product_page_runs_a_fixed_number_of_queries(
    client, owner, business, size, number, django_assert_num_queries
):
    products = make_catalog(owner=owner, business=business, size=size)

    with django_assert_num_queries(STATE_QUERIES + PRODUCT_QUERIES):
        response = client.get(product_url(business, products[number]))

    assert response.status_code == 200
    assert response.content.decode().count("/media/products/") >= 2 * (3 if number % 2 else 2)


@pytest.mark.parametrize("size", [3, 48])
def test_a_second_visit_to_the_shop_is_served_from_the_cache(
    client, owner, business, size, django_assert_num_queries
):
    # given a visitor has opened the shop once (from an address with a query, so the
    # page itself is drawn for them)
    make_catalog(owner=owner, business=business, size=size)
    first = client.get(shop_url(business) + QUERY).content.decode()

    # when the next visitor opens it
    with django_assert_num_queries(SHOP_CACHED_QUERIES):
        second = client.get(shop_url(business) + QUERY).content.decode()

    # then the catalog comes from the cache, the same as it was drawn
    assert sections(second) == sections(first)
    shown = {name for _label, names in sections(second) for name in names}
    assert len(shown) == size - size // 7


@pytest.mark.parametrize("size", [3, 48])
def test_a_second_visit_to_a_product_page_is_served_from_the_cache(
    client, owner, business, size, django_assert_num_queries
):
    products = make_catalog(owner=owner, business=business, size=size)
    first = client.get(product_url(business, products[1]) + QUERY).content.decode()

    with django_assert_num_queries(PRODUCT_CACHED_QUERIES):
        second = client.get(product_url(business, products[1]) + QUERY).content.decode()

    assert second.count("/media/products/") == first.count("/media/products/") >= 6
    assert json_ld(second) == json_ld(first)


# --- The cache is never stale -------------------------------------------------------


def shop_changes(owner, business, catalog):
    """For each kind of write: the write, and a check on the shop page that holds
    after it and not before."""
    breads = business.collections.get(name="Breads")
    added = []

    def add_cover():
        added.extend(
            services.add_product_photos(
                actor=owner, product=catalog[2], uploads=[png_upload((48, 48), "new.png")]
            )
        )
        services.move_photo(actor=owner, photo=added[0], offset=-10)  # the new cover

    return {
        "price": (
            lambda: services.update_product(actor=owner, product=catalog[2], price=9990),
            lambda page: "R$99.90" in card(page, "Product 02"),
        ),
        "hidden": (
            lambda: services.set_product_active(actor=owner, product=catalog[2], is_active=False),
            lambda page: "Product 02" not in page,
        ),
        "out of stock": (
            lambda: services.set_product_in_stock(actor=owner, product=catalog[2], in_stock=False),
            lambda page: "Out of stock" in card(page, "Product 02"),
        ),
        "new cover photo": (
            add_cover,
            lambda page: (
                bool(added) and f'src="{added[0].thumb_320.url}"' in card(page, "Product 02")
            ),
        ),
        "collection renamed": (
            lambda: services.rename_collection(actor=owner, collection=breads, name="Loaves"),
            lambda page: [label for label, _ in sections(page)][:1] == ["Loaves"],
        ),
        "import": (
            lambda: services.import_feed_file(
                actor=owner,
                business=business,
                filename="feed.csv",
                data=b"id,title,price\nSKU-002,Imported bread,12.90 BRL",
            ),
            lambda page: "<h3>Imported bread</h3>" in page and "<h3>Product 02</h3>" not in page,
        ),
    }


@pytest.mark.parametrize(
    "change", ["price", "hidden", "out of stock", "new cover photo", "collection renamed", "import"]
)
def test_the_shop_shows_a_write_at_once(client, owner, business, catalog, change):
    # given the shop is cached
    client.get(shop_url(business), **EN)
    write, shows = shop_changes(owner, business, catalog)[change]
    assert not shows(client.get(shop_url(business), **EN).content.decode())

    # when the merchant changes the catalog
    write()

    # then the next visitor sees the change
    assert shows(client.get(shop_url(business), **EN).content.decode())


def test_a_product_page_shows_a_write_at_once(client, owner, business, catalog):
    url = product_url(business, catalog[2])
    assert "R$25.90" in client.get(url, **EN).content.decode()

    services.update_product(actor=owner, product=catalog[2], price=9990, name="Big bread")

    page = client.get(url, **EN).content.decode()
    assert "<h1>Big bread</h1>" in page
    assert json_ld(page)["offers"]["price"] == "99.90"
    assert "R$25.90" not in page


def test_a_hidden_product_page_is_not_found_even_when_it_was_cached(
    client, owner, business, catalog
):
    url = product_url(business, catalog[2])
    assert client.get(url).status_code == 200

    services.set_product_active(actor=owner, product=catalog[2], is_active=False)

    assert client.get(url).status_code == 404


def test_a_new_shop_address_shows_in_the_cached_product_links(client, owner, business, catalog):
    # Product links hold the shop's address, which is a profile field: a profile save
    # changes the cache key (updated_at), not the catalog version.
    client.get(shop_url(business))

    business = account_services.update_business_profile(
        actor=owner, business=business, slug="padaria-nova"
    )

    page = client.get("/s/padaria-nova/").content.decode()
    assert f'href="/s/padaria-nova/p/{catalog[1].pk}/"' in page
    assert "/s/padaria-central/" not in page


def test_each_language_has_its_own_cached_catalog(client, business, catalog):
    assert (
        '<ins class="sale">R$24.90</ins>' in client.get(shop_url(business), **EN).content.decode()
    )

    page = client.get(shop_url(business), HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()

    assert '<ins class="sale">R$\xa024,90</ins>' in page


def test_each_host_has_its_own_cached_product_page(client, business, catalog, settings):
    settings.ALLOWED_HOSTS = ["testserver", "shop.example.com"]
    url = product_url(business, catalog[1])
    client.get(url)

    page = client.get(url, HTTP_HOST="shop.example.com").content.decode()

    assert meta(page, "property", "og:url") == f"http://shop.example.com{url}"


# --- What is shown, and what is not ---------------------------------------------------


def test_hidden_products_are_not_in_the_shop_and_their_page_is_not_found(client, business, catalog):
    page = client.get(shop_url(business)).content.decode()

    assert "Product 07" not in page
    assert "Product 06" in page
    assert client.get(product_url(business, catalog[7])).status_code == 404


def test_a_product_of_another_business_is_not_found_under_this_slug(client, business, catalog):
    neighbour_owner = UserFactory()
    neighbour = account_services.create_business(
        user=neighbour_owner, name="Loja Vizinha", slug="loja-vizinha"
    )
    theirs = services.create_product(
        actor=neighbour_owner, business=neighbour, name="Their cake", retailer_id="X", price=990
    )

    assert client.get(product_url(neighbour, theirs)).status_code == 200
    assert client.get(product_url(business, theirs)).status_code == 404
    assert client.get(product_url(neighbour, catalog[1])).status_code == 404


def test_an_inactive_business_has_no_shop_and_no_product_pages(client, business, catalog):
    # Deactivating a business is an operator's action in the admin.
    Business.objects.filter(pk=business.pk).update(is_active=False)

    assert client.get(shop_url(business)).status_code == 404
    assert client.get(product_url(business, catalog[1])).status_code == 404


def test_an_unknown_product_or_shop_is_not_found(client, business, catalog):
    assert client.get(f"/s/{business.slug}/p/999999/").status_code == 404
    assert client.get("/s/no-such-shop/").status_code == 404
    assert client.get(f"/s/no-such-shop/p/{catalog[1].pk}/").status_code == 404


def test_collections_are_sections_in_order_with_their_products_in_order(
    client, owner, business, catalog
):
    # given the merchant put "Gifts" first and reversed the products of "Breads"
    collections = {c.name: c for c in business.collections.all()}
    services.reorder_collections(
        actor=owner,
        business=business,
        collection_ids=[collections[n].pk for n in ("Gifts", "Breads", "Cakes")],
    )
    services.reorder_collection_products(
        actor=owner,
        collection=collections["Breads"],
        product_ids=[catalog[i].pk for i in (12, 10, 8, 6, 4, 2)],
    )

    page = client.get(shop_url(business), **EN).content.decode()

    # then each collection is a section in that order, hidden products left out,
    # and the products in no collection come last
    assert sections(page) == [
        ("Gifts", ["Product 04", "Product 08", "Product 12"]),
        ("Breads", [f"Product {i:02}" for i in (12, 10, 8, 6, 4, 2)]),
        ("Cakes", ["Product 03", "Product 06", "Product 09", "Product 12"]),
        ("More products", ["Product 01", "Product 05", "Product 11"]),
    ]


def test_a_shop_without_collections_shows_one_unnamed_section(client, owner, business):
    services.create_product(actor=owner, business=business, name="Bolo", retailer_id="B", price=990)

    page = client.get(shop_url(business), **EN).content.decode()

    assert sections(page) == [("More products", ["Bolo"])]
    assert "<h3>More products</h3>" not in page


def test_cards_show_out_of_stock_and_sale_prices(client, business, catalog):
    page = client.get(shop_url(business), **EN).content.decode()

    sold_out = card(page, "Product 10")
    assert "Out of stock" in sold_out
    assert "R$33.90" in sold_out
    assert "Out of stock" not in card(page, "Product 02")
    on_sale = card(page, "Product 01")
    assert re.search(
        r'Was</span> <del>R\$29\.90</del> <span class="visually-hidden">now</span> '
        r'<ins class="sale">R\$24\.90</ins>',
        on_sale,
    )
    assert "<del" not in card(page, "Product 02")
    assert re.search(r'<img src="/media/products/320/\w+\.webp"', on_sale)


@pytest.mark.parametrize(
    ("headers", "price", "was"),
    [
        ({}, "R$\xa024,90", "R$\xa029,90"),  # the site's default language, pt-br
        ({"HTTP_ACCEPT_LANGUAGE": "pt-BR,pt;q=0.9"}, "R$\xa024,90", "R$\xa029,90"),
        (EN, "R$24.90", "R$29.90"),
        ({"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"}, "24,90\xa0R$", "29,90\xa0R$"),
        ({"HTTP_ACCEPT_LANGUAGE": "es-AR,es;q=0.9"}, "R$\xa024,90", "R$\xa029,90"),
    ],
)
def test_prices_are_formatted_for_the_viewer_language(
    client, business, catalog, headers, price, was
):
    shop = client.get(shop_url(business), **headers).content.decode()
    product = client.get(product_url(business, catalog[1]), **headers).content.decode()

    for page in (shop, product):
        assert f'<ins class="sale">{price}</ins>' in page
        assert f">{was}</del>" in page


def test_a_signed_in_visitor_sees_prices_in_their_own_language(client, business, catalog):
    client.force_login(UserFactory(language="en"))

    page = client.get(shop_url(business), HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()

    assert '<ins class="sale">R$24.90</ins>' in page


# --- Product page -----------------------------------------------------------------------


def test_product_page_has_title_description_og_image_and_product_json_ld(client, business, catalog):
    product = catalog[1]
    url = product_url(business, product)

    page = client.get(url, **EN).content.decode()

    assert "<title>Product 01 · Padaria Central</title>" in page
    assert meta(page, "name", "description") == product.description
    assert meta(page, "property", "og:title") == "Product 01 · Padaria Central"
    assert meta(page, "property", "og:url") == f"http://testserver{url}"
    assert re.fullmatch(
        r"http://testserver/media/products/960/\w+\.webp", meta(page, "property", "og:image")
    )
    assert '<link rel="canonical" href="http://testserver' + url + '">' in page
    assert "<h1>Product 01</h1>" in page
    ld = json_ld(page)
    assert ld["@type"] == "Product"
    assert ld["name"] == "Product 01"
    assert ld["sku"] == "SKU-001"
    assert len(ld["image"]) == 3
    assert ld["offers"] == {
        "@type": "Offer",
        "price": "24.90",
        "priceCurrency": "BRL",
        "availability": "https://schema.org/InStock",
        "url": f"http://testserver{url}",
        "seller": {"@type": "Organization", "name": "Padaria Central"},
    }


def test_product_page_of_a_sold_out_product(client, business, catalog):
    page = client.get(product_url(business, catalog[10]), **EN).content.decode()

    assert json_ld(page)["offers"]["availability"] == "https://schema.org/OutOfStock"
    assert json_ld(page)["offers"]["price"] == "33.90"
    assert "Out of stock" in page
    assert "<del" not in page


def test_product_page_without_photos_has_no_og_image(client, owner, business):
    product = services.create_product(
        actor=owner, business=business, name="Cake", retailer_id="C", price=990
    )

    page = client.get(product_url(business, product)).content.decode()

    assert 'property="og:image"' not in page
    assert "image" not in json_ld(page)
