"""The retention job (Celery beat, daily): what an erased account left behind for the
tax retention period goes once that period is over (docs/privacy.md, "Retention").

Kept for the period: the orders, payments, refunds, transfers and payouts of an
erased account, pointing at its pseudonym, with their amounts, dates and ids. After
it, the details that describe what the person bought and did — order lines,
shipments, the notes of money requests — are deleted. The ledger, the orders' audit
trail (both append-only, PostgreSQL triggers) and the payment and order rows they
point at stay: they are the platform's own books, with amounts, statuses and ids
and no personal data, and the balances are derived from them.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from payments.models import MoneyRequest, Order, OrderItem, Shipment
from payments.models.shipping import ShipmentItem


def cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Records created before this moment are past their retention period."""
    now = now or timezone.now()
    days = settings.FINANCIAL_RETENTION_DAYS
    if days is not None:
        return now - datetime.timedelta(days=days)
    # Five years counted from the first day of the year after the record (CTN 173).
    return datetime.datetime(now.year - 5, 1, 1, tzinfo=datetime.UTC)


def apply_retention(*, now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Delete the details of erased accounts' orders older than :func:`cutoff`; how
    many orders were cleared. Idempotent; in batches, each its own transaction."""
    before = cutoff(now)
    cleared = 0
    while True:
        with transaction.atomic():
            has_details = Exists(OrderItem.objects.filter(order=OuterRef("pk"))) | Exists(
                Shipment.objects.filter(order=OuterRef("pk"))
            )
            ids = list(
                Order.objects.filter(
                    has_details,
                    customer__email__endswith="@deleted.invalid",
                    created_at__lt=before,
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            ShipmentItem.objects.filter(shipment__order_id__in=ids).delete()
            Shipment.objects.filter(order_id__in=ids).delete()
            OrderItem.objects.filter(order_id__in=ids).delete()
            Order.objects.filter(pk__in=ids).update(note="")
            cleared += len(ids)
    MoneyRequest.objects.filter(
        requester__email__endswith="@deleted.invalid", created_at__lt=before
    ).exclude(note="").update(note="")
    return cleared
