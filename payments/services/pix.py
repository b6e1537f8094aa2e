"""Collected Pix: a charge per attempt, the provider's callback settles the order.

The sequence (docs/pix.md, "Collected Pix: the flow"):

1. **Start** (:func:`start_pix`): the order's customer asks to pay by Pix. Under the
   order's lock: the order must be payable, with no live payment; an active charge
   still valid is returned as it is (one active charge per order, a partial unique
   index); else a new ``PixCharge`` row (its txid, expiring with the order and at most
   ``PIX_CHARGE_MAX_SECONDS``) commits *before* the provider is asked for the ``cob``
   (idempotent per txid), then its BR Code is stored.
2. **Receive** (:func:`receive_pix`, from the callback or the reconciliation): one
   transaction per Pix. The ``ReceivedPix`` row goes in first; its unique
   ``endToEndId`` makes a replay a no-op. Then the charge, then the order are locked
   (always in that order, after which the settlement takes the same locks as a card's:
   business and products for the stock, the conversation for the receipt, the ledger
   accounts last). A Pix that pays its active charge in full, in time, for a pending
   order with no live payment becomes a succeeded ``Payment`` (method pix, fee
   ``fee_pix_bps``) posted to the ledger, with the receipt and the live card update of
   a card payment. Anything else is an anomaly, listed in Django admin.
3. **Return** an anomaly's money (:func:`refund_anomaly`) through the provider, after
   the commit; the beat retries what the provider did not answer.

A card payment of an order paid by Pix is refused by the card's own claim (the order
is no longer pending); a Pix for an order paid (or being paid) by card is an anomaly
(``paid_by_card``) and goes back: one live payment per order, whatever the method.
"""

import datetime
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import PixMode, User
from catalog.services import take_stock
from core.errors import AppError
from payments.models import AuditEvent, Order, Payment, PixCharge, ReceivedPix
from payments.pix import get_pix_provider, ledger_gateway
from payments.pix.base import ChargeStatus, RefundStatus
from payments.pix.base import ReceivedPix as ProviderPix
from payments.services import ledger, orders, paying

log = logging.getLogger(__name__)
ANOMALY = ReceivedPix.Anomaly
REFUND = ReceivedPix.RefundStatus
# A charge this close to its expiry is not handed out again: a new one is made.
REUSE_MARGIN = datetime.timedelta(minutes=1)
# A charge still without its code this long after its start lost its request.
STUCK_AFTER = datetime.timedelta(seconds=30)
# Anomalies whose return the provider did not answer are retried after this.
RETRY_AFTER = datetime.timedelta(minutes=1)


def new_txid() -> str:
    """A fresh txid: 32 letters and digits (Bacen: ``[a-zA-Z0-9]{26,35}``)."""
    return uuid.uuid4().hex


def active_charge(order: Order) -> PixCharge | None:
    """The order's charge still payable (and not about to expire), or None."""
    return (
        order.pix_charges.filter(
            status=PixCharge.Status.ACTIVE, expires_at__gt=timezone.now() + REUSE_MARGIN
        )
        .exclude(copy_paste="")
        .first()
    )


def start_pix(*, payer: User, order: Order) -> PixCharge:
    """The order's active Pix charge for its customer ``payer``, created at the
    provider when there is none. AppError: ``not_found`` (not the customer's order),
    ``not_payable``/``expired``, ``already_paying`` (a live payment),
    ``pix_unavailable`` (the business takes direct Pix, or the provider failed).

    Idempotent: calling it again returns the same charge while it is valid."""
    if order.customer_id != payer.pk:
        raise orders.order_not_found()
    existing = active_charge(order)
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            locked = (
                Order.objects.select_for_update(no_key=True, of=("self",))
                .select_related("business")
                .get(pk=order.pk)
            )
            paying.check_payable(locked)
            if locked.business.pix_mode != PixMode.COLLECTED:
                raise AppError(
                    _("This business does not take Pix through Conversa."),
                    code="pix_unavailable",
                )
            if locked.payments.filter(status__in=Payment.LIVE).exists():
                raise AppError(_("This order is already being paid."), code="already_paying")
            # Charges at their end, or whose start died before the provider answered,
            # make room for a new one (a start still under way keeps its charge: the
            # unique index sends this one to it below).
            stale = locked.pix_charges.filter(status=PixCharge.Status.ACTIVE).filter(
                Q(expires_at__lte=now + REUSE_MARGIN)
                | Q(copy_paste="", created_at__lt=now - STUCK_AFTER)
            )
            stale.update(status=PixCharge.Status.EXPIRED, closed_at=now)
            expires_at = min(
                locked.expires_at, now + datetime.timedelta(seconds=settings.PIX_CHARGE_MAX_SECONDS)
            )
            charge = PixCharge.objects.create(
                order=locked, business=locked.business, customer=payer,
                provider=get_pix_provider().name, txid=new_txid(), amount=locked.total,
                currency=locked.currency, expires_at=expires_at,
            )  # fmt: skip
            AuditEvent.objects.create(
                order=locked, actor=payer, action="pix_charge_created",
                data={"txid": charge.txid, "amount": charge.amount},
            )  # fmt: skip
    except IntegrityError:
        # A concurrent start won the one-active-charge index: use its charge.
        existing = order.pix_charges.filter(status=PixCharge.Status.ACTIVE).first()
        if existing is None:
            raise
        charge = existing
    if charge.copy_paste:
        return charge
    business = charge.business
    try:
        remote = get_pix_provider(charge.provider).create_charge(
            txid=charge.txid,
            amount=charge.amount,
            expires_in=max(1, int((charge.expires_at - now).total_seconds())),
            payee_name=business.name,
            description=f"{business.name} #{order.number}",
            payee_city=business.city,
        )
    except AppError:
        log.warning("Pix charge %s: the provider refused or failed", charge.txid)
        PixCharge.objects.filter(pk=charge.pk, status=PixCharge.Status.ACTIVE).update(
            status=PixCharge.Status.CANCELED, closed_at=timezone.now()
        )
        raise AppError(
            _("Pix is unavailable right now. Try again in a moment or pay by card."),
            code="pix_unavailable",
            status_code=503,
        ) from None
    PixCharge.objects.filter(pk=charge.pk).update(
        copy_paste=remote.copy_paste, location=remote.location
    )
    charge.copy_paste, charge.location = remote.copy_paste, remote.location
    return charge


def receive_pix(*, provider: str, pix: ProviderPix) -> ReceivedPix:
    """Record the Pix the provider reports and settle its order, or record the anomaly
    (see the module docstring). Idempotent by ``pix.end_to_end_id``: a replay returns
    the first record and changes nothing. One transaction; the caller then returns an
    anomaly's money (:func:`refund_anomaly`), outside it."""
    first = ReceivedPix.objects.filter(end_to_end_id=pix.end_to_end_id).first()
    if first is not None:
        return first
    try:
        with transaction.atomic():
            return _receive(provider, pix)
    except IntegrityError:
        # The same Pix delivered twice at once: the unique endToEndId decided.
        first = ReceivedPix.objects.filter(end_to_end_id=pix.end_to_end_id).first()
        if first is None:
            raise
        return first


def _receive(provider: str, pix: ProviderPix) -> ReceivedPix:
    record = ReceivedPix(
        provider=provider, end_to_end_id=pix.end_to_end_id, txid=pix.txid, amount=pix.amount,
        paid_at=pix.paid_at, payer_name=pix.payer_name[:140],
    )  # fmt: skip
    charge = (
        PixCharge.objects.select_for_update(no_key=True, of=("self",))
        .filter(txid=pix.txid, provider=provider)
        .first()
        if pix.txid
        else None
    )
    if charge is None:
        return _anomaly(record, ANOMALY.UNKNOWN_TXID)
    record.charge = charge
    record.order_id = charge.order_id
    order = paying.lock_order_to_settle(charge.order_id)
    live = order.payments.filter(status__in=Payment.LIVE).first()
    if charge.status == PixCharge.Status.PAID:
        return _anomaly(record, ANOMALY.ALREADY_PAID)
    if pix.amount != charge.amount:
        return _anomaly(record, ANOMALY.AMOUNT_DIFFERS)
    if live is not None:
        kind = ANOMALY.PAID_BY_CARD if live.method == Payment.Method.CARD else ANOMALY.ALREADY_PAID
        return _anomaly(record, kind)
    if charge.status != PixCharge.Status.ACTIVE or pix.paid_at >= charge.expires_at:
        return _anomaly(record, ANOMALY.LATE)
    if order.status != Order.Status.PENDING or order.total != charge.amount:
        late = order.status == Order.Status.EXPIRED
        return _anomaly(record, ANOMALY.LATE if late else ANOMALY.NOT_PAYABLE)
    try:
        with transaction.atomic():
            payment = _settle(order, charge, pix, provider)
    except AppError as exc:  # out of stock since the request: nothing paid
        log.info("Pix %s cannot pay order %s: %s", pix.end_to_end_id, order.pk, exc.code)
        return _anomaly(record, ANOMALY.NOT_PAYABLE)
    record.payment = payment
    record.save()
    return record


def _anomaly(record: ReceivedPix, kind: str) -> ReceivedPix:
    record.anomaly = kind
    record.refund_status = REFUND.PENDING
    record.refund_id = "R" + uuid.uuid4().hex  # ours, stable for the retries
    record.save()
    if record.charge_id:
        AuditEvent.objects.create(
            order_id=record.order_id, action="pix_anomaly",
            data={"end_to_end_id": record.end_to_end_id, "anomaly": kind, "amount": record.amount},
        )  # fmt: skip
    log.warning("Pix %s: anomaly %s", record.end_to_end_id, kind)
    return record


def _settle(order: Order, charge: PixCharge, pix: ProviderPix, provider: str) -> Payment:
    """The succeeded Pix payment of ``order`` (locked, as ``paying`` reads it), in
    the caller's transaction: the stock, the order → processing, the receipt, the
    charge paid, and the ledger last (docs/payments.md's lock order)."""
    now = timezone.now()
    business = charge.business
    payment = Payment.objects.create(
        order=order, payer_id=order.customer_id, business=business, method=Payment.Method.PIX,
        card=None, amount=pix.amount, fee=ledger.fee_for(pix.amount, business.fee_pix_bps),
        currency=charge.currency, status=Payment.Status.SUCCEEDED,
        confirmation=Payment.Confirmation.BANK, idempotency_key=f"pix:{pix.end_to_end_id}",
        gateway=ledger_gateway(provider), gateway_reference=pix.end_to_end_id,
        completed_at=now,
    )  # fmt: skip
    payment.order = order
    take_stock(business_id=order.business_id, quantities=paying.quantities(order))
    orders.transition_order(
        order=order, to=Order.Status.PROCESSING, actor=None,
        data={"payment": payment.pk, "method": "pix"}, order_locked=True,
        audit=[AuditEvent(order_id=order.pk, payment=payment, action="payment_succeeded",
                          from_status="", to_status=payment.status,
                          data={"method": "pix", "end_to_end_id": pix.end_to_end_id})],
    )  # fmt: skip
    paying.post_receipt(payment, order)
    charge.status = PixCharge.Status.PAID
    charge.payment = payment
    charge.closed_at = now
    charge.save(update_fields=["status", "payment", "closed_at"])
    ledger.post_pix_payment(payment=payment)
    return payment


def refund_anomaly(record: ReceivedPix) -> ReceivedPix:
    """Return an anomaly's Pix in full through its provider (outside any transaction;
    idempotent per the record's ``refund_id``). A provider that cannot be reached
    leaves it pending for :func:`retry_anomaly_refunds`."""
    if record.refund_status not in (REFUND.PENDING, REFUND.PROCESSING):
        return record
    try:
        result = get_pix_provider(record.provider).refund(
            end_to_end_id=record.end_to_end_id, refund_id=record.refund_id, amount=record.amount
        )
    except AppError as exc:
        log.warning("Pix %s: return not made (%s)", record.end_to_end_id, exc.code)
        if exc.status_code < 500:
            record.refund_status, record.refund_error = REFUND.FAILED, str(exc.message)[:255]
            record.save(update_fields=["refund_status", "refund_error"])
        return record
    record.refund_status = {
        RefundStatus.RETURNED: REFUND.RETURNED,
        RefundStatus.PROCESSING: REFUND.PROCESSING,
        RefundStatus.NOT_DONE: REFUND.FAILED,
    }[result.status]
    record.refund_reference = result.rtr_id[:64]
    record.save(update_fields=["refund_status", "refund_reference"])
    return record


def retry_anomaly_refunds(*, now: datetime.datetime | None = None) -> int:
    """Ask the provider again about anomalies whose return is not decided (beat)."""
    cutoff = (now or timezone.now()) - RETRY_AFTER
    done = 0
    waiting = ReceivedPix.objects.filter(
        refund_status__in=[REFUND.PENDING, REFUND.PROCESSING], received_at__lt=cutoff
    )
    for record in waiting[:100]:
        if refund_anomaly(record).refund_status not in (REFUND.PENDING, REFUND.PROCESSING):
            done += 1
    return done


def expire_charges(*, now: datetime.datetime | None = None) -> int:
    """Cancel at the provider the active charges past their expiry and mark them
    expired (beat: every minute). Idempotent; returns how many were closed."""
    now = now or timezone.now()
    closed = 0
    due = PixCharge.objects.filter(status=PixCharge.Status.ACTIVE, expires_at__lte=now)
    for charge in due.order_by("expires_at")[:200]:
        try:
            remote = get_pix_provider(charge.provider).cancel_charge(charge.txid)
        except AppError as exc:
            log.warning("Pix charge %s not canceled (%s); next run", charge.txid, exc.code)
            continue
        if remote.status == ChargeStatus.COMPLETED:
            continue  # paid at the last moment: its callback decides
        closed += PixCharge.objects.filter(pk=charge.pk, status=PixCharge.Status.ACTIVE).update(
            status=PixCharge.Status.EXPIRED, closed_at=now
        )
    return closed


def handle_callback(*, provider: str, body: bytes, headers) -> list[ReceivedPix]:
    """The provider's callback: authenticate it (AppError 401, nothing changed),
    record every Pix in it, then return the anomalies' money. Idempotent."""
    items = get_pix_provider(provider).parse_callback(body=body, headers=headers)
    records = [receive_pix(provider=provider, pix=item) for item in items]
    for record in records:
        if record.refund_status == REFUND.PENDING:
            refund_anomaly(record)
    return records
