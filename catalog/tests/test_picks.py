"""The pickers' products are kept per process under the shop's public version: a
catalog write must show at once, and another shop never shares them."""

import pytest

from accounts.selectors import get_business_for
from accounts.services import create_business
from accounts.tests.factories import UserFactory
from catalog import services
from catalog.picks import render_picks
from catalog.selectors import list_picks
from catalog.tests.factories import make_product

pytestmark = pytest.mark.django_db

TEMPLATE = "chats/_product_picks.html"


def _picks(owner, slug):
    business = get_business_for(user=owner, slug=slug)
    products = list_picks(business=business)
    return products, render_picks(TEMPLATE, business=business, products=products)


def test_a_catalog_write_shows_in_the_next_picker(owner, business):
    bread = make_product(owner, business, name="Broa")
    products, html = _picks(owner, business.slug)
    assert [p.name for p in products] == ["Broa"] and "Broa" in html

    services.update_product(actor=owner, product=bread, name="Broa de milho")
    make_product(owner, business, name="Pão de queijo")
    products, html = _picks(owner, business.slug)

    assert {p.name for p in products} == {"Broa de milho", "Pão de queijo"}
    assert "Broa de milho" in html and "Pão de queijo" in html

    services.set_product_active(actor=owner, product=bread, is_active=False)
    products, html = _picks(owner, business.slug)
    assert [p.name for p in products] == ["Pão de queijo"] and "Broa" not in html


def test_each_shop_has_its_own(owner, business):
    make_product(owner, business, name="Broa")
    other_owner = UserFactory(email="other@example.com")
    other = create_business(user=other_owner, name="Outra", slug="outra")
    make_product(other_owner, other, name="Cuca")
    _picks(owner, business.slug)

    products, html = _picks(other_owner, "outra")

    assert [p.name for p in products] == ["Cuca"] and "Broa" not in html
