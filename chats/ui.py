"""What chats adds to lower apps' pages (``core.slots``, registered in
``ChatsConfig.ready``): the signed-in home page's recent chats."""

from chats import selectors
from core import slots

RECENT = 5


def recent_chats(context) -> dict:
    """The user's latest conversations with shops and friends."""
    return {
        "template": "chats/_home_chats.html",
        "sides": selectors.list_my_conversations(user=context["request"].user, limit=RECENT),
    }


def register() -> None:
    slots.register("home.panels", recent_chats, order=10)
