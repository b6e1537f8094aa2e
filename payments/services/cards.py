"""Wallet cards: add (through the gateway), set default, remove. Every function takes
the acting user and touches only that user's cards (invariant 5). Only the gateway's
token, brand, funding, last four digits, expiry and holder name are stored; the
number and CVC stay in the :class:`CardDetails` of one call (invariant 2)."""

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from payments.gateway import CardDetails, get_gateway
from payments.models import Card


def add_card(*, user, details: CardDetails, make_default: bool = False) -> Card:
    """Tokenize ``details`` with the configured gateway (AppError, naming the field,
    when it is invalid or declined at attach) and save the card. The user's first card
    becomes the default; ``make_default`` makes a later one the default. Atomic; the
    gateway is called before the transaction opens, so no lock is held over the
    network."""
    gateway = get_gateway()
    tokenized = gateway.tokenize(details)
    with transaction.atomic():
        # Lock the user's live cards: two concurrent first cards must not both default.
        live = list(
            _live_cards(user).select_for_update(no_key=True).values_list("pk", "is_default")
        )
        is_default = make_default or not any(default for _pk, default in live)
        if is_default:
            _live_cards(user).filter(is_default=True).update(is_default=False)
        return Card.objects.create(
            user=user,
            gateway=gateway.name,
            token=tokenized.token,
            brand=tokenized.brand,
            funding=tokenized.funding,
            last4=tokenized.last4,
            exp_month=tokenized.exp_month,
            exp_year=tokenized.exp_year,
            holder_name=details.holder_name.strip()[:100],
            is_default=is_default,
        )


def set_default_card(*, user, card: Card) -> Card:
    """Make ``card`` (one of the user's live cards, else 404) the default. The other
    default is unset first, in the same transaction, under locks on the user's cards
    (the ``card_one_default`` partial unique constraint allows one)."""
    with transaction.atomic():
        cards = {c.pk: c for c in _live_cards(user).select_for_update(no_key=True).order_by("pk")}
        card = cards.get(card.pk) or _not_found()
        if not card.is_default:
            _live_cards(user).filter(is_default=True).update(is_default=False)
            card.is_default = True
            card.save(update_fields=["is_default"])
        return card


def remove_card(*, user, card: Card) -> None:
    """Soft-remove ``card`` (past payments keep pointing at it). When it was the
    default, the newest other live card becomes the default. 404 for another user's
    card or a removed one."""
    with transaction.atomic():
        cards = {c.pk: c for c in _live_cards(user).select_for_update(no_key=True).order_by("pk")}
        card = cards.get(card.pk) or _not_found()
        was_default = card.is_default
        card.removed_at = timezone.now()
        card.is_default = False
        card.save(update_fields=["removed_at", "is_default"])
        if was_default:
            others = sorted(
                (c for c in cards.values() if c.pk != card.pk),
                key=lambda c: (c.created_at, c.pk),
                reverse=True,
            )
            if others:
                others[0].is_default = True
                others[0].save(update_fields=["is_default"])


def _live_cards(user):
    return Card.objects.filter(user=user, removed_at__isnull=True)


def _not_found():
    raise Http404("No such card.")
