"""Chat helpers for tests: conversations and messages made through the services."""

from accounts.models import Business, User
from accounts.tests.factories import UserFactory
from chats import services
from chats.models import Conversation


def start_chat(business: Business, customer: User | None = None, **touch) -> Conversation:
    """``customer`` (a new one by default) starts a conversation with ``business``."""
    customer = customer or UserFactory()
    conversation, _created = services.start_conversation(
        customer=customer, business=business, first_touch=touch
    )
    return conversation


def say(actor: User, conversation: Conversation, body: str = "Hello", **kwargs):
    message, _created = services.send_text(
        actor=actor, conversation=conversation, body=body, **kwargs
    )
    return message
