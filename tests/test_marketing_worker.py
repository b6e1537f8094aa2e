"""A real Celery worker delivers a broadcast: every opted-in contact gets the offer
exactly once, even with extra dispatchers racing for the same rows; a contact without
consent gets nothing."""

from django.db.models import Count

from accounts import services as account_services
from accounts.models import User
from chats import tasks as chat_tasks
from chats.models import Contact, Message, ScheduledMessage
from chats.services import consent
from chats.tests.factories import start_chat
from marketing import selectors, services
from tests.celery_fixtures import TASK_TIMEOUT, wait_for


def test_a_real_worker_delivers_a_broadcast_once_each(celery_worker, settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = 1000
    owner = User.objects.create_user("owner@example.com", "pw-owner-123456")
    business = account_services.create_business(user=owner, name="Loja Lua", slug="loja-lua")
    contacts = []
    for i in range(6):
        customer = User.objects.create_user(f"c{i}@example.com", "pw-customer-12345")
        contact = Contact.objects.get(pk=start_chat(business, customer).contact_id)
        if i:  # the first one never agreed to offers
            consent.grant_offers_consent(customer=customer, contact=contact, source="chat")
        contacts.append(contact)

    broadcast = services.create_broadcast(
        actor=owner, business=business, text="Oi {first_name}!", audience="all"
    )
    # two more dispatchers race the ones the broadcast started
    chat_tasks.dispatch_scheduled_messages.delay()
    chat_tasks.dispatch_scheduled_messages.delay()

    done = wait_for(lambda: selectors.broadcast_progress(broadcast)["done"], TASK_TIMEOUT)
    log = celery_worker.read_text(errors="replace")
    assert done, f"the broadcast was not delivered in {TASK_TIMEOUT}s:\n{log[-4000:]}"
    progress = selectors.broadcast_progress(broadcast)
    assert (progress["sent"], progress["failed"], progress["skipped"]) == (5, 0, 0)
    offers = Message.objects.filter(kind="offer")
    per_conversation = offers.values("conversation").annotate(n=Count("id"))
    assert sorted(row["n"] for row in per_conversation) == [1] * 5
    assert not offers.filter(conversation__contact=contacts[0]).exists()
    assert not ScheduledMessage.objects.filter(conversation__contact=contacts[0]).exists()
