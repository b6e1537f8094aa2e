"""Catalog reads: a business sees only its own rows, a visitor only what is public,
and every read runs a fixed number of queries."""

from types import SimpleNamespace

import pytest
from django.http import Http404

from accounts.models import Business
from catalog import selectors, services
from catalog.tests.factories import make_product
from core.tests.uploads import png_upload

GARBAGE_IDS = ["abc", None, "", "1.5", "1; DROP TABLE catalog_product", "9" * 30, -1]


def make_collection(owner, business, name):
    return services.create_collection(actor=owner, business=business, name=name)


def pks(products) -> list[int]:
    return [p.pk for p in products]


# --- Dashboard lists --------------------------------------------------------------


@pytest.fixture
def catalog(owner, business, other):
    """Four products of ours (one hidden, two in "Breads") and one of the neighbour's."""
    breads = make_collection(owner, business, "Breads")
    cakes = make_collection(owner, business, "Cakes")
    return SimpleNamespace(
        breads=breads,
        cakes=cakes,
        baguette=make_product(
            actor=owner,
            business=business,
            name="Baguette",
            retailer_id="BR-001",
            collection_ids=[breads.pk],
        ),
        brioche=make_product(
            actor=owner,
            business=business,
            name="Brioche",
            retailer_id="BR-002",
            collection_ids=[breads.pk],
            is_active=False,
        ),
        carrot_cake=make_product(
            actor=owner,
            business=business,
            name="Carrot cake",
            retailer_id="CK-001",
            collection_ids=[cakes.pk],
        ),
        coffee=make_product(actor=owner, business=business, name="Coffee", retailer_id="DR-1"),
        theirs=make_product(
            actor=other.owner, business=other.business, name="Baguette", retailer_id="BR-001"
        ),
    )


def test_list_products_for_lists_only_the_business_products_in_order(business, catalog):
    products = selectors.list_products_for(business=business)

    assert pks(products) == pks(
        [catalog.baguette, catalog.brioche, catalog.carrot_cake, catalog.coffee]
    )


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("bag", ["baguette"]),  # name, any case
        ("BAGUETTE", ["baguette"]),
        ("br-00", ["baguette", "brioche"]),  # SKU
        ("CK-001", ["carrot_cake"]),
        ("cake", ["carrot_cake"]),
        ("nothing like it", []),
        ("%", []),  # a LIKE wildcard is just a character
    ],
)
def test_list_products_for_searches_name_and_sku(business, catalog, q, expected):
    products = selectors.list_products_for(business=business, q=q)

    assert pks(products) == [getattr(catalog, name).pk for name in expected]


def test_list_products_for_filters_by_collection_and_visibility(business, other, catalog):
    in_breads = selectors.list_products_for(business=business, collection_id=catalog.breads.pk)
    assert pks(in_breads) == pks([catalog.baguette, catalog.brioche])

    visible_breads = selectors.list_products_for(
        business=business, collection_id=catalog.breads.pk, active=True
    )
    assert pks(visible_breads) == [catalog.baguette.pk]

    hidden = selectors.list_products_for(business=business, active=False)
    assert pks(hidden) == [catalog.brioche.pk]

    combined = selectors.list_products_for(business=business, q="c", active=True)
    assert pks(combined) == pks([catalog.carrot_cake, catalog.coffee])

    # a collection of the business next door finds nothing here
    theirs = make_collection(other.owner, other.business, "Breads")
    assert not selectors.list_products_for(business=business, collection_id=theirs.pk)


def test_list_products_for_runs_three_queries_whatever_the_size(
    owner, business, catalog, django_assert_num_queries
):
    for product in (catalog.baguette, catalog.coffee):
        services.add_product_photos(actor=owner, product=product, uploads=[png_upload()] * 2)

    # products, their photos, their collections
    with django_assert_num_queries(3):
        products = list(selectors.list_products_for(business=business))
        for product in products:
            assert product.cover is None or product.cover.product_id == product.pk
            list(product.collections.all())


# --- Dashboard gets ---------------------------------------------------------------


def test_get_product_for_finds_the_business_product(business, catalog):
    assert selectors.get_product_for(business=business, product_id=catalog.baguette.pk) == (
        catalog.baguette
    )
    # an id as it comes from a URL
    assert selectors.get_product_for(business=business, product_id=str(catalog.coffee.pk)) == (
        catalog.coffee
    )


@pytest.mark.parametrize("product_id", GARBAGE_IDS)
def test_get_product_for_is_404_for_garbage_ids(business, catalog, product_id):
    with pytest.raises(Http404):
        selectors.get_product_for(business=business, product_id=product_id)


def test_get_product_for_is_404_for_another_business_product(business, catalog):
    # the neighbour's product id exists, but not here: "not found", like a missing one
    with pytest.raises(Http404):
        selectors.get_product_for(business=business, product_id=catalog.theirs.pk)


def test_get_photo_for_only_finds_the_product_photos(owner, other, catalog):
    (ours,) = services.add_product_photos(
        actor=owner, product=catalog.baguette, uploads=[png_upload()]
    )
    (sibling,) = services.add_product_photos(
        actor=owner, product=catalog.coffee, uploads=[png_upload()]
    )
    (theirs,) = services.add_product_photos(
        actor=other.owner, product=catalog.theirs, uploads=[png_upload()]
    )

    assert selectors.get_photo_for(product=catalog.baguette, photo_id=str(ours.pk)) == ours
    for photo_id in [sibling.pk, theirs.pk, *GARBAGE_IDS]:
        with pytest.raises(Http404):
            selectors.get_photo_for(product=catalog.baguette, photo_id=photo_id)


def test_get_collection_for_only_finds_the_business_collections(business, other, catalog):
    theirs = make_collection(other.owner, other.business, "Breads")

    found = selectors.get_collection_for(business=business, collection_id=catalog.cakes.pk)
    assert found == catalog.cakes
    for collection_id in [theirs.pk, *GARBAGE_IDS]:
        with pytest.raises(Http404):
            selectors.get_collection_for(business=business, collection_id=collection_id)


# --- The public shop --------------------------------------------------------------


def test_get_shop_sections_in_the_merchants_order(owner, business, other):
    # given collections "Breads", "Cakes" and an empty "Gifts", reordered by the merchant,
    breads = make_collection(owner, business, "Breads")
    cakes = make_collection(owner, business, "Cakes")
    make_collection(owner, business, "Gifts")
    only_hidden = make_collection(owner, business, "Hidden things")
    services.reorder_collections(
        actor=owner,
        business=business,
        collection_ids=[cakes.pk, breads.pk]
        + [c.pk for c in business.collections.exclude(pk__in=[cakes.pk, breads.pk])],
    )
    # products in one collection, in two, in none, and hidden ones
    bread = make_product(actor=owner, business=business, collection_ids=[breads.pk])
    loose_1 = make_product(actor=owner, business=business)
    both = make_product(actor=owner, business=business, collection_ids=[breads.pk, cakes.pk])
    cake = make_product(actor=owner, business=business, collection_ids=[cakes.pk])
    hidden = make_product(
        actor=owner, business=business, collection_ids=[breads.pk, only_hidden.pk]
    )
    services.set_product_active(actor=owner, product=hidden, is_active=False)
    hidden_loose = make_product(actor=owner, business=business, is_active=False)
    loose_2 = make_product(actor=owner, business=business)
    # the merchant puts "both" first inside Breads
    services.reorder_collection_products(
        actor=owner, collection=breads, product_ids=[both.pk, bread.pk, hidden.pk]
    )
    # and the neighbour's shop has its own products
    theirs = make_collection(other.owner, other.business, "Breads")
    make_product(actor=other.owner, business=other.business, collection_ids=[theirs.pk])

    # when the shop is shown
    sections = selectors.get_shop_sections(business=business)

    # then collections come in the merchant's order, with their visible products in the
    # collection's order; empty or all-hidden collections are left out; a product in two
    # collections shows in both; products in no collection come last, in catalog order
    assert [(s.collection, pks(s.products)) for s in sections] == [
        (cakes, [both.pk, cake.pk]),
        (breads, [both.pk, bread.pk]),
        (None, [loose_1.pk, loose_2.pk]),
    ]
    shown = {p.pk for s in sections for p in s.products}
    assert hidden.pk not in shown and hidden_loose.pk not in shown


def test_get_shop_sections_of_an_empty_or_uncollected_shop(owner, business):
    assert selectors.get_shop_sections(business=business) == []

    product = make_product(actor=owner, business=business)
    make_collection(owner, business, "Empty")

    sections = selectors.get_shop_sections(business=business)
    assert [(s.collection, pks(s.products)) for s in sections] == [(None, [product.pk])]


def test_get_shop_sections_runs_three_queries_whatever_the_size(
    owner, business, django_assert_num_queries
):
    collections = [make_collection(owner, business, name) for name in ("A", "B", "C")]
    for i in range(12):
        product = make_product(
            actor=owner, business=business, collection_ids=[c.pk for c in collections[: i % 4]]
        )
        if i % 3 == 0:
            services.add_product_photos(actor=owner, product=product, uploads=[png_upload()])

    # products, their photos, the collection items with their collections
    with django_assert_num_queries(3):
        sections = selectors.get_shop_sections(business=business)
        for section in sections:
            str(section.collection)
            for product in section.products:
                product.cover  # noqa: B018 - touching the prefetched photos

    assert len(sections) == 4


def test_get_public_product_shows_an_active_product_of_an_active_business(
    owner, business, django_assert_num_queries
):
    product = make_product(actor=owner, business=business)
    services.add_product_photos(actor=owner, product=product, uploads=[png_upload()] * 2)

    with django_assert_num_queries(2):
        found = selectors.get_public_product(slug="padaria-central", product_id=str(product.pk))
        assert found.business.name == "Padaria Central"
        assert found.cover is not None

    assert found == product


def test_get_public_product_hides_what_is_not_public(owner, business, other):
    shown = make_product(actor=owner, business=business)
    hidden = make_product(actor=owner, business=business, is_active=False)
    theirs = make_product(actor=other.owner, business=other.business)

    # a hidden product, a product under another shop's address, garbage ids
    for slug, product_id in [
        ("padaria-central", hidden.pk),
        ("padaria-central", theirs.pk),
        ("loja-vizinha", shown.pk),
        ("no-such-shop", shown.pk),
        *[("padaria-central", garbage) for garbage in GARBAGE_IDS],
    ]:
        with pytest.raises(Http404):
            selectors.get_public_product(slug=slug, product_id=product_id)

    # and every product of a business the platform deactivated (a staff action, so
    # there is no merchant-facing service for it)
    Business.objects.filter(pk=business.pk).update(is_active=False)
    with pytest.raises(Http404):
        selectors.get_public_product(slug="padaria-central", product_id=shown.pk)
