"""The retention job (Celery beat, daily): what an erased account left behind for the
tax retention period goes once that period is over (docs/privacy.md, "Retention").

Kept for the period: the orders, payments, refunds, transfers and payouts of an
erased account, pointing at its pseudonym, with their amounts, dates and ids. After
it (records created before :func:`cutoff`) they are **deleted**, with everything
that hangs on them: an order with its lines, shipments, audit trail, Pix charges,
received Pix, payments, refunds, their ledger postings, its rating and its campaign
attribution; a transfer between two erased accounts with its audit trail and
posting, and the money request it answered; an erased account's withdrawals with
their postings. A record that still hangs together with something newer (a refund
or an audit event after the cut-off, a payment or a refund still pending, a Pix
charge still active) or that belongs to a live person too (a transfer with a
friend who has not been erased) stays, and is looked at again by the next run.

The ledger and the audit trail are append-only: PostgreSQL refuses their DELETE
(payments migrations 0002, 0006) except in a transaction that set
``conversa.retention`` (migration 0011) — which only :func:`_allow_deletes` here
does, for one batch's transaction. The deleted postings are replaced in that same
transaction by entries of one summary posting per currency and run
(``payments.services.ledger.replace_with_summary``): every account keeps its
balance, and the books still sum to zero.

Idempotent (a second run finds nothing); in batches, each its own transaction,
which locks the batch's rows (orders before their payments, as paying does) and
checks them again under the lock before deleting.
"""

import datetime
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from payments.models import (
    AuditEvent,
    LedgerTransaction,
    MoneyRequest,
    Order,
    Payment,
    Payout,
    PixCharge,
    ReceivedPix,
    Refund,
    Shipment,
    ShipmentItem,
)
from payments.services import ledger

ERASED = "@deleted.invalid"  # erasure.is_erased: an erased account's e-mail ends so
PIX_RETURN_OPEN = (ReceivedPix.RefundStatus.PENDING, ReceivedPix.RefundStatus.PROCESSING)


def cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Records created before this moment are past their retention period."""
    now = now or timezone.now()
    days = settings.FINANCIAL_RETENTION_DAYS
    if days is not None:
        return now - datetime.timedelta(days=days)
    # Five years counted from the first day of the year after the record (CTN 173).
    return datetime.datetime(now.year - 5, 1, 1, tzinfo=datetime.UTC)


def apply_retention(*, now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Delete erased accounts' financial records older than :func:`cutoff` (see the
    module docstring); how many orders, transfers, withdrawals and money requests
    were deleted. Idempotent; in batches of ``batch``, each its own transaction."""
    before = cutoff(now)
    summaries: dict[str, LedgerTransaction] = {}  # this run's summary posting per currency
    deleted = 0
    steps: list[Callable[..., int]] = [_orders, _transfers, _withdrawals, _money_requests]
    for step in steps:
        while True:
            with transaction.atomic():
                _allow_deletes(True)
                done = step(before=before, batch=batch, summaries=summaries)
                _allow_deletes(False)  # the test suite's transaction goes on after a batch
            if not done:
                break
            deleted += done
    return deleted


def _allow_deletes(on: bool) -> None:
    """Let this transaction DELETE ledger rows and audit events (PostgreSQL's row
    guards, payments migration 0011); transaction-local: it ends with the commit or
    the rollback at the latest. Nothing to do on SQLite, which has no guards."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('conversa.retention', %s, true)", ["on" if on else "off"]
            )


def _order_is_past(before: datetime.datetime) -> Q:
    """An erased customer's order past the period, with nothing newer or unfinished
    hanging on it."""
    order = OuterRef("pk")
    newer = (
        Exists(
            Payment.objects.filter(order=order).filter(
                Q(created_at__gte=before) | Q(completed_at__gte=before) | Q(status="pending")
            )
        )
        | Exists(
            Refund.objects.filter(order=order).filter(
                Q(created_at__gte=before) | Q(completed_at__gte=before) | Q(status="pending")
            )
        )
        | Exists(
            AuditEvent.objects.filter(Q(order=order) | Q(payment__order=order)).filter(
                created_at__gte=before
            )
        )
        | Exists(
            LedgerTransaction.objects.filter(
                Q(payment__order=order) | Q(refund__order=order), created_at__gte=before
            )
        )
        | Exists(
            PixCharge.objects.filter(order=order).filter(
                Q(created_at__gte=before) | Q(closed_at__gte=before) | Q(status="active")
            )
        )
        | Exists(
            ReceivedPix.objects.filter(
                Q(order=order) | Q(charge__order=order) | Q(payment__order=order)
            ).filter(Q(received_at__gte=before) | Q(refund_status__in=PIX_RETURN_OPEN))
        )
        | Exists(Shipment.objects.filter(order=order, created_at__gte=before))
    )
    return (
        Q(customer__email__endswith=ERASED, created_at__lt=before)
        & ~Q(status=Order.Status.PENDING)
        & (Q(paid_at__isnull=True) | Q(paid_at__lt=before))
        & ~newer
    )


def _claim(model, past: Q, batch: int, *, with_payments: bool = False) -> list[int]:
    """Up to ``batch`` ids of ``model``'s rows that are ``past``, locked (orders with
    their payments), then checked again under the lock: a refund or a Pix committed
    meanwhile keeps its row for a later run. Empty when there is nothing, or when
    every candidate changed under the lock: this run stops there, the next looks again."""
    ids = list(model.objects.filter(past).order_by("pk").values_list("pk", flat=True)[:batch])
    if not ids:
        return []
    list(model.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
    if with_payments:
        list(Payment.objects.select_for_update(no_key=True).filter(order_id__in=ids).order_by("pk"))
    return list(model.objects.filter(past, pk__in=ids).values_list("pk", flat=True))


def _orders(*, before, batch: int, summaries) -> int:
    ids = _claim(Order, _order_is_past(before), batch, with_payments=True)
    if not ids:
        return 0
    payments = list(Payment.objects.filter(order_id__in=ids).values_list("pk", flat=True))
    refunds = list(Refund.objects.filter(order_id__in=ids).values_list("pk", flat=True))
    charges = list(PixCharge.objects.filter(order_id__in=ids).values_list("pk", flat=True))
    postings = LedgerTransaction.objects.filter(
        Q(payment_id__in=payments) | Q(refund_id__in=refunds)
    ).values_list("pk", flat=True)
    ledger.replace_with_summary(transaction_ids=list(postings), summaries=summaries)
    AuditEvent.objects.filter(Q(order_id__in=ids) | Q(payment_id__in=payments)).delete()
    ReceivedPix.objects.filter(
        Q(order_id__in=ids) | Q(charge_id__in=charges) | Q(payment_id__in=payments)
    ).delete()
    Refund.objects.filter(pk__in=refunds).delete()
    PixCharge.objects.filter(pk__in=charges).delete()
    ShipmentItem.objects.filter(shipment__order_id__in=ids).delete()
    Shipment.objects.filter(order_id__in=ids).delete()
    Payment.objects.filter(pk__in=payments).delete()
    # With them, by cascade: the lines, the rating, the campaign attribution.
    Order.objects.filter(pk__in=ids).delete()
    return len(ids)


def _transfers(*, before, batch: int, summaries) -> int:
    """Person-to-person payments between two erased accounts (a live friend's history
    keeps them)."""
    past = (
        Q(
            payee__isnull=False,
            payer__email__endswith=ERASED,
            payee__email__endswith=ERASED,
            created_at__lt=before,
        )
        & ~Q(status=Payment.Status.PENDING)
        & (Q(completed_at__isnull=True) | Q(completed_at__lt=before))
        & ~Exists(AuditEvent.objects.filter(payment=OuterRef("pk"), created_at__gte=before))
        & ~Exists(LedgerTransaction.objects.filter(payment=OuterRef("pk"), created_at__gte=before))
    )
    ids = _claim(Payment, past, batch)
    if not ids:
        return 0
    postings = LedgerTransaction.objects.filter(payment_id__in=ids).values_list("pk", flat=True)
    ledger.replace_with_summary(transaction_ids=list(postings), summaries=summaries)
    AuditEvent.objects.filter(payment_id__in=ids).delete()
    Payment.objects.filter(pk__in=ids).delete()
    return len(ids)


def _withdrawals(*, before, batch: int, summaries) -> int:
    """An erased account's payouts from its wallet, settled before the cut-off. (A
    business's payouts are the business's, and stay.)"""
    past = (
        Q(user__email__endswith=ERASED, business__isnull=True, created_at__lt=before)
        & ~Q(status=Payout.Status.IN_TRANSIT)
        & (Q(completed_at__isnull=True) | Q(completed_at__lt=before))
        & ~Exists(LedgerTransaction.objects.filter(payout=OuterRef("pk"), created_at__gte=before))
    )
    ids = _claim(Payout, past, batch)
    if not ids:
        return 0
    postings = LedgerTransaction.objects.filter(payout_id__in=ids).values_list("pk", flat=True)
    ledger.replace_with_summary(transaction_ids=list(postings), summaries=summaries)
    Payout.objects.filter(pk__in=ids).delete()
    return len(ids)


def _money_requests(*, before, batch: int, summaries) -> int:
    """Money requests between two erased accounts that no payment answers any more
    (their transfers went in :func:`_transfers`)."""
    past = Q(
        requester__email__endswith=ERASED,
        payer__email__endswith=ERASED,
        created_at__lt=before,
    ) & ~Exists(Payment.objects.filter(money_request=OuterRef("pk")))
    ids = list(
        MoneyRequest.objects.filter(past).order_by("pk").values_list("pk", flat=True)[:batch]
    )
    if not ids:
        return 0
    MoneyRequest.objects.filter(past, pk__in=ids).delete()
    return len(ids)
