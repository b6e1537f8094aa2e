"""Person-to-person payments: send money to a friend in a direct chat, request money,
pay a request. Free (no fee), debit cards only, within the limits of
:class:`~payments.models.P2PLimits` (docs/payments.md, "Person-to-person payments").

A P2P payment is a :class:`~payments.models.Payment` with a ``payee`` user, the
direct ``conversation`` and no order, business or fee (constraint
``payment_merchant_or_p2p``), so it keeps the unique idempotency key, the gateway
charge and the audit trail of card payments. The sequence is paying's:

1. **Confirm** with the PIN or a fingerprint whose challenge is bound to the amount,
   currency and payee (``user:<id>``), outside any transaction.
2. **Claim** (one transaction): lock the payer's and the payee's wallet accounts in
   id order — the lock that serializes every send touching either person — then the
   money request (if any), then count against the limits and insert the
   *pending* payment. Pending payments count, so concurrent sends cannot exceed a
   limit; a failed one stops counting.
3. **Charge** the payer's debit card with the payment's key, outside any transaction.
4. **Settle** (payment, then both wallets, request, chat, ledger): succeeded → posting (clearing
   −amount, payee's wallet +amount), the request paid, a card in the chat on both
   sides; declined → the payment failed with the reason.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import User
from chats import events
from chats.models import Conversation, Message, Participant
from chats.services.messages import post_message
from core.errors import AppError
from core.ids import parse_int
from core.money import check_minor, format_money
from payments.gateway import get_gateway
from payments.gateway.base import ChargeResult
from payments.models import AuditEvent, Card, LedgerAccount, MoneyRequest, P2PLimits, Payment
from payments.services import ledger, pins, recovery, webauthn
from payments.services.paying import charge_outcome

MAX_NOTE = Payment._meta.get_field("note").max_length


def payee_code(user: User) -> str:
    """What a fingerprint challenge binds as the payee of a P2P payment."""
    return f"user:{user.pk}"


def _not_found() -> AppError:
    return AppError(_("Conversation not found."), code="not_found", status_code=404)


def peer_in(*, user: User, conversation: Conversation) -> User:
    """The other person of a direct ``conversation`` that ``user`` belongs to.

    AppError ``not_found`` if ``user`` is not in it, ``not_direct`` for a chat with a
    business, ``blocked`` if the other person blocked ``user``.
    """
    sides = list(Participant.objects.filter(conversation=conversation).select_related("user"))
    mine = next((p for p in sides if p.user_id == user.pk), None)
    if mine is None:
        raise _not_found()
    if conversation.kind != Conversation.Kind.DIRECT:
        raise AppError(_("Money can be sent only in a chat between two people."), code="not_direct")
    other = next((p for p in sides if p.pk != mine.pk), None)
    if other is None or other.user is None or not other.user.is_active:
        raise _not_found()
    if other.user_id == user.pk:
        raise AppError(_("You cannot send money to yourself."), code="self_payment")
    if other.blocked_at is not None:
        raise AppError(
            _("This person is not accepting payments from you."), code="blocked", status_code=403
        )
    return other.user


def _clean(amount, currency, note) -> tuple[int, str, str]:
    limits = P2PLimits.current()
    check_minor(amount, positive=True)
    if currency != limits.currency:
        raise AppError(
            _("Payments between people are in %(currency)s only.") % {"currency": limits.currency},
            code="currency_unsupported",
            field="currency",
        )
    note = note.replace("\x00", "").strip() if isinstance(note, str) else ""
    if len(note) > MAX_NOTE:
        raise AppError(
            _("At most %(n)d characters.") % {"n": MAX_NOTE}, code="too_long", field="note"
        )
    if amount > limits.max_per_payment:
        raise AppError(
            _("The most you can send in one payment is %(max)s.")
            % {"max": format_money(limits.max_per_payment, limits.currency)},
            code="limit_per_payment",
            field="amount",
        )
    return amount, currency, note


def _local_tz(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(getattr(user, "timezone", "") or settings.TIME_ZONE)


def _when(moment: datetime.datetime, tz) -> str:
    return formats.date_format(timezone.localtime(moment, tz), "SHORT_DATETIME_FORMAT")


def _check_limits(*, payer: User, payee: User, amount: int, currency: str) -> None:
    """Refuse a send over a limit, saying which and when it resets (in the payer's
    time zone). Call with both wallet accounts locked (see :func:`_claim`)."""
    limits = P2PLimits.current()
    now = timezone.now()
    tz = _local_tz(payer)
    local = timezone.localtime(now, tz)
    day = datetime.datetime.combine(local.date(), datetime.time(), tzinfo=tz)
    next_day = datetime.datetime.combine(
        local.date() + datetime.timedelta(days=1), datetime.time(), tzinfo=tz
    )
    received = Payment.objects.filter(
        payee=payee, status__in=Payment.LIVE, created_at__gte=day
    ).count()
    if received >= limits.max_received_per_day:
        raise AppError(
            _(
                "%(name)s has received %(count)d payments today, the most allowed in a day. "
                "They can receive again from %(when)s."
            )
            % {
                "name": payee.get_short_name(),
                "count": limits.max_received_per_day,
                "when": _when(next_day, tz),
            },
            code="limit_received_per_day",
            status_code=409,
        )
    month = datetime.datetime.combine(local.date().replace(day=1), datetime.time(), tzinfo=tz)
    following = (month + datetime.timedelta(days=32)).date().replace(day=1)
    next_month = datetime.datetime.combine(following, datetime.time(), tzinfo=tz)
    sent = (
        Payment.objects.filter(
            payer=payer,
            payee__isnull=False,
            currency=currency,
            status__in=Payment.LIVE,
            created_at__gte=month,
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    if sent + amount > limits.max_sent_per_month:
        left = max(0, limits.max_sent_per_month - sent)
        raise AppError(
            _(
                "You can send at most %(max)s a month to friends; %(left)s is left this "
                "month. The limit resets on %(when)s."
            )
            % {
                "max": format_money(limits.max_sent_per_month, currency),
                "left": format_money(left, currency),
                "when": _when(next_month, tz),
            },
            code="limit_sent_per_month",
            field="amount",
            status_code=409,
        )


def _check_card(payer: User, card: Card) -> None:
    if card.user_id != payer.pk or card.removed_at is not None:
        raise AppError(_("Choose one of your cards."), code="card_invalid", field="card")
    if card.funding != Card.Funding.DEBIT:
        raise AppError(
            _("Payments to friends take debit cards only. Choose or add a debit card."),
            code="card_not_debit",
            field="card",
        )


def _confirm(*, payer, payee, amount, currency, confirmation, pin, webauthn_response) -> None:
    if confirmation == Payment.Confirmation.PIN:
        pins.verify_pin(user=payer, pin=pin or "")
    elif confirmation == Payment.Confirmation.WEBAUTHN:
        webauthn.verify_payment(
            user=payer,
            order=None,
            amount=amount,
            currency=currency,
            payee=payee_code(payee),
            response=webauthn_response or {},
        )
    else:
        raise AppError(_("Confirm with your PIN or your fingerprint."), code="confirmation")


def payment_options(*, payer: User, conversation: Conversation, amount, currency: str) -> dict:
    """WebAuthn options to confirm sending ``amount`` to the other person of
    ``conversation`` (a challenge bound to amount, currency and payee)."""
    payee = peer_in(user=payer, conversation=conversation)
    amount, currency, _note = _clean(amount, currency, "")
    return webauthn.payment_options(
        user=payer, order=None, amount=amount, currency=currency, payee=payee_code(payee)
    )


def send_money(
    *,
    payer: User,
    conversation: Conversation,
    amount: int,
    currency: str,
    card: Card,
    confirmation: str,
    idempotency_key: str,
    note: str = "",
    pin: str | None = None,
    webauthn_response: dict | None = None,
    money_request: MoneyRequest | None = None,
) -> Payment:
    """Send ``amount`` to the other person of the direct ``conversation`` from the
    payer's debit ``card``; returns the succeeded payment. Raises AppError for bad
    input, a credit card, a limit reached, a refused confirmation or a decline
    (recorded). Idempotent per ``idempotency_key`` (a repeat of an attempt left
    pending with no gateway answer recovers it: ``recovery.resume_attempt``)."""
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.payer_id != payer.pk or existing.conversation_id != conversation.pk:
            raise AppError(_("This payment form was already used."), code="key_reused")
        # A first request that died before its settlement: ask the gateway now.
        return charge_outcome(recovery.resume_attempt(existing))
    payee = peer_in(user=payer, conversation=conversation)
    amount, currency, note = _clean(amount, currency, note)
    _check_card(payer, card)
    _confirm(
        payer=payer, payee=payee, amount=amount, currency=currency, confirmation=confirmation,
        pin=pin, webauthn_response=webauthn_response,
    )  # fmt: skip
    payment = _claim(
        payer=payer, payee=payee, conversation=conversation, amount=amount, currency=currency,
        card=card, confirmation=confirmation, key=idempotency_key, note=note,
        money_request=money_request,
    )  # fmt: skip
    if payment.status != Payment.Status.PENDING:
        return charge_outcome(payment)
    result = get_gateway(card.gateway).charge(
        token=card.token,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        description=f"Conversa: to {payee.get_short_name()}"[:200],
    )
    payment = _settle(payment, result)
    recovery.refund_late_charge(payment=payment, result=result)
    return charge_outcome(payment)


def _claim(
    *, payer, payee, conversation, amount, currency, card, confirmation, key, note, money_request
) -> Payment:
    wallets = sorted(
        {ledger.wallet_account(payer, currency).pk, ledger.wallet_account(payee, currency).pk}
    )
    try:
        with transaction.atomic():
            _lock_wallets(wallets)
            if money_request is not None:
                locked = MoneyRequest.objects.select_for_update(no_key=True).get(
                    pk=money_request.pk
                )
                if locked.status != MoneyRequest.Status.PENDING:
                    raise AppError(
                        _("This request is no longer open."), code="request_closed", status_code=409
                    )
                if locked.payments.filter(status__in=Payment.LIVE).exists():
                    raise AppError(
                        _("This request is already being paid."), code="already_paying",
                        status_code=409,
                    )  # fmt: skip
            _check_limits(payer=payer, payee=payee, amount=amount, currency=currency)
            payment = Payment.objects.create(
                payer=payer,
                payee=payee,
                conversation=conversation,
                money_request=money_request,
                note=note,
                card=card,
                amount=amount,
                fee=0,
                currency=currency,
                confirmation=confirmation,
                idempotency_key=key,
                gateway=card.gateway,
            )
            AuditEvent.objects.create(
                payment=payment, actor=payer, action="payment_started", to_status=payment.status,
                data={"payee": payee.pk},
            )  # fmt: skip
    except IntegrityError:
        first = Payment.objects.filter(idempotency_key=key).first()
        if first is not None:
            return first
        raise AppError(
            _("This request is already being paid."), code="already_paying", status_code=409
        ) from None
    return payment


def _lock_wallets(wallet_ids: list[int]) -> None:
    """Lock both people's wallet accounts, in id order. Every P2P transaction takes
    these locks before any other row it changes or references (a new payment's
    foreign keys take share locks on the conversation and the request), so claims and
    settlements of sends between the same people queue here instead of deadlocking."""
    list(
        LedgerAccount.objects.select_for_update(no_key=True)
        .filter(pk__in=wallet_ids)
        .order_by("pk")
    )


def _settle(payment: Payment, result: ChargeResult) -> Payment:
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(no_key=True, of=("self",))
            .select_related("payee", "payer", "conversation")
            .get(pk=payment.pk)
        )
        if payment.status != Payment.Status.PENDING:
            return payment
        _lock_wallets(
            sorted(
                {
                    ledger.wallet_account(payment.payer, payment.currency).pk,
                    ledger.wallet_account(payment.payee, payment.currency).pk,
                }
            )
        )
        before = payment.status
        payment.gateway_reference = result.reference or payment.gateway_reference
        payment.funding = result.funding or payment.funding
        if result.status == ChargeResult.SUCCEEDED:
            payment.status = Payment.Status.SUCCEEDED
            payment.completed_at = timezone.now()
            payment.save()
            if payment.money_request_id is not None:
                request = MoneyRequest.objects.select_for_update(no_key=True).get(
                    pk=payment.money_request_id
                )
                request.status = MoneyRequest.Status.PAID
                request.closed_at = payment.completed_at
                request.save(update_fields=["status", "closed_at"])
                _refresh(request)
            _post_card(payment)
            ledger.post_p2p_payment(payment=payment)  # last: see paying._settle
        elif result.status == ChargeResult.REQUIRES_ACTION:
            # Debit cards for P2P rarely ask for 3-D Secure; the payment stays pending
            # with the challenge's address in its audit event (paying.action_url).
            payment.save()
        else:
            payment.status = Payment.Status.FAILED
            payment.failure_code = result.failure_code[:40]
            payment.failure_message = result.failure_message[:255]
            payment.completed_at = timezone.now()
            payment.save()
        AuditEvent.objects.create(
            payment=payment, actor=payment.payer, action="payment_" + result.status,
            from_status=before, to_status=payment.status,
            data={"code": result.failure_code, "action_url": result.action_url},
        )  # fmt: skip
    return payment


def _side(conversation: Conversation, user: User) -> Participant:
    return Participant.objects.get(conversation=conversation, user=user)


def _post_card(payment: Payment) -> None:
    post_message(
        conversation=payment.conversation,
        sender=_side(payment.conversation, payment.payer),
        author=payment.payer,
        kind="p2p_payment",
        payload={
            "payment_id": payment.pk,
            "amount": payment.amount,
            "currency": payment.currency,
        },
    )


def _refresh(request: MoneyRequest) -> None:
    if request.message_id is None:
        return
    message = (
        Message.objects.select_related("sender", "author", "conversation")
        .filter(pk=request.message_id)
        .first()
    )
    if message is not None:
        events.push_message_update(message.conversation, message)


# --- Money requests -------------------------------------------------------------------


def request_money(
    *, requester: User, conversation: Conversation, amount: int, currency: str, note: str = ""
) -> MoneyRequest:
    """Ask the other person of the direct ``conversation`` for ``amount``: a request
    card they can pay in one step. Same checks on the amount as a send (the limits
    are checked again when it is paid)."""
    payer = peer_in(user=requester, conversation=conversation)
    amount, currency, note = _clean(amount, currency, note)
    with transaction.atomic():
        request = MoneyRequest.objects.create(
            conversation=conversation,
            requester=requester,
            payer=payer,
            amount=amount,
            currency=currency,
            note=note,
        )
        message, _created = post_message(
            conversation=conversation,
            sender=_side(conversation, requester),
            author=requester,
            kind="money_request",
            payload={"money_request_id": request.pk, "amount": amount, "currency": currency},
        )
        request.message = message
        request.save(update_fields=["message"])
    return request


def get_money_request_for(*, user: User, request_id) -> MoneyRequest:
    """A money request its requester or payer may see; ``not_found`` otherwise."""
    pk = parse_int(request_id)
    request = (
        MoneyRequest.objects.select_related("requester", "payer", "conversation")
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if request is None or user.pk not in (request.requester_id, request.payer_id):
        raise AppError(_("Request not found."), code="not_found", status_code=404)
    return request


def pay_money_request(
    *,
    payer: User,
    money_request: MoneyRequest,
    card: Card,
    confirmation: str,
    idempotency_key: str,
    pin: str | None = None,
    webauthn_response: dict | None = None,
) -> Payment:
    """Pay a request addressed to ``payer``: a send of the requested amount to the
    requester, bound to the request (at most one live payment per request)."""
    if money_request.requester_id == payer.pk:
        raise AppError(_("You cannot pay your own request."), code="self_payment")
    if money_request.payer_id != payer.pk:
        raise AppError(_("Request not found."), code="not_found", status_code=404)
    if money_request.status != MoneyRequest.Status.PENDING:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None and existing.money_request_id == money_request.pk:
            return charge_outcome(existing)
        raise AppError(_("This request is no longer open."), code="request_closed", status_code=409)
    return send_money(
        payer=payer,
        conversation=money_request.conversation,
        amount=money_request.amount,
        currency=money_request.currency,
        card=card,
        confirmation=confirmation,
        idempotency_key=idempotency_key,
        note=money_request.note,
        pin=pin,
        webauthn_response=webauthn_response,
        money_request=money_request,
    )


def close_money_request(*, actor: User, money_request: MoneyRequest) -> MoneyRequest:
    """The requester cancels, or the payer declines, a pending request."""
    if actor.pk not in (money_request.requester_id, money_request.payer_id):
        raise AppError(_("Request not found."), code="not_found", status_code=404)
    with transaction.atomic():
        locked = MoneyRequest.objects.select_for_update(no_key=True).get(pk=money_request.pk)
        if (
            locked.status != MoneyRequest.Status.PENDING
            or locked.payments.filter(status__in=Payment.LIVE).exists()
        ):
            raise AppError(
                _("This request is no longer open."), code="request_closed", status_code=409
            )
        locked.status = (
            MoneyRequest.Status.CANCELED
            if actor.pk == locked.requester_id
            else MoneyRequest.Status.DECLINED
        )
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        _refresh(locked)
    return locked
