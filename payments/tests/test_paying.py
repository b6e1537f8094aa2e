"""Paying an order: confirm, charge once, post, tell the chat."""

import datetime
import threading
import uuid

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import make_product
from chats.models import Message
from chats.tests.factories import start_chat
from core.errors import AppError
from payments.forms.paying import PayForm
from payments.gateway.sandbox import SandboxGateway
from payments.models import Card, LedgerEntry, LedgerTransaction, Order, Payment, PaymentPin
from payments.services import ledger, orders, paying, pins
from payments.tests.factories import PIN
from payments.tests.factories import card_for as _card
from payments.tests.factories import pay as _pay


@pytest.mark.django_db
def test_paying_with_the_pin_charges_posts_and_tells_the_chat(shop, customer, business):
    order, product = shop
    payment = _pay(customer, order, _card(customer))

    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount == order.total == 2 * 4500 + 800
    assert payment.fee == ledger.fee_for(order.total, business.fee_bps) == 391  # 3.99 %
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.PROCESSING and order.paid_at is not None
    assert product.stock == 1
    (posting,) = LedgerTransaction.objects.filter(payment=payment)
    assert sum(e.amount for e in posting.entries.all()) == 0
    payable = ledger.account_for_business(business, "BRL")
    assert payable.balance == order.total - payment.fee
    receipt = Message.objects.get(conversation=order.conversation, kind="payment_receipt")
    assert receipt.payload["payment_id"] == payment.pk
    actions = list(payment.events.values_list("action", flat=True))
    assert actions == ["payment_started", "payment_succeeded"]


@pytest.mark.django_db
def test_a_repeat_of_the_same_attempt_pays_once(shop, customer):
    order, _product = shop
    card = _card(customer)
    key = uuid.uuid4().hex
    first = _pay(customer, order, card, key=key)
    again = _pay(customer, order, card, key=key)
    assert first.pk == again.pk
    assert Payment.objects.count() == 1 and LedgerTransaction.objects.count() == 1
    # A new attempt on a paid order is refused.
    with pytest.raises(AppError) as exc:
        _pay(customer, order, card, key=None)
    assert exc.value.code == "not_payable"


@pytest.mark.django_db
def test_a_decline_posts_nothing_and_another_card_can_pay(shop, customer):
    order, product = shop
    poor = _card(customer, "4000000000009995")
    with pytest.raises(AppError) as exc:
        _pay(customer, order, poor)
    assert exc.value.code == "insufficient_funds"
    assert "insufficient funds" in str(exc.value.message)
    failed = Payment.objects.get()
    assert failed.status == Payment.Status.FAILED
    assert not LedgerEntry.objects.exists()
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.PENDING and product.stock == 3
    payment = _pay(customer, order, _card(customer), key=None)
    assert payment.status == Payment.Status.SUCCEEDED


@pytest.mark.django_db
def test_a_wrong_pin_pays_nothing(shop, customer):
    order, _product = shop
    with pytest.raises(AppError) as exc:
        _pay(customer, order, _card(customer), pin="000001")
    assert exc.value.code == "pin_wrong"
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_only_the_customer_pays_and_with_their_own_card(shop, customer, outsider):
    order, _product = shop
    pins.set_pin(user=outsider, pin=PIN, pin_again=PIN)
    with pytest.raises(AppError) as exc:
        _pay(outsider, order, _card(outsider))
    assert exc.value.code == "not_found"
    with pytest.raises(AppError) as exc:
        _pay(customer, order, _card(outsider, "5555555555554444"))
    assert exc.value.code == "card_invalid"
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_expired_or_out_of_stock_orders_are_not_charged(shop, customer, owner):
    order, product = shop
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    order.refresh_from_db()
    with pytest.raises(AppError) as exc:
        _pay(customer, order, _card(customer))
    assert exc.value.code == "expired"
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    order.refresh_from_db()
    type(product).objects.filter(pk=product.pk).update(stock=1)
    with pytest.raises(AppError) as exc:
        _pay(customer, order, _card(customer, "5555555555554444"), key=None)
    assert exc.value.code == "out_of_stock"
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_three_d_secure_completes_after_the_challenge(shop, customer):
    order, _product = shop
    payment = _pay(customer, order, _card(customer, "4000002760003184"))
    assert payment.status == Payment.Status.PENDING
    url = paying.action_url(payment)
    assert url.startswith("/wallet/sandbox-3ds/")
    # Coming back before answering changes nothing.
    assert paying.resume_payment(payer=customer, payment=payment).status == "pending"
    SandboxGateway().complete_action(reference=payment.gateway_reference, approve=True)
    payment = paying.resume_payment(payer=customer, payment=payment)
    assert payment.status == Payment.Status.SUCCEEDED
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING


@pytest.mark.django_db
def test_the_pay_page_pays_with_the_pin(client, shop, customer):
    order, _product = shop
    card = _card(customer)
    client.force_login(customer)
    page = client.get(reverse("order_review", args=[order.pk]))
    html = page.content.decode()
    assert 'id="pay-form"' in html and "Pay with PIN" in html
    attempt = page.context["pay_form"]["attempt"].value()
    data = {"card": card.pk, "confirmation": "pin", "pin": "000001", "attempt": attempt}
    wrong = client.post(reverse("order_pay", args=[order.pk]), data)
    assert wrong.status_code == 400 and "Wrong PIN" in wrong.content.decode()
    assert PIN not in wrong.content.decode()
    data["pin"] = PIN
    data["attempt"] = uuid.uuid4().hex
    paid = client.post(reverse("order_pay", args=[order.pk]), data)
    assert paid.status_code == 302
    assert paid["Location"] == reverse("chat_thread", args=[order.conversation_id])
    thread = client.get(paid["Location"]).content.decode()
    assert "Payment received" in thread


@pytest.mark.django_db
def test_staff_cannot_pay_and_strangers_get_404(client, shop, owner, outsider):
    order, _product = shop
    for user in (owner, outsider):
        client.force_login(user)
        response = client.post(reverse("order_pay", args=[order.pk]), {"attempt": "x"})
        assert response.status_code == 404
    assert not Payment.objects.exists()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_confirmations_charge_once(shop, customer, settings):
    # A fast hasher for this test only: 50 slow PIN hashes would queue the threads on
    # the GIL for longer than the connection pool lets them wait.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin("481526"))
    order, _product = shop
    card = _card(customer)
    results, barrier, run = [], threading.Barrier(50), uuid.uuid4().hex

    def confirm(n: int) -> None:
        try:
            barrier.wait()
            payment = _pay(customer, order, card, key=f"{run}-tab-{n}", pin="481526")
            results.append(payment.status)
        except AppError as exc:
            results.append(exc.code)
        except Exception as exc:  # reported by the assertion below
            results.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 50 and results.count("succeeded") == 1, results
    assert set(results) <= {"succeeded", "already_paying", "not_payable"}, results
    assert Payment.objects.filter(status="succeeded").count() == 1
    assert LedgerTransaction.objects.count() == 1
    assert connection.vendor == "postgresql"


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_orders_with_ten_concurrent_payers_each(owner, business, customer, settings):
    """20 orders, each confirmed by 10 tabs at once (200 threads, one PostgreSQL
    connection each from the pool): every order is charged once, every charge posted
    once, and the books balance."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin("481526"))
    product = make_product(owner, business, name="Pão", price=1000, stock=None)
    conversation = start_chat(business, customer)
    all_orders = [
        orders.create_payment_request(
            actor=owner,
            conversation=conversation,
            lines=[{"product_id": product.pk, "quantity": n + 1}],
        )
        for n in range(20)
    ]
    card = _card(customer)
    run, results = uuid.uuid4().hex, []
    barrier = threading.Barrier(10)

    def confirm(order, n: int) -> None:
        try:
            barrier.wait()
            payment = _pay(customer, order, card, key=f"{run}-{order.pk}-{n}", pin="481526")
            results.append((order.pk, payment.status))
        except AppError as exc:
            results.append((order.pk, exc.code))
        except Exception as exc:  # reported by the assertions below
            results.append((order.pk, repr(exc)))
        finally:
            connections.close_all()

    for order in all_orders:  # ten tabs at once on each order, order after order
        threads = [threading.Thread(target=confirm, args=(order, n)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 200
    for order in all_orders:
        outcomes = [status for pk, status in results if pk == order.pk]
        assert outcomes.count("succeeded") == 1, outcomes
        assert set(outcomes) <= {"succeeded", "already_paying", "not_payable"}, outcomes
    assert Payment.objects.filter(status="succeeded").count() == 20
    assert LedgerTransaction.objects.count() == 20
    for transaction_ in LedgerTransaction.objects.prefetch_related("entries"):
        assert sum(e.amount for e in transaction_.entries.all()) == 0
    expected = sum(o.total - ledger.fee_for(o.total, business.fee_bps) for o in all_orders)
    assert ledger.account_for_business(business, "BRL").balance == expected


# One payment's cost in queries: every read and write of the pay path, through the
# service and through the pay form (session and user included), once the business
# has been paid before (its ledger accounts and default follow-up rule exist), inside
# the test's transaction (savepoints instead of BEGIN/COMMIT). bench/payments.py
# measures the same path under load; raise these only for a guarantee that needs a
# query. (+3 with issue #18: the order's attribution snapshot, insights' order hook.)
# +1 since #19: insights marks the conversation's report rows stale (one INSERT).
# -1 with #23: the settlement marks the payment succeeded in one conditional UPDATE
# (its lock too) instead of a locked read and an UPDATE.
SERVICE_QUERIES = 44
FORM_QUERIES = 48


def _second_order(owner, shop):
    """Pay the shop's order (the business's first payment), return another one."""
    order, product = shop
    _pay(order.customer, order, _card(order.customer))
    return orders.create_payment_request(
        actor=owner,
        conversation=order.conversation,
        lines=[{"product_id": product.pk, "quantity": 1}, {"name": "Box", "unit_price": 150}],
        shipping=800,
    )


@pytest.mark.django_db
def test_one_payment_through_the_service_costs_a_fixed_number_of_queries(
    owner, shop, customer, django_assert_max_num_queries
):
    order = _second_order(owner, shop)
    card = Card.objects.get(user=customer, is_default=True)
    with django_assert_max_num_queries(SERVICE_QUERIES):
        payment = _pay(customer, order, card)
    assert payment.status == Payment.Status.SUCCEEDED


@pytest.mark.django_db
def test_one_payment_through_the_pay_form_costs_a_fixed_number_of_queries(
    client, owner, shop, customer, django_assert_max_num_queries
):
    order = _second_order(owner, shop)
    card = Card.objects.get(user=customer, is_default=True)
    client.force_login(customer)
    data = {"card": card.pk, "confirmation": "pin", "pin": PIN, "attempt": uuid.uuid4().hex}
    with django_assert_max_num_queries(FORM_QUERIES):
        paid = client.post(reverse("order_pay", args=[order.pk]), data)
    assert paid.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING


def test_the_pay_form_takes_a_fingerprint_answer_only_as_an_object():
    """A malformed, non-object or absurdly nested fingerprint answer is no answer (the
    pay service then refuses the confirmation), never a 500."""

    def answer(raw):
        form = PayForm({"webauthn": raw}, cards=[], attempt="a")
        form.is_valid()
        return form.cleaned_data["webauthn"]

    assert answer('{"id": "x"}') == {"id": "x"}
    assert answer("") is None
    assert answer("[1]") is None
    assert answer("{oops") is None
    assert answer("[" * 19_000) is None
