"""PostgreSQL, real threads and connections: a customer's STOP and the offer being
sent to them at that moment.

The outbox claims its rows, then locks their conversations; a customer's message
locks its conversation, and its STOP hook cancels the contact's offers not sent yet.
Each must not wait for what the other holds (a deadlock: PostgreSQL aborts one, and
the customer's send fails)."""

import threading

import pytest

from chats.models import Message, ScheduledMessage
from chats.services import outbox
from chats.tests.factories import say
from core.tests.threads import WAIT, in_thread
from marketing.tests.test_broadcasts import broadcast, opted_in

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_a_stop_while_its_offer_is_being_sent(owner, business, monkeypatch):
    contact = opted_in(business)
    broadcast(owner, business)
    [offer] = ScheduledMessage.objects.filter(conversation__contact=contact, kind="offer")
    claimed, stopped, outcome = threading.Event(), threading.Event(), {}
    lock_conversations = outbox.lock_conversations

    def slow_lock(ids, **kwargs):  # the outbox has its rows and now wants the chat
        claimed.set()
        # The customer's STOP takes the conversation meanwhile, and must not wait for
        # the offer held here (it would hold the conversation this then takes: a
        # deadlock).
        outcome["stop ended first"] = stopped.wait(WAIT)
        return lock_conversations(ids, **kwargs)

    monkeypatch.setattr(outbox, "lock_conversations", slow_lock)

    def send_offers():
        outbox.send_due(limit=10)

    def stop():
        assert claimed.wait(WAIT)
        say(contact.user, contact.conversation, "STOP")
        stopped.set()

    threads = [in_thread(send_offers, outcome, "outbox"), in_thread(stop, outcome, "stop")]
    for thread in threads:
        thread.join(3 * WAIT)

    assert outcome == {"stop ended first": True, "outbox": "ok", "stop": "ok"}
    contact.refresh_from_db()
    assert not contact.accepts_offers
    chat = Message.objects.filter(conversation=contact.conversation)
    assert chat.filter(body="STOP").count() == 1
    # The STOP had the conversation first: the outbox, which held the offer, found the
    # customer opted out when it got the conversation, and canceled it.
    offer.refresh_from_db()
    assert offer.status == ScheduledMessage.Status.CANCELED
    assert not chat.filter(kind="offer").exists()
