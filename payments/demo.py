"""Demo wallets and a payment request (see chats/demo.py): Diego and Elisa have a
sandbox test card and a payment PIN; Padaria Aurora has asked Diego to pay for the
carrot cake he asked about (by card or Pix: its Pix code is ready, docs/pix.md), and
Diego has already paid Aurora for two loaves (order #2), ready to be marked shipped
from the dashboard (docs/payments.md, "Shipping").
Elisa has sent Diego R$25.00 in their direct chat from her debit card (friends pay no
fee), and Diego can withdraw it to his Pix key; Padaria Aurora's payouts go to a Pix
key of its own."""

import datetime
import uuid

from django.utils import timezone

from accounts.models import Business, User
from catalog.models import Product
from chats.models import Conversation
from chats.services import conversations
from payments.gateway.base import CardDetails
from payments.services import cards, destinations, orders, p2p, paying, pins, pix

DEMO_PIN = "730519"
ELISA_DEBIT = "4000056655665556"  # Visa debit: friends are paid from debit cards only
WALLETS = {
    "diego@example.com": "4242424242424242",  # Visa, succeeds
    "elisa@example.com": "5555555555554444",  # Mastercard, succeeds
}


def load_demo() -> None:
    year = timezone.now().year + 3
    wallet = {}
    for email, number in WALLETS.items():
        user = User.objects.get(email=email)
        details = CardDetails(
            number=number, exp_month=12, exp_year=year, cvc="123", holder_name=user.display_name
        )
        wallet[email] = cards.add_card(user=user, details=details)
        pins.set_pin(user=user, pin=DEMO_PIN, pin_again=DEMO_PIN)

    aurora = Business.objects.get(slug="padaria-aurora")
    bruno = User.objects.get(email="bruno@padaria-aurora.example")
    conversation = Conversation.objects.get(
        business=aurora, contact__user__email="diego@example.com"
    )
    cake = Product.objects.get(business=aurora, retailer_id="BOLO-CENOURA")
    cake_order = orders.create_payment_request(
        actor=bruno,
        conversation=conversation,
        lines=[{"product_id": cake.pk, "quantity": 1}],
        shipping=800,
        note="Retirada ou entrega no sábado de manhã.",
        expires_in=datetime.timedelta(days=7),
    )
    # Payable by card or by Pix: its Pix code is ready (collected Pix, docs/pix.md).
    pix.start_pix(payer=User.objects.get(email="diego@example.com"), order=cake_order)
    paid = orders.create_payment_request(
        actor=bruno,
        conversation=conversation,
        lines=[{"name": "Pão de fermentação natural", "unit_price": 1890, "quantity": 2}],
        shipping=800,
    )
    paying.pay_order(
        payer=User.objects.get(email="diego@example.com"),
        order=paid,
        card=wallet["diego@example.com"],
        confirmation="pin",
        pin=DEMO_PIN,
        idempotency_key=f"demo-{uuid.uuid4().hex}",
    )

    # Payouts and person-to-person: Aurora's Pix key, Diego's, and Elisa's gift.
    ana = User.objects.get(email="ana@padaria-aurora.example")
    diego, elisa = (User.objects.get(email=e) for e in ("diego@example.com", "elisa@example.com"))
    destinations.add_destination(
        actor=ana,
        business=aurora,
        kind="pix",
        data={"pix_key_type": "email", "pix_key": "financeiro@padaria-aurora.example"},
    )
    destinations.add_destination(
        actor=diego, kind="pix", data={"pix_key_type": "email", "pix_key": "diego@example.com"}
    )
    debit = cards.add_card(
        user=elisa,
        details=CardDetails(
            number=ELISA_DEBIT, exp_month=12, exp_year=year, cvc="123", holder_name="Elisa"
        ),
    )
    direct, _created = conversations.start_direct_conversation(user=elisa, peer=diego)
    p2p.send_money(
        payer=elisa,
        conversation=direct,
        amount=2500,
        currency="BRL",
        card=debit,
        confirmation="pin",
        pin=DEMO_PIN,
        note="Pão de queijo de sábado 🧀",
        idempotency_key=f"demo-{uuid.uuid4().hex}",
    )


def print_logins(out) -> None:
    out.write(
        f"\nPayments: Diego and Elisa have a sandbox test card and the payment PIN {DEMO_PIN}."
        "\n  Test cards: 4242 4242 4242 4242 pays, 4000 0000 0000 9995 is declined"
        " (insufficient funds), 4000 0027 6000 3184 asks for 3-D Secure;"
        "\n  4000 0566 5566 5556 is a debit card (sending money to a friend needs one)."
        "\n  The demo users speak Portuguese: choose English, French or Spanish at the foot of"
        " a page to switch."
        "\n  Padaria Aurora's order #1 (Diego) is payable by card or Pix: choose Pay with Pix,"
        " copy the code and pay it in the sandbox bank at /pix/sandbox/bank/."
        "\n  Padaria Aurora's order #2 is paid: mark it shipped (Dashboard › Orders) and"
        " Diego's open chat shows the shipping card within seconds."
        "\n  Elisa sent Diego R$25.00 in their direct chat (Send money / Request money there);"
        "\n  Diego withdraws it to his Pix key at /wallet/balance/ (Wallet › Balance and"
        " withdrawals)."
    )
