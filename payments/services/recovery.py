"""Recovery: money whose process died between the outside call and its settlement.

Every card charge (an order's or a friend's) is claimed as a *pending* payment with its
idempotency key committed **before** the gateway is called, and the call carries that
key. A process that dies after the charge and before the settlement (``kill -9``, a
deploy, an out-of-memory kill) therefore leaves a pending payment whose charge the
gateway can find by the key even though we never learned its reference
(``Gateway.find_charge``). :func:`recover_payment` asks and settles through the same
``_settle`` as the request would have (posting, order paid, receipt in the chat, under
the same locks, exactly once: ``_settle`` re-reads the payment under its row lock), or
fails the payment and frees the order when the gateway has no charge for the key.

Who calls it: the beat job (``tasks.recover_stranded_money``, every minute) for the
payments pending longer than ``PAYMENT_RECOVERY_GRACE``, and a customer's retry of the
same attempt (``paying.pay_order``/``p2p.send_money`` with the same key). One recovery
at a time per payment: a conditional UPDATE of ``Payment.recovery_lease_until``
(:data:`LEASE`) claims it, and the beat picks with ``SKIP LOCKED`` so it never waits
on a settlement under way. docs/payments.md, "Recovery".
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import AppError
from payments.gateway import get_gateway
from payments.gateway.base import ChargeResult
from payments.models import Payment

log = logging.getLogger(__name__)

# How long one recovery holds a payment: longer than a gateway call takes (Stripe's
# client gives up after 80 s).
LEASE = datetime.timedelta(minutes=2)
BATCH = 100
NOT_CHARGED = "not_charged"


def _claimable(now: datetime.datetime) -> Q:
    return Q(status=Payment.Status.PENDING) & (
        Q(recovery_lease_until__isnull=True) | Q(recovery_lease_until__lte=now)
    )


def _claim(payment: Payment, now: datetime.datetime) -> bool:
    """Take the payment's recovery lease; False when another recovery holds it or it
    is no longer pending. One UPDATE: of two claimants, one wins."""
    return bool(
        Payment.objects.filter(_claimable(now), pk=payment.pk).update(
            recovery_lease_until=now + LEASE
        )
    )


def recover_payment(*, payment: Payment, now: datetime.datetime | None = None) -> Payment:
    """Learn what became of the pending ``payment`` at the gateway and settle it.

    Safe to call at any time, from anywhere, any number of times: it never charges,
    and settlement happens once. Returns the payment as it now stands — still pending
    when another recovery holds it, the gateway cannot tell yet, a 3-D Secure
    challenge is still open, or no charge is found while a charge could still be on
    its way (younger than ``PAYMENT_RECOVERY_ABANDON_AFTER`` plus the gateway's search
    lag). Call it outside any transaction (it calls the gateway)."""
    now = now or timezone.now()
    if payment.status != Payment.Status.PENDING or not _claim(payment, now):
        return payment
    return _recover(payment, now)


def _recover(payment: Payment, now: datetime.datetime) -> Payment:
    """The claimed ``payment``: ask, then settle (see :func:`recover_payment`)."""
    gateway = get_gateway(payment.gateway)
    age = (now - payment.created_at).total_seconds()
    try:
        if payment.gateway_reference:
            result = gateway.retrieve(payment.gateway_reference)
        else:
            result = gateway.find_charge(idempotency_key=payment.idempotency_key)
        if (
            result is not None
            and result.status == ChargeResult.REQUIRES_ACTION
            and age >= settings.PAYMENT_ACTION_TIMEOUT
        ):
            # The customer never answered the bank: give the challenge up (the
            # gateway cancels it; a challenge approved meanwhile reads succeeded).
            result = gateway.complete_action(reference=result.reference, approve=False)
    except AppError as exc:
        log.warning("payment %s: recovery postponed, the gateway said %s", payment.pk, exc.code)
        return payment
    if result is None:
        if age < settings.PAYMENT_RECOVERY_ABANDON_AFTER + getattr(gateway, "search_lag", 0):
            return payment  # a charge may still be on its way: ask again later
        result = ChargeResult(
            ChargeResult.FAILED,
            "",
            failure_code=NOT_CHARGED,
            failure_message=_("The payment did not go through and nothing was charged."),
        )
    if result.status == ChargeResult.REQUIRES_ACTION and payment.gateway_reference:
        return payment  # already recorded; the challenge is still open
    return _settle(payment, result)


def _settle(payment: Payment, result: ChargeResult) -> Payment:
    # Imported here, not at the top: a cycle forces it. ``paying`` and ``p2p`` call
    # this module (``resume_attempt``: a retried attempt recovers before it answers)
    # and it settles through theirs; the recursion is the design (one ``_settle`` per
    # kind of payment, the request's and the recovery's alike).
    from payments.services import p2p, paying

    if payment.order_id is None:
        return p2p._settle(payment, result)
    return paying._settle(payment, result)


def refund_late_charge(*, payment: Payment, result: ChargeResult) -> None:
    """The request that made ``payment`` got the gateway's ``result`` only after
    recovery had failed the attempt as never charged (a gateway call slower than
    ``PAYMENT_RECOVERY_ABANDON_AFTER``): give that charge back at once, keyed, so the
    customer is never charged for an attempt we failed. Call it outside any
    transaction, after settling; it does nothing in every other case."""
    if not (
        payment.status == Payment.Status.FAILED
        and payment.failure_code == NOT_CHARGED
        and result.status == ChargeResult.SUCCEEDED
        and result.reference
    ):
        return
    log.error("payment %s: charge %s arrived after the attempt was failed; refunding it",
              payment.pk, result.reference)  # fmt: skip
    get_gateway(payment.gateway).refund(
        reference=result.reference,
        amount=payment.amount,
        idempotency_key=f"late:{payment.idempotency_key}",
    )


def resume_attempt(payment: Payment) -> Payment:
    """A repeat of the pay request that made ``payment`` (the same idempotency key):
    a pending payment with no gateway answer is recovered now instead of being
    returned bare. AppError ``payment_in_progress`` (503, so that an API
    Idempotency-Key is released for a retry) when the outcome is not known yet."""
    if payment.status != Payment.Status.PENDING or payment.gateway_reference:
        return payment
    payment = recover_payment(payment=payment)
    if payment.status == Payment.Status.PENDING and not payment.gateway_reference:
        raise AppError(
            _("This payment is still being confirmed with the bank. Try again in a moment."),
            code="payment_in_progress",
            status_code=503,
        )
    return payment


def recover_payments(*, now: datetime.datetime | None = None) -> int:
    """The beat job's payments part: claim up to :data:`BATCH` payments pending for
    longer than ``PAYMENT_RECOVERY_GRACE`` (skipping rows a settlement holds locked
    and the ones another recovery holds), then recover each. Returns how many it
    settled (succeeded or failed). Safe on two workers at once."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.PAYMENT_RECOVERY_GRACE)
    with transaction.atomic():
        ids = list(
            Payment.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(_claimable(now), created_at__lte=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:BATCH]
        )
        Payment.objects.filter(pk__in=ids).update(recovery_lease_until=now + LEASE)
    settled = 0
    for payment in Payment.objects.filter(pk__in=ids).select_related("payer", "card"):
        try:
            if _recover(payment, now).status != Payment.Status.PENDING:
                settled += 1
        except Exception:  # one payment's bug must not strand the others
            log.exception("payment %s: recovery failed", payment.pk)
    return settled
