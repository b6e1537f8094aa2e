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


def test_merchants_see_gross_fee_and_net_on_the_balance_and_the_order(
    client, shop, customer, owner
):
    order, _product = shop
    payment = _pay(customer, order, _card(customer))  # 98.00 − 3.91 (3.99 %) = 94.09
    assert (payment.amount, payment.fee) == (9800, 391)
    client.force_login(owner)

    balance = client.get(reverse("balance", args=["padaria-central"])).content.decode()
    assert "R$98.00 paid, less a processing fee of R$3.91" in balance

    page = client.get(reverse("order_detail", args=["padaria-central", order.pk]))
    html = page.content.decode()
    assert 'id="payment-gross">R$98.00<' in html
    assert 'id="payment-fee">− R$3.91<' in html
    assert 'id="payment-net"><strong>R$94.09<' in html
