"""Payments helpers for tests: a customer with a PIN, a shop with a payment request,
cards and payments made through the services. Fixtures ``customer`` and ``shop`` are
in ``payments/tests/conftest.py``."""

import uuid
from dataclasses import dataclass

from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.tests.factories import say, start_chat
from payments.gateway.base import CardDetails
from payments.services import cards, orders, paying, pins

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


@dataclass
class Sale:
    customer: object
    card: object
    product: object
    conversation: object
    message: object
    order: object


# What a sale in the chat says, for tests that check it is shown to no one else.
SALE_TEXT, SALE_EMAIL = "Oi! Tem bolo?", "carla@example.com"


def sale_in_chat(owner, business) -> Sale:
    """Carla (a PIN, a card) asks ``business`` about a cake in its chat and gets a
    payment request for it from ``owner``."""
    customer = UserFactory(email=SALE_EMAIL, display_name="Carla")
    pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
    card = card_for(customer)
    product = make_product(owner, business, name="Bolo", price=4500, stock=3)
    conversation = start_chat(business, customer)
    message = say(customer, conversation, SALE_TEXT)
    order = orders.create_payment_request(
        actor=owner, conversation=conversation, lines=[{"product_id": product.pk}]
    )
    return Sale(customer, card, product, conversation, message, order)
