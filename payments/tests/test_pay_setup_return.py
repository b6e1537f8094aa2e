"""From a payment request to the wallet and back: "Add a card" and "Set a payment PIN"
on the pay section return the customer to the payment, the new card selected."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chats.tests.factories import start_chat
from payments.models import Card
from payments.services import orders, pins
from payments.tests.factories import PIN
from payments.tests.factories import card_for as _card

pytestmark = pytest.mark.django_db
NEW_CARD = {
    "number": "5555 5555 5555 4444",
    "expiry": "12/39",
    "cvc": "123",
    "holder_name": "Dora Reis",
}


@pytest.fixture
def newcomer():
    """Dora: no card, no PIN yet."""
    return UserFactory(email="dora@example.com", display_name="Dora")


@pytest.fixture
def request_to(owner, business):
    def make(customer):
        conversation = start_chat(business, customer)
        return orders.create_payment_request(
            actor=owner, conversation=conversation, lines=[{"name": "Bolo", "unit_price": 1500}]
        )

    return make


def _link(page: str, text: str) -> str:
    (href,) = re.findall(r'href="([^"]+)">' + re.escape(text) + "<", page)
    return href.replace("&amp;", "&")


def test_add_a_card_from_the_payment_comes_back_to_it_with_the_card_selected(
    client, newcomer, request_to
):
    order = request_to(newcomer)
    review = reverse("order_review", args=[order.pk])
    client.force_login(newcomer)

    page = client.get(review).content.decode()
    wallet = _link(page, "Add a card")
    assert parse_qs(urlsplit(wallet).query)["next"] == [review]

    wallet_page = client.get(wallet).content.decode()
    assert f'name="next" value="{review}"' in wallet_page
    response = client.post(reverse("wallet"), {**NEW_CARD, "next": review})

    card = Card.objects.get(user=newcomer)
    assert response.status_code == 302
    assert response["Location"] == f"{review}?card={card.pk}#pay"


def test_the_pay_form_selects_the_card_named_in_the_address_only_if_it_is_yours(
    client, customer, request_to, outsider
):
    order = request_to(customer)
    first, second = _card(customer), _card(customer, number="5555555555554444")
    foreign = _card(outsider)
    review = reverse("order_review", args=[order.pk])
    client.force_login(customer)

    def checked(query: str) -> list[str]:
        page = client.get(review + query).content.decode()
        return re.findall(r'<input type="radio" name="card" value="(\d+)"[^>]*checked', page)

    default = str(Card.objects.get(user=customer, is_default=True).pk)
    assert checked("") == [default]
    assert checked(f"?card={second.pk}") == [str(second.pk)]
    assert checked(f"?card={first.pk}") == [str(first.pk)]
    assert checked(f"?card={foreign.pk}") == [default]
    assert checked("?card=x") == [default]


def test_setting_the_pin_from_the_payment_comes_back_to_it(client, newcomer, request_to):
    order = request_to(newcomer)
    _card(newcomer)
    review = reverse("order_review", args=[order.pk])
    client.force_login(newcomer)

    page = client.get(review).content.decode()
    pin_page = _link(page, "Set a payment PIN")
    response = client.post(pin_page, {"action": "set", "set-pin": PIN, "set-pin_again": PIN})

    assert pins.has_pin(newcomer)
    assert response.status_code == 302 and response["Location"] == review


def test_a_foreign_next_is_ignored(client, newcomer):
    client.force_login(newcomer)
    response = client.post(reverse("wallet") + "?next=https://evil.example/", {**NEW_CARD})
    assert response["Location"] == reverse("wallet")
    response = client.post(
        reverse("wallet_pin") + "?next=//evil.example/",
        {"action": "set", "set-pin": PIN, "set-pin_again": PIN},
    )
    assert response["Location"] == reverse("wallet_pin")


def test_the_pin_label_on_the_pay_form_does_not_say_optional(client, customer, request_to):
    order = request_to(customer)
    _card(customer)
    client.force_login(customer)
    page = client.get(reverse("order_review", args=[order.pk])).content.decode()
    (label,) = re.findall(r'<label for="id_pin">(.*?)</label>', page, re.S)
    assert "Payment PIN" in label and "optional" not in label


def test_the_sandbox_wallet_names_a_debit_test_card(client, newcomer, settings):
    client.force_login(newcomer)
    page = client.get(reverse("wallet")).content.decode()
    assert "4000 0566 5566 5556" in page and "debit" in page
