"""Demo wallets and a payment request (see chats/demo.py): Diego and Elisa have a
sandbox test card and a payment PIN; Padaria Aurora has asked Diego to pay for the
carrot cake he asked about."""

import datetime

from django.utils import timezone

from accounts.models import Business, User
from catalog.models import Product
from chats.models import Conversation
from payments.gateway.base import CardDetails
from payments.services import cards, orders, pins

DEMO_PIN = "730519"
WALLETS = {
    "diego@example.com": "4242424242424242",  # Visa, succeeds
    "elisa@example.com": "5555555555554444",  # Mastercard, succeeds
}


def load_demo() -> None:
    year = timezone.now().year + 3
    for email, number in WALLETS.items():
        user = User.objects.get(email=email)
        details = CardDetails(
            number=number, exp_month=12, exp_year=year, cvc="123", holder_name=user.display_name
        )
        cards.add_card(user=user, details=details)
        pins.set_pin(user=user, pin=DEMO_PIN, pin_again=DEMO_PIN)

    aurora = Business.objects.get(slug="padaria-aurora")
    bruno = User.objects.get(email="bruno@padaria-aurora.example")
    conversation = Conversation.objects.get(
        business=aurora, contact__user__email="diego@example.com"
    )
    cake = Product.objects.get(business=aurora, retailer_id="BOLO-CENOURA")
    orders.create_payment_request(
        actor=bruno,
        conversation=conversation,
        lines=[{"product_id": cake.pk, "quantity": 1}],
        shipping=800,
        note="Retirada ou entrega no sábado de manhã.",
        expires_in=datetime.timedelta(days=7),
    )


def print_logins(out) -> None:
    out.write(
        f"\nPayments: Diego and Elisa have a sandbox test card and the payment PIN {DEMO_PIN}."
        "\n  Test cards: 4242 4242 4242 4242 pays, 4000 0000 0000 9995 is declined"
        " (insufficient funds), 4000 0027 6000 3184 asks for 3-D Secure."
    )
