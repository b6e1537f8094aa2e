"""Refunds: who may refund, how much, the fee's share, the posting, the chat card."""

import uuid

import pytest
from django.db.models import Sum

from chats.models import Message
from core.errors import AppError
from payments.gateway.sandbox import SandboxGateway
from payments.models import AuditEvent, LedgerEntry, LedgerTransaction, Order, Payment, Refund
from payments.services import ledger, refunds
from payments.tests.factories import card_for, pay

pytestmark = pytest.mark.django_db


def _refund(actor, order, amount, reason="Out of stock", key=None):
    return refunds.refund_order(
        actor=actor, order=order, amount=amount, reason=reason,
        idempotency_key=key or uuid.uuid4().hex,
    )  # fmt: skip


@pytest.fixture
def paid(shop, customer):
    """Carla paid the 98.00 order (fee 3.91)."""
    order, _product = shop
    payment = pay(customer, order, card_for(customer))
    order.refresh_from_db()
    return order, payment


def _assert_books_balance():
    for posting in LedgerTransaction.objects.prefetch_related("entries"):
        assert sum(e.amount for e in posting.entries.all()) == 0
    for account in ledger.LedgerAccount.objects.all():
        total = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == total, account.code


# --- The fee's share ------------------------------------------------------------------


def test_fee_share_is_proportional_rounded_half_up_and_the_last_takes_the_remainder():
    # given a payment of 9800 with a fee of 391, refunded in three parts
    common = {"fee": 391, "total": 9800}
    first = refunds.fee_share(**common, refunded_before=0, fee_before=0, amount=4900)
    second = refunds.fee_share(**common, refunded_before=4900, fee_before=first, amount=3333)
    last = refunds.fee_share(**common, refunded_before=8233, fee_before=first + second, amount=1567)
    # then each share is its proportion (half up) and they add up to the fee exactly
    assert first == 196  # 195.5 → 196
    assert second == (2 * 391 * 8233 + 9800) // (2 * 9800) - first
    assert first + second + last == 391


def test_fee_shares_of_many_small_refunds_add_up_exactly():
    fee, total, before, fee_before = 40, 100, 0, 0
    for _n in range(100):
        share = refunds.fee_share(
            fee=fee, total=total, refunded_before=before, fee_before=fee_before, amount=1
        )
        assert 0 <= share <= 1
        before, fee_before = before + 1, fee_before + share
    assert fee_before == fee


# --- Refunding --------------------------------------------------------------------------


def test_a_half_refund_posts_returns_the_fee_share_and_tells_the_chat(paid, owner, business):
    # given a paid order of 98.00 (merchant credited 94.09)
    order, payment = paid
    # when the owner refunds half of it
    refund = _refund(owner, order, 4900)
    # then the refund succeeded with a gateway id and half the fee back
    assert refund.status == Refund.Status.SUCCEEDED and refund.gateway_reference.startswith("re_")
    assert refund.fee == 196
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED and payment.refunded == 4900
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    (posting,) = LedgerTransaction.objects.filter(refund=refund)
    amounts = {e.account.code: e.amount for e in posting.entries.select_related("account")}
    assert amounts == {
        f"merchant:{business.pk}:BRL": -(4900 - 196),
        "revenue:BRL": -196,
        "clearing:sandbox:BRL": 4900,
    }
    assert ledger.account_for_business(business, "BRL").balance == 9800 - 391 - 4704
    card = Message.objects.get(conversation=order.conversation, kind="refund")
    assert card.payload["refund_id"] == refund.pk
    actions = list(AuditEvent.objects.filter(payment=payment).values_list("action", flat=True))
    assert "refund_started" in actions and "refund_succeeded" in actions
    _assert_books_balance()


def test_two_partial_refunds_complete_the_payment_and_sum_exactly(paid, admin, business):
    order, payment = paid
    _refund(admin, order, 3333)
    _refund(admin, order, 9800 - 3333)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED and payment.refunded == 9800
    assert order.status == Order.Status.REFUNDED
    assert sum(r.fee for r in Refund.objects.all()) == payment.fee
    # the merchant gave back exactly what it had been credited
    assert ledger.account_for_business(business, "BRL").balance == 0
    assert ledger.revenue_account("BRL").balance == 0
    assert ledger.clearing_account("sandbox", "BRL").balance == 0
    _assert_books_balance()


def test_a_refund_above_what_is_left_is_refused(paid, owner):
    order, _payment = paid
    _refund(owner, order, 9000)
    with pytest.raises(AppError) as caught:
        _refund(owner, order, 801)
    assert caught.value.code == "refund_too_large" and "8,00" in str(caught.value.message).replace(
        ".", ","
    )
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("amount", [0, -1, 1.5, "100", True, None, 10**13])
def test_bad_amounts_are_refused_and_change_nothing(paid, owner, amount):
    order, _payment = paid
    with pytest.raises(AppError):
        _refund(owner, order, amount)
    assert not Refund.objects.exists()


def test_a_reason_is_required(paid, owner):
    order, _payment = paid
    with pytest.raises(AppError) as caught:
        _refund(owner, order, 100, reason="  ")
    assert caught.value.code == "reason_missing"


def test_an_agent_cannot_refund(paid, agent):
    order, _payment = paid
    with pytest.raises(AppError) as caught:
        _refund(agent, order, 100)
    assert caught.value.code == "forbidden"
    assert not Refund.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "customer", "other_owner"])
def test_outsiders_get_not_found(paid, who, outsider, customer, other):
    order, _payment = paid
    actor = {"outsider": outsider, "customer": customer, "other_owner": other.owner}[who]
    with pytest.raises(AppError) as caught:
        _refund(actor, order, 100)
    assert caught.value.code == "not_found" and caught.value.status_code == 404


def test_an_unpaid_order_cannot_be_refunded(shop, owner):
    order, _product = shop
    with pytest.raises(AppError) as caught:
        _refund(owner, order, 100)
    assert caught.value.code == "not_paid"


def test_a_repeat_with_the_same_key_refunds_once(paid, owner):
    order, _payment = paid
    key = uuid.uuid4().hex
    first = _refund(owner, order, 1000, key=key)
    again = _refund(owner, order, 1000, key=key)
    assert first.pk == again.pk
    assert Refund.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1


def test_a_balance_too_low_is_refused_with_a_clear_message(paid, owner, business):
    # given the merchant's balance was already paid out (a posting part A will make)
    order, payment = paid
    payable = ledger.account_for_business(business, "BRL")
    ledger.post(
        kind="test_payout",
        currency="BRL",
        entries=[
            (payable, -payable.balance),
            (ledger.clearing_account("bank", "BRL"), payable.balance),
        ],
    )
    # when the owner refunds
    with pytest.raises(AppError) as caught:
        _refund(owner, order, 1000)
    # then it is refused before the gateway is called, and nothing changed
    assert caught.value.code == "insufficient_balance"
    assert "cannot cover this refund" in str(caught.value.message)
    payment.refresh_from_db()
    assert payment.refunded == 0 and not Refund.objects.exists()
    assert ledger.account_for_business(business, "BRL").balance == 0


def test_a_gateway_refusal_fails_the_refund_and_reverses_the_posting(
    paid, owner, business, monkeypatch
):
    order, payment = paid

    def refuse(self, **kwargs):
        raise AppError("This charge cannot be refunded.", code="refund_invalid")

    monkeypatch.setattr(SandboxGateway, "refund", refuse)
    with pytest.raises(AppError) as caught:
        _refund(owner, order, 1000)
    assert caught.value.code == "refund_invalid"
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.FAILED and refund.gateway_reference == ""
    kinds = sorted(LedgerTransaction.objects.filter(refund=refund).values_list("kind", flat=True))
    assert kinds == ["refund", "refund_reversal"]
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.refunded == 0 and payment.status == Payment.Status.SUCCEEDED
    assert order.status == Order.Status.PROCESSING
    assert ledger.account_for_business(business, "BRL").balance == 9800 - 391
    _assert_books_balance()
    # and the full amount can still be refunded
    monkeypatch.undo()
    _refund(owner, order, 9800)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED


def test_an_unreachable_gateway_leaves_the_refund_pending_until_retried(paid, owner, monkeypatch):
    order, payment = paid
    real = SandboxGateway.refund

    def down(self, **kwargs):
        raise AppError("The payment service is unavailable.", code="gateway_unavailable")

    monkeypatch.setattr(SandboxGateway, "refund", down)
    refund = _refund(owner, order, 2000)
    assert refund.status == Refund.Status.PENDING
    payment.refresh_from_db()
    assert payment.refunded == 2000  # reserved: no other refund can take it
    monkeypatch.setattr(SandboxGateway, "refund", real)
    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at.replace(year=2020))
    assert refunds.retry_pending_refunds() == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert LedgerTransaction.objects.filter(refund=refund).count() == 1


def test_the_order_can_still_ship_after_a_partial_refund(paid, owner):
    from payments.services import orders

    order, _payment = paid
    _refund(owner, order, 100)
    order.refresh_from_db()
    orders.transition_order(order=order, to=Order.Status.SHIPPED, actor=owner)
    _refund(owner, order, 100)
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
