"""Collected Pix: charges, the provider's callback (replay, wrong amount, unknown txid,
late, double, unsigned, several items), the one live payment per order with cards,
refunds, expiry, reconciliation and the pages (docs/pix.md)."""

import datetime
import re

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import PixMode
from accounts.tests.factories import UserFactory
from chats.models import Message
from core.errors import AppError
from payments.models import (
    LedgerAccount,
    LedgerTransaction,
    Order,
    Payment,
    PixCharge,
    ReceivedPix,
    SandboxPix,
    SandboxPixCharge,
)
from payments.pix import sandbox
from payments.services import pix, reconciliation, refunds
from payments.tests.factories import card_for, pay
from payments.tests.pix_helpers import bank_pays, post_callback, signed_headers

TOTAL = 2 * 4500 + 800


def _books_balance() -> None:
    for posting in LedgerTransaction.objects.all():
        assert posting.entries.aggregate(total=Sum("amount"))["total"] == 0
    for account in LedgerAccount.objects.all():
        assert account.balance == (account.entries.aggregate(t=Sum("amount"))["t"] or 0)


@pytest.fixture
def charge(shop, customer):
    order, _product = shop
    return pix.start_pix(payer=customer, order=order)


# --- Charges ---------------------------------------------------------------------


def test_a_charge_has_a_txid_a_code_and_ends_with_the_request(shop, customer, charge):
    order, _product = shop
    assert re.fullmatch(r"[a-zA-Z0-9]{26,35}", charge.txid)
    assert charge.amount == TOTAL and charge.status == "active"
    assert charge.copy_paste.startswith("000201") and "br.gov.bcb.pix" in charge.copy_paste
    assert "540598.00" in charge.copy_paste  # the amount, field 54
    assert charge.expires_at <= order.expires_at
    remote = SandboxPixCharge.objects.get(txid=charge.txid)
    assert remote.amount == TOTAL and remote.copy_paste == charge.copy_paste
    # Asking again hands out the same charge.
    assert pix.start_pix(payer=customer, order=order).pk == charge.pk
    assert PixCharge.objects.count() == 1


def test_a_charge_never_outlives_the_provider_maximum(shop, customer, settings):
    settings.PIX_CHARGE_MAX_SECONDS = 600
    order, _product = shop
    charge = pix.start_pix(payer=customer, order=order)
    assert charge.expires_at <= timezone.now() + datetime.timedelta(seconds=600)
    remote = SandboxPixCharge.objects.get(txid=charge.txid)
    assert 590 <= remote.expires_in <= 600


def test_only_the_customer_starts_a_charge(shop, client):
    order, _product = shop
    with pytest.raises(AppError) as exc:
        pix.start_pix(payer=UserFactory(), order=order)
    assert exc.value.code == "not_found"
    outsider = UserFactory()
    client.force_login(outsider)
    assert client.post(reverse("order_pix_start", args=[order.pk])).status_code == 404
    assert client.get(reverse("order_pix", args=[order.pk])).status_code == 404
    assert client.get(reverse("order_pix_status", args=[order.pk])).status_code == 404
    assert not PixCharge.objects.exists()


def test_no_collected_charge_for_a_direct_pix_business(shop, customer, business):
    business.pix_mode = PixMode.DIRECT
    business.save(update_fields=["pix_mode"])
    order, _product = shop
    with pytest.raises(AppError) as exc:
        pix.start_pix(payer=customer, order=order)
    assert exc.value.code == "pix_unavailable"
    assert not PixCharge.objects.exists()


def test_an_order_being_paid_by_card_gets_no_charge(shop, customer):
    order, _product = shop
    pay(customer, order, card_for(customer))
    with pytest.raises(AppError) as exc:
        pix.start_pix(payer=customer, order=Order.objects.get(pk=order.pk))
    assert exc.value.code == "not_payable"


# --- The callback ------------------------------------------------------------------


def test_the_callback_pays_the_order_like_a_card(client, shop, charge, business):
    order, product = shop
    paid = bank_pays(charge)
    response = post_callback(client, [paid])
    assert response.status_code == 200, response.content
    payment = Payment.objects.get()
    assert payment.method == "pix" and payment.card is None and payment.status == "succeeded"
    assert payment.gateway == "pix_sandbox" and payment.gateway_reference == paid.end_to_end_id
    assert payment.fee == (TOTAL * business.fee_pix_bps + 5000) // 10000 == 97
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == "processing" and order.paid_at is not None
    assert product.stock == 1
    charge.refresh_from_db()
    assert charge.status == "paid" and charge.payment_id == payment.pk
    posting = LedgerTransaction.objects.get()
    assert posting.kind == "pix_payment" and posting.payment_id == payment.pk
    entries = dict(posting.entries.values_list("account__code", "amount"))
    assert entries == {
        "clearing:pix_sandbox:BRL": -TOTAL,
        f"merchant:{business.pk}:BRL": TOTAL - 97,
        "revenue:BRL": 97,
    }
    _books_balance()
    receipt = Message.objects.get(kind="payment_receipt")
    assert receipt.payload["payment_id"] == payment.pk


def test_a_replayed_callback_changes_nothing(client, shop, charge):
    paid = bank_pays(charge)
    assert post_callback(client, [paid]).status_code == 200
    assert post_callback(client, [paid]).status_code == 200
    assert post_callback(client, [paid, paid]).status_code == 200
    assert Payment.objects.count() == 1 and ReceivedPix.objects.count() == 1
    assert LedgerTransaction.objects.count() == 1
    assert Message.objects.filter(kind="payment_receipt").count() == 1


@pytest.mark.parametrize("how", ["unsigned", "wrong secret", "old timestamp", "other body"])
def test_an_unsigned_or_wrongly_signed_callback_is_401_and_changes_nothing(
    client, shop, charge, how
):
    paid = bank_pays(charge)
    body = sandbox.callback_body([paid])
    url = reverse("pix_callback", args=["sandbox"])
    if how == "unsigned":
        response = client.post(url, data=body, content_type="application/json")
    elif how == "wrong secret":
        response = post_callback(client, [paid], secret_ok=False)
    elif how == "old timestamp":
        response = post_callback(client, [paid], timestamp=int(timezone.now().timestamp()) - 3600)
    else:
        headers = signed_headers(body)
        forged = body.replace(b'"valor": "98.00"', b'"valor": "1.00"')
        response = client.post(url, data=forged, content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "pix_callback_unauthenticated"
    assert not ReceivedPix.objects.exists() and not Payment.objects.exists()
    assert Order.objects.get().status == "pending"


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"pix": []}', b'{"pix": [{"endToEndId": "E1"}]}']
)
def test_a_malformed_signed_callback_is_400(client, db, body):
    response = client.post(
        reverse("pix_callback", args=["sandbox"]),
        data=body,
        content_type="application/json",
        **signed_headers(body),
    )
    assert response.status_code == 400
    assert not ReceivedPix.objects.exists()


def test_the_callback_of_another_provider_is_not_found(client):
    response = client.post(reverse("pix_callback", args=["elsewhere"]), data=b"{}",
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 404


def test_the_callback_is_rate_limited(client, settings, shop, charge):
    settings.PIX_CALLBACK_RATE_LIMIT = "2/m/ip"
    paid = bank_pays(charge)
    codes = [post_callback(client, [paid]).status_code for _n in range(3)]
    assert codes == [200, 200, 429]


def _anomaly(client, rows, kind: str) -> ReceivedPix:
    assert post_callback(client, rows).status_code == 200
    record = ReceivedPix.objects.get(end_to_end_id=rows[-1].end_to_end_id)
    assert record.anomaly == kind and record.payment_id is None
    return record


def _returned(record: ReceivedPix) -> None:
    record.refresh_from_db()
    assert record.refund_status == "returned" and record.refund_reference
    remote = SandboxPix.objects.get(end_to_end_id=record.end_to_end_id)
    assert [(r["amount"], r["status"]) for r in remote.refunds] == [(record.amount, "DEVOLVIDO")]


def test_a_wrong_amount_is_recorded_and_returned_never_paid(client, shop, charge):
    record = _anomaly(client, [bank_pays(charge, amount=TOTAL - 1)], "amount_differs")
    _returned(record)
    assert not Payment.objects.exists() and Order.objects.get().status == "pending"
    assert not LedgerTransaction.objects.exists()


def test_an_unknown_txid_is_recorded_and_returned(client, shop, charge):
    record = _anomaly(client, [bank_pays(charge, txid="Z" * 30)], "unknown_txid")
    _returned(record)
    assert record.charge_id is None and not Payment.objects.exists()


def test_a_late_pix_is_recorded_and_returned(client, shop, charge):
    late = charge.expires_at + datetime.timedelta(seconds=1)
    record = _anomaly(client, [bank_pays(charge, paid_at=late)], "late")
    _returned(record)
    assert Order.objects.get().status == "pending" and not Payment.objects.exists()


def test_a_second_pix_of_a_paid_charge_is_returned(client, shop, charge):
    first, second = bank_pays(charge), bank_pays(charge)
    assert post_callback(client, [first]).status_code == 200
    record = _anomaly(client, [second], "already_paid")
    _returned(record)
    assert Payment.objects.count() == 1 and LedgerTransaction.objects.count() == 1


def test_several_pix_in_one_call(client, shop, charge):
    good, wrong = bank_pays(charge), bank_pays(charge, amount=5)
    response = post_callback(client, [wrong, good])
    assert response.status_code == 200 and response.json() == {"received": 2}
    assert Payment.objects.get().gateway_reference == good.end_to_end_id
    assert ReceivedPix.objects.get(end_to_end_id=wrong.end_to_end_id).anomaly == "amount_differs"


def test_a_pix_for_an_order_paid_by_card_is_returned(client, shop, customer, charge):
    order, _product = shop
    card_payment = pay(customer, order, card_for(customer))
    record = _anomaly(client, [bank_pays(charge)], "paid_by_card")
    _returned(record)
    assert list(Payment.objects.values_list("pk", flat=True)) == [card_payment.pk]
    assert LedgerTransaction.objects.get().kind == "card_payment"
    _books_balance()


def test_a_card_cannot_pay_an_order_paid_by_pix(client, shop, customer, charge):
    order, _product = shop
    assert post_callback(client, [bank_pays(charge)]).status_code == 200
    with pytest.raises(AppError) as exc:
        pay(customer, Order.objects.get(pk=order.pk), card_for(customer))
    assert exc.value.code == "not_payable"
    assert Payment.objects.get().method == "pix"


def test_a_refused_return_is_listed_as_failed(client, shop, charge):
    record = _anomaly(
        client, [bank_pays(charge, amount=sandbox.REFUND_REFUSED_AMOUNT)], "amount_differs"
    )
    record.refresh_from_db()
    assert record.refund_status == "failed"


# --- Expiry --------------------------------------------------------------------------


def test_the_beat_cancels_expired_charges_at_the_provider(shop, charge):
    assert pix.expire_charges() == 0
    later = charge.expires_at + datetime.timedelta(seconds=1)
    assert pix.expire_charges(now=later) == 1
    charge.refresh_from_db()
    assert charge.status == "expired"
    assert SandboxPixCharge.objects.get(txid=charge.txid).status == (
        "REMOVIDA_PELO_USUARIO_RECEBEDOR"
    )
    assert pix.expire_charges(now=later) == 0


# --- Refunds -------------------------------------------------------------------------


@pytest.fixture
def paid_by_pix(client, shop, charge):
    paid = bank_pays(charge)
    assert post_callback(client, [paid]).status_code == 200
    return Order.objects.get(pk=shop[0].pk), paid


def test_a_partial_then_full_refund_goes_back_by_pix(owner, paid_by_pix, business):
    order, paid = paid_by_pix
    first = refunds.refund_order(
        actor=owner, order=order, amount=1000, reason="one cake was broken",
        idempotency_key=refunds.new_refund_key(),
    )  # fmt: skip
    assert first.status == "succeeded" and first.gateway == "pix_sandbox"
    order.refresh_from_db()
    assert order.status == "partially_refunded"
    rest = refunds.refund_order(
        actor=owner, order=order, amount=TOTAL - 1000, reason="the rest",
        idempotency_key=refunds.new_refund_key(),
    )  # fmt: skip
    assert rest.status == "succeeded"
    payment = Payment.objects.get()
    assert payment.status == "refunded" and payment.refunded == TOTAL
    assert first.fee + rest.fee == payment.fee
    remote = SandboxPix.objects.get(pk=paid.pk)
    assert sorted(r["amount"] for r in remote.refunds) == [1000, TOTAL - 1000]
    assert all(r["status"] == "DEVOLVIDO" for r in remote.refunds)
    merchant = LedgerAccount.objects.get(code=f"merchant:{business.pk}:BRL")
    clearing = LedgerAccount.objects.get(code="clearing:pix_sandbox:BRL")
    assert merchant.balance == 0 and clearing.balance == 0
    _books_balance()


def test_a_repeated_refund_key_returns_once(owner, paid_by_pix):
    order, paid = paid_by_pix
    key = refunds.new_refund_key()
    for _n in range(2):
        refunds.refund_order(actor=owner, order=order, amount=500, reason="x", idempotency_key=key)
    assert len(SandboxPix.objects.get(pk=paid.pk).refunds) == 1


def test_a_return_the_provider_refuses_reverses_the_posting(owner, paid_by_pix, business):
    order, _paid = paid_by_pix
    with pytest.raises(AppError) as exc:
        refunds.refund_order(
            actor=owner, order=order, amount=sandbox.REFUND_REFUSED_AMOUNT, reason="x",
            idempotency_key=refunds.new_refund_key(),
        )  # fmt: skip
    assert exc.value.code == "pix_refund_refused"
    assert Payment.objects.get().refunded == 0
    merchant = LedgerAccount.objects.get(code=f"merchant:{business.pk}:BRL")
    assert merchant.balance == TOTAL - 97
    _books_balance()


# --- Reconciliation --------------------------------------------------------------------


def _pix_findings() -> list:
    run = reconciliation.run_reconciliation(checks=[reconciliation.check_pix])
    return list(run.discrepancies.values_list("subject", "detail"))


def test_reconciliation_agrees_after_payments_anomalies_and_refunds(owner, client, paid_by_pix):
    order, _paid = paid_by_pix
    charge = PixCharge.objects.get()
    _anomaly(client, [bank_pays(charge, amount=3)], "already_paid")
    refunds.refund_order(
        actor=owner, order=order, amount=700, reason="x", idempotency_key=refunds.new_refund_key()
    )
    assert _pix_findings() == []


def test_reconciliation_reports_every_difference(client, paid_by_pix):
    _order, paid = paid_by_pix
    charge = PixCharge.objects.get()
    unreported = bank_pays(charge, amount=123)  # the callback never came
    gone = ReceivedPix.objects.create(
        provider="sandbox", end_to_end_id="E" + "9" * 31, txid="", amount=50,
        paid_at=timezone.now(), anomaly="unknown_txid",
    )  # fmt: skip
    SandboxPix.objects.filter(pk=paid.pk).update(
        refunds=[{"id": "X1", "amount": 100, "status": "DEVOLVIDO", "rtr_id": "D1"}]
    )
    found = dict(_pix_findings())
    assert f"Pix {unreported.end_to_end_id}" in found
    assert f"Pix {gone.end_to_end_id}" in found
    assert found[f"Pix {paid.end_to_end_id}"] == "0 returned here, 100 at the provider"
    assert len(found) == 3


# --- Pages ------------------------------------------------------------------------------


def test_the_customer_starts_pix_and_sees_the_qr_code_and_countdown(client, shop, customer):
    order, _product = shop
    client.force_login(customer)
    review = client.get(reverse("order_review", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert b'id="pay-pix"' in review.content
    response = client.post(reverse("order_pix_start", args=[order.pk]))
    assert response.status_code == 302 and response.url == reverse("order_pix", args=[order.pk])
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en")
    charge = PixCharge.objects.get()
    html = page.content.decode()
    assert "<svg" in html and charge.copy_paste in html
    assert 'id="pix-expiry"' in html and 'id="pix-copy"' in html and "98.00" in html
    assert "style=" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    status = client.get(reverse("order_pix_status", args=[order.pk])).json()
    assert status["order"] == "pending" and status["paid"] is False


def test_the_sandbox_bank_shows_the_charge_of_a_pasted_code(client, charge):
    page = client.get(
        reverse("pix_sandbox_bank"), {"code": charge.copy_paste}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page.status_code == 200
    assert b"98.00" in page.content and b"Padaria Central" in page.content
    assert b'id="bank-pay"' in page.content
    bad = client.post(
        reverse("pix_sandbox_bank"), {"code": "000201nonsense", "action": "pay"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert bad.status_code == 400 and b"not a Pix code" in bad.content
    assert not SandboxPix.objects.exists()


def test_the_sandbox_bank_is_not_served_for_a_real_provider(client, settings):
    settings.PIX_PROVIDER = "bacen"
    assert client.get(reverse("pix_sandbox_bank")).status_code == 404


# --- API -----------------------------------------------------------------------------------


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_api_starts_pix_once_per_key_and_reads_its_status(shop, customer, client):
    order, _product = shop
    api = _api(customer)
    url = reverse("api_order_pix", args=[order.pk])
    assert api.get(url).status_code == 404  # no Pix started yet
    assert api.post(url).status_code == 400  # the Idempotency-Key is required
    first = api.post(url, headers={"Idempotency-Key": "k1"})
    again = api.post(url, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    data = first.json()
    assert data["amount"] == TOTAL and data["status"] == "active" and data["copy_paste"]
    assert data["payee_name"] == "Padaria Central" and data["order_status"] == "pending"
    assert PixCharge.objects.count() == 1
    paid = bank_pays(PixCharge.objects.get())
    assert post_callback(client, [paid]).status_code == 200
    read = api.get(url).json()
    assert read["status"] == "paid" and read["order_status"] == "processing"
    payment = _api(customer).get(reverse("api_payment", args=[read["payment_id"]])).json()
    assert payment["method"] == "pix" and payment["card"] is None


def test_the_api_pix_of_someone_else_s_order_is_not_found(shop, owner):
    order, _product = shop
    url = reverse("api_order_pix", args=[order.pk])
    outsider = _api(UserFactory())
    assert outsider.get(url).status_code == 404
    assert outsider.post(url, headers={"Idempotency-Key": "k2"}).status_code == 404
    assert _api(owner).post(url, headers={"Idempotency-Key": "k3"}).status_code == 403
    assert not PixCharge.objects.exists()


def test_a_charge_about_to_expire_is_replaced_by_a_new_one(shop, customer, charge):
    order, _product = shop
    PixCharge.objects.filter(pk=charge.pk).update(
        expires_at=timezone.now() + datetime.timedelta(seconds=30)
    )
    fresh = pix.start_pix(payer=customer, order=order)
    assert fresh.pk != charge.pk and fresh.txid != charge.txid
    charge.refresh_from_db()
    assert charge.status == "expired"
    assert PixCharge.objects.filter(order=order, status="active").get() == fresh


def test_a_start_that_died_before_the_provider_answered_is_finished(shop, customer):
    order, _product = shop
    # A start whose process died after its claim: the row, no code yet.
    stuck = PixCharge.objects.create(
        order=order, business=order.business, customer=customer, provider="sandbox",
        txid="S" * 32, amount=order.total, expires_at=order.expires_at,
    )  # fmt: skip
    again = pix.start_pix(payer=customer, order=order)
    assert again.pk == stuck.pk and again.copy_paste
    assert SandboxPixCharge.objects.get(txid=stuck.txid).copy_paste == again.copy_paste


def test_the_sandbox_sends_a_delivered_pix_once(db, respx_mock):
    # given a sandbox Pix the bank page already delivered, and one it did not
    sent = respx_mock.post("http://testserver/pix/callback/sandbox/pix").respond(200)
    delivered = SandboxPix.objects.create(
        end_to_end_id="E" + "1" * 31, txid="", amount=100, delivered=True
    )
    pending = SandboxPix.objects.create(end_to_end_id="E" + "2" * 31, txid="", amount=100)
    base = "http://testserver/pix/callback/sandbox"

    # when the task delivers both
    assert sandbox.deliver(pix_id=delivered.pk, callback_base=base) == 200
    assert sandbox.deliver(pix_id=pending.pk, callback_base=base) == 200

    # then only the pending one was posted, and it is now delivered
    assert sent.call_count == 1
    assert SandboxPix.objects.get(pk=pending.pk).delivered
