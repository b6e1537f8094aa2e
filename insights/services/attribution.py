"""The attribution snapshot of a paid order (docs/insights.md, "Attribution").

When an order becomes paid (``payments.hooks.order_status_changed`` to
``processing``), in the same transaction, :func:`attribute_order` stores who brought
it: among the business's touches that belong to a campaign and that are the
customer's —

- touches of the order's contact (a conversation start, a delivered offer, a click
  made while signed in),
- touches of the order's conversation,
- touches of an anonymous visitor whom a touch of that contact also carries (the
  conversation-start touch holds both the request's visitor hash and the contact:
  that is how a click before sign-in joins the customer),

— those within the business's attribution window before the payment
(``paid_at - occurred_at <= window_days``, on aware datetimes, so the business's
time zone and daylight-saving changes cannot shift the edge), the earliest is the
first touch and the latest the last touch. An offer delivered to the contact is a
touch of its broadcast's campaign, so an order paid after it is credited to the
broadcast under last touch. With no such touch the order is "direct" (both empty).

Written once per order (``OrderAttribution.order`` is unique, inserted with
``ignore_conflicts``): idempotent. Refunds are not copied: they are read from
payments when the revenue is computed (``insights.selectors.credited_revenue``).
The payment path pays for this with four small queries (``bench/payments.py``).
"""

import datetime

from django.db.models import Q, Subquery

from chats.models import Conversation
from insights.models import AttributionSettings, OrderAttribution, Touch
from payments.models import Order, Payment
from payments.services.ledger import fee_for


def handle_order_status(*, order: Order, from_status: str, to_status: str, data: dict) -> None:
    """``payments.hooks.order_status_changed`` handler: snapshot on → paid."""
    if to_status == Order.Status.PROCESSING:
        data = data or {}
        # Paid outside the platform (direct Pix: payments.services.direct_pix): no fee.
        fee = 0 if data.get("method") == Order.OutsideMethod.PIX_DIRECT else None
        attribute_order(order=order, payment_id=data.get("payment"), fee=fee)


def window_days(business_id: int) -> int:
    days = (
        AttributionSettings.objects.filter(business_id=business_id)
        .values_list("window_days", flat=True)
        .first()
    )
    return days or AttributionSettings.DEFAULT_WINDOW


def candidate_touches(*, order: Order, contact_id: int | None, days: int):
    """The touches that may be credited with ``order`` (see the module docstring)."""
    paid_at = order.paid_at
    mine = Q(conversation_id=order.conversation_id)
    if contact_id is not None:
        visitors = (
            Touch.objects.filter(business_id=order.business_id, contact_id=contact_id)
            .exclude(visitor="")
            .values("visitor")
        )
        mine |= Q(contact_id=contact_id) | Q(visitor__in=visitors)
    return Touch.objects.filter(
        mine,
        business_id=order.business_id,
        campaign__isnull=False,
        occurred_at__gte=paid_at - datetime.timedelta(days=days),
        occurred_at__lte=paid_at,
    )


def attribute_order(
    *, order: Order, payment_id: int | None = None, fee: int | None = None
) -> OrderAttribution:
    """Store ``order``'s attribution snapshot (it must be paid: ``paid_at`` set).
    Inside the caller's transaction (the order row locked by the paying service).
    ``fee``: the platform's fee when known without a payment (0 for an order paid
    outside the platform). Idempotent: a second call changes nothing."""
    if Order.conversation.is_cached(order):
        contact_id = order.conversation.contact_id
    else:
        contact_id = (
            Conversation.objects.filter(pk=order.conversation_id)
            .values_list("contact_id", flat=True)
            .first()
        )
    days, asked = None, False
    if fee is None and type(payment_id) is int:
        asked = True
        # The payment's fee and the business's window in one query (the paying path).
        window = AttributionSettings.objects.filter(business_id=order.business_id).values(
            "window_days"
        )[:1]
        fee, days = (
            Payment.objects.filter(pk=payment_id)
            .annotate(window=Subquery(window))
            .values_list("fee", "window")
            .first()
        ) or (None, None)
    if fee is None:
        fee = fee_for(order.total, order.business.fee_bps)
        days = window_days(order.business_id)
    elif not asked:
        days = window_days(order.business_id)
    days = days or AttributionSettings.DEFAULT_WINDOW
    touches = candidate_touches(order=order, contact_id=contact_id, days=days)
    first = touches.order_by("occurred_at", "id").first()
    last = touches.order_by("-occurred_at", "-id").first() if first is not None else None
    attribution = OrderAttribution(
        order=order,
        business_id=order.business_id,
        paid_at=order.paid_at,
        window_days=days,
        currency=order.currency,
        gross=order.total,
        fee=fee,
        conversation_id=order.conversation_id,
        contact_id=contact_id,
        **_touch_snapshot("first", first),
        **_touch_snapshot("last", last),
    )
    OrderAttribution.objects.bulk_create([attribution], ignore_conflicts=True)
    return attribution


def _touch_snapshot(which: str, touch: Touch | None) -> dict:
    if touch is None:
        return {}
    return {
        f"{which}_touch": touch,
        f"{which}_campaign_id": touch.campaign_id,
        f"{which}_source": touch.source,
        f"{which}_medium": touch.medium,
        f"{which}_click_id": touch.click_id,
    }
