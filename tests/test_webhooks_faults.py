"""Webhooks under faults, with real worker processes, a real Redis and a real HTTP
receiver (docs/webhooks.md, "Delivery"): a worker killed with SIGKILL in the middle
of the deliveries and the receiver down for a while → once both recover every event
has arrived, at least once, and a duplicate always carries the same ``webhook-id``
(and body) as the first copy.

The events are written as the services write them; their immediate tasks are not
sent (as if the broker had lost them): the beat's sweep finds every delivery.
"""

import json
import time
from collections import defaultdict

import pytest

from chats.tests.factories import start_chat
from tests.celery_fixtures import wait_for
from tests.test_outbox_faults import Processes
from webhooks.models import Delivery, Event
from webhooks.services import capture, endpoints
from webhooks.tests.receiver import Receiver, Reply

pytestmark = [pytest.mark.needs_redis]
EVENTS = 60
CHATS = 5
DELIVERY_TIMEOUT = 150  # seconds, on two shared cores


class WebhookProcesses(Processes):
    def env(self) -> dict[str, str]:
        return super().env() | {
            "DEBUG": "1",  # plain HTTP to the loopback receiver
            "WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.1/32",
            "WEBHOOKS_DISPATCH_INTERVAL": "0.5",
            "WEBHOOKS_TIMEOUT": "2",
            "WEBHOOKS_RETRY_SCHEDULE": "1,1,2,2,3,3,5,5,5",
        }


@pytest.fixture
def procs(transactional_db, tmp_path):
    processes = WebhookProcesses(tmp_path)
    processes.start_redis()
    try:
        yield processes
    finally:
        processes.stop_all()


def test_killed_worker_and_receiver_down_lose_no_event(
    procs, owner, business, settings, monkeypatch
):
    settings.DEBUG = True
    monkeypatch.setattr(capture, "wake_sender", lambda *args, **kwargs: None)
    receiver = Receiver(Reply(status=200, delay=0.05)).__enter__()
    port = receiver.port
    try:
        endpoint = endpoints.create_endpoint(actor=owner, business=business, url=receiver.url)
        events = [endpoints.send_test_event(actor=owner, endpoint=endpoint) for _ in range(EVENTS)]
        for _ in range(CHATS):  # contact.created, conversation.created: built by the sender
            start_chat(business)
        procs.start_beat()
        first = procs.start_worker("first")
        assert wait_for(lambda: receiver.count >= 10, 60), procs.logs()
        procs.kill(first)  # mid-batch: one delivery claimed, maybe sent, not recorded

        received = list(receiver.requests)
        receiver.__exit__(None, None, None)  # the receiver goes down
        procs.start_worker("second")
        time.sleep(3)  # deliveries fail meanwhile and are retried on the schedule
        receiver = Receiver(Reply(status=200), port=port).__enter__()

        def all_delivered() -> bool:
            return not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()

        assert wait_for(all_delivered, DELIVERY_TIMEOUT), procs.logs()
        received += receiver.requests
    finally:
        receiver.__exit__(None, None, None)

    by_id = defaultdict(list)
    for request in received:
        by_id[request.headers["webhook-id"]].append(request.body)
    expected = set(Event.objects.values_list("msg_id", flat=True))
    assert {e.msg_id for e in events} <= expected and len(expected) == EVENTS + 2 * CHATS
    assert set(by_id) == expected  # every event, and nothing else
    types = set()
    for bodies in by_id.values():
        assert len(set(bodies)) == 1  # a duplicate is the same message
        types.add(json.loads(bodies[0])["type"])
    assert types == {"webhook.test", "contact.created", "conversation.created"}
    assert not Delivery.objects.filter(status=Delivery.Status.FAILED).exists()
