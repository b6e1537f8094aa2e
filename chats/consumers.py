"""The chat socket: one per page, ``/ws/chat/``; frames are JSON (docs/realtime.md).

A socket is an interface like a view: it authenticates, checks each
subscription with the same selectors as the pages, and turns frames into
service calls. It holds no state another process needs: what it pushes comes
from the channel layer, where services put it after their commit.

Messages reach a socket in ``seq`` order, each once: the socket remembers the
last ``seq`` it sent for each conversation, drops an event it already sent (a
catch-up read and a live event can carry the same message), and fills a hole
(a lost or overtaken event) from the database, where every message whose event
was sent is already committed.
"""

import json
import logging
import time
from datetime import UTC, datetime

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.selectors import get_business_for
from chats import events, selectors
from chats.models import Conversation
from chats.send_queue import send_queue
from chats.services import messages as chat_messages
from chats.services import receipts as chat_receipts
from core.errors import AppError
from core.events import user_group
from core.ids import MAX_ID

logger = logging.getLogger(__name__)

CATCH_UP_LIMIT = 200
MAX_MOMENT_MS = 253_402_300_799_999  # the last millisecond of the year 9999
TYPING_INTERVAL = 1.0  # seconds: at most one typing event per socket and conversation


CLOSE_UNAUTHENTICATED = 4401
# Big enough for the longest message even when each of its characters arrives as
# JSON escapes (an emoji is two \uXXXX, 12 characters); larger frames are refused.
MAX_FRAME = 64 * 1024
AGENT = Membership.Role.AGENT


def _whole(value, low: int, high: int) -> bool:
    """Whether a frame's field is a whole number from ``low`` to ``high`` (JSON's true
    and false are not numbers here)."""
    return type(value) is int and low <= value <= high


def _seq(value, *, default: int | None = None) -> int:
    """A message number from a frame (a non-negative integer), or an ``invalid`` error."""
    if value is None and default is not None:
        return default
    if _whole(value, 0, MAX_ID):
        return value
    raise AppError(_("Invalid message number."), code="invalid", field="seq")


def _since(content: dict) -> datetime | None:
    """The moment a list page was read (``since``, milliseconds since the epoch, as the
    page carries it), or None when the frame has none; an ``invalid`` error if it is
    not such a number."""
    value = content.get("since")
    if value is None:
        return None
    if _whole(value, 1, MAX_MOMENT_MS):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    raise AppError(
        _("Invalid frame: %(field)s must be a moment.") % {"field": "since"}, code="invalid"
    )


def _text(content: dict, key: str) -> str:
    """A string field of a frame ("" when absent), or an ``invalid`` error."""
    value = content.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AppError(_("Invalid frame: %(field)s must be text.") % {"field": key}, code="invalid")
    return value


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message):
        """Channels' own ``dispatch`` first runs ``close_old_connections`` in the sync
        thread for every frame and every group event: a thread round trip per
        delivered message, queued behind whatever that thread is doing. Every
        database call here goes through ``database_sync_to_async``, which does that
        itself in the thread it runs in, before and after; events that touch no
        database (nearly all) go straight to their handler."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.language = self.user.language or settings.LANGUAGE_CODE
        self.sides: dict[int, str] = {}  # conversation id -> my side there
        self.typing_sent: dict[int, float] = {}  # conversation id -> when (monotonic)
        self.staff_roles: dict[int, str] = {}  # conversation id -> my role, on the business side
        self.seen: dict[int, int] = {}  # conversation id -> last seq this socket sent
        # conversation id -> a bare Conversation(pk=…) to send in (one per subscription,
        # not one model instance per send: the send queue reads it under the lock).
        self.bare: dict[int, Conversation] = {}
        self.inboxes: dict[int, Membership] = {}  # business id -> my membership
        self.groups_joined: set[str] = set()
        self.own_side = f"u{self.user.pk}"
        await self.accept()
        await self._join(user_group(self.user.pk))
        await database_sync_to_async(events.presence_join)(self.own_side)

    async def disconnect(self, code):
        if getattr(self, "own_side", None) is None:  # refused in connect()
            return
        for group in list(self.groups_joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        if await database_sync_to_async(events.presence_leave)(self.own_side):
            for conversation_id, side in self.sides.items():
                if side == self.own_side:
                    await self._presence(events.conversation_group(conversation_id), side, False)
        for business_id in self.inboxes:
            side = f"b{business_id}"
            if await database_sync_to_async(events.presence_leave)(side):
                await self._presence(events.business_presence_group(business_id), side, False)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def _leave_conversation(self, conversation_id: int) -> None:
        """Stop the conversation's events (the user may no longer see it)."""
        self.sides.pop(conversation_id, None)
        self.bare.pop(conversation_id, None)
        self.staff_roles.pop(conversation_id, None)
        self.seen.pop(conversation_id, None)
        group = events.conversation_group(conversation_id)
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)

    async def _presence(self, group: str, side: str, online: bool) -> None:
        await self.channel_layer.group_send(
            group, {"type": "chat.presence", "side": side, "online": online}
        )

    async def _error(self, code: str, message: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    # --- Frames from the client -------------------------------------------------------

    async def receive_json(self, content, **kwargs):
        with translation.override(self.language):
            if not isinstance(content, dict) or not isinstance(content.get("type"), str):
                await self._error("invalid", _("Frames are JSON objects with a type."))
                return
            handler = {
                "subscribe": self.on_subscribe,
                "subscribe_inbox": self.on_subscribe_inbox,
                "subscribe_list": self.on_subscribe_list,
                "send": self.on_send,
                "sync": self.on_sync,
                "typing": self.on_typing,
                "read": self.on_read,
                "delivered": self.on_delivered,
                "ping": self.on_ping,
            }.get(content["type"])
            if handler is None:
                await self._error("invalid", _("Unknown frame type."))
                return
            try:
                await handler(content)
            except AppError as exc:
                client_id = content.get("client_id")
                await self._error(
                    exc.code,
                    str(exc.message),
                    client_id=client_id if isinstance(client_id, str) else None,
                )

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is not None and len(text_data) > MAX_FRAME:
            with translation.override(self.language):
                await self._error("too_large", _("Frame too large."))
            return
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None
        await self.receive_json(content)

    async def _conversation(self, content) -> Conversation:
        try:
            return await database_sync_to_async(selectors.get_conversation_for)(
                user=self.user, conversation_id=content.get("conversation")
            )
        except Http404:
            raise AppError(_("Conversation not found."), code="not_found") from None

    async def on_subscribe(self, content):
        after = _seq(content.get("after"), default=0) if "after" in content else None
        conversation = await self._conversation(content)
        side = conversation.me.side
        self.sides[conversation.pk] = side
        self.bare[conversation.pk] = Conversation(pk=conversation.pk)
        if conversation.membership is not None:
            self.staff_roles[conversation.pk] = conversation.membership.role
        else:
            self.staff_roles.pop(conversation.pk, None)
        # Joined before the messages are read, so none falls between the two; one
        # in both is sent once (see chat_message).
        await self._join(events.conversation_group(conversation.pk))
        if conversation.business_id and conversation.membership is None:
            await self._join(events.business_presence_group(conversation.business_id))
        if side == self.own_side:
            await self._presence(events.conversation_group(conversation.pk), side, True)
        state = await database_sync_to_async(self._state)(conversation)
        await self.send_json({"type": "subscribed", "conversation": conversation.pk, **state})
        # Without ``after`` the page holds the messages up to last_seq (or syncs).
        self.seen[conversation.pk] = conversation.last_seq
        if after is not None:
            self.seen[conversation.pk] = min(after, conversation.last_seq)
            await self._catch_up(conversation.pk, after)

    def _state(self, conversation) -> dict:
        other = selectors.get_other_side(conversation)
        return {
            "side": conversation.me.side,
            "last_seq": conversation.last_seq,
            "other": {
                "side": other.side,
                "read": other.last_read_seq,
                "delivered": other.last_delivered_seq,
                "online": events.is_side_online(other.side),
            },
        }

    async def _catch_up(self, conversation_id: int, after: int) -> None:
        """Send the messages after ``after``, in order (or ``reload`` if too many)."""
        messages = await database_sync_to_async(self._messages_after)(conversation_id, after)
        if messages is None:
            self.seen.pop(conversation_id, None)
            await self.send_json({"type": "reload", "conversation": conversation_id})
            return
        for message, html in messages:
            await self.send_json(
                {
                    "type": "message",
                    "conversation": conversation_id,
                    "message": events.message_data(message),
                    "html": html,
                }
            )
            if conversation_id in self.sides:
                self.seen[conversation_id] = max(self.seen.get(conversation_id, 0), message.seq)

    def _messages_after(self, conversation_id: int, after: int):
        messages = selectors.list_messages(
            conversation=conversation_id, after=after, limit=CATCH_UP_LIMIT + 1
        )
        if len(messages) > CATCH_UP_LIMIT:
            return None
        return list(zip(messages, events.render_messages(messages, self.language), strict=True))

    def _message_html(self, conversation_id: int, seq: int) -> str | None:
        messages = selectors.list_messages(conversation=conversation_id, after=seq - 1, limit=1)
        if not messages or messages[0].seq != seq:
            return None
        return events.render_messages(messages, self.language)[0]

    async def on_sync(self, content):
        after = _seq(content.get("after"), default=0)
        conversation = await self._conversation(content)
        await self._catch_up(conversation.pk, after)

    async def on_subscribe_inbox(self, content):
        slug = _text(content, "business")[:60]
        try:
            business = await database_sync_to_async(get_business_for)(user=self.user, slug=slug)
        except Http404:
            raise AppError(_("Inbox not found."), code="not_found") from None
        if business.pk not in self.inboxes:
            self.inboxes[business.pk] = business.membership
            await self._join(events.inbox_group(business.pk))
            side = f"b{business.pk}"
            if await database_sync_to_async(events.presence_join)(side):
                await self._presence(events.business_presence_group(business.pk), side, True)
        stale = await self._list_stale(content, business)
        await self.send_json({"type": "subscribed_inbox", "business": business.pk, "stale": stale})

    async def on_subscribe_list(self, content):
        """The page shows the user's chat list, whose rows move with every message of
        theirs: only such pages get ``user`` frames."""
        await self._join(events.chat_list_group(self.user.pk))
        stale = await self._list_stale(content, None)
        await self.send_json({"type": "subscribed_list", "stale": stale})

    async def _list_stale(self, content, business) -> bool:
        """Whether the list the page shows (read at the frame's ``since``) may miss
        what moved before this socket joined its group: the page then reads it again.
        Asked after joining, so nothing falls between the two."""
        since = _since(content)
        if since is None:
            return False
        membership = business.membership if business is not None else None
        return await database_sync_to_async(selectors.lists_changed_since)(
            since=since, user=self.user, business=business, membership=membership
        )

    async def on_send(self, content):
        conversation_id = content.get("conversation")
        if not _whole(conversation_id, 1, MAX_ID):
            raise AppError(_("Conversation not found."), code="not_found")
        send = chat_messages.text_message(
            actor=self.user,
            conversation=self.bare.get(conversation_id) or Conversation(pk=conversation_id),
            body=_text(content, "body"),
            client_id=_text(content, "client_id") or None,
        )
        # The service locks the conversation and checks, under the lock, that this
        # user may write there (the same rule as the pages).
        message, created = await send_queue().send(self.channel_layer, send)
        await self.send_json(
            {
                "type": "ack",
                "conversation": conversation_id,
                "client_id": message.client_id,
                "seq": message.seq,
                "created": created,
            }
        )

    async def on_typing(self, content):
        conversation_id = content.get("conversation")
        side = self.sides.get(conversation_id) if type(conversation_id) is int else None
        if side is None:
            raise AppError(_("Subscribe to the conversation first."), code="not_subscribed")
        # The page sends one every 3 s while typing; a flood is dropped, not relayed.
        now = time.monotonic()
        if now - self.typing_sent.get(conversation_id, 0.0) < TYPING_INTERVAL:
            return
        self.typing_sent[conversation_id] = now
        await self.channel_layer.group_send(
            events.conversation_group(conversation_id),
            {"type": "chat.typing", "conversation": conversation_id, "side": side},
        )

    async def on_read(self, content):
        seq = _seq(content["seq"]) if content.get("seq") is not None else None
        conversation = await self._conversation(content)
        await database_sync_to_async(chat_receipts.mark_read)(
            actor=self.user, conversation=conversation, seq=seq
        )

    async def on_delivered(self, content):
        seq = _seq(content.get("seq"))
        conversation = await self._conversation(content)
        await database_sync_to_async(chat_receipts.mark_delivered)(
            actor=self.user, conversation=conversation, seq=seq
        )

    async def on_ping(self, content):
        sides = [self.own_side] + [f"b{pk}" for pk in self.inboxes]
        for side in sides:
            await database_sync_to_async(events.presence_heartbeat)(side)
        await self.send_json({"type": "pong"})

    # --- Events from the channel layer ---------------------------------------------------

    async def chat_message(self, event):
        conversation_id = event["conversation"]
        if conversation_id not in self.sides:
            return
        seq, seen = event["message"]["seq"], self.seen.get(conversation_id)
        if seen is not None and seq <= seen:
            return  # already sent by a catch-up
        html = event["html"].get(self.language)
        if seen is not None and (seq > seen + 1 or html is None):
            # A hole (a lost or overtaken event), or a message not rendered in this
            # socket's language (its rendering failed after the commit, or the language
            # is not one its viewers had, events.render_pushed): the database has it.
            await self._catch_up(conversation_id, seen)
            return
        if html is None:
            return  # the page is reloading (told by a catch-up): it reads the messages
        await self.send_json(
            {
                "type": "message",
                "conversation": conversation_id,
                "message": event["message"],
                "html": html,
            }
        )
        self.seen[conversation_id] = seq

    async def chat_message_updated(self, event):
        """A message this socket already sent changed (e.g. a payment request's status).
        One it has not sent yet arrives fresh from the database with the catch-up."""
        conversation_id = event["conversation"]
        seen = self.seen.get(conversation_id)
        seq = event["message"]["seq"]
        if conversation_id not in self.sides or seen is None or seq > seen:
            return
        html = event["html"].get(self.language)
        if html is None:  # not rendered in this socket's language: read it
            html = await database_sync_to_async(self._message_html)(conversation_id, seq)
            if html is None:
                return
        await self.send_json(
            {
                "type": "message_updated",
                "conversation": conversation_id,
                "message": event["message"],
                "html": html,
            }
        )

    async def chat_receipt(self, event):
        if event["conversation"] in self.sides:
            await self.send_json({**event, "type": "receipt"})

    async def chat_typing(self, event):
        if self.sides.get(event["conversation"]) not in (None, event["side"]):
            await self.send_json({**event, "type": "typing"})

    async def chat_presence(self, event):
        if event["side"] not in (self.own_side, *(f"b{pk}" for pk in self.inboxes)):
            await self.send_json({**event, "type": "presence"})

    async def chat_access(self, event):
        """The conversation's assignee changed: an agent loses a colleague's thread."""
        conversation_id = event["conversation"]
        if self.staff_roles.get(conversation_id) == AGENT and event["assignee"] not in (
            None,
            self.user.pk,
        ):
            await self._leave_conversation(conversation_id)

    async def access_changed(self, event):
        """The user's membership of a business was removed or its role changed: drop
        that business's inbox and every conversation this socket follows as its staff,
        then have the page reload, which subscribes again under the new rights (or
        shows "not found")."""
        business_id = event["business"]
        side = f"b{business_id}"
        dropped = [pk for pk, mine in self.sides.items() if mine == side]
        for conversation_id in dropped:
            await self._leave_conversation(conversation_id)
        if self.inboxes.pop(business_id, None) is not None:
            group = events.inbox_group(business_id)
            if group in self.groups_joined:
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.discard(group)
            if await database_sync_to_async(events.presence_leave)(side):
                await self._presence(events.business_presence_group(business_id), side, False)
            dropped.append(None)
        if dropped:
            await self.send_json({"type": "reload", "business": business_id})

    async def inbox_update(self, event):
        """One or more of the business's conversations changed (``changes``: merged
        by :class:`chats.send_queue.ListEvents`; a single one from elsewhere)."""
        membership = self.inboxes.get(event["business"])
        if membership is None:
            return
        changes = event.get("changes") or [event]
        if membership.role == AGENT:  # not a colleague's conversations
            changes = [c for c in changes if c["assignee"] in (None, self.user.pk)]
        if changes:
            await self.send_json(
                {
                    "type": "inbox",
                    "business": event["business"],
                    "conversations": [c["conversation"] for c in changes],
                }
            )

    async def user_update(self, event):
        changes = event.get("changes") or [event]
        await self.send_json(
            {"type": "user", "conversations": [c["conversation"] for c in changes]}
        )
