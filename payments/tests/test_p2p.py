"""Person-to-person payments: send, request, pay a request, limits, bad input."""

import datetime
import uuid

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats.models import Message
from chats.services import conversations
from chats.services import messages as chat_messages
from chats.tests.factories import start_chat
from core.errors import AppError
from payments import selectors
from payments.models import LedgerTransaction, MoneyRequest, P2PLimits, Payment
from payments.services import ledger, p2p, pins
from payments.tests.factories import PIN, card_for

pytestmark = pytest.mark.django_db
DEBIT = "4000056655665556"


@pytest.fixture
def friend(db):
    user = UserFactory(email="bia@example.com", display_name="Bia")
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user


@pytest.fixture
def direct(customer, friend):
    conversation, _created = conversations.start_direct_conversation(user=customer, peer=friend)
    return conversation


@pytest.fixture
def debit(customer):
    return card_for(customer, DEBIT)


def send(payer, conversation, amount, card, key=None, **kwargs):
    kwargs.setdefault("currency", "BRL")
    kwargs.setdefault("confirmation", "pin")
    kwargs.setdefault("pin", PIN)
    return p2p.send_money(
        payer=payer, conversation=conversation, amount=amount, card=card,
        idempotency_key=key or uuid.uuid4().hex, **kwargs,
    )  # fmt: skip


def test_sending_money_credits_the_friends_wallet_free_and_tells_the_chat(
    customer, friend, direct, debit
):
    # when Carla sends Bia 25.00 with a note
    payment = send(customer, direct, 2500, debit, note="Pizza")
    # then the payment succeeded with no fee, posted once, and Bia's wallet grew
    assert payment.status == Payment.Status.SUCCEEDED and payment.fee == 0
    assert payment.payee == friend and payment.order is None and payment.business is None
    (posting,) = LedgerTransaction.objects.filter(payment=payment)
    assert posting.kind == "p2p_payment"
    assert sum(e.amount for e in posting.entries.all()) == 0
    assert ledger.wallet_account(friend, "BRL").balance == 2500
    assert selectors.wallet_balance(user=friend) == 2500
    card = Message.objects.get(conversation=direct, kind="p2p_payment")
    assert card.payload["payment_id"] == payment.pk and card.author == customer


def test_a_repeat_with_the_same_key_sends_once(customer, friend, direct, debit):
    key = uuid.uuid4().hex
    first = send(customer, direct, 1000, debit, key=key)
    again = send(customer, direct, 1000, debit, key=key)
    assert first.pk == again.pk
    assert Payment.objects.count() == 1
    assert ledger.wallet_account(friend, "BRL").balance == 1000


def test_credit_cards_are_refused(customer, direct):
    credit = card_for(customer)  # 4242…: credit
    with pytest.raises(AppError) as caught:
        send(customer, direct, 1000, credit)
    assert caught.value.code == "card_not_debit"
    assert not Payment.objects.exists()


def test_a_wrong_pin_sends_nothing(customer, direct, debit):
    with pytest.raises(AppError) as caught:
        send(customer, direct, 1000, debit, pin="000000")
    assert caught.value.code == "pin_wrong"
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", [0, -100, 10.5, "1000", True, None, 10**13])
def test_bad_amounts_are_refused(customer, direct, debit, amount):
    with pytest.raises(AppError):
        send(customer, direct, amount, debit)
    assert not Payment.objects.exists()


def test_another_currency_is_refused(customer, direct, debit):
    with pytest.raises(AppError) as caught:
        send(customer, direct, 1000, debit, currency="USD")
    assert caught.value.code == "currency_unsupported"


def test_sending_to_someone_who_blocked_you_is_refused(customer, friend, direct, debit):
    conversations.block_peer(actor=friend, conversation=direct, blocked=True)
    with pytest.raises(AppError) as caught:
        send(customer, direct, 1000, debit)
    assert caught.value.code == "blocked"
    assert not Payment.objects.exists()
    # and unblocking lets it through
    conversations.block_peer(actor=friend, conversation=direct, blocked=False)
    assert send(customer, direct, 1000, debit).status == Payment.Status.SUCCEEDED


def test_a_conversation_you_are_not_in_is_not_found(friend, direct, outsider):
    card = card_for(outsider, DEBIT)
    pins.set_pin(user=outsider, pin=PIN, pin_again=PIN)
    with pytest.raises(AppError) as caught:
        send(outsider, direct, 1000, card)
    assert caught.value.code == "not_found" and caught.value.status_code == 404


def test_a_business_conversation_is_not_for_p2p(customer, business, debit):
    conversation = start_chat(business, customer)
    with pytest.raises(AppError) as caught:
        send(customer, conversation, 1000, debit)
    assert caught.value.code == "not_direct"


def test_someone_elses_card_is_refused(customer, friend, direct):
    card = card_for(friend, DEBIT)
    with pytest.raises(AppError) as caught:
        send(customer, direct, 1000, card)
    assert caught.value.code == "card_invalid"


def test_a_decline_is_recorded_and_credits_nothing(customer, friend, direct):
    # a debit card that fails when charged does not exist among the test cards:
    # make one by giving a failing card's token the debit funding.
    card = card_for(customer, "4000000000009995")
    card.funding = "debit"
    card.save()
    with pytest.raises(AppError) as caught:
        send(customer, direct, 1000, card)
    assert caught.value.code == "insufficient_funds"
    assert Payment.objects.get().status == Payment.Status.FAILED
    assert ledger.wallet_account(friend, "BRL").balance == 0


# --- Limits ---------------------------------------------------------------------------------


def test_the_per_payment_limit(customer, direct, debit):
    with pytest.raises(AppError) as caught:
        send(customer, direct, 100_001, debit)
    assert caught.value.code == "limit_per_payment"
    assert "1,000.00" in str(caught.value.message) or "1.000,00" in str(caught.value.message)
    assert send(customer, direct, 100_000, debit).status == Payment.Status.SUCCEEDED


def test_the_monthly_limit_says_when_it_resets(customer, direct, debit):
    P2PLimits.objects.update_or_create(pk=1, defaults={"max_sent_per_month": 3000})
    send(customer, direct, 2000, debit)
    with pytest.raises(AppError) as caught:
        send(customer, direct, 1001, debit)
    assert caught.value.code == "limit_sent_per_month"
    message = str(caught.value.message)
    assert "10.00" in message or "10,00" in message  # what is left
    local = timezone.localtime(timezone.now())
    first = (local.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    assert first.strftime("%m") in message or str(first.month) in message
    assert send(customer, direct, 1000, debit).status == Payment.Status.SUCCEEDED


def test_the_received_per_day_limit(customer, friend, direct, debit):
    P2PLimits.objects.update_or_create(pk=1, defaults={"max_received_per_day": 2})
    send(customer, direct, 100, debit)
    send(customer, direct, 100, debit)
    with pytest.raises(AppError) as caught:
        send(customer, direct, 100, debit)
    assert caught.value.code == "limit_received_per_day"
    assert "Bia" in str(caught.value.message)
    assert Payment.objects.filter(status="succeeded").count() == 2


def test_failed_payments_do_not_count_against_the_limits(customer, direct, debit):
    P2PLimits.objects.update_or_create(pk=1, defaults={"max_received_per_day": 1})
    poor = card_for(customer, "4000000000009995")
    poor.funding = "debit"
    poor.save()
    with pytest.raises(AppError):
        send(customer, direct, 100, poor)
    assert send(customer, direct, 100, debit).status == Payment.Status.SUCCEEDED


# --- Requests ---------------------------------------------------------------------------------


def test_a_request_is_paid_in_one_step(customer, friend, direct):
    # given Bia asks Carla for 30.00
    request = p2p.request_money(
        requester=friend, conversation=direct, amount=3000, currency="BRL", note="Cinema"
    )
    assert (
        Message.objects.get(conversation=direct, kind="money_request").payload["money_request_id"]
        == request.pk
    )
    # when Carla pays it
    payment = p2p.pay_money_request(
        payer=customer, money_request=request, card=card_for(customer, DEBIT),
        confirmation="pin", pin=PIN, idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    # then Bia's wallet has it and the request is paid
    assert payment.payee == friend and payment.money_request == request
    request.refresh_from_db()
    assert request.status == MoneyRequest.Status.PAID
    assert ledger.wallet_account(friend, "BRL").balance == 3000
    # and it cannot be paid twice
    with pytest.raises(AppError) as caught:
        p2p.pay_money_request(
            payer=customer, money_request=request, card=card_for(customer, DEBIT),
            confirmation="pin", pin=PIN, idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
    assert caught.value.code == "request_closed"


def test_you_cannot_pay_your_own_request(customer, friend, direct):
    request = p2p.request_money(requester=friend, conversation=direct, amount=3000, currency="BRL")
    with pytest.raises(AppError) as caught:
        p2p.pay_money_request(
            payer=friend, money_request=request, card=card_for(friend, DEBIT),
            confirmation="pin", pin=PIN, idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
    assert caught.value.code == "self_payment"


def test_outsiders_do_not_see_a_request(friend, direct, outsider):
    request = p2p.request_money(requester=friend, conversation=direct, amount=3000, currency="BRL")
    with pytest.raises(AppError) as caught:
        p2p.get_money_request_for(user=outsider, request_id=request.pk)
    assert caught.value.status_code == 404
    for bad in ("x", -1, 10**30, None):
        with pytest.raises(AppError):
            p2p.get_money_request_for(user=friend, request_id=bad)


def test_a_request_can_be_declined_then_not_paid(customer, friend, direct):
    request = p2p.request_money(requester=friend, conversation=direct, amount=3000, currency="BRL")
    p2p.close_money_request(actor=customer, money_request=request)
    request.refresh_from_db()
    assert request.status == MoneyRequest.Status.DECLINED
    with pytest.raises(AppError) as caught:
        p2p.pay_money_request(
            payer=customer, money_request=request, card=card_for(customer, DEBIT),
            confirmation="pin", pin=PIN, idempotency_key=uuid.uuid4().hex,
        )  # fmt: skip
    assert caught.value.code == "request_closed"


def test_a_blocked_user_cannot_request_money(customer, friend, direct):
    conversations.block_peer(actor=friend, conversation=direct, blocked=True)
    with pytest.raises(AppError) as caught:
        p2p.request_money(requester=customer, conversation=direct, amount=100, currency="BRL")
    assert caught.value.code == "blocked"
    # and their messages are refused too
    with pytest.raises(AppError) as caught:
        chat_messages.send_text(actor=customer, conversation=direct, body="hi")
    assert caught.value.code == "blocked"


def test_sending_with_a_fingerprint_bound_to_the_amount(customer, friend, direct, debit):
    from payments.tests.test_webauthn import SoftAuthenticator, register

    device = SoftAuthenticator()
    register(customer, device)
    options = p2p.payment_options(payer=customer, conversation=direct, amount=700, currency="BRL")
    assertion = device.get(options)
    # the same assertion for another amount is refused
    with pytest.raises(AppError) as caught:
        send(customer, direct, 800, debit, confirmation="webauthn", webauthn_response=assertion)
    assert caught.value.code == "webauthn_invalid"
    options = p2p.payment_options(payer=customer, conversation=direct, amount=700, currency="BRL")
    payment = send(
        customer, direct, 700, debit, confirmation="webauthn", webauthn_response=device.get(options)
    )
    assert payment.status == Payment.Status.SUCCEEDED and payment.confirmation == "webauthn"


def _flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_closing_a_request_on_its_page_goes_back_to_the_chat(client, customer, friend, direct):
    request = p2p.request_money(requester=friend, conversation=direct, amount=3000, currency="BRL")
    client.force_login(customer)
    url = reverse("money_request_close", args=[request.pk])

    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response.url == reverse("chat_thread", args=[direct.pk])
    assert _flashed(response) == ["The request is closed."]
    request.refresh_from_db()
    assert request.status == MoneyRequest.Status.DECLINED

    # A second close is refused on the request's page, and changes nothing (the first
    # message was never shown, so it is still queued before this one).
    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response.url == reverse("money_request", args=[request.pk])
    assert _flashed(response)[-1] == "This request is no longer open."
    request.refresh_from_db()
    assert request.status == MoneyRequest.Status.DECLINED
