"""Every money field of the payments pages takes ASCII digits only: an amount typed with
Arabic-Indic (١٢٣), full-width (１２３) or superscript (¹²³) digits is the field's
clear error and changes nothing (it was charged as 123 before: Python's ``\\d`` and
``Decimal()`` read Unicode digits). All of them go through ``core.money.parse_money``."""

import uuid

import pytest
from django.urls import reverse

from chats.services import conversations
from chats.tests.factories import start_chat
from payments.models import MoneyRequest, Order, Payment, Payout, Refund
from payments.services import ledger, pins
from payments.tests.factories import PIN, card_for, pay
from payments.tests.payout_factories import add_pix, credit_wallet

pytestmark = pytest.mark.django_db

DEBIT = "4000056655665556"
DIGITS = pytest.mark.parametrize(
    "typed", ["١٢٣", "１２３", "¹²³"], ids=["arabic-indic", "full-width", "superscript"]
)
ERROR = "Enter the amount as a number"


@pytest.fixture
def friend(db):
    from accounts.tests.factories import UserFactory

    user = UserFactory(email="bia@example.com", display_name="Bia")
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user


@pytest.fixture
def direct(customer, friend):
    conversation, _created = conversations.start_direct_conversation(user=customer, peer=friend)
    return conversation


def _refused(response) -> None:
    assert response.status_code == 400
    assert ERROR in response.content.decode()


@DIGITS
def test_send_money(client, customer, friend, direct, typed):
    # given Carla with a debit card and a friend
    card = card_for(customer, DEBIT)
    client.force_login(customer)

    # when she types the amount in other digits
    response = client.post(
        reverse("p2p_send", args=[direct.pk]),
        {
            "amount": typed,
            "note": "Coffee",
            "card": card.pk,
            "confirmation": "pin",
            "pin": PIN,
            "attempt": uuid.uuid4().hex,
        },
    )

    # then the amount field says so and no money moves
    _refused(response)
    assert Payment.objects.count() == 0
    assert ledger.wallet_account(friend, "BRL").balance == 0


@DIGITS
def test_request_money(client, customer, direct, typed):
    client.force_login(customer)

    response = client.post(reverse("p2p_request", args=[direct.pk]), {"amount": typed})

    _refused(response)
    assert MoneyRequest.objects.count() == 0


@DIGITS
@pytest.mark.parametrize("field", ["line1_price", "shipping", "discount"])
def test_request_payment(client, owner, business, customer, typed, field):
    conversation = start_chat(business, customer)
    client.force_login(owner)
    form = {"line1_name": "Gift box", "line1_price": "12.50", "line1_qty": "1"}
    form |= {"expires_hours": "24", field: typed}

    response = client.post(reverse("request_payment", args=[business.slug, conversation.pk]), form)

    _refused(response)
    assert Order.objects.count() == 0


@DIGITS
def test_refund(client, shop, owner, business, customer, typed):
    order, _product = shop
    pay(customer, order, card_for(customer))
    client.force_login(owner)

    response = client.post(
        reverse("order_refund", args=[business.slug, order.pk]),
        {"amount": typed, "reason": "Half", "attempt": uuid.uuid4().hex},
    )

    _refused(response)
    assert Refund.objects.count() == 0


@DIGITS
def test_withdraw(client, customer, typed):
    credit_wallet(customer, 50000)
    destination = add_pix(customer, None, "email", "carla@example.com")
    client.force_login(customer)

    response = client.post(
        reverse("wallet_balance"),
        {"amount": typed, "destination": destination.pk, "pin": PIN, "attempt": "a1"},
    )

    _refused(response)
    assert Payout.objects.count() == 0
    assert ledger.wallet_account(customer, "BRL").balance == 50000
