"""Marketing fixtures: the payments fixtures (``customer`` Carla with a PIN, ``shop``:
a payment request for 2 × Bolo) and a paid order built through the services."""

import pytest

from payments.tests.conftest import customer, shop  # noqa: F401  (shared fixtures)
from payments.tests.factories import card_for, pay


@pytest.fixture
def paid_order(shop, customer):  # noqa: F811
    order, _product = shop
    pay(customer, order, card_for(customer))
    order.refresh_from_db()
    return order
