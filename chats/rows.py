"""The rows of the chat lists (a user's chats, the merchant inbox) as HTML, each
drawn once per distinct content (``core.fragments``): the row templates get plain
values only, computed here."""

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from chats.models import Conversation
from chats.templatetags.chats import chat_time, message_preview
from core.fragments import render_rows

STATUS_LABELS = dict(Conversation.Status.choices)


def _moment(value) -> tuple[str, str]:
    """(the ``datetime`` attribute, the list's time stamp) of a moment."""
    if value is None:
        return "", ""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M:%S%z"), chat_time(value)


def chat_rows(rows) -> list[SafeString]:
    """The HTML of ``selectors.list_chat_rows``' rows."""
    # The thread's URL is the list's plus the id (chats/urls.py): one reverse a page.
    prefix = reverse("chat_thread", args=[0]).removesuffix("0/")
    values = []
    for row in rows:
        at, at_label = _moment(row.last_message_at)
        values.append(
            {
                "url": f"{prefix}{row.conversation_id}/",
                "name": row.name,
                "preview": message_preview(row.last_message),
                "at": at,
                "at_label": at_label,
                "unread": row.unread,
            }
        )
    return render_rows("chats/_chat_row.html", values)


def inbox_rows(rows, *, slug: str, query: str = "", current=None) -> list[SafeString]:
    """The rows of ``selectors.list_inbox_rows``, ``current`` (a conversation id) marked."""
    # The thread's URL is the inbox's plus the id (chats/urls.py): one reverse a page.
    prefix = reverse("inbox", args=[slug])
    suffix = f"?{query}" if query else ""
    values = []
    for row in rows:
        at, at_label = _moment(row.last_message_at)
        values.append(
            {
                "pk": row.pk,
                "url": f"{prefix}{row.pk}/{suffix}",
                "current": str(row.pk) == str(current or ""),
                "name": row.name,
                "at": at,
                "at_label": at_label,
                "preview": message_preview(row.last_message),
                "unread": row.unread,
                "status": row.status,
                "status_label": str(STATUS_LABELS.get(row.status, row.status)),
                "labels": row.labels,
                "assignee": row.assignee,
            }
        )
    return render_rows("chats/_inbox_row.html", values)
