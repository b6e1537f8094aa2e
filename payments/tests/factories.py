"""Payments helpers for tests: a customer with a PIN, a shop with a payment request,
cards and payments made through the services. Fixtures ``customer`` and ``shop`` are
in ``payments/tests/conftest.py``."""

from django.utils import timezone

from payments.gateway.base import CardDetails
from payments.services import cards, paying

PIN = "730519"


def card_for(user, number="4242424242424242"):
    """A sandbox card (Stripe's test number ``number``) added to ``user``'s wallet."""
    year = timezone.now().year + 2
    details = CardDetails(
        number=number, exp_month=12, exp_year=year, cvc="123", holder_name="Carla M"
    )
    return cards.add_card(user=user, details=details)


def pay(customer, order, card, key="attempt-1", **kwargs):
    """``customer`` pays ``order`` with ``card``, confirming with the PIN by default."""
    kwargs.setdefault("confirmation", "pin")
    kwargs.setdefault("pin", PIN)
    return paying.pay_order(payer=customer, order=order, card=card, idempotency_key=key, **kwargs)
