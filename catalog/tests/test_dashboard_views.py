"""The merchant's catalog pages: permissions, locale prices, photos, quick toggles
and collections. State is built through the services, as a merchant would."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Membership
from accounts.tests.factories import UserFactory, create_business, join
from catalog import services
from catalog.models import Collection, Product, ProductPhoto
from core.tests.uploads import PDF_BYTES, png_bomb, png_upload, upload

ROLE = Membership.Role


# --- Fixtures -----------------------------------------------------------------------


@pytest.fixture
def shop(db):
    """A business with an owner, an admin and an agent; one product and one collection."""
    owner = UserFactory(email="owner@example.com")
    business = create_business(owner=owner, name="Padaria Central", slug="padaria")
    admin = join(business=business, role=ROLE.ADMIN).user
    agent = join(business=business, role=ROLE.AGENT).user
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    product = services.create_product(
        actor=owner,
        business=business,
        name="Pão de queijo",
        retailer_id="PQ-1",
        price=1990,
        collection_ids=[breads.pk],
    )
    (photo,) = services.add_product_photos(actor=owner, product=product, uploads=[png_upload()])
    return SimpleNamespace(
        owner=owner,
        admin=admin,
        agent=agent,
        business=business,
        product=product,
        photo=photo,
        collection=breads,
    )


@pytest.fixture
def neighbour(db):
    """Another business with its own admin, product, photo and collection."""
    owner = UserFactory(email="neighbour@example.com")
    business = create_business(owner=owner, name="Loja Vizinha", slug="vizinha")
    product = services.create_product(
        actor=owner, business=business, name="Bolo", retailer_id="B-1", price=3000
    )
    (photo,) = services.add_product_photos(actor=owner, product=product, uploads=[png_upload()])
    collection = services.create_collection(actor=owner, business=business, name="Cakes")
    return SimpleNamespace(
        owner=owner,
        admin=join(business=business, role=ROLE.ADMIN).user,
        business=business,
        product=product,
        photo=photo,
        collection=collection,
    )


def _url(name: str, shop, **kwargs) -> str:
    return reverse(name, kwargs={"slug": shop.business.slug, **kwargs})


def _product_data(**overrides) -> dict:
    data = {
        "name": "Broa de milho",
        "description": "Fresh every morning.",
        "retailer_id": "BROA-1",
        "price": "12.50",
        "compare_at_price": "",
        "stock": "",
        "is_active": "on",
    }
    return data | overrides


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- Permissions --------------------------------------------------------------------


def _endpoints(shop):
    """(method, url) for every catalog dashboard page and action."""
    p, ph, c = shop.product.pk, shop.photo.pk, shop.collection.pk
    return {
        "list": ("get", _url("catalog_products", shop)),
        "create": ("get", _url("catalog_product_create", shop)),
        "create_post": ("post", _url("catalog_product_create", shop)),
        "edit": ("get", _url("catalog_product_edit", shop, product_id=p)),
        "edit_post": ("post", _url("catalog_product_edit", shop, product_id=p)),
        "delete": ("post", _url("catalog_product_delete", shop, product_id=p)),
        "visible": ("post", _url("catalog_product_visible", shop, product_id=p)),
        "in_stock": ("post", _url("catalog_product_in_stock", shop, product_id=p)),
        "photos_add": ("post", _url("catalog_photos_add", shop, product_id=p)),
        "photo_alt": ("post", _url("catalog_photo_update", shop, product_id=p, photo_id=ph)),
        "photo_move": ("post", _url("catalog_photo_move", shop, product_id=p, photo_id=ph)),
        "photo_delete": ("post", _url("catalog_photo_delete", shop, product_id=p, photo_id=ph)),
        "collections": ("get", _url("catalog_collections", shop)),
        "collection_create": ("post", _url("catalog_collections", shop)),
        "collection_rename": ("post", _url("catalog_collection_rename", shop, collection_id=c)),
        "collection_move": ("post", _url("catalog_collection_move", shop, collection_id=c)),
        "collection_delete": ("post", _url("catalog_collection_delete", shop, collection_id=c)),
    }


ENDPOINT_NAMES = [
    "list", "create", "create_post", "edit", "edit_post", "delete", "visible", "in_stock",
    "photos_add", "photo_alt", "photo_move", "photo_delete", "collections",
    "collection_create", "collection_rename", "collection_move", "collection_delete",
]  # fmt: skip


def _assert_unchanged(shop):
    product = Product.objects.get(pk=shop.product.pk)
    assert (product.name, product.is_active, product.stock) == ("Pão de queijo", True, None)
    assert list(product.photos.values_list("pk", flat=True)) == [shop.photo.pk]
    assert list(
        Collection.objects.filter(business=shop.business).values_list("name", flat=True)
    ) == ["Breads"]


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_anonymous_visitors_are_sent_to_sign_in(client, shop, endpoint):
    method, url = _endpoints(shop)[endpoint]

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    _assert_unchanged(shop)


@pytest.mark.parametrize("who", ["outsider", "neighbour_admin", "neighbour_owner"])
@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_people_outside_the_business_get_not_found(client, shop, neighbour, who, endpoint):
    user = {
        "outsider": UserFactory(),
        "neighbour_admin": neighbour.admin,
        "neighbour_owner": neighbour.owner,
    }[who]
    client.force_login(user)
    method, url = _endpoints(shop)[endpoint]

    response = getattr(client, method)(url, {"name": "Hacked", "on": "0"})

    assert response.status_code == 404
    _assert_unchanged(shop)


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_agents_see_the_list_and_change_nothing(client, shop, endpoint):
    client.force_login(shop.agent)
    method, url = _endpoints(shop)[endpoint]

    response = getattr(client, method)(url, {"name": "Hacked", "on": "0", "direction": "up"})

    assert response.status_code == (200 if endpoint == "list" else 404)
    _assert_unchanged(shop)


def test_the_agents_list_has_no_edit_controls(client, shop):
    client.force_login(shop.agent)

    page = client.get(_url("catalog_products", shop)).content.decode()

    assert "Pão de queijo" in page
    assert _url("catalog_product_edit", shop, product_id=shop.product.pk) not in page
    assert _url("catalog_product_visible", shop, product_id=shop.product.pk) not in page
    assert _url("catalog_product_create", shop) not in page


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admins_and_owners_can_open_every_page(client, shop, role):
    client.force_login(getattr(shop, role))
    for endpoint in ("list", "create", "edit", "collections"):
        _method, url = _endpoints(shop)[endpoint]
        assert client.get(url).status_code == 200, endpoint


def test_ids_from_another_business_are_not_found(client, shop, neighbour):
    """An admin of this shop, using this shop's slug with the neighbour's ids."""
    client.force_login(shop.admin)
    p, ph, c = neighbour.product.pk, neighbour.photo.pk, neighbour.collection.pk
    mine = shop.product.pk
    urls = [
        ("get", _url("catalog_product_edit", shop, product_id=p)),
        ("post", _url("catalog_product_edit", shop, product_id=p)),
        ("post", _url("catalog_product_delete", shop, product_id=p)),
        ("post", _url("catalog_product_visible", shop, product_id=p)),
        ("post", _url("catalog_photos_add", shop, product_id=p)),
        # The neighbour's photo under one of our products.
        ("post", _url("catalog_photo_update", shop, product_id=mine, photo_id=ph)),
        ("post", _url("catalog_photo_move", shop, product_id=mine, photo_id=ph)),
        ("post", _url("catalog_photo_delete", shop, product_id=mine, photo_id=ph)),
        ("post", _url("catalog_collection_rename", shop, collection_id=c)),
        ("post", _url("catalog_collection_move", shop, collection_id=c)),
        ("post", _url("catalog_collection_delete", shop, collection_id=c)),
    ]
    for method, url in urls:
        response = getattr(client, method)(url, {"name": "Hacked", "direction": "up", "on": "0"})
        assert response.status_code == 404, url

    assert Product.objects.filter(pk=p, name="Bolo", is_active=True).exists()
    assert ProductPhoto.objects.filter(pk=ph).exists()
    assert Collection.objects.filter(pk=c, name="Cakes").exists()


def test_a_product_filter_with_another_business_collection_shows_nothing(client, shop, neighbour):
    client.force_login(shop.admin)

    response = client.get(
        _url("catalog_products", shop), {"collection": neighbour.collection.pk, "q": "o"}
    )

    assert response.status_code == 200
    assert _names(response) == ["Pão de queijo"]  # the search still applies
    assert "Bolo" not in response.content.decode()


# --- Creating products, prices in the merchant's language ---------------------------


@pytest.mark.parametrize(
    ("language", "typed", "minor"),
    [
        ("pt-br", "19,90", 1990),
        ("pt-br", "1.234,50", 123450),
        ("pt-br", "R$ 7", 700),
        ("en", "19.90", 1990),
        ("en", "1,234.50", 123450),
        ("fr", "1 234,50", 123450),
        ("fr", "1\u202f234,50\u00a0R$", 123450),
        ("fr", "19.90", 1990),
        ("es", "1.234,50", 123450),
        ("es", "1 234,50", 123450),
        ("es", "1234.5", 123450),
    ],
)
def test_prices_are_typed_the_way_the_merchant_writes_numbers(client, shop, language, typed, minor):
    shop.admin.language = language
    shop.admin.save(update_fields=["language"])
    client.force_login(shop.admin)

    response = client.post(_url("catalog_product_create", shop), _product_data(price=typed))

    product = Product.objects.get(business=shop.business, retailer_id="BROA-1")
    assert response.status_code == 302
    assert response.url == _url("catalog_product_edit", shop, product_id=product.pk)
    assert (product.price, product.currency) == (minor, "BRL")


@pytest.mark.parametrize("typed", ["١٢٣", "１２３", "¹²³"], ids=["arabic", "fullwidth", "super"])
@pytest.mark.parametrize("field", ["price", "compare_at_price"])
def test_a_price_in_other_digits_than_ascii_is_a_field_error(client, shop, field, typed):
    # given an admin creating a product and editing another
    client.force_login(shop.admin)
    before = Product.objects.get(pk=shop.product.pk).compare_at_price, shop.product.price

    # when the price is typed with Arabic-Indic, full-width or superscript digits
    created = client.post(_url("catalog_product_create", shop), _product_data(**{field: typed}))
    edited = client.post(
        _url("catalog_product_edit", shop, product_id=shop.product.pk),
        _product_data(retailer_id="PQ-1", **{field: typed}),
    )

    # then each form shows the field's error and nothing is created or changed
    for response in (created, edited):
        assert response.status_code in (200, 400)  # the form again, not a redirect
        assert "Enter the amount as a number" in response.content.decode()
    assert not Product.objects.filter(retailer_id="BROA-1").exists()
    product = Product.objects.get(pk=shop.product.pk)
    assert (product.compare_at_price, product.price) == before


def test_the_browser_language_counts_when_the_user_has_none(client, shop):
    shop.admin.language = ""
    shop.admin.save(update_fields=["language"])
    client.force_login(shop.admin)

    client.post(
        _url("catalog_product_create", shop),
        _product_data(price="19,90"),
        headers={"accept-language": "pt-BR"},
    )

    assert Product.objects.get(retailer_id="BROA-1").price == 1990


def test_a_full_product_is_created_with_its_collections(client, shop):
    client.force_login(shop.admin)
    cakes = services.create_collection(actor=shop.owner, business=shop.business, name="Cakes")

    response = client.post(
        _url("catalog_product_create", shop),
        _product_data(
            compare_at_price="15.00",
            stock="12",
            collections=[shop.collection.pk, cakes.pk],
        ),
        follow=True,
    )

    product = Product.objects.get(retailer_id="BROA-1")
    assert product.price == 1250
    assert product.compare_at_price == 1500
    assert product.stock == 12
    assert product.is_active
    assert set(product.collections.values_list("name", flat=True)) == {"Breads", "Cakes"}
    assert "Product “Broa de milho” added." in response.content.decode()


def test_an_empty_stock_is_unlimited_and_unchecked_visible_hides(client, shop):
    client.force_login(shop.admin)
    data = _product_data(stock="")
    del data["is_active"]

    client.post(_url("catalog_product_create", shop), data)

    product = Product.objects.get(retailer_id="BROA-1")
    assert product.stock is None
    assert not product.is_active


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "Enter the amount as a number"),
        ("-1", "cannot be negative"),
        ("0", "The price must be above zero."),
        ("0,00", "Enter the amount as a number"),  # English: the comma is not a decimal point
        ("1e5", "Enter the amount as a number"),
        ("19.999", "Use at most 2 decimal places."),
        ("99999999999999", "That amount is too large."),
        ("", "This field is required."),
        ("NaN", "Enter the amount as a number"),
    ],
)
def test_invalid_prices_show_an_error_on_the_field_and_create_nothing(client, shop, typed, message):
    client.force_login(shop.admin)

    response = client.post(_url("catalog_product_create", shop), _product_data(price=typed))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["price"]
    assert message in errors["price"][0]
    assert not Product.objects.filter(retailer_id="BROA-1").exists()


@pytest.mark.parametrize("compare_at", ["12.50", "10.00", "0"])
def test_the_compare_at_price_must_be_above_the_price(client, shop, compare_at):
    client.force_login(shop.admin)

    response = client.post(
        _url("catalog_product_create", shop),
        _product_data(price="12.50", compare_at_price=compare_at),
    )

    errors = response.context["form"].errors
    assert list(errors) == ["compare_at_price"]
    assert "must be higher than the price" in errors["compare_at_price"][0]
    assert not Product.objects.filter(retailer_id="BROA-1").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "x" * 121, "at most 120 characters"),
        ("name", "<b>Bold</b>", ""),
        ("retailer_id", "PQ-1", "Another product already uses the SKU “PQ-1”."),
        ("stock", "-3", "greater than or equal to 0"),
        ("stock", "lots", "Enter a whole number."),
    ],
)
def test_other_invalid_fields_show_their_errors(client, shop, field, value, message):
    client.force_login(shop.admin)

    response = client.post(_url("catalog_product_create", shop), _product_data(**{field: value}))

    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert Product.objects.filter(business=shop.business).count() == 1


def test_a_form_error_keeps_what_was_typed(client, shop):
    client.force_login(shop.admin)

    response = client.post(
        _url("catalog_product_create", shop),
        _product_data(price="abc", name="Broa especial", description="Com erva-doce"),
    )

    page = response.content.decode()
    assert 'value="Broa especial"' in page
    assert "Com erva-doce" in page
    assert 'aria-invalid="true"' in page


# --- Photos -------------------------------------------------------------------------


def test_several_photos_are_uploaded_at_once_with_the_new_product(client, shop):
    client.force_login(shop.admin)
    files_before = len(_stored_files())

    client.post(
        _url("catalog_product_create", shop),
        _product_data(photos=[png_upload(name="front.png"), png_upload(name="back.png")]),
    )

    product = Product.objects.get(retailer_id="BROA-1")
    photos = list(product.photos.order_by("position"))
    assert len(photos) == 2
    assert [p.position for p in photos] == [1, 2]
    assert all(p.image.name.endswith(".webp") for p in photos)
    assert len(_stored_files()) == files_before + 2 * 3  # image and two thumbnails each


@pytest.mark.parametrize(
    ("make_upload", "message"),
    [
        (lambda: upload(PDF_BYTES, "photo.jpg", "image/jpeg"), "is not a JPEG, PNG or WebP image"),
        (lambda: upload(png_bomb(), "huge.png"), "too many pixels"),
    ],
)
def test_a_bad_photo_shows_an_error_and_creates_nothing(client, shop, make_upload, message):
    client.force_login(shop.admin)
    files_before = _stored_files()

    response = client.post(
        _url("catalog_product_create", shop),
        _product_data(photos=[png_upload(name="good.png"), make_upload()]),
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["photos"]
    assert message in errors["photos"][0]
    assert not Product.objects.filter(retailer_id="BROA-1").exists()
    assert _stored_files() == files_before


def test_a_too_large_file_is_refused(client, shop, monkeypatch):
    monkeypatch.setattr(services, "PHOTO_MAX_BYTES", 100)
    client.force_login(shop.admin)

    response = client.post(
        _url("catalog_photos_add", shop, product_id=shop.product.pk),
        {"photos": [png_upload(size=(200, 200))]},
    )

    assert response.status_code == 400
    assert "The image is too large" in response.context["upload_form"].errors["photos"][0]
    assert shop.product.photos.count() == 1


def test_photos_are_added_on_the_edit_page(client, shop):
    client.force_login(shop.admin)

    response = client.post(
        _url("catalog_photos_add", shop, product_id=shop.product.pk),
        {"photos": [png_upload(name="a.png"), png_upload(name="b.png")]},
        follow=True,
    )

    assert "2 photos added." in response.content.decode()
    assert shop.product.photos.count() == 3
    assert list(shop.product.photos.values_list("position", flat=True)) == [1, 2, 3]


def test_a_bad_photo_on_the_edit_page_stores_nothing(client, shop):
    client.force_login(shop.admin)
    files_before = _stored_files()

    response = client.post(
        _url("catalog_photos_add", shop, product_id=shop.product.pk),
        {"photos": [png_upload(), upload(PDF_BYTES, "scan.jpg", "image/jpeg")]},
    )

    assert response.status_code == 400
    assert "scan.jpg: This file is not a JPEG, PNG or WebP image." in response.content.decode()
    assert shop.product.photos.count() == 1
    assert _stored_files() == files_before


def test_uploading_no_photo_says_so(client, shop):
    client.force_login(shop.admin)

    response = client.post(_url("catalog_photos_add", shop, product_id=shop.product.pk), {})

    assert response.status_code == 400
    assert response.context["upload_form"].errors["photos"]


def test_photos_move_earlier_and_later_and_the_first_is_the_cover(client, shop):
    second, third = services.add_product_photos(
        actor=shop.owner, product=shop.product, uploads=[png_upload(), png_upload()]
    )
    client.force_login(shop.admin)

    def order():
        return list(shop.product.photos.order_by("position").values_list("pk", flat=True))

    move = "catalog_photo_move"
    client.post(
        _url(move, shop, product_id=shop.product.pk, photo_id=third.pk), {"direction": "earlier"}
    )
    assert order() == [shop.photo.pk, third.pk, second.pk]
    response = client.post(
        _url(move, shop, product_id=shop.product.pk, photo_id=third.pk),
        {"direction": "earlier"},
        follow=True,
    )
    assert order() == [third.pk, shop.photo.pk, second.pk]
    assert "Photo moved." in response.content.decode()
    assert Product.objects.get(pk=shop.product.pk).cover.pk == third.pk
    client.post(
        _url(move, shop, product_id=shop.product.pk, photo_id=third.pk), {"direction": "later"}
    )
    assert order() == [shop.photo.pk, third.pk, second.pk]
    # A bad direction changes nothing.
    client.post(
        _url(move, shop, product_id=shop.product.pk, photo_id=third.pk), {"direction": "sideways"}
    )
    assert order() == [shop.photo.pk, third.pk, second.pk]


def test_the_alt_text_of_a_photo_is_edited(client, shop):
    client.force_login(shop.admin)
    url = _url("catalog_photo_update", shop, product_id=shop.product.pk, photo_id=shop.photo.pk)

    response = client.post(url, {"alt_text": "  A basket of cheese bread  "}, follow=True)

    shop.photo.refresh_from_db()
    assert shop.photo.alt_text == "A basket of cheese bread"
    assert "Alt text saved." in response.content.decode()

    response = client.post(url, {"alt_text": "x" * 201}, follow=True)
    shop.photo.refresh_from_db()
    assert shop.photo.alt_text == "A basket of cheese bread"
    assert "Alt text not saved" in response.content.decode()


def test_a_photo_is_deleted_with_its_files(client, shop, django_capture_on_commit_callbacks):
    client.force_login(shop.admin)
    names = [shop.photo.image.name, shop.photo.thumb_320.name, shop.photo.thumb_960.name]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            _url("catalog_photo_delete", shop, product_id=shop.product.pk, photo_id=shop.photo.pk)
        )

    assert not shop.product.photos.exists()
    assert not any((Path(settings.MEDIA_ROOT) / name).exists() for name in names)


# --- Editing and deleting -----------------------------------------------------------


def test_the_edit_form_shows_prices_in_the_viewers_notation(client, shop):
    shop.admin.language = "pt-br"
    shop.admin.save(update_fields=["language"])
    services.update_product(actor=shop.owner, product=shop.product, compare_at_price=123456)
    client.force_login(shop.admin)

    page = client.get(_url("catalog_product_edit", shop, product_id=shop.product.pk))

    form = page.context["form"]
    assert form["price"].value() == "19,90"
    assert form["compare_at_price"].value() == "1234,56"


def test_a_product_is_edited(client, shop):
    shop.admin.language = "pt-br"
    shop.admin.save(update_fields=["language"])
    client.force_login(shop.admin)

    response = client.post(
        _url("catalog_product_edit", shop, product_id=shop.product.pk),
        _product_data(name="Pão de queijo grande", retailer_id="PQ-1", price="24,90", stock="3"),
    )

    assert response.status_code == 302
    product = Product.objects.get(pk=shop.product.pk)
    assert (product.name, product.price, product.stock) == ("Pão de queijo grande", 2490, 3)
    assert not product.collections.exists()  # no box ticked: out of "Breads"


def test_an_invalid_edit_changes_nothing(client, shop):
    client.force_login(shop.admin)

    response = client.post(
        _url("catalog_product_edit", shop, product_id=shop.product.pk),
        _product_data(retailer_id="PQ-1", price="5.00", compare_at_price="4.00"),
    )

    assert response.status_code == 400
    assert "must be higher than the price" in response.context["form"].errors["compare_at_price"][0]
    _assert_unchanged(shop)


def test_a_product_is_deleted_with_its_photo_files(
    client, shop, django_capture_on_commit_callbacks
):
    client.force_login(shop.admin)
    image = Path(settings.MEDIA_ROOT) / shop.photo.image.name

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("catalog_product_delete", shop, product_id=shop.product.pk), follow=True
        )

    assert not Product.objects.filter(pk=shop.product.pk).exists()
    assert not image.exists()
    assert "Product “Pão de queijo” deleted." in response.content.decode()
    assert response.redirect_chain[-1][0] == _url("catalog_products", shop)


def test_the_delete_button_asks_for_confirmation(client, shop):
    client.force_login(shop.admin)

    page = client.get(_url("catalog_product_edit", shop, product_id=shop.product.pk))

    assert 'data-confirm="Delete “Pão de queijo” for good?"' in page.content.decode()


# --- The list: search, filters, paging, quick toggles -------------------------------


def _make_products(shop, n: int, **fields) -> list[Product]:
    return [
        services.create_product(
            actor=shop.owner,
            business=shop.business,
            name=f"Item {i:02d}",
            retailer_id=f"IT-{i:02d}",
            price=100 + i,
            **fields,
        )
        for i in range(n)
    ]


def _names(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


def test_the_list_searches_by_name_or_sku(client, shop):
    _make_products(shop, 3)
    client.force_login(shop.agent)
    url = _url("catalog_products", shop)

    assert _names(client.get(url, {"q": "queijo"})) == ["Pão de queijo"]
    assert _names(client.get(url, {"q": "it-01"})) == ["Item 01"]
    assert _names(client.get(url, {"q": "nothing like it"})) == []
    assert "No products match these filters." in client.get(url, {"q": "zzz"}).content.decode()


def test_the_list_filters_by_collection_and_visibility(client, shop):
    hidden = _make_products(shop, 2, is_active=False)
    client.force_login(shop.admin)
    url = _url("catalog_products", shop)

    assert _names(client.get(url, {"collection": shop.collection.pk})) == ["Pão de queijo"]
    assert _names(client.get(url, {"active": "0"})) == [p.name for p in hidden]
    assert _names(client.get(url, {"active": "1"})) == ["Pão de queijo"]
    assert len(_names(client.get(url, {"active": "bogus"}))) == 3  # an invalid filter is ignored


def test_the_list_pages_by_25_and_keeps_the_filters(client, shop):
    _make_products(shop, 30)
    client.force_login(shop.admin)
    url = _url("catalog_products", shop)

    first = client.get(url, {"q": "item"})
    second = client.get(url, {"q": "item", "page": 2})

    assert len(_names(first)) == 25
    assert _names(second) == [f"Item {i:02d}" for i in range(25, 30)]
    assert "?q=item&amp;page=2" in first.content.decode()
    assert client.get(url, {"page": "999"}).context["page"].number == 2


# Session, user, membership, memberships for the switcher, collections, count, products,
# their photos and their collections: the same for 1 row or 25.
QUERIES_LIST = 9


def test_the_list_runs_a_fixed_number_of_queries(client, shop, django_assert_max_num_queries):
    client.force_login(shop.admin)
    url = _url("catalog_products", shop)
    client.get(url)  # warm the session and caches

    _make_products(shop, 24)
    for product in Product.objects.filter(business=shop.business):
        services.add_product_photos(actor=shop.owner, product=product, uploads=[png_upload()])
    with django_assert_max_num_queries(QUERIES_LIST):
        response = client.get(url)
    assert len(response.context["page"].object_list) == 25


@pytest.mark.parametrize(("language", "expected"), [("pt-br", "R$\xa019,90"), ("en", "R$19.90")])
def test_prices_are_formatted_for_the_viewer(client, shop, language, expected):
    shop.admin.language = language
    shop.admin.save(update_fields=["language"])
    client.force_login(shop.admin)

    page = client.get(_url("catalog_products", shop)).content.decode()

    assert expected in page


def test_the_visible_toggle_with_htmx_returns_the_row(client, shop):
    client.force_login(shop.admin)
    url = _url("catalog_product_visible", shop, product_id=shop.product.pk)

    response = client.post(
        url, {"on": "0", "next": "/dashboard/padaria/catalog/?q=p"}, headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith(f'<tr id="product-{shop.product.pk}"')
    assert 'aria-pressed="false"' in body  # the Visible toggle now reads "off"
    assert 'hx-swap-oob="innerHTML"' in body
    assert "“Pão de queijo” is hidden from the shop." in body
    assert 'value="/dashboard/padaria/catalog/?q=p"' in body
    assert not Product.objects.get(pk=shop.product.pk).is_active
    # No flash is left over for the next full page.
    assert (
        "is hidden from the shop" not in client.get(_url("catalog_products", shop)).content.decode()
    )


def test_the_in_stock_toggle_with_htmx(client, shop):
    client.force_login(shop.admin)
    url = _url("catalog_product_in_stock", shop, product_id=shop.product.pk)

    body = client.post(url, {"on": "0"}, headers={"HX-Request": "true"}).content.decode()

    assert Product.objects.get(pk=shop.product.pk).stock == 0
    assert "Out of stock" in body
    assert "“Pão de queijo” is out of stock." in body

    client.post(url, {"on": "1"}, headers={"HX-Request": "true"})
    assert Product.objects.get(pk=shop.product.pk).stock is None


def test_the_toggles_without_javascript_redirect_back_with_a_message(client, shop):
    client.force_login(shop.admin)
    url = _url("catalog_product_visible", shop, product_id=shop.product.pk)
    back = _url("catalog_products", shop) + "?active=1"

    response = client.post(url, {"on": "0", "next": back})

    assert response.status_code == 302
    assert response.url == back
    page = client.get(back).content.decode()
    assert "“Pão de queijo” is hidden from the shop." in page
    # Setting the same state twice (a double click) is harmless.
    client.post(url, {"on": "0", "next": back})
    assert not Product.objects.get(pk=shop.product.pk).is_active


def test_the_toggle_does_not_redirect_off_site(client, shop):
    client.force_login(shop.admin)
    url = _url("catalog_product_visible", shop, product_id=shop.product.pk)

    response = client.post(url, {"on": "1", "next": "https://evil.example/"})

    assert response.url == _url("catalog_products", shop)


def test_toggles_only_take_posts(client, shop):
    client.force_login(shop.admin)

    response = client.get(_url("catalog_product_visible", shop, product_id=shop.product.pk))

    assert response.status_code == 405


def test_the_catalog_link_is_current_in_the_dashboard_nav(client, shop):
    client.force_login(shop.agent)

    page = client.get(_url("catalog_products", shop)).content.decode()

    assert f'<a href="{_url("catalog_products", shop)}" aria-current="page">' in page


# --- Collections --------------------------------------------------------------------


def _collection_names(shop) -> list[str]:
    return list(
        Collection.objects.filter(business=shop.business)
        .order_by("position", "id")
        .values_list("name", flat=True)
    )


def test_collections_are_created_renamed_and_deleted(client, shop):
    client.force_login(shop.admin)

    response = client.post(_url("catalog_collections", shop), {"name": " Cakes "}, follow=True)
    assert _collection_names(shop) == ["Breads", "Cakes"]
    assert "Collection “Cakes” created." in response.content.decode()

    cakes = Collection.objects.get(business=shop.business, name="Cakes")
    response = client.post(
        _url("catalog_collection_rename", shop, collection_id=cakes.pk),
        {"name": "Cakes & pies"},
        follow=True,
    )
    assert _collection_names(shop) == ["Breads", "Cakes & pies"]
    assert "Collection “Cakes” renamed to “Cakes &amp; pies”." in response.content.decode()

    response = client.post(
        _url("catalog_collection_delete", shop, collection_id=shop.collection.pk), follow=True
    )
    assert _collection_names(shop) == ["Cakes & pies"]
    assert "its products stay in your catalog" in response.content.decode()
    assert Product.objects.filter(pk=shop.product.pk).exists()


def test_collection_errors_show_on_the_form_and_change_nothing(client, shop):
    client.force_login(shop.admin)

    duplicate = client.post(_url("catalog_collections", shop), {"name": "Breads"})
    empty = client.post(_url("catalog_collections", shop), {"name": "  "})
    markup = client.post(_url("catalog_collections", shop), {"name": "<script>x</script>"})

    assert duplicate.status_code == 400
    assert duplicate.context["form"].errors["name"] == [
        "You already have a collection with that name."
    ]
    assert empty.context["form"].errors["name"]
    assert markup.context["form"].errors["name"]
    assert _collection_names(shop) == ["Breads"]


def test_a_rename_error_shows_next_to_that_collection(client, shop):
    services.create_collection(actor=shop.owner, business=shop.business, name="Cakes")
    client.force_login(shop.admin)

    response = client.post(
        _url("catalog_collection_rename", shop, collection_id=shop.collection.pk),
        {"name": "Cakes"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="collection-error-{shop.collection.pk}"' in page
    assert "You already have a collection with that name." in page
    assert _collection_names(shop) == ["Breads", "Cakes"]


def test_collections_move_up_and_down(client, shop):
    for name in ("Cakes", "Drinks"):
        services.create_collection(actor=shop.owner, business=shop.business, name=name)
    drinks = Collection.objects.get(business=shop.business, name="Drinks")
    client.force_login(shop.admin)
    move = _url("catalog_collection_move", shop, collection_id=drinks.pk)

    client.post(move, {"direction": "up"})
    assert _collection_names(shop) == ["Breads", "Drinks", "Cakes"]
    response = client.post(move, {"direction": "up"}, follow=True)
    assert _collection_names(shop) == ["Drinks", "Breads", "Cakes"]
    assert "Collection “Drinks” moved." in response.content.decode()
    client.post(move, {"direction": "up"})  # already first
    assert _collection_names(shop) == ["Drinks", "Breads", "Cakes"]
    client.post(move, {"direction": "down"})
    assert _collection_names(shop) == ["Breads", "Drinks", "Cakes"]
    client.post(move, {"direction": "diagonal"})
    assert _collection_names(shop) == ["Breads", "Drinks", "Cakes"]


def test_the_collections_page_counts_products(client, shop):
    client.force_login(shop.admin)

    page = client.get(_url("catalog_collections", shop)).content.decode()

    assert "1 product" in page


def test_an_htmx_toggle_after_the_session_expired_sends_the_page_to_sign_in(client, shop):
    # given a merchant whose session has ended (an anonymous client)
    url = _url("catalog_product_visible", shop, product_id=shop.product.pk)

    # when the page's HTMX toggle posts
    response = client.post(url, {"on": "0"}, headers={"HX-Request": "true"})

    # then HTMX is told to navigate the whole page to sign-in, not to swap it into the row
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/")
    assert Product.objects.get(pk=shop.product.pk).is_active
