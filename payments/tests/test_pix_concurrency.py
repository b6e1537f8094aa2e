"""A Pix callback and a card payment for the same order at the same moment, on
PostgreSQL: exactly one payment, the other side refused or returned, and the books
balance (the one live payment per order, whatever the method)."""

import threading
import time
import uuid

import pytest
from django.db import connection, connections
from django.db.models import Sum

from catalog.tests.factories import make_product
from chats.tests.factories import start_chat
from core.errors import AppError
from payments.models import LedgerAccount, LedgerTransaction, Payment, ReceivedPix
from payments.pix import sandbox
from payments.services import orders, pix
from payments.tests.factories import card_for, pay
from payments.tests.pix_helpers import bank_pays

ROUNDS = 8


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_callback_and_a_card_payment_at_once_pay_once(owner, business, customer, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from payments.models import PaymentPin
    from payments.services import pins

    PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin("481526"))
    product = make_product(owner, business, name="Pão", price=1000, stock=None)
    conversation = start_chat(business, customer)
    card = card_for(customer)
    outcomes = []
    for n in range(ROUNDS):
        order = orders.create_payment_request(
            actor=owner, conversation=conversation,
            lines=[{"product_id": product.pk, "quantity": n + 1}],
        )  # fmt: skip
        charge = pix.start_pix(payer=customer, order=order)
        paid = bank_pays(charge)
        body = sandbox.callback_body([paid])
        stamp = int(time.time())
        headers = {sandbox.SIGNATURE_HEADER: sandbox.sign(body, stamp),
                   sandbox.TIMESTAMP_HEADER: str(stamp)}  # fmt: skip
        barrier, results = threading.Barrier(2), {}

        def by_pix(body=body, headers=headers, results=results, barrier=barrier):
            try:
                barrier.wait()
                [record] = pix.handle_callback(provider="sandbox", body=body, headers=headers)
                results["pix"] = record.anomaly or "paid"
            except Exception as exc:  # reported by the assertions below
                results["pix"] = repr(exc)
            finally:
                connections.close_all()

        def by_card(order=order, results=results, barrier=barrier):
            try:
                barrier.wait()
                results["card"] = pay(customer, order, card, key=uuid.uuid4().hex,
                                      pin="481526").status  # fmt: skip
            except AppError as exc:
                results["card"] = exc.code
            except Exception as exc:  # reported by the assertions below
                results["card"] = repr(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=by_pix), threading.Thread(target=by_card)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes.append(results)
        live = Payment.objects.filter(order=order, status__in=Payment.LIVE)
        assert live.count() == 1, results
        if live.get().method == "pix":
            assert results == {"pix": "paid", "card": results["card"]}, results
            assert results["card"] in {"not_payable", "already_paying"}, results
        else:
            assert results == {"pix": "paid_by_card", "card": "succeeded"}, results
            record = ReceivedPix.objects.get(end_to_end_id=paid.end_to_end_id)
            assert record.refund_status == "returned"
        assert LedgerTransaction.objects.filter(payment__order=order).count() == 1
    for posting in LedgerTransaction.objects.all():
        assert posting.entries.aggregate(total=Sum("amount"))["total"] == 0
    for account in LedgerAccount.objects.all():
        assert account.balance == (account.entries.aggregate(t=Sum("amount"))["t"] or 0)
    assert connection.vendor == "postgresql"
