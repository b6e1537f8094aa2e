"""PostgreSQL, real threads and connections: row locks never wait for foreign-key checks.

Django's foreign keys are checked at commit (``DEFERRABLE INITIALLY DEFERRED``), and the
check takes ``FOR KEY SHARE`` on the referenced row. A ``FOR UPDATE`` lock conflicts with
it, a ``FOR NO KEY UPDATE`` lock does not; so every row lock here is taken with
``select_for_update(no_key=True)`` (nothing locks a row to change its key).

The case seen in this test: a merchant sends a payment request (the business row is
locked while the order is numbered, then the chat card waits for the conversation)
while another transaction holds that conversation and commits a row that refers to
the business — a settlement's payment, a new label. Under ``FOR UPDATE`` each waits
for the other: PostgreSQL aborts one of them as a deadlock."""

import threading

import pytest
from django.db import transaction

from catalog.tests.factories import make_product
from chats.models import Label
from chats.services import messages
from chats.tests.factories import start_chat
from core.tests.threads import WAIT, in_thread, someone_waits_for_a_lock
from payments.models import Order
from payments.services import orders

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_a_payment_request_and_a_commit_referring_to_the_business_do_not_deadlock(
    business, owner, customer
):
    product = make_product(owner, business, name="Bolo", price=4500, stock=3)
    conversation = start_chat(business, customer)
    held, outcome = threading.Event(), {}

    def other():
        with transaction.atomic():
            messages.lock_conversations([conversation.pk])
            held.set()
            # the payment request has the business and now waits for this conversation
            assert someone_waits_for_a_lock(), "the payment request never waited"
            Label.objects.create(business=business, name="VIP")  # checked at commit

    def request():
        assert held.wait(WAIT)
        orders.create_payment_request(
            actor=owner, conversation=conversation, lines=[{"product_id": product.pk}]
        )

    threads = [in_thread(other, outcome, "other"), in_thread(request, outcome, "request")]
    for thread in threads:
        thread.join(3 * WAIT)

    assert outcome == {"other": "ok", "request": "ok"}
    assert Order.objects.filter(business=business).count() == 1
    assert Label.objects.filter(business=business, name="VIP").exists()
