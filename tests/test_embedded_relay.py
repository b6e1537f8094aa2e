"""On the embedded default a message written by the Celery worker reaches the open
chat live: a real worker process and a real ASGI server (uvicorn), each with its own
in-memory channel layer, the worker's events relayed through the database by the
web process (chats.relay, docs/outbox.md). With ``REDIS_URL`` set (CI) the same
test runs on the Redis channel layer, where the events need no relay.
"""

import json
import time

from django.test import Client
from websockets.sync.client import connect

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.models import RelayedEvent
from chats.tests.factories import start_chat
from payments.services import orders, pins, shipping
from payments.tests.factories import PIN, card_for, pay

ARRIVAL_TIMEOUT = 20  # seconds: the filesystem broker polls about once a second


def _socket(server_url: str, user):
    client = Client()
    client.force_login(user)
    return connect(
        server_url.replace("http://", "ws://") + "/ws/chat/",
        additional_headers={
            "Cookie": f"sessionid={client.cookies['sessionid'].value}",
            "Origin": server_url,
        },
        open_timeout=15,
    )


def _frames_until(ws, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if predicate(frame):
            return frame
    return None


def test_a_shipping_notice_sent_by_the_worker_arrives_live(
    asgi_server, celery_worker, owner, business, settings
):
    customer = UserFactory(email="carla@example.com", display_name="Carla")
    pins.set_pin(user=customer, pin=PIN, pin_again=PIN)
    product = make_product(owner, business, name="Bolo", price=4500, stock=3)
    conversation = start_chat(business, customer)
    order = orders.create_payment_request(
        actor=owner, conversation=conversation, lines=[{"product_id": product.pk, "quantity": 1}]
    )
    pay(customer, order, card_for(customer))

    with _socket(asgi_server, customer) as ws:
        ws.send(json.dumps({"type": "subscribe", "conversation": conversation.pk}))
        assert _frames_until(ws, lambda f: f.get("type") == "subscribed", 10)
        started = time.monotonic()

        shipping.mark_shipped(
            actor=owner, order=order, carrier="Correios", tracking_code="AA123456789BR"
        )

        frame = _frames_until(
            ws,
            lambda f: f.get("type") == "message" and f["message"]["kind"] == "shipping_update",
            ARRIVAL_TIMEOUT,
        )
        log = celery_worker.read_text(errors="replace")[-3000:]
        assert frame is not None, f"no shipping card within {ARRIVAL_TIMEOUT}s:\n{log}"
        assert "AA123456789BR" in frame["html"] and "Correios" in frame["html"]
        assert time.monotonic() - started < ARRIVAL_TIMEOUT
    if not settings.REDIS_URL:
        # It came through the relay: the worker wrote its events to the database.
        assert RelayedEvent.objects.filter(group=f"conv.{conversation.pk}").exists()
