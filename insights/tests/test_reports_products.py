"""The Products report: units, net revenue, asked about against bought (docs/insights.md,
"Reports"), sorting, paging, other businesses' products, and the page."""

import datetime
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import make_product
from chats.services.conversations import start_conversation_with_message
from insights.models import DailyFigure
from insights.reports import products
from insights.selectors import Period
from insights.services import rollups
from insights.tests.helpers import customer_with_card
from payments.services import orders, paying
from payments.tests.factories import PIN

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
    assert [row.label for row in report.rows] == [
        "Bread",
        "Cake",
        "No product card, or a free amount",
    ]
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


# --- The page ---------------------------------------------------------------------------


def url(business):
    return reverse("insights_products", args=[business.slug])


@pytest.fixture
def sold(owner, business):
    today = timezone.localdate(timezone=business.tz)
    cake = make_product(owner, business, name="@Cake")
    figure(business, cake.pk, day=today, conversations=4, bought=2, paid=2, units=3,
           gross=3000, fee=120)  # fmt: skip
    return cake


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_the_page_for_owners(client, owner, business, sold, language):
    client.force_login(owner)
    response = client.get(url(business), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    page = response.content.decode()
    assert "@Cake" in page and "R$" in page and "50" in page


def test_the_csv(client, owner, business, sold):
    client.force_login(owner)
    response = client.get(url(business), {"format": "csv"}, **EN)
    lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0] == (
        "Product,Asked about,Chats that bought,Conversion,Orders,Units sold,Gross,Fees,Refunds,"
        "Net revenue,currency"
    )
    assert lines[1] == "'@Cake,4,2,50.0,2,3,30.00,1.20,0.00,28.80,BRL"  # formula-safe


def test_agents_outsiders_and_other_businesses_get_404(client, business, agent, outsider, other):
    for user in (agent, outsider, other.owner):
        client.force_login(user)
        assert client.get(url(business)).status_code == 404


@pytest.mark.parametrize(
    "params", [{"page": "x"}, {"page": "500"}, {"range": "custom", "from": "2026", "to": ""}]
)
def test_bad_input_never_a_500(client, owner, business, sold, params):
    client.force_login(owner)
    assert client.get(url(business), params, **EN).status_code == 200


def test_the_page_query_count_is_the_same_for_1_and_365_days(client, owner, business, sold):
    today = timezone.localdate(timezone=business.tz)
    for n in range(1, 365, 5):
        figure(business, make_product(owner, business).pk, day=today - datetime.timedelta(days=n),
               units=1)  # fmt: skip
    client.force_login(owner)
    first = (today - datetime.timedelta(days=364)).isoformat()
    counts = []
    for params in ({"range": "today"}, {"range": "custom", "from": first, "to": today.isoformat()}):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(business), params).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_a_product_asked_about_and_bought_through_the_services(owner, business):
    customer, card = customer_with_card()
    cake = make_product(owner, business, name="Cake", price=2_500)
    start = datetime.datetime.combine(DAY, datetime.time(15), tzinfo=business.tz)
    with time_machine.travel(start, tick=False) as clock:
        conversation, _m = start_conversation_with_message(
            customer=customer, business=business, product_id=cake.pk, body="Is it fresh?"
        )
        clock.shift(datetime.timedelta(minutes=5))
        order = orders.create_payment_request(
            actor=owner, conversation=conversation,
            lines=[{"product_id": cake.pk, "quantity": 2}],
        )  # fmt: skip
        paying.pay_order(
            payer=customer, order=order, card=card, confirmation="pin", pin=PIN,
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        rollups.rebuild(business=business)
    [row] = products.products_report(business=business, period=period(business)).rows
    fee = order.payments.get().fee
    assert row.label == "Cake" and row.asked == 1 and row.figures.bought == 1
    assert (row.figures.paid, row.figures.units, row.figures.gross) == (1, 2, 5_000)
    assert row.figures.net == 5_000 - fee and str(row.conversion) == "100.0"
