"""The chat socket: one per page, ``/ws/chat/``; frames are JSON (docs/realtime.md).

A socket is an interface like a view: it authenticates, checks each
subscription with the same selectors as the pages, and turns frames into
service calls. It holds no state another process needs: what it pushes comes
from the channel layer, where services put it after their commit.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404
from django.utils import translation

from accounts.models import Membership
from accounts.selectors import get_business_for
from chats import events, selectors, services
from chats.models import Conversation
from core.errors import AppError

CATCH_UP_LIMIT = 200
CLOSE_UNAUTHENTICATED = 4401


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.language = self.user.language or settings.LANGUAGE_CODE
        self.sides: dict[int, str] = {}  # conversation id -> my side there
        self.conversation_business: dict[int, int] = {}
        self.inboxes: dict[int, Membership] = {}  # business id -> my membership
        self.groups_joined: set[str] = set()
        self.own_side = f"u{self.user.pk}"
        await self.accept()
        await self._join(events.user_group(self.user.pk))
        await database_sync_to_async(events.presence_join)(self.own_side)

    async def disconnect(self, code):
        if not getattr(self, "groups_joined", None) and not getattr(self, "own_side", None):
            return
        for group in list(self.groups_joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "own_side", None) is None:
            return
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

    async def _presence(self, group: str, side: str, online: bool) -> None:
        await self.channel_layer.group_send(
            group, {"type": "chat.presence", "side": side, "online": online}
        )

    async def _error(self, code: str, message: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    # --- Frames from the client -------------------------------------------------------

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self._error("invalid", "Frames are JSON objects.")
            return
        handler = {
            "subscribe": self.on_subscribe,
            "subscribe_inbox": self.on_subscribe_inbox,
            "send": self.on_send,
            "sync": self.on_sync,
            "typing": self.on_typing,
            "read": self.on_read,
            "delivered": self.on_delivered,
            "ping": self.on_ping,
        }.get(content.get("type"))
        if handler is None:
            await self._error("invalid", "Unknown frame type.")
            return
        try:
            with translation.override(self.language):
                await handler(content)
        except AppError as exc:
            with translation.override(self.language):
                message = str(exc.message)
            await self._error(exc.code, message, client_id=content.get("client_id"))

    async def decode_json(self, text_data):
        import json

        if len(text_data) > 20_000:
            raise AppError("Frame too large.", code="too_large")
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = await self.decode_json(text_data or "")
        except AppError as exc:
            await self._error(exc.code, str(exc.message))
            return
        await self.receive_json(content)

    async def _conversation(self, content) -> Conversation:
        try:
            return await database_sync_to_async(selectors.get_conversation_for)(
                user=self.user, conversation_id=content.get("conversation")
            )
        except Http404:
            raise AppError("Conversation not found.", code="not_found") from None

    async def on_subscribe(self, content):
        conversation = await self._conversation(content)
        side = conversation.me.side
        self.sides[conversation.pk] = side
        if conversation.business_id:
            self.conversation_business[conversation.pk] = conversation.business_id
        await self._join(events.conversation_group(conversation.pk))
        if conversation.business_id and conversation.membership is None:
            await self._join(events.business_presence_group(conversation.business_id))
        if side == self.own_side:
            await self._presence(events.conversation_group(conversation.pk), side, True)
        state = await database_sync_to_async(self._state)(conversation)
        await self.send_json({"type": "subscribed", "conversation": conversation.pk, **state})
        if "after" in content:
            await self._catch_up(conversation, content.get("after"))

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

    async def _catch_up(self, conversation, after) -> None:
        messages = await database_sync_to_async(self._messages_after)(conversation, after)
        if len(messages) > CATCH_UP_LIMIT:
            await self.send_json({"type": "reload", "conversation": conversation.pk})
            return
        for message, html in messages:
            await self.send_json(
                {
                    "type": "message",
                    "conversation": conversation.pk,
                    "message": events.message_data(message),
                    "html": html,
                }
            )

    def _messages_after(self, conversation, after):
        messages = selectors.list_messages(
            conversation=conversation,
            after=after if after is not None else 0,
            limit=CATCH_UP_LIMIT + 1,
        )
        if len(messages) > CATCH_UP_LIMIT:
            return messages
        return list(zip(messages, events.render_messages(messages, self.language), strict=True))

    async def on_sync(self, content):
        conversation = await self._conversation(content)
        await self._catch_up(conversation, content.get("after"))

    async def on_subscribe_inbox(self, content):
        slug = str(content.get("business") or "")[:60]
        try:
            business = await database_sync_to_async(get_business_for)(user=self.user, slug=slug)
        except Http404:
            raise AppError("Inbox not found.", code="not_found") from None
        if business.pk in self.inboxes:
            return
        self.inboxes[business.pk] = business.membership
        await self._join(events.inbox_group(business.pk))
        side = f"b{business.pk}"
        if await database_sync_to_async(events.presence_join)(side):
            await self._presence(events.business_presence_group(business.pk), side, True)
        await self.send_json({"type": "subscribed_inbox", "business": business.pk})

    async def on_send(self, content):
        conversation = await self._conversation(content)
        message, created = await database_sync_to_async(services.send_text)(
            actor=self.user,
            conversation=conversation,
            body=str(content.get("body") or ""),
            client_id=str(content.get("client_id") or "") or None,
        )
        await self.send_json(
            {
                "type": "ack",
                "conversation": conversation.pk,
                "client_id": message.client_id,
                "seq": message.seq,
                "created": created,
            }
        )

    async def on_typing(self, content):
        conversation_id = content.get("conversation")
        side = self.sides.get(conversation_id) if isinstance(conversation_id, int) else None
        if side is None:
            raise AppError("Subscribe to the conversation first.", code="not_subscribed")
        await self.channel_layer.group_send(
            events.conversation_group(conversation_id),
            {"type": "chat.typing", "conversation": conversation_id, "side": side},
        )

    async def on_read(self, content):
        conversation = await self._conversation(content)
        await database_sync_to_async(services.mark_read)(
            actor=self.user, conversation=conversation, seq=content.get("seq")
        )

    async def on_delivered(self, content):
        conversation = await self._conversation(content)
        await database_sync_to_async(services.mark_delivered)(
            actor=self.user, conversation=conversation, seq=content.get("seq")
        )

    async def on_ping(self, content):
        sides = [self.own_side] + [f"b{pk}" for pk in self.inboxes]
        for side in sides:
            await database_sync_to_async(events.presence_heartbeat)(side)
        await self.send_json({"type": "pong"})

    # --- Events from the channel layer ---------------------------------------------------

    async def chat_message(self, event):
        if event["conversation"] not in self.sides:
            return
        html = event["html"].get(self.language) or next(iter(event["html"].values()))
        await self.send_json(
            {
                "type": "message",
                "conversation": event["conversation"],
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

    async def inbox_update(self, event):
        membership = self.inboxes.get(event["business"])
        if membership is None:
            return
        conversation_id = event["conversation"]
        if membership.role == Membership.Role.AGENT and event["assignee"] not in (
            None,
            self.user.pk,
        ):
            # Assigned to a colleague: an agent no longer sees it, nor its thread.
            if self.sides.pop(conversation_id, None) is not None:
                group = events.conversation_group(conversation_id)
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.discard(group)
            return
        await self.send_json(
            {"type": "inbox", "business": event["business"], "conversation": conversation_id}
        )

    async def user_update(self, event):
        await self.send_json({"type": "user", "conversation": event["conversation"]})
