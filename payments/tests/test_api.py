"""The payments API: wallet, orders, paying and payments lists, scoped like the pages
(an outsider and another business get 404), with Idempotency-Key on order create and
pay, strict integer money and no card numbers in free text."""

import datetime
import json
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from catalog.tests.factories import make_product
from chats.services import inbox
from chats.tests.factories import start_chat
from core.cards import contains_card_number
from core.errors import AppError
from core.money import MAX_MINOR
from payments.gateway import get_gateway
from payments.gateway.base import CardDetails
from payments.idempotency import hash_request, purge_idempotency_records
from payments.models import Card, IdempotencyRecord, LedgerTransaction, Order, Payment
from payments.services import cards, orders, pins

PIN = "730519"
YEAR = timezone.now().year + 2


# --- Helpers and fixtures -------------------------------------------------------------


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def bearer(user) -> APIClient:
    _token, raw = account_services.create_api_token(user=user, name="app")
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client, url, data=None, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, data, format="json", headers=headers)


def add_card(user, number="4242424242424242") -> Card:
    details = CardDetails(
        number=number, exp_month=12, exp_year=YEAR, cvc="123", holder_name="Carla M"
    )
    return cards.add_card(user=user, details=details)


def create_url(business, conversation) -> str:
    return f"/api/v1/businesses/{business.slug}/conversations/{conversation.pk}/orders/"


def order_url(order, rest: str = "") -> str:
    return f"/api/v1/orders/{order.pk}/{rest}"


def pay_body(card, **overrides) -> dict:
    return {"card_id": card.pk, "confirmation": "pin", "pin": PIN, **overrides}


FREE_LINE = {"name": "Bolo de cenoura", "unit_price": 4500, "quantity": 2}


@pytest.fixture
def customer(db):
    from accounts.tests.factories import UserFactory

    user = UserFactory(email="carla@example.com", display_name="Carla")
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user


@pytest.fixture
def chat(business, customer):
    return start_chat(business, customer)


@pytest.fixture
def order(owner, chat):
    return orders.create_payment_request(
        actor=owner, conversation=chat, lines=[FREE_LINE], shipping=800
    )


@pytest.fixture
def card(customer):
    return add_card(customer)


# --- Cards ------------------------------------------------------------------------------------


def test_a_card_is_added_listed_made_default_and_removed(customer):
    client = api(customer)

    first = client.post(
        "/api/v1/wallet/cards/",
        {
            "number": "4242 4242 4242 4242",
            "exp_month": 12,
            "exp_year": YEAR,
            "cvc": "123",
            "holder_name": "Carla M",
        },
        format="json",
    )
    second = client.post(
        "/api/v1/wallet/cards/",
        {
            "number": "5555555555554444",
            "exp_month": 1,
            "exp_year": YEAR,
            "cvc": "321",
            "holder_name": "Carla M",
        },
        format="json",
    )

    assert (first.status_code, second.status_code) == (201, 201)
    body = first.json()
    assert body["brand"] == "visa" and body["last4"] == "4242" and body["is_default"]
    raw = first.content.decode() + second.content.decode()
    assert "4242424242424242" not in raw and "5555555555554444" not in raw
    assert "number" not in body and "cvc" not in body and "token" not in body

    made = client.post(f"/api/v1/wallet/cards/{second.json()['id']}/default/")
    listed = client.get("/api/v1/wallet/cards/")
    removed = client.delete(f"/api/v1/wallet/cards/{body['id']}/")

    assert made.status_code == 200 and made.json()["is_default"]
    assert [c["id"] for c in listed.json()] == [second.json()["id"], body["id"]]
    assert removed.status_code == 204
    assert [c["id"] for c in client.get("/api/v1/wallet/cards/").json()] == [second.json()["id"]]


def test_a_card_declined_at_attach_is_a_clear_400(customer):
    response = api(customer).post(
        "/api/v1/wallet/cards/",
        {
            "number": "4000000000000002",
            "exp_month": 12,
            "exp_year": YEAR,
            "cvc": "123",
            "holder_name": "Carla",
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "card_declined"
    assert "4000000000000002" not in response.content.decode()
    assert not Card.objects.exists()


def test_someone_elses_card_is_not_found(customer, card, outsider):
    client = api(outsider)

    assert client.delete(f"/api/v1/wallet/cards/{card.pk}/").status_code == 404
    assert client.post(f"/api/v1/wallet/cards/{card.pk}/default/").status_code == 404
    assert client.get("/api/v1/wallet/cards/").json() == []
    card.refresh_from_db()
    assert card.removed_at is None


@pytest.mark.parametrize(
    "holder_name",
    ["4242 4242 4242 4242", "Carla 4000-0566-5566-5556", "x5555555555554444y"],
)
def test_a_card_number_in_the_holder_name_is_refused(customer, holder_name):
    response = api(customer).post(
        "/api/v1/wallet/cards/",
        {
            "number": "4242424242424242",
            "exp_month": 12,
            "exp_year": YEAR,
            "cvc": "123",
            "holder_name": holder_name,
        },
        format="json",
    )

    assert response.status_code == 400
    assert "holder_name" in response.json()
    assert not Card.objects.exists()


@pytest.mark.parametrize(
    "text, found",
    [
        ("4242424242424242", True),
        ("card 4242 4242 4242 4242 exp 12/27", True),
        ("4242424242424242123", True),  # number and CVC run together
        ("order 12345, call 11 98765 4321", False),
        ("1234567890123", False),  # 13 digits, fails Luhn
        ("", False),
    ],
)
def test_card_numbers_are_found_in_text(text, found):
    assert contains_card_number(text) is found


# --- PIN and fingerprints ------------------------------------------------------------------


def test_the_pin_status(customer, outsider):
    fine = api(customer).get("/api/v1/wallet/pin/")
    none = api(outsider).get("/api/v1/wallet/pin/")
    for _attempt in range(3):
        pins.check_pin(user=customer, pin="000001")
    locked = api(customer).get("/api/v1/wallet/pin/").json()

    assert fine.json() == {"has_pin": True, "locked_until": None, "needs_reset": False}
    assert none.json() == {"has_pin": False, "locked_until": None, "needs_reset": False}
    assert locked["has_pin"] and locked["locked_until"] and not locked["needs_reset"]


def test_fingerprint_options_and_an_empty_list(customer, outsider, order):
    client = api(customer)

    options = client.post("/api/v1/wallet/fingerprints/options/")
    listed = client.get("/api/v1/wallet/fingerprints/")
    bad = client.post(
        "/api/v1/wallet/fingerprints/", {"name": "phone", "credential": {}}, format="json"
    )
    pay_options = client.post(order_url(order, "pay/fingerprint/"))
    stranger = api(outsider).post(order_url(order, "pay/fingerprint/"))

    assert options.status_code == 200
    assert options.json()["options"]["authenticatorSelection"]["userVerification"] == "required"
    assert listed.json() == []
    assert bad.status_code == 400 and bad.json()["code"] == "webauthn_invalid"
    assert pay_options.status_code == 400 and pay_options.json()["code"] == "webauthn_missing"
    assert stranger.status_code == 404


def test_someone_elses_fingerprint_is_not_found(customer, outsider):
    from payments.models import WebAuthnCredential

    credential = WebAuthnCredential.objects.create(
        user=customer, credential_id=b"cred", public_key=b"key", name="phone"
    )

    assert api(outsider).delete(f"/api/v1/wallet/fingerprints/{credential.pk}/").status_code == 404
    assert api(customer).delete(f"/api/v1/wallet/fingerprints/{credential.pk}/").status_code == 204
    assert not WebAuthnCredential.objects.exists()


# --- Orders ------------------------------------------------------------------------------------


def test_staff_sends_a_payment_request(owner, business, chat, customer):
    product = make_product(owner, business, name="Pão", price=900)

    response = post(
        api(owner),
        create_url(business, chat),
        {
            "lines": [{"product_id": product.pk, "quantity": 3}, FREE_LINE],
            "shipping": 800,
            "discount": 100,
            "note": "Entrega amanhã",
            "expires_in_hours": 48,
        },
        key="create-1",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == 3 * 900 + 2 * 4500 + 800 - 100
    assert body["currency"] == "BRL" and body["status"] == "pending"
    assert [i["name"] for i in body["items"]] == ["Pão", "Bolo de cenoura"]
    assert body["customer"]["id"] == customer.pk
    order = Order.objects.get()
    assert order.message.kind == "payment_request"
    assert abs(order.expires_at - timezone.now() - datetime.timedelta(hours=48)).seconds < 60


def test_order_create_needs_an_idempotency_key(owner, business, chat):
    response = post(api(owner), create_url(business, chat), {"lines": [FREE_LINE]})

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert not Order.objects.exists()


def test_order_create_is_staff_only(business, chat, customer, outsider, other):
    data = {"lines": [FREE_LINE]}

    as_customer = post(api(customer), create_url(business, chat), data, key="k1")
    as_outsider = post(api(outsider), create_url(business, chat), data, key="k1")
    # the neighbour's staff, through their own slug or ours
    theirs = post(api(other.owner), create_url(other.business, chat), data, key="k1")
    ours = post(api(other.owner), create_url(business, chat), data, key="k2")

    assert [r.status_code for r in (as_customer, as_outsider, theirs, ours)] == [404] * 4
    assert not Order.objects.exists()


def test_an_agent_sees_only_conversations_they_can(owner, business, chat, agent, admin):
    inbox.assign(actor=owner, conversation=chat, assignee_id=admin.pk)

    response = post(api(agent), create_url(business, chat), {"lines": [FREE_LINE]}, key="a")

    assert response.status_code == 404
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"shipping": 10.5},
        {"shipping": "800"},
        {"shipping": True},
        {"shipping": -1},
        {"shipping": MAX_MINOR + 1},
        {"discount": 1.0},
        {"lines": [{"name": "Bolo", "unit_price": 45.0}]},
        {"lines": [{"name": "Bolo", "unit_price": "4500"}]},
        {"lines": [{"name": "Bolo", "unit_price": 0}]},
        {"lines": [{"name": "Bolo", "unit_price": 4500, "quantity": "2"}]},
        {"lines": [{"name": "Bolo", "unit_price": 4500, "quantity": 1000}]},
        {"lines": [{"name": "Bolo"}]},
        {"lines": []},
        {"lines": [{"name": "Bolo", "unit_price": MAX_MINOR}, {"name": "x", "unit_price": 9}]},
        {"discount": 100_000},
        {"expires_in_hours": 0},
        {"note": "pay to 4242 4242 4242 4242"},
        {"lines": [{"name": "card 5555555555554444", "unit_price": 100}]},
    ],
)
def test_bad_payment_requests_are_refused(owner, business, chat, overrides):
    data = {"lines": [FREE_LINE], "shipping": 800} | overrides

    response = post(api(owner), create_url(business, chat), data, key="bad")

    assert response.status_code == 400, response.content
    assert not Order.objects.exists()


def test_orders_are_listed_for_the_business_only(owner, business, order, other, outsider):
    listed = api(owner).get(f"/api/v1/businesses/{business.slug}/orders/?status=pending")
    paid_only = api(owner).get(f"/api/v1/businesses/{business.slug}/orders/?status=processing")
    neighbour = api(other.owner).get(f"/api/v1/businesses/{business.slug}/orders/")
    stranger = api(outsider).get(f"/api/v1/businesses/{business.slug}/orders/")

    assert [o["id"] for o in listed.json()["results"]] == [order.pk]
    assert listed.json()["next"] is None
    assert paid_only.json() == {"results": [], "next": None}
    assert (neighbour.status_code, stranger.status_code) == (404, 404)


def test_an_order_is_seen_by_its_customer_and_team_only(
    order, customer, owner, agent, other, outsider
):
    seen = [api(u).get(order_url(order)).status_code for u in (customer, owner, agent)]
    hidden = [api(u).get(order_url(order)).status_code for u in (other.owner, outsider)]

    assert seen == [200, 200, 200]
    assert hidden == [404, 404]
    body = api(customer).get(order_url(order)).json()
    assert body["total"] == 2 * 4500 + 800 and body["items"][0]["line_total"] == 9000


def test_cancel_is_for_the_team(order, customer, owner, outsider):
    by_customer = api(customer).post(order_url(order, "cancel/"))
    by_outsider = api(outsider).post(order_url(order, "cancel/"))
    by_owner = api(owner).post(order_url(order, "cancel/"))
    again = api(owner).post(order_url(order, "cancel/"))

    assert (by_customer.status_code, by_outsider.status_code) == (403, 404)
    assert by_owner.status_code == 200 and by_owner.json()["status"] == "canceled"
    assert again.status_code == 409 and again.json()["code"] == "not_cancelable"


# --- Paying ---------------------------------------------------------------------------------------


def test_paying_with_the_pin_over_a_bearer_token(order, customer, card, business):
    client = bearer(customer)

    response = post(client, order_url(order, "pay/"), pay_body(card), key="pay-1")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "succeeded" and body["amount"] == order.total == 9800
    assert body["card"] == {"id": card.pk, "brand": "visa", "last4": "4242"}
    payment = Payment.objects.get()
    assert payment.idempotency_key == f"api:{customer.pk}:pay-1"
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING
    mine = client.get("/api/v1/payments/").json()["results"]
    assert [p["id"] for p in mine] == [payment.pk]
    assert "fee" not in mine[0]
    detail = client.get(f"/api/v1/payments/{payment.pk}/").json()
    assert detail == mine[0]


def test_a_replayed_pay_returns_the_first_response_and_charges_once(order, customer, card):
    client = api(customer)

    first = post(client, order_url(order, "pay/"), pay_body(card), key="same")
    again = post(client, order_url(order, "pay/"), pay_body(card), key="same")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_the_same_key_with_another_body_is_422(order, customer, card):
    client = api(customer)
    post(client, order_url(order, "pay/"), pay_body(card), key="k")

    other_card = add_card(customer, "5555555555554444")
    response = post(client, order_url(order, "pay/"), pay_body(other_card), key="k")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1


def test_a_key_still_running_is_409(order, customer, card):
    # given: the first request with this key and body has claimed it and not answered
    url = order_url(order, "pay/")
    IdempotencyRecord.objects.create(
        user=customer,
        key="running",
        endpoint=f"POST {url}",
        request_hash=hash_request("POST", url, pay_body(card)),
    )

    response = post(api(customer), url, pay_body(card), key="running")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert not Payment.objects.exists()


def _died_after_charging(customer, order, card, key, *, claimed_ago):
    """What a pay request with ``key`` leaves when its process dies after the gateway
    charged and before anything was settled or answered: its Idempotency-Key record
    claimed ``claimed_ago`` seconds ago without a response, the attempt pending, the
    sandbox's charge made with the attempt's key."""
    from payments.idempotency import claim, payment_key
    from payments.services import paying

    url = order_url(order, "pay/")
    record = claim(
        user=customer, key=key, endpoint=f"POST {url}",
        digest=hash_request("POST", url, pay_body(card)),
    )  # fmt: skip
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        locked_until=timezone.now() + datetime.timedelta(seconds=30 - claimed_ago)
    )
    attempt = payment_key(user=customer, key=key)
    payment = paying._claim(payer=customer, order=order, card=card, confirmation="pin", key=attempt)
    get_gateway("sandbox").charge(
        token=card.token, amount=payment.amount, currency=payment.currency,
        idempotency_key=attempt, description="",
    )  # fmt: skip
    return payment


def test_a_retry_after_the_lease_of_a_request_that_died_gets_the_real_outcome(
    order, customer, card, settings
):
    # given: a pay request claimed its key, charged the card and died, 31 s ago
    settings.IDEMPOTENCY_LEASE = 30
    key = uuid.uuid4().hex
    payment = _died_after_charging(customer, order, card, key, claimed_ago=31)

    # when: the client retries with the same key and body
    response = post(api(customer), order_url(order, "pay/"), pay_body(card), key=key)

    # then: the first charge is settled and answered; nothing is charged twice
    assert response.status_code == 201, response.json()
    assert response.json()["id"] == payment.pk and response.json()["status"] == "succeeded"
    assert Payment.objects.filter(order=order).count() == 1
    assert LedgerTransaction.objects.filter(payment=payment).count() == 1
    # ... and that answer is the one stored for the key from now on
    replay = post(api(customer), order_url(order, "pay/"), pay_body(card), key=key)
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"


def test_a_retry_within_the_lease_is_still_409(order, customer, card, settings):
    # given: the same, claimed 5 s ago (the first request may still be running)
    settings.IDEMPOTENCY_LEASE = 30
    key = uuid.uuid4().hex
    payment = _died_after_charging(customer, order, card, key, claimed_ago=5)

    response = post(api(customer), order_url(order, "pay/"), pay_body(card), key=key)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_only_one_retry_takes_an_expired_key_over(order, customer, card):
    # given: a record whose request died long ago
    from payments.idempotency import claim

    url = order_url(order, "pay/")
    digest = hash_request("POST", url, pay_body(card))
    first = claim(user=customer, key="dead", endpoint=f"POST {url}", digest=digest)
    IdempotencyRecord.objects.filter(pk=first.pk).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )

    # when: two retries arrive one after the other
    taken = claim(user=customer, key="dead", endpoint=f"POST {url}", digest=digest)
    with pytest.raises(AppError) as second:
        claim(user=customer, key="dead", endpoint=f"POST {url}", digest=digest)

    # then: the first takes the key over; the second is told it is in progress; the
    # dead request can no longer store or release anything over the retry's claim
    assert taken.pk == first.pk and taken.locked_until > timezone.now()
    assert second.value.code == "idempotency_in_progress"
    from payments.idempotency import release

    release(first)
    assert IdempotencyRecord.objects.filter(pk=first.pk).exists()


def test_an_order_create_whose_request_died_is_not_rerun_after_the_lease(owner, business, chat):
    # given: an order create claimed its key long ago and never answered (it may have
    # created the order: creating one has no key of its own to find it again)
    url = create_url(business, chat)
    body = {"lines": [FREE_LINE]}
    IdempotencyRecord.objects.create(
        user=owner, key="made", endpoint=f"POST {url}",
        request_hash=hash_request("POST", url, body),
        locked_until=timezone.now() - datetime.timedelta(minutes=5),
    )  # fmt: skip

    response = post(api(owner), url, body, key="made")

    # then: still in progress, not created a second time
    assert response.status_code == 409
    assert not Order.objects.exists()


def test_keys_are_per_user(order, customer, card, outsider):
    # the same key from another user is another operation (here: refused as not found)
    IdempotencyRecord.objects.create(
        user=outsider, key="shared", endpoint="x", request_hash="h", status_code=200, response={}
    )

    response = post(api(customer), order_url(order, "pay/"), pay_body(card), key="shared")

    assert response.status_code == 201


def test_pay_needs_an_idempotency_key(order, customer, card):
    response = post(api(customer), order_url(order, "pay/"), pay_body(card))

    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_missing"
    assert not Payment.objects.exists()


def test_a_decline_is_stored_and_replayed_and_another_card_pays(order, customer):
    client = api(customer)
    poor = add_card(customer, "4000000000009995")
    good = add_card(customer, "5555555555554444")

    declined = post(client, order_url(order, "pay/"), pay_body(poor), key="try-1")
    replay = post(client, order_url(order, "pay/"), pay_body(poor), key="try-1")
    paid = post(client, order_url(order, "pay/"), pay_body(good), key="try-2")

    assert declined.status_code == 400
    assert declined.json()["code"] == "insufficient_funds"
    assert replay.json() == declined.json() and replay.status_code == 400
    assert paid.status_code == 201
    assert list(Payment.objects.order_by("pk").values_list("status", flat=True)) == [
        "failed",
        "succeeded",
    ]


def test_a_wrong_pin_is_refused_and_counted_once(order, customer, card):
    client = api(customer)

    wrong = post(client, order_url(order, "pay/"), pay_body(card, pin="111112"), key="w")
    replay = post(client, order_url(order, "pay/"), pay_body(card, pin="111112"), key="w")

    assert wrong.status_code == 400 and wrong.json()["code"] == "pin_wrong"
    assert replay.json() == wrong.json()
    assert pins.get_pin_status(customer).failed_attempts == 1
    assert not Payment.objects.exists()


def test_paying_is_for_the_customer_with_their_own_card(order, customer, card, owner, outsider):
    strangers_card = add_card(outsider)

    by_owner = post(api(owner), order_url(order, "pay/"), pay_body(card), key="o")
    by_outsider = post(api(outsider), order_url(order, "pay/"), pay_body(strangers_card), key="o")
    with_theirs = post(api(customer), order_url(order, "pay/"), pay_body(strangers_card), key="c")

    assert (by_owner.status_code, by_outsider.status_code) == (403, 404)
    assert with_theirs.status_code == 400 and with_theirs.json()["code"] == "card_invalid"
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"card_id": "x"},
        {"confirmation": "sms"},
        {"pin": ""},
        {"confirmation": "webauthn"},
    ],
)
def test_bad_pay_requests_are_refused(order, customer, card, overrides):
    response = post(api(customer), order_url(order, "pay/"), pay_body(card, **overrides), key="b")

    assert response.status_code == 400
    assert not Payment.objects.exists()


def test_a_paid_or_canceled_order_cannot_be_paid(order, customer, card, owner):
    orders.cancel_order(actor=owner, order=order)

    response = post(api(customer), order_url(order, "pay/"), pay_body(card), key="late")

    assert response.status_code == 400 and response.json()["code"] == "not_payable"


def test_business_payments_are_for_admins(order, customer, card, business, owner, admin, agent):
    post(api(customer), order_url(order, "pay/"), pay_body(card), key="p")
    url = f"/api/v1/businesses/{business.slug}/payments/"

    by_admin = api(admin).get(url)
    by_agent = api(agent).get(url)
    by_customer = api(customer).get(url)

    assert by_admin.status_code == 200
    (row,) = by_admin.json()["results"]
    assert row["fee"] == 391 and row["net"] == 9800 - 391 and row["payer"]["id"] == customer.pk
    assert (by_agent.status_code, by_customer.status_code) == (404, 404)


def test_lists_are_paged_by_id_cursor(owner, business, chat, customer, card):
    created = [
        post(api(owner), create_url(business, chat), {"lines": [FREE_LINE]}, key=f"o{i}")
        for i in range(5)
    ]
    ids = [r.json()["id"] for r in created][::-1]
    url = f"/api/v1/businesses/{business.slug}/orders/?limit=2"

    pages, seen = [], []
    while url:
        body = api(owner).get(url).json()
        pages.append([o["id"] for o in body["results"]])
        seen += pages[-1]
        url = body["next"]

    assert pages == [ids[:2], ids[2:4], ids[4:]]
    assert seen == ids
    bad = api(owner).get(f"/api/v1/businesses/{business.slug}/orders/?before=x")
    assert bad.status_code == 400 and "before" in bad.json()


def test_3ds_payment_is_finished_over_the_api(order, customer):
    client = api(customer)
    card = add_card(customer, "4000002760003184")

    started = post(client, order_url(order, "pay/"), pay_body(card), key="3ds")
    assert started.status_code == 202, started.content
    payment = started.json()
    waiting = client.post(f"/api/v1/payments/{payment['id']}/resume/")
    assert waiting.json()["status"] == "pending"

    reference = Payment.objects.get(pk=payment["id"]).gateway_reference
    get_gateway().complete_action(reference=reference, approve=True)
    finished = client.post(f"/api/v1/payments/{payment['id']}/resume/")
    again = client.post(f"/api/v1/payments/{payment['id']}/resume/")

    assert finished.status_code == 200 and finished.json()["status"] == "succeeded"
    assert again.json()["status"] == "succeeded"
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING
    assert LedgerTransaction.objects.filter(payment_id=payment["id"]).count() == 1


def test_a_payment_is_seen_and_resumed_by_its_payer_only(order, customer, card, owner, outsider):
    paid = post(api(customer), order_url(order, "pay/"), pay_body(card), key="mine").json()

    for user in (owner, outsider):
        assert api(user).get(f"/api/v1/payments/{paid['id']}/").status_code == 404
        assert api(user).post(f"/api/v1/payments/{paid['id']}/resume/").status_code == 404
    assert api(customer).get("/api/v1/payments/99999999999/").status_code == 404


def test_unauthenticated_and_bad_tokens_are_401(order):
    assert APIClient().get("/api/v1/payments/").status_code in (401, 403)
    refused = APIClient(HTTP_AUTHORIZATION="Bearer cv_wrong").get("/api/v1/wallet/cards/")
    assert refused.status_code == 401


def test_old_idempotency_records_are_purged(customer):
    old = IdempotencyRecord.objects.create(
        user=customer, key="old", endpoint="x", request_hash="h", status_code=201, response={}
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    IdempotencyRecord.objects.create(user=customer, key="new", endpoint="x", request_hash="h")

    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


# --- Schema --------------------------------------------------------------------------------------


def test_the_schema_describes_the_payments_api(db):
    response = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/wallet/cards/": {"get", "post"},
        "/api/v1/wallet/cards/{card_id}/": {"delete"},
        "/api/v1/wallet/cards/{card_id}/default/": {"post"},
        "/api/v1/wallet/pin/": {"get"},
        "/api/v1/wallet/fingerprints/": {"get", "post"},
        "/api/v1/wallet/fingerprints/options/": {"post"},
        "/api/v1/wallet/fingerprints/{credential_id}/": {"delete"},
        "/api/v1/businesses/{slug}/conversations/{conversation_id}/orders/": {"post"},
        "/api/v1/businesses/{slug}/orders/": {"get"},
        "/api/v1/businesses/{slug}/payments/": {"get"},
        "/api/v1/orders/{order_id}/": {"get"},
        "/api/v1/orders/{order_id}/cancel/": {"post"},
        "/api/v1/orders/{order_id}/pay/": {"post"},
        "/api/v1/orders/{order_id}/pay/fingerprint/": {"post"},
        "/api/v1/payments/": {"get"},
        "/api/v1/payments/{payment_id}/": {"get"},
        "/api/v1/payments/{payment_id}/resume/": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
    pay = paths["/api/v1/orders/{order_id}/pay/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in pay["parameters"])
    card_input = schema["components"]["schemas"]["CardInputRequest"]["properties"]
    assert card_input["exp_month"]["type"] == "integer"
    assert "number" not in schema["components"]["schemas"]["Card"]["properties"]
