"""Reads of the insights app."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Sum

from insights.models import OrderAttribution
from payments.models import Refund

MODELS = ("first", "last")


@dataclass
class Revenue:
    """Money credited to one campaign (or to "direct"), in minor units of the
    business's currency."""

    orders: int = 0
    gross: int = 0
    fee: int = 0
    refunds: int = 0  # what refunds took back from the merchant: amount − fee given back

    @property
    def net(self) -> int:
        return self.gross - self.fee - self.refunds


def credited_revenue(
    *,
    business_id: int,
    model: str,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> dict[int | None, Revenue]:
    """The revenue of the business's orders paid in ``[start, end)`` by the campaign
    credited under ``model`` ("first" or "last" touch); key None: direct orders.

    Refunds reduce the revenue of the campaign credited with their order, whenever
    they were made (a refund of an order paid in the period counts in the period):
    each succeeded refund takes ``amount - fee`` (the part of the fee given back
    returns to the merchant, as the ledger posts it: docs/payments.md, "Refunds").
    So ``net = gross - fee - refunds``. Two queries."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    field = f"{model}_campaign"
    paid = OrderAttribution.objects.filter(business_id=business_id)
    if start is not None:
        paid = paid.filter(paid_at__gte=start)
    if end is not None:
        paid = paid.filter(paid_at__lt=end)
    result: dict[int | None, Revenue] = {}
    for campaign_id, orders, gross, fee in (
        paid.values_list(field)
        .annotate(n=Count("pk"), gross=Sum("gross"), fee=Sum("fee"))
        .values_list(field, "n", "gross", "fee")
        .order_by()
    ):
        result[campaign_id] = Revenue(orders=orders, gross=gross or 0, fee=fee or 0)
    refunds = (
        Refund.objects.filter(
            status=Refund.Status.SUCCEEDED, order__attribution__in=paid.values("pk")
        )
        .values_list(f"order__attribution__{field}")
        .annotate(taken=Sum(F("amount") - F("fee")))
        .values_list(f"order__attribution__{field}", "taken")
        .order_by()
    )
    for campaign_id, taken in refunds:
        result.setdefault(campaign_id, Revenue()).refunds += taken or 0
    return result
