"""PostgreSQL, real threads and connections: what the conversation lock excludes.

A send holds its conversation locked (``messages.lock_conversations``) while it updates
the participants. A receipt updates one participant and must never, at its commit,
wait for that conversation (as a foreign-key check under a ``FOR UPDATE`` lock made it
do): it would then hold the participant the send is about to update — a deadlock
(seen live: an outbox message and a read receipt at the same moment)."""

import threading

import pytest
from django.db import transaction

from accounts.tests.factories import UserFactory
from chats.models import Participant
from chats.services import messages, receipts
from chats.tests.factories import say, start_chat
from core.tests.threads import WAIT, in_thread

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_a_read_receipt_commits_while_a_send_holds_the_conversation(business, owner):
    customer = UserFactory()
    conversation = start_chat(business, customer)
    say(owner, conversation, "Shipped!")
    say(owner, conversation, "Tracking code AA123456789BR")
    locked, receipt_done, outcome = threading.Event(), threading.Event(), {}

    def send():
        with transaction.atomic():
            [(held, participants)] = messages.lock_conversations([conversation.pk]).values()
            locked.set()
            # the receipt commits while this transaction holds the conversation
            assert receipt_done.wait(WAIT), "the receipt waited for the conversation lock"
            business_side = next(p for p in participants if p.business_id)
            messages.append_messages(
                [messages.Draft(held, participants, business_side, body="Delivered!")]
            )

    def read():
        assert locked.wait(WAIT)
        # both its read and its delivered positions move: one row, two changes
        receipts.mark_read(actor=customer, conversation=conversation)
        receipt_done.set()

    threads = [in_thread(send, outcome, "send"), in_thread(read, outcome, "read")]
    for thread in threads:
        thread.join(3 * WAIT)

    assert outcome == {"send": "ok", "read": "ok"}
    side = Participant.objects.get(conversation=conversation, user=customer)
    assert (side.last_read_seq, side.last_delivered_seq, side.unread) == (2, 2, 1)
