"""The outbox: scheduling (input checks, dedupe), sending once, canceling by prefix,
retries with backoff, failures and the operators' retry, and the relay of a
worker's socket events on the embedded default."""

import datetime

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats import kinds
from chats.models import Message, Participant, RelayedEvent, ScheduledMessage
from chats.relay import Relay, spool_in_this_process
from chats.services import conversations as chat_conversations
from chats.services import messages as chat_messages
from chats.services import outbox, unread_email
from chats.tests.factories import say, start_chat
from core import events as core_events
from core.errors import AppError
from core.events import collect_events

pytestmark = pytest.mark.django_db
STATUS = ScheduledMessage.Status


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", display_name="Carla")


@pytest.fixture
def conversation(business, customer):
    return start_chat(business, customer)


@pytest.fixture
def enqueued(monkeypatch):
    """The ids the outbox enqueues for an immediate send (the broker is the edge)."""
    sent = []
    monkeypatch.setattr("chats.tasks.send_scheduled_message.delay", lambda pk: sent.append(pk))
    return sent


def schedule(conversation, key="test:1", **kwargs):
    kwargs.setdefault("kind", "text")
    kwargs.setdefault("body", "Your order is on its way")
    return outbox.schedule_message(conversation=conversation, dedupe_key=key, **kwargs)


def later(**delta):
    return timezone.now() + datetime.timedelta(**delta)


# --- Scheduling ----------------------------------------------------------------------


def test_a_message_due_now_is_enqueued_after_the_commit(
    conversation, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row, created = schedule(conversation, payload={"a": 1})
        assert enqueued == []  # not before the commit
    assert created and enqueued == [row.pk]
    assert row.status == STATUS.SCHEDULED and row.attempts == 0
    assert row.due_at <= timezone.now()


def test_a_later_message_waits_for_the_dispatcher(
    conversation, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row, _created = schedule(conversation, due_at=later(hours=3))
    assert enqueued == []
    assert outbox.send_due() == 0
    assert not Message.objects.filter(conversation=conversation).exists()
    assert ScheduledMessage.objects.get(pk=row.pk).status == STATUS.SCHEDULED


def test_the_same_dedupe_key_schedules_once(conversation):
    first, created = schedule(conversation, key="order:1:shipment:1")
    again, created_again = schedule(conversation, key="order:1:shipment:1", body="Other text")
    assert created and not created_again
    assert again.pk == first.pk and again.body == "Your order is on its way"
    assert ScheduledMessage.objects.count() == 1


def test_a_rolled_back_event_leaves_nothing_to_send(conversation):
    with pytest.raises(RuntimeError), transaction.atomic():
        schedule(conversation)
        raise RuntimeError("the order update failed")
    assert not ScheduledMessage.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "no_such_kind"}, "unknown_kind"),
        ({"kind": "unknown"}, "unknown_kind"),
        ({"kind": None}, "unknown_kind"),
        ({"due_at": datetime.datetime(3000, 1, 1, tzinfo=datetime.UTC)}, "invalid_due_at"),
        ({"due_at": datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)}, "invalid_due_at"),
        ({"due_at": datetime.datetime(2030, 1, 1)}, "invalid_due_at"),  # naive
        ({"due_at": "tomorrow"}, "invalid_due_at"),
        ({"key": ""}, "invalid_dedupe_key"),
        ({"key": "x" * 201}, "invalid_dedupe_key"),
        ({"key": "order 1<script>"}, "invalid_dedupe_key"),
        ({"key": 12}, "invalid_dedupe_key"),
        ({"payload": ["not", "a", "dict"]}, "invalid_payload"),
        ({"payload": {"a": {1, 2}}}, "invalid_payload"),
        ({"payload": {"a": float("nan")}}, "invalid_payload"),
        ({"payload": {"a": "x" * 20000}}, "payload_too_large"),
        ({"body": "x" * 5000}, "too_long"),
        ({"body": 5}, "invalid_body"),
        ({"sender": "customer"}, "invalid_sender"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_scheduled(conversation, kwargs, code):
    with pytest.raises(AppError) as error:
        schedule(conversation, **kwargs)
    assert error.value.code == code
    assert not ScheduledMessage.objects.exists()


def test_a_direct_conversation_has_no_business_side_to_speak(business, customer):
    peer = UserFactory()
    direct, _created = chat_conversations.start_direct_conversation(user=customer, peer=peer)
    with pytest.raises(AppError) as error:
        schedule(direct)
    assert error.value.code == "not_business"
    row, _created = schedule(direct, sender="system")
    assert row.sender == "system"


def test_a_time_slightly_past_is_sent_at_once(conversation):
    row, _created = schedule(conversation, due_at=later(minutes=-5))
    assert row.due_at >= timezone.now() - datetime.timedelta(seconds=5)


# --- Sending -------------------------------------------------------------------------


def test_sending_creates_the_business_message_once(
    conversation, customer, django_capture_on_commit_callbacks
):
    row, _created = schedule(conversation, kind="text", body="Shipped!", payload={"auto": "x"})
    with collect_events() as sent_events:
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox.send_due() == 1
        pushed = [e for _g, e in sent_events if e["type"] == "chat.message"]
    (message,) = Message.objects.filter(conversation=conversation)
    assert message.kind == "text" and message.body == "Shipped!"
    assert message.payload == {"auto": "x"}
    assert message.sender.business_id == conversation.business_id and message.author is None
    row.refresh_from_db()
    assert row.status == STATUS.SENT and row.message == message and row.attempts == 1
    assert row.sent_at is not None
    assert [e["message"]["seq"] for e in pushed] == [message.seq]
    # Redelivered task, second dispatcher: nothing more.
    assert outbox.send_scheduled(scheduled_id=row.pk) is False
    assert outbox.send_due() == 0
    assert Message.objects.filter(conversation=conversation).count() == 1
    customer_side = Participant.objects.get(conversation=conversation, user=customer)
    assert customer_side.unread == 1


def test_the_immediate_task_sends_only_its_due_row(conversation):
    due, _c = schedule(conversation, key="k:due")
    future, _c = schedule(conversation, key="k:future", due_at=later(hours=1))
    assert outbox.send_scheduled(scheduled_id=future.pk) is False
    assert outbox.send_scheduled(scheduled_id=due.pk) is True
    assert outbox.send_scheduled(scheduled_id=due.pk) is False
    assert outbox.send_scheduled(scheduled_id="1") is False
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_a_system_message_has_no_sender(conversation):
    schedule(conversation, kind="system", body="Order expired", sender="system")
    outbox.send_due()
    message = Message.objects.get(conversation=conversation)
    assert message.sender is None and message.kind == "system"


def test_an_away_customer_gets_the_unread_email(
    conversation, customer, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.CHAT_UNREAD_EMAIL_DELAY = 0  # due at once: the task may send it now
    queued = []
    monkeypatch.setattr(
        "chats.tasks.send_unread_email.apply_async",
        lambda args, kwargs, countdown: queued.append(args),
    )
    schedule(conversation, body="Your parcel left today")
    with django_capture_on_commit_callbacks(execute=True):
        outbox.send_due()
    side = Participant.objects.get(conversation=conversation, user=customer)
    assert queued == [(side.pk,)]
    with django_capture_on_commit_callbacks(execute=True):
        assert unread_email.send_unread_email(participant_id=side.pk)
    (sent_mail,) = mail.outbox
    assert sent_mail.to == ["carla@example.com"]
    assert "Your parcel left today" in sent_mail.body


def test_due_messages_go_oldest_first_in_batches(conversation):
    for n in range(5):
        schedule(conversation, key=f"batch:{n}", body=f"m{n}", due_at=later(minutes=-(10 - n)))
    assert outbox.send_due(limit=3) == 3
    assert outbox.send_due(limit=3) == 2
    bodies = list(Message.objects.filter(conversation=conversation).values_list("body", flat=True))
    assert bodies == ["m0", "m1", "m2", "m3", "m4"]


# --- Canceling -----------------------------------------------------------------------


def test_cancel_by_prefix_takes_only_that_orders_unsent_messages(conversation):
    sent, _c = schedule(conversation, key="order:1:shipment:1")
    outbox.send_due()
    pending, _c = schedule(conversation, key="order:1:checkin", due_at=later(days=3))
    other, _c = schedule(conversation, key="order:12:checkin", due_at=later(days=3))
    assert outbox.cancel_scheduled(prefix="order:1:") == 1
    statuses = dict(ScheduledMessage.objects.values_list("pk", "status"))
    assert statuses == {
        sent.pk: STATUS.SENT,
        pending.pk: STATUS.CANCELED,
        other.pk: STATUS.SCHEDULED,
    }
    assert outbox.cancel_scheduled(prefix="order:1:") == 0
    with pytest.raises(AppError):
        outbox.cancel_scheduled(prefix="")
    with pytest.raises(AppError):
        outbox.cancel_scheduled(prefix="%")


def test_a_canceled_message_is_never_sent(conversation):
    row, _c = schedule(conversation, key="order:3:reminder")
    outbox.cancel_scheduled(prefix="order:3:")
    assert outbox.send_scheduled(scheduled_id=row.pk) is False
    assert outbox.send_due() == 0
    assert not Message.objects.filter(conversation=conversation).exists()


# --- Failures ------------------------------------------------------------------------


def _break_posting(monkeypatch):
    def fail(drafts):
        raise ConnectionError("renderer down")

    monkeypatch.setattr(outbox, "append_messages", fail)


def test_a_failure_is_retried_with_backoff_then_marked_failed(conversation, monkeypatch, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_BASE = 30
    _break_posting(monkeypatch)
    row, _c = schedule(conversation)
    before = timezone.now()
    assert outbox.send_due() == 1
    row.refresh_from_db()
    assert row.status == STATUS.SCHEDULED and row.attempts == 1
    assert "ConnectionError: renderer down" in row.last_error
    assert before + datetime.timedelta(seconds=29) < row.due_at
    assert row.due_at < before + datetime.timedelta(seconds=35)
    assert outbox.send_due() == 0  # not due again yet
    for attempt in (2, 3):
        ScheduledMessage.objects.filter(pk=row.pk).update(due_at=timezone.now())
        outbox.send_due()
        row.refresh_from_db()
        assert row.attempts == attempt
    assert row.status == STATUS.FAILED
    assert not Message.objects.filter(conversation=conversation).exists()
    assert outbox.backoff(1) == datetime.timedelta(seconds=30)
    assert outbox.backoff(3) == datetime.timedelta(seconds=120)
    assert outbox.backoff(40) == datetime.timedelta(seconds=settings.OUTBOX_RETRY_MAX)


# --- Batches ---------------------------------------------------------------------------


def test_a_batch_is_sent_in_a_constant_number_of_queries(
    business, django_capture_on_commit_callbacks, settings
):
    """Rows are claimed and sent OUTBOX_CHUNK at a time, their messages appended
    together: 3 rows or 30 cost the same statements."""
    settings.OUTBOX_CHUNK = 50

    def send(count: int, key: str) -> int:
        for i in range(count):
            schedule(start_chat(business), key=f"{key}:{i}", body=f"Hi {i}")
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=False),
        ):
            assert outbox.send_due() == count
        return len(queries)

    assert send(3, "few") == send(30, "many")
    assert Message.objects.filter(body__startswith="Hi ").count() == 33
    customer_sides = Participant.objects.filter(user__isnull=False, conversation__last_seq=1)
    assert customer_sides.count() == 33
    assert set(customer_sides.values_list("unread", flat=True)) == {1}
    assert None not in set(customer_sides.values_list("email_due_at", flat=True))


def test_a_batch_tells_the_inbox_once(business, django_capture_on_commit_callbacks):
    """Each message goes to its thread; the business's inbox gets one update naming
    every conversation of the batch, each customer's chat list one of their own."""
    conversations = [start_chat(business) for _i in range(3)]
    for i, conversation in enumerate(conversations):
        schedule(conversation, key=f"once:{i}")
    with collect_events() as collected, django_capture_on_commit_callbacks(execute=True):
        assert outbox.send_due() == 3
    types = [event["type"] for _group, event in collected]
    assert types.count("chat.message") == 3 and types.count("user.update") == 3
    [inbox] = [event for _group, event in collected if event["type"] == "inbox.update"]
    assert inbox["business"] == business.pk
    assert [c["conversation"] for c in inbox["changes"]] == [c.pk for c in conversations]


def test_rows_of_one_conversation_in_a_batch_follow_each_other(conversation):
    first, _c = schedule(conversation, key="pair:1", body="first")
    second, _c = schedule(conversation, key="pair:2", body="second", sender="system")
    say(conversation.participants.get(user__isnull=False).user, conversation, "hello")
    assert outbox.send_due() == 2
    messages = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    assert [(m.seq, m.body) for m in messages] == [(1, "hello"), (2, "first"), (3, "second")]
    conversation.refresh_from_db()
    assert conversation.last_seq == 3 and conversation.last_message_id == messages[-1].pk
    customer = conversation.participants.get(user__isnull=False)
    business_side = conversation.participants.get(business__isnull=False)
    assert (customer.unread, customer.last_read_seq) == (2, 1)
    assert (business_side.unread, business_side.last_read_seq) == (1, 2)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.message.seq, second.message.seq) == (2, 3)


def test_one_bad_row_does_not_hold_back_its_batch(business, conversation, customer, monkeypatch):
    """A row that cannot be sent fails alone: the batch is then sent row by row."""
    good, _c = schedule(conversation, key="good:1")
    direct, _c = chat_conversations.start_direct_conversation(user=customer, peer=UserFactory())
    bad, _c = schedule(direct, key="bad:1", sender="system")
    ScheduledMessage.objects.filter(pk=bad.pk).update(sender="business")
    other = start_chat(business)
    also_good, _c = schedule(other, key="good:2")
    assert outbox.send_due() == 3
    for row in (good, bad, also_good):
        row.refresh_from_db()
    assert good.status == also_good.status == STATUS.SENT
    assert bad.status == STATUS.FAILED and "no business side" in bad.last_error
    assert good.attempts == bad.attempts == also_good.attempts == 1
    assert not Message.objects.filter(conversation=direct).exists()
    assert Message.objects.filter(conversation__in=[conversation, other]).count() == 2


def test_a_kind_that_disappeared_fails_at_once(conversation, monkeypatch):
    row, _c = schedule(conversation)
    monkeypatch.setattr(kinds, "is_registered", lambda name: False)
    outbox.send_due()
    row.refresh_from_db()
    assert row.status == STATUS.FAILED and row.attempts == 1
    assert "unknown message kind" in row.last_error


def test_operators_retry_failed_messages(conversation, monkeypatch, enqueued, outsider):
    row, _c = schedule(conversation)
    ScheduledMessage.objects.filter(pk=row.pk).update(status=STATUS.FAILED, attempts=6)
    with pytest.raises(AppError) as error:
        outbox.retry_messages(actor=outsider, ids=[row.pk])
    assert error.value.status_code == 403
    operator = UserFactory(is_staff=True)
    assert outbox.retry_messages(actor=operator, ids=[row.pk, "x"]) == 1
    row.refresh_from_db()
    assert row.status == STATUS.SCHEDULED and row.attempts == 0
    outbox.send_due()
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_the_admin_lists_the_outbox_and_retries_from_it(conversation, client, enqueued):
    row, _c = schedule(conversation, key="order:7:shipment:1")
    ScheduledMessage.objects.filter(pk=row.pk).update(
        status=STATUS.FAILED, attempts=6, last_error="ConnectionError: boom"
    )
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    url = reverse("admin:chats_scheduledmessage_changelist")
    page = client.get(url + "?status=failed")
    assert page.status_code == 200 and b"order:7:shipment:1" in page.content
    assert (
        client.get(reverse("admin:chats_scheduledmessage_change", args=[row.pk])).status_code == 200
    )
    response = client.post(
        url, {"action": "retry_scheduled", "_selected_action": [row.pk]}, follow=True
    )
    assert response.status_code == 200
    assert ScheduledMessage.objects.get(pk=row.pk).status == STATUS.SCHEDULED


# --- The embedded relay ----------------------------------------------------------------


@pytest.fixture
def spooling(settings):
    settings.CHAT_EVENT_RELAY = True
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    spool_in_this_process()
    yield
    core_events.set_relay_writer(None)


def test_a_worker_writes_its_events_with_its_transaction(conversation, spooling):
    relay = Relay()
    assert relay._fetch() == []  # starts from the newest row
    schedule(conversation, body="Shipped")
    outbox.send_due()
    rows = relay._fetch()
    groups = [group for _pk, group, _event in rows]
    assert f"conv.{conversation.pk}" in groups and f"inbox.{conversation.business_id}" in groups
    (event,) = [e for _pk, g, e in rows if e["type"] == "chat.message"]
    assert "Shipped" in event["html"]["en"] and event["message"]["kind"] == "text"
    # A rolled-back message relays nothing.
    count = RelayedEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        chat_messages.post_system_note(conversation=conversation, body="never")
        raise RuntimeError
    assert RelayedEvent.objects.count() == count


def test_with_redis_there_is_nothing_to_relay(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}
    spool_in_this_process()
    assert core_events._relay_writer is None


def test_a_redis_channel_closed_after_its_transport_does_not_raise():
    """config/celery.py: the worker's consumer survives a lost Redis connection."""
    from types import SimpleNamespace

    from kombu.transport import redis as kombu_redis

    qos = kombu_redis.QoS.__new__(kombu_redis.QoS)
    qos.channel = SimpleNamespace(connection=SimpleNamespace(client=None))
    assert kombu_redis.QoS.restore_unacked.tolerates_closed_transport
    assert qos.restore_unacked() is None
