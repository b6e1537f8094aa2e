"""The chats panel of the signed-in home page (``accounts.home``): the user's latest
conversations with shops and friends."""

from chats import selectors

RECENT = 5


def recent_chats(request) -> dict:
    return {
        "template": "chats/_home_chats.html",
        "sides": selectors.list_my_conversations(user=request.user, limit=RECENT),
        "limit": RECENT,
    }
