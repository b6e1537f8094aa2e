"""Order pages: the inbox's "Request payment" form, the merchant's orders list and
detail (with cancel), and the customer's review page; who sees what."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.models import Message
from chats.services import inbox as chat_inbox
from chats.tests import test_consumers as ws
from chats.tests.factories import start_chat
from payments.models import AuditEvent, Order
from payments.services import orders

pytestmark = pytest.mark.django_db
STATUS = Order.Status
# The socket fixtures of the chat tests (in-memory and Redis channel layers).
channel_layer, open_socket = ws.channel_layer, ws.open_socket


@pytest.fixture
def customer(db):
    return UserFactory(email="customer@example.com")


@pytest.fixture
def conversation(business, customer):
    return start_chat(business, customer)


@pytest.fixture
def bread(owner, business):
    return make_product(owner, business, name="Sourdough", price=1500)


@pytest.fixture
def order(owner, conversation, bread):
    return orders.create_payment_request(
        actor=owner,
        conversation=conversation,
        lines=[{"product_id": bread.pk, "quantity": 2}, {"name": "Candles", "unit_price": 450}],
        shipping=1000,
    )


def _login(client, user):
    client.force_login(user)
    return client


def _request_url(business, conversation):
    return reverse("request_payment", args=[business.slug, conversation.pk])


# --- Request payment ------------------------------------------------------------------


def test_the_inbox_panel_has_the_request_payment_form(client, owner, business, conversation, bread):
    response = _login(client, owner).get(
        reverse("inbox_thread", args=[business.slug, conversation.pk])
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'action="{_request_url(business, conversation)}"' in html
    assert f'name="qty_{bread.pk}"' in html and 'name="line1_price"' in html


def test_staff_send_a_payment_request(client, owner, business, conversation, bread):
    response = _login(client, owner).post(
        _request_url(business, conversation),
        {
            f"qty_{bread.pk}": "3",
            "line1_name": "Gift box",
            "line1_price": "12.50",
            "line1_qty": "2",
            "shipping": "8.00",
            "discount": "5",
            "note": "Pickup at 5",
            "expires_hours": "48",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox_thread", args=[business.slug, conversation.pk])
    order = Order.objects.get()
    assert [(i.name, i.unit_price, i.quantity) for i in order.items.all()] == [
        ("Sourdough", 1500, 3),
        ("Gift box", 1250, 2),
    ]
    assert (order.subtotal, order.shipping, order.discount, order.total) == (7000, 800, 500, 7300)
    assert order.note == "Pickup at 5"
    assert 47.9 * 3600 < (order.expires_at - order.created_at).total_seconds() <= 48 * 3600
    assert Message.objects.filter(conversation=conversation, kind="payment_request").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Payment request #1" in page


def test_prices_are_typed_the_local_way(client, owner, business, conversation):
    owner.language = "pt-br"
    owner.save(update_fields=["language"])
    client.cookies.load({"django_language": "pt-br"})
    response = _login(client, owner).post(
        _request_url(business, conversation),
        {"line1_name": "Bolo", "line1_price": "19,90", "line1_qty": "1", "expires_hours": "24"},
        HTTP_ACCEPT_LANGUAGE="pt-br",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Order.objects.get().total == 1990


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"expires_hours": "24"}, "Add at least one item."),
        ({"line1_name": "Cake", "line1_price": "abc", "expires_hours": "24"}, "Enter the amount"),
        ({"line1_name": "Cake", "line1_price": "-3", "expires_hours": "24"}, "negative"),
        ({"line1_price": "3.00", "expires_hours": "24"}, "Name this item."),
        (
            {"line1_name": "Cake", "line1_price": "3.00", "discount": "9", "expires_hours": "24"},
            "The discount cannot be more than the items and shipping.",
        ),
        ({"line1_name": "Cake", "line1_price": "3.00", "expires_hours": "200"}, "168"),
        (
            {
                "line1_name": "Cake",
                "line1_price": "3.00",
                "note": "card 4242 4242 4242 4242",
                "expires_hours": "24",
            },
            "This looks like a card number.",
        ),
        (
            {"line1_name": "Cake 5555555555554444", "line1_price": "3", "expires_hours": "24"},
            "This looks like a card number.",
        ),
    ],
)
def test_form_errors_are_shown_and_nothing_is_sent(
    client, owner, business, conversation, data, error
):
    response = _login(client, owner).post(_request_url(business, conversation), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Order.objects.exists()
    assert not Message.objects.filter(kind="payment_request").exists()


def test_the_request_form_page_renders(client, owner, business, conversation, bread):
    response = _login(client, owner).get(_request_url(business, conversation))
    assert response.status_code == 200
    assert "Sourdough" in response.content.decode()


@pytest.mark.parametrize("who", ["outsider", "customer", "other_owner", "colleague_agent"])
def test_only_staff_who_see_the_conversation_can_request(
    client, who, business, owner, agent, outsider, customer, other, conversation
):
    if who == "colleague_agent":
        chat_inbox.assign(actor=owner, conversation=conversation, assignee_id=owner.pk)
    actor = {
        "outsider": outsider, "customer": customer, "other_owner": other.owner,
        "colleague_agent": agent,
    }[who]  # fmt: skip
    data = {"line1_name": "Cake", "line1_price": "3.00", "expires_hours": "24"}
    _login(client, actor)
    assert client.post(_request_url(business, conversation), data).status_code == 404
    if who == "other_owner":  # their own dashboard, our conversation
        url = reverse("request_payment", args=[other.business.slug, conversation.pk])
        assert client.post(url, data).status_code == 404
    assert not Order.objects.exists()


# --- The merchant's orders --------------------------------------------------------------


def test_the_orders_list_filters_by_status(client, owner, business, conversation, order):
    second = orders.create_payment_request(
        actor=owner, conversation=conversation, lines=[{"name": "Pie", "unit_price": 700}]
    )
    orders.cancel_order(actor=owner, order=second)
    _login(client, owner)
    url = reverse("orders", args=[business.slug])

    html = client.get(url).content.decode()
    assert "#1" in html and "#2" in html and "R$" in html
    assert f'href="{url}"' in html  # the nav item is live
    pending = client.get(url, {"status": "pending"}).content.decode()
    assert reverse("order_detail", args=[business.slug, order.pk]) in pending
    assert reverse("order_detail", args=[business.slug, second.pk]) not in pending
    assert client.get(url, {"status": "nonsense"}).status_code == 200


def test_the_orders_list_costs_a_fixed_number_of_queries(
    client, owner, business, conversation, django_assert_max_num_queries
):
    for _n in range(12):
        orders.create_payment_request(
            actor=owner, conversation=start_chat(business), lines=[{"name": "x", "unit_price": 1}]
        )
    _login(client, owner)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("orders", args=[business.slug])).status_code == 200


def test_an_agent_lists_only_orders_of_conversations_they_see(
    client, owner, agent, business, conversation, order
):
    theirs = start_chat(business)
    chat_inbox.assign(actor=owner, conversation=theirs, assignee_id=agent.pk)
    mine = orders.create_payment_request(
        actor=agent, conversation=theirs, lines=[{"name": "Pie", "unit_price": 700}]
    )
    chat_inbox.assign(actor=owner, conversation=conversation, assignee_id=owner.pk)
    html = _login(client, agent).get(reverse("orders", args=[business.slug])).content.decode()
    assert reverse("order_detail", args=[business.slug, mine.pk]) in html
    assert reverse("order_detail", args=[business.slug, order.pk]) not in html


def test_the_order_detail_shows_items_and_history_and_cancels(client, owner, business, order):
    _login(client, owner)
    url = reverse("order_detail", args=[business.slug, order.pk])
    html = client.get(url).content.decode()
    assert "Order #1" in html and "Sourdough" in html and "Candles" in html
    assert "R$44.50" in html  # 2 × 15.00 + 4.50 + 10.00 shipping
    assert reverse("order_cancel", args=[business.slug, order.pk]) in html

    response = client.post(reverse("order_cancel", args=[business.slug, order.pk]))
    assert response.status_code == 302 and response["Location"] == url
    order.refresh_from_db()
    assert order.status == STATUS.CANCELED
    html = client.get(url).content.decode()
    assert "Canceled" in html and "pending → canceled" in html
    assert reverse("order_cancel", args=[business.slug, order.pk]) not in html

    again = client.post(reverse("order_cancel", args=[business.slug, order.pk]), follow=True)
    assert "Only an order awaiting payment can be canceled." in again.content.decode()
    assert AuditEvent.objects.filter(order=order).count() == 2


@pytest.mark.parametrize("who", ["outsider", "customer", "other_owner", "colleague_agent"])
def test_others_cannot_see_or_cancel_a_merchant_order(
    client, who, business, owner, agent, outsider, customer, other, conversation, order
):
    if who == "colleague_agent":
        chat_inbox.assign(actor=owner, conversation=conversation, assignee_id=owner.pk)
    actor = {
        "outsider": outsider, "customer": customer, "other_owner": other.owner,
        "colleague_agent": agent,
    }[who]  # fmt: skip
    _login(client, actor)
    slugs = [business.slug] + ([other.business.slug] if who == "other_owner" else [])
    for slug in slugs:
        assert client.get(reverse("order_detail", args=[slug, order.pk])).status_code == 404
        assert client.post(reverse("order_cancel", args=[slug, order.pk])).status_code == 404
    order.refresh_from_db()
    assert order.status == STATUS.PENDING


# --- The customer's review page ---------------------------------------------------------


def test_the_customer_reviews_the_order(client, customer, order):
    response = _login(client, customer).get(reverse("order_review", args=[order.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Payment request #1 from Padaria Central" in html
    assert "Sourdough" in html and "Awaiting payment" in html and 'id="pay"' in html
    assert reverse("chat_thread", args=[order.conversation_id]) in html


def test_the_review_link_is_on_the_customers_chat_card(client, customer, order):
    html = _login(client, customer).get(reverse("chat_thread", args=[order.conversation_id]))
    assert reverse("order_review", args=[order.pk]) in html.content.decode()


def test_staff_with_access_see_the_review_page(client, owner, agent, order):
    assert _login(client, owner).get(reverse("order_review", args=[order.pk])).status_code == 200
    assert _login(client, agent).get(reverse("order_review", args=[order.pk])).status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "outsider", "other_owner", "colleague_agent"])
def test_others_get_404_on_the_review_page(
    client, who, owner, agent, outsider, other, conversation, order
):
    if who == "colleague_agent":
        chat_inbox.assign(actor=owner, conversation=conversation, assignee_id=owner.pk)
    actor = {"outsider": outsider, "other_owner": other.owner, "colleague_agent": agent}.get(who)
    if actor is not None:
        _login(client, actor)
    response = client.get(reverse("order_review", args=[order.pk]))
    assert response.status_code == (302 if who == "anonymous" else 404)
    assert client.get(reverse("order_review", args=[order.pk + 1000])).status_code in (302, 404)


def test_a_closed_order_has_no_pay_section(client, owner, customer, order):
    orders.cancel_order(actor=owner, order=order)
    html = _login(client, customer).get(reverse("order_review", args=[order.pk])).content.decode()
    assert "Canceled" in html and 'id="pay"' not in html


# --- The live card ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_both_sides_see_the_card_change_live(open_socket, business, owner):
    # given an order in a conversation both sides have open
    customer = await ws.run(UserFactory, email="live@example.com")
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
    seq = (await Message.objects.aget(pk=order.message_id)).seq

    # when the merchant cancels it
    await ws.run(orders.cancel_order, actor=owner, order=order)

    # then each socket gets the re-rendered card, to replace in place
    for socket in sockets:
        frames = ws.of_type(await ws.drain(socket), "message_updated")
        assert len(frames) == 1
        frame = frames[0]
        assert frame["conversation"] == conversation.pk and frame["message"]["seq"] == seq
        assert f'id="msg-{seq}"' in frame["html"]
        assert "Canceled" in frame["html"] and "Review and pay" not in frame["html"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_outsider_socket_gets_no_card_updates(open_socket, business, owner, outsider):
    customer = await ws.run(UserFactory, email="live2@example.com")
    conversation = await ws.run(start_chat, business, customer)
    order = await ws.run(
        orders.create_payment_request,
        actor=owner,
        conversation=conversation,
        lines=[{"name": "Cake", "unit_price": 2500}],
    )
    socket = await open_socket(outsider)
    await socket.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    await ws.drain(socket)
    await ws.run(orders.cancel_order, actor=owner, order=order)
    assert await ws.drain(socket) == []


def test_the_orders_list_queries_do_not_grow_with_the_orders(client, owner, business):
    def request(n: int) -> None:
        for _n in range(n):
            orders.create_payment_request(
                actor=owner,
                conversation=start_chat(business),
                lines=[{"name": "x", "unit_price": 1}],
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("orders", args=[business.slug])).status_code == 200
        return len(ctx.captured_queries)

    request(3)
    _login(client, owner)
    few = queries()
    request(27)
    assert queries() == few
