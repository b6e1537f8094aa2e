import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.tests.factories import start_chat
from payments.services import orders, pins
from payments.tests.factories import PIN


@pytest.fixture
def customer(db):
    """Carla, with the payment PIN ``factories.PIN``."""
    user = UserFactory(email="carla@example.com", display_name="Carla")
    pins.set_pin(user=user, pin=PIN, pin_again=PIN)
    return user


@pytest.fixture
def shop(owner, business, customer):
    """A payment request to Carla: 2 × "Bolo" (45.00, 3 in stock) + 8.00 shipping;
    returns (order, product)."""
    product = make_product(owner, business, name="Bolo", price=4500, stock=3)
    conversation = start_chat(business, customer)
    order = orders.create_payment_request(
        actor=owner,
        conversation=conversation,
        lines=[{"product_id": product.pk, "quantity": 2}],
        shipping=800,
    )
    return order, product
