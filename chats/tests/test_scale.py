"""The inbox with 1,000 conversations and a thread with 500 messages cost a fixed
number of queries (the rows are bulk-inserted here: building them one by one through
the services would take minutes; the services' own counts are tested elsewhere)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Business, User
from catalog.selectors import list_picks
from chats.models import Contact, Conversation, Message, Participant
from chats.tests.factories import say, start_chat

pytestmark = pytest.mark.django_db


def _bulk_conversations(business, count: int, prefix: str) -> list[Conversation]:
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{i}@example.com", display_name=f"Bulk {i}") for i in range(count)]
    )
    contacts = Contact.objects.bulk_create([Contact(business=business, user=u) for u in users])
    conversations = Conversation.objects.bulk_create(
        [Conversation(kind="business", business=business, contact=c) for c in contacts]
    )
    participants = []
    for conversation, user in zip(conversations, users, strict=True):
        participants += [
            Participant(conversation=conversation, user=user, last_read_seq=1),
            Participant(conversation=conversation, business=business, unread=1),
        ]
    sides = Participant.objects.bulk_create(participants)
    now = timezone.now()
    messages = Message.objects.bulk_create(
        [
            Message(conversation=c, seq=1, sender=sides[2 * i], author=users[i], body=f"oi {i}")
            for i, c in enumerate(conversations)
        ]
    )
    for conversation, message in zip(conversations, messages, strict=True):
        conversation.last_seq, conversation.last_message = 1, message
        conversation.last_message_at = now
    Conversation.objects.bulk_update(conversations, ["last_seq", "last_message", "last_message_at"])
    return conversations


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_inbox_with_a_thousand_conversations(client, business, owner):
    _bulk_conversations(business, 3, "few")
    client.force_login(owner)
    page = reverse("inbox", args=["padaria-central"])
    api = "/api/v1/businesses/padaria-central/conversations/"
    few = _queries(client, page), _queries(client, api)
    _bulk_conversations(business, 997, "many")
    assert Conversation.objects.filter(business=business).count() == 1000
    many = _queries(client, page), _queries(client, api)
    assert many == few


def test_thread_with_five_hundred_messages(client, business, owner, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 10_000
    conversation = start_chat(business)
    customer = conversation.contact.user
    say(customer, conversation, "first")
    client.force_login(owner)
    urls = [
        reverse("inbox_thread", args=["padaria-central", conversation.pk]),
        reverse("chat_messages", args=[conversation.pk]) + "?before=2",
        f"/api/v1/conversations/{conversation.pk}/messages/",
    ]
    # The pickers' products are read once per process and catalog version (counted
    # in catalog/tests/test_picks.py); here both visits find them.
    list_picks(business=Business.objects.get(pk=business.pk))
    few = [_queries(client, url) for url in urls]
    side = Participant.objects.get(conversation=conversation, user=customer)
    Message.objects.bulk_create(
        [
            Message(
                conversation=conversation, seq=seq, sender=side, author=customer, body=f"m{seq}"
            )
            for seq in range(2, 501)
        ]
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=500)
    urls[1] = reverse("chat_messages", args=[conversation.pk]) + "?before=400"
    many = [_queries(client, url) for url in urls]
    assert many == few
    html = client.get(urls[0]).content.decode()
    assert html.count('class="msg ') == 50 and "m500" in html and "?before=451" in html


def test_chat_list_queries_do_not_grow_with_the_conversations(client, settings):
    """The customer's chat list (and the API's) cost the same for 3 and 30 chats."""
    from accounts.tests.factories import UserFactory
    from chats.services import conversations

    settings.CHAT_MESSAGES_PER_MINUTE = 10_000
    me = UserFactory()

    def chat_with(n: int) -> None:
        for _ in range(n):
            friend = UserFactory()
            conversation, _created = conversations.start_direct_conversation(user=me, peer=friend)
            say(friend, conversation, "oi")

    chat_with(3)
    client.force_login(me)
    few = _queries(client, reverse("my_chats"))
    chat_with(27)
    many = _queries(client, reverse("my_chats"))
    assert many == few
    assert client.get(reverse("my_chats")).content.decode().count('<li class="chat-row') == 30
