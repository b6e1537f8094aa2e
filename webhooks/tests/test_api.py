"""The webhooks API: the pages' operations with the same rules (owners and admins;
everyone else and other businesses get 404), bad input refused with a clear error and
nothing changed, and every operation in the OpenAPI schema."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from webhooks.models import Delivery, Endpoint
from webhooks.services import delivery as sender
from webhooks.tests.receiver import Reply

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _base(business) -> str:
    return f"/api/v1/businesses/{business.slug}/webhooks/"


def test_the_whole_life_of_an_endpoint(admin, business, receiver):
    api, base = _client(admin), _base(business)
    assert "order.paid" in api.get(base + "event-types/", **EN).json()["event_types"]
    made = api.post(
        base + "endpoints/",
        {"url": receiver.url, "description": "ERP", "event_types": ["order.paid"]},
        format="json",
        **EN,
    )
    assert made.status_code == 201, made.content
    body = made.json()
    secret, one = body["secret"], f"{base}endpoints/{body['id']}/"
    assert secret.startswith("whsec_") and body["event_types"] == ["order.paid"]
    assert "secret" not in api.get(one, **EN).json()
    assert [e["id"] for e in api.get(base + "endpoints/", **EN).json()] == [body["id"]]

    changed = api.patch(one, {"description": "Planilha"}, format="json", **EN)
    assert changed.json()["description"] == "Planilha" and changed.json()["url"] == receiver.url

    receiver.replies = [Reply(status=500, body=b"oops")]
    tested = api.post(one + "test/", **EN)
    assert tested.status_code == 202 and tested.json()["event_type"] == "webhook.test"
    sender.deliver_endpoint(endpoint_id=body["id"])
    log = api.get(one + "deliveries/?failed=true", **EN).json()
    (row,) = log["results"]
    assert row["attempt_log"][0]["status_code"] == 500
    assert row["attempt_log"][0]["response_body"] == "oops"
    resent = api.post(f"{one}deliveries/{row['id']}/resend/", **EN)
    assert resent.status_code == 202 and resent.json()["attempts"] == 0
    sender.deliver_endpoint(endpoint_id=body["id"])
    Webhook(secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)
    assert receiver.requests[-1].headers["webhook-id"] == row["webhook_id"]

    rotated = api.post(one + "rotate-secret/", **EN).json()
    assert rotated["secret"] != secret and rotated["previous_secret_expires_at"]
    assert api.post(one + "disable/", **EN).json()["is_enabled"] is False
    assert api.post(one + "test/", **EN).json()["code"] == "disabled"
    assert api.post(one + "enable/", **EN).json()["is_enabled"] is True
    assert api.delete(one, **EN).status_code == 204
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"url": "http://example.com/hook"},
        {"url": "https://example.com/hook", "event_types": ["nope"]},
        {"url": "https://example.com/hook", "event_types": "order.paid"},
        {"url": ""},
        {"url": "https://example.com/\x00"},
        {},
        {"url": "https://example.com/" + "a" * 3000},
    ],
)
def test_bad_input_is_refused_and_nothing_saved(owner, business, settings, data):
    settings.DEBUG = False
    answer = _client(owner).post(_base(business) + "endpoints/", data, format="json", **EN)
    assert answer.status_code == 400, answer.content
    assert not Endpoint.objects.exists()


def test_agents_outsiders_and_other_businesses_get_not_found(
    owner, business, agent, outsider, other, loopback
):
    made = _client(owner).post(
        _base(business) + "endpoints/", {"url": "https://example.com/h"}, format="json"
    )
    one = f"{_base(business)}endpoints/{made.json()['id']}/"
    _client(owner).post(one + "test/")
    delivery = Delivery.objects.get()
    calls = [
        ("get", _base(business) + "event-types/"),
        ("get", _base(business) + "endpoints/"),
        ("post", _base(business) + "endpoints/"),
        ("get", one),
        ("patch", one),
        ("delete", one),
        ("post", one + "enable/"),
        ("post", one + "disable/"),
        ("post", one + "rotate-secret/"),
        ("post", one + "test/"),
        ("get", one + "deliveries/"),
        ("post", f"{one}deliveries/{delivery.pk}/resend/"),
    ]
    for user in (agent, outsider, other.owner):
        for method, url in calls:
            answer = getattr(_client(user), method)(url, {}, format="json")
            assert answer.status_code == 404, (user, method, url, answer.status_code)
    theirs = f"{_base(other.business)}endpoints/{made.json()['id']}/"
    assert _client(other.owner).get(theirs).status_code == 404
    resend = f"{theirs}deliveries/{delivery.pk}/resend/"
    assert _client(other.owner).post(resend).status_code == 404
    assert Endpoint.objects.get().is_enabled


def test_every_operation_is_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = [p for p in schema["paths"] if "/webhooks/" in p]
    assert len(paths) == 9
    assert "secret" in schema["components"]["schemas"]["EndpointWithSecret"]["properties"]
