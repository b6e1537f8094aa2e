"""Marketing fixtures: the payments fixtures (``customer`` Carla with a PIN, ``shop``:
a payment request for 2 × Bolo) and a paid order built through the services."""

import pytest

from payments.tests.conftest import customer, shop  # noqa: F401  (shared fixtures)
from payments.tests.factories import card_for, pay


@pytest.fixture(autouse=True)
def no_broadcast_throttle(settings):
    """Every offer of a broadcast is due at once, so a test that sends right after
    creating one sends them all however fast it runs (the default 200/s spaces them
    5 ms apart). The throttle's own tests set their rate after this."""
    settings.BROADCAST_MESSAGES_PER_SECOND = float("inf")


@pytest.fixture
def paid_order(shop, customer):  # noqa: F811
    order, _product = shop
    pay(customer, order, card_for(customer))
    order.refresh_from_db()
    return order
