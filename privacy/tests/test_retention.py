"""The retention job (docs/privacy.md, "Retention"): after the retention period an
erased person's orders (card and Pix, refunded), transfers, money requests and
withdrawals are deleted with everything hanging on them; the ledger's deleted
postings become one summary posting, so every balance stays exactly as it was and
the books still balance; a live customer's records, a live friend's transfers, a
recently erased person's records and the business's payouts stay; a second run
changes nothing. On PostgreSQL the append-only guards still refuse a plain DELETE or
UPDATE outside the job."""

import datetime
import uuid

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.tests.factories import start_chat
from insights.models import OrderAttribution
from marketing.models import SatisfactionRating
from payments.models import (
    AuditEvent,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    MoneyRequest,
    Order,
    OrderItem,
    Payment,
    Payout,
    PixCharge,
    ReceivedPix,
    Refund,
)
from payments.payout_bank import TransferResult
from payments.services import destinations, ledger, orders, p2p, payouts, pins, pix, reconciliation
from payments.services import refunds as refund_services
from payments.tests.factories import PIN, card_for, pay
from payments.tests.payout_factories import add_pix
from payments.tests.pix_helpers import bank_pays, post_callback
from privacy.services import erasure, retention

pytestmark = pytest.mark.django_db

LEDGER_CHECKS = [
    reconciliation.check_transactions_balance,
    reconciliation.check_cached_balances,
    reconciliation.check_card_payments,
    reconciliation.check_refunds,
    reconciliation.check_payouts,
]


def _balances() -> dict[str, int]:
    return dict(LedgerAccount.objects.values_list("code", "balance"))


def _sums() -> dict[str, int]:
    totals = {code: 0 for code in LedgerAccount.objects.values_list("code", flat=True)}
    for code, amount in LedgerEntry.objects.values_list("account__code", "amount"):
        totals[code] += amount
    return totals


def _run(**kwargs) -> int:
    """The job, then (PostgreSQL) the commit's deferred checks: every posting that got
    entries sums to zero in its currency (the test's transaction never commits)."""
    deleted = retention.apply_retention(**kwargs)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return deleted


def _findings() -> list:
    now = timezone.now()
    return [finding for check in LEDGER_CHECKS for finding in check(now=now)]


def _records_of(user) -> dict[str, int]:
    mine = Q(payer=user) | Q(payee=user)
    return {
        "orders": Order.objects.filter(customer=user).count(),
        "payments": Payment.objects.filter(mine).count(),
        "refunds": Refund.objects.filter(order__customer=user).count(),
        "audit": AuditEvent.objects.filter(
            Q(order__customer=user) | Q(payment__payer=user) | Q(payment__payee=user)
        ).count(),
        "postings": LedgerTransaction.objects.filter(
            Q(payment__payer=user) | Q(payment__payee=user) | Q(payout__user=user)
        ).count(),
        "payouts": Payout.objects.filter(user=user).count(),
        "money_requests": MoneyRequest.objects.filter(Q(requester=user) | Q(payer=user)).count(),
        "pix": PixCharge.objects.filter(customer=user).count(),
    }


def _erase(user) -> None:
    user.set_password("password")
    user.save(update_fields=["password"])
    erasure.delete_account(user=user, password="password", pin=PIN)


def _withdraw_all(user) -> None:
    wallet = LedgerAccount.objects.get(user=user, kind=LedgerAccount.Kind.USER_WALLET)
    destination = destinations.add_destination(
        actor=user, kind="pix", data={"pix_key_type": "random", "pix_key": str(uuid.uuid4())}
    )
    payout = payouts.request_withdrawal(
        user=user, destination=destination, amount=wallet.balance,
        idempotency_key=uuid.uuid4().hex, pin=PIN,
    )  # fmt: skip
    payouts.settle_payout(payout_id=payout.pk, result=TransferResult(status="paid", reference="b"))


def _paid_order(owner, business, customer, price=3000):
    product = make_product(owner, business, name=f"Bolo {price}", price=price, stock=5)
    order = orders.create_payment_request(
        actor=owner, conversation=start_chat(business, customer), lines=[{"product_id": product.pk}]
    )
    pay(customer, order, card_for(customer))
    orders.transition_order(order=order, to="completed", actor=owner)
    return order


@pytest.fixture
def books(person, owner, business, client):
    """Zephyrine (``person``: a card order, rated; transfers both ways with a friend;
    a withdrawal) also paid an order by Pix, had part of her card order refunded, and
    paid a money request of her friend; a live customer bought too; the business was
    paid out; then Zephyrine deleted her account. Her friend has not."""
    z, friend = person.user, person.friend
    refund_services.refund_order(
        actor=owner, order=person.order, amount=1000, reason="One was broken",
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    product = make_product(owner, business, name="Pix cake", price=2000, stock=5)
    pix_order = orders.create_payment_request(
        actor=owner, conversation=person.conversation, lines=[{"product_id": product.pk}]
    )
    charge = pix.start_pix(payer=z, order=pix_order)
    assert post_callback(client, [bank_pays(charge)]).status_code == 200
    orders.transition_order(order=pix_order, to="completed", actor=owner)
    request = p2p.request_money(
        requester=friend, conversation=person.direct, amount=700, currency="BRL", note="cinema"
    )
    p2p.send_money(
        payer=z, conversation=person.direct, amount=700, currency="BRL", card=person.debit,
        confirmation="pin", pin=PIN, idempotency_key=uuid.uuid4().hex, money_request=request,
    )  # fmt: skip

    live = UserFactory(email="live@example.org", display_name="Live Customer")
    pins.set_pin(user=live, pin=PIN, pin_again=PIN)
    live_order = _paid_order(owner, business, live)

    add_pix(owner, business)
    run = payouts.create_business_payout(
        business=business, now=timezone.now() + datetime.timedelta(days=3)
    )
    payouts.settle_payout(
        payout_id=run.payout.pk, result=TransferResult(status="paid", reference="bank-shop")
    )
    _erase(z)
    return {"pix_order": pix_order, "live": live, "live_order": live_order, "payout": run.payout}


def test_past_the_period_an_erased_persons_records_go_and_the_books_stay_whole(
    person, books, owner, business, client
):
    z, friend = person.user, person.friend
    assert _findings() == []
    assert _run() == 0  # within the period: nothing
    later = datetime.datetime(timezone.now().year + 6, 6, 1, tzinfo=datetime.UTC)

    with time_machine.travel(later, tick=False):
        # given someone erased recently, with an order of this year
        recent = UserFactory(email="recent@example.org", display_name="Recent Person")
        pins.set_pin(user=recent, pin=PIN, pin_again=PIN)
        recent_order = _paid_order(owner, business, recent)
        _erase(recent)
        balances = _balances()
        recent_before, live_before = _records_of(recent), _records_of(books["live"])
        friend_transfers = Payment.objects.filter(payee__isnull=False).count()

        # when the retention job runs
        deleted = _run()

        # then her orders (card, refunded, rated, attributed; Pix) and withdrawal go;
        # the transfers with her live friend and the request he made stay
        assert deleted == 3
        left = _records_of(z)
        assert left["orders"] == left["refunds"] == left["pix"] == left["payouts"] == 0
        assert left["payments"] == friend_transfers == 3
        assert left["money_requests"] == 1
        assert not Order.objects.filter(pk__in=[person.order.pk, books["pix_order"].pk]).exists()
        assert not OrderItem.objects.filter(order__customer=z).exists()
        assert not ReceivedPix.objects.exists()
        assert not SatisfactionRating.objects.filter(customer=z).exists()
        assert not OrderAttribution.objects.filter(order_id=person.order.pk).exists()
        # the live customer's, the recently erased person's and the shop's payout stay
        assert _records_of(books["live"]) == live_before
        assert _records_of(recent) == recent_before
        assert Order.objects.filter(pk__in=[books["live_order"].pk, recent_order.pk]).count() == 2
        assert Payout.objects.filter(pk=books["payout"].pk, status="paid").exists()
        # and every balance is what it was, the books still balance
        assert _balances() == balances == _sums()
        summary = LedgerTransaction.objects.get(kind=ledger.RETENTION_SUMMARY)
        assert summary.description == ledger.RETENTION_MEMO and summary.currency == "BRL"
        assert summary.payment_id is summary.refund_id is summary.payout_id is None
        assert _findings() == []
        # the shop's chat with her still opens (its cards name orders that are gone)
        client.force_login(owner)
        thread = reverse("inbox_thread", args=[business.slug, person.conversation.pk])
        assert client.get(thread).status_code == 200

        # when her friend empties his wallet and is erased too, the transfers between
        # them and his request go at the next run: one more summary
        _withdraw_all(friend)
        _erase(friend)
        balances = _balances()
        assert _run() == 4  # three transfers, one money request
        assert _records_of(z) == dict.fromkeys(left, 0)
        assert _records_of(friend)["payouts"] == 1  # his withdrawal is this year's
        assert _balances() == balances == _sums()
        assert LedgerTransaction.objects.filter(kind=ledger.RETENTION_SUMMARY).count() == 2
        assert _findings() == []

        # and a second run finds nothing and changes nothing
        rows = (LedgerTransaction.objects.count(), LedgerEntry.objects.count())
        assert _run() == 0
        assert (LedgerTransaction.objects.count(), LedgerEntry.objects.count()) == rows
        assert _balances() == balances


def test_batches_give_the_same_books(person, books):
    later = datetime.datetime(timezone.now().year + 6, 6, 1, tzinfo=datetime.UTC)
    balances = _balances()
    assert _run(now=later, batch=1) == 3
    assert _balances() == balances == _sums()
    assert LedgerTransaction.objects.filter(kind=ledger.RETENTION_SUMMARY).count() == 1
    assert _findings() == []


def test_an_old_order_with_a_newer_refund_stays(person, books, owner, business, settings):
    # (days, not years: the sandbox gateway forgets its charges after a week)
    settings.FINANCIAL_RETENTION_DAYS = 2
    later = timezone.now() + datetime.timedelta(days=3)
    with time_machine.travel(later, tick=False):
        _paid_order(owner, business, books["live"])  # the shop has money to refund from
        refund_services.refund_order(
            actor=owner, order=person.order, amount=500, reason="Goodwill",
            idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
        balances = _balances()
        assert _run() == 2  # the Pix order and the withdrawal
    assert Order.objects.filter(pk=person.order.pk).exists()
    assert Refund.objects.filter(order=person.order).count() == 2
    assert not Order.objects.filter(pk=books["pix_order"].pk).exists()
    assert _balances() == balances == _sums()
    assert _findings() == []


@pytest.mark.parametrize("days", [None, 30])
def test_the_period_is_the_setting_or_the_tax_rule(person, settings, days):
    settings.FINANCIAL_RETENTION_DAYS = days
    _erase(person.user)
    order = Order.objects.get(pk=person.order.pk)
    assert _run() == 0  # still within the period
    assert OrderItem.objects.filter(order=order).exists()

    years = 6 if days is None else 0
    later = timezone.now() + datetime.timedelta(days=365 * years + (days or 0) + 1)
    assert _run(now=later) == 2  # the order and the withdrawal
    assert not Order.objects.filter(pk=order.pk).exists()
    assert _run(now=later) == 0  # idempotent


def test_retention_cutoff_is_the_tax_rule_by_default(settings):
    settings.FINANCIAL_RETENTION_DAYS = None
    now = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
    # A record of 2021 is kept to the end of 2026; one of 2020 is past.
    assert retention.cutoff(now) == datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC)


@pytest.mark.needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM payments_ledgerentry",
        "UPDATE payments_ledgerentry SET amount = amount",
        "DELETE FROM payments_ledgertransaction",
        "DELETE FROM payments_auditevent",
        "UPDATE payments_auditevent SET action = 'edited'",
    ],
)
def test_outside_the_job_the_guards_still_refuse(person, sql):
    # given the job has just deleted her records in this same (test) transaction
    _erase(person.user)
    later = datetime.datetime(timezone.now().year + 6, 6, 1, tzinfo=datetime.UTC)
    assert _run(now=later) == 2
    rows = (LedgerEntry.objects.count(), AuditEvent.objects.count())

    # when anything else deletes or changes a ledger row or an audit event
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    # then PostgreSQL refuses, as before
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == rows
