"""The broadcasts API: list, create (each audience, the page's validation, an optional
Idempotency-Key), detail with progress, cancel; admins and owners only, anyone else
and another business's broadcast "not found"."""

import datetime
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from chats.models import Contact, Message, ScheduledMessage
from chats.services import consent, inbox, outbox
from chats.services import settings as chat_settings
from chats.tests.factories import start_chat
from marketing.models import Broadcast
from payments.models import Order

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SM = ScheduledMessage.Status


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(business, tail: str = "") -> str:
    return f"/api/v1/businesses/{business.slug}/broadcasts/{tail}"


def opted_in(business, customer=None):
    conversation = start_chat(business, customer)
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat")
    return contact


def create(client, business, data=None, **extra):
    body = {"text": "Hi {first_name}! New cakes at {business}.", "audience": "all"}
    return client.post(url(business), body | (data or {}), format="json", **EN, **extra)


def nothing_created():
    return not Broadcast.objects.exists() and not ScheduledMessage.objects.exists()


# --- Happy paths --------------------------------------------------------------------------


def test_create_list_and_follow_a_broadcast(owner, business):
    # given two contacts who accept offers, one who does not
    opted_in(business)
    opted_in(business)
    start_chat(business)
    client = api(owner)
    # when the owner broadcasts to everyone
    response = create(client, business)
    # then it is scheduled for the two, now, and its progress shows them waiting
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recipients"] == 2 and body["audience"] == "all" and body["status"] == "sending"
    assert body["progress"] == {
        "total": 2, "sent": 0, "failed": 0, "skipped": 0, "pending": 2, "percent": 0,
        "done": False,
    }  # fmt: skip
    listed = client.get(url(business)).json()
    assert [b["id"] for b in listed["results"]] == [body["id"]] and listed["next"] is None
    # when the outbox sends them
    outbox.send_due()
    detail = client.get(url(business, f"{body['id']}/")).json()
    # then the detail counts them sent
    assert detail["progress"]["sent"] == 2 and detail["progress"]["done"] is True
    assert detail["status"] == "finished"
    assert Message.objects.filter(kind="offer").count() == 2


def test_each_audience_with_its_parameter(owner, business, paid_order, customer):
    # given Carla (paid an order of "Bolo"), labelled VIP, accepting offers; Dora, too
    carla = Contact.objects.get(pk=paid_order.conversation.contact_id)
    consent.grant_offers_consent(customer=customer, contact=carla, source="chat")
    opted_in(business)
    vip = chat_settings.create_label(actor=owner, business=business, name="VIP")
    inbox.set_labels(actor=owner, conversation=paid_order.conversation, label_ids=[vip.pk])
    bolo = paid_order.items.get().product
    client = api(owner)
    # when broadcasting to the label, to the product's buyers, to the lapsed
    by_label = create(client, business, {"audience": "label", "label": vip.pk})
    by_product = create(
        client, business, {"audience": "product", "product": bolo.pk, "product_ids": [bolo.pk]}
    )
    Order.objects.filter(pk=paid_order.pk).update(
        paid_at=timezone.now() - datetime.timedelta(days=40)
    )
    before = (timezone.now() - datetime.timedelta(days=10)).date().isoformat()
    lapsed = create(client, business, {"audience": "lapsed", "before": before})
    # then each reaches Carla alone, with its parameter stored
    for response, field, value in [
        (by_label, "label", vip.pk),
        (by_product, "product", bolo.pk),
        (lapsed, "before", before),
    ]:
        assert response.status_code == 201, response.content
        assert response.json()["recipients"] == 1
        assert response.json()[field] == value
    assert by_product.json()["product_ids"] == [bolo.pk]


def test_a_broadcast_scheduled_for_later(owner, business):
    opted_in(business)
    send_at = timezone.now() + datetime.timedelta(days=2)
    response = create(api(owner), business, {"send_at": send_at.isoformat()})
    assert response.status_code == 201
    assert response.json()["status"] == "scheduled"
    assert datetime.datetime.fromisoformat(response.json()["send_at"]) == send_at
    outbox.send_due()
    assert not Message.objects.filter(kind="offer").exists()


def test_an_api_token_works_like_the_session(owner, business):
    opted_in(business)
    _token, raw = account_services.create_api_token(user=owner, name="CRM")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert create(client, business).status_code == 201
    assert client.get(url(business)).status_code == 200


def test_the_list_is_paged_and_costs_the_same_whatever_its_length(
    owner, business, django_assert_max_num_queries
):
    opted_in(business)
    client = api(owner)
    ids = [create(client, business).json()["id"] for _i in range(3)]
    with django_assert_max_num_queries(4):
        first = client.get(url(business), {"limit": 2}).json()
    assert [b["id"] for b in first["results"]] == ids[::-1][:2]
    second = client.get(first["next"]).json()
    assert [b["id"] for b in second["results"]] == ids[:1] and second["next"] is None


# --- Cancel -------------------------------------------------------------------------------


def test_cancel_a_broadcast_before_it_is_sent(owner, business):
    # given a broadcast to two contacts, due tomorrow
    opted_in(business)
    opted_in(business)
    client = api(owner)
    later = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    broadcast_id = create(client, business, {"send_at": later}).json()["id"]
    # when the owner cancels it
    response = client.post(url(business, f"{broadcast_id}/cancel/"), **EN)
    # then nothing waits: both offers are skipped, and none is ever sent
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "canceled" and body["canceled_at"]
    assert body["progress"]["skipped"] == 2 and body["progress"]["pending"] == 0
    ScheduledMessage.objects.update(due_at=timezone.now())
    outbox.send_due()
    assert not Message.objects.filter(kind="offer").exists()
    # and canceling again changes nothing
    again = client.post(url(business, f"{broadcast_id}/cancel/"), **EN)
    assert again.status_code == 200 and again.json()["canceled_at"] == body["canceled_at"]
    assert Broadcast.objects.get().canceled_by == owner


def test_a_sent_broadcast_cannot_be_canceled(owner, business):
    opted_in(business)
    client = api(owner)
    broadcast_id = create(client, business).json()["id"]
    outbox.send_due()
    response = client.post(url(business, f"{broadcast_id}/cancel/"), **EN)
    assert response.status_code == 409
    assert response.json()["code"] == "broadcast_sent"
    assert "nothing left to cancel" in response.json()["detail"]
    assert Broadcast.objects.get().canceled_at is None


# --- Who may ------------------------------------------------------------------------------


def test_admins_and_owners_only_as_on_the_pages(owner, admin, agent, outsider, other, business):
    opted_in(business)
    later = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    broadcast_id = create(api(owner), business, {"send_at": later}).json()["id"]
    operations = [
        ("get", url(business)),
        ("post", url(business)),
        ("get", url(business, f"{broadcast_id}/")),
        ("post", url(business, f"{broadcast_id}/cancel/")),
    ]
    # agents, outsiders and another business's owner: not found, nothing changes
    for user in (agent, outsider, other.owner):
        client = api(user)
        for method, path in operations:
            response = getattr(client, method)(
                path, {"text": "Hi", "audience": "all"}, format="json"
            )
            assert response.status_code == 404, (user, method, path)
    # signed out: 401
    assert api().get(url(business)).status_code == 401
    assert Broadcast.objects.count() == 1 and Broadcast.objects.get().canceled_at is None
    # the business's admin may
    assert api(admin).get(url(business, f"{broadcast_id}/")).status_code == 200


def test_another_business_broadcast_is_not_found(owner, business, other):
    opted_in(other.business)
    theirs = create(api(other.owner), other.business).json()["id"]
    client = api(owner)
    assert client.get(url(business, f"{theirs}/")).status_code == 404
    assert client.post(url(business, f"{theirs}/cancel/")).status_code == 404
    assert client.get(url(business, "99999999/")).status_code == 404
    assert client.get(url(business)).json()["results"] == []
    assert Broadcast.objects.get(pk=theirs).canceled_at is None


# --- Bad input ----------------------------------------------------------------------------


def _in(days=0, **kwargs):
    return (timezone.now() + datetime.timedelta(days=days, **kwargs)).isoformat()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"text": "Oi {nome}"}, "text", "Unknown placeholder {nome}"),
        ({"text": "Oi {product}"}, "text", "Unknown placeholder {product}"),
        ({"text": "Oi {first_name"}, "text", "brace"),
        ({"text": "<script>x</script>"}, "text", ""),
        ({"text": "x" * 10_000}, "text", "no more than 1000 characters"),
        ({"text": ""}, "text", "blank"),
        ({"text": ["Oi"]}, "text", "as a string"),
        ({"text": 12}, "text", "as a string"),
        ({"send_at": _in(hours=-1)}, "send_at", "from now up to 90 days ahead"),
        ({"send_at": _in(days=91)}, "send_at", "from now up to 90 days ahead"),
        ({"send_at": "9999-12-31T23:59:59Z"}, "send_at", "from now up to 90 days ahead"),
        ({"send_at": "0001-01-01T00:00:00Z"}, "send_at", ""),
        ({"send_at": "tomorrow"}, "send_at", "Datetime has wrong format"),
        ({"send_at": 1700000000}, "send_at", ""),
        ({"audience": "everyone"}, "audience", "not a valid choice"),
        ({"audience": 5}, "audience", "not a valid choice"),
        ({"audience": "label"}, "label", "Choose a label"),
        ({"audience": "label", "label": "1"}, "label", "JSON integer"),
        ({"audience": "label", "label": 99999999}, "label", "Choose a label"),
        ({"audience": "product"}, "product", "Choose a product"),
        ({"audience": "lapsed"}, "before", "Choose a date"),
        ({"audience": "lapsed", "before": "2999-01-01"}, "before", "in the past"),
        ({"audience": "lapsed", "before": "31/12/2020"}, "before", "Date has wrong format"),
        ({"product_ids": "1"}, "product_ids", "list"),
        ({"product_ids": [1.5]}, "product_ids", ""),
        ({"product_ids": list(range(1, 12))}, "product_ids", "no more than 10"),
        ({"product_ids": [99999999]}, "product_ids", "Product not found"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_creates_nothing(
    owner, business, data, field, words
):
    # given someone who would receive it
    opted_in(business)
    # when the owner sends a bad field
    response = create(api(owner), business, data)
    # then a 400 names the field and says what is wrong, and nothing is created
    assert response.status_code == 400, response.content
    body = response.json()
    message = body["detail"] if "code" in body else " ".join(map(str, body[field]))
    if "code" in body:
        assert body["field"] == field
    assert words in message
    assert nothing_created()


def test_another_business_label_or_product_is_refused(owner, business, other):
    opted_in(business)
    label = chat_settings.create_label(actor=other.owner, business=other.business, name="Theirs")
    response = create(api(owner), business, {"audience": "label", "label": label.pk})
    assert response.status_code == 400 and response.json()["field"] == "label"
    assert nothing_created()


def test_an_audience_of_nobody_is_refused(owner, business):
    start_chat(business)  # a contact who never accepted offers
    response = create(api(owner), business)
    assert response.status_code == 400
    assert response.json()["code"] == "no_recipients"
    assert nothing_created()


def test_a_body_that_is_not_json_is_refused(owner, business):
    response = api(owner).post(url(business), "{not json", content_type="application/json", **EN)
    assert response.status_code == 400
    assert nothing_created()


# --- Idempotency-Key ----------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_answer(owner, business):
    opted_in(business)
    client = api(owner)
    first = create(client, business, HTTP_IDEMPOTENCY_KEY="bc-1")
    again = create(client, business, HTTP_IDEMPOTENCY_KEY="bc-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Broadcast.objects.count() == 1 and ScheduledMessage.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(owner, business):
    opted_in(business)
    client = api(owner)
    create(client, business, HTTP_IDEMPOTENCY_KEY="bc-2")
    other_body = create(client, business, {"text": "Another offer"}, HTTP_IDEMPOTENCY_KEY="bc-2")
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    assert Broadcast.objects.count() == 1


def test_without_a_key_each_request_creates_and_a_bad_key_is_refused(owner, business):
    opted_in(business)
    client = api(owner)
    assert create(client, business).status_code == 201
    assert create(client, business).status_code == 201
    bad = create(client, business, HTTP_IDEMPOTENCY_KEY="has spaces")
    assert bad.status_code == 400 and bad.json()["code"] == "idempotency_key_invalid"
    assert Broadcast.objects.count() == 2


def test_a_refused_request_is_replayed_too(owner, business):
    # given a key first used for a refused body
    opted_in(business)
    client = api(owner)
    refused = create(client, business, {"text": "Oi {nome}"}, HTTP_IDEMPOTENCY_KEY="bc-3")
    again = create(client, business, {"text": "Oi {nome}"}, HTTP_IDEMPOTENCY_KEY="bc-3")
    # then the same refusal comes back, and nothing is created
    assert refused.status_code == again.status_code == 400
    assert json.loads(again.content) == json.loads(refused.content)
    assert nothing_created()
