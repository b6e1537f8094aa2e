"""Reads of the payments app. Each section belongs to one part of the app (see
docs/payments.md); the caller has already checked that the acting user may see what
it asks for, unless a function takes ``user`` and scopes by it itself.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import Business, Membership, User
from accounts.selectors import get_business_for
from chats.selectors import staff_membership
from core.ids import get_by_id_or_404, parse_int
from payments.models import (
    Card,
    LedgerAccount,
    LedgerEntry,
    Order,
    Payment,
    Payout,
    PayoutDestination,
    Refund,
)

# --- Ledger ------------------------------------------------------------------------

LEDGER_PAGE = 50
LEDGER_MAX_PAGE = 200


def balance_for_business(*, business: Business, currency: str) -> int:
    """What the platform owes ``business`` in ``currency`` (minor units): its merchant
    payable account's cached balance, 0 before the first posting. The caller checks
    that the acting user is a member of ``business``."""
    return _balance(business=business, kind=LedgerAccount.Kind.MERCHANT_PAYABLE, currency=currency)


def _balance(**account) -> int:
    """The cached balance of the ledger account matching ``account``, 0 before its
    first posting (the account does not exist yet)."""
    balance = LedgerAccount.objects.filter(**account).values_list("balance", flat=True).first()
    return balance or 0


def list_entries_for_business(
    *, business: Business, currency: str | None = None, limit: int = LEDGER_PAGE
) -> QuerySet[LedgerEntry]:
    """The newest postings to ``business``'s merchant payable account(s), at most
    ``limit`` (capped at 200), each with its transaction, payment and order loaded.
    The caller checks that the acting user is a member of ``business``."""
    entries = LedgerEntry.objects.filter(
        account__business=business, account__kind=LedgerAccount.Kind.MERCHANT_PAYABLE
    )
    if currency is not None:
        entries = entries.filter(account__currency=currency)
    limit = max(1, min(int(limit), LEDGER_MAX_PAGE))
    return entries.select_related(
        "account", "transaction", "transaction__payment", "transaction__payment__order"
    ).order_by("-created_at", "-id")[:limit]


# --- Cards -------------------------------------------------------------------------


def list_cards(*, user) -> QuerySet[Card]:
    """``user``'s live (not removed) cards, the default first, then the newest."""
    return Card.objects.filter(user=user, removed_at__isnull=True).order_by(
        "-is_default", "-created_at", "-pk"
    )


def get_card_for(*, user, card_id) -> Card:
    """One of ``user``'s live cards; Http404 alike for a missing, removed or another
    user's card."""
    return get_by_id_or_404(list_cards(user=user), card_id)


# --- Orders ------------------------------------------------------------------------


def get_order_for(*, user: User, order_id) -> Order:
    """The order if ``user`` is its customer, or staff of its business who can see its
    conversation (agents: theirs or unassigned ones); Http404 alike for a missing
    order and anyone else's. Sets ``order.membership`` (None for the customer)."""
    pk = parse_int(order_id, minimum=1)
    if pk is None or not user.is_authenticated:
        raise Http404
    order = (
        Order.objects.select_related("business", "conversation", "customer", "created_by")
        .filter(pk=pk)
        .first()
    )
    if order is None:
        raise Http404
    membership = staff_membership(user, order.conversation)
    if membership is None and order.customer_id != user.pk:
        raise Http404
    order.membership = membership
    return order


def get_business_order(*, user: User, slug: str, order_id) -> tuple[Business, Order]:
    """Business ``slug`` and its order ``order_id`` if ``user`` is staff there who can
    see the order's conversation (:func:`get_order_for`); Http404 alike for anything
    else: another business's order under one's own slug, a customer, a stranger."""
    business = get_business_for(user=user, slug=slug)
    order = get_order_for(user=user, order_id=order_id)
    if order.membership is None or order.business_id != business.pk:
        raise Http404
    return business, order


def get_customer_order(*, user: User, order_id) -> Order:
    """The order if ``user`` is its customer (one query, nothing joined: the paying
    service reads the business under the order's lock); Http404 alike for a missing
    order and anyone else's — staff who can see it included: only its customer pays
    it. Sets ``order.membership`` to None like :func:`get_order_for`."""
    pk = parse_int(order_id, minimum=1)
    if pk is None or not user.is_authenticated:
        raise Http404
    order = Order.objects.filter(pk=pk, customer=user).first()
    if order is None:
        raise Http404
    order.membership = None
    return order


def list_orders_for_business(
    *, business: Business, status: str = "", membership: Membership | None = None
) -> QuerySet[Order]:
    """The business's orders, newest first, optionally of one status. With an agent's
    ``membership``, only the orders of conversations that agent can see. The caller
    checks that the acting user is a member of ``business``."""
    qs = Order.objects.filter(business=business).select_related("customer")
    if status in Order.Status.values:
        qs = qs.filter(status=status)
    if membership is not None and membership.role == Membership.Role.AGENT:
        qs = qs.filter(
            Q(conversation__assignee__isnull=True) | Q(conversation__assignee=membership.user_id)
        )
    return qs.order_by("-pk")


# --- Payments ----------------------------------------------------------------------


def list_payments_made(*, user: User, status: str = "") -> QuerySet[Payment]:
    """The payments ``user`` made (declined ones too), newest first."""
    qs = Payment.objects.filter(payer=user).select_related("card", "order")
    if status in Payment.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-pk")


def list_payments_received(*, business: Business, status: str = "") -> QuerySet[Payment]:
    """The payments to ``business``, newest first. The caller checks the acting user's
    role."""
    qs = Payment.objects.filter(business=business).select_related("payer", "order")
    if status in Payment.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-pk")


def get_payment_for(*, user: User, payment_id) -> Payment:
    """One of the payments ``user`` made; Http404 alike for a missing one and anyone
    else's."""
    if not user.is_authenticated:
        raise Http404
    return get_by_id_or_404(list_payments_made(user=user), payment_id)


# --- Balance -------------------------------------------------------------------------

# Money from a card payment becomes available as WhatsApp Pay's did in Brazil.
AVAILABLE_AFTER = {"debit": 1, "credit": 2}  # days


def balance_summary(*, business: Business, currency: str, now=None) -> dict:
    """The merchant's balance split into what is available now and what is still
    pending, with the day each pending part becomes available (D+1 for debit cards,
    D+2 for credit). The caller checks that the acting user may see it."""
    now = now or timezone.now()
    total = balance_for_business(business=business, currency=currency)
    horizon = now - datetime.timedelta(days=max(AVAILABLE_AFTER.values()))
    # A refund is taken from the payable when it is made (its net: amount − our fee
    # share), so a refunded part of a payment is no longer pending either.
    refunded_net = Coalesce(
        Sum(
            F("refunds__amount") - F("refunds__fee"),
            filter=~Q(refunds__status=Refund.Status.FAILED),
        ),
        0,
    )
    recent = (
        Payment.objects.filter(
            business=business,
            currency=currency,
            status__in=Payment.SETTLED,
            completed_at__gt=horizon,
        )
        .annotate(refunded_net=refunded_net)
        .values_list("amount", "fee", "refunded_net", "funding", "completed_at")
    )
    pending: dict[datetime.date, int] = {}
    for amount, fee, refunded, funding, completed_at in recent:
        days = AVAILABLE_AFTER.get(funding, AVAILABLE_AFTER["credit"])
        available_at = completed_at + datetime.timedelta(days=days)
        if available_at > now and amount - fee - refunded > 0:
            day = timezone.localtime(available_at, business.tz).date()
            pending[day] = pending.get(day, 0) + amount - fee - refunded
    pending_total = sum(pending.values())
    return {
        "currency": currency,
        "total": total,
        "pending_total": pending_total,
        "available": max(0, total - pending_total),
        "pending": sorted(pending.items()),
    }


# --- Payouts ---------------------------------------------------------------------------


def list_destinations(*, business: Business | None = None, user: User | None = None):
    """The live payout destinations of ``business`` or, without one, of ``user``
    (default first). The caller checks that the acting user may see the business's."""
    if business is not None:
        qs = PayoutDestination.objects.filter(business=business)
    elif user is not None:
        qs = PayoutDestination.objects.filter(user=user, business__isnull=True)
    else:
        raise ValueError("list_destinations needs a business or a user")
    return qs.filter(removed_at__isnull=True).order_by("-is_default", "-created_at", "-pk")


def get_destination_for(*, destination_id, business: Business | None = None, user: User):
    """One live destination of ``business`` (the caller has loaded it with
    ``get_business_for`` at the role the operation needs) or, without a business, of
    ``user``; Http404 alike for a missing, removed or anyone else's."""
    if not user.is_authenticated:
        raise Http404
    return get_by_id_or_404(list_destinations(business=business, user=user), destination_id)


def list_payouts(*, business: Business | None = None, user: User | None = None, limit: int = 50):
    """The newest payouts of ``business`` or, without one, of ``user``'s wallet."""
    if business is not None:
        qs = Payout.objects.filter(business=business)
    elif user is not None:
        qs = Payout.objects.filter(user=user, business__isnull=True)
    else:
        raise ValueError("list_payouts needs a business or a user")
    limit = max(1, min(int(limit), LEDGER_MAX_PAGE))
    return qs.order_by("-created_at", "-pk")[:limit]


def wallet_balance(*, user: User, currency: str = "BRL") -> int:
    """``user``'s wallet balance (minor units: what friends sent them, less what they
    withdrew), 0 before the first posting."""
    return _balance(user=user, kind=LedgerAccount.Kind.USER_WALLET, currency=currency)


def statement_entries(
    *,
    start,
    end,
    business: Business | None = None,
    user: User | None = None,
    currency: str,
):
    """The opening balance and the postings to the payable account (merchant, or the
    user's wallet) from the local day ``start`` to ``end`` inclusive, oldest first:
    ``(opening, entries)``. Days are the business's time zone (the user's: the site's)."""
    if business is not None:
        accounts = LedgerAccount.objects.filter(
            business=business, kind=LedgerAccount.Kind.MERCHANT_PAYABLE, currency=currency
        )
        tz = business.tz
    else:
        accounts = LedgerAccount.objects.filter(
            user=user, kind=LedgerAccount.Kind.USER_WALLET, currency=currency
        )
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    until = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
    )
    entries = LedgerEntry.objects.filter(account__in=accounts)
    opening = entries.filter(created_at__lt=since).aggregate(total=Sum("amount"))["total"] or 0
    period = (
        entries.filter(created_at__gte=since, created_at__lt=until)
        .select_related("transaction", "transaction__payment__order", "transaction__payout")
        .order_by("created_at", "id")
    )
    return opening, period
