"""Payouts: a business's available balance to its default destination (the beat
job), a user's wallet balance to one of their destinations (a withdrawal), the bank's
confirmation, and the operators' pause.

Postings (``payments.services.ledger.post``, one per payout and kind — the unique
``(payout, kind)`` constraint):

- created, kind ``payout``: holder's payable (merchant or wallet) −amount, payouts in
  transit +amount;
- paid, kind ``payout_paid``: in transit −amount, the bank's settlement account
  +amount (money left the platform's bank);
- failed, kind ``payout_reversal``: in transit −amount, the holder's payable +amount
  (the money is back, the reason is kept on the payout).

Locks, always in this order: the holder's ledger account (``SELECT … FOR NO KEY UPDATE``),
then the payout row. Moving money once: the payout's unique ``idempotency_key``
(``auto:<business>:<currency>:<local day>`` for the job; ``now:<business>:<form
attempt>`` for an owner's "Pay out now"; ``withdraw:<user>:<client key>`` for a
withdrawal) decides between two workers, a beat firing twice or a
replayed request; the ledger refuses a payable balance below zero.
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from accounts.services import require_role
from core import domain_events
from core.errors import AppError
from core.events import enqueue_on_commit
from core.money import MAX_MINOR, format_money
from payments import selectors
from payments.models import LedgerAccount, Payout, PayoutControl, PayoutDestination
from payments.payout_bank import TransferResult, get_payout_bank
from payments.services import ledger, pins

log = logging.getLogger(__name__)

PAYOUT = "payout"
PAYOUT_PAID = "payout_paid"
PAYOUT_REVERSAL = "payout_reversal"
# Destinations are Brazilian bank accounts and Pix keys: payouts are in reais.
PAYOUT_CURRENCY = "BRL"
_KEY_MAX = 100  # Payout.idempotency_key


@dataclass(frozen=True)
class PayoutRun:
    """What the payout job did for one business."""

    business_id: int
    payout: Payout | None
    # "paused", "no_destination", "below_minimum", "already_paid_out", "not_scheduled"
    skipped: str = ""


def _lock(account: LedgerAccount) -> LedgerAccount:
    return LedgerAccount.objects.select_for_update(no_key=True).get(pk=account.pk)


def _enqueue_processing(payout: Payout) -> None:
    enqueue_on_commit(
        "payments.tasks.process_payout", payout.pk, countdown=settings.PAYOUT_CONFIRM_DELAY
    )


def _create(
    *,
    account: LedgerAccount,
    destination: PayoutDestination,
    amount: int,
    key: str,
    requested_by: User | None,
) -> Payout | None:
    """Insert the payout and post it; None when the key is already taken. The
    caller holds the lock on ``account`` in its transaction."""
    try:
        with transaction.atomic():
            payout = Payout.objects.create(
                business_id=account.business_id,
                user_id=account.user_id if account.business_id is None else None,
                destination=destination,
                destination_label=destination.masked()[:120],
                amount=amount,
                currency=account.currency,
                idempotency_key=key,
                bank=get_payout_bank().name,
                requested_by=requested_by,
            )
    except IntegrityError:
        return None
    ledger.post(
        kind=PAYOUT,
        currency=account.currency,
        entries=[(account, -amount), (ledger.payouts_in_transit_account(account.currency), amount)],
        payout=payout,
        description=f"payout {payout.pk}",
    )
    _enqueue_processing(payout)
    return payout


def default_destination(*, business: Business) -> PayoutDestination | None:
    return PayoutDestination.objects.filter(
        business=business, removed_at__isnull=True, is_default=True
    ).first()


def pause_reason(business: Business) -> str | None:
    """The operators' reason when the business's payouts are paused, else None."""
    control = PayoutControl.objects.filter(business=business, paused=True).first()
    if control is None:
        return None
    return control.reason or _("Paused by the platform.")


def create_business_payout(
    *, business: Business, now: datetime.datetime | None = None
) -> PayoutRun:
    """Pay out what ``business`` has available now to its default destination: at most
    one such payout per business, currency and local day (the unique key), only when
    the available amount reaches ``PAYOUT_MINIMUM`` and payouts are not paused.
    Atomic; the bank is asked after the commit (``tasks.process_payout``)."""
    now = now or timezone.now()
    currency = business.currency
    if pause_reason(business) is not None:
        return PayoutRun(business.pk, None, "paused")
    destination = default_destination(business=business)
    if destination is None:
        return PayoutRun(business.pk, None, "no_destination")
    day = timezone.localtime(now, business.tz).date()
    key = f"auto:{business.pk}:{currency}:{day.isoformat()}"
    with transaction.atomic():
        account = _lock(ledger.account_for_business(business, currency))
        if Payout.objects.filter(idempotency_key=key).exists():
            return PayoutRun(business.pk, None, "already_paid_out")
        summary = selectors.balance_summary(business=business, currency=currency, now=now)
        amount = summary["available"]
        if amount < settings.PAYOUT_MINIMUM:
            return PayoutRun(business.pk, None, "below_minimum")
        payout = _create(
            account=account, destination=destination, amount=amount, key=key, requested_by=None
        )
    if payout is None:
        return PayoutRun(business.pk, None, "already_paid_out")
    return PayoutRun(business.pk, payout)


def payout_schedule(business: Business) -> str:
    """The owner's choice of automatic payouts (``PayoutControl.Schedule``)."""
    schedule = (
        PayoutControl.objects.filter(business=business).values_list("schedule", flat=True).first()
    )
    return schedule or PayoutControl.Schedule.DAILY


def is_scheduled(*, schedule: str, business: Business, now: datetime.datetime) -> bool:
    """Whether the payout job pays ``business`` out on ``now``'s day: daily every
    day, weekly on Mondays in the business's time zone, off never."""
    if schedule == PayoutControl.Schedule.OFF:
        return False
    if schedule == PayoutControl.Schedule.WEEKLY:
        return timezone.localtime(now, business.tz).weekday() == 0
    return True


def run_payouts(*, now: datetime.datetime | None = None) -> list[PayoutRun]:
    """The beat job: first re-drive payouts whose confirmation is overdue, then pay
    out every business that has a merchant payable balance and whose schedule says
    today (``is_scheduled``). Each business in its own transaction; safe to run twice
    or on two workers at once."""
    now = now or timezone.now()
    process_overdue_payouts(now=now)
    business_ids = (
        LedgerAccount.objects.filter(
            kind=LedgerAccount.Kind.MERCHANT_PAYABLE, balance__gt=0, business__isnull=False
        )
        .values_list("business_id", flat=True)
        .distinct()
    )
    business_ids = list(business_ids)
    schedules = dict(
        PayoutControl.objects.filter(business_id__in=business_ids).values_list(
            "business_id", "schedule"
        )
    )
    runs = []
    for business in Business.objects.filter(pk__in=business_ids).order_by("pk"):
        schedule = schedules.get(business.pk, PayoutControl.Schedule.DAILY)
        if not is_scheduled(schedule=schedule, business=business, now=now):
            runs.append(PayoutRun(business.pk, None, "not_scheduled"))
            continue
        runs.append(create_business_payout(business=business, now=now))
    return runs


def pay_out_now_key(*, business: Business, attempt: str) -> str:
    scoped = f"now:{business.pk}:{attempt}"
    if len(scoped) <= _KEY_MAX:
        return scoped
    return f"now:{business.pk}:h:" + hashlib.sha256(attempt.encode()).hexdigest()


def pay_out_now(*, actor: User, business: Business, password: str, attempt: str) -> Payout:
    """An owner's "Pay out now": ``business``'s whole available balance to its default
    destination at once, confirmed with ``actor``'s account password. Idempotent per
    ``attempt`` (the form's one-time token; the same attempt again returns the first
    payout without asking for the password). AppError: ``forbidden`` (not an owner),
    ``payouts_paused``, ``no_destination``, the password's errors (checked outside the
    transaction: its failure count must commit), ``nothing_available``,
    ``below_minimum``. Locks the merchant account, then inserts and posts the payout
    through the same ``_create`` as the job; the bank is asked after the commit."""
    require_role(actor, business, Membership.Role.OWNER)
    key = pay_out_now_key(business=business, attempt=attempt)
    existing = Payout.objects.filter(idempotency_key=key, business=business).first()
    if existing is not None:
        return existing
    if (reason := pause_reason(business)) is not None:
        raise AppError(
            _("Payouts are paused by the platform: %(reason)s") % {"reason": reason},
            code="payouts_paused",
            status_code=409,
        )
    destination = default_destination(business=business)
    if destination is None:
        raise AppError(
            _("Add a bank account or Pix key to receive payouts first."),
            code="no_destination",
            status_code=409,
        )
    pins.verify_account_password(user=actor, password=password)
    currency = business.currency
    with transaction.atomic():
        account = _lock(ledger.account_for_business(business, currency))
        amount = selectors.balance_summary(business=business, currency=currency)["available"]
        if amount <= 0:
            raise AppError(
                _("Nothing is available to pay out yet."),
                code="nothing_available",
                status_code=409,
            )
        if amount < settings.PAYOUT_MINIMUM:
            raise AppError(
                _("The minimum payout is %(minimum)s; %(amount)s is available.")
                % {
                    "minimum": format_money(settings.PAYOUT_MINIMUM, currency),
                    "amount": format_money(amount, currency),
                },
                code="below_minimum",
                status_code=409,
            )
        payout = _create(
            account=account, destination=destination, amount=amount, key=key, requested_by=actor
        )
    if payout is None:  # a concurrent submit of the same form won
        return Payout.objects.get(idempotency_key=key, business=business)
    return payout


@transaction.atomic
def set_payout_schedule(*, actor: User, business: Business, schedule: str) -> PayoutControl:
    """The owner chooses when the job pays out (``PayoutControl.Schedule``). AppError
    ``forbidden`` (not an owner), ``schedule_invalid``. Keeps an operator's pause."""
    require_role(actor, business, Membership.Role.OWNER)
    if schedule not in PayoutControl.Schedule.values:
        raise AppError(_("Choose how often to pay out."), code="schedule_invalid", field="schedule")
    control, _created = PayoutControl.objects.select_for_update(no_key=True).get_or_create(
        business=business
    )
    control.schedule = schedule
    control.updated_at = timezone.now()
    control.save(update_fields=["schedule", "updated_at"])
    return control


def withdrawal_key(*, user: User, key: str) -> str:
    scoped = f"withdraw:{user.pk}:{key}"
    if len(scoped) <= _KEY_MAX:
        return scoped
    return f"withdraw:{user.pk}:h:" + hashlib.sha256(key.encode()).hexdigest()


def request_withdrawal(
    *, user: User, destination: PayoutDestination, amount: int, idempotency_key: str, pin: str
) -> Payout:
    """Send ``amount`` (minor units, reais) of ``user``'s wallet to one of their own
    destinations, confirmed with the payment PIN. The same ``idempotency_key`` again
    returns the first payout (the PIN is not asked again). AppError:
    ``amount_invalid``, ``below_minimum``, ``not_found`` (not the user's destination),
    the PIN's errors, ``insufficient_balance``. The PIN is checked outside the
    transaction (its attempt count must commit); then the wallet is locked, the payout
    inserted and posted in one transaction."""
    if type(amount) is not int or not 0 < amount <= MAX_MINOR:
        raise AppError(
            _("Enter an amount greater than zero."), code="amount_invalid", field="amount"
        )
    if (
        destination.user_id != user.pk
        or destination.business_id is not None
        or destination.removed_at is not None
    ):
        raise AppError(_("Choose one of your payout destinations."), code="not_found",
                       field="destination", status_code=404)  # fmt: skip
    if amount < settings.PAYOUT_MINIMUM:
        raise AppError(
            _("The minimum withdrawal is %(amount)s.")
            % {"amount": format_money(settings.PAYOUT_MINIMUM, PAYOUT_CURRENCY)},
            code="below_minimum",
            field="amount",
        )
    key = withdrawal_key(user=user, key=idempotency_key)
    existing = Payout.objects.filter(idempotency_key=key, user=user).first()
    if existing is not None:
        return existing
    pins.verify_pin(user=user, pin=pin)
    with transaction.atomic():
        account = _lock(ledger.wallet_account(user, PAYOUT_CURRENCY))
        if account.balance < amount:
            raise AppError(
                _("Your wallet has %(balance)s: you cannot withdraw more than that.")
                % {"balance": format_money(account.balance, PAYOUT_CURRENCY)},
                code="insufficient_balance",
                field="amount",
            )
        payout = _create(
            account=account, destination=destination, amount=amount, key=key, requested_by=user
        )
    if payout is None:  # a concurrent request with the same key won
        return Payout.objects.get(idempotency_key=key, user=user)
    return payout


# --- The bank's side ---------------------------------------------------------------------


def process_payout(*, payout_id: int) -> str:
    """Ask the bank for the payout's transfer (once: keyed by the payout) and settle
    it when the bank has decided. Idempotent; no transaction is open during the bank
    calls. Returns the payout's status."""
    payout = Payout.objects.select_related("destination").filter(pk=payout_id).first()
    if payout is None:
        return "missing"
    if payout.status != Payout.Status.IN_TRANSIT:
        return payout.status
    bank = get_payout_bank(payout.bank)
    reference = payout.bank_reference
    if not reference:
        sent = bank.transfer(
            destination=payout.destination,
            amount=payout.amount,
            currency=payout.currency,
            idempotency_key=payout.idempotency_key,
        )
        reference = sent.reference
        Payout.objects.filter(pk=payout.pk, bank_reference="").update(bank_reference=reference)
    result = bank.retrieve(reference)
    if result.status == "pending":
        return payout.status
    return settle_payout(payout_id=payout.pk, result=result).status


def settle_payout(*, payout_id: int, result: TransferResult) -> Payout:
    """Record the bank's decision: paid (in transit → settlement) or failed (in
    transit → back to the holder, with the reason). Locks the holder's account, then
    the payout; a payout already settled is returned as it is."""
    if result.status not in ("paid", "failed"):
        raise ValueError(f"not a final transfer status: {result.status!r}")
    with transaction.atomic():
        head = Payout.objects.select_related("business", "user").get(pk=payout_id)
        if head.business_id:
            account = ledger.account_for_business(head.business, head.currency)
        else:
            account = ledger.wallet_account(head.user, head.currency)
        _lock(account)
        payout = Payout.objects.select_for_update(no_key=True).get(pk=payout_id)
        if payout.status != Payout.Status.IN_TRANSIT:
            return payout
        to = Payout.Status.PAID if result.status == "paid" else Payout.Status.FAILED
        if to not in Payout.TRANSITIONS[payout.status]:
            raise AppError(_("This payout cannot change now."), code="illegal_transition",
                           status_code=409)  # fmt: skip
        in_transit = ledger.payouts_in_transit_account(payout.currency)
        payout.status = to
        payout.completed_at = timezone.now()
        if to == Payout.Status.PAID:
            payout.save(update_fields=["status", "completed_at"])
            entries = [
                (in_transit, -payout.amount),
                (ledger.settlement_account(payout.bank, payout.currency), payout.amount),
            ]
            kind = PAYOUT_PAID
        else:
            payout.failure_code = result.failure_code[:40] or "failed"
            payout.failure_message = result.failure_message[:255]
            payout.save(update_fields=["status", "completed_at", "failure_code", "failure_message"])
            entries = [(in_transit, -payout.amount), (account, payout.amount)]
            kind = PAYOUT_REVERSAL
        ledger.post(
            kind=kind,
            currency=payout.currency,
            entries=entries,
            payout=payout,
            description=f"{kind.replace('_', ' ')} {payout.pk}",
        )
        payout.business = head.business
        domain_events.emit(
            "payout.paid" if to == Payout.Status.PAID else "payout.failed",
            business_id=payout.business_id,
            subject=payout,
        )
    return payout


def process_overdue_payouts(*, now: datetime.datetime | None = None) -> int:
    """Re-drive in-transit payouts whose confirmation task should have run already (a
    lost task, a worker killed between the bank's transfer and the update that keeps
    its reference: the transfer is asked for again with the same key, which returns
    the same transfer). The recovery beat job runs it every minute, the payout run
    too. A payout the bank cannot answer for is logged and left for the next run.
    Returns how many were looked at."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.PAYOUT_CONFIRM_DELAY * 2 + 60)
    overdue = list(
        Payout.objects.filter(status=Payout.Status.IN_TRANSIT, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for payout_id in overdue:
        try:
            process_payout(payout_id=payout_id)
        except Exception:
            # One payout the bank cannot answer for (down, or a bug) must not keep
            # the others in transit: it is asked again on the next run.
            log.exception("payout %s: the bank could not be asked", payout_id)
    return len(overdue)


# --- Operators ---------------------------------------------------------------------------


@transaction.atomic
def set_payouts_paused(*, business: Business, paused: bool, reason: str = "") -> PayoutControl:
    """Pause or resume ``business``'s payouts (platform operators, from Django admin:
    the admin's own permission check stands in for an acting-user check here)."""
    reason = " ".join((reason or "").split())[:255]
    if paused and not reason:
        reason = _("Paused by the platform.")
    control, _created = PayoutControl.objects.select_for_update(no_key=True).get_or_create(
        business=business
    )
    control.paused = paused
    control.reason = reason if paused else ""
    control.updated_at = timezone.now()
    control.save()
    return control
