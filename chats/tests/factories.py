"""Chat helpers for tests: conversations and messages made through the services."""

from accounts.models import Business, User
from accounts.tests.factories import UserFactory
from chats.models import Conversation
from chats.services import conversations as chat_conversations
from chats.services import messages as chat_messages


def start_chat(business: Business, customer: User | None = None, **touch) -> Conversation:
    """``customer`` (a new one by default) starts a conversation with ``business``."""
    customer = customer or UserFactory()
    conversation, _created = chat_conversations.start_conversation(
        customer=customer, business=business, first_touch=touch
    )
    return conversation


def say(actor: User, conversation: Conversation, body: str = "Hello", **kwargs):
    message, _created = chat_messages.send_text(
        actor=actor, conversation=conversation, body=body, **kwargs
    )
    return message
