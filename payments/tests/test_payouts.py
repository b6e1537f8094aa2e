"""Payouts: availability (D+1 debit, D+2 credit), postings, the sandbox bank's
confirmation and failure, pause, minimum, idempotency of the job, withdrawals."""

import datetime
import threading
import uuid

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


# --- Property: any interleaving of payments, payouts, failures and withdrawals ----------


class _Rollback(Exception):
    """Ends a hypothesis example, undoing what it wrote."""


@pytest.fixture
def two_payees(db, settings):
    """Two shops with a working and a failing Pix key each, and a customer with a
    PIN (a fast hasher: the property is about the books, not the PIN)."""
    from payments.services import pins
    from payments.tests.test_ledger import make_shop

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    shops = [make_shop(slug="loja-a"), make_shop(slug="loja-b")]
    for shop in shops:
        shop.ok = add_pix(shop.owner, shop.business, "email", "caixa@loja.example")
        shop.failing = add_pix(shop.owner, shop.business, "email", "fail@loja.example")
    friend = shops[0].customer
    pins.set_pin(user=friend, pin=PIN, pin_again=PIN)
    friend_ok = add_pix(friend, None, "email", "ana@example.com")
    friend_failing = add_pix(friend, None, "email", "fail.ana@example.com")
    return shops, friend, (friend_ok, friend_failing)


def _events():
    from hypothesis import strategies as st

    return st.lists(
        st.one_of(
            st.tuples(
                st.just("pay"),
                st.integers(min_value=1, max_value=10**9),
                st.sampled_from(["credit", "debit"]),
                st.integers(min_value=0, max_value=1),
                st.integers(min_value=0, max_value=3),  # days ago
            ),
            st.tuples(st.just("payout"), st.integers(min_value=0, max_value=4)),
            st.tuples(st.just("settle")),
            st.tuples(st.just("switch"), st.integers(min_value=0, max_value=1), st.booleans()),
            st.tuples(st.just("wallet"), st.integers(min_value=1, max_value=10**7)),
            st.tuples(
                st.just("withdraw"), st.integers(min_value=1, max_value=10**7), st.booleans()
            ),
        ),
        max_size=14,
    )


def test_any_interleaving_keeps_the_books(two_payees):
    from django.db import transaction
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings

    from payments.services import destinations
    from payments.tests.test_ledger import assert_books_balance, make_payment

    shops, friend, (friend_ok, friend_failing) = two_payees
    base = timezone.now()
    checks = [
        reconciliation.check_transactions_balance,
        reconciliation.check_cached_balances,
        reconciliation.check_payouts,
    ]

    @hsettings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(events=_events())
    def run(events):
        try:
            with transaction.atomic():
                for event in events:
                    kind = event[0]
                    if kind == "pay":
                        _kind, amount, funding, which, days_ago = event
                        payment = make_payment(shops[which], amount=amount)
                        payment.status = "succeeded"
                        payment.funding = funding
                        payment.completed_at = base - datetime.timedelta(days=days_ago)
                        payment.save(update_fields=["funding", "completed_at"])
                        ledger.post_card_payment(payment=payment)
                    elif kind == "payout":
                        payouts.run_payouts(now=base + datetime.timedelta(days=event[1]))
                    elif kind == "settle":
                        for payout_id in Payout.objects.filter(status="in_transit").values_list(
                            "pk", flat=True
                        ):
                            payouts.process_payout(payout_id=payout_id)
                    elif kind == "switch":
                        shop = shops[event[1]]
                        target = shop.failing if event[2] else shop.ok
                        destinations.set_default_destination(
                            actor=shop.owner, business=shop.business, destination=target
                        )
                    elif kind == "wallet":
                        credit_wallet(friend, event[1])
                    else:
                        _kind, amount, failing = event
                        try:
                            payouts.request_withdrawal(
                                user=friend,
                                destination=friend_failing if failing else friend_ok,
                                amount=amount,
                                idempotency_key=uuid.uuid4().hex,
                                pin=PIN,
                            )
                        except AppError as exc:
                            assert exc.code in {"insufficient_balance", "below_minimum"}
                    assert not LedgerAccount.objects.filter(is_system=False, balance__lt=0).exists()
                    for shop in shops:
                        summary = selectors.balance_summary(
                            business=shop.business, currency="BRL", now=base
                        )
                        assert summary["available"] >= 0
                assert_books_balance()
                found = reconciliation.run_reconciliation(checks=checks, now=base)
                assert found.discrepancy_count == 0, list(
                    found.discrepancies.values_list("detail", flat=True)
                )
                # Money out never exceeds money in: paid and in transit ≤ what was credited.
                for shop in shops:
                    merchant = ledger.account_for_business(shop.business, "BRL")
                    out = sum(
                        Payout.objects.filter(
                            business=shop.business, status__in=["paid", "in_transit"]
                        ).values_list("amount", flat=True)
                    )
                    credited = sum(
                        p.amount - p.fee for p in shop.business.payments.filter(status="succeeded")
                    )
                    assert _balance(merchant) + out == credited
                raise _Rollback
        except _Rollback:
            pass

    run()
