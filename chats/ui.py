"""What chats adds to lower apps' pages (``core.slots``, registered in
``ChatsConfig.ready``): the signed-in home page's recent chats, the shop profile's
"Chat with us", the product page's "Ask about this product", and the dashboard's
inbox entries."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav
from chats import selectors
from chats.rows import chat_rows
from core import slots

RECENT = 5


def recent_chats(context) -> dict:
    """The user's latest conversations with shops and friends."""
    return {
        "template": "chats/_home_chats.html",
        "rows": chat_rows(selectors.list_chat_rows(user=context["request"].user, limit=RECENT)),
    }


def chat_with_us(context) -> dict:
    return {"template": "chats/_profile_chat.html"}


def ask_about_product(context) -> dict:
    return {"template": "chats/_product_ask.html"}


def register() -> None:
    slots.register("home.panels", recent_chats, order=10)
    slots.register("profile.actions", chat_with_us, order=10)
    slots.register("product.actions", ask_about_product, order=10)
    register_nav(section="inbox", label=_("Inbox"), icon="inbox", order=20, url_name="inbox")
    register_nav(
        section="inbox_settings",
        label=_("Chat settings"),
        icon="message-circle",
        order=110,
        url_name="inbox_settings",
        min_role="admin",
    )
