"""Payment requests (orders): create one in a chat, change its status, cancel, expire.

:func:`transition_order` is the one place an order's status changes: it locks the
order, checks ``Order.TRANSITIONS``, writes the ``AuditEvent`` and refreshes the
order's card in the open chats (after the commit). Everything else here calls it.
"""

import datetime
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Business, User
from catalog.selectors import active_products
from chats import events
from chats.models import Conversation, Message, Participant, ScheduledMessage
from chats.selectors import staff_membership
from chats.services.conversations import start_conversation
from chats.services.messages import post_message
from chats.services.outbox import cancel_scheduled, schedule_message
from core import domain_events
from core.cards import refuse_card_number
from core.errors import AppError
from core.ids import MAX_ID
from core.money import MAX_MINOR, check_minor
from payments import hooks
from payments.models import AuditEvent, Order, OrderItem, Payment

STATUS = Order.Status
MAX_LINES = 50
MAX_QUANTITY = 999
MAX_NAME = OrderItem._meta.get_field("name").max_length
MAX_NOTE = Order._meta.get_field("note").max_length
MIN_EXPIRY = datetime.timedelta(hours=1)
MAX_EXPIRY = datetime.timedelta(days=7)
# A payment in one of these states blocks canceling (and expiring) the order.
LIVE_PAYMENT = Payment.LIVE


def order_not_found() -> AppError:
    """What anyone who may not see an order is told (404), by every order service."""
    return AppError(_("Order not found."), code="not_found", status_code=404)


def _amount(value: Any, field: str) -> int:
    """An amount in minor units, 0 ≤ x ≤ MAX_MINOR (core.money.check_minor)."""
    return check_minor(value, field=field)


def _quantity(value: Any, field: str) -> int:
    if type(value) is not int or not 1 <= value <= MAX_QUANTITY:
        raise AppError(
            _("The quantity must be a whole number from 1 to %(max)d.") % {"max": MAX_QUANTITY},
            code="invalid_quantity",
            field=field,
        )
    return value


def _clean_lines(business: Business, lines: Sequence[dict]) -> list[OrderItem]:
    """Validated, unsaved items; product lines snapshot the product's name and price now."""
    if not isinstance(lines, list | tuple) or not lines:
        raise AppError(_("Add at least one item."), code="no_items", field="lines")
    if len(lines) > MAX_LINES:
        raise AppError(
            _("A payment request can have at most %(max)d items.") % {"max": MAX_LINES},
            code="too_many_items",
            field="lines",
        )
    wanted = set()
    for line in lines:
        if not isinstance(line, dict):
            raise AppError(_("Invalid item."), code="invalid_line", field="lines")
        if "product_id" in line:
            pid = line["product_id"]
            if type(pid) is not int or not 0 < pid <= MAX_ID:
                raise AppError(_("Product not found."), code="product_not_found", field="lines")
            wanted.add(pid)
    products = {p.pk: p for p in active_products(business=business).filter(pk__in=wanted)}
    items = []
    for position, line in enumerate(lines):
        quantity = _quantity(line.get("quantity", 1), "lines")
        if "product_id" in line:
            product = products.get(line["product_id"])
            if product is None:
                raise AppError(_("Product not found."), code="product_not_found", field="lines")
            if product.currency != business.currency:
                raise AppError(
                    _("%(product)s is priced in another currency.") % {"product": product.name},
                    code="currency_mismatch",
                    field="lines",
                )
            name, unit_price = product.name[:MAX_NAME], product.price
        else:
            name = str(line.get("name") or "").replace("\x00", "").strip()
            if not name:
                raise AppError(_("Name each item."), code="invalid_line", field="lines")
            refuse_card_number(name, field="lines")
            if len(name) > MAX_NAME:
                raise AppError(
                    _("An item's name can have at most %(max)d characters.") % {"max": MAX_NAME},
                    code="invalid_line",
                    field="lines",
                )
            product, unit_price = None, _amount(line.get("unit_price"), "lines")
            if unit_price == 0:
                raise AppError(
                    _("Each item needs a price above zero."), code="invalid_amount", field="lines"
                )
        items.append(
            OrderItem(
                product=product,
                name=name,
                unit_price=unit_price,
                quantity=quantity,
                line_total=unit_price * quantity,
                position=position,
            )
        )
    return items


def _next_number(business: Business) -> int:
    """The business's next order number; the caller holds the business row's lock."""
    last = Order.objects.filter(business=business).aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def create_payment_request(
    *,
    actor: User,
    conversation: Conversation,
    lines: Sequence[dict],
    shipping: int = 0,
    discount: int = 0,
    note: str = "",
    expires_in: datetime.timedelta = datetime.timedelta(hours=24),
) -> Order:
    """A payment request from the business to the customer of ``conversation``, shown
    as a ``payment_request`` card in the chat.

    ``lines``: ``{"product_id", "quantity"}`` (this business's active products, name
    and price snapshotted now; stock is checked at payment) or ``{"name",
    "unit_price", "quantity"}``. Amounts are ints in minor units. The actor must be
    staff who can see the conversation (else "not found"). Atomic: the business row
    is locked to number the order, then the conversation (by ``post_message``).
    """
    if conversation.business_id is None or conversation.kind != Conversation.Kind.BUSINESS:
        raise AppError(
            _("Payment requests are sent in chats with a business."), code="not_business"
        )
    if staff_membership(actor, conversation) is None:
        raise AppError(_("Conversation not found."), code="not_found", status_code=404)
    shipping = _amount(shipping, "shipping")
    discount = _amount(discount, "discount")
    note = str(note or "").replace("\x00", "").strip()
    if len(note) > MAX_NOTE:
        raise AppError(
            _("The note can have at most %(max)d characters.") % {"max": MAX_NOTE},
            code="too_long",
            field="note",
        )
    refuse_card_number(note, field="note")
    if not isinstance(expires_in, datetime.timedelta) or not (
        MIN_EXPIRY <= expires_in <= MAX_EXPIRY
    ):
        raise AppError(
            _("A payment request expires after 1 hour to 7 days."),
            code="invalid_expiry",
            field="expires_in",
        )
    with transaction.atomic():
        business = Business.objects.select_for_update(no_key=True).get(pk=conversation.business_id)
        items = _clean_lines(business, lines)
        subtotal = sum(item.line_total for item in items)
        if subtotal > MAX_MINOR:
            raise AppError(_("That amount is too large."), code="money_too_large", field="lines")
        if discount > subtotal + shipping:
            raise AppError(
                _("The discount cannot be more than the items and shipping."),
                code="discount_too_large",
                field="discount",
            )
        total = subtotal + shipping - discount
        if total <= 0:
            raise AppError(
                _("The total must be more than zero."), code="total_not_positive", field="discount"
            )
        customer_id = (
            Participant.objects.filter(conversation=conversation, user__isnull=False)
            .values_list("user_id", flat=True)
            .get()
        )
        moment = timezone.now()
        order = Order.objects.create(
            business=business,
            conversation=conversation,
            customer_id=customer_id,
            number=_next_number(business),
            currency=business.currency,
            subtotal=subtotal,
            shipping=shipping,
            discount=discount,
            total=total,
            note=note,
            expires_at=moment + expires_in,
            created_by=actor,
            created_at=moment,
        )
        for item in items:
            item.order = order
        OrderItem.objects.bulk_create(items)
        AuditEvent.objects.create(
            order=order, actor=actor, action="created", to_status=order.status,
            data={"total": total, "currency": order.currency},
        )  # fmt: skip
        sender = Participant.objects.get(conversation=conversation, business_id=business.pk)
        message, _created = post_message(
            conversation=conversation,
            sender=sender,
            author=actor,
            kind="payment_request",
            payload={
                "order_id": order.pk,
                "business_id": business.pk,
                # Snapshots for the one-line preview (inbox list, e-mails): never change.
                "number": order.number,
                "total": total,
                "currency": order.currency,
            },
        )
        order.message = message
        Order.objects.filter(pk=order.pk).update(message=message)
        schedule_payment_reminder(order)
        domain_events.emit("order.created", business_id=business.pk, subject=order)
    return order


def transition_order(
    *,
    order: Order,
    to: str,
    actor: User | None = None,
    data: dict | None = None,
    order_locked: bool = False,
    audit: Sequence[AuditEvent] = (),
) -> Order:
    """Move ``order`` to status ``to``: the one place an order's status changes.

    Locks the order row (callers that already hold it may call this inside their
    transaction), refuses a move ``Order.TRANSITIONS`` does not allow (AppError
    ``illegal_transition``), stamps ``paid_at`` on → processing, writes an
    ``AuditEvent`` and, after the commit, re-renders the order's card in open chats.
    Returns the updated order (``order`` is updated too).

    ``order_locked=True``: the caller took the order's row lock in the enclosing
    transaction and read ``order`` under it (the paying service's settlement, which
    also loads the card's message with it); it is used as is, not read again, and
    the transition joins that transaction without a savepoint: if it fails, the
    caller's transaction fails with it.

    ``audit``: the caller's own audit rows of the same change (unsaved), inserted
    after the transition's in the same statement.
    """
    if order_locked and not transaction.get_connection().in_atomic_block:
        raise ValueError("order_locked=True needs the caller's transaction and its lock")
    with transaction.atomic(savepoint=not order_locked):
        locked = (
            order if order_locked else Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        )
        if not locked.can_become(to):
            raise AppError(
                _("This order cannot change from “%(from)s” to “%(to)s”.")
                % {"from": locked.get_status_display(), "to": dict(STATUS.choices).get(to, to)},
                code="illegal_transition",
                status_code=409,
            )
        from_status = locked.status
        locked.status = to
        fields = ["status"]
        if to == STATUS.PROCESSING:
            locked.paid_at = timezone.now()
            fields.append("paid_at")
        locked.save(update_fields=fields)
        AuditEvent.objects.bulk_create([
            AuditEvent(order=locked, actor=actor, action="status", from_status=from_status,
                       to_status=to, data=data or {}),
            *audit,
        ])  # fmt: skip
        if from_status == STATUS.PENDING:
            # Paid, canceled or expired: the reminder is moot (same transaction).
            cancel_scheduled(prefix=reminder_key(locked))
        hooks.order_status_changed(
            order=locked, from_status=from_status, to_status=to, data=data or {}
        )
        _refresh_card(locked)
    order.status, order.paid_at = locked.status, locked.paid_at
    return locked


def _refresh_card(order: Order) -> None:
    """Re-render the order's chat card for the open threads, after the commit.

    The card shows ``order`` itself (handed to the kind's prefetch, which then reads
    nothing); its message is the one loaded with the order when the caller did. The
    rendering (two languages, ~1 ms each) waits for the commit, so the transaction
    does not hold the order's, the payment's and the ledger's row locks meanwhile."""
    if order.message_id is None:
        return
    if Order._meta.get_field("message").is_cached(order):
        message = order.message
    else:
        message = (
            Message.objects.select_related("sender", "author", "conversation")
            .filter(pk=order.message_id)
            .first()
        )
    if message is not None:
        message.order = order
        _update_card_on_commit(message)
    # The reminder card, if one was sent, shows the order's status too. Most orders
    # are paid before it is due: ask whether there is one first (a plain query).
    # (The dedupe key is unique: no ordering to build.)
    reminder_ids = ScheduledMessage.objects.filter(
        dedupe_key=reminder_key(order), message__isnull=False
    ).values_list("message_id", flat=True)[:1]
    reminder_id = next(iter(reminder_ids), None)
    if reminder_id is not None:
        reminder = Message.objects.select_related("sender", "conversation").get(pk=reminder_id)
        reminder.order = order
        _update_card_on_commit(reminder)


def _update_card_on_commit(message: Message) -> None:
    """Render ``message`` (its ``order`` attached) and send it to the open threads once
    the transaction commits; a failure is logged (the threads catch up on reload)."""
    transaction.on_commit(
        lambda: events.push_message_update(message.conversation, message), robust=True
    )


def cancel_order(*, actor: User, order: Order) -> Order:
    """Cancel a pending order; the business's staff who can see its conversation only.

    Refused once a payment is pending or succeeded. Locks the order first, so a
    payment that locks it too (``services.paying``) cannot slip in between.
    """
    if staff_membership(actor, order.conversation) is None:
        raise order_not_found()
    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        if locked.status != STATUS.PENDING:
            raise AppError(
                _("Only an order awaiting payment can be canceled."),
                code="not_cancelable",
                status_code=409,
            )
        if locked.payments.filter(status__in=LIVE_PAYMENT).exists():
            raise AppError(
                _("This order is being paid or is paid: it cannot be canceled."),
                code="payment_in_progress",
                status_code=409,
            )
        transition_order(order=locked, to=STATUS.CANCELED, actor=actor)
    order.status = locked.status
    return locked


def expire_orders(*, now: datetime.datetime | None = None) -> int:
    """Expire the pending orders past their ``expires_at``; returns how many.

    Each order in its own transaction, rechecked under its lock (a payment may have
    started meanwhile: an order with a live payment is left to it). Idempotent.
    """
    now = now or timezone.now()
    due = list(
        Order.objects.filter(status=STATUS.PENDING, expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)
    )
    expired = 0
    for pk in due:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(no_key=True)
                .filter(pk=pk, status=STATUS.PENDING, expires_at__lte=now)
                .first()
            )
            if order is None or order.payments.filter(status__in=LIVE_PAYMENT).exists():
                continue
            transition_order(
                order=order, to=STATUS.EXPIRED, data={"expires_at": order.expires_at.isoformat()}
            )
            expired += 1
    return expired


# --- Carts -------------------------------------------------------------------------------


def send_cart(*, customer: User, business: Business, quantities: dict[int, int]):
    """The customer sends their cart into the chat with ``business`` (a ``cart``
    message the merchant turns into a payment request). Only this business's active
    products are kept; returns the message."""
    products = active_products(business=business).filter(pk__in=quantities)
    items = [
        {"product_id": p.pk, "quantity": quantities[p.pk]}
        for p in products.order_by("position", "name")
        if 0 < quantities[p.pk] <= 999
    ]
    if not items:
        raise AppError(_("Your cart is empty."), code="empty_cart")
    conversation, _created = start_conversation(customer=customer, business=business)
    side = Participant.objects.get(conversation=conversation, user=customer)
    message, _created = post_message(
        conversation=conversation,
        sender=side,
        author=customer,
        kind="cart",
        payload={"business_id": business.pk, "items": items},
    )
    return message


def cart_lines(message) -> list[dict]:
    """A ``cart`` message's lines as ``create_payment_request`` takes them."""
    items = message.payload.get("items") if message.kind == "cart" else None
    return [
        {"product_id": item["product_id"], "quantity": item["quantity"]}
        for item in items or []
        if type(item.get("product_id")) is int and type(item.get("quantity")) is int
    ]


# --- Reminders -----------------------------------------------------------------------------


def reminder_key(order: Order) -> str:
    return f"order:{order.pk}:reminder"


def schedule_payment_reminder(order: Order) -> None:
    """Schedule the one reminder of an unpaid payment request, ``PAYMENT_REMINDER_BEFORE``
    seconds before it expires, through the outbox (dedupe ``order:<id>:reminder``);
    none if that moment has passed. Canceled by :func:`transition_order` when the
    order leaves ``pending`` (paid, canceled, expired). Call it in the order's
    transaction."""
    due_at = order.expires_at - datetime.timedelta(seconds=settings.PAYMENT_REMINDER_BEFORE)
    if due_at <= timezone.now():
        return
    schedule_message(
        conversation=order.conversation,
        kind="payment_reminder",
        dedupe_key=reminder_key(order),
        due_at=due_at,
        payload={
            "order_id": order.pk,
            "business_id": order.business_id,
            "number": order.number,
            "total": order.total,
            "currency": order.currency,
        },
    )
