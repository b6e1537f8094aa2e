"""Every catalog write bumps the business's catalog version, which keys the cached
public pages (``catalog.views``): a write that forgot would leave the shop stale.
The write services are found by looking at ``catalog.services``, so a new one
fails here until it is listed in ``CALLS`` (and bumps the version)."""

import inspect
from types import SimpleNamespace

import pytest
from django.contrib import admin

from accounts import services as account_services
from accounts.models import Business
from accounts.tests.factories import UserFactory
from catalog import services
from catalog.feed import parse_feed
from catalog.models import Product
from catalog.tests.factories import add_photos, feed_file, make_product
from core.errors import AppError


def write_services() -> list[str]:
    """The public functions of ``catalog.services`` that take the acting user."""
    return sorted(
        name
        for name, fn in inspect.getmembers(services, inspect.isfunction)
        if fn.__module__ == services.__name__
        and not name.startswith("_")
        and "actor" in inspect.signature(fn).parameters
    )


def version(business: Business) -> int:
    return Business.objects.values_list("catalog_version", flat=True).get(pk=business.pk)


@pytest.fixture
def shop(owner, business):
    """Two collections; two products in "Breads", the first with two photos."""
    breads = services.create_collection(actor=owner, business=business, name="Breads")
    cakes = services.create_collection(actor=owner, business=business, name="Cakes")
    first = make_product(owner, business, collection_ids=[breads.pk])
    second = make_product(owner, business, collection_ids=[breads.pk])
    return SimpleNamespace(
        owner=owner,
        business=business,
        breads=breads,
        cakes=cakes,
        first=first,
        second=second,
        photos=add_photos(owner, first, 2),
    )


FEED = feed_file("SKU-NEW,Imported bread,12.90 BRL")

# How each write service is called on ``shop``.
CALLS = {
    "create_product": lambda s: make_product(s.owner, s.business),
    "update_product": lambda s: services.update_product(actor=s.owner, product=s.first, price=1290),
    "set_product_active": lambda s: services.set_product_active(
        actor=s.owner, product=s.first, is_active=False
    ),
    "set_product_in_stock": lambda s: services.set_product_in_stock(
        actor=s.owner, product=s.first, in_stock=False
    ),
    "delete_product": lambda s: services.delete_product(actor=s.owner, product=s.second),
    "add_product_photos": lambda s: add_photos(s.owner, s.second),
    "update_photo": lambda s: services.update_photo(
        actor=s.owner, photo=s.photos[0], alt_text="The crust"
    ),
    "delete_photo": lambda s: services.delete_photo(actor=s.owner, photo=s.photos[0]),
    "reorder_photos": lambda s: services.reorder_photos(
        actor=s.owner, product=s.first, photo_ids=[p.pk for p in reversed(s.photos)]
    ),
    "move_photo": lambda s: services.move_photo(actor=s.owner, photo=s.photos[1], offset=-1),
    "create_collection": lambda s: services.create_collection(
        actor=s.owner, business=s.business, name="Gifts"
    ),
    "rename_collection": lambda s: services.rename_collection(
        actor=s.owner, collection=s.breads, name="Loaves"
    ),
    "delete_collection": lambda s: services.delete_collection(actor=s.owner, collection=s.cakes),
    "reorder_collections": lambda s: services.reorder_collections(
        actor=s.owner, business=s.business, collection_ids=[s.cakes.pk, s.breads.pk]
    ),
    "reorder_collection_products": lambda s: services.reorder_collection_products(
        actor=s.owner, collection=s.breads, product_ids=[s.second.pk, s.first.pk]
    ),
    "import_feed": lambda s: services.import_feed(
        actor=s.owner, business=s.business, rows=parse_feed(FEED, currency="BRL").rows
    ),
    "import_feed_file": lambda s: services.import_feed_file(
        actor=s.owner, business=s.business, filename="feed.csv", data=FEED
    ),
}


def test_every_write_service_has_a_call_here():
    assert sorted(CALLS) == write_services()


@pytest.mark.parametrize("name", write_services())
def test_every_catalog_write_bumps_the_version(shop, name):
    # given a shop and its catalog version
    call = CALLS.get(name)
    assert call, f"catalog.services.{name} is new: call bump_catalog_version in it, add it to CALLS"
    before = version(shop.business)

    # when the merchant makes the write
    call(shop)

    # then the version moved on, so no cached page of the old catalog is served
    assert version(shop.business) > before


def test_a_refused_write_leaves_the_version_alone(shop):
    before = version(shop.business)

    with pytest.raises(AppError):
        services.update_product(actor=shop.owner, product=shop.first, price=0)

    assert version(shop.business) == before


def test_a_write_bumps_only_its_own_business(shop, other):
    theirs = version(other.business)

    services.update_product(actor=shop.owner, product=shop.first, price=1290)

    assert version(other.business) == theirs


def test_profile_changes_leave_the_catalog_version_alone(shop):
    # The profile is drawn outside the cached parts; a profile save changes the
    # cache key through updated_at instead (see test_public_pages).
    before = version(shop.business)

    account_services.update_business_profile(
        actor=shop.owner, business=shop.business, name="Padaria Nova", slug="padaria-nova"
    )

    assert version(shop.business) == before


# --- The admin writes rows directly, and bumps too ------------------------------------


@pytest.fixture
def operator(db, client):
    user = UserFactory(email="operator@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_deleting_a_product_in_the_admin_bumps_the_version(client, operator, shop):
    before = version(shop.business)

    response = client.post(f"/admin/catalog/product/{shop.second.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Product.objects.filter(pk=shop.second.pk).exists()
    assert version(shop.business) > before


def test_deleting_products_in_bulk_in_the_admin_bumps_each_business(client, operator, shop, other):
    theirs = make_product(other.owner, other.business)
    before, other_before = version(shop.business), version(other.business)

    response = client.post(
        "/admin/catalog/product/",
        {
            "action": "delete_selected",
            "_selected_action": [shop.second.pk, theirs.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert version(shop.business) > before
    assert version(other.business) > other_before


def test_moving_a_product_to_another_business_in_the_admin_bumps_both(rf, operator, shop, other):
    before, other_before = version(shop.business), version(other.business)
    product = Product.objects.get(pk=shop.second.pk)
    product.business = other.business

    admin.site.get_model_admin(Product).save_model(
        rf.post("/"), product, SimpleNamespace(initial={"business": shop.business.pk}), change=True
    )

    assert version(shop.business) > before
    assert version(other.business) > other_before
