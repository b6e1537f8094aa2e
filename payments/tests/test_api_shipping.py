"""Shipping through the API (``/api/v1/businesses/<slug>/orders/<id>/shipments/`` and
``deliver/``): the dashboard's rules and chat cards, the same permissions (the team
who can see the order's conversation, every role, as on the order page; anyone else
"not found"), bad input refused with nothing changed, and ``Idempotency-Key``."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from catalog.tests.factories import make_product
from chats.models import Message, ScheduledMessage
from chats.services import inbox, outbox
from chats.tests.factories import start_chat
from payments.models import AuditEvent, Order, Shipment
from payments.services import orders
from payments.tests.factories import card_for, pay

pytestmark = pytest.mark.django_db
STATUS = Order.Status


# --- Helpers and fixtures -------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(order, rest="shipments/", slug=None) -> str:
    return f"/api/v1/businesses/{slug or order.business.slug}/orders/{order.pk}/{rest}"


def post(client, target, data=None, key="fresh"):
    headers = {"Idempotency-Key": uuid.uuid4().hex if key == "fresh" else key} if key else {}
    return client.post(target, data, format="json", headers=headers)


def ship_body(**overrides) -> dict:
    return {"carrier": "Correios", "tracking_code": "AA123456789BR", **overrides}


def new_order(owner, business, customer, *, paid=True) -> Order:
    """2 × Bolo (catalog) and 3 × Vela (a free line), to Carla; paid unless told."""
    product = make_product(owner, business, name="Bolo", price=4500, stock=5)
    order = orders.create_payment_request(
        actor=owner,
        conversation=start_chat(business, customer),
        lines=[
            {"product_id": product.pk, "quantity": 2},
            {"name": "Vela", "unit_price": 300, "quantity": 3},
        ],
        shipping=800,
    )
    if paid:
        pay(customer, order, card_for(customer))
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def order(owner, business, customer):
    return new_order(owner, business, customer)


def items_of(order) -> dict[str, int]:
    return {item.name: item.pk for item in order.items.all()}


def notices(order):
    return ScheduledMessage.objects.filter(conversation=order.conversation, kind="shipping_update")


def assert_nothing_shipped(order, status=STATUS.PROCESSING):
    assert not Shipment.objects.filter(order=order).exists()
    assert not notices(order).exists()
    assert Order.objects.get(pk=order.pk).status == status


# --- Shipping and delivering ---------------------------------------------------------------


def test_shipping_everything_then_delivering_sends_the_dashboards_cards(owner, order):
    # given a paid order / when the owner ships it without naming items
    response = post(
        api(owner),
        url(order),
        ship_body(tracking_url="https://rastreamento.correios.com.br/?objetos=AA123456789BR"),
    )
    # then every item left in one shipment, the order is shipped, one card is due
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == 1 and body["order_id"] == order.pk
    assert body["order_status"] == "shipped"
    assert body["tracking_url"].startswith("https://rastreamento.correios.com.br/")
    assert sorted((i["name"], i["quantity"]) for i in body["items"]) == [("Bolo", 2), ("Vela", 3)]
    assert Order.objects.get(pk=order.pk).status == STATUS.SHIPPED
    assert notices(order).get().dedupe_key == f"order:{order.pk}:shipment:1"
    assert AuditEvent.objects.filter(order=order, to_status=STATUS.SHIPPED).count() == 1

    # when it is marked delivered
    response = post(api(owner), url(order, "deliver/"))
    # then it is completed, and the customer's chat gets both cards from the outbox
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "completed"
    outbox.send_due()
    cards = Message.objects.filter(conversation=order.conversation, kind="shipping_update")
    assert [m.payload["event"] for m in cards.order_by("pk")] == ["shipped", "delivered"]
    assert cards.first().payload["tracking_code"] == "AA123456789BR"


def test_partial_shipments_by_an_agent_through_a_token(owner, agent, order):
    # given an agent with an API token (the conversation is unassigned: they see it)
    _token, raw = account_services.create_api_token(user=agent, name="erp")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    ids = items_of(order)
    # when they ship 1 Bolo and every Vela
    first = post(
        client,
        url(order),
        ship_body(
            carrier="Jadlog",
            tracking_code="JD-0001",
            items=[
                {"order_item_id": ids["Bolo"], "quantity": 1},
                {"order_item_id": ids["Vela"], "quantity": 3},
            ],
        ),
    )
    # then the order is partially shipped, and the shipping state shows what is left
    assert first.status_code == 201, first.json()
    assert first.json()["order_status"] == "partially_shipped"
    state = client.get(url(order)).json()
    assert state["order_status"] == "partially_shipped"
    assert {i["name"]: (i["quantity"], i["left"]) for i in state["items"]} == {
        "Bolo": (2, 1),
        "Vela": (3, 0),
    }
    assert [s["carrier"] for s in state["shipments"]] == ["Jadlog"]
    # and delivering is refused until the rest has left
    early = post(client, url(order, "deliver/"))
    assert (early.status_code, early.json()["code"]) == (409, "not_shipped")

    # when the last Bolo ships (no items named: the rest)
    second = post(client, url(order), ship_body(tracking_code="AA000000002BR"))
    # then the order is shipped, with two shipments and two cards
    assert (second.status_code, second.json()["number"]) == (201, 2)
    assert [(i["name"], i["quantity"]) for i in second.json()["items"]] == [("Bolo", 1)]
    assert second.json()["order_status"] == "shipped"
    assert notices(order).count() == 2
    # and the order's items carry the ids a shipment names
    detail = api(owner).get(f"/api/v1/orders/{order.pk}/").json()
    assert sorted(i["id"] for i in detail["items"]) == sorted(ids.values())


# --- Idempotency ----------------------------------------------------------------------------


def test_a_replay_gets_the_same_answer_and_ships_once(owner, order):
    client = api(owner)
    bolo = items_of(order)["Bolo"]
    body = ship_body(items=[{"order_item_id": bolo, "quantity": 1}])
    # given a shipment made with a key
    first = post(client, url(order), body, key="ship-1")
    assert first.status_code == 201
    # when the same request is sent again with the same key
    again = post(client, url(order), body, key="ship-1")
    # then the first answer comes back and nothing ships twice
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Shipment.objects.filter(order=order).count() == 1
    assert notices(order).count() == 1

    # when the same key comes with another body
    other = post(client, url(order), ship_body(tracking_code="XX1"), key="ship-1")
    # then it is refused, and still one shipment
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert Shipment.objects.filter(order=order).count() == 1


def test_a_replayed_delivery_is_the_same_answer_a_new_key_is_refused(owner, order):
    client = api(owner)
    assert post(client, url(order), ship_body()).status_code == 201
    first = post(client, url(order, "deliver/"), key="deliver-1")
    again = post(client, url(order, "deliver/"), key="deliver-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    late = post(client, url(order, "deliver/"))
    assert (late.status_code, late.json()["code"]) == (409, "already_delivered")
    assert notices(order).filter(dedupe_key=f"order:{order.pk}:delivered").count() == 1


def test_without_an_idempotency_key_nothing_ships(owner, order):
    client = api(owner)
    for target, body in ((url(order), ship_body()), (url(order, "deliver/"), None)):
        response = post(client, target, body, key=None)
        assert response.status_code == 400
        assert response.json()["code"] == "idempotency_key_missing"
    assert_nothing_shipped(order)


# --- Bad input and wrong states -------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"carrier": ""}, "carrier"),
        ({"carrier": None}, "carrier"),
        ({"carrier": "C" * 61}, "carrier"),
        ({"carrier": "<b>Correios</b>"}, "carrier"),
        ({"carrier": "Card 4242 4242 4242 4242"}, "carrier"),
        ({"tracking_code": "T" * 61}, "tracking_code"),
        ({"tracking_code": "AB\n12"}, "tracking_code"),
        ({"tracking_code": "AB<script>"}, "tracking_code"),
        ({"tracking_url": "javascript:alert(1)"}, "tracking_url"),
        ({"tracking_url": "ftp://example.com/x"}, "tracking_url"),
        ({"tracking_url": "https://" + "a" * 600 + ".com"}, "tracking_url"),
        ({"items": []}, "items"),
        ({"items": {"1": 1}}, "items"),
        ({"items": [{"order_item_id": 999999, "quantity": 1}]}, "items"),
        ({"items": [{"order_item_id": "BOLO", "quantity": 3}]}, "items"),
        ({"items": [{"order_item_id": "BOLO", "quantity": 0}]}, "items"),
        ({"items": [{"order_item_id": "BOLO", "quantity": 1.5}]}, "items"),
        ({"items": [{"order_item_id": "BOLO", "quantity": "1"}]}, "items"),
        ({"items": [{"order_item_id": "BOLO"}]}, "items"),
        ({"items": [{"order_item_id": "BOLO", "quantity": 1}] * 2}, "items"),
    ],
)
def test_bad_input_is_a_400_on_its_field_and_changes_nothing(owner, order, overrides, field):
    # given a paid order; "BOLO" stands for its Bolo item's id
    bolo = items_of(order)["Bolo"]
    if "items" in overrides and isinstance(overrides["items"], list):
        overrides["items"] = [
            {k: bolo if v == "BOLO" else v for k, v in line.items()} for line in overrides["items"]
        ]
    # when a shipment is sent with one bad field
    response = post(api(owner), url(order), ship_body(**overrides))
    # then it is refused, with a message about that field, and nothing changed
    assert response.status_code == 400, response.json()
    body = response.json()
    if "code" in body:  # the service's AppError: {code, detail, field}
        assert body["field"] == field and body["detail"]
    else:  # the input serializer's field errors
        assert body.get(field)
    assert_nothing_shipped(order)


def test_an_item_of_another_order_is_not_in_this_one(owner, business, customer, order):
    elsewhere = new_order(owner, business, customer)
    foreign = items_of(elsewhere)["Bolo"]
    response = post(
        api(owner), url(order), ship_body(items=[{"order_item_id": foreign, "quantity": 1}])
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("invalid_items", "items")
    assert response.json()["detail"] == "That item is not in this order."
    assert_nothing_shipped(order)
    assert_nothing_shipped(elsewhere)


def test_an_unpaid_or_fully_shipped_order_cannot_ship(owner, business, customer, order):
    unpaid = new_order(owner, business, customer, paid=False)
    response = post(api(owner), url(unpaid), ship_body())
    assert (response.status_code, response.json()["code"]) == (409, "not_paid")
    assert response.json()["detail"] == "Only a paid order can be shipped."
    assert_nothing_shipped(unpaid, status=STATUS.PENDING)
    delivered = post(api(owner), url(unpaid, "deliver/"))
    assert (delivered.status_code, delivered.json()["code"]) == (409, "not_shipped")

    assert post(api(owner), url(order), ship_body()).status_code == 201
    again = post(api(owner), url(order), ship_body(tracking_code="AA2"))
    assert (again.status_code, again.json()["code"]) == (409, "already_shipped")
    assert Shipment.objects.filter(order=order).count() == 1


# --- Who may ------------------------------------------------------------------------------


def test_anyone_outside_the_team_gets_not_found(other, outsider, customer, order):
    # given people who are not staff of the order's business: the business next door,
    # a stranger, and the order's own customer
    for user in (other.owner, other.agent, outsider, customer):
        client = api(user)
        for slug in (order.business.slug, other.business.slug):
            # when they read or ship or deliver it, under either slug
            answers = [
                client.get(url(order, slug=slug)),
                post(client, url(order, slug=slug), ship_body()),
                post(client, url(order, "deliver/", slug=slug)),
            ]
            # then "not found", every time
            assert [r.status_code for r in answers] == [404, 404, 404], user
    assert_nothing_shipped(order)


def test_an_order_of_another_business_under_ones_own_slug_is_not_found(other, order):
    # given the next door's owner, under their own slug, with this business's order id
    response = post(api(other.owner), url(order, slug=other.business.slug), ship_body())
    assert response.status_code == 404
    assert_nothing_shipped(order)


def test_an_agent_sees_only_their_conversations_orders_admins_all(owner, admin, agent, order):
    # given the order's conversation assigned to the admin
    inbox.assign(actor=owner, conversation=order.conversation, assignee_id=admin.pk)
    # when the agent (who no longer sees it) tries
    answers = [api(agent).get(url(order)), post(api(agent), url(order), ship_body())]
    # then "not found", as on the dashboard
    assert [r.status_code for r in answers] == [404, 404]
    assert_nothing_shipped(order)
    # and the admin may
    assert post(api(admin), url(order), ship_body()).status_code == 201


def test_signed_out_is_refused(order):
    client = APIClient()
    assert client.get(url(order)).status_code in (401, 403)
    assert post(client, url(order), ship_body()).status_code in (401, 403)
    assert_nothing_shipped(order)
