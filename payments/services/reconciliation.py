"""Reconciliation: read-only checks that the books agree with themselves, with the
card gateway and with the payouts. ``manage.py reconcile`` and the nightly beat job
run :func:`run_reconciliation`, which stores a :class:`ReconciliationRun` with one
:class:`Discrepancy` per finding (read-only in Django admin).

Each check is a function ``check_…(*, now) -> Iterable[Finding]`` listed in
:data:`CHECKS`; another part of the app adds its own (refunds, person-to-person) by
appending a function to that list.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from core.errors import AppError
from payments.gateway import get_gateway
from payments.models import (
    Discrepancy,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    Payout,
    ReconciliationRun,
)
from payments.services.ledger import CARD_PAYMENT
from payments.services.payouts import PAYOUT, PAYOUT_PAID, PAYOUT_REVERSAL


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    detail: str


def check_transactions_balance(*, now: datetime.datetime) -> Iterable[Finding]:
    """Every ledger transaction has entries, they sum to zero, and each entry's account
    is in the transaction's currency."""
    name = "transactions_balance"
    sums = LedgerTransaction.objects.annotate(
        total=Sum("entries__amount"), count=Count("entries")
    ).filter(Q(count=0) | ~Q(total=0))
    for posting in sums.order_by("pk"):
        yield Finding(
            name,
            f"ledger transaction {posting.pk}",
            f"{posting.kind}: {posting.count} entries summing to {posting.total or 0}, not 0",
        )
    mixed = LedgerEntry.objects.exclude(account__currency=F("transaction__currency"))
    for entry in mixed.select_related("account", "transaction").order_by("pk"):
        yield Finding(
            name,
            f"ledger transaction {entry.transaction_id}",
            f"entry {entry.pk} on {entry.account.code} is not in {entry.transaction.currency}",
        )


def check_cached_balances(*, now: datetime.datetime) -> Iterable[Finding]:
    """Each account's cached ``balance`` equals the sum of its entries, and no payable
    account (merchant, wallet) is below zero."""
    name = "cached_balances"
    accounts = LedgerAccount.objects.annotate(total=Sum("entries__amount")).order_by("pk")
    for account in accounts:
        total = account.total or 0
        if account.balance != total:
            yield Finding(
                name,
                f"ledger account {account.code}",
                f"cached balance {account.balance}, entries sum to {total}",
            )
        if not account.is_system and total < 0:
            yield Finding(name, f"ledger account {account.code}", f"below zero: {total}")


def check_card_payments(*, now: datetime.datetime) -> Iterable[Finding]:
    """Each succeeded payment has exactly one ``card_payment`` posting of its amount,
    and a gateway record that says succeeded (asked for the payments of the last
    ``RECONCILE_GATEWAY_DAYS``); each such posting belongs to a succeeded payment; no
    two payments share a gateway charge."""
    name = "card_payments"
    postings = defaultdict(list)
    for posting_id, payment_id in LedgerTransaction.objects.filter(kind=CARD_PAYMENT).values_list(
        "pk", "payment_id"
    ):
        postings[payment_id].append(posting_id)
    if None in postings:
        for posting_id in postings.pop(None):
            yield Finding(
                name, f"ledger transaction {posting_id}", "card payment posting without a payment"
            )
    succeeded = Payment.objects.filter(status=Payment.Status.SUCCEEDED)
    succeeded_ids = set(succeeded.values_list("pk", flat=True))
    for payment_id in sorted(succeeded_ids):
        count = len(postings.get(payment_id, []))
        if count != 1:
            yield Finding(
                name,
                f"payment {payment_id}",
                f"succeeded with {count} card_payment postings, not 1",
            )
    for payment_id in sorted(set(postings) - succeeded_ids):
        yield Finding(name, f"payment {payment_id}", "posted to the ledger but not succeeded")
    credited = LedgerEntry.objects.filter(
        transaction__kind=CARD_PAYMENT, account__kind=LedgerAccount.Kind.CLEARING
    ).values_list("transaction__payment_id", "amount")
    amounts = {payment_id: -amount for payment_id, amount in credited}
    for payment in succeeded.only("pk", "amount").order_by("pk"):
        if payment.pk in amounts and amounts[payment.pk] != payment.amount:
            yield Finding(
                name,
                f"payment {payment.pk}",
                f"amount {payment.amount}, clearing posted {amounts[payment.pk]}",
            )
    duplicates = (
        Payment.objects.exclude(gateway_reference="")
        .values("gateway", "gateway_reference")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for row in duplicates:
        yield Finding(name, f"charge {row['gateway_reference']}", f"{row['n']} payments share it")
    since = now - datetime.timedelta(days=settings.RECONCILE_GATEWAY_DAYS)
    recent = succeeded.filter(completed_at__gte=since).order_by("pk")
    for payment in recent.only("pk", "gateway", "gateway_reference"):
        try:
            charge = get_gateway(payment.gateway).retrieve(payment.gateway_reference)
        except AppError:
            yield Finding(name, f"payment {payment.pk}", "the gateway has no record of its charge")
            continue
        if charge.status != "succeeded":
            yield Finding(name, f"payment {payment.pk}", f"the gateway says {charge.status}")


def check_payouts(*, now: datetime.datetime) -> Iterable[Finding]:
    """Each payout has its creation posting; an in-transit one has no settling
    posting, a paid one a ``payout_paid``, a failed one a ``payout_reversal``; the
    in-transit account of each currency holds exactly the in-transit payouts."""
    name = "payouts"
    kinds = defaultdict(set)
    for payout_id, kind in LedgerTransaction.objects.filter(payout__isnull=False).values_list(
        "payout_id", "kind"
    ):
        kinds[payout_id].add(kind)
    expected = {
        Payout.Status.IN_TRANSIT: {PAYOUT},
        Payout.Status.PAID: {PAYOUT, PAYOUT_PAID},
        Payout.Status.FAILED: {PAYOUT, PAYOUT_REVERSAL},
    }
    for payout_id, status in Payout.objects.order_by("pk").values_list("pk", "status"):
        found = kinds.get(payout_id, set())
        if found != expected[status]:
            yield Finding(
                name,
                f"payout {payout_id}",
                f"{status} with postings {sorted(found) or 'none'}, "
                f"expected {sorted(expected[status])}",
            )
    in_transit = dict(
        Payout.objects.filter(status=Payout.Status.IN_TRANSIT)
        .values("currency")
        .annotate(total=Sum("amount"))
        .values_list("currency", "total")
    )
    accounts = dict(
        LedgerAccount.objects.filter(kind=LedgerAccount.Kind.PAYOUTS_IN_TRANSIT).values_list(
            "currency", "balance"
        )
    )
    for currency in sorted(set(in_transit) | set(accounts)):
        payouts, balance = in_transit.get(currency, 0), accounts.get(currency, 0)
        if payouts != balance:
            yield Finding(
                name,
                f"payouts in transit {currency}",
                f"account balance {balance}, in-transit payouts sum to {payouts}",
            )


# The checks, in the order they run. Add a function here to add a check.
CHECKS: list[Callable[..., Iterable[Finding]]] = [
    check_transactions_balance,
    check_cached_balances,
    check_card_payments,
    check_payouts,
]


def run_reconciliation(
    *,
    checks: list[Callable[..., Iterable[Finding]]] | None = None,
    now: datetime.datetime | None = None,
    report: Callable[[Finding], None] | None = None,
) -> ReconciliationRun:
    """Run ``checks`` (default :data:`CHECKS`), store every finding, return the run.
    ``report`` is called with each finding as it is found (the command prints them).
    Reads only, except for the run and its discrepancies."""
    now = now or timezone.now()
    checks = CHECKS if checks is None else checks
    run = ReconciliationRun.objects.create(checks=[check.__name__ for check in checks])
    found = 0
    for check in checks:
        batch = []
        for finding in check(now=now):
            found += 1
            if report is not None:
                report(finding)
            batch.append(
                Discrepancy(
                    run=run,
                    check_name=finding.check[:60],
                    subject=finding.subject[:120],
                    detail=finding.detail,
                )
            )
        Discrepancy.objects.bulk_create(batch)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), discrepancy_count=found
    )
    run.refresh_from_db()
    return run
