"""Whole shop and product pages for visitors without a session (core.pagecache): a hit
reads no database, a write shows at once in this process and within a second in
another, and nothing of one visitor reaches another."""

import datetime
import re
import zoneinfo

import pytest
from django.db.models import F
from django.test import Client

from accounts import services as account_services
from accounts.models import Business
from accounts.selectors import get_public_business_state
from accounts.tests.factories import UserFactory
from catalog import services
from catalog.models import Product
from catalog.tests.test_public_pages import (
    EN,
    QUERY,
    SHOP_CACHED_QUERIES,
    SIGNED_IN_EXTRA,
    card,
    make_catalog,
    product_url,
    shop_url,
)
from core import pagecache
from core.tests.uploads import png_upload

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HX_TOKEN = re.compile(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'')
SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def catalog(owner, business):
    return make_catalog(owner=owner, business=business, size=6)


@pytest.fixture
def clock(monkeypatch):
    """The page cache's clock, moved forward by hand (``clock.advance(seconds)``)."""

    class Clock:
        now = 1000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(pagecache, "_clock", lambda: fake.now)
    return fake


def in_another_process(business: Business, **changes) -> None:
    """A write the way another process (a Celery worker, another web process) makes it:
    in the database only, without telling this process."""
    Business.objects.filter(pk=business.pk).update(catalog_version=F("catalog_version") + 1)
    Product.objects.filter(business=business, retailer_id="SKU-002").update(**changes)


def page(client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


# --- A hit reads nothing ------------------------------------------------------------


@pytest.mark.parametrize("which", ["shop", "product"])
def test_a_second_visit_without_a_session_reads_no_database(
    client, business, catalog, which, django_assert_num_queries
):
    # given a visitor without a session has opened the page
    url = shop_url(business) if which == "shop" else product_url(business, catalog[1])
    first = page(client, url, **EN)

    # when the next one opens it
    with django_assert_num_queries(0):
        second = page(Client(), url, **EN)

    # then it is the same page, but for its own CSRF token
    assert HX_TOKEN.sub("", TOKEN.sub("", second)) == HX_TOKEN.sub("", TOKEN.sub("", first))
    assert "Product 01" in second


def test_the_hit_has_the_headers_of_a_page_drawn_for_the_visitor(client, business, catalog):
    drawn = client.get(shop_url(business) + QUERY, **EN)

    visitor = Client()
    cached = visitor.get(shop_url(business), **EN)
    hit = visitor.get(shop_url(business), **EN)  # with the CSRF cookie: none is set

    for response in (cached, hit):
        for header in (
            "Content-Type",
            "Content-Language",
            "Content-Security-Policy",
            "X-Frame-Options",
            "X-Content-Type-Options",
            "Referrer-Policy",
        ):
            assert response[header] == drawn[header], header
        assert {v.strip() for v in response["Vary"].split(",")} == {"Accept-Language", "Cookie"}
        assert "Cache-Control" not in response and "Cache-Control" not in drawn


# --- Writes show ----------------------------------------------------------------------


def test_a_catalog_write_shows_at_once(client, owner, business, catalog):
    url = product_url(business, catalog[2])
    assert "R$25.90" in page(client, url, **EN)
    assert "R$25.90" in card(page(client, shop_url(business), **EN), "Product 02")

    services.update_product(actor=owner, product=catalog[2], price=9990)

    assert "R$99.90" in page(client, url, **EN)
    assert "R$99.90" in card(page(client, shop_url(business), **EN), "Product 02")


def test_a_write_shows_after_its_commit_even_when_a_reader_raced_it(
    client, owner, business, catalog, django_capture_on_commit_callbacks
):
    # given the shop is cached, and the versions as they are before the write
    page(client, shop_url(business), **EN)
    before = get_public_business_state(slug=business.slug)

    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(actor=owner, product=catalog[2], price=9990)
        # a request on another connection read the versions before the commit
        pagecache.PUBLIC_STATES.get(business.slug, lambda: before)

    # then the commit made this process read them again
    assert "R$99.90" in card(page(client, shop_url(business), **EN), "Product 02")


@pytest.mark.parametrize(
    "change, shows",
    [
        (
            lambda owner, business: account_services.update_business_profile(
                actor=owner, business=business, about="Fresh bread since 1950"
            ),
            lambda text: "Fresh bread since 1950" in text,
        ),
        (
            lambda owner, business: account_services.set_opening_hours(
                actor=owner,
                business=business,
                hours=[(day, datetime.time(6), datetime.time(23, 30)) for day in range(7)],
            ),
            lambda text: "6:00 AM–11:30 PM" in text,
        ),
        (
            lambda owner, business: account_services.set_business_logo(
                actor=owner, business=business, upload=png_upload((64, 64), "logo.png")
            ),
            lambda text: "/media/logos/" in text,
        ),
    ],
    ids=["about", "hours", "logo"],
)
def test_a_profile_change_shows_at_once(client, owner, business, catalog, change, shows):
    assert not shows(page(client, shop_url(business), **EN))

    change(owner, business)

    assert shows(page(client, shop_url(business), **EN))


def test_a_write_in_another_process_shows_within_the_window(client, business, catalog, clock):
    # given this process has served the pages
    url = product_url(business, catalog[2])
    page(client, url, **EN)
    page(client, shop_url(business), **EN)

    # when another process changes the catalog
    in_another_process(business, price=7770)

    # then this process serves the pages it has until its window ends...
    clock.advance(pagecache.STATE_TTL * 0.9)
    assert "R$77.70" not in page(client, url, **EN)
    # ...and the new ones after it
    clock.advance(pagecache.STATE_TTL * 0.2)
    assert "R$77.70" in page(client, url, **EN)
    assert "R$77.70" in card(page(client, shop_url(business), **EN), "Product 02")


def test_a_product_hidden_in_another_process_is_not_found_after_the_window(
    client, business, catalog, clock
):
    url = product_url(business, catalog[2])
    page(client, url)

    in_another_process(business, is_active=False)
    clock.advance(pagecache.STATE_TTL + 0.1)

    assert client.get(url).status_code == 404


def test_a_shop_deactivated_in_another_process_is_not_found_after_the_window(
    client, business, catalog, clock
):
    page(client, shop_url(business))

    Business.objects.filter(pk=business.pk).update(is_active=False)
    clock.advance(pagecache.STATE_TTL + 0.1)

    assert client.get(shop_url(business)).status_code == 404
    assert client.get(product_url(business, catalog[1])).status_code == 404


# --- Open now -----------------------------------------------------------------------


def test_open_now_follows_the_clock_on_a_cached_shop(client, owner, business, monkeypatch):
    # given a shop open 07:00-19:00 on weekdays (2026-11-23 is a Monday)
    account_services.set_opening_hours(
        actor=owner,
        business=business,
        hours=[(day, datetime.time(7), datetime.time(19)) for day in range(5)],
    )
    moment = {"now": datetime.datetime(2026, 11, 23, 18, 59, tzinfo=SAO_PAULO)}
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment["now"])
    assert "Open now" in page(client, shop_url(business), **EN)
    assert "Open now" in page(client, shop_url(business), **EN)  # a hit

    # when it closes, and on the next day
    moment["now"] = datetime.datetime(2026, 11, 23, 19, 0, tzinfo=SAO_PAULO)
    closed = page(client, shop_url(business), **EN)
    moment["now"] = datetime.datetime(2026, 11, 24, 7, 0, tzinfo=SAO_PAULO)
    tuesday = page(client, shop_url(business), **EN)

    # then the page says so, and marks the right day
    assert "Open now" not in closed and "badge-closed" in closed
    assert "Open now" in tuesday
    assert re.search(r'<tr class="today"><th scope="row">Tuesday</th>', tuesday)


# --- Who gets the cached page -----------------------------------------------------------


def test_a_signed_in_visitor_is_not_served_the_anonymous_page(
    client, business, catalog, django_assert_num_queries
):
    page(Client(), shop_url(business), **EN)
    page(Client(), shop_url(business), **EN)
    client.force_login(UserFactory(display_name="Signed Sam", language="en"))

    with django_assert_num_queries(SHOP_CACHED_QUERIES + SIGNED_IN_EXTRA):
        text = page(client, shop_url(business))

    assert "Signed Sam" in text
    assert "Sign in" not in text


def test_an_address_with_a_query_keeps_it_in_the_language_form(client, business, catalog):
    page(client, shop_url(business))

    text = page(client, shop_url(business) + QUERY)

    assert f'name="next" value="{shop_url(business)}{QUERY}"' in text


def test_each_language_has_its_own_page(client, business, catalog):
    assert "Catalog" in page(client, shop_url(business), **EN)

    text = page(client, shop_url(business), HTTP_ACCEPT_LANGUAGE="pt-BR")

    assert "Catálogo" in text and '<html lang="pt-br"' in text


# --- CSRF -----------------------------------------------------------------------------


def test_each_visitor_gets_their_own_csrf_token(business, catalog):
    alice, bob = Client(), Client()

    pages = [page(c, shop_url(business)) for c in (alice, bob, alice)]

    tokens = [TOKEN.findall(text) for text in pages]
    assert all(len(found) == 1 for found in tokens)
    assert [HX_TOKEN.findall(text) for text in pages] == tokens
    assert "csrf-token-of-the-request" not in "".join(pages)
    # a masked token differs on every page; what it unmasks to is the visitor's cookie
    from django.middleware.csrf import _unmask_cipher_token

    secrets = [_unmask_cipher_token(found[0]) for found in tokens]
    assert secrets[0] == secrets[2] == alice.cookies["csrftoken"].value
    assert secrets[1] == bob.cookies["csrftoken"].value != secrets[0]


def test_the_language_form_of_a_cached_page_works_and_a_forged_one_does_not(business, catalog):
    page(Client(), shop_url(business))  # the page is cached
    visitor = Client(enforce_csrf_checks=True)
    token = TOKEN.search(page(visitor, shop_url(business))).group(1)

    changed = visitor.post(
        "/i18n/setlang/",
        {"language": "en", "next": shop_url(business), "csrfmiddlewaretoken": token},
    )
    forged = Client(enforce_csrf_checks=True).post(
        "/i18n/setlang/",
        {"language": "en", "next": shop_url(business), "csrfmiddlewaretoken": token},
    )

    assert changed.status_code == 302
    assert '<html lang="en"' in page(visitor, shop_url(business))
    assert forged.status_code == 403


# --- The memo ---------------------------------------------------------------------------


def test_a_value_loaded_across_a_clear_is_not_kept(clock):
    memo = pagecache.ProcessMemo(ttl=1.0)
    loads = []

    def load_racing_a_write():
        loads.append(1)
        memo.clear()  # a write committed while this value was being read
        return "old"

    assert memo.get("k", load_racing_a_write) == "old"
    assert memo.get("k", lambda: "new") == "new"
    assert memo.get("k", lambda: "newer") == "new"  # kept for the ttl
    clock.advance(1.01)
    assert memo.get("k", lambda: "newest") == "newest"
