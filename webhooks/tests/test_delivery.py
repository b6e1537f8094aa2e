"""Signed delivery to a real HTTP receiver on a loopback port: the signature a
receiver someone else wrote accepts, retries on the schedule, 410, Retry-After, the
timeout, redirects, and the server-side request forgery rules."""

import datetime
import json
import socket

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chats.tests.factories import start_chat
from core.mail import OutgoingEmail
from webhooks import network
from webhooks.models import Attempt, Delivery, Endpoint, Event
from webhooks.services import delivery as sender
from webhooks.services import endpoints
from webhooks.tests.receiver import Receiver, Reply

pytestmark = pytest.mark.django_db


def _deliver(endpoint) -> int:
    return sender.deliver_endpoint(endpoint_id=endpoint.pk)


def _one_event(owner, business, endpoint) -> Event:
    event = endpoints.send_test_event(actor=owner, endpoint=endpoint)
    assert event is not None
    return event


# --- Signature ------------------------------------------------------------------------


def test_standardwebhooks_accepts_our_signature_and_refuses_a_change(
    owner, business, endpoint, receiver
):
    start_chat(business)  # contact.created, conversation.created
    assert _deliver(endpoint) == 2
    first, second = receiver.requests
    assert [json.loads(r.body)["type"] for r in receiver.requests] == [
        "contact.created",
        "conversation.created",
    ]
    hook = Webhook(endpoint.secret)
    for request in receiver.requests:
        payload = hook.verify(request.body, request.headers)
        assert set(payload) == {"type", "timestamp", "data"}
        assert request.headers["content-type"] == "application/json"
        assert "Conversa" in request.headers["user-agent"]
        assert request.headers["webhook-id"].startswith("msg_")
    data = json.loads(second.body)["data"]
    assert data["id"] == str(Event.objects.get(type="conversation.created").payload["data"]["id"])
    assert isinstance(data["id"], str) and data["business"]["slug"] == business.slug

    changed_body = first.body.replace(b"contact.created", b"contact.createx")
    with pytest.raises(WebhookVerificationError):
        hook.verify(changed_body, first.headers)
    later = dict(
        first.headers, **{"webhook-timestamp": str(int(first.headers["webhook-timestamp"]) + 1)}
    )
    with pytest.raises(WebhookVerificationError):
        hook.verify(first.body, later)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoints.signing.new_secret()).verify(first.body, first.headers)


def test_during_a_rotation_both_secrets_sign_for_24_hours(owner, business, endpoint, receiver):
    old = endpoint.secret
    rotated = endpoints.rotate_secret(actor=owner, endpoint=endpoint)
    assert rotated.secret != old and rotated.previous_secret == old
    _one_event(owner, business, rotated)
    _deliver(rotated)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(rotated.secret).verify(request.body, request.headers)

    with time_machine.travel(timezone.now() + datetime.timedelta(hours=25)):
        _one_event(owner, business, rotated)
        _deliver(rotated)
        request = receiver.requests[-1]
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        Webhook(rotated.secret).verify(request.body, request.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(request.body, request.headers)


# --- Retries --------------------------------------------------------------------------


def test_retries_follow_the_schedule_then_give_up_with_the_same_webhook_id(
    owner, business, endpoint, receiver
):
    receiver.default = Reply(status=500, body=b"boom")
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        event = _one_event(owner, business, endpoint)
        _deliver(endpoint)
        delivery = Delivery.objects.get(event=event)
        waits = []
        while delivery.status == Delivery.Status.PENDING:
            waits.append(delivery.next_attempt_at - timezone.now())
            clock.move_to(delivery.next_attempt_at - datetime.timedelta(seconds=1))
            assert _deliver(endpoint) == 0  # not due yet
            clock.move_to(delivery.next_attempt_at)
            assert _deliver(endpoint) == 1
            delivery.refresh_from_db()
    assert [w.total_seconds() for w in waits] == [
        5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400,
    ]  # fmt: skip
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 10
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event.msg_id}
    assert Attempt.objects.filter(delivery=delivery).count() == 10
    assert Attempt.objects.filter(delivery=delivery).first().response_body == "boom"


def test_a_2xx_answer_delivers_and_clears_the_failure(owner, business, endpoint, receiver):
    receiver.replies = [Reply(status=502), Reply(status=200, body=b"x" * 5000)]
    event = _one_event(owner, business, endpoint)
    _deliver(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    Delivery.objects.filter(event=event).update(next_attempt_at=timezone.now())
    _deliver(endpoint)
    delivery = Delivery.objects.get(event=event)
    endpoint.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and delivery.last_status_code == 200
    assert endpoint.failing_since is None
    assert len(Attempt.objects.filter(delivery=delivery).first().response_body) == 2048


def test_410_disables_the_endpoint(owner, business, endpoint, receiver):
    receiver.default = Reply(status=410)
    event = _one_event(owner, business, endpoint)
    _deliver(endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_reason == Endpoint.DisabledReason.GONE
    assert Delivery.objects.get(event=event).status == Delivery.Status.FAILED
    start_chat(business)  # no endpoint listens now
    assert Event.objects.count() == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(owner, business, endpoint, receiver, status):
    receiver.default = Reply(status=status, headers={"Retry-After": "120"})
    with time_machine.travel(timezone.now(), tick=False):
        event = _one_event(owner, business, endpoint)
        _deliver(endpoint)
        delivery = Delivery.objects.get(event=event)
        assert delivery.next_attempt_at - timezone.now() == datetime.timedelta(seconds=120)


def test_retry_after_as_a_date(owner, business, endpoint, receiver):
    when = timezone.now().replace(microsecond=0) + datetime.timedelta(minutes=10)
    from email.utils import format_datetime

    receiver.default = Reply(
        status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    with time_machine.travel(when - datetime.timedelta(minutes=10), tick=False):
        event = _one_event(owner, business, endpoint)
        _deliver(endpoint)
        assert Delivery.objects.get(event=event).next_attempt_at == when


def test_failing_for_five_days_disables_and_tells_the_owners_once(
    owner, business, endpoint, receiver
):
    receiver.default = Reply(status=500)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _one_event(owner, business, endpoint)
        _deliver(endpoint)
        clock.move_to(start + datetime.timedelta(days=5, seconds=1))
        _one_event(owner, business, endpoint)
        Delivery.objects.update(next_attempt_at=timezone.now())
        _deliver(endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert endpoint.disabled_reason == Endpoint.DisabledReason.FAILING
    mails = OutgoingEmail.objects.filter(to=owner.email)
    assert mails.count() == 1 and endpoint.url in mails.get().body


# --- The request's limits ---------------------------------------------------------------


def test_timeout(owner, business, endpoint, receiver, settings):
    settings.WEBHOOKS_TIMEOUT = 0.3
    receiver.default = Reply(status=200, delay=1.5)
    event = _one_event(owner, business, endpoint)
    _deliver(endpoint)
    attempt = Attempt.objects.get(delivery__event=event)
    assert attempt.status_code is None and "timed out" in attempt.error
    assert Delivery.objects.get(event=event).status == Delivery.Status.PENDING


def test_redirects_are_not_followed(owner, business, endpoint, receiver):
    with Receiver() as elsewhere:
        receiver.default = Reply(status=307, headers={"Location": elsewhere.url})
        event = _one_event(owner, business, endpoint)
        _deliver(endpoint)
        assert elsewhere.count == 0
    assert receiver.count == 1
    delivery = Delivery.objects.get(event=event)
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 307


def test_the_answer_is_read_up_to_64_kb(owner, business, endpoint, receiver):
    receiver.default = Reply(status=200, body=b"y" * 1_000_000)
    event = _one_event(owner, business, endpoint)
    _deliver(endpoint)
    assert Delivery.objects.get(event=event).status == Delivery.Status.SUCCEEDED


# --- Server-side request forgery ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "10.255.1.2", "169.254.169.254", "::1", "::ffff:127.0.0.1",
     "::ffff:10.0.0.1", "192.168.1.1", "172.16.0.1", "100.64.0.1", "224.0.0.1", "0.0.0.0",  # noqa: S104
     "fe80::1", "fc00::1", "ff02::1", "240.0.0.1"],
)  # fmt: skip
def test_private_and_special_addresses_are_forbidden(settings, address):
    import ipaddress

    settings.WEBHOOKS_ALLOWED_NETWORKS = []
    assert network.is_forbidden(ipaddress.ip_address(address))


def test_public_addresses_and_allowed_networks(settings):
    import ipaddress

    settings.WEBHOOKS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    assert not network.is_forbidden(ipaddress.ip_address("93.184.216.34"))
    assert not network.is_forbidden(ipaddress.ip_address("2606:4700::1111"))
    assert not network.is_forbidden(ipaddress.ip_address("10.1.2.3"))
    assert network.is_forbidden(ipaddress.ip_address("10.2.0.1"))


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.8", "169.254.169.254", "[::1]"])
def test_ssrf_refused_at_delivery(owner, business, loopback, receiver, host, settings):
    endpoint = endpoints.create_endpoint(
        actor=owner, business=business, url=f"https://{host}:{receiver.port}/hook"
    )
    settings.WEBHOOKS_ALLOWED_NETWORKS = []
    event = _one_event(owner, business, endpoint)
    _deliver(endpoint)
    attempt = Attempt.objects.get(delivery__event=event)
    assert attempt.status_code is None and "forbidden address" in attempt.error
    assert receiver.count == 0


def test_ssrf_refused_for_a_name_resolving_to_a_private_address(
    owner, business, loopback, receiver, settings, monkeypatch
):
    """The resolver is patched (not the checker): the name resolves to loopback, the
    receiver's own address, which is refused; allowed on purpose, it is reached, with
    the name in ``Host`` and the checked address connected to."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    settings.DEBUG = False
    url = f"https://hooks.example.com:{receiver.port}/hook"
    endpoint = endpoints.create_endpoint(actor=owner, business=business, url=url)
    settings.WEBHOOKS_ALLOWED_NETWORKS = []
    event = _one_event(owner, business, endpoint)
    _deliver(endpoint)
    attempt = Attempt.objects.get(delivery__event=event)
    assert "hooks.example.com resolves to a forbidden address (127.0.0.1)" in attempt.error
    assert receiver.count == 0


def test_the_checked_address_is_connected_to_with_the_name_as_host(
    owner, business, loopback, receiver, monkeypatch
):
    """A name is resolved once, at delivery; the request goes to that address (a
    second, different answer — DNS rebinding — is never used) with ``Host: name``."""
    answers = iter(["127.0.0.1", "10.9.9.9"])
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "localhost":
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://localhost:{receiver.port}/hook"
    endpoint = endpoints.create_endpoint(actor=owner, business=business, url=url)
    _one_event(owner, business, endpoint)
    _deliver(endpoint)
    assert receiver.count == 1
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


@pytest.mark.parametrize(
    ("url", "debug"),
    [
        ("http://example.com/hook", True),
        ("http://127.0.0.1:8000/hook", False),
        ("ftp://example.com/hook", True),
        ("https://user:pw@example.com/hook", True),
        ("https:///hook", True),
        ("not a url", True),
        ("https://" + "a" * 2000 + ".com/", True),
    ],
)
def test_bad_urls_are_refused_and_nothing_is_saved(owner, business, settings, url, debug):
    settings.DEBUG = debug
    with pytest.raises(endpoints.AppError) as caught:
        endpoints.create_endpoint(actor=owner, business=business, url=url)
    assert caught.value.field == "url"
    assert not Endpoint.objects.exists()
