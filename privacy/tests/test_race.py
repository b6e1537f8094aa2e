"""A deletion racing a payment (PostgreSQL, two threads, each its own connection):
either the payment completes and the deletion is refused, or the deletion completes
and the payment fails cleanly — never a paid order without its ledger posting."""

import threading

import pytest
from django.db import transaction

from accounts.models import User
from core.errors import AppError
from core.tests.threads import WAIT, in_thread
from payments.models import LedgerTransaction, Order, Payment
from payments.services import reconciliation
from payments.tests.factories import PIN, pay, sale_in_chat
from privacy.services import erasure


def _customer_with_order(owner, business):
    sale = sale_in_chat(owner, business)
    sale.customer.set_password("password")
    sale.customer.save(update_fields=["password"])
    return sale


def _check_books(order_pk: int) -> str:
    order = Order.objects.get(pk=order_pk)
    paid = Payment.objects.filter(order_id=order_pk, status="succeeded")
    if order.status == "processing":
        assert paid.count() == 1
        assert LedgerTransaction.objects.filter(payment=paid.get()).count() == 1
        return "paid"
    assert not paid.exists() and order.status == "canceled"
    assert not LedgerTransaction.objects.filter(payment__order_id=order_pk).exists()
    return "deleted"


@pytest.mark.django_db
def test_deleting_first_makes_the_payment_fail_cleanly(owner, business):
    sale = _customer_with_order(owner, business)
    erasure.delete_account(user=sale.customer, password="password", pin=PIN)
    customer = User.objects.get(pk=sale.customer.pk)
    with pytest.raises(AppError):
        pay(customer, Order.objects.get(pk=sale.order.pk), sale.card)
    assert _check_books(sale.order.pk) == "deleted"


@pytest.mark.django_db
def test_paying_first_refuses_the_deletion(owner, business):
    sale = _customer_with_order(owner, business)
    pay(sale.customer, sale.order, sale.card)
    with pytest.raises(AppError) as refused:
        erasure.delete_account(user=sale.customer, password="password", pin=PIN)
    assert refused.value.code == "order_in_progress"
    assert _check_books(sale.order.pk) == "paid"


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_a_deletion_racing_a_payment(owner, business, round_):
    sale = _customer_with_order(owner, business)
    start, outcome = threading.Barrier(2, timeout=WAIT), {}

    def delete():
        start.wait()
        erasure.delete_account(user=sale.customer, password="password", pin=PIN)

    def payment():
        start.wait()
        pay(sale.customer, sale.order, sale.card)

    threads = [in_thread(delete, outcome, "delete"), in_thread(payment, outcome, "pay")]
    for thread in threads:
        thread.join(6 * WAIT)

    result = _check_books(sale.order.pk)
    if result == "paid":
        assert outcome["pay"] == "ok"
        assert "AppError" in outcome["delete"]
        assert User.objects.get(pk=sale.customer.pk).is_active
    else:
        assert outcome["delete"] == "ok"
        assert "AppError" in outcome["pay"]
        assert not User.objects.get(pk=sale.customer.pk).is_active
    with transaction.atomic():
        run = reconciliation.run_reconciliation()
    assert run.discrepancy_count == 0
