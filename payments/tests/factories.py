"""Payments helpers for tests: a customer with a PIN, a shop with a payment request,
cards and payments made through the services. Fixtures ``customer`` and ``shop`` are
in ``payments/tests/conftest.py``."""

import uuid

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


def pay(customer, order, card, key=None, **kwargs):
    """``customer`` pays ``order`` with ``card``, confirming with the PIN by default.

    ``key`` is the attempt's idempotency key, a fresh one unless given: the sandbox
    remembers keys in the shared cache (Redis under CI) across tests, as a real
    gateway would across requests, so a test never reuses another test's key."""
    key = key or uuid.uuid4().hex
    kwargs.setdefault("confirmation", "pin")
    kwargs.setdefault("pin", PIN)
    return paying.pay_order(payer=customer, order=order, card=card, idempotency_key=key, **kwargs)
