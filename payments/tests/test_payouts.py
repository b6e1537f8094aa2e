"""Payouts: availability (D+1 debit, D+2 credit), postings, the sandbox bank's
confirmation and failure, pause, minimum, idempotency of the job, withdrawals."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import AppError
from payments import selectors
from payments.models import LedgerAccount, LedgerTransaction, Payout
from payments.services import ledger, payouts, reconciliation
from payments.tests.factories import PIN
from payments.tests.factories import card_for as _card
from payments.tests.factories import pay as _pay
from payments.tests.payout_factories import add_bank, add_pix, credit_wallet

pytestmark = pytest.mark.django_db

DEBIT = "4000056655665556"


def _later(days, minutes=1):
    return timezone.now() + datetime.timedelta(days=days, minutes=minutes)


def _balance(account):
    account.refresh_from_db()
    return account.balance


@pytest.fixture
def paid(shop, customer, owner, business):
    """Carla paid the order with a credit card; the business has a Pix key."""
    order, _product = shop
    payment = _pay(customer, order, _card(customer))
    add_pix(owner, business)
    return payment


def test_credit_card_money_is_paid_out_from_d_plus_2(paid, business):
    net = paid.amount - paid.fee
    (run,) = payouts.run_payouts(now=_later(1))
    assert (run.payout, run.skipped) == (None, "below_minimum")

    (run,) = payouts.run_payouts(now=_later(2))
    payout = run.payout
    assert payout.amount == net and payout.status == "in_transit"
    assert payout.destination_label == "Pix E-mail c•••@padaria.example"
    merchant = ledger.account_for_business(business, "BRL")
    in_transit = ledger.payouts_in_transit_account("BRL")
    assert (_balance(merchant), _balance(in_transit)) == (0, net)
    posting = LedgerTransaction.objects.get(payout=payout)
    assert posting.kind == "payout"
    assert sorted(e.amount for e in posting.entries.all()) == [-net, net]

    assert payouts.process_payout(payout_id=payout.pk) == "paid"
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.bank_reference.startswith("po_sandbox_ok_")
    assert _balance(in_transit) == 0
    assert _balance(ledger.settlement_account("sandbox", "BRL")) == net
    assert reconciliation.run_reconciliation(now=_later(2)).discrepancy_count == 0
    # Processing again changes nothing.
    assert payouts.process_payout(payout_id=payout.pk) == "paid"
    assert LedgerTransaction.objects.filter(payout=payout).count() == 2


def test_debit_card_money_is_paid_out_from_d_plus_1(shop, customer, owner, business):
    order, _product = shop
    payment = _pay(customer, order, _card(customer, DEBIT))
    add_bank(owner, business)
    (run,) = payouts.run_payouts(now=_later(1))
    assert run.payout.amount == payment.amount - payment.fee


def test_pending_money_stays_for_later(paid, business, shop, customer, owner):
    """Only the available part is paid out; what is still pending stays."""
    from catalog.tests.factories import make_product
    from chats.tests.factories import start_chat
    from payments.services import orders

    conversation = start_chat(business, customer)
    product = make_product(owner, business, name="Torta", price=3000, stock=5)
    later_order = orders.create_payment_request(
        actor=owner, conversation=conversation, lines=[{"product_id": product.pk, "quantity": 1}]
    )
    second = _pay(customer, later_order, _card(customer))
    # Move the first payment back two days: it is available, the second is not.
    paid.__class__.objects.filter(pk=paid.pk).update(completed_at=_later(-2, minutes=-1))
    (run,) = payouts.run_payouts()
    assert run.payout.amount == paid.amount - paid.fee
    summary = selectors.balance_summary(business=business, currency="BRL")
    assert summary["available"] == 0
    assert summary["pending_total"] == summary["total"] == second.amount - second.fee


def test_a_failed_payout_is_reversed_with_its_reason(shop, customer, owner, business):
    order, _product = shop
    payment = _pay(customer, order, _card(customer))
    add_pix(owner, business, "email", "fail@padaria.example")
    (run,) = payouts.run_payouts(now=_later(2))
    assert payouts.process_payout(payout_id=run.payout.pk) == "failed"
    payout = Payout.objects.get(pk=run.payout.pk)
    assert payout.failure_code == "pix_key_not_found"
    assert "no account with this Pix key" in payout.failure_message
    net = payment.amount - payment.fee
    assert _balance(ledger.account_for_business(business, "BRL")) == net
    assert _balance(ledger.payouts_in_transit_account("BRL")) == 0
    kinds = set(LedgerTransaction.objects.filter(payout=payout).values_list("kind", flat=True))
    assert kinds == {"payout", "payout_reversal"}
    assert reconciliation.run_reconciliation(now=_later(2)).discrepancy_count == 0
    # The same day, the job does not try again; the next day it does.
    (again,) = payouts.run_payouts(now=_later(2, minutes=2))
    assert again.skipped == "already_paid_out" or again.payout is None
    (next_day,) = payouts.run_payouts(now=_later(3))
    assert next_day.payout.amount == net


def test_a_closed_bank_account_fails(shop, customer, owner, business):
    order, _product = shop
    _pay(customer, order, _card(customer))
    add_bank(owner, business, account_number="99912")
    (run,) = payouts.run_payouts(now=_later(2))
    assert payouts.process_payout(payout_id=run.payout.pk) == "failed"
    assert Payout.objects.get().failure_code == "account_closed"


def test_paused_businesses_are_skipped_with_the_reason(paid, business):
    payouts.set_payouts_paused(business=business, paused=True, reason="Documents under review")
    (run,) = payouts.run_payouts(now=_later(3))
    assert (run.payout, run.skipped) == (None, "paused")
    assert payouts.pause_reason(business) == "Documents under review"
    payouts.set_payouts_paused(business=business, paused=False)
    assert payouts.pause_reason(business) is None
    (run,) = payouts.run_payouts(now=_later(3))
    assert run.payout is not None


def test_no_destination_no_payout(shop, customer, business):
    order, _product = shop
    _pay(customer, order, _card(customer))
    (run,) = payouts.run_payouts(now=_later(3))
    assert run.skipped == "no_destination"
    assert Payout.objects.count() == 0


def test_the_minimum_payout(paid, settings):
    settings.PAYOUT_MINIMUM = paid.amount  # more than the net
    (run,) = payouts.run_payouts(now=_later(3))
    assert run.skipped == "below_minimum"
    settings.PAYOUT_MINIMUM = paid.amount - paid.fee
    (run,) = payouts.run_payouts(now=_later(3))
    assert run.payout is not None


def test_the_job_twice_pays_out_once(paid, business):
    when = _later(3)
    first = payouts.run_payouts(now=when)
    assert first[0].payout is not None
    assert payouts.run_payouts(now=when) == []  # nothing left to pay out
    # Even with money there again the same day, the day's key is taken.
    credit = ledger.post(
        kind="test_credit",
        currency="BRL",
        entries=[
            (ledger.clearing_account("sandbox", "BRL"), -5000),
            (ledger.account_for_business(business, "BRL"), 5000),
        ],
    )
    assert credit.pk
    (again,) = payouts.run_payouts(now=when)
    assert again.skipped == "already_paid_out"
    assert Payout.objects.count() == 1


def test_payouts_only_go_to_the_business_s_own_default(paid, business, other):
    """Another business's destination is never chosen, even if it is its default."""
    add_pix(other.owner, other.business, "email", "vizinha@example.com")
    (run,) = payouts.run_payouts(now=_later(3))
    assert run.payout.destination.business == business


# --- Withdrawals -----------------------------------------------------------------------


@pytest.fixture
def wallet(customer):
    credit_wallet(customer, 5000)
    return add_pix(customer, None, "cpf", "529.982.247-25")


def test_a_user_withdraws_their_wallet(customer, wallet):
    payout = payouts.request_withdrawal(
        user=customer, destination=wallet, amount=3000, idempotency_key="k1", pin=PIN
    )
    assert payout.user == customer and payout.business is None and payout.amount == 3000
    assert selectors.wallet_balance(user=customer) == 2000
    # A replay returns the same payout and moves nothing.
    again = payouts.request_withdrawal(
        user=customer, destination=wallet, amount=3000, idempotency_key="k1", pin="000000"
    )
    assert again.pk == payout.pk and selectors.wallet_balance(user=customer) == 2000
    assert payouts.process_payout(payout_id=payout.pk) == "paid"
    assert list(selectors.list_payouts(user=customer)) == [payout]
    assert reconciliation.run_reconciliation().discrepancy_count == 0


@pytest.mark.parametrize(
    ("amount", "code"),
    [(0, "amount_invalid"), (-5, "amount_invalid"), (10.0, "amount_invalid"),
     (True, "amount_invalid"), (999, "below_minimum"), (5001, "insufficient_balance"),
     (10**13, "amount_invalid")],
)  # fmt: skip
def test_bad_withdrawals_change_nothing(customer, wallet, amount, code):
    with pytest.raises(AppError) as caught:
        payouts.request_withdrawal(
            user=customer, destination=wallet, amount=amount, idempotency_key="k", pin=PIN
        )
    assert caught.value.code == code
    assert Payout.objects.count() == 0 and selectors.wallet_balance(user=customer) == 5000


def test_a_wrong_pin_withdraws_nothing(customer, wallet):
    with pytest.raises(AppError) as caught:
        payouts.request_withdrawal(
            user=customer, destination=wallet, amount=1000, idempotency_key="k", pin="000000"
        )
    assert caught.value.code == "pin_wrong"
    assert Payout.objects.count() == 0


def test_withdrawing_to_someone_else_s_destination_is_not_found(customer, wallet, owner, business):
    theirs = add_pix(owner, business)
    outsider_pix = add_pix(owner, None, "email", "olga@example.com")
    for destination in (theirs, outsider_pix):
        with pytest.raises(AppError) as caught:
            payouts.request_withdrawal(
                user=customer, destination=destination, amount=1000, idempotency_key="k", pin=PIN
            )
        assert caught.value.code == "not_found"
    assert Payout.objects.count() == 0


# --- Concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_job_at_once_pay_out_once(business, owner, customer):
    from catalog.tests.factories import make_product
    from chats.tests.factories import start_chat
    from payments.services import orders

    product = make_product(owner, business, name="Bolo", price=4500, stock=3)
    order = orders.create_payment_request(
        actor=owner,
        conversation=start_chat(business, customer),
        lines=[{"product_id": product.pk, "quantity": 1}],
    )
    _pay(customer, order, _card(customer))
    add_pix(owner, business)
    when = _later(3)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.extend(payouts.run_payouts(now=when))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(1 for run in results if run.payout is not None) == 1
    assert Payout.objects.count() == 1
    merchant = LedgerAccount.objects.get(kind="merchant_payable", business=business)
    assert merchant.balance == 0
    assert reconciliation.run_reconciliation(now=when).discrepancy_count == 0


# --- The real worker -----------------------------------------------------------------------


def test_the_beat_schedule_has_the_payout_and_reconciliation_jobs(settings):
    from config.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["run-payouts"]["task"] == "payments.tasks.run_payouts"
    assert schedule["reconcile"]["task"] == "payments.tasks.reconcile"
    app.loader.import_default_modules()
    for entry in ("run-payouts", "reconcile"):
        assert schedule[entry]["task"] in app.tasks


def test_a_real_worker_confirms_a_withdrawal_and_mails_the_user(celery_worker, settings, customer):
    from tests.celery_fixtures import TASK_TIMEOUT, wait_for

    settings.PAYOUT_CONFIRM_DELAY = 0
    credit_wallet(customer, 5000)
    destination = add_pix(customer, None, "email", "carla@example.com")
    payout = payouts.request_withdrawal(
        user=customer, destination=destination, amount=2000, idempotency_key="w", pin=PIN
    )
    log = lambda: celery_worker.read_text(errors="replace")[-4000:]  # noqa: E731
    paid = lambda: Payout.objects.get(pk=payout.pk).status == "paid"  # noqa: E731
    assert wait_for(paid, TASK_TIMEOUT), log()
    mail_dir = celery_worker.parent / "var" / "mail"
    assert wait_for(lambda: mail_dir.exists() and any(mail_dir.glob("*.log")), TASK_TIMEOUT), log()
    assert _balance(ledger.settlement_account("sandbox", "BRL")) == 2000
