"""The refunds and person-to-person API, and their pages: scoped by role (outsiders
404, agents and customers 403), Idempotency-Key on every money-moving call, strict
integer money."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from chats.services import conversations as chat_conversations
from chats.services import inbox
from payments.models import MoneyRequest, Payment, Refund
from payments.services import ledger, pins
from payments.tests.factories import PIN, card_for, pay

pytestmark = pytest.mark.django_db
DEBIT = "4000056655665556"


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def post(client, url, data=None, key=None):
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    return client.post(url, data, format="json", headers=headers)


@pytest.fixture
def paid(shop, customer):
    order, _product = shop
    pay(customer, order, card_for(customer))
    order.refresh_from_db()
    return order


@pytest.fixture
def friend(db):
    from accounts.tests.factories import UserFactory

    user = UserFactory(email="bia@example.com", display_name="Bia")
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user


@pytest.fixture
def direct(customer, friend):
    conversation, _created = chat_conversations.start_direct_conversation(
        user=customer, peer=friend
    )
    return conversation


# --- Refunds ----------------------------------------------------------------------------


def test_an_admin_refunds_through_the_api_once_per_key(paid, admin):
    url = f"/api/v1/orders/{paid.pk}/refunds/"
    key = uuid.uuid4().hex
    body = {"amount": 4900, "reason": "Half was missing"}
    first = post(api(admin), url, body, key=key)
    assert first.status_code == 201, first.json()
    assert first.json()["amount"] == 4900 and first.json()["status"] == "succeeded"
    again = post(api(admin), url, body, key=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert Refund.objects.count() == 1
    listed = api(admin).get(url)
    assert [r["id"] for r in listed.json()] == [first.json()["id"]]


def test_the_customer_sees_the_refunds_but_cannot_refund(paid, customer, owner):
    url = f"/api/v1/orders/{paid.pk}/refunds/"
    post(api(owner), url, {"amount": 100, "reason": "Sorry"})
    assert len(api(customer).get(url).json()) == 1
    assert post(api(customer), url, {"amount": 100, "reason": "Me"}).status_code == 403


def test_an_agent_gets_403_and_outsiders_404(paid, owner, agent, outsider, other):
    # given the agent can see the order (its conversation is assigned to them)
    url = f"/api/v1/orders/{paid.pk}/refunds/"
    inbox.assign(actor=owner, conversation=paid.conversation, assignee_id=agent.pk)
    refused = post(api(agent), url, {"amount": 100, "reason": "x"})
    # the one error body, as every other error (core.errors.forbidden)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    for user in (outsider, other.owner, other.admin):
        assert post(api(user), url, {"amount": 100, "reason": "x"}).status_code == 404
        assert api(user).get(url).status_code == 404
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0, "reason": "x"},
        {"amount": -5, "reason": "x"},
        {"amount": 10.5, "reason": "x"},
        {"amount": "100", "reason": "x"},
        {"amount": 10**13, "reason": "x"},
        {"amount": 100},
        {"amount": 100, "reason": "card 4242 4242 4242 4242"},
        {"amount": 9801, "reason": "too much"},
    ],
)
def test_bad_refunds_are_400s_and_change_nothing(paid, owner, body):
    response = post(api(owner), f"/api/v1/orders/{paid.pk}/refunds/", body)
    assert response.status_code == 400, response.json()
    assert not Refund.objects.exists()


def test_a_refund_needs_an_idempotency_key(paid, owner):
    response = api(owner).post(
        f"/api/v1/orders/{paid.pk}/refunds/", {"amount": 100, "reason": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"


def test_the_refund_form_on_the_order_page(client, paid, owner, business):
    client.force_login(owner)
    page = reverse("order_detail", args=[business.slug, paid.pk])
    assert "Left to refund" in client.get(page).content.decode()
    response = client.post(
        reverse("order_refund", args=[business.slug, paid.pk]),
        {"amount": "49.00", "reason": "Half", "attempt": uuid.uuid4().hex},
    )
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert refund.amount == 4900 and refund.status == Refund.Status.SUCCEEDED
    bad = client.post(
        reverse("order_refund", args=[business.slug, paid.pk]),
        {"amount": "90.00", "reason": "Too much", "attempt": uuid.uuid4().hex},
    )
    assert bad.status_code == 400 and "at most" in bad.content.decode()


def test_the_refund_page_is_not_found_for_another_business(client, paid, other):
    client.force_login(other.owner)
    response = client.post(
        reverse("order_refund", args=[other.business.slug, paid.pk]),
        {"amount": "1.00", "reason": "x", "attempt": uuid.uuid4().hex},
    )
    assert response.status_code == 404


# --- Person to person ---------------------------------------------------------------------


def test_send_money_through_the_api(customer, friend, direct):
    card = card_for(customer, DEBIT)
    url = f"/api/v1/conversations/{direct.pk}/send-money/"
    body = {"amount": 1500, "note": "Lunch", "card_id": card.pk, "confirmation": "pin", "pin": PIN}
    key = uuid.uuid4().hex
    response = post(api(customer), url, body, key=key)
    assert response.status_code == 201, response.json()
    assert response.json()["payee"]["id"] == friend.pk and "card" not in response.json()
    assert post(api(customer), url, body, key=key).json()["id"] == response.json()["id"]
    assert ledger.wallet_account(friend, "BRL").balance == 1500


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 0},
        {"amount": -1},
        {"amount": 1.5},
        {"amount": "100"},
        {"currency": "USD"},
        {"amount": 100_001},
        {"note": "4242424242424242"},
        {"card_id": 999999},
    ],
)
def test_bad_sends_are_refused(customer, direct, change):
    card = card_for(customer, DEBIT)
    body = {"amount": 100, "card_id": card.pk, "confirmation": "pin", "pin": PIN} | change
    response = post(api(customer), f"/api/v1/conversations/{direct.pk}/send-money/", body)
    assert 400 <= response.status_code < 500 and response.status_code != 404, response.json()
    assert not Payment.objects.exists()


def test_send_money_outside_your_conversation_is_404(customer, direct, outsider):
    card = card_for(outsider, DEBIT)
    body = {"amount": 100, "card_id": card.pk, "confirmation": "pin", "pin": PIN}
    response = post(api(outsider), f"/api/v1/conversations/{direct.pk}/send-money/", body)
    assert response.status_code == 404


def test_request_and_pay_through_the_api(customer, friend, direct):
    created = post(
        api(friend),
        f"/api/v1/conversations/{direct.pk}/money-requests/",
        {"amount": 2000, "currency": "BRL", "note": "Tickets"},
    )
    assert created.status_code == 201, created.json()
    request_id = created.json()["id"]
    card = card_for(customer, DEBIT)
    paid = post(
        api(customer),
        f"/api/v1/money-requests/{request_id}/pay/",
        {"card_id": card.pk, "confirmation": "pin", "pin": PIN},
    )
    assert paid.status_code == 201, paid.json()
    assert MoneyRequest.objects.get().status == "paid"
    detail = api(friend).get(f"/api/v1/money-requests/{request_id}/")
    assert detail.json()["status"] == "paid"


def test_send_money_page(client, customer, friend, direct):
    card = card_for(customer, DEBIT)
    card_for(customer)  # a credit card is not offered
    client.force_login(customer)
    url = reverse("p2p_send", args=[direct.pk])
    page = client.get(url).content.decode()
    assert "Send money to Bia" in page and "4242" not in page
    response = client.post(
        url,
        {
            "amount": "12.50",
            "note": "Coffee",
            "card": card.pk,
            "confirmation": "pin",
            "pin": PIN,
            "attempt": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 302
    assert ledger.wallet_account(friend, "BRL").balance == 1250
    client.force_login(friend)
    wallet = client.get(reverse("wallet")).content.decode()
    assert "12.50" in wallet or "12,50" in wallet
