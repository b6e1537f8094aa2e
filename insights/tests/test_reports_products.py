"""The Products report: units, net revenue, asked about against bought (docs/insights.md,
"Reports"), sorting, paging, other businesses' products, and the page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import make_product
from insights.models import DailyFigure
from insights.reports import products
from insights.selectors import Period

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
DAY = datetime.date(2026, 11, 2)


def period(business, first=DAY, days=7):
    return Period(first, first + datetime.timedelta(days=days - 1), business.tz)


def figure(business, key, day=DAY, **values):
    return DailyFigure.objects.create(
        business=business, day=day, dim="product", key=str(key), **values
    )


def test_sums_names_and_asked_against_bought(owner, business, other):
    cake = make_product(owner, business, name="Cake")
    bread = make_product(owner, business, name="Bread")
    figure(business, cake.pk, conversations=4, bought=1, paid=2, units=3, gross=3000, fee=120,
           refunds=1000)  # fmt: skip
    figure(business, cake.pk, day=DAY + datetime.timedelta(days=1), conversations=1, bought=1)
    figure(business, cake.pk, day=DAY + datetime.timedelta(days=7), units=50)  # after
    figure(business, bread.pk, paid=1, units=10, gross=5000, fee=200)
    figure(business, "", conversations=9, paid=1, units=1, gross=100, fee=4)  # no product
    figure(other.business, cake.pk, units=99)  # another business's rows are not read
    report = products.products_report(business=business, period=period(business))
    assert [row.label for row in report.rows] == ["Bread", "Cake", "No product"]
    bread_row, cake_row, _none = report.rows
    assert bread_row.figures.net == 4800 and bread_row.asked == 0 and bread_row.conversion is None
    assert (cake_row.asked, cake_row.figures.bought, cake_row.figures.units) == (5, 2, 3)
    assert cake_row.figures.net == 3000 - 120 - 1000 and str(cake_row.conversion) == "40.0"
    assert report.total.units == 14 and report.total.net == 4800 + 1880 + 96


def test_another_business_product_id_and_deleted_products(owner, business, other):
    theirs = make_product(other.owner, other.business, name="Secret recipe")
    figure(business, theirs.pk, units=1, gross=10)  # (cannot happen; never shows their name)
    figure(business, 999_999, units=2, gross=20)
    labels = [
        r.label for r in products.products_report(business=business, period=period(business)).rows
    ]
    assert labels == ["Deleted product", "Deleted product"]


def test_paging_and_all_rows(owner, business):
    for n in range(5):
        figure(business, make_product(owner, business).pk, gross=100 * (n + 1), units=1)
    page = products.products_report(business=business, period=period(business), size=2)
    assert [r.figures.gross for r in page.rows] == [500, 400] and page.has_next
    last = products.products_report(business=business, period=period(business), page=3, size=2)
    assert [r.figures.gross for r in last.rows] == [100] and not last.has_next
    every = products.products_report(business=business, period=period(business), size=None)
    assert len(every.rows) == 5 == every.count


def test_query_count_does_not_depend_on_the_period(owner, business):
    cake = make_product(owner, business)
    for n in range(0, 365, 7):
        figure(business, cake.pk, day=DAY - datetime.timedelta(days=n), units=1)
    counts = []
    for days in (1, 365):
        first = DAY - datetime.timedelta(days=days - 1)
        with CaptureQueriesContext(connection) as captured:
            products.products_report(business=business, period=period(business, first, days))
        counts.append(len(captured))
    assert counts[0] == counts[1] == 2
