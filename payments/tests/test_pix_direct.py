"""Direct Pix: the static BR Code on a pending order's card (the business's own Pix
key, the amount, a txid from the order), the merchant's "Pix received" (service, page,
API with Idempotency-Key), the owner's choice of mode, and what the reports and the
ledger see (revenue without a fee, nothing posted)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Business, PixMode
from accounts.tests.factories import UserFactory, create_business
from catalog.models import Product
from catalog.tests.factories import make_product
from chats.models import Message
from chats.tests import test_consumers as ws
from chats.tests.factories import start_chat
from core.errors import AppError
from insights.models import OrderAttribution
from insights.services.rollups import _order_money
from payments.models import AuditEvent, LedgerTransaction, Order, Payment
from payments.pix import brcode
from payments.pix.direct import attach_direct_pix, pix_key_of, txid_for
from payments.services import destinations, direct_pix, orders, paying, refunds
from payments.tests.factories import card_for

pytestmark = pytest.mark.django_db
STATUS = Order.Status
KEY = "caixa@padaria.example"
channel_layer, open_socket = ws.channel_layer, ws.open_socket


def add_pix_key(owner, business, key=KEY, *, default=True):
    return destinations.add_destination(
        actor=owner,
        business=business,
        kind="pix",
        data={"pix_key_type": "email", "pix_key": key},
        make_default=default,
    )


def go_direct(business):
    Business.objects.filter(pk=business.pk).update(pix_mode=PixMode.DIRECT)
    business.pix_mode = PixMode.DIRECT


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", display_name="Carla")


@pytest.fixture
def cake(owner, business):
    return make_product(owner, business, name="Bolo", price=4500, stock=3)


@pytest.fixture
def order(owner, business, customer, cake):
    """A pending request of 2 × Bolo + 8.00 shipping (98.00) at a business in direct
    mode with a Pix key."""
    go_direct(business)
    add_pix_key(owner, business)
    return orders.create_payment_request(
        actor=owner,
        conversation=start_chat(business, customer),
        lines=[{"product_id": cake.pk, "quantity": 2}],
        shipping=800,
    )


def fresh(order):
    return Order.objects.select_related("business", "conversation").get(pk=order.pk)


# --- The code on the card ----------------------------------------------------------------


def test_a_pending_order_of_a_direct_business_carries_a_static_code(order, business):
    order = fresh(order)
    attach_direct_pix([order])
    pix = order.direct_pix
    parsed = brcode.parse(pix.code)
    assert (parsed.key, parsed.amount, parsed.txid) == (KEY, 9800, f"PEDIDO{order.number}")
    assert parsed.name == "Padaria Central" and not parsed.dynamic
    assert pix.txid == txid_for(order) and pix.key_masked.startswith("Pix ")
    assert KEY not in pix.key_masked  # never in full on a page
    assert pix.qr_svg().startswith("<svg") and "script" not in pix.qr_svg()


def test_the_default_pix_key_wins_and_a_removed_one_is_never_used(owner, business):
    first = add_pix_key(owner, business, "a@padaria.example")
    add_pix_key(owner, business, "b@padaria.example", default=False)
    assert pix_key_of(business) == first
    destinations.remove_destination(actor=owner, business=business, destination=first)
    assert pix_key_of(business).pix_key == "b@padaria.example"


@pytest.mark.parametrize("setup", ["collected", "no_key", "paid"])
def test_no_code_when_direct_pix_does_not_apply(owner, business, customer, setup):
    if setup != "collected":
        go_direct(business)
    if setup != "no_key":
        add_pix_key(owner, business)
    order = orders.create_payment_request(
        actor=owner,
        conversation=start_chat(business, customer),
        lines=[{"name": "X", "unit_price": 100}],
    )
    if setup == "paid":
        direct_pix.mark_pix_received(actor=owner, order=order)
    order = fresh(order)
    attach_direct_pix([order])
    assert order.direct_pix is None


def test_the_chat_card_shows_the_code_to_the_customer(client, order, customer):
    client.force_login(customer)
    html = client.get(
        reverse("chat_thread", args=[order.conversation_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    pix = fresh(order)
    attach_direct_pix([pix])
    assert "Pay with Pix" in html and pix.direct_pix.code in html
    assert 'data-copy="pix-code-' in html and "<svg" in html


def test_the_order_page_shows_the_code_to_its_customer_only(client, order, customer, owner):
    client.force_login(customer)
    url = reverse("order_review", args=[order.pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    pix = fresh(order)
    attach_direct_pix([pix])
    assert "Pay with Pix" in html and pix.direct_pix.code in html
    client.force_login(owner)  # staff see the order, not a code to pay
    assert pix.direct_pix.code not in client.get(url).content.decode()


def test_the_card_costs_one_query_for_the_pix_keys(client, order, customer):
    # given the thread page with the card, at a collected business (no Pix query)
    client.force_login(customer)
    url = reverse("chat_thread", args=[order.conversation_id])
    client.get(url)
    Business.objects.filter(pk=order.business_id).update(pix_mode=PixMode.COLLECTED)
    with CaptureQueriesContext(connection) as collected:
        client.get(url)
    # when the business is in direct mode, then its Pix key costs one query more
    Business.objects.filter(pk=order.business_id).update(pix_mode=PixMode.DIRECT)
    with CaptureQueriesContext(connection) as direct:
        client.get(url)
    assert len(direct) == len(collected) + 1


# --- "Pix received": the service ---------------------------------------------------------


def test_the_owner_marks_the_pix_received(order, owner, cake):
    # when the owner records the Pix
    direct_pix.mark_pix_received(actor=owner, order=order)

    # then the order is paid outside the platform, through the transition map
    order.refresh_from_db()
    assert order.status == STATUS.PROCESSING and order.paid_at is not None
    assert order.paid_outside == Order.OutsideMethod.PIX_DIRECT
    # nothing moved through the platform: no payment, no ledger posting, no fee
    assert not Payment.objects.filter(order=order).exists()
    assert not LedgerTransaction.objects.exists()
    # the stock is taken as for a card payment
    cake.refresh_from_db()
    assert cake.stock == 1
    # the history says who and how
    actions = list(AuditEvent.objects.filter(order=order).values_list("action", flat=True))
    assert sorted(actions) == ["created", "pix_direct_received", "status"]
    event = AuditEvent.objects.get(order=order, action="pix_direct_received")
    assert event.actor == owner and event.data["txid"] == f"PEDIDO{order.number}"
    # the chat gets a receipt
    receipt = Message.objects.get(conversation=order.conversation, kind="pix_direct_receipt")
    assert receipt.payload == {
        "order_id": order.pk,
        "number": order.number,
        "amount": 9800,
        "currency": "BRL",
        "method": "pix_direct",
    }
    # and the reports count it as revenue, with no fee
    money = _order_money([order.pk])[order.pk]
    assert (money.gross, money.fee, money.refunds) == (9800, 0, 0)
    assert OrderAttribution.objects.get(order=order).fee == 0


def test_an_agent_who_sees_the_conversation_may_mark_it(order, agent):
    direct_pix.mark_pix_received(actor=agent, order=order)
    assert fresh(order).status == STATUS.PROCESSING


def test_an_outsider_gets_not_found_and_the_customer_forbidden(order, customer, outsider, owner):
    other = create_business(owner=UserFactory(), name="Outra Loja", slug="outra-loja")
    stranger = other.memberships.get().user
    for user, code in ((outsider, "not_found"), (stranger, "not_found"), (customer, "forbidden")):
        with pytest.raises(AppError) as error:
            direct_pix.mark_pix_received(actor=user, order=order)
        assert error.value.code == code
        assert error.value.status_code == (403 if code == "forbidden" else 404)
    assert fresh(order).status == STATUS.PENDING


def test_an_agent_who_cannot_see_the_conversation_gets_not_found(order, agent, admin):
    from chats.services import inbox

    inbox.assign(actor=admin, conversation=order.conversation, assignee_id=admin.pk)
    with pytest.raises(AppError) as error:
        direct_pix.mark_pix_received(actor=agent, order=order)
    assert error.value.code == "not_found"


def test_a_second_mark_is_refused_and_changes_nothing(order, owner):
    direct_pix.mark_pix_received(actor=owner, order=order)
    with pytest.raises(AppError) as error:
        direct_pix.mark_pix_received(actor=owner, order=order)
    assert error.value.code == "already_paid" and error.value.status_code == 409
    assert Message.objects.filter(kind="pix_direct_receipt").count() == 1


def test_a_closed_order_cannot_be_marked(order, owner):
    orders.cancel_order(actor=owner, order=order)
    with pytest.raises(AppError) as error:
        direct_pix.mark_pix_received(actor=owner, order=order)
    assert error.value.code == "not_payable"
    assert fresh(order).paid_outside == ""


@pytest.mark.parametrize("setup", ["collected", "no_key"])
def test_direct_pix_must_be_on_with_a_key(order, owner, business, setup):
    if setup == "collected":
        Business.objects.filter(pk=business.pk).update(pix_mode=PixMode.COLLECTED)
    else:
        key = pix_key_of(business)
        destinations.remove_destination(actor=owner, business=business, destination=key)
    with pytest.raises(AppError) as error:
        direct_pix.mark_pix_received(actor=owner, order=order)
    assert error.value.code == "direct_pix_off"
    assert fresh(order).status == STATUS.PENDING


def test_a_card_payment_under_way_blocks_the_mark(order, owner, customer):
    card = card_for(customer)
    paying._claim(payer=customer, order=order, card=card, confirmation="pin", key=uuid.uuid4().hex)
    with pytest.raises(AppError) as error:
        direct_pix.mark_pix_received(actor=owner, order=order)
    assert error.value.code == "already_paying"


def test_short_stock_refuses_and_changes_nothing(order, owner, cake):
    Product.objects.filter(pk=cake.pk).update(stock=1)
    with pytest.raises(AppError) as error:
        direct_pix.mark_pix_received(actor=owner, order=order)
    assert error.value.code == "out_of_stock"
    assert fresh(order).status == STATUS.PENDING and fresh(order).paid_outside == ""
    assert not Message.objects.filter(kind="pix_direct_receipt").exists()


def test_an_order_paid_by_direct_pix_is_refunded_from_the_bank(order, owner):
    direct_pix.mark_pix_received(actor=owner, order=order)
    with pytest.raises(AppError) as error:
        refunds.refund_order(
            actor=owner, order=fresh(order), amount=100, reason="x", idempotency_key="k1"
        )
    assert error.value.code == "paid_outside"


# --- The owner's choice ------------------------------------------------------------------


def test_only_the_owner_chooses_the_mode(business, owner, admin):
    direct_pix.set_pix_mode(actor=owner, business=business, mode="direct")
    assert Business.objects.get(pk=business.pk).pix_mode == "direct"
    with pytest.raises(AppError) as error:
        direct_pix.set_pix_mode(actor=admin, business=business, mode="collected")
    assert error.value.code == "forbidden"
    with pytest.raises(AppError) as error:
        direct_pix.set_pix_mode(actor=owner, business=business, mode="both")
    assert error.value.field == "pix_mode"
    assert Business.objects.get(pk=business.pk).pix_mode == "direct"


# --- Pages -------------------------------------------------------------------------------


def test_the_order_page_marks_the_pix_received(client, order, owner, business):
    client.force_login(owner)
    page = reverse("order_detail", args=[business.slug, order.pk])
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    url = reverse("order_pix_received", args=[business.slug, order.pk])
    assert f'action="{url}"' in html and "Pix received" in html

    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert response.redirect_chain[-1][0] == page
    assert "is paid by Pix" in response.content.decode()
    assert fresh(order).status == STATUS.PROCESSING
    assert f'action="{url}"' not in response.content.decode()


def test_the_order_page_shows_an_error_for_a_second_mark(client, order, owner, business):
    direct_pix.mark_pix_received(actor=owner, order=order)
    client.force_login(owner)
    url = reverse("order_pix_received", args=[business.slug, order.pk])
    response = client.post(url, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "already marked as paid by Pix" in response.content.decode()


def test_others_cannot_mark_from_the_page(client, order, customer, outsider, business):
    url = reverse("order_pix_received", args=[business.slug, order.pk])
    for user in (customer, outsider):
        client.force_login(user)
        assert client.post(url).status_code == 404
    assert fresh(order).status == STATUS.PENDING


def test_the_owner_sets_the_mode_and_sees_why_direct_pix_is_not_offered(client, owner, business):
    client.force_login(owner)
    url = reverse("pix_settings", args=[business.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {"pix_mode": "direct"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    html = response.content.decode()
    assert Business.objects.get(pk=business.pk).pix_mode == "direct"
    assert "Add a Pix key as a payout destination" in html
    add_pix_key(owner, business)
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Customers are offered a Pix code" in html
    assert client.post(url, {"pix_mode": "nope"}).status_code == 400
    assert Business.objects.get(pk=business.pk).pix_mode == "direct"


def test_only_owners_see_the_pix_settings(client, business, admin, outsider):
    url = reverse("pix_settings", args=[business.slug])
    for user in (admin, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"pix_mode": "direct"}).status_code == 404
    assert Business.objects.get(pk=business.pk).pix_mode == "collected"


# --- API ---------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def api_url(business, order) -> str:
    return f"/api/v1/businesses/{business.slug}/orders/{order.pk}/pix-received/"


def test_the_api_marks_it_once_per_idempotency_key(order, owner, business):
    client, url = api(owner), api_url(business, order)
    headers = {"Idempotency-Key": "mark-1"}

    first = client.post(url, headers=headers)
    replay = client.post(url, headers=headers)
    again = client.post(url, headers={"Idempotency-Key": "mark-2"}, HTTP_ACCEPT_LANGUAGE="en")

    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "processing" and body["paid_outside"] == "pix_direct"
    assert replay.status_code == 200 and replay.json() == body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert again.status_code == 409 and again.json()["code"] == "already_paid"
    assert Message.objects.filter(kind="pix_direct_receipt").count() == 1


def test_the_api_needs_an_idempotency_key(order, owner, business):
    response = api(owner).post(api_url(business, order))
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_missing"
    assert fresh(order).status == STATUS.PENDING


def test_the_api_scopes_like_the_pages(order, owner, business, customer, outsider):
    def key():
        return {"Idempotency-Key": uuid.uuid4().hex}

    assert api(outsider).post(api_url(business, order), headers=key()).status_code == 404
    assert api(customer).post(api_url(business, order), headers=key()).status_code == 403
    other = create_business(owner=owner, name="Outra", slug="outra")
    assert api(owner).post(api_url(other, order), headers=key()).status_code == 404
    missing = f"/api/v1/businesses/{business.slug}/orders/999999999/pix-received/"
    assert api(owner).post(missing, headers=key()).status_code == 404
    assert fresh(order).status == STATUS.PENDING


def test_the_customer_reads_the_direct_code_through_the_api(order, owner, customer, outsider):
    url = f"/api/v1/orders/{order.pk}/pix/direct/"
    body = api(customer).get(url).json()
    parsed = brcode.parse(body["code"])
    assert parsed.key == KEY and parsed.amount == 9800 and parsed.txid == txid_for(order)
    assert body["amount"] == 9800 and body["currency"] == "BRL"
    assert body["txid"] == txid_for(order) and KEY not in body["key_masked"]
    # not found for anyone else, forbidden for the business's staff (they do not pay it)
    assert api(outsider).get(url).status_code == 404
    assert api(owner).get(url).status_code == 403
    # and gone once it is paid
    direct_pix.mark_pix_received(actor=owner, order=fresh(order))
    assert api(customer).get(url).status_code == 404


def test_the_direct_code_api_is_404_for_collected_pix(order, business, customer):
    Business.objects.filter(pk=business.pk).update(pix_mode=PixMode.COLLECTED)
    assert api(customer).get(f"/api/v1/orders/{order.pk}/pix/direct/").status_code == 404


def test_the_order_detail_api_says_how_it_was_paid(order, owner):
    body = api(owner).get(f"/api/v1/orders/{order.pk}/").json()
    assert body["paid_outside"] == ""


# --- Live --------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_both_sides_see_the_order_paid_live(open_socket, business, owner):
    # given a direct-Pix order in a conversation both sides have open
    customer = await ws.run(UserFactory, email="live-pix@example.com")
    await ws.run(go_direct, business)
    await ws.run(add_pix_key, owner, business)
    conversation = await ws.run(start_chat, business, customer)
    order = await ws.run(
        orders.create_payment_request,
        actor=owner,
        conversation=conversation,
        lines=[{"name": "Cake", "unit_price": 2500}],
    )
    sockets = [await open_socket(user) for user in (customer, owner)]
    for socket in sockets:
        await ws.subscribe(socket, conversation)

    # when the merchant records the Pix
    await ws.run(direct_pix.mark_pix_received, actor=owner, order=order)

    # then each side gets the card re-rendered as paid, and the receipt
    for socket in sockets:
        frames = await ws.drain(socket)
        updated = ws.of_type(frames, "message_updated")
        assert len(updated) == 1 and "Pay with Pix" not in updated[0]["html"]
        assert "Paid" in updated[0]["html"]
        new = ws.of_type(frames, "message")
        assert len(new) == 1 and "Pix received" in new[0]["html"]
