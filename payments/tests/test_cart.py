import pytest
from django.urls import reverse

from catalog.tests.factories import make_product
from chats.models import Message
from chats.services.conversations import start_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(owner, business, other):
    return (
        make_product(owner, business, name="Baguete", price=1290),
        make_product(owner, business, name="Sonho", price=890),
        make_product(other.owner, other.business, name="Other shop's bread", price=500),
    )


def test_a_visitor_fills_a_cart_signs_in_and_sends_it_to_the_chat(
    client, business, products, customer
):
    baguete, sonho, theirs = products
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("shop_cart", args=["padaria-central"])
    offer = client.get(url + f"?add={baguete.pk}").content.decode()
    assert "Baguete" in offer and "Add to cart" in offer
    client.post(url, {"action": "add", "product": baguete.pk, "quantity": 2})
    client.post(url, {"action": "add", "product": sonho.pk, "quantity": 1})
    client.post(url, {"action": "add", "product": theirs.pk, "quantity": 1})  # ignored
    page = client.get(url).content.decode()
    assert "R$34.70" in page  # 2 × 12.90 + 8.90
    assert "Other shop" not in page
    client.post(url, {"action": "update", f"qty_{sonho.pk}": 0, f"qty_{baguete.pk}": 3})

    # Sending needs an account; the cart survives signing in.
    response = client.post(url, {"action": "send"})
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    client.force_login(customer)
    response = client.post(url, {"action": "send"})
    message = Message.objects.get(kind="cart")
    assert response["Location"] == reverse("chat_thread", args=[message.conversation_id])
    assert message.payload["items"] == [{"product_id": baguete.pk, "quantity": 3}]
    assert "Your cart is empty" in client.get(url).content.decode()


def test_the_merchant_turns_a_cart_into_a_payment_request(
    client, business, owner, products, customer
):
    baguete, _sonho, _theirs = products
    conversation, _ = start_conversation(customer=customer, business=business)
    client.force_login(customer)
    url = reverse("shop_cart", args=["padaria-central"])
    client.post(url, {"action": "add", "product": baguete.pk, "quantity": 2})
    client.post(url, {"action": "send"})
    message = Message.objects.get(kind="cart")

    client.force_login(owner)
    thread = client.get(reverse("inbox_thread", args=["padaria-central", conversation.pk]))
    link = (
        reverse("request_payment", args=["padaria-central", conversation.pk])
        + f"?cart={message.pk}"
    )
    assert link in thread.content.decode()
    form = client.get(link).context["form"]
    assert form[f"qty_{baguete.pk}"].value() == 2
    # A cart id from elsewhere prefills nothing.
    form = client.get(link.replace(f"cart={message.pk}", "cart=999999")).context["form"]
    assert not form[f"qty_{baguete.pk}"].value()


def test_sending_an_empty_cart_says_so(client, business, customer):
    client.force_login(customer)
    url = reverse("shop_cart", args=["padaria-central"])
    response = client.post(url, {"action": "send"}, follow=True)
    assert "Your cart is empty" in response.content.decode()
    assert not Message.objects.exists()
