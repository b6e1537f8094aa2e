"""The catalog API: public reads of a shop's catalog, and the members' CRUD of
products, photos and collections, per role, with every boundary answering 404."""

import json
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Business, Membership
from accounts.tests.factories import UserFactory, join
from catalog import services
from catalog.models import Collection, Product, ProductPhoto
from catalog.tests import factories
from catalog.tests.factories import make_product
from core.tests.uploads import PDF_BYTES, png_upload, upload

ROLE = Membership.Role
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

# Anonymous visitor: the business (and its opening hours), the page count, the
# products, their photos.
PUBLIC_LIST_QUERIES = 5


# --- Helpers and fixtures -------------------------------------------------------------


def numbered_product(actor, business, n: int = 1, **fields) -> Product:
    """Product ``n``: "Product 0n", SKU "SKU-00n", 23.90 + n."""
    numbered = {"name": f"Product {n:02}", "retailer_id": f"SKU-{n:03}", "price": 2390 + 100 * n}
    return make_product(actor, business, **(numbered | fields))


def add_photos(actor, product, count: int = 1) -> list[ProductPhoto]:
    return factories.add_photos(actor, product, count, size=(40, 30))


def media_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def call(client, method: str, url: str, data=None, **extra):
    if method in ("get", "delete"):
        return getattr(client, method)(url, **extra)
    fmt = extra.pop("format", "json")
    return getattr(client, method)(url, data, format=fmt, **extra)


@pytest.fixture
def shop(db):
    """A business with one member of each role, a product (with 2 photos) in a
    collection, a hidden product, and a neighbour shop with its own admin, product,
    photo and collection."""
    owner = UserFactory(email="owner@example.com")
    business = account_services.create_business(
        user=owner, name="Padaria Central", slug="padaria-central"
    )
    admin = join(business=business, role=ROLE.ADMIN).user
    agent = join(business=business, role=ROLE.AGENT).user
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    product = numbered_product(owner, business, 1, collection_ids=[breads.pk])
    photos = add_photos(owner, product, 2)
    hidden = numbered_product(owner, business, 2, is_active=False)

    other_owner = UserFactory(email="neighbour@example.com")
    other = account_services.create_business(
        user=other_owner, name="Loja Vizinha", slug="loja-vizinha"
    )
    other_admin = join(business=other, role=ROLE.ADMIN).user
    other_collection = services.create_collection(actor=other_owner, business=other, name="Cakes")
    other_product = numbered_product(other_owner, other, 1, collection_ids=[other_collection.pk])
    [other_photo] = add_photos(other_owner, other_product, 1)
    return SimpleNamespace(
        owner=owner,
        business=business,
        admin=admin,
        agent=agent,
        outsider=UserFactory(email="outsider@example.com"),
        collection=breads,
        product=product,
        photos=photos,
        hidden=hidden,
        other=SimpleNamespace(
            owner=other_owner,
            business=other,
            admin=other_admin,
            collection=other_collection,
            product=other_product,
            photo=other_photo,
        ),
    )


def snapshot() -> dict:
    """Everything a write could change, for "nothing changed" assertions."""
    return {
        "products": sorted(
            Product.objects.values_list(
                "pk", "business_id", "name", "price", "compare_at_price", "is_active", "position"
            )
        ),
        "photos": sorted(
            ProductPhoto.objects.values_list("pk", "product_id", "alt_text", "position")
        ),
        "collections": sorted(
            Collection.objects.values_list("pk", "business_id", "name", "position")
        ),
        "items": sorted(
            Product.collections.through.objects.values_list("collection_id", "product_id")
        ),
    }


def public_url(business: Business, product_id: int | None = None) -> str:
    base = f"/api/v1/businesses/{business.slug}/products/"
    return base if product_id is None else f"{base}{product_id}/"


def catalog_url(business: Business, rest: str) -> str:
    return f"/api/v1/businesses/{business.slug}/catalog/{rest}"


# --- Public ---------------------------------------------------------------------------


def test_public_list_shows_active_products_with_prices_and_absolute_photo_urls(shop):
    # when an anonymous visitor lists the shop's products
    response = api().get(public_url(shop.business), **EN)

    # then only the active product is there, priced in minor units and formatted
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["results"]
    assert item["id"] == shop.product.pk
    assert (item["price"], item["currency"], item["price_display"]) == (2490, "BRL", "R$24.90")
    assert item["compare_at_price"] is None
    assert item["url"] == f"http://testserver/s/padaria-central/p/{shop.product.pk}/"
    assert "stock" not in item and "is_active" not in item
    # and its photos come in order, as absolute URLs of the image and both thumbnails
    assert [p["id"] for p in item["photos"]] == [p.pk for p in shop.photos]
    photo = item["photos"][0]
    for key in ("image", "thumb_320", "thumb_960"):
        assert photo[key].startswith("http://testserver/media/products/")
        assert photo[key].endswith(".webp")
    assert photo["alt_text"] == "Product 01"
    assert (photo["width"], photo["height"]) == (40, 30)


def test_public_list_formats_prices_in_the_visitors_language(shop):
    services.update_product(actor=shop.owner, product=shop.product, compare_at_price=2990)

    [item] = api().get(public_url(shop.business), HTTP_ACCEPT_LANGUAGE="pt-br").json()["results"]

    assert item["price_display"] == "R$\xa024,90"
    assert item["compare_at_price_display"] == "R$\xa029,90"
    assert item["on_sale"] is True


def test_public_list_filters_by_collection(shop):
    # given a second visible product in no collection
    loose = numbered_product(shop.owner, shop.business, 3)
    url = public_url(shop.business)

    everything = api().get(url).json()["results"]
    breads = api().get(url, {"collection": shop.collection.pk}).json()["results"]
    theirs = api().get(url, {"collection": shop.other.collection.pk}).json()["results"]

    assert [p["id"] for p in everything] == [shop.product.pk, loose.pk]
    assert [p["id"] for p in breads] == [shop.product.pk]
    # another shop's collection id filters to nothing here; it never shows their products
    assert theirs == []


def test_public_list_rejects_a_malformed_collection_filter(shop):
    response = api().get(public_url(shop.business), {"collection": "breads"})

    assert response.status_code == 400
    assert "collection" in response.json()


def test_public_list_is_paginated(shop):
    for n in range(3, 33):
        numbered_product(shop.owner, shop.business, n)  # 31 visible products in all

    first = api().get(public_url(shop.business)).json()
    second = api().get(first["next"]).json()

    assert first["count"] == 31
    assert len(first["results"]) == 25
    assert first["previous"] is None
    assert len(second["results"]) == 6
    assert second["next"] is None
    ids = [p["id"] for p in first["results"] + second["results"]]
    assert len(set(ids)) == 31 and shop.hidden.pk not in ids


def test_public_list_runs_a_fixed_number_of_queries(shop, django_assert_num_queries):
    # given 30 visible products with 3 photos each
    for n in range(3, 32):
        add_photos(shop.owner, numbered_product(shop.owner, shop.business, n), 3)
    add_photos(shop.owner, shop.product, 1)

    # when an anonymous visitor lists the first and the second page
    client = api()
    with django_assert_num_queries(PUBLIC_LIST_QUERIES):
        first = client.get(public_url(shop.business))
    with django_assert_num_queries(PUBLIC_LIST_QUERIES):
        second = client.get(public_url(shop.business), {"page": 2})

    # then every product comes with its three photos
    results = first.json()["results"] + second.json()["results"]
    assert len(results) == 30
    assert all(len(p["photos"]) == 3 for p in results)


def test_public_detail(shop):
    response = api().get(public_url(shop.business, shop.product.pk))

    assert response.status_code == 200
    assert response.json()["name"] == "Product 01"
    assert len(response.json()["photos"]) == 2


@pytest.mark.parametrize(
    "which",
    ["hidden", "other business's product under this slug", "missing", "inactive business"],
)
def test_public_detail_is_not_found(shop, which):
    product_id = {
        "hidden": shop.hidden.pk,
        "other business's product under this slug": shop.other.product.pk,
        "missing": 999_999,
        "inactive business": shop.product.pk,
    }[which]
    if which == "inactive business":
        Business.objects.filter(pk=shop.business.pk).update(is_active=False)

    response = api().get(public_url(shop.business, product_id))

    assert response.status_code == 404


def test_public_lists_of_an_inactive_or_unknown_business_are_not_found(shop):
    Business.objects.filter(pk=shop.business.pk).update(is_active=False)

    assert api().get(public_url(shop.business)).status_code == 404
    assert api().get("/api/v1/businesses/no-such-shop/products/").status_code == 404
    assert api().get("/api/v1/businesses/padaria-central/collections/").status_code == 404


def test_public_collections_list_only_those_with_visible_products(shop):
    # given an empty collection and one holding only the hidden product
    services.create_collection(actor=shop.owner, business=shop.business, name="Empty")
    services.create_collection(actor=shop.owner, business=shop.business, name="Secret")
    secret = Collection.objects.get(name="Secret")
    services.update_product(actor=shop.owner, product=shop.hidden, collection_ids=[secret.pk])

    response = api().get(f"/api/v1/businesses/{shop.business.slug}/collections/")

    assert response.status_code == 200
    assert response.json() == [
        {"id": shop.collection.pk, "name": "Breads", "position": 1, "product_count": 1}
    ]


# --- Members: who may do what ---------------------------------------------------------

READS = [
    ("get", "products/"),
    ("get", "products/{product}/"),
    ("get", "products/{product}/photos/"),
    ("get", "collections/"),
]
WRITES = [
    ("post", "products/", {"name": "New", "retailer_id": "NEW-1", "price": 100}),
    ("patch", "products/{product}/", {"price": 999}),
    ("delete", "products/{product}/", None),
    ("post", "products/{product}/photos/", "multipart"),
    ("patch", "products/{product}/photos/{photo}/", {"alt_text": "changed"}),
    ("delete", "products/{product}/photos/{photo}/", None),
    ("post", "products/{product}/photos/reorder/", {"photo_ids": "{photo_ids}"}),
    ("post", "collections/", {"name": "New"}),
    ("patch", "collections/{collection}/", {"name": "Renamed"}),
    ("delete", "collections/{collection}/", None),
    ("post", "collections/reorder/", {"collection_ids": ["{collection}"]}),
    ("post", "collections/{collection}/products/reorder/", {"product_ids": ["{product}"]}),
]
OBJECT_ENDPOINTS = [e for e in READS + WRITES if "{" in e[1]]


def request_for(client, endpoint, business, product, photos, collection):
    """Send ``endpoint`` with the given objects' ids in the URL and the body."""
    method, path, *body = endpoint
    ids = {
        "product": product.pk,
        "photo": photos[0].pk,
        "collection": collection.pk,
        "photo_ids": [p.pk for p in reversed(photos)],
    }
    url = catalog_url(business, path.format(**ids))
    data = body[0] if body else None
    if data == "multipart":
        return call(client, method, url, {"photos": [png_upload()]}, format="multipart")
    if data is not None:
        data = json.loads(
            json.dumps(data)
            .replace('"{photo_ids}"', json.dumps(ids["photo_ids"]))
            .replace('"{collection}"', str(ids["collection"]))
            .replace('"{product}"', str(ids["product"]))
        )
    return call(client, method, url, data)


def own(shop, endpoint, client):
    return request_for(client, endpoint, shop.business, shop.product, shop.photos, shop.collection)


@pytest.mark.parametrize("endpoint", READS + WRITES, ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize("who", ["outsider", "other business's admin"])
def test_non_members_get_not_found_and_change_nothing(shop, endpoint, who):
    user = shop.outsider if who == "outsider" else shop.other.admin
    before = snapshot()

    response = own(shop, endpoint, api(user))

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", READS + WRITES, ids=lambda e: f"{e[0]} {e[1]}")
def test_anonymous_members_endpoints_ask_for_credentials(shop, endpoint):
    before = snapshot()

    response = own(shop, endpoint, api())

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_another_business_ids_under_my_slug_are_not_found_and_change_nothing(shop, endpoint):
    # given an admin of this shop who puts the neighbour's product, photo or
    # collection id in a URL under their own shop
    before = snapshot()

    response = request_for(
        api(shop.admin),
        endpoint,
        shop.business,
        shop.other.product,
        [shop.other.photo],
        shop.other.collection,
    )

    assert response.status_code == 404
    assert snapshot() == before


def test_a_photo_of_another_product_of_the_same_shop_is_not_found(shop):
    sibling = numbered_product(shop.owner, shop.business, 5)
    before = snapshot()
    url = catalog_url(shop.business, f"products/{sibling.pk}/photos/{shop.photos[0].pk}/")

    assert api(shop.admin).patch(url, {"alt_text": "x"}, format="json").status_code == 404
    assert api(shop.admin).delete(url).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", READS, ids=lambda e: f"{e[0]} {e[1]}")
def test_agents_read(shop, endpoint):
    assert own(shop, endpoint, api(shop.agent)).status_code == 200


@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: f"{e[0]} {e[1]}")
def test_agents_cannot_write(shop, endpoint):
    before = snapshot()

    response = own(shop, endpoint, api(shop.agent))

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_and_owners_write(shop, endpoint, role):
    response = own(shop, endpoint, api(getattr(shop, role)))

    assert response.status_code in (200, 201, 204), response.content


# --- Members: products ----------------------------------------------------------------


def test_members_list_includes_hidden_products_and_filters(shop):
    services.update_product(actor=shop.owner, product=shop.hidden, retailer_id="HID-9")
    client = api(shop.agent)
    url = catalog_url(shop.business, "products/")

    def ids(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return [p["id"] for p in response.json()["results"]]

    assert ids() == [shop.product.pk, shop.hidden.pk]
    assert ids(active="false") == [shop.hidden.pk]
    assert ids(active="true") == [shop.product.pk]
    assert ids(q="hid-") == [shop.hidden.pk]
    assert ids(q="product 01") == [shop.product.pk]
    assert ids(collection=shop.collection.pk) == [shop.product.pk]
    assert ids(collection=shop.other.collection.pk) == []
    assert client.get(url, {"active": "maybe"}).status_code == 400


def test_members_see_stock_visibility_and_collections(shop):
    response = api(shop.agent).get(catalog_url(shop.business, f"products/{shop.hidden.pk}/"))

    body = response.json()
    assert response.status_code == 200
    assert body["is_active"] is False
    assert body["stock"] is None
    assert body["collection_ids"] == []
    product = api(shop.agent).get(catalog_url(shop.business, f"products/{shop.product.pk}/"))
    assert product.json()["collection_ids"] == [shop.collection.pk]


def test_admin_creates_a_product(shop):
    payload = {
        "name": "Pão de queijo",
        "description": "Com queijo da Canastra.",
        "retailer_id": "PDQ-1",
        "price": 1990,
        "compare_at_price": 2490,
        "stock": 12,
        "is_active": False,
        "collection_ids": [shop.collection.pk],
    }

    response = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    product = Product.objects.get(pk=body["id"])
    assert product.business == shop.business
    assert (product.price, product.compare_at_price, product.currency) == (1990, 2490, "BRL")
    assert (product.stock, product.is_active) == (12, False)
    assert body["collection_ids"] == [shop.collection.pk]
    assert body["photos"] == []


def test_a_form_encoded_create_without_is_active_makes_a_visible_product(shop):
    response = api(shop.admin).post(
        catalog_url(shop.business, "products/"),
        {"name": "Broa", "retailer_id": "BROA", "price": "850"},
    )

    assert response.status_code == 201, response.content
    assert Product.objects.get(retailer_id="BROA").is_active is True


@pytest.mark.parametrize(
    "price",
    [0, -1, 19.9, 1990.0, "19.90", "19,90", 10**12 + 1, 10**30, True, None, "", "abc", [1990]],
    ids=repr,
)
def test_bad_prices_are_refused_with_a_field_error(shop, price):
    before = snapshot()
    payload = {"name": "X", "retailer_id": "X-1", "price": price}

    response = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["price"]
    assert snapshot() == before


@pytest.mark.parametrize("compare_at", [0, -5, 12.5, 10**12 + 1])
def test_bad_compare_at_prices_are_refused_with_a_field_error(shop, compare_at):
    before = snapshot()
    payload = {"name": "X", "retailer_id": "X-1", "price": 1000, "compare_at_price": compare_at}

    response = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["compare_at_price"]
    assert snapshot() == before


def test_the_largest_price_is_accepted(shop):
    payload = {"name": "Yacht", "retailer_id": "Y", "price": 10**12}

    response = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")

    assert response.status_code == 201
    assert response.json()["price"] == 10**12


@pytest.mark.parametrize("compare_at", [1000, 999, 1])
def test_compare_at_not_above_the_price_is_refused(shop, compare_at):
    before = snapshot()
    payload = {"name": "X", "retailer_id": "X-1", "price": 1000, "compare_at_price": compare_at}

    response = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "compare_at_below_price"
    assert response.json()["field"] == "compare_at_price"
    assert snapshot() == before


def test_lowering_the_compare_at_price_below_the_price_by_patch_is_refused(shop):
    services.update_product(actor=shop.owner, product=shop.product, compare_at_price=2990)
    before = snapshot()
    url = catalog_url(shop.business, f"products/{shop.product.pk}/")

    raised = api(shop.admin).patch(url, {"price": 3000}, format="json")

    assert raised.status_code == 400
    assert raised.json()["code"] == "compare_at_below_price"
    assert snapshot() == before


def test_a_taken_sku_is_refused_but_another_shop_may_use_it(shop):
    before = snapshot()
    payload = {"name": "Twin", "retailer_id": "SKU-001", "price": 100}

    taken = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")
    elsewhere = api(shop.other.admin).post(
        catalog_url(shop.other.business, "products/"),
        payload | {"retailer_id": "SKU-002"},
        format="json",
    )

    assert taken.status_code == 400
    assert taken.json() == {
        "code": "sku_taken",
        "detail": "Another product already uses the SKU “SKU-001”.",
        "field": "retailer_id",
    }
    assert elsewhere.status_code == 201
    assert Product.objects.count() == len(before["products"]) + 1


def test_another_business_collection_in_collection_ids_is_refused(shop):
    before = snapshot()
    payload = {
        "name": "X",
        "retailer_id": "X",
        "price": 100,
        "collection_ids": [shop.other.collection.pk],
    }

    created = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")
    patched = api(shop.admin).patch(
        catalog_url(shop.business, f"products/{shop.product.pk}/"),
        {"collection_ids": [shop.collection.pk, shop.other.collection.pk]},
        format="json",
    )

    assert created.status_code == 400
    assert created.json()["code"] == "unknown_collection"
    assert patched.status_code == 400
    assert snapshot() == before


def test_markup_in_a_name_is_refused(shop):
    payload = {"name": "<script>alert(1)</script>", "retailer_id": "X", "price": 100}

    response = api(shop.admin).post(catalog_url(shop.business, "products/"), payload, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "name"


def test_patch_changes_only_the_fields_sent_and_replaces_collections(shop):
    cakes = services.create_collection(actor=shop.owner, business=shop.business, name="Cakes")
    url = catalog_url(shop.business, f"products/{shop.product.pk}/")

    response = api(shop.admin).patch(
        url, {"price": 2790, "stock": 0, "collection_ids": [cakes.pk]}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["price"], body["stock"], body["in_stock"]) == (2790, 0, False)
    assert body["name"] == "Product 01" and body["retailer_id"] == "SKU-001"
    assert body["collection_ids"] == [cakes.pk]
    assert len(body["photos"]) == 2


def test_delete_removes_the_product_and_its_files_after_commit(
    shop, settings, django_capture_on_commit_callbacks
):
    assert media_files(settings)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(shop.admin).delete(
            catalog_url(shop.business, f"products/{shop.product.pk}/")
        )

    assert response.status_code == 204
    assert not Product.objects.filter(pk=shop.product.pk).exists()
    remaining = set(media_files(settings))
    for photo in shop.photos:
        assert photo.image.name not in remaining
    assert shop.other.photo.image.name in remaining


# --- Members: photos ------------------------------------------------------------------


def test_upload_several_photos(shop, settings):
    url = catalog_url(shop.business, f"products/{shop.hidden.pk}/photos/")

    response = api(shop.admin).post(
        url,
        {"photos": [png_upload(name="a.png"), png_upload((80, 60), "b.png")], "alt_text": "Crust"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [p["alt_text"] for p in body] == ["Crust", "Crust"]
    assert [(p["width"], p["height"]) for p in body] == [(64, 48), (80, 60)]
    assert [p.pk for p in shop.hidden.photos.all()] == [p["id"] for p in body]
    assert api(shop.agent).get(url).json() == body


def test_an_upload_with_a_non_image_stores_nothing(shop, settings):
    before, files = snapshot(), media_files(settings)
    url = catalog_url(shop.business, f"products/{shop.product.pk}/photos/")

    response = api(shop.admin).post(
        url,
        {"photos": [png_upload(), upload(PDF_BYTES, "menu.pdf", "application/pdf")]},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "image_invalid"
    assert response.json()["field"] == "photos"
    assert "menu.pdf" in response.json()["detail"]
    assert snapshot() == before
    assert media_files(settings) == files


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"photos": []},
        {"alt_text": "x" * 201, "photos": "png"},
        {"alt_text": "<b>x</b>", "photos": "png"},
    ],
    ids=["no field", "empty", "alt text too long", "markup in alt text"],
)
def test_bad_uploads_are_refused_and_store_nothing(shop, settings, data):
    before, files = snapshot(), media_files(settings)
    if data.get("photos") == "png":
        data = data | {"photos": [png_upload()]}
    url = catalog_url(shop.business, f"products/{shop.product.pk}/photos/")

    response = api(shop.admin).post(url, data, format="multipart")

    assert response.status_code == 400
    assert snapshot() == before
    assert media_files(settings) == files


def test_too_many_photos_are_refused(shop):
    url = catalog_url(shop.business, f"products/{shop.product.pk}/photos/")
    files = [png_upload(name=f"{i}.png") for i in range(services.MAX_PHOTOS_PER_PRODUCT - 1)]

    response = api(shop.admin).post(url, {"photos": files}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_photos"


def test_a_json_upload_is_unsupported(shop):
    url = catalog_url(shop.business, f"products/{shop.product.pk}/photos/")

    response = api(shop.admin).post(url, {"photos": ["x"]}, format="json")

    assert response.status_code == 415


def test_change_alt_text_and_delete_a_photo(shop):
    first, second = shop.photos
    client = api(shop.admin)
    base = catalog_url(shop.business, f"products/{shop.product.pk}/photos/")

    patched = client.patch(f"{base}{first.pk}/", {"alt_text": "  Crusty loaf  "}, format="json")
    deleted = client.delete(f"{base}{second.pk}/")

    assert patched.status_code == 200
    assert patched.json()["alt_text"] == "Crusty loaf"
    assert deleted.status_code == 204
    assert [p.pk for p in shop.product.photos.all()] == [first.pk]


def test_reorder_photos(shop):
    first, second = shop.photos
    url = catalog_url(shop.business, f"products/{shop.product.pk}/photos/reorder/")

    response = api(shop.admin).post(url, {"photo_ids": [second.pk, first.pk]}, format="json")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [second.pk, first.pk]
    cover = api().get(public_url(shop.business, shop.product.pk)).json()["photos"][0]
    assert cover["id"] == second.pk


@pytest.mark.parametrize(
    "which", ["missing one", "another product's photo", "duplicate", "not ints"]
)
def test_a_stale_or_foreign_photo_order_is_refused(shop, which):
    first, second = shop.photos
    photo_ids = {
        "missing one": [second.pk],
        "another product's photo": [second.pk, first.pk, shop.other.photo.pk],
        "duplicate": [second.pk, second.pk],
        "not ints": ["b", "a"],
    }[which]
    before = snapshot()
    url = catalog_url(shop.business, f"products/{shop.product.pk}/photos/reorder/")

    response = api(shop.admin).post(url, {"photo_ids": photo_ids}, format="json")

    assert response.status_code == 400
    assert snapshot() == before


# --- Members: collections -------------------------------------------------------------


def test_collections_crud_and_reorder(shop):
    client = api(shop.admin)
    base = catalog_url(shop.business, "collections/")

    created = client.post(base, {"name": "  Cakes "}, format="json")
    cakes_id = created.json()["id"]
    renamed = client.patch(f"{base}{cakes_id}/", {"name": "Sweets"}, format="json")
    reordered = client.post(
        f"{base}reorder/", {"collection_ids": [cakes_id, shop.collection.pk]}, format="json"
    )
    listed = api(shop.agent).get(base)
    deleted = client.delete(f"{base}{shop.collection.pk}/")

    assert created.status_code == 201
    assert created.json() == {"id": cakes_id, "name": "Cakes", "position": 2}
    assert renamed.json()["name"] == "Sweets"
    assert [c["id"] for c in reordered.json()] == [cakes_id, shop.collection.pk]
    assert listed.json() == reordered.json()
    assert deleted.status_code == 204
    # deleting a collection keeps its products
    assert Product.objects.filter(pk=shop.product.pk).exists()
    assert [c["id"] for c in client.get(base).json()] == [cakes_id]


def test_a_duplicate_collection_name_is_refused(shop):
    response = api(shop.admin).post(
        catalog_url(shop.business, "collections/"), {"name": "Breads"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "collection_taken"


def test_another_business_collection_in_a_reorder_is_refused(shop):
    before = snapshot()

    response = api(shop.admin).post(
        catalog_url(shop.business, "collections/reorder/"),
        {"collection_ids": [shop.collection.pk, shop.other.collection.pk]},
        format="json",
    )

    assert response.status_code == 400
    assert snapshot() == before


def test_reorder_products_of_a_collection(shop):
    second = numbered_product(shop.owner, shop.business, 3, collection_ids=[shop.collection.pk])
    url = catalog_url(shop.business, f"collections/{shop.collection.pk}/products/reorder/")

    response = api(shop.admin).post(
        url, {"product_ids": [second.pk, shop.product.pk]}, format="json"
    )
    foreign = api(shop.admin).post(
        url, {"product_ids": [second.pk, shop.other.product.pk]}, format="json"
    )

    assert response.status_code == 204
    assert foreign.status_code == 400
    listed = api().get(public_url(shop.business), {"collection": shop.collection.pk}).json()
    assert {p["id"] for p in listed["results"]} == {second.pk, shop.product.pk}


# --- Tokens and the schema --------------------------------------------------------------


def test_bearer_token_authenticates(shop):
    _token, raw = account_services.create_api_token(user=shop.admin, name="POS")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    listed = client.get(catalog_url(shop.business, "products/"))
    created = client.post(
        catalog_url(shop.business, "products/"),
        {"name": "Via token", "retailer_id": "TOK", "price": 500},
        format="json",
    )
    refused = APIClient(HTTP_AUTHORIZATION="Bearer cv_wrong").get(
        catalog_url(shop.business, "products/")
    )

    assert listed.status_code == 200
    assert created.status_code == 201
    assert refused.status_code == 401


def test_a_token_of_another_business_member_sees_nothing_here(shop):
    _token, raw = account_services.create_api_token(user=shop.other.admin, name="POS")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert client.get(catalog_url(shop.business, "products/")).status_code == 404
    assert client.get(catalog_url(shop.other.business, "products/")).status_code == 200


def test_the_schema_describes_the_catalog(db):
    response = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/businesses/{slug}/products/": {"get"},
        "/api/v1/businesses/{slug}/products/{product_id}/": {"get"},
        "/api/v1/businesses/{slug}/collections/": {"get"},
        "/api/v1/businesses/{slug}/catalog/products/": {"get", "post"},
        "/api/v1/businesses/{slug}/catalog/products/{product_id}/": {"get", "patch", "delete"},
        "/api/v1/businesses/{slug}/catalog/products/{product_id}/photos/": {"get", "post"},
        "/api/v1/businesses/{slug}/catalog/products/{product_id}/photos/{photo_id}/": {
            "patch",
            "delete",
        },
        "/api/v1/businesses/{slug}/catalog/products/{product_id}/photos/reorder/": {"post"},
        "/api/v1/businesses/{slug}/catalog/collections/": {"get", "post"},
        "/api/v1/businesses/{slug}/catalog/collections/{collection_id}/": {"patch", "delete"},
        "/api/v1/businesses/{slug}/catalog/collections/reorder/": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
    upload_body = paths["/api/v1/businesses/{slug}/catalog/products/{product_id}/photos/"]["post"]
    assert "multipart/form-data" in upload_body["requestBody"]["content"]
    price = schema["components"]["schemas"]["ProductInputRequest"]["properties"]["price"]
    assert (price["type"], price["minimum"], price["maximum"]) == ("integer", 1, 10**12)
    listing = paths["/api/v1/businesses/{slug}/products/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"collection", "page"}
