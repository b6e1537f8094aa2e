"""Every operation of the OpenAPI schema, fed what Schemathesis generates from it — valid
and invalid bodies, query strings, path ids and headers — by a signed-in merchant, a
signed-in customer and a signed-in stranger: never a server error, and nothing of the
chat or its people for the stranger.

The requests run in-process (WSGI), in the test's transaction, on a world with a shop,
a product, a chat, a payment request and a saved card, so that the ids Schemathesis
tries sometimes exist (small ids). Examples per operation: ``API_FUZZ_EXAMPLES``
(default 15; ``API_FUZZ_EXAMPLES=200 make test`` for a long run)."""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from payments.tests.factories import SALE_EMAIL, SALE_TEXT, sale_in_chat

pytestmark = pytest.mark.needs_postgres  # once per CI run is enough (it takes minutes)
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "15"))


@pytest.fixture(autouse=True)
def _requests_share_the_test_transaction():
    """As Django's test client does: the end of a request would otherwise close the
    test's connection, inside its transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _schema():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(spec)))
    loaded.app = get_wsgi_application()
    return loaded


schema = _schema()


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_api_token(user=user, name='fuzz')[1]}"}


@pytest.fixture
def merchant_headers(owner):
    return _bearer(owner)


@pytest.fixture
def customer_headers(customer):
    return _bearer(customer)


@pytest.fixture
def stranger_headers(customer):
    return _bearer(UserFactory(email="stranger@example.com"))


# What only the shop's team and its customer may read: the chat's text, the
# customer's and the owner's e-mail addresses.
PRIVATE = (SALE_TEXT, SALE_EMAIL, "owner@example.com")


def nothing_private(ctx, response, case) -> None:
    """A Schemathesis check: the response holds none of ``PRIVATE``."""
    text = response.content.decode("utf-8", errors="replace")
    leaked = [marker for marker in PRIVATE if marker in text]
    assert not leaked, f"{case.method} {case.formatted_path} showed {leaked}"


@pytest.fixture
def customer(owner, business):
    """A customer with a chat with the shop, a payment request there, a card and a PIN."""
    return sale_in_chat(owner, business).customer


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@FUZZ
def test_the_merchant_never_gets_a_server_error(case, merchant_headers, customer):
    case.call_and_validate(headers=merchant_headers, checks=[not_a_server_error])


@schema.parametrize()
@FUZZ
def test_the_customer_never_gets_a_server_error(case, customer_headers):
    case.call_and_validate(headers=customer_headers, checks=[not_a_server_error])


@schema.parametrize()
@FUZZ
def test_a_stranger_never_gets_a_server_error_or_another_users_data(case, stranger_headers):
    case.call_and_validate(headers=stranger_headers, checks=[not_a_server_error, nothing_private])
