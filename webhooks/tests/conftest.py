import pytest

from webhooks.services import endpoints
from webhooks.tests.receiver import Receiver


@pytest.fixture
def loopback(settings):
    """Plain HTTP to a loopback receiver, as on a developer's machine (``DEBUG``), and
    loopback allowed on purpose (``WEBHOOKS_ALLOWED_NETWORKS``); short timeouts."""
    settings.DEBUG = True
    settings.WEBHOOKS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOKS_TIMEOUT = 2.0
    return settings


@pytest.fixture
def receiver(loopback):
    with Receiver() as r:
        yield r


@pytest.fixture
def endpoint(owner, business, receiver):
    return endpoints.create_endpoint(actor=owner, business=business, url=receiver.url)
