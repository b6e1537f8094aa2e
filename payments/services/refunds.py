"""Refunds: a business's owner or admin gives part or all of a paid order back.

The sequence (docs/payments.md, "Refunds") mirrors paying, in the safe order:

1. **Claim** (one transaction): lock the payment row, check the amount against what
   is left to refund (``Payment.refunded`` moves only under this lock), compute our
   fee's share, insert a *pending* :class:`~payments.models.Refund` with its
   idempotency key and **post** it (merchant payable −(amount − fee share), revenue
   −fee share, clearing +amount). Posting at the claim reserves the merchant's money:
   if the payable balance cannot cover it the ledger refuses and nothing is written
   (``insufficient_balance`` → a clear message), and no payout or other refund can
   spend it while the gateway is called. The claim commits before the gateway call.
2. **Gateway** ``refund(reference, amount, idempotency_key)`` outside any
   transaction: a retry with the same key returns the first refund, never a second.
3. **Settle** (one transaction, payment then refund locked): succeeded → the gateway
   refund id stored, the payment and the order (partially) refunded, a refund card in
   the chat; refused by the gateway → the refund failed and a reversal posting gives
   the merchant the money back; gateway unreachable → the refund stays pending and
   :func:`retry_pending_refunds` (beat) asks again with the same key.
"""

import datetime
import hashlib
import logging
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from chats.models import Participant
from chats.services.messages import post_message
from core import domain_events
from core.errors import AppError
from core.money import check_minor, format_money
from payments.gateway import get_gateway
from payments.models import AuditEvent, Order, Payment, Refund
from payments.pix import get_pix_provider, provider_of
from payments.pix.base import RefundStatus
from payments.services import ledger, orders

log = logging.getLogger(__name__)
ROLE = Membership.Role
MAX_REASON = Refund._meta.get_field("reason").max_length
# Gateway answers that mean "not now", not "no": the refund stays pending.
TRANSIENT = {"gateway_unavailable", "gateway_pending", "gateway_busy"}
RETRY_AFTER = datetime.timedelta(minutes=1)


def new_refund_key() -> str:
    """A one-time token for a refund form: submitting it twice refunds once."""
    return uuid.uuid4().hex


def fee_share(*, fee: int, total: int, refunded_before: int, fee_before: int, amount: int) -> int:
    """Our fee's share for refunding ``amount`` of a payment of ``total`` that carried
    ``fee``, when ``refunded_before`` (with ``fee_before`` of fee) is already refunded.

    Cumulative rounding, half up, integers only: the refunds up to and including this
    one give back ``round(fee × refunded / total)`` in all, so each share is
    proportional and the refund that completes the payment takes exactly the
    remainder (``fee − fee_before``); the shares always sum to ``fee``.
    """
    after = refunded_before + amount
    target = (2 * fee * after + total) // (2 * total)  # round half up
    if after == total:
        target = fee
    return max(0, min(amount, target - fee_before))


def _can_refund(actor: User, order: Order) -> None:
    """Owners and admins of the order's business; agents are told no, anyone else
    gets "not found"."""
    role = (
        Membership.objects.filter(
            user=actor, business_id=order.business_id, business__is_active=True
        )
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise orders.order_not_found()
    if role not in (ROLE.OWNER, ROLE.ADMIN):
        raise AppError(
            _("Only the business's owners and admins can refund."),
            code="forbidden",
            status_code=403,
        )


def _clean(amount, reason) -> tuple[int, str]:
    check_minor(amount, positive=True, zero_message=_("The refund must be more than zero."))
    reason = (reason or "").replace("\x00", "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise AppError(_("Say why you are refunding."), code="reason_missing", field="reason")
    if len(reason) > MAX_REASON:
        raise AppError(
            _("At most %(n)d characters.") % {"n": MAX_REASON}, code="too_long", field="reason"
        )
    return amount, reason


def refundable_payment(order: Order) -> Payment | None:
    """The order's charged payment (there is at most one), or None."""
    return order.payments.filter(status__in=Payment.SETTLED).first()


def refund_order(
    *, actor: User, order: Order, amount: int, reason: str, idempotency_key: str
) -> Refund:
    """Refund ``amount`` minor units of ``order``'s payment to the customer's card.

    Who: an owner or admin of the order's business (agents: AppError ``forbidden``;
    anyone else ``not_found``). Returns the refund — succeeded, or pending when the
    gateway could not be reached (it is retried with the same key). Raises AppError
    for bad input, ``not_paid``, ``refund_too_large`` (above what is left),
    ``insufficient_balance`` (the merchant's balance cannot cover it) and a gateway
    refusal (after recording it and reversing the posting).

    Idempotent per ``idempotency_key``: a repeat returns the first refund.
    """
    _can_refund(actor, order)
    if order.paid_outside:
        # Direct Pix: the money went straight to the business (docs/pix.md).
        raise AppError(
            _("This order was paid by Pix straight to your account: return it from your bank."),
            code="paid_outside",
            status_code=409,
        )
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.order_id != order.pk:
            raise AppError(_("This refund form was already used."), code="key_reused")
        if existing.status == Refund.Status.PENDING:
            existing = _send(existing)  # a retry asks the gateway again, same key
        return _outcome(existing)
    amount, reason = _clean(amount, reason)
    refund = _claim(actor=actor, order=order, amount=amount, reason=reason, key=idempotency_key)
    if refund.status != Refund.Status.PENDING:
        return _outcome(refund)
    return _outcome(_send(refund))


def _claim(*, actor: User, order: Order, amount: int, reason: str, key: str) -> Refund:
    try:
        with transaction.atomic():
            payment = (
                Payment.objects.select_for_update(no_key=True, of=("self",))
                .select_related("business")
                .filter(order=order, status__in=Payment.SETTLED)
                .first()
            )
            if payment is None:
                raise AppError(_("This order has not been paid."), code="not_paid", status_code=409)
            if amount > payment.refundable:
                raise AppError(
                    _("You can refund at most %(left)s of this order.")
                    % {"left": format_money(payment.refundable, payment.currency)},
                    code="refund_too_large",
                    field="amount",
                )
            fee_before = (
                payment.refunds.filter(
                    status__in=[Refund.Status.PENDING, Refund.Status.SUCCEEDED]
                ).aggregate(total=Sum("fee"))["total"]
                or 0
            )
            share = fee_share(
                fee=payment.fee,
                total=payment.amount,
                refunded_before=payment.refunded,
                fee_before=fee_before,
                amount=amount,
            )
            refund = Refund.objects.create(
                payment=payment,
                order_id=payment.order_id,
                amount=amount,
                fee=share,
                currency=payment.currency,
                reason=reason,
                idempotency_key=key,
                gateway=payment.gateway,
                created_by=actor,
            )
            payment.refunded += amount
            payment.save(update_fields=["refunded"])
            AuditEvent.objects.create(
                order_id=payment.order_id, payment=payment, actor=actor, action="refund_started",
                to_status=refund.status, data={"refund": refund.pk, "amount": amount},
            )  # fmt: skip
            try:
                ledger.post_refund(refund=refund, payment=payment)
            except AppError as exc:
                if exc.code != "insufficient_balance":
                    raise
                balance = ledger.account_for_business(payment.business, payment.currency).balance
                raise AppError(
                    _(
                        "The balance of %(balance)s cannot cover this refund (%(needed)s would "
                        "be taken from it). Wait for new sales or refund less."
                    )
                    % {
                        "balance": format_money(balance, payment.currency),
                        "needed": format_money(amount - share, payment.currency),
                    },
                    code="insufficient_balance",
                    field="amount",
                    status_code=409,
                ) from None
            domain_events.emit("refund.created", business_id=payment.business_id, subject=refund)
    except IntegrityError:
        # The same key from a concurrent double submit: the unique key decided.
        first = Refund.objects.filter(idempotency_key=key).first()
        if first is None:
            raise
        return first
    return refund


def _send(refund: Refund) -> Refund:
    """Ask the gateway (outside any transaction), then settle."""
    payment = refund.payment
    if payment.method == Payment.Method.PIX:
        return _send_pix(refund, payment)
    try:
        reference = get_gateway(refund.gateway).refund(
            reference=payment.gateway_reference,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
        )
    except AppError as exc:
        if exc.code in TRANSIENT:
            log.warning("refund %s pending: gateway said %s", refund.pk, exc.code)
            return refund
        return _settle(refund, reference="", error=exc)
    return _settle(refund, reference=reference, error=None)


def pix_refund_id(refund: Refund) -> str:
    """The return's id at the Pix provider (``[a-zA-Z0-9]{1,35}``), from the refund's
    idempotency key: the same key, the same return."""
    return "F" + hashlib.sha256(refund.idempotency_key.encode()).hexdigest()[:34]


def _send_pix(refund: Refund, payment: Payment) -> Refund:
    """A Pix payment goes back by Pix: the provider's return (``devolucao``) of the
    Pix that paid, keyed by the refund's own key (idempotent per (e2eid, id)). A
    return still processing stays pending and is asked again like a gateway that did
    not answer."""
    try:
        result = get_pix_provider(provider_of(payment.gateway)).refund(
            end_to_end_id=payment.gateway_reference,
            refund_id=pix_refund_id(refund),
            amount=refund.amount,
        )
    except AppError as exc:
        if exc.status_code >= 500:
            log.warning("refund %s pending: Pix provider said %s", refund.pk, exc.code)
            return refund
        return _settle(refund, reference="", error=exc)
    if result.status == RefundStatus.PROCESSING:
        return refund
    if result.status == RefundStatus.NOT_DONE:
        error = AppError(_("The Pix could not be returned."), code="pix_refund_refused")
        return _settle(refund, reference="", error=error)
    return _settle(refund, reference=result.rtr_id or result.refund_id, error=None)


def _settle(refund: Refund, *, reference: str, error: AppError | None) -> Refund:
    with transaction.atomic():
        payment = Payment.objects.select_for_update(no_key=True, of=("self",)).get(
            pk=refund.payment_id
        )
        refund = Refund.objects.select_for_update(no_key=True).get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            return refund  # settled by a concurrent retry
        refund.completed_at = timezone.now()
        if error is None:
            refund.status = Refund.Status.SUCCEEDED
            refund.gateway_reference = reference
            refund.save()
            done = (
                payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(
                    total=Sum("amount")
                )["total"]
                or 0
            )
            before = payment.status
            full = done >= payment.amount
            payment.status = Payment.Status.REFUNDED if full else Payment.Status.PARTIALLY_REFUNDED
            payment.save(update_fields=["status"])
            order = orders.transition_order(
                order=refund.order,
                to=Order.Status.REFUNDED if full else Order.Status.PARTIALLY_REFUNDED,
                actor=refund.created_by,
                data={"refund": refund.pk, "amount": refund.amount},
            )
            AuditEvent.objects.create(
                order=order, payment=payment, actor=refund.created_by, action="refund_succeeded",
                from_status=before, to_status=payment.status,
                data={"refund": refund.pk, "amount": refund.amount, "reference": reference},
            )  # fmt: skip
            _post_card(refund, order)
        else:
            refund.status = Refund.Status.FAILED
            refund.failure_code = error.code[:40]
            refund.failure_message = str(error.message)[:255]
            refund.save()
            Payment.objects.filter(pk=payment.pk).update(refunded=payment.refunded - refund.amount)
            AuditEvent.objects.create(
                order_id=refund.order_id, payment=payment, actor=refund.created_by,
                action="refund_failed", to_status=refund.status,
                data={"refund": refund.pk, "code": error.code},
            )  # fmt: skip
            ledger.post_refund_reversal(refund=refund, payment=payment)
    return refund


def _post_card(refund: Refund, order: Order) -> None:
    """The refund card, live in both sides' chat (kind ``refund``)."""
    business_side = Participant.objects.get(
        conversation_id=order.conversation_id, business_id=order.business_id
    )
    post_message(
        conversation=order.conversation,
        sender=business_side,
        author=refund.created_by,
        kind="refund",
        payload={
            "refund_id": refund.pk,
            "order_id": order.pk,
            "number": order.number,
            "amount": refund.amount,
            "currency": refund.currency,
        },
    )


def _outcome(refund: Refund) -> Refund:
    if refund.status == Refund.Status.FAILED:
        raise AppError(
            refund.failure_message or _("The refund was refused."),
            code=refund.failure_code or "refund_failed",
        )
    return refund


def retry_pending_refunds(*, now: datetime.datetime | None = None) -> int:
    """Ask the gateway again, with the same keys, for refunds left pending (the
    gateway was unreachable). Beat runs it every minute; returns how many settled."""
    cutoff = (now or timezone.now()) - RETRY_AFTER
    settled = 0
    for refund in Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=cutoff)[:100]:
        if _send(refund).status != Refund.Status.PENDING:
            settled += 1
    return settled


def list_refunds(*, order: Order) -> list[Refund]:
    """The order's refunds, newest first (the caller has checked who may see them)."""
    return list(order.refunds.select_related("created_by"))
