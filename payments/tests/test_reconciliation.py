"""Reconciliation finds nothing on good data and each kind of planted discrepancy."""

import contextlib
import datetime
import uuid

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from payments.models import (
    Discrepancy,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    Payout,
    ReconciliationRun,
    Refund,
)
from payments.services import ledger, payouts, reconciliation
from payments.tests.factories import PIN
from payments.tests.factories import card_for as _card
from payments.tests.factories import pay as _pay
from payments.tests.payout_factories import add_pix

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(shop, customer, owner, business):
    """A paid order, a payout in transit and one paid out the day before."""
    order, _product = shop
    payment = _pay(customer, order, _card(customer))
    add_pix(owner, business)
    later = timezone.now() + datetime.timedelta(days=3)
    (run,) = payouts.run_payouts(now=later)
    return payment, run.payout


def _found(**kwargs):
    run = reconciliation.run_reconciliation(**kwargs)
    return [(d.check_name, d.subject, d.detail) for d in run.discrepancies.all()]


def test_good_books_have_no_discrepancies(books):
    run = reconciliation.run_reconciliation()
    assert run.discrepancy_count == 0 and run.finished_at is not None
    assert run.checks == [check.__name__ for check in reconciliation.CHECKS]


@contextlib.contextmanager
def planted():
    """A savepoint rolled back at the end: PostgreSQL's deferred balance trigger fires
    at COMMIT (or when the test case checks constraints at teardown), and rolling the
    savepoint back discards the planted rows with their pending checks."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def test_an_unbalanced_transaction_is_found(books):
    with planted():
        posting = LedgerTransaction.objects.create(kind="planted", currency="BRL")
        revenue = ledger.revenue_account("BRL")
        LedgerEntry.objects.create(transaction=posting, account=revenue, amount=7)
        found = _found()
    assert ("transactions_balance", f"ledger transaction {posting.pk}") in [f[:2] for f in found]


def test_an_entry_in_another_currency_is_found(books):
    with planted():
        posting = LedgerTransaction.objects.create(kind="planted", currency="BRL")
        revenue = ledger.revenue_account("BRL")
        LedgerEntry.objects.create(transaction=posting, account=revenue, amount=5)
        dollars = ledger.revenue_account("USD")
        LedgerEntry.objects.create(transaction=posting, account=dollars, amount=-5)
        details = [f[2] for f in _found() if f[0] == "transactions_balance"]
    assert any("is not in BRL" in d for d in details)


def test_a_wrong_cached_balance_is_found(books):
    LedgerAccount.objects.filter(kind="revenue").update(balance=123456)
    found = _found()
    assert any(f[0] == "cached_balances" and f[1] == "ledger account revenue:BRL" for f in found)


def test_a_succeeded_payment_without_a_posting_is_found(books, customer):
    payment, _payout = books
    ghost = Payment.objects.create(
        payer=customer,
        business=payment.business,
        card=payment.card,
        amount=500,
        currency="BRL",
        status="succeeded",
        confirmation="pin",
        idempotency_key="planted",
        gateway="sandbox",
        gateway_reference="ch_sandbox_nothing",
        completed_at=timezone.now(),
    )
    found = _found()
    subjects = [f[1] for f in found if f[0] == "card_payments"]
    assert subjects.count(f"payment {ghost.pk}") == 2  # no posting, and unknown to the gateway


def test_a_posting_for_a_failed_payment_is_found(books):
    payment, _payout = books
    Payment.objects.filter(pk=payment.pk).update(status="failed")
    found = _found()
    assert (
        "card_payments",
        f"payment {payment.pk}",
        "posted to the ledger but not settled",
    ) in found


def test_a_charge_the_gateway_does_not_know_is_found(books):
    payment, _payout = books
    Payment.objects.filter(pk=payment.pk).update(gateway_reference="ch_sandbox_unknown")
    found = _found()
    assert (
        "card_payments",
        f"payment {payment.pk}",
        "the gateway has no record of its charge",
    ) in found


def test_a_payout_marked_paid_without_its_posting_is_found(books):
    _payment, payout = books
    Payout.objects.filter(pk=payout.pk).update(status="paid")
    found = [f for f in _found() if f[0] == "payouts"]
    assert [f[1] for f in found] == [f"payout {payout.pk}", "payouts in transit BRL"]


def test_an_in_transit_account_off_by_a_posting_is_found(books, business):
    ledger.post(
        kind="planted",
        currency="BRL",
        entries=[
            (ledger.payouts_in_transit_account("BRL"), 10),
            (ledger.revenue_account("BRL"), -10),
        ],
    )
    found = [f for f in _found() if f[0] == "payouts"]
    assert found and found[0][1] == "payouts in transit BRL"


def test_extra_checks_can_be_added(books):
    def check_planted(*, now):
        yield reconciliation.Finding("planted", "thing 1", "always wrong")

    run = reconciliation.run_reconciliation(checks=[*reconciliation.CHECKS, check_planted])
    assert run.discrepancy_count == 1
    assert Discrepancy.objects.get().check_name == "planted"


def test_the_command_prints_every_discrepancy(books, capsys):
    call_command("reconcile")
    assert "0 discrepancies" in capsys.readouterr().out
    LedgerAccount.objects.filter(kind="revenue").update(balance=1)
    with pytest.raises(SystemExit):
        call_command("reconcile")
    out = capsys.readouterr().out
    assert "cached_balances: ledger account revenue:BRL: cached balance 1" in out
    assert ReconciliationRun.objects.count() == 2


# --- Refunds and person-to-person payments ----------------------------------------------


@pytest.fixture
def refunded_and_sent(shop, owner, customer):
    """A paid order half refunded, and 25.00 sent to a friend from a debit card."""
    from accounts.tests.factories import UserFactory
    from chats.services import conversations
    from payments.services import p2p, refunds

    order, _product = shop
    payment = _pay(customer, order, _card(customer))
    refund = refunds.refund_order(
        actor=owner, order=payment.order, amount=payment.amount // 2, reason="One broke",
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    friend = UserFactory(email="bia@example.com")
    direct, _created = conversations.start_direct_conversation(user=customer, peer=friend)
    sent = p2p.send_money(
        payer=customer, conversation=direct, amount=2500, currency="BRL",
        card=_card(customer, "4000056655665556"), confirmation="pin", pin=PIN,
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    return refund, sent


def test_refunds_and_friends_payments_reconcile(refunded_and_sent):
    refund, _sent = refunded_and_sent

    assert Payment.objects.get(pk=refund.payment_id).status == "partially_refunded"
    assert _found() == []


def test_a_failed_refund_without_its_reversal_is_found(refunded_and_sent):
    refund, _sent = refunded_and_sent
    Refund.objects.filter(pk=refund.pk).update(status="failed")

    assert (
        "refunds",
        f"refund {refund.pk}",
        "failed with postings ['refund'], expected ['refund', 'refund_reversal']",
    ) in _found()


def test_a_friends_payment_posted_as_a_card_payment_too_is_found(refunded_and_sent):
    _refund, sent = refunded_and_sent
    with planted():
        LedgerTransaction.objects.create(kind="card_payment", currency="BRL", payment=sent)
        found = _found()

    assert (
        "card_payments",
        f"payment {sent.pk}",
        "settled with 2 payment postings, expected one p2p_payment",
    ) in found
