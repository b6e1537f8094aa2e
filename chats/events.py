"""What chats pushes to the sockets, to which groups, and presence.

Groups (see docs/realtime.md):

- ``conv.<id>``: everyone with the conversation open: messages, receipts, typing,
  presence of the other side, and its assignee (an agent's socket leaves the
  thread once a colleague has it).
- ``inbox.<business id>``: the business's staff with the inbox open: a
  conversation changed (new message, status, assignment, labels), so its row
  moves to the top with its unread badge. Each consumer drops events for
  conversations its user may not see (agents: others' assignments).
- ``chatlist.<user id>``: one user's pages that show their chat list: a
  conversation of theirs changed. (Every socket of the user is in ``user.<id>``,
  for ``access.changed``; a thread page has no list to update.)
- ``presence.b<business id>``: customers chatting with the business, told when
  its staff come online or go away.

Every send happens after the commit, through :func:`core.events.send_event_on_commit`.
Messages travel pre-rendered (in each language of the people who may open the
thread, :func:`render_pushed`) so that 500 sockets do not render the same message
500 times; the HTML is the same for both sides, and
CSS places "mine" and "theirs" by the ``data-side`` attribute. New messages are
rendered after their commit, outside the conversations' row locks
(:func:`push_messages`).
"""

import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.utils import dateformat, formats, timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from chats import kinds
from chats.models import Participant
from chats.selectors import list_viewer_languages
from core.events import prepare_on_commit, send_event_on_commit
from core.fragments import render_keyed, row_key

logger = logging.getLogger(__name__)

PRESENCE_TTL = 75  # seconds; clients send a heartbeat every 30 s


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def inbox_group(business_id: int) -> str:
    return f"inbox.{business_id}"


def business_presence_group(business_id: int) -> str:
    return f"presence.b{business_id}"


def render_messages(messages, language: str | None = None, *, me=None, other=None) -> list[str]:
    """The HTML of each message (kinds prefetched in bulk), in ``language``.

    With ``me`` and ``other`` (participants), the viewer's own messages are marked
    ``mine`` with their sent/delivered/read state, as the script does for pushed ones.
    """
    return _render(kinds.prefetch(messages), language, me=me, other=other)


def _render(
    messages: list, language: str | None, *, me=None, other=None, time_text: str = ""
) -> list[str]:
    """``chats/_message.html`` for each message: drawn without the viewer (what a
    pushed message carries), once per process for a message whose kind says what its
    rendering depends on (``MessageKind.render_key``), then the viewer's part
    (``mine``, the sent/delivered/read state) filled in."""
    with translation.override(language or translation.get_language()):
        zone = timezone.get_current_timezone_name()
        drawn = render_keyed(
            "chats/_message.html",
            [
                (
                    _render_key(m, zone) if not time_text else None,
                    {
                        "message": m,
                        "kind_template": kinds.get(m.kind).template,
                        "mine_class": _MINE,
                        "status": _STATUS,
                        "status_text": _STATUS_TEXT,
                        "time_text": time_text,
                    },
                )
                for m in messages
            ],
        )
        texts = {
            "read": escape(gettext("Read")),
            "delivered": escape(gettext("Delivered")),
            "sent": escape(gettext("Sent")),
        }
    html = []
    for message, bubble in zip(messages, drawn, strict=True):
        mine = me is not None and message.sender_id == me.pk
        status = _status(message, other)
        bubble = bubble.replace(_MINE, " mine" if mine else "", 1)
        bubble = bubble.replace(_STATUS, status, 1)
        bubble = bubble.replace(_STATUS_TEXT, texts.get(status, texts["sent"]) if mine else "", 1)
        html.append(mark_safe(bubble))  # noqa: S308 - our template's output, plain words
    return html


# Stand for the viewer's part of a message in its viewer-independent rendering;
# random, so no message text can contain them.
_MINE, _STATUS, _STATUS_TEXT = (
    f"\x00{name}-{secrets.token_hex(8)}\x00" for name in ("mine", "status", "status-text")
)


def _render_key(message, zone: str) -> tuple | None:
    """What a message's viewer-independent HTML depends on: every column of its row
    (its sender's side follows from ``sender_id``), the time zone its time is shown
    in, and what its kind reads besides (``MessageKind.render_key``); None when the
    kind does not say, so it is drawn every time."""
    kind = kinds.get(message.kind)
    if kind.render_key is None:
        return None
    depends = kind.render_key(message)
    if depends is None:
        return None
    return (row_key(message), zone, kind.name, depends)


# Stands for the message's time in the one rendering of a message whose kind renders
# the same in every language; random, so no message text can contain it.
_TIME_MARK = f"\x00time-{secrets.token_hex(8)}\x00"


def render_pushed(messages, *, for_viewers: bool = False) -> list[dict[str, str]]:
    """``{language code: HTML}`` of each message for every site language, as
    :func:`_render` makes it without a viewer (what a pushed message carries).

    A message whose kind renders the same in every language
    (``MessageKind.same_in_every_language``) is rendered once, with a mark where its
    time goes, and each language gets it with its own time format: nothing else in
    ``chats/_message.html`` differs between languages for it. The others are rendered
    once per language. (``chats/tests/test_render_pushed.py`` compares the two.)

    ``for_viewers``: the others only in the languages of the people who may open
    their threads (:func:`chats.selectors.list_viewer_languages`, one statement),
    usually one or two of the site's four; a socket whose language is missing reads
    the message from the database and renders it itself (``ChatConsumer``)."""
    messages = kinds.prefetch(messages)
    codes = [code for code, _name in settings.LANGUAGES]
    html: list[dict[str, str] | None] = [None] * len(messages)
    per_language = []
    for i, message in enumerate(messages):
        if not kinds.get(message.kind).same_in_every_language:
            per_language.append(i)
            continue
        [marked] = _render([message], codes[0], time_text=_TIME_MARK)
        times = _time_texts(message, codes)
        html[i] = {code: marked.replace(_TIME_MARK, times[code]) for code in codes}
    if per_language:
        chosen = [messages[i] for i in per_language]
        if for_viewers:
            codes = list_viewer_languages({m.conversation_id for m in chosen}) or codes[:1]
        rendered = {code: _render(chosen, code) for code in codes}
        for j, i in enumerate(per_language):
            html[i] = {code: rendered[code][j] for code in codes}
    return html  # type: ignore[return-value]


# Format characters whose output is translated (a.m., noon, month and day names).
_TRANSLATED = frozenset("aAPbDEFlMN")


def _time_texts(message, languages: list[str]) -> dict[str, str]:
    """``{{ message.created_at|time }}`` in each of ``languages``, escaped as the
    template does; computed once for languages with the same untranslated format."""
    moment = timezone.template_localtime(message.created_at)
    texts: dict[str, str] = {}
    by_format: dict[str, str] = {}
    for language in languages:
        time_format = formats.get_format("TIME_FORMAT", lang=language)
        key = language if _TRANSLATED.intersection(time_format) else time_format
        if key not in by_format:
            with translation.override(language):
                by_format[key] = escape(dateformat.time_format(moment, time_format))
        texts[language] = by_format[key]
    return texts


def _status(message, other) -> str:
    if other is None:
        return ""
    if message.seq <= other.last_read_seq:
        return "read"
    if message.seq <= other.last_delivered_seq:
        return "delivered"
    return "sent"


def message_data(message) -> dict:
    return {
        "id": message.pk,
        "seq": message.seq,
        "kind": message.kind,
        "side": message.sender.side if message.sender_id else "system",
        "author": message.author_id,
        "client_id": message.client_id,
        "created_at": message.created_at.isoformat(),
    }


def push_message(conversation, message, participants=None) -> None:
    """Queue the new message for its conversation and the lists that show it (both
    sides' chat lists: the sender's other tabs re-order theirs too)."""
    push_messages([(conversation, message, participants)])


def push_messages(items) -> None:
    """:func:`push_message` for many ``(conversation, message, participants)``.

    Their HTML is rendered after the commit, before their events go out
    (:func:`core.events.prepare_on_commit`): not while the transaction holds the
    conversations' row locks, which every other message of those conversations waits
    for. What their kinds need is read once for all of them (:func:`render_pushed`).
    If rendering fails, the events go out without HTML and each socket reads the
    messages from the database instead (``ChatConsumer.chat_message``)."""
    items = list(items)
    pushed = [
        {
            "type": "chat.message",
            "conversation": conversation.pk,
            "message": message_data(message),
            "html": {},
        }
        for conversation, message, _participants in items
    ]

    def render() -> None:
        try:
            rendered = render_pushed([message for _c, message, _p in items], for_viewers=True)
        except Exception:
            logger.exception("chat: %d messages not rendered; sockets read them", len(items))
            return
        for event, html in zip(pushed, rendered, strict=True):
            event["html"] = html

    prepare_on_commit(render)
    for (conversation, _message, _participants), event in zip(items, pushed, strict=True):
        send_event_on_commit(conversation_group(conversation.pk), event)
    _push_many_lists([(conversation, participants) for conversation, _m, participants in items])


def push_message_update(conversation, message) -> None:
    """Queue a changed message (a payment request's card after its order's status
    changed) for the open threads, which replace it in place by its ``seq``; in the
    languages of those who may open the thread (:func:`render_pushed`)."""
    [html] = render_pushed([message], for_viewers=True)
    send_event_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "chat.message_updated",
            "conversation": conversation.pk,
            "message": message_data(message),
            "html": html,
        },
    )


def push_receipt(conversation, participant) -> None:
    send_event_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "chat.receipt",
            "conversation": conversation.pk,
            "side": participant.side,
            "read": participant.last_read_seq,
            "delivered": participant.last_delivered_seq,
        },
    )
    _push_lists(conversation)


def push_inbox_update(conversation) -> None:
    """The conversation changed (status, assignment, labels, block): its lists and
    its open threads, where an agent loses a colleague's conversation."""
    send_event_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "chat.access",
            "conversation": conversation.pk,
            "assignee": conversation.assignee_id,
        },
    )
    _push_lists(conversation)


def chat_list_group(user_id: int) -> str:
    return f"chatlist.{user_id}"


def _push_lists(conversation, participants=None) -> None:
    _push_many_lists([(conversation, participants)])


def _push_many_lists(items) -> None:
    """Tell the lists showing these ``(conversation, participants)`` that they changed:
    one ``inbox.update`` per business and one ``user.update`` per user, naming each of
    their conversations once (``changes``, as the consumers' ``ListEvents`` merge
    them, when there are several), so a batch of messages (a broadcast's) costs an
    open inbox one update, not one per conversation."""
    inboxes: dict[int, dict[int, int | None]] = {}
    users: dict[int, list[int]] = {}
    for conversation, participants in items:
        if conversation.business_id:
            inboxes.setdefault(conversation.business_id, {})[conversation.pk] = (
                conversation.assignee_id
            )
        if participants is None:
            participants = Participant.objects.filter(conversation_id=conversation.pk)
        for participant in participants:
            if participant.user_id and conversation.pk not in users.get(participant.user_id, ()):
                users.setdefault(participant.user_id, []).append(conversation.pk)
    for business_id, changed in inboxes.items():
        changes = [{"conversation": c, "assignee": a} for c, a in changed.items()]
        event = {"type": "inbox.update", "business": business_id}
        send_event_on_commit(inbox_group(business_id), _list_event(event, changes))
    for user_id, conversation_ids in users.items():
        changes = [{"conversation": c} for c in conversation_ids]
        send_event_on_commit(
            chat_list_group(user_id), _list_event({"type": "user.update"}, changes)
        )


def _list_event(event: dict, changes: list[dict]) -> dict:
    return {**event, **changes[0]} if len(changes) == 1 else {**event, "changes": changes}


# --- Presence -------------------------------------------------------------------------
# A counter per user (open sockets) and per business (staff sockets on the inbox),
# in the shared cache with a TTL that heartbeats renew, so a crashed server's
# sockets stop counting within PRESENCE_TTL.


def _presence_key(side: str) -> str:
    return f"presence:{side}"


def presence_join(side: str) -> bool:
    """Count one more socket for ``side``; True if it just came online."""
    key = _presence_key(side)
    if cache.add(key, 1, timeout=PRESENCE_TTL):
        return True
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=PRESENCE_TTL)
        return True
    cache.touch(key, PRESENCE_TTL)
    return count == 1


def presence_leave(side: str) -> bool:
    """Count one socket fewer; True if ``side`` just went offline."""
    key = _presence_key(side)
    try:
        count = cache.decr(key)
    except ValueError:
        return True
    if count <= 0:
        cache.delete(key)
        return True
    return False


def presence_heartbeat(side: str) -> None:
    if not cache.touch(_presence_key(side), PRESENCE_TTL):
        cache.add(_presence_key(side), 1, timeout=PRESENCE_TTL)


def is_online(user_id: int) -> bool:
    return bool(cache.get(_presence_key(f"u{user_id}")))


def is_side_online(side: str) -> bool:
    return bool(cache.get(_presence_key(side)))
