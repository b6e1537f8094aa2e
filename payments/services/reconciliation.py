"""Reconciliation: read-only checks that the books agree with themselves, with the
card gateway and with the payouts. ``manage.py reconcile`` and the nightly beat job
run :func:`run_reconciliation`, which stores a :class:`ReconciliationRun` with one
:class:`Discrepancy` per finding (read-only in Django admin).

Each check is a function ``check_…(*, now) -> Iterable[Finding]`` listed in
:data:`CHECKS`; another part of the app adds its own (refunds, person-to-person) by
appending a function to that list (refunds and person-to-person payments are checked
here too).
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
    ReceivedPix,
    ReconciliationRun,
    Refund,
)
from payments.pix import get_pix_provider, ledger_gateway
from payments.services.ledger import (
    CARD_PAYMENT,
    P2P_PAYMENT,
    PIX_PAYMENT,
    REFUND,
    REFUND_REVERSAL,
)
from payments.services.payouts import PAYOUT, PAYOUT_PAID, PAYOUT_REVERSAL
from payments.services.refunds import RETRY_AFTER as REFUND_RETRY_AFTER


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


def _posting_kind(payment_is_p2p: bool) -> str:
    return P2P_PAYMENT if payment_is_p2p else CARD_PAYMENT


def check_card_payments(*, now: datetime.datetime) -> Iterable[Finding]:
    """Each settled payment (succeeded, or refunded in part or in full since) has
    exactly one posting of its kind — ``card_payment`` to a business, ``p2p_payment``
    to a friend — whose clearing entry is its amount, and a gateway record that says
    succeeded (asked for the payments of the last ``RECONCILE_GATEWAY_DAYS``); each
    such posting belongs to a settled payment; no two payments share a gateway
    charge."""
    name = "card_payments"
    kinds = (CARD_PAYMENT, P2P_PAYMENT)
    postings = defaultdict(list)
    for posting_id, payment_id, kind in LedgerTransaction.objects.filter(
        kind__in=kinds
    ).values_list("pk", "payment_id", "kind"):
        postings[payment_id].append((posting_id, kind))
    if None in postings:
        for posting_id, kind in postings.pop(None):
            yield Finding(
                name, f"ledger transaction {posting_id}", f"{kind} posting without a payment"
            )
    # Collected Pix payments have their own check (check_pix).
    settled = Payment.objects.filter(status__in=Payment.SETTLED).exclude(method=Payment.Method.PIX)
    settled_kinds = {
        pk: _posting_kind(order_id is None)
        for pk, order_id in settled.values_list("pk", "order_id")
    }
    for payment_id, kind in sorted(settled_kinds.items()):
        count = sum(1 for _posting, found in postings.get(payment_id, []) if found == kind)
        if count != 1 or len(postings.get(payment_id, [])) != count:
            yield Finding(
                name,
                f"payment {payment_id}",
                f"settled with {len(postings.get(payment_id, []))} payment postings, "
                f"expected one {kind}",
            )
    for payment_id in sorted(set(postings) - set(settled_kinds)):
        yield Finding(name, f"payment {payment_id}", "posted to the ledger but not settled")
    credited = LedgerEntry.objects.filter(
        transaction__kind__in=kinds, account__kind=LedgerAccount.Kind.CLEARING
    ).values_list("transaction__payment_id", "amount")
    amounts = {payment_id: -amount for payment_id, amount in credited}
    for payment in settled.only("pk", "amount").order_by("pk"):
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
    recent = settled.filter(completed_at__gte=since).order_by("pk")
    for payment in recent.only("pk", "gateway", "gateway_reference"):
        try:
            charge = get_gateway(payment.gateway).retrieve(payment.gateway_reference)
        except AppError:
            yield Finding(name, f"payment {payment.pk}", "the gateway has no record of its charge")
            continue
        if charge.status != "succeeded":
            yield Finding(name, f"payment {payment.pk}", f"the gateway says {charge.status}")


def check_refunds(*, now: datetime.datetime) -> Iterable[Finding]:
    """Each refund has the postings its status calls for — a pending or succeeded one
    its ``refund`` posting, a failed one that and its ``refund_reversal`` — and every
    refund posting has its refund; a succeeded refund has the gateway's refund id, no
    two share one; a payment's live refunds never exceed it."""
    name = "refunds"
    kinds = defaultdict(list)
    for refund_id, kind in LedgerTransaction.objects.filter(
        kind__in=(REFUND, REFUND_REVERSAL)
    ).values_list("refund_id", "kind"):
        kinds[refund_id].append(kind)
    if None in kinds:
        yield Finding(name, "refund postings", f"{len(kinds.pop(None))} without a refund")
    expected = {
        Refund.Status.PENDING: [REFUND],
        Refund.Status.SUCCEEDED: [REFUND],
        Refund.Status.FAILED: [REFUND, REFUND_REVERSAL],
    }
    refunds = Refund.objects.order_by("pk").values_list("pk", "status", "gateway_reference")
    known = set()
    for refund_id, status, reference in refunds:
        known.add(refund_id)
        found = sorted(kinds.get(refund_id, []))
        if found != sorted(expected[status]):
            yield Finding(
                name,
                f"refund {refund_id}",
                f"{status} with postings {found or 'none'}, expected {expected[status]}",
            )
        if status == Refund.Status.SUCCEEDED and not reference:
            yield Finding(name, f"refund {refund_id}", "succeeded without a gateway refund id")
    for refund_id in sorted(set(kinds) - known):
        yield Finding(name, f"refund {refund_id}", "postings for a refund that does not exist")
    shared = (
        Refund.objects.exclude(gateway_reference="")
        .values("gateway", "gateway_reference")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for row in shared:
        yield Finding(name, f"gateway refund {row['gateway_reference']}", f"{row['n']} share it")
    over = (
        Payment.objects.annotate(
            refunded_total=Sum("refunds__amount", filter=~Q(refunds__status=Refund.Status.FAILED))
        )
        .filter(refunded_total__gt=F("amount"))
        .values_list("pk", "amount", "refunded_total")
    )
    for payment_id, amount, refunded in over:
        yield Finding(
            name, f"payment {payment_id}", f"refunds {refunded} exceed its amount {amount}"
        )


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


def check_pending_payments(*, now: datetime.datetime) -> Iterable[Finding]:
    """No payment stays pending longer than ``PAYMENT_RECOVERY_GRACE`` without an
    answer from the gateway (the recovery job settles those within a minute or two),
    and no 3-D Secure challenge outlives ``PAYMENT_ACTION_TIMEOUT``; no refund stays
    pending past its retries (``refunds.RETRY_AFTER``, a few minutes)."""
    name = "pending_payments"
    grace = datetime.timedelta(seconds=settings.PAYMENT_RECOVERY_GRACE)
    action = datetime.timedelta(seconds=settings.PAYMENT_ACTION_TIMEOUT)
    stale = Payment.objects.filter(status=Payment.Status.PENDING).filter(
        Q(gateway_reference="", created_at__lt=now - grace) | Q(created_at__lt=now - action - grace)
    )
    for pk, created_at, reference in stale.order_by("pk").values_list(
        "pk", "created_at", "gateway_reference"
    ):
        age = int((now - created_at).total_seconds())
        what = f"charge {reference}" if reference else "no gateway answer recorded"
        yield Finding(name, f"payment {pk}", f"pending for {age} s ({what})")
    refunds = Refund.objects.filter(
        status=Refund.Status.PENDING, created_at__lt=now - 5 * REFUND_RETRY_AFTER
    )
    for pk, created_at in refunds.order_by("pk").values_list("pk", "created_at"):
        age = int((now - created_at).total_seconds())
        yield Finding(name, f"refund {pk}", f"pending for {age} s")


def check_pix(*, now: datetime.datetime) -> Iterable[Finding]:
    """Collected Pix against the ledger and the provider: each settled Pix payment has
    exactly one ``pix_payment`` posting whose clearing entry is its amount (and each
    such posting a settled Pix payment); every Pix the provider lists for the last
    ``RECONCILE_GATEWAY_DAYS`` is recorded here with the same amount, and every Pix
    recorded in that window is on the provider's list; the returns the provider made
    of a Pix add up to what we refunded of it (its payment's succeeded refunds, or the
    whole anomaly once returned)."""
    name = "pix"
    settled = Payment.objects.filter(status__in=Payment.SETTLED, method=Payment.Method.PIX)
    postings = defaultdict(list)
    for pk, payment_id in LedgerTransaction.objects.filter(kind=PIX_PAYMENT).values_list(
        "pk", "payment_id"
    ):
        postings[payment_id].append(pk)
    settled_ids = set(settled.values_list("pk", flat=True))
    for payment_id in sorted(settled_ids):
        count = len(postings.get(payment_id, []))
        if count != 1:
            yield Finding(
                name, f"payment {payment_id}", f"settled with {count} Pix postings, expected one"
            )
    for payment_id in sorted(set(postings) - settled_ids, key=lambda pk: pk or 0):
        yield Finding(name, f"payment {payment_id}", "posted as a Pix payment but not settled")
    cleared = LedgerEntry.objects.filter(
        transaction__kind=PIX_PAYMENT, account__kind=LedgerAccount.Kind.CLEARING
    ).values_list("transaction__payment_id", "amount")
    amounts = dict(settled.values_list("pk", "amount"))
    for payment_id, amount in cleared:
        if payment_id in amounts and -amount != amounts[payment_id]:
            yield Finding(
                name, f"payment {payment_id}",
                f"amount {amounts[payment_id]}, clearing posted {-amount}",
            )  # fmt: skip
    start = now - datetime.timedelta(days=settings.RECONCILE_GATEWAY_DAYS)
    provider = get_pix_provider()
    try:
        listed = {pix.end_to_end_id: pix for pix in provider.list_received(start=start, end=now)}
    except AppError as exc:
        yield Finding(name, f"provider {provider.name}", f"could not list received Pix: {exc.code}")
        return
    ours = {
        record.end_to_end_id: record
        for record in ReceivedPix.objects.filter(provider=provider.name, paid_at__gte=start)
        .filter(paid_at__lt=now)
        .select_related("payment")
    }
    missing = set(listed) - set(ours)
    known = {
        e2e: record
        for e2e, record in ReceivedPix.objects.filter(end_to_end_id__in=missing)
        .select_related("payment")
        .in_bulk(field_name="end_to_end_id")
        .items()
    }  # recorded with another paid_at than the provider's list says
    ours |= known
    for e2e in sorted(missing - set(known)):
        pix = listed[e2e]
        yield Finding(
            name, f"Pix {e2e}",
            f"received {pix.amount} at the provider (txid {pix.txid or '-'}), not recorded here",
        )  # fmt: skip
    for e2e in sorted(set(ours) - set(listed)):
        if ours[e2e].paid_at >= start:
            yield Finding(name, f"Pix {e2e}", "recorded here, not on the provider's list")
    refunded = dict(
        Refund.objects.filter(
            status=Refund.Status.SUCCEEDED, payment__method=Payment.Method.PIX,
            payment__gateway=ledger_gateway(provider.name),
        )
        .values("payment__gateway_reference")
        .annotate(total=Sum("amount"))
        .values_list("payment__gateway_reference", "total")
    )  # fmt: skip
    for e2e in sorted(set(ours) & set(listed)):
        record, pix = ours[e2e], listed[e2e]
        if record.amount != pix.amount:
            yield Finding(
                name, f"Pix {e2e}", f"amount {record.amount} here, {pix.amount} at the provider"
            )
        returned = sum(r.amount for r in pix.refunds if r.status == "DEVOLVIDO")
        if record.anomaly:
            expected = record.amount if record.refund_status == "returned" else 0
        else:
            expected = refunded.get(e2e, 0)
        if returned != expected:
            yield Finding(
                name, f"Pix {e2e}", f"{expected} returned here, {returned} at the provider"
            )


# The checks, in the order they run. Add a function here to add a check.
CHECKS: list[Callable[..., Iterable[Finding]]] = [
    check_transactions_balance,
    check_cached_balances,
    check_card_payments,
    check_refunds,
    check_payouts,
    check_pending_payments,
    check_pix,
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
