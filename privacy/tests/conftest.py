"""A person with every kind of data Conversa keeps, built through the services as she
would: a profile, a PIN, cards (one with her name on it), a fingerprint, an API
token, a shop chat with a photo and a note from the shop, consents given and
withdrawn, a completed order and its rating, transfers to and from a friend, a
withdrawal to her Pix key (her e-mail), an allauth address, an invitation, mail."""

import datetime
import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import Invitation
from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.models import Contact
from chats.services import conversations, inbox
from chats.services import messages as chat_messages
from chats.services.consent import grant_offers_consent
from chats.tests.factories import say, start_chat
from core.mail import queue_email
from core.tests.uploads import png_upload
from marketing.models import SatisfactionRating
from payments.gateway.base import CardDetails
from payments.models import WebAuthnCredential
from payments.payout_bank import TransferResult
from payments.services import cards, orders, p2p, payouts, pins
from payments.tests.factories import PIN, pay
from webhooks.models import Event as WebhookEvent
from webhooks.services import capture, endpoints

NAME, EMAIL, PHONE = "Zephyrine Quillfeather", "zephyrine.q@example.org", "+5511987650123"
FRIEND_EMAIL = "friend-of-z@example.org"
SHOP_TEXT = "Do you have the blueberry cake?"
FRIEND_TEXT = "Lunch on Friday?"


def _card(user, number, holder):
    details = CardDetails(
        number=number, exp_month=12, exp_year=timezone.now().year + 2, cvc="123",
        holder_name=holder,
    )  # fmt: skip
    return cards.add_card(user=user, details=details)


@pytest.fixture
def person(owner, business):
    """Zephyrine, with everything; her friend; the shop's chat and order."""
    # The shop sends webhooks: its delivery log holds her data too, until she is erased.
    endpoints.create_endpoint(actor=owner, business=business, url="https://hooks.example/in")
    z = UserFactory(email=EMAIL, display_name=NAME, phone=PHONE)
    z.set_password("password")
    z.save(update_fields=["password"])
    pins.set_pin(user=z, pin=PIN, pin_again=PIN)
    credit = _card(z, "4242424242424242", NAME)
    debit = _card(z, "4000056655665556", NAME)
    WebAuthnCredential.objects.create(
        user=z, credential_id=b"cred-z", public_key=b"key", name="Pixel of Zephyrine"
    )
    create_api_token(user=z, name="Zephyrine's script")

    # The shop's chat: her words, a photo, the shop naming her, a note, consent.
    conversation = start_chat(business, z)
    say(z, conversation, SHOP_TEXT + " Call me on " + PHONE)
    chat_messages.send_image(
        actor=z, conversation=conversation, upload=png_upload(name="cake.png"),
        caption="Like this one",
    )  # fmt: skip
    say(owner, conversation, "Hi Zephyrine! Yes, we do.")
    inbox.add_note(actor=owner, conversation=conversation, body="Zephyrine prefers mornings")
    contact = Contact.objects.select_related("business").get(pk=conversation.contact_id)
    grant_offers_consent(customer=z, contact=contact, source="chat")
    say(z, conversation, "STOP")
    product = make_product(owner, business, name="Blueberry cake", price=4500, stock=5)
    order = orders.create_payment_request(
        actor=owner, conversation=conversation, lines=[{"product_id": product.pk}]
    )
    pay(z, order, credit)
    orders.transition_order(order=order, to="completed", actor=owner)
    SatisfactionRating.objects.create(order=order, business=business, customer=z, score=5)

    # A friend: a direct chat, money both ways, a withdrawal to her Pix key.
    friend = UserFactory(email=FRIEND_EMAIL, display_name="Friend Person")
    pins.set_pin(user=friend, pin=PIN, pin_again=PIN)
    friend_card = _card(friend, "5200828282828210", "Friend Person")
    direct, _created = conversations.start_direct_conversation(user=z, peer=friend)
    say(friend, direct, FRIEND_TEXT)
    p2p.send_money(
        payer=z, conversation=direct, amount=2500, currency="BRL", card=debit,
        confirmation="pin", pin=PIN, idempotency_key=uuid.uuid4().hex, note="for lunch",
    )  # fmt: skip
    p2p.send_money(
        payer=friend, conversation=direct, amount=1500, currency="BRL", card=friend_card,
        confirmation="pin", pin=PIN, idempotency_key=uuid.uuid4().hex, note="back to you",
    )  # fmt: skip
    from payments.services import destinations

    pix = destinations.add_destination(
        actor=z, kind="pix", data={"pix_key_type": "email", "pix_key": EMAIL}
    )
    payout = payouts.request_withdrawal(
        user=z, destination=pix, amount=1500, idempotency_key=uuid.uuid4().hex, pin=PIN
    )
    payouts.settle_payout(
        payout_id=payout.pk, result=TransferResult(status="paid", reference="bank-z1")
    )

    # The shop's endpoint was sent those events: their payloads are built and logged.
    for event in WebhookEvent.objects.all():
        capture.ensure_payload(event)

    # Traces elsewhere: an invitation to her address, a mail to her.
    Invitation.objects.create(
        business=business, email=EMAIL, role="agent", key_hash=uuid.uuid4().hex,
        invited_by=owner, expires_at=timezone.now() + datetime.timedelta(days=7),
    )  # fmt: skip
    queue_email(to=EMAIL, subject="Welcome Zephyrine", body=f"Hello {NAME}")
    return SimpleNamespace(
        user=z, friend=friend, conversation=conversation, direct=direct, order=order,
        contact=contact, credit=credit, debit=debit, pix=pix,
    )  # fmt: skip
