"""Dashboard → Integrations: owners and admins add, edit, test, rotate, disable and
delete endpoints and read the delivery log; agents, outsiders and another business
get "not found"."""

import pytest
from django.urls import reverse

from webhooks.models import Delivery, Endpoint, Event
from webhooks.services import delivery as sender
from webhooks.services import endpoints
from webhooks.tests.receiver import Reply

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _url(name, business, *args):
    return reverse(name, args=[business.slug, *args])


def test_add_an_endpoint_see_the_secret_once_and_send_a_test_event(
    client, admin, business, receiver
):
    client.force_login(admin)
    page = client.get(_url("webhook_endpoints", business), **EN)
    assert page.status_code == 200 and b"Add endpoint" in page.content
    answer = client.post(
        _url("webhook_endpoint_create", business),
        {"url": receiver.url, "description": "ERP", "event_types": ["order.paid", "order.created"]},
        **EN,
    )
    endpoint = Endpoint.objects.get()
    assert answer.status_code == 302
    assert endpoint.event_types == ["order.created", "order.paid"]
    detail = _url("webhook_endpoint", business, endpoint.pk)
    first = client.get(detail, **EN)
    assert endpoint.secret.encode() in first.content and b"shown only this once" in first.content
    assert endpoint.secret.encode() not in client.get(detail, **EN).content

    assert (
        client.post(_url("webhook_endpoint_test", business, endpoint.pk), **EN).status_code == 302
    )
    sender.deliver_endpoint(endpoint_id=endpoint.pk)
    assert receiver.count == 1
    log = client.get(detail, **EN)
    assert b"webhook.test" in log.content and b"Succeeded" in log.content and b"204" in log.content

    old = endpoint.secret
    client.post(_url("webhook_endpoint_rotate", business, endpoint.pk), **EN)
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == old
    assert endpoint.secret.encode() in client.get(detail, **EN).content


def test_the_log_filters_and_resend(client, owner, business, receiver):
    endpoint = endpoints.create_endpoint(actor=owner, business=business, url=receiver.url)
    receiver.replies = [Reply(status=500)]
    endpoints.send_test_event(actor=owner, endpoint=endpoint)
    sender.deliver_endpoint(endpoint_id=endpoint.pk)
    endpoints.send_test_event(actor=owner, endpoint=endpoint)
    sender.deliver_endpoint(endpoint_id=endpoint.pk)
    failed, ok = Delivery.objects.order_by("pk")
    client.force_login(owner)
    detail = _url("webhook_endpoint", business, endpoint.pk)
    page = client.get(detail + "?failed=on", **EN)
    assert failed.event.msg_id.encode() in page.content
    assert ok.event.msg_id.encode() not in page.content
    page = client.get(detail + "?type=order.paid", **EN)
    assert b"No deliveries yet." in page.content
    assert client.get(detail + "?type=nonsense&page=x", **EN).status_code == 200

    client.post(_url("webhook_resend", business, endpoint.pk, ok.pk), **EN)
    ok.refresh_from_db()
    assert ok.status == Delivery.Status.PENDING and ok.attempts == 0
    sender.deliver_endpoint(endpoint_id=endpoint.pk)
    assert receiver.requests[-1].headers["webhook-id"] == ok.event.msg_id


def test_bad_input_shows_an_error_and_saves_nothing(client, owner, business, settings):
    client.force_login(owner)
    settings.DEBUG = False
    for data in (
        {"url": "http://example.com/hook"},
        {"url": "https://example.com/hook", "event_types": ["nope"]},
        {"url": "\x00"},
        {"url": "https://example.com/" + "a" * 3000},
    ):
        answer = client.post(_url("webhook_endpoint_create", business), data, **EN)
        assert answer.status_code == 400
    assert (
        b"https://"
        in client.post(
            _url("webhook_endpoint_create", business), {"url": "http://example.com/x"}, **EN
        ).content
    )
    assert not Endpoint.objects.exists()


def test_disable_enable_and_delete(client, owner, business, loopback):
    endpoint = endpoints.create_endpoint(
        actor=owner, business=business, url="https://example.com/h"
    )
    client.force_login(owner)
    client.post(_url("webhook_endpoint_enable", business, endpoint.pk), {"enabled": "0"}, **EN)
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_reason == "manual"
    answer = client.post(_url("webhook_endpoint_test", business, endpoint.pk), follow=True, **EN)
    assert b"Enable the endpoint" in answer.content and not Event.objects.exists()
    client.post(_url("webhook_endpoint_enable", business, endpoint.pk), {"enabled": "1"}, **EN)
    endpoint.refresh_from_db()
    assert endpoint.is_enabled
    edit = client.post(
        _url("webhook_endpoint_edit", business, endpoint.pk),
        {"url": "https://example.org/h2", "description": "new"},
        **EN,
    )
    assert edit.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://example.org/h2"
    client.post(_url("webhook_endpoint_delete", business, endpoint.pk), **EN)
    assert not Endpoint.objects.exists()


def test_agents_outsiders_and_other_businesses_get_not_found(
    client, owner, business, agent, outsider, other, loopback
):
    endpoint = endpoints.create_endpoint(
        actor=owner, business=business, url="https://example.com/h"
    )
    endpoints.send_test_event(actor=owner, endpoint=endpoint)
    delivery = Delivery.objects.get()
    pages = [
        ("get", _url("webhook_endpoints", business)),
        ("get", _url("webhook_endpoint_create", business)),
        ("get", _url("webhook_endpoint", business, endpoint.pk)),
        ("get", _url("webhook_endpoint_edit", business, endpoint.pk)),
        ("post", _url("webhook_endpoint_enable", business, endpoint.pk)),
        ("post", _url("webhook_endpoint_rotate", business, endpoint.pk)),
        ("post", _url("webhook_endpoint_test", business, endpoint.pk)),
        ("post", _url("webhook_endpoint_delete", business, endpoint.pk)),
        ("post", _url("webhook_resend", business, endpoint.pk, delivery.pk)),
    ]
    for user in (agent, outsider, other.owner):
        client.force_login(user)
        for method, url in pages:
            assert getattr(client, method)(url, **EN).status_code == 404, (user, url)
    # The other business's owner, at their own slug, with this endpoint's id.
    client.force_login(other.owner)
    theirs = reverse("webhook_endpoint", args=[other.business.slug, endpoint.pk])
    assert client.get(theirs, **EN).status_code == 404
    resend = reverse("webhook_resend", args=[other.business.slug, endpoint.pk, delivery.pk])
    assert client.post(resend, **EN).status_code == 404
    assert Endpoint.objects.get().secret == endpoint.secret


def test_the_nav_entry_is_for_owners_and_admins(client, owner, agent, business):
    client.force_login(owner)
    url = _url("webhook_endpoints", business)
    assert url.encode() in client.get(reverse("dashboard", args=[business.slug]), **EN).content
    client.force_login(agent)
    assert url.encode() not in client.get(reverse("dashboard", args=[business.slug]), **EN).content
