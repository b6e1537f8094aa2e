"""Every operation of the OpenAPI schema, fed what Schemathesis generates from it — valid
and invalid bodies, query strings, path ids and headers — by a signed-in merchant, a
signed-in customer and a signed-in stranger: never a server error, and nothing of the
chat or its people for the stranger.

The requests run in-process (WSGI), in the test's transaction, on a world with a shop,
a product, a chat, a payment request and a saved card, so that the ids Schemathesis
tries sometimes exist (small ids). Examples per operation: ``API_FUZZ_EXAMPLES``
(default 15; ``API_FUZZ_EXAMPLES=200 make test`` for a long run).

One test per operation sends each generated case as each of the three users, in turn,
on one world: the cases (Schemathesis's coverage phase and the fuzzing examples) are
generated once per operation, not once per user, and the world is built once. The
examples are derandomized, so every run sends the same requests. The schema is built
once per process, at import (each pytest-xdist worker builds its own)."""

import json
import os

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from payments.tests.factories import SALE_EMAIL, SALE_TEXT, sale_in_chat

pytestmark = pytest.mark.fuzz
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
def users_headers(owner, customer) -> dict[str, dict]:
    """The bearer headers of the shop's owner, its customer and a stranger."""
    return {
        "merchant": _bearer(owner),
        "customer": _bearer(customer),
        "stranger": _bearer(UserFactory(email="stranger@example.com")),
    }


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


FUZZ = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


# Who sends each case, and what is checked of the answers they get.
CHECKS = {
    "merchant": [not_a_server_error],
    "customer": [not_a_server_error],
    "stranger": [not_a_server_error, nothing_private],
}


@schema.parametrize()
@FUZZ
def test_no_user_gets_a_server_error_nor_a_stranger_another_users_data(case, users_headers):
    """The merchant and the customer never get a server error; the stranger gets neither
    a server error nor anything of the chat or its people."""
    for who, checks in CHECKS.items():
        try:
            case.call_and_validate(headers=users_headers[who], checks=checks)
        except BaseException as failure:
            failure.add_note(f"(sent as the {who})")
            raise
