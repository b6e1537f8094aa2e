"""Shipping and delivery of paid orders.

The business marks a paid order shipped (some or all of its items, with a carrier,
a tracking code and optionally an http(s) tracking link), then delivered. Each
step goes through :func:`payments.services.orders.transition_order` (processing →
partially_shipped → shipped → completed) and schedules the customer's
``shipping_update`` card through the outbox (``chats.services.outbox``) in the same
transaction, under a dedupe key (``order:<id>:shipment:<n>``,
``order:<id>:delivered``), so the notice is sent exactly once, by a worker, even if
the broker or the worker goes down in between (docs/outbox.md).
"""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from accounts.models import User
from chats.selectors import staff_membership
from chats.services.outbox import schedule_message
from core.errors import AppError
from payments.models import AuditEvent, Order, OrderItem, Shipment, ShipmentItem
from payments.services import orders
from payments.services.orders import transition_order

STATUS = Order.Status
SHIPPABLE = (STATUS.PROCESSING, STATUS.PARTIALLY_SHIPPED)
MAX_CARRIER = Shipment._meta.get_field("carrier").max_length
MAX_CODE = Shipment._meta.get_field("tracking_code").max_length
MAX_URL = Shipment._meta.get_field("tracking_url").max_length
# Letters, digits and the separators carriers print (Correios: "AA123456789BR").
CODE_RE = re.compile(r"^[\w][\w .\-/]*$")
_url = URLValidator(schemes=["http", "https"])


def _text(value: Any, field: str, limit: int, message: str) -> str:
    text = str(value or "").replace("\x00", "").strip() if isinstance(value, str | None) else None
    if not text:
        raise AppError(message, code="required", field=field)
    if len(text) > limit or "<" in text or ">" in text:
        raise AppError(
            _("At most %(max)d characters, without < or >.") % {"max": limit},
            code="invalid",
            field=field,
        )
    return text


def _clean_url(value: Any) -> str:
    if value in (None, ""):
        return ""
    url = str(value).strip() if isinstance(value, str) else ""
    try:
        if not url or len(url) > MAX_URL:
            raise ValidationError("")
        _url(url)
    except ValidationError:
        raise AppError(
            _("Enter a tracking link starting with http:// or https://."),
            code="invalid_url",
            field="tracking_url",
        ) from None
    return url


def _quantities(order: Order, items: Any, remaining: dict[int, int]) -> dict[int, int]:
    """``{order item id: quantity}`` to ship now; None means everything remaining."""
    if items is None:
        return {pk: left for pk, left in remaining.items() if left > 0}
    if not isinstance(items, dict):
        raise AppError(_("Choose the items to ship."), code="invalid_items", field="items")
    wanted = {}
    for raw_pk, quantity in items.items():
        pk = raw_pk if type(raw_pk) is int else None
        if pk is None or pk not in remaining:
            raise AppError(
                _("That item is not in this order."), code="invalid_items", field="items"
            )
        if type(quantity) is not int or quantity < 0:
            raise AppError(
                _("Quantities are whole numbers."), code="invalid_quantity", field="items"
            )
        if quantity > remaining[pk]:
            raise AppError(
                _("You cannot ship more of an item than is left to ship."),
                code="too_many",
                field="items",
            )
        if quantity:
            wanted[pk] = quantity
    if not wanted:
        raise AppError(_("Choose at least one item to ship."), code="no_items", field="items")
    return wanted


def check_shippable(order: Order) -> None:
    """Refuse (409) an order that cannot ship now: unpaid, or every item shipped."""
    if order.status in SHIPPABLE:
        return
    if order.status in (STATUS.SHIPPED, STATUS.COMPLETED):
        message = _("Every item of this order has already been shipped.")
        code = "already_shipped"
    else:
        message, code = _("Only a paid order can be shipped."), "not_paid"
    raise AppError(message, code=code, status_code=409)


def remaining_quantities(order: Order) -> dict[int, int]:
    """``{order item id: quantity not shipped yet}`` for each of ``order``'s items."""
    shipped = dict(
        ShipmentItem.objects.filter(shipment__order=order)
        .values("order_item")
        .annotate(n=Sum("quantity"))
        .values_list("order_item", "n")
    )
    return {
        pk: quantity - (shipped.get(pk) or 0)
        for pk, quantity in OrderItem.objects.filter(order=order).values_list("pk", "quantity")
    }


def mark_shipped(
    *,
    actor: User,
    order: Order,
    carrier: str,
    tracking_code: str,
    tracking_url: str = "",
    items: dict[int, int] | None = None,
) -> Shipment:
    """Record a shipment of ``order``: ``items`` maps order item ids to quantities
    (default: everything not shipped yet). The order becomes ``partially_shipped``
    or, once every item has left, ``shipped``; the customer gets a shipping card
    through the outbox (dedupe ``order:<id>:shipment:<n>``).

    Staff of the order's business who can see its conversation ("not found" for
    anyone else); only a paid order, not yet fully shipped. Atomic: the order row is
    locked first, so two clerks shipping the last items cannot both succeed.
    """
    if staff_membership(actor, order.conversation) is None:
        raise orders.order_not_found()
    carrier = _text(carrier, "carrier", MAX_CARRIER, _("Name the carrier."))
    tracking_code = _text(tracking_code, "tracking_code", MAX_CODE, _("Enter the tracking code."))
    if not CODE_RE.match(tracking_code):
        raise AppError(
            _("A tracking code has letters, digits, spaces and “.-/” only."),
            code="invalid",
            field="tracking_code",
        )
    tracking_url = _clean_url(tracking_url)
    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        check_shippable(locked)
        remaining = remaining_quantities(locked)
        wanted = _quantities(locked, items, remaining)
        number = locked.shipments.count() + 1
        shipment = Shipment.objects.create(
            order=locked,
            number=number,
            carrier=carrier,
            tracking_code=tracking_code,
            tracking_url=tracking_url,
            created_by=actor,
        )
        ShipmentItem.objects.bulk_create(
            [
                ShipmentItem(shipment=shipment, order_item_id=pk, quantity=q)
                for pk, q in wanted.items()
            ]
        )
        everything = all(remaining[pk] - wanted.get(pk, 0) == 0 for pk in remaining)
        to = STATUS.SHIPPED if everything else STATUS.PARTIALLY_SHIPPED
        data = {"shipment": number, "carrier": carrier, "tracking_code": tracking_code}
        if to != locked.status:
            transition_order(order=locked, to=to, actor=actor, data=data)
        else:
            AuditEvent.objects.create(
                order=locked, actor=actor, action="shipment", from_status=locked.status,
                to_status=locked.status, data=data,
            )  # fmt: skip
        names = dict(OrderItem.objects.filter(order=locked).values_list("pk", "name"))
        _schedule_notice(
            locked,
            f"shipment:{number}",
            event="shipped",
            shipment=number,
            complete=everything,
            carrier=carrier,
            tracking_code=tracking_code,
            tracking_url=tracking_url,
            items=[{"name": names[pk], "quantity": q} for pk, q in wanted.items()],
        )
    order.status = locked.status
    return shipment


def mark_delivered(*, actor: User, order: Order) -> Order:
    """The shipped order reached the customer: ``shipped`` → ``completed``, and a
    delivery card through the outbox (dedupe ``order:<id>:delivered``). Staff who can
    see the order's conversation ("not found" for anyone else). Atomic."""
    if staff_membership(actor, order.conversation) is None:
        raise orders.order_not_found()
    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        if locked.status != STATUS.SHIPPED:
            if locked.status == STATUS.COMPLETED:
                message, code = _("This order was already delivered."), "already_delivered"
            else:
                message = _("Ship every item of the order before marking it delivered.")
                code = "not_shipped"
            raise AppError(message, code=code, status_code=409)
        transition_order(order=locked, to=STATUS.COMPLETED, actor=actor, data={"delivered": True})
        _schedule_notice(locked, "delivered", event="delivered")
    order.status = locked.status
    return locked


def _schedule_notice(order: Order, step: str, *, event: str, **payload) -> None:
    """The customer's shipping card for ``order`` (locked, in the caller's
    transaction) through the outbox, once per ``step`` (dedupe ``order:<id>:<step>``)."""
    schedule_message(
        conversation=order.conversation,
        kind="shipping_update",
        dedupe_key=f"order:{order.pk}:{step}",
        payload={
            "event": event,
            "order_id": order.pk,
            "business_id": order.business_id,
            "number": order.number,
            **payload,
        },
    )
