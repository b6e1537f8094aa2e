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

import asyncio
import contextvars
import json
import logging
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import connection
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.selectors import get_business_for
from chats import events, selectors, services
from chats.models import Conversation
from core.errors import AppError
from core.events import collect_events, group_send_all, user_group
from core.ids import MAX_ID

logger = logging.getLogger(__name__)

CATCH_UP_LIMIT = 200
SEND_BATCH = 50  # sends written in one transaction at most
MAX_MOMENT_MS = 253_402_300_799_999  # the last millisecond of the year 9999
TYPING_INTERVAL = 1.0  # seconds: at most one typing event per socket and conversation


_send_threads: ThreadPoolExecutor | None = None


def _send_to_database(fn):
    """The send queue's writers (``SendQueue``) run in threads of their own on
    PostgreSQL (each takes a pooled connection; the conversations' row locks order
    them), not in the one thread every other database call of the process waits
    for. SQLite allows one writer at a time, so there they stay on that thread.

    The threads are the process's own, at most as many as the pool has connections,
    and live as long as the process: a thread that ends while holding a pooled
    connection would take it out of the pool for good."""
    global _send_threads
    if connection.vendor != "postgresql":
        return database_sync_to_async(fn)
    if _send_threads is None:
        pool = connection.settings_dict.get("OPTIONS", {}).get("pool")
        size = pool.get("max_size", 4) if isinstance(pool, dict) else 4
        _send_threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="chat-send")
    return database_sync_to_async(fn, thread_sensitive=False, executor=_send_threads)


class ListEvents:
    """The list updates (``inbox.update``, ``user.update``) of the messages this
    process's sockets send, at most one per group every ``window`` seconds.

    A busy business's inbox group has every staff socket of the business in it, and
    every message used to reach each of them as one event, one frame and one fetch
    of the row. Here the first update of a group goes out at once, with the
    message; those that follow within the window are merged (the conversations
    that changed, each with its latest assignee) into one event sent when the
    window ends. The page then fetches those rows, which the database already
    holds: a list is at most ``window`` seconds late and never misses a change.
    Messages, receipts and access changes are never held back. One per event loop
    (that is, per server process); what it holds is lost with the process, as an
    event in flight would be (a reload shows the lists as they are).
    """

    TYPES = ("inbox.update", "user.update")

    def __init__(self, window: float) -> None:
        self.window = window
        self.open: dict[str, dict | None] = {}  # group -> merged event waiting, or None
        self.tasks: set[asyncio.Task] = set()

    def route(self, layer, events: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
        """The events to send now; list updates in an open window are kept for later."""
        now = []
        for group, event in events:
            if event["type"] not in self.TYPES or self.window <= 0:
                now.append((group, event))
            elif group in self.open:
                self.open[group] = _merge(self.open[group], event)
            else:
                self.open[group] = None
                self._close_later(layer, group)
                now.append((group, _merge(None, event)))
        return now

    def _close_later(self, layer, group: str) -> None:
        asyncio.get_running_loop().call_later(self.window, self._close, layer, group)

    def _close(self, layer, group: str) -> None:
        waiting = self.open.pop(group, None)
        if waiting is None:
            return
        self.open[group] = None  # a new window: what comes next waits for its end
        self._close_later(layer, group)
        task = asyncio.ensure_future(self._send(layer, group, waiting))
        self.tasks.add(task)  # a reference until it is done
        task.add_done_callback(self.tasks.discard)

    async def _send(self, layer, group: str, event: dict) -> None:
        try:
            await layer.group_send(group, event)
        except Exception:  # as for any event after its commit: logged, lists heal later
            logger.exception("chat list update to %s not sent", group)


def _merge(merged: dict | None, event: dict) -> dict:
    """``event`` (of one conversation, or of several in ``changes``, as a batch of
    messages makes) as a list update of one or more conversations: ``changes`` holds
    each conversation once, with its latest assignee (inbox updates)."""
    if merged is None:
        merged = {k: v for k, v in event.items() if k not in ("conversation", "assignee")}
        merged["changes"] = []
    for change in event.get("changes") or [event]:
        changes = [c for c in merged["changes"] if c["conversation"] != change["conversation"]]
        changes.append({"conversation": change["conversation"], "assignee": change.get("assignee")})
        merged["changes"] = changes
    return merged


class SendQueue:
    """The messages this process's sockets send, written in batches (group commit).

    A send waits here until a writer takes it; a writer takes every send waiting
    (up to ``limit``) and writes them in one transaction (``services.send_many``:
    a constant number of statements however many), then sends their events in one
    batch. With ``writers`` writers, a send that arrives while they are all busy
    waits for the next batch: at a low rate every batch holds one send, as before;
    under load the batches grow, and a message costs a fraction of the statements,
    round trips and commits. A socket's own sends stay in order (it waits for each
    ack before reading its next frame). One per event loop, like :class:`ListEvents`.
    """

    def __init__(self, writers: int, limit: int) -> None:
        self.writers, self.limit = writers, limit
        self.busy = 0
        self.writing: set[asyncio.Task] = set()
        self.waiting: list[tuple[services.Send, asyncio.Future]] = []

    async def send(self, layer, send: services.Send) -> tuple:
        """``(message, created)``, or the send's ``AppError`` raised."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((send, future))
        if self.busy < self.writers:
            self.busy += 1
            # A context of its own: the writer serves every socket, in no one's language.
            loop = asyncio.get_running_loop()
            task = loop.create_task(self._write(layer), context=contextvars.Context())
            self.writing.add(task)  # a reference until it is done
            task.add_done_callback(self.writing.discard)
        result = await future
        if isinstance(result, AppError):
            raise result
        return result

    async def _write(self, layer) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.limit], self.waiting[self.limit :]
                await self._write_batch(layer, batch)
        finally:
            self.busy -= 1

    async def _write_batch(self, layer, batch) -> None:
        try:
            results, pending = await _send_to_database(_send_many)([send for send, _f in batch])
        except Exception as exc:
            if len(batch) > 1:  # one by one: only the send that fails fails
                for item in batch:
                    await self._write_batch(layer, [item])
                return
            if not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for (_send, future), result in zip(batch, results, strict=True):
            if not future.done():  # its socket may have closed meanwhile
                future.set_result(result)
        try:
            await group_send_all(layer, list_events().route(layer, pending))
        except Exception:  # as for any event after its commit: logged, sockets catch up
            logger.exception("chat: the events of %d messages not sent", len(batch))


def _send_many(sends):
    with collect_events() as pending:
        results = services.send_many(sends)
    return results, pending


_send_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendQueue]" = (
    weakref.WeakKeyDictionary()
)


def send_queue() -> SendQueue:
    loop = asyncio.get_running_loop()
    if loop not in _send_queues:
        _send_queues[loop] = SendQueue(settings.CHAT_SEND_WRITERS, SEND_BATCH)
    return _send_queues[loop]


_list_events: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ListEvents]" = (
    weakref.WeakKeyDictionary()
)


def list_events() -> ListEvents:
    loop = asyncio.get_running_loop()
    if loop not in _list_events:
        _list_events[loop] = ListEvents(settings.CHAT_LIST_EVENT_WINDOW)
    return _list_events[loop]


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
        send = services.text_message(
            actor=self.user,
            conversation=Conversation(pk=conversation_id),
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
        await database_sync_to_async(services.mark_read)(
            actor=self.user, conversation=conversation, seq=seq
        )

    async def on_delivered(self, content):
        seq = _seq(content.get("seq"))
        conversation = await self._conversation(content)
        await database_sync_to_async(services.mark_delivered)(
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
        if seen is not None and seq > seen + 1:
            await self._catch_up(conversation_id, seen)  # a hole: the database has it
            return
        html = event["html"].get(self.language) or next(iter(event["html"].values()))
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
        if conversation_id not in self.sides or seen is None or event["message"]["seq"] > seen:
            return
        html = event["html"].get(self.language) or next(iter(event["html"].values()))
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
        by :class:`ListEvents`; a single one from elsewhere)."""
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
