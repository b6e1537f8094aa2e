"""Property: any interleaving of order payments, partial refunds, person-to-person
sends, declines, merchant payouts and wallet withdrawals (paid or failed at the bank)
keeps the books: every posting balances, no payable or wallet goes below zero, cached
balances equal their entries' sums, refunds never exceed their payment and their fee
shares add up, and reconciliation finds nothing.

Each hypothesis example runs through the real services inside one transaction that
is rolled back at its end (the sandbox's cache keeps its charges; every key is new).
"""

import datetime
import uuid

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from chats.services import conversations
from chats.tests.factories import start_chat
from core.errors import AppError
from payments.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    P2PLimits,
    Payment,
    PaymentPin,
    Payout,
    Refund,
)
from payments.payout_bank import TransferResult
from payments.services import ledger, orders, p2p, paying, payouts, pins, reconciliation, refunds
from payments.tests.factories import card_for
from payments.tests.payout_factories import add_pix

FAST_PIN = "481526"


class Rollback(Exception):
    """Ends a hypothesis example, undoing what it wrote."""


@pytest.fixture
def world(owner, business, customer, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    PaymentPin.objects.filter(user=customer).update(pin_hash=pins.hash_pin(FAST_PIN))
    friend = UserFactory(display_name="Bia")
    direct, _created = conversations.start_direct_conversation(user=customer, peer=friend)
    poor = card_for(customer, "4000000000009995")  # declines when charged
    poor_debit = card_for(customer, "4000000000009995")
    poor_debit.funding = "debit"
    poor_debit.save()
    P2PLimits.current()
    pins.set_pin(user=friend, pin=FAST_PIN, pin_again=FAST_PIN)
    return {
        "merchant_pix": add_pix(owner, business),
        "friend_pix": add_pix(friend, None, "email", "bia@example.com"),
        "owner": owner,
        "customer": customer,
        "friend": friend,
        "shop_chat": start_chat(business, customer),
        "direct": direct,
        "credit": card_for(customer),
        "debit": card_for(customer, "4000056655665556"),
        "poor": poor,
        "poor_debit": poor_debit,
        "business": business,
    }


OP = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 200_000), st.booleans()),  # amount, declined
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 120_000)),  # which, amount
    st.tuples(st.just("send"), st.integers(1, 120_000), st.booleans()),  # amount, declined
    # the day the payout job runs (after the payments), and whether the bank pays it
    st.tuples(st.just("payout"), st.integers(3, 30), st.booleans()),
    st.tuples(st.just("withdraw"), st.integers(1, 120_000), st.booleans()),  # amount, paid
)

EXPECTED_REFUSALS = {
    "insufficient_funds",  # a decline
    "refund_too_large",
    "insufficient_balance",
    "not_paid",
    "limit_per_payment",
    "limit_sent_per_month",
    "limit_received_per_day",
    "below_minimum",
}


def _assert_books(world) -> None:
    for posting in LedgerTransaction.objects.prefetch_related("entries"):
        entries = list(posting.entries.all())
        assert entries and sum(e.amount for e in entries) == 0, posting
    for account in LedgerAccount.objects.all():
        total = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == total, account.code
        assert account.is_system or account.balance >= 0, account.code
    for payment in Payment.objects.filter(payee__isnull=True):
        live = payment.refunds.exclude(status=Refund.Status.FAILED)
        refunded = live.aggregate(s=Sum("amount"))["s"] or 0
        assert payment.refunded == refunded <= payment.amount
        fees = live.aggregate(s=Sum("fee"))["s"] or 0
        assert fees <= payment.fee
        if refunded == payment.amount:
            assert fees == payment.fee and payment.status == Payment.Status.REFUNDED
    # one posting per succeeded payment and per live refund, none for a decline
    for payment in Payment.objects.all():
        postings = payment.ledger_transactions.filter(refund__isnull=True).count()
        assert postings == (1 if payment.status in Payment.SETTLED else 0)
    for refund in Refund.objects.all():
        kinds = sorted(refund.ledger_transactions.values_list("kind", flat=True))
        assert kinds == (["refund"] if refund.status == "succeeded" else kinds)
        if refund.status == "succeeded":
            assert refund.gateway_reference
    wallet = ledger.wallet_account(world["friend"], "BRL").balance
    sent = (
        Payment.objects.filter(payee=world["friend"], status="succeeded").aggregate(
            s=Sum("amount")
        )["s"]
        or 0
    )
    withdrawn = (
        Payout.objects.filter(user=world["friend"])
        .exclude(status=Payout.Status.FAILED)
        .aggregate(s=Sum("amount"))["s"]
        or 0
    )
    assert wallet == sent - withdrawn
    run = reconciliation.run_reconciliation()
    assert list(run.discrepancies.values_list("check_name", "subject", "detail")) == []


def _step(world, op, paid_orders) -> None:
    kind, a, b = op
    if kind == "pay":
        order = orders.create_payment_request(
            actor=world["owner"],
            conversation=world["shop_chat"],
            lines=[{"name": "Item", "unit_price": a, "quantity": 1}],
        )
        card = world["poor"] if b else world["credit"]
        paying.pay_order(
            payer=world["customer"], order=order, card=card, confirmation="pin",
            pin=FAST_PIN, idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        paid_orders.append(order)
    elif kind == "refund":
        if not paid_orders:
            return
        order = paid_orders[a % len(paid_orders)]
        refunds.refund_order(
            actor=world["owner"], order=order, amount=b, reason="property",
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
    elif kind == "send":
        card = world["poor_debit"] if b else world["debit"]
        p2p.send_money(
            payer=world["customer"], conversation=world["direct"], amount=a, currency="BRL",
            card=card, confirmation="pin", pin=FAST_PIN, idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
    elif kind == "payout":  # the scheduled job, some days later, then the bank's answer
        now = timezone.now() + datetime.timedelta(days=a)
        for run in payouts.run_payouts(now=now):
            if run.payout is not None:
                _bank_answers(run.payout, paid=b)
    else:  # the friend withdraws part of their wallet to their Pix key
        payout = payouts.request_withdrawal(
            user=world["friend"], destination=world["friend_pix"], amount=a,
            idempotency_key=uuid.uuid4().hex, pin=FAST_PIN,
        )  # fmt: skip
        _bank_answers(payout, paid=b)


def _bank_answers(payout, *, paid: bool) -> None:
    result = TransferResult(
        status="paid" if paid else "failed",
        reference=f"bank-{uuid.uuid4().hex[:12]}",
        failure_code="" if paid else "account_closed",
        failure_message="" if paid else "The account is closed.",
    )
    payouts.settle_payout(payout_id=payout.pk, result=result)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(OP, max_size=10))
def test_any_interleaving_keeps_the_books(world, ops):
    try:
        with transaction.atomic():
            paid_orders: list = []
            for op in ops:
                try:
                    _step(world, op, paid_orders)
                except AppError as exc:
                    assert exc.code in EXPECTED_REFUSALS, (op, exc.code, exc.message)
                _assert_books(world)
            raise Rollback
    except Rollback:
        pass
