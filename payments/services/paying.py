"""Paying an order: confirm, charge once, post, tell the chat.

The sequence (docs/payments.md, "Paying"):

1. **Confirm** who is paying: the payment PIN (``pins.verify_pin``, whose attempt
   counter commits on its own) or a fingerprint whose WebAuthn challenge is bound to
   this order's amount, currency and payee (``webauthn.verify_payment``).
2. **Claim** the order: in one transaction, lock the order, check it can still be
   paid and that the stock is there, and insert a *pending* ``Payment`` with the
   attempt's idempotency key. Two constraints make this exactly-once whatever the
   clients do: the key is unique (a double click or a replayed request finds the
   first attempt), and an order has at most one live (pending or succeeded) payment
   (two tabs or fifty concurrent confirmations: one wins, the others are told the
   order is already being paid). The claim commits *before* the gateway is called:
   no network call ever runs inside a database transaction.
3. **Charge** the gateway with the payment's idempotency key, so a retry after a
   timeout returns the first charge instead of making a second.
4. **Settle** in one transaction: succeeded → the payment, the ledger posting
   (clearing −amount, merchant +net, revenue +fee), the order → processing, the stock
   taken, a receipt in the chat; declined → the payment failed with the reason,
   nothing posted, the order still pending so the customer can retry with another
   card; 3-D Secure → the payment stays pending until the challenge completes
   (:func:`complete_action`).
"""

import uuid

from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.selectors import check_stock
from catalog.services import take_stock
from chats.models import Participant
from chats.services.messages import post_message
from core.errors import AppError
from payments.gateway import get_gateway
from payments.gateway.base import ChargeResult
from payments.models import AuditEvent, Card, Order, Payment
from payments.services import ledger, orders, pins, recovery, webauthn

LIVE = Payment.LIVE


def new_attempt_key() -> str:
    """A one-time token for a pay form: submitting it twice pays once."""
    return uuid.uuid4().hex


def payee_of(order: Order) -> str:
    return f"business:{order.business_id}"


def check_payable(order: Order) -> None:
    if order.status != Order.Status.PENDING:
        raise AppError(_("This order cannot be paid any more."), code="not_payable")
    if order.expires_at <= timezone.now():
        raise AppError(_("This payment request has expired."), code="expired")


def quantities(order: Order) -> dict[int, int]:
    """The order's catalog products and how many of each (``{product id: quantity}``)."""
    found: dict[int, int] = {}
    for item in order.items.all():
        if item.product_id:
            found[item.product_id] = found.get(item.product_id, 0) + item.quantity
    return found


def pay_order(
    *,
    payer: User,
    order: Order,
    card: Card,
    confirmation: str,
    idempotency_key: str,
    pin: str | None = None,
    webauthn_response: dict | None = None,
) -> Payment:
    """Pay ``order`` with ``card``; returns the payment (succeeded, or pending with
    ``action_url`` for 3-D Secure). Raises :class:`AppError` for a refused
    confirmation, an order that cannot be paid, or a decline (after recording it).

    Idempotent per ``idempotency_key``: a repeat returns the first attempt's payment;
    if that attempt is still pending with no answer from the gateway (its request died
    after the claim), the repeat recovers it first (``recovery.resume_attempt``: found
    by the key at the gateway and settled, or AppError ``payment_in_progress``).
    """
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.payer_id != payer.pk or existing.order_id != order.pk:
            raise AppError(_("This payment form was already used."), code="key_reused")
        # A first request that died before its settlement: ask the gateway now.
        return charge_outcome(recovery.resume_attempt(existing))
    if order.customer_id != payer.pk:
        raise orders.order_not_found()
    if card.user_id != payer.pk or card.removed_at is not None:
        raise AppError(_("Choose one of your cards."), code="card_invalid", field="card")
    check_payable(order)

    if confirmation == Payment.Confirmation.PIN:
        pins.verify_pin(user=payer, pin=pin or "")
    elif confirmation == Payment.Confirmation.WEBAUTHN:
        webauthn.verify_payment(
            user=payer,
            order=order,
            amount=order.total,
            currency=order.currency,
            payee=payee_of(order),
            response=webauthn_response or {},
        )
    else:
        raise AppError(_("Confirm with your PIN or your fingerprint."), code="confirmation")

    payment = _claim(
        payer=payer, order=order, card=card, confirmation=confirmation, key=idempotency_key
    )
    result = get_gateway(card.gateway).charge(
        token=card.token,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        description=f"{payment.business.name} #{order.number}",
    )
    payment = _settle(payment, result)
    recovery.refund_late_charge(payment=payment, result=result)
    return charge_outcome(payment)


def _claim(*, payer: User, order: Order, card: Card, confirmation: str, key: str) -> Payment:
    """Insert the pending payment under the order's lock (see the module docstring)."""
    try:
        with transaction.atomic():
            locked = (
                Order.objects.select_for_update(no_key=True, of=("self",))
                .select_related("business")
                .get(pk=order.pk)
            )
            check_payable(locked)
            # Read, not left to ``payment_one_live_per_order``: inserting beside a live
            # payment whose settlement is under way would wait for that transaction,
            # which waits for the order lock held here (a deadlock).
            if locked.payments.filter(status__in=LIVE).exists():
                raise AppError(_("This order is already being paid."), code="already_paying")
            check_stock(business_id=locked.business_id, quantities=quantities(locked))
            payment = Payment.objects.create(
                order=locked,
                payer=payer,
                business=locked.business,
                card=card,
                amount=locked.total,
                fee=ledger.fee_for(locked.total, locked.business.fee_bps),
                currency=locked.currency,
                confirmation=confirmation,
                idempotency_key=key,
                gateway=card.gateway,
            )
            AuditEvent.objects.create(
                order=locked, payment=payment, actor=payer, action="payment_started",
                to_status=payment.status,
            )  # fmt: skip
    except IntegrityError:
        # The same key from a concurrent double submit, or another live payment
        # that committed between our check and our insert: the database decided.
        first = Payment.objects.filter(idempotency_key=key).first()
        if first is not None:
            return first
        raise AppError(_("This order is already being paid."), code="already_paying") from None
    return payment


def _settle(payment: Payment, result: ChargeResult) -> Payment:
    """Record the gateway's ``result`` on the pending ``payment`` in one transaction
    (see the module docstring). Locks the payment (when it succeeded, by the
    ``UPDATE`` that marks it, :func:`_mark_succeeded`), then — when it succeeded — the
    order, read once with what the order's card and the receipt need; then stock
    takes the business and product rows, the receipt the conversation, and the
    ledger its accounts, last (docs/payments.md, "Paying")."""
    given = payment
    with transaction.atomic():
        if result.status == "succeeded":
            payment = _mark_succeeded(given, result)
            if payment is None:  # settled by a concurrent retry of the same attempt
                return Payment.objects.get(pk=given.pk)
            order = lock_order_to_settle(payment.order_id)
            payment.order = order
            take_stock(business_id=payment.business_id, quantities=quantities(order))
            # The payment's audit row goes in with the order's (one INSERT).
            orders.transition_order(
                order=order, to=Order.Status.PROCESSING, actor=payment.payer,
                data={"payment": payment.pk}, order_locked=True,
                audit=[_payment_event(payment, result, Payment.Status.PENDING)],
            )  # fmt: skip
            post_receipt(payment, order)
            # Last: the clearing and revenue rows every payment updates then stay
            # locked only from here to the commit.
            ledger.post_card_payment(payment=payment)
            return payment
        payment = Payment.objects.select_for_update(no_key=True).get(pk=given.pk)
        if payment.status != Payment.Status.PENDING:
            return payment  # settled by a concurrent retry of the same attempt
        # The payer and card the claim was made with (read only if not at hand).
        payment.payer, payment.card = given.payer, given.card
        before = payment.status
        payment.gateway_reference = result.reference or payment.gateway_reference
        payment.funding = result.funding or payment.funding
        fields = ["status", "gateway_reference", "funding"]
        if result.status == "requires_action":
            # Still pending; the audit event keeps where the challenge is.
            payment.save(update_fields=fields)
        else:
            payment.status = Payment.Status.FAILED
            payment.failure_code = result.failure_code[:40]
            payment.failure_message = result.failure_message[:255]
            payment.completed_at = timezone.now()
            payment.save(update_fields=[*fields, "failure_code", "failure_message", "completed_at"])
        _payment_event(payment, result, before).save()
    return payment


def _mark_succeeded(given: Payment, result: ChargeResult) -> Payment | None:
    """Mark the pending payment ``given`` succeeded in one ``UPDATE … WHERE status =
    'pending'``, which also takes its row lock (the first of the settlement's locks);
    None if it was not pending any more (a concurrent retry settled it). A pending
    payment's other columns do not change, so ``given`` is returned updated, not read
    again."""
    changes = {"status": Payment.Status.SUCCEEDED, "completed_at": timezone.now()}
    if result.reference:
        changes["gateway_reference"] = result.reference
    if result.funding:
        changes["funding"] = result.funding
    if not Payment.objects.filter(pk=given.pk, status=Payment.Status.PENDING).update(**changes):
        return None
    for name, value in changes.items():
        setattr(given, name, value)
    return given


def _payment_event(payment: Payment, result: ChargeResult, before: str) -> AuditEvent:
    """The audit row of the gateway's answer (unsaved), once ``payment.status`` is set."""
    return AuditEvent(
        order_id=payment.order_id,
        payment=payment,
        actor=payment.payer,
        action="payment_" + result.status,
        from_status=before,
        to_status=payment.status,
        data={"code": result.failure_code, "action_url": result.action_url},
    )


def lock_order_to_settle(order_id: int) -> Order:
    """The order under its row lock, with its conversation, the message of its card
    (and that message's sender, the business's side of the chat: the receipt's
    sender too) and its items: two queries."""
    order = (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("conversation", "message__sender")
        .get(pk=order_id)
    )
    prefetch_related_objects([order], "items")
    if order.message is not None:
        order.message.conversation = order.conversation  # the card is in the order's chat
    return order


def business_side(order: Order) -> Participant:
    """The business's participant in the order's chat: the sender of the order's card
    (read only for an order without one)."""
    sender = order.message.sender if order.message is not None else None
    if sender is not None and sender.business_id == order.business_id:
        return sender
    return Participant.objects.get(
        conversation_id=order.conversation_id, business_id=order.business_id
    )


def post_receipt(payment: Payment, order: Order) -> None:
    """The receipt card, in both sides' chat, live (kind ``payment_receipt``).
    ``order`` is read by :func:`lock_order_to_settle`; the card renders ``payment``
    as it is (its order and card at hand), without reading it back."""
    post_message(
        conversation=order.conversation,
        sender=business_side(order),
        kind="payment_receipt",
        payload={
            "payment_id": payment.pk,
            "order_id": order.pk,
            "number": order.number,
            "amount": payment.amount,
            "currency": payment.currency,
        },
        attached={"payment": payment},
    )


def charge_outcome(payment: Payment) -> Payment:
    """The payment, or its decline as an AppError (its reason, its code): what a
    card charge returns to the payer, here and in ``p2p``."""
    if payment.status == Payment.Status.FAILED:
        raise AppError(
            payment.failure_message or _("The card was declined."),
            code=payment.failure_code or "declined",
        )
    return payment


def resume_payment(*, payer: User, payment: Payment) -> Payment:
    """After the 3-D Secure challenge: read the charge as the gateway now has it and
    settle. Only the payer's own payment; calling it again changes nothing."""
    if payment.payer_id != payer.pk:
        raise AppError(_("Payment not found."), code="not_found", status_code=404)
    if payment.status != Payment.Status.PENDING:
        return charge_outcome(payment)
    if not payment.gateway_reference:
        # The request that charged died before recording the charge: find it by key.
        return charge_outcome(recovery.resume_attempt(payment))
    result = get_gateway(payment.gateway).retrieve(payment.gateway_reference)
    if result.status == "requires_action":
        return payment
    return charge_outcome(_settle(payment, result))


def action_url(payment: Payment) -> str:
    """Where a pending 3-D Secure payment's customer answers the bank ("" if none)."""
    if payment.status != Payment.Status.PENDING:
        return ""
    event = payment.events.filter(action="payment_requires_action").order_by("-pk").first()
    return (event.data.get("action_url") or "") if event else ""
