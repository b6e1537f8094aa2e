"""The broadcast sender task (run here in-process) and the beat job that starts
broadcasts due soon."""

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from chats.models import Contact, Message
from chats.services import consent
from chats.tests.factories import start_chat
from marketing import services, tasks

pytestmark = pytest.mark.django_db


def _opted_in(business):
    contact = Contact.objects.get(pk=start_chat(business).contact_id)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat")
    return contact


def test_the_sender_sends_everything_due_then_stops(owner, business, settings):
    settings.BROADCAST_BATCH = 2
    for _i in range(5):
        _opted_in(business)
    b = services.create_broadcast(actor=owner, business=business, text="Oi", audience="all")
    with mock.patch.object(tasks.send_broadcast, "apply_async") as again:
        assert tasks.send_broadcast(b.pk) == 5
    again.assert_not_called()
    assert Message.objects.filter(kind="offer").count() == 5
    assert tasks.send_broadcast(b.pk) == 0  # a redelivered task sends nothing more


def test_the_sender_hands_over_what_is_due_later(owner, business, settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = 0.2  # one every 5 s
    for _i in range(2):
        _opted_in(business)
    b = services.create_broadcast(actor=owner, business=business, text="Oi", audience="all")
    with mock.patch.object(tasks.send_broadcast, "apply_async") as again:
        assert tasks.send_broadcast(b.pk) == 1
    (call,) = again.call_args_list
    assert call.args == ((b.pk,),) and 3 < call.kwargs["countdown"] <= 5


def test_the_beat_starts_due_unfinished_broadcasts(owner, business):
    _opted_in(business)
    later = timezone.now() + datetime.timedelta(hours=2)
    due = services.create_broadcast(actor=owner, business=business, text="Now", audience="all")
    services.create_broadcast(
        actor=owner, business=business, text="Later", audience="all", send_at=later
    )
    with mock.patch.object(tasks.send_broadcast, "delay") as start:
        assert tasks.start_due_broadcasts() == 1
    start.assert_called_once_with(due.pk)
    services.send_broadcast_batch(broadcast_id=due.pk)
    with mock.patch.object(tasks.send_broadcast, "delay") as start:
        assert tasks.start_due_broadcasts() == 0  # finished
