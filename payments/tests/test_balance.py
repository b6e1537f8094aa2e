import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from payments import selectors
from payments.models import Payment
from payments.tests.factories import card_for as _card
from payments.tests.factories import pay as _pay

pytestmark = pytest.mark.django_db


def test_a_paid_order_is_pending_until_d_plus_2_then_available(shop, customer, business):
    order, _product = shop
    payment = _pay(customer, order, _card(customer))  # 4242: a credit card
    net = payment.amount - payment.fee

    summary = selectors.balance_summary(business=business, currency="BRL")
    assert (summary["total"], summary["pending_total"], summary["available"]) == (net, net, 0)
    ((day, amount),) = summary["pending"]
    assert amount == net
    assert day == timezone.localtime(payment.completed_at, business.tz).date() + datetime.timedelta(
        days=2
    )

    later = timezone.now() + datetime.timedelta(days=2, minutes=1)
    summary = selectors.balance_summary(business=business, currency="BRL", now=later)
    assert (summary["available"], summary["pending"]) == (net, [])


def test_debit_cards_are_available_the_next_day(shop, customer, business):
    order, _product = shop
    payment = _pay(customer, order, _card(customer, "4000056655665556"))
    assert payment.funding == "debit"
    later = timezone.now() + datetime.timedelta(days=1, minutes=1)
    summary = selectors.balance_summary(business=business, currency="BRL", now=later)
    assert summary["available"] == payment.amount - payment.fee


def test_the_balance_page_for_admins_only(client, shop, customer, owner, agent, outsider, other):
    order, _product = shop
    _pay(customer, order, _card(customer))
    url = reverse("balance", args=["padaria-central"])
    client.force_login(owner)
    html = client.get(url).content.decode()
    assert 'id="balance-pending"' in html and f"#{order.number}" in html
    for someone in (agent, outsider, other.owner):
        client.force_login(someone)
        assert client.get(url).status_code == 404
    assert Payment.objects.count() == 1
