"""The chat socket, end to end through ``config.asgi.application``.

Each test opens real sockets (origin check, session authentication, the URL
router) with a session cookie from Django's test client, and runs twice: on the
in-memory channel layer and on Redis (``needs_redis``), with a key prefix of its
own so parallel runs sharing a Redis never see each other's groups or counters.
Events are sent after the commit, so the database is used without a wrapping
transaction.
"""

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from accounts import services as account_services
from accounts.tests.factories import UserFactory
from chats import consumers, events
from chats.models import Conversation, Message
from chats.services import inbox as chat_inbox
from chats.services import messages as chat_messages
from chats.tests.factories import say, start_chat

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# The site's own origin (scheme, host and port: core.origins), and the host it serves.
ORIGIN = django_settings.SITE_URL.encode()
HOST = ORIGIN.split(b"://", 1)[1]
QUIET = 0.3  # seconds of silence that mean "nothing more is coming"
WAIT = 5  # seconds to wait for a frame that must come


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.needs_redis)])
def channel_layer(request, settings, _service_markers):
    """The in-memory layer, then Redis (the project's layer, core.channel_layer); a
    fresh layer (and cache prefix) per test."""
    prefix = f"{settings.REDIS_KEY_PREFIX}-ws-{uuid.uuid4().hex[:12]}"
    if request.param in ("redis", "pubsub"):
        backend = (
            "core.channel_layer.RedisChannelLayer"
            if request.param == "redis"
            else "channels_redis.pubsub.RedisPubSubChannelLayer"
        )
        host = {"address": settings.REDIS_URL, "socket_timeout": 15}
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": backend, "CONFIG": {"hosts": [host], "prefix": prefix}}
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    cache = settings.CACHES["default"]
    if "redis" in cache["BACKEND"]:
        # Rate limits and presence are counted in the cache; a run's own prefix keeps
        # the previous run (the same user ids on a re-created test database) apart.
        settings.CACHES = {**settings.CACHES, "default": {**cache, "KEY_PREFIX": prefix}}
    return request.param


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


Opener = Callable[..., Awaitable[WebsocketCommunicator]]


@pytest_asyncio.fixture
async def open_socket(channel_layer):
    """``await open_socket(user)``: a connected socket, closed after the test."""
    from config.asgi import application

    opened: list[WebsocketCommunicator] = []

    async def open_(user=None, *, origin: bytes = ORIGIN, expect_connected: bool = True):
        headers = [(b"origin", origin), (b"host", HOST)]
        if user is not None:
            headers.append((b"cookie", await database_sync_to_async(_session_cookie)(user)))
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        connected, code = await socket.connect(timeout=WAIT)
        socket.close_code = code
        if connected:
            opened.append(socket)
        assert connected is expect_connected, code
        return socket

    yield open_
    for socket in opened:
        await socket.disconnect(timeout=WAIT)
    layer = get_channel_layer()
    if channel_layer == "redis":
        await layer.flush()
        await layer.close_pools()


# --- Helpers ------------------------------------------------------------------------


async def recv(socket, kind: str | None = None) -> dict:
    frame = await socket.receive_json_from(timeout=WAIT)
    if kind is not None:
        assert frame["type"] == kind, frame
    return frame


async def drain(socket) -> list[dict]:
    """Every frame until the socket has been quiet for QUIET seconds."""
    frames = []
    while not await socket.receive_nothing(timeout=QUIET):
        frames.append(await socket.receive_json_from(timeout=WAIT))
    return frames


async def messages_until(socket, count: int) -> list[dict]:
    """The ``message`` frames until ``count`` of them came (each within WAIT seconds),
    then whatever else follows within QUIET: on a busy machine a reply may come after a
    QUIET silence, which :func:`drain` would take for the end."""
    frames = []
    while len(of_type(frames, "message")) < count:
        frames.append(await socket.receive_json_from(timeout=WAIT))
    return of_type(frames + await drain(socket), "message")


def of_type(frames: list[dict], kind: str) -> list[dict]:
    return [f for f in frames if f["type"] == kind]


async def subscribe(socket, conversation, **extra) -> dict:
    await socket.send_json_to({"type": "subscribe", "conversation": conversation.pk, **extra})
    return await recv(socket, "subscribed")


async def subscribe_inbox(socket, business) -> dict:
    await socket.send_json_to({"type": "subscribe_inbox", "business": business.slug})
    return await recv(socket, "subscribed_inbox")


async def send(socket, conversation, body, client_id=None) -> None:
    await socket.send_json_to(
        {
            "type": "send",
            "conversation": conversation.pk,
            "body": body,
            "client_id": client_id or uuid.uuid4().hex,
        }
    )


async def run(fn, *args, **kwargs):
    """A service (or any database code) from the test's event loop."""
    return await database_sync_to_async(fn)(*args, **kwargs)


async def count_messages(conversation=None) -> int:
    qs = Message.objects.all()
    if conversation is not None:
        qs = qs.filter(conversation=conversation)
    return await qs.acount()


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", display_name="Carla")


@pytest.fixture
def conversation(business, customer):
    return start_chat(business, customer)


# --- Authentication and origin ------------------------------------------------------


async def test_anonymous_socket_is_closed(open_socket):
    socket = await open_socket(None, expect_connected=False)
    assert socket.close_code == 4401


async def test_socket_from_a_foreign_origin_is_refused(open_socket, customer):
    await open_socket(customer, origin=b"https://evil.example", expect_connected=False)
    await open_socket(customer, origin=b"http://localhost.evil.example", expect_connected=False)
    # The site's host on another port or scheme is another origin (another server,
    # or the same page without TLS): refused too.
    scheme, _sep, netloc = django_settings.SITE_URL.partition("://")
    host = netloc.rsplit(":", 1)[0]
    for other in (f"{scheme}://{host}:1", f"{'http' if scheme == 'https' else 'https'}://{netloc}"):
        await open_socket(customer, origin=other.encode(), expect_connected=False)


# --- Permissions --------------------------------------------------------------------


async def test_subscribing_to_another_users_conversation_is_not_found(
    open_socket, conversation, customer, outsider, other
):
    # given a conversation between Carla and the bakery
    await run(say, customer, conversation, "first")
    intruders = [await open_socket(user) for user in (outsider, other.owner, other.agent)]
    for socket in intruders:
        # when someone else subscribes to it (or to ids that are not theirs)
        for conversation_id in (conversation.pk, conversation.pk + 1000, "x", None, [1]):
            await socket.send_json_to({"type": "subscribe", "conversation": conversation_id})
            frame = await recv(socket, "error")
            # then the answer is "not found", whether it exists or not
            assert frame["code"] == "not_found"
        await socket.send_json_to({"type": "sync", "conversation": conversation.pk, "after": 0})
        assert (await recv(socket, "error"))["code"] == "not_found"
        await send(socket, conversation, "let me in")
        assert (await recv(socket, "error"))["code"] == "not_found"
    # and nothing of the conversation reaches them later
    await run(say, customer, conversation, "private")
    for socket in intruders:
        assert await drain(socket) == []
    assert await count_messages() == 2


async def test_staff_of_another_business_cannot_subscribe_to_the_inbox(
    open_socket, business, conversation, customer, other, outsider
):
    for user in (other.owner, other.agent, outsider, customer):
        socket = await open_socket(user)
        await socket.send_json_to({"type": "subscribe_inbox", "business": business.slug})
        assert (await recv(socket, "error"))["code"] == "not_found"
    await run(say, customer, conversation, "hello")
    assert of_type(await drain(socket), "inbox") == []
    other_socket = await open_socket(other.owner)
    await other_socket.send_json_to({"type": "subscribe_inbox", "business": business.slug})
    await recv(other_socket, "error")
    await run(say, customer, conversation, "hello again")
    assert await drain(other_socket) == []


async def test_agent_loses_a_conversation_assigned_to_a_colleague(
    open_socket, business, conversation, customer, agent, admin
):
    # given an agent with the inbox open on one socket and the thread on another
    inbox = await open_socket(agent)
    await subscribe_inbox(inbox, business)
    thread = await open_socket(agent)
    await subscribe(thread, conversation)
    await run(say, customer, conversation, "anyone?")
    assert of_type(await drain(inbox), "inbox")[0]["conversations"] == [conversation.pk]
    assert of_type(await drain(thread), "message")[0]["message"]["seq"] == 1

    # when an admin assigns the conversation to someone else
    await run(chat_inbox.assign, actor=admin, conversation=conversation, assignee_id=admin.pk)
    await drain(inbox)
    await drain(thread)

    # then the agent gets nothing of it any more, on either socket
    await run(say, customer, conversation, "hello?")
    await run(say, admin, conversation, "I am on it")
    assert await drain(inbox) == []
    assert await drain(thread) == []
    # and cannot subscribe to it again
    await thread.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    assert (await recv(thread, "error"))["code"] == "not_found"


async def test_an_agent_gets_no_inbox_events_for_a_colleagues_conversation(
    open_socket, business, conversation, customer, agent, admin, owner
):
    await run(chat_inbox.assign, actor=admin, conversation=conversation, assignee_id=admin.pk)
    agent_inbox = await open_socket(agent)
    await subscribe_inbox(agent_inbox, business)
    owner_inbox = await open_socket(owner)
    await subscribe_inbox(owner_inbox, business)
    await run(say, customer, conversation, "hi")
    assert await drain(agent_inbox) == []
    assert [f["conversations"] for f in of_type(await drain(owner_inbox), "inbox")] == [
        [conversation.pk]
    ]


# --- Fan-out ------------------------------------------------------------------------


async def test_a_message_reaches_the_business_and_the_customers_other_tab(
    open_socket, business, conversation, customer, owner
):
    # given the customer on two tabs and their chat list, and the owner on the thread
    # and the inbox
    tab, other_tab = await open_socket(customer), await open_socket(customer)
    await subscribe(tab, conversation)
    await subscribe(other_tab, conversation)
    chat_list = await open_socket(customer)
    await chat_list.send_json_to({"type": "subscribe_list"})
    await recv(chat_list, "subscribed_list")
    staff = await open_socket(owner)
    await subscribe_inbox(staff, business)
    await subscribe(staff, conversation)
    for socket in (tab, other_tab, chat_list, staff):
        await drain(socket)  # presence

    # when the customer sends markup
    body = "<script>alert('x')</script> <b>bold</b>"
    await send(tab, conversation, body, client_id="c-1")

    # then the sender gets its ack, and every open thread the message, escaped
    ack = await recv(tab, "ack")
    assert (ack["client_id"], ack["seq"], ack["created"]) == ("c-1", 1, True)
    customer_side = f"u{customer.pk}"
    for socket in (tab, other_tab, staff):
        frames = await drain(socket)
        messages = of_type(frames, "message")
        assert len(messages) == 1, frames
        message = messages[0]
        assert message["conversation"] == conversation.pk
        assert message["message"]["seq"] == 1
        assert message["message"]["side"] == customer_side
        assert message["message"]["client_id"] == "c-1"
        assert "<script>" not in message["html"] and "<b>" not in message["html"]
        assert "&lt;script&gt;" in message["html"]
        if socket is staff:
            assert of_type(frames, "inbox") == [
                {"type": "inbox", "business": business.pk, "conversations": [conversation.pk]}
            ]
        assert of_type(frames, "user") == []  # a thread page shows no chat list
    # the customer's chat list changed: only the page that shows it is told
    assert await drain(chat_list) == [{"type": "user", "conversations": [conversation.pk]}]
    saved = await Message.objects.aget(conversation=conversation)
    assert saved.body == body  # stored as typed, escaped when shown

    # and the business's reply reaches both of the customer's tabs
    await run(say, owner, conversation, "Hello Carla")
    for socket in (tab, other_tab):
        messages = of_type(await drain(socket), "message")
        assert [m["message"]["seq"] for m in messages] == [2]
        assert messages[0]["message"]["side"] == f"b{business.pk}"


async def test_a_burst_of_messages_updates_the_inbox_once_per_window(
    open_socket, business, conversation, owner, settings
):
    # given the owner's inbox, and a thread page of the owner's (one socket sends in
    # order) on two conversations
    settings.CHAT_LIST_EVENT_WINDOW = 2.0
    other = await run(start_chat, business, await run(UserFactory, email="otto@example.com"))
    inbox = await open_socket(owner)
    await subscribe_inbox(inbox, business)
    staff = await open_socket(owner)
    await subscribe(staff, conversation)
    await subscribe(staff, other)
    await drain(inbox)

    # when it sends three messages at once
    for target, body in ((conversation, "one"), (conversation, "two"), (other, "three")):
        await send(staff, target, body)
    assert len(of_type([await recv(staff) for _ in range(6)], "ack")) == 3

    # then the inbox hears of the first at once and of the rest in one frame at the
    # end of the window, each conversation once; the page fetches those rows
    assert (await recv(inbox, "inbox"))["conversations"] == [conversation.pk]
    assert (await recv(inbox, "inbox"))["conversations"] == [conversation.pk, other.pk]
    assert await drain(inbox) == []
    # and once the window has passed, the next message's update goes out at once
    await asyncio.sleep(2.1)
    await send(staff, other, "four")
    assert (await recv(inbox, "inbox"))["conversations"] == [other.pk]


async def test_resending_the_same_client_id_makes_one_message(
    open_socket, conversation, customer, owner
):
    tab = await open_socket(customer)
    await subscribe(tab, conversation)
    staff = await open_socket(owner)
    await subscribe(staff, conversation)
    await drain(tab)
    await drain(staff)

    await send(tab, conversation, "Two loaves, please", client_id="5f0c-42")
    first = await recv(tab, "ack")
    await send(tab, conversation, "Two loaves, please", client_id="5f0c-42")
    frames = await drain(tab)
    acks = of_type(frames, "ack")

    assert (first["seq"], first["created"]) == (1, True)
    assert [(a["seq"], a["created"], a["client_id"]) for a in acks] == [(1, False, "5f0c-42")]
    assert [m["message"]["seq"] for m in of_type(frames, "message")] == [1]
    assert [m["message"]["seq"] for m in of_type(await drain(staff), "message")] == [1]
    assert await count_messages(conversation) == 1


async def test_sends_from_many_sockets_are_written_together_and_each_acked(
    open_socket, business, owner, settings, monkeypatch
):
    # given one writer per process, held up on its first batch while five other
    # customers send (each in their own conversation, one to a conversation of
    # someone else's)
    settings.CHAT_SEND_WRITERS = 1
    batches, real = [], chat_messages.send_many
    queue = consumers.send_queue()  # this event loop's: the sockets' too

    def send_many(sends):
        batches.append(len(sends))
        deadline = time.monotonic() + WAIT
        while len(batches) == 1 and len(queue.waiting) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)  # the first batch waits until the others are queued
        return real(sends)

    monkeypatch.setattr(chat_messages, "send_many", send_many)
    customers = [await run(UserFactory) for _ in range(6)]
    chats = [await run(start_chat, business, c) for c in customers]
    sockets = [await open_socket(c) for c in customers]
    for socket, conversation in zip(sockets, chats, strict=True):
        await subscribe(socket, conversation)
    staff = await open_socket(owner)
    for conversation in chats:
        await subscribe(staff, conversation)
    await drain(staff)

    # when all send at once (the last one to the first customer's conversation)
    await send(sockets[0], chats[0], "first", client_id="m-0")
    for _tick in range(WAIT * 100):  # until its batch is being written
        if batches:
            break
        await asyncio.sleep(0.01)
    for i, socket in enumerate(sockets[1:], start=1):
        await send(socket, chats[0] if i == 5 else chats[i], f"hello {i}", client_id=f"m-{i}")

    # then they went in two transactions, each send answered on its own socket
    for i, socket in enumerate(sockets):
        frame = await recv(socket)
        if i == 5:
            assert (frame["type"], frame["code"]) == ("error", "not_found")
            assert frame["client_id"] == "m-5"
        else:
            frame = frame if frame["type"] == "ack" else await recv(socket, "ack")
            assert (frame["client_id"], frame["seq"], frame["created"]) == (f"m-{i}", 1, True)
    assert batches == [1, 5]
    messages = of_type(await drain(staff), "message")
    assert sorted((m["conversation"], m["message"]["client_id"]) for m in messages) == sorted(
        (chats[i].pk, f"m-{i}") for i in range(5)
    )
    assert await count_messages() == 5


# --- Catch-up -----------------------------------------------------------------------


async def test_catch_up_after_a_dropped_socket_has_no_gap_and_no_duplicate(
    open_socket, conversation, customer, owner
):
    # given a customer who saw message 1, then lost the socket
    socket = await open_socket(customer)
    await subscribe(socket, conversation)
    await run(say, owner, conversation, "one")
    seen = of_type(await drain(socket), "message")
    assert [m["message"]["seq"] for m in seen] == [1]
    await socket.disconnect()

    # when the business writes three more meanwhile, and the customer comes back
    for body in ("two", "three", "four"):
        await run(say, owner, conversation, body)
    socket = await open_socket(customer)
    state = await subscribe(socket, conversation, after=1)

    # then exactly the missed messages arrive, in order
    assert state["last_seq"] == 4
    frames = await drain(socket)
    assert [m["message"]["seq"] for m in of_type(frames, "message")] == [2, 3, 4]
    assert all(m["html"] for m in of_type(frames, "message"))
    # and live messages continue after them, once each
    await run(say, owner, conversation, "five")
    assert [m["message"]["seq"] for m in of_type(await drain(socket), "message")] == [5]


async def test_sync_fills_a_gap_and_a_repeated_event_is_dropped(
    open_socket, conversation, customer, owner, monkeypatch
):
    socket = await open_socket(customer)
    await subscribe(socket, conversation)
    await run(say, owner, conversation, "one")
    await drain(socket)

    # sync returns what the client asks for, in order
    await run(say, owner, conversation, "two")
    await drain(socket)
    await socket.send_json_to({"type": "sync", "conversation": conversation.pk, "after": 0})
    assert [m["message"]["seq"] for m in await messages_until(socket, 2)] == [1, 2]

    # an event for a message the socket already sent is not sent again
    await push_stored(conversation, 2, "chat.message", {"en": "<li>stale</li>"})
    assert await drain(socket) == []

    # a lost event leaves no hole: the next one brings the missing message first
    monkeypatch.setattr(events, "send_event_on_commit", lambda group, event: None)
    await run(say, owner, conversation, "three (event lost)")
    monkeypatch.undo()
    await run(say, owner, conversation, "four")
    messages = await messages_until(socket, 2)
    assert [m["message"]["seq"] for m in messages] == [3, 4]


async def push_stored(conversation, seq: int, event_type: str, html: dict) -> None:
    """Send the conversation's group an event of ``event_type`` for its stored message
    ``seq``, with ``html`` as its pushed renderings, as the services would."""
    message = await Message.objects.select_related("sender").aget(
        conversation=conversation, seq=seq
    )
    await get_channel_layer().group_send(
        events.conversation_group(conversation.pk),
        {
            "type": event_type,
            "conversation": conversation.pk,
            "message": events.message_data(message),
            "html": html,
        },
    )


async def test_a_message_whose_rendering_failed_is_read_from_the_database_once(
    open_socket, conversation, customer, owner, monkeypatch
):
    """The HTML is rendered after the commit; if that fails, the event goes out
    without it and the socket sends the message from the database, once."""
    socket = await open_socket(customer)
    await subscribe(socket, conversation)

    def broken(batch, **kwargs):
        raise RuntimeError("template error")

    monkeypatch.setattr(events, "render_pushed", broken)
    await run(say, owner, conversation, "unrendered")
    [message] = await messages_until(socket, 1)
    assert message["message"]["seq"] == 1 and "unrendered" in message["html"]

    monkeypatch.undo()
    await run(say, owner, conversation, "rendered")
    [message] = await messages_until(socket, 1)
    assert message["message"]["seq"] == 2
    assert of_type(await drain(socket), "message") == []


async def test_a_message_not_rendered_in_the_sockets_language_is_read_from_the_database(
    open_socket, conversation, customer, owner, monkeypatch
):
    """Pushed HTML comes in the languages of those who may open the thread
    (events.render_pushed); a socket whose language is missing (e.g. changed since)
    sends the message, and a changed message, from the database in its own language."""
    socket = await open_socket(customer)  # "en"
    await subscribe(socket, conversation)
    monkeypatch.setattr(
        events, "render_pushed", lambda batch, **kwargs: [{"fr": "<li>fr</li>"} for _m in batch]
    )
    await run(say, owner, conversation, "in English")
    [message] = await messages_until(socket, 1)
    assert message["message"]["seq"] == 1 and "in English" in message["html"]
    assert "<li>fr</li>" not in message["html"]
    assert of_type(await drain(socket), "message") == []

    await push_stored(conversation, 1, "chat.message_updated", {"fr": "<li>fr</li>"})
    [updated] = of_type(await drain(socket), "message_updated")
    assert "in English" in updated["html"] and updated["message"]["seq"] == 1


async def test_subscribe_with_a_bad_after_is_refused(open_socket, conversation, customer):
    socket = await open_socket(customer)
    for after in (-1, "abc", 1.5, [1]):
        await socket.send_json_to(
            {"type": "subscribe", "conversation": conversation.pk, "after": after}
        )
        assert (await recv(socket, "error"))["code"] == "invalid"
        await socket.send_json_to({"type": "sync", "conversation": conversation.pk, "after": after})
        assert (await recv(socket, "error"))["code"] == "invalid"
    state = await subscribe(socket, conversation, after=99)  # beyond the end: nothing yet
    assert state["last_seq"] == 0
    await run(say, customer, conversation, "hi")
    assert [m["message"]["seq"] for m in of_type(await drain(socket), "message")] == [1]


async def test_a_list_page_read_before_a_message_is_told_to_read_again(
    open_socket, business, conversation, customer, owner, agent, admin
):
    """A list is read, then its socket subscribes: a message committed in between
    updated no one, so the subscription says the page is stale (and the page reads
    its list again); a list read after everything it shows is not."""

    def list_frame(slug=None, since=None):
        frame = (
            {"type": "subscribe_inbox", "business": slug} if slug else {"type": "subscribe_list"}
        )
        return frame | ({"since": since} if since is not None else {})

    async def stale(user, slug=None, since=None) -> bool:
        socket = await open_socket(user)
        await socket.send_json_to(list_frame(slug, since))
        frame = await recv(socket, "subscribed_inbox" if slug else "subscribed_list")
        return frame["stale"]

    # given a conversation whose last message is an hour old, assigned to an admin
    await run(say, customer, conversation, "hello")
    await run(chat_inbox.assign, actor=owner, conversation=conversation, assignee_id=admin.pk)
    hour_ago = time.time() - 3600
    await Conversation.objects.filter(pk=conversation.pk).aupdate(
        last_message_at=datetime.fromtimestamp(hour_ago, tz=UTC),
        created_at=datetime.fromtimestamp(hour_ago - 60, tz=UTC),
    )
    # pages read now have missed nothing
    now = int(time.time() * 1000)
    assert await stale(customer, since=now) is False
    assert await stale(owner, business.slug, since=now) is False
    # and a page that does not say when it was read is never told to re-read
    assert await stale(customer) is False

    # when the customer writes, the pages read a moment before it are stale
    before = int(time.time() * 1000)
    await run(say, customer, conversation, "still there?")
    assert await stale(customer, since=before) is True
    assert await stale(owner, business.slug, since=before) is True
    assert await stale(admin, business.slug, since=before) is True
    # but not an agent's inbox, which does not show a colleague's conversation,
    # nor another customer's chat list
    assert await stale(agent, business.slug, since=before) is False
    assert await stale(await run(UserFactory), since=before) is False
    assert await count_messages(conversation) == 2


# --- Typing, receipts, presence -----------------------------------------------------


async def test_typing_reaches_the_other_side_only(
    open_socket, business, conversation, customer, owner
):
    tab, other_tab = await open_socket(customer), await open_socket(customer)
    staff = await open_socket(owner)
    await tab.send_json_to({"type": "typing", "conversation": conversation.pk})
    assert (await recv(tab, "error"))["code"] == "not_subscribed"
    for socket in (tab, other_tab, staff):
        await subscribe(socket, conversation)
    for socket in (tab, other_tab, staff):
        await drain(socket)

    await tab.send_json_to({"type": "typing", "conversation": conversation.pk})

    assert await drain(staff) == [
        {"type": "typing", "conversation": conversation.pk, "side": f"u{customer.pk}"}
    ]
    assert await drain(tab) == []
    assert await drain(other_tab) == []

    await staff.send_json_to({"type": "typing", "conversation": conversation.pk})
    assert of_type(await drain(tab), "typing")[0]["side"] == f"b{business.pk}"
    assert await drain(staff) == []

    # A flood of typing frames is relayed at most once a second.
    for _ in range(20):
        await staff.send_json_to({"type": "typing", "conversation": conversation.pk})
    assert of_type(await drain(tab), "typing") == []


async def test_read_and_delivered_receipts_reach_the_sender(
    open_socket, business, conversation, customer, owner
):
    tab = await open_socket(customer)
    await subscribe(tab, conversation)
    staff = await open_socket(owner)
    await subscribe(staff, conversation)
    await send(tab, conversation, "one")
    await send(tab, conversation, "two")
    await drain(tab)
    await drain(staff)

    await staff.send_json_to({"type": "delivered", "conversation": conversation.pk, "seq": 2})
    receipts = of_type(await drain(tab), "receipt")
    assert [(r["side"], r["delivered"], r["read"]) for r in receipts] == [(f"b{business.pk}", 2, 0)]
    await staff.send_json_to({"type": "read", "conversation": conversation.pk, "seq": 1})
    receipts = of_type(await drain(tab), "receipt")
    assert [(r["side"], r["delivered"], r["read"]) for r in receipts] == [(f"b{business.pk}", 2, 1)]
    # reading again what was read already sends nothing; a bad number is an error
    await staff.send_json_to({"type": "read", "conversation": conversation.pk, "seq": 1})
    await staff.send_json_to({"type": "read", "conversation": conversation.pk, "seq": "x"})
    assert of_type(await drain(tab), "receipt") == []
    assert [f["code"] for f in of_type(await drain(staff), "error")] == ["invalid"]


async def test_presence_online_and_offline(open_socket, business, conversation, customer, owner):
    # given the owner on the thread
    thread = await open_socket(owner)
    await subscribe(thread, conversation)

    # when the customer opens the conversation, then the owner sees them online
    tab = await open_socket(customer)
    state = await subscribe(tab, conversation)
    assert state["other"]["online"] is False  # no staff socket on the inbox yet
    assert {"type": "presence", "side": f"u{customer.pk}", "online": True} in await drain(thread)

    # when the owner opens the inbox, then the customer sees the business online
    inbox = await open_socket(owner)
    await subscribe_inbox(inbox, business)
    business_online = {"type": "presence", "side": f"b{business.pk}", "online": True}
    assert business_online in await drain(tab)
    second_tab = await open_socket(customer)
    assert (await subscribe(second_tab, conversation))["other"]["online"] is True

    # a customer's second tab closing does not take them offline; the last one does
    await drain(thread)
    await second_tab.disconnect()
    assert of_type(await drain(thread), "presence") == []
    await tab.disconnect()
    assert {"type": "presence", "side": f"u{customer.pk}", "online": False} in await drain(thread)

    # and the business goes offline when its last inbox socket closes
    tab = await open_socket(customer)
    await subscribe(tab, conversation)
    await inbox.disconnect()
    business_offline = {"type": "presence", "side": f"b{business.pk}", "online": False}
    assert business_offline in await drain(tab)


async def test_a_removed_member_stops_receiving_at_once(
    open_socket, business, conversation, customer, owner, admin
):
    # given an admin with the inbox and the conversation open
    thread = await open_socket(admin)
    await subscribe(thread, conversation)
    await subscribe_inbox(thread, business)
    tab = await open_socket(customer)
    await subscribe(tab, conversation)
    await drain(thread)

    # when an owner removes the admin from the business
    membership = await database_sync_to_async(business.memberships.get)(user=admin)
    await database_sync_to_async(account_services.remove_member)(actor=owner, membership=membership)

    # then the admin's page is told to reload, and the next message does not reach it
    assert {"type": "reload", "business": business.pk} in await drain(thread)
    await send(tab, conversation, "only for the team that is left")
    assert of_type(await drain(thread), "message") == []
    assert of_type(await drain(thread), "inbox") == []
    # and subscribing again is refused
    await thread.send_json_to({"type": "subscribe", "conversation": conversation.pk})
    assert [f["code"] for f in of_type(await drain(thread), "error")] == ["not_found"]


# --- Bad input ----------------------------------------------------------------------


async def test_bad_frames_get_an_error_and_change_nothing(open_socket, conversation, customer):
    socket = await open_socket(customer)
    await subscribe(socket, conversation)
    await drain(socket)

    bad_sends = [
        ({"body": ""}, "empty"),
        ({"body": "   \n "}, "empty"),
        ({"body": "\x00"}, "empty"),
        ({"body": "x" * 4097}, "too_long"),
        ({"body": {"text": "hi"}}, "invalid"),
        ({"body": ["hi"]}, "invalid"),
        ({"body": "hi", "client_id": "no spaces allowed"}, "invalid_client_id"),
        ({"body": "hi", "client_id": "x" * 65}, "invalid_client_id"),
        ({"body": "hi", "client_id": 7}, "invalid"),
        ({"body": "hi", "conversation": "drop table"}, "not_found"),
    ]
    for fields, code in bad_sends:
        frame = {"type": "send", "conversation": conversation.pk, "client_id": "ok-1", **fields}
        await socket.send_json_to(frame)
        error = await recv(socket, "error")
        assert error["code"] == code, (fields, error)
        assert error["message"]
    raw_frames = [
        ("not json", "invalid"),
        ("[1, 2]", "invalid"),
        ("null", "invalid"),
        ('{"no": "type"}', "invalid"),
        ('{"type": "explode"}', "invalid"),
        ('{"type": ["send"]}', "invalid"),
        ('{"type": {"a": 1}}', "invalid"),
        ('{"type": "subscribe_inbox", "business": ["x"]}', "invalid"),
        ('{"type": "subscribe_list", "since": "yesterday"}', "invalid"),
        ('{"type": "subscribe_list", "since": -1}', "invalid"),
        ('{"type": "subscribe_list", "since": 1.5}', "invalid"),
        ('{"type": "subscribe_list", "since": true}', "invalid"),
        ('{"type": "subscribe_list", "since": 1e400}', "invalid"),
        ('{"type": "subscribe_list", "since": 99999999999999999999}', "invalid"),
        (json.dumps({"type": "delivered", "conversation": conversation.pk}), "invalid"),
        ('{"type": "send", "body": "' + "x" * (70 * 1024) + '"}', "too_large"),
    ]
    for text, code in raw_frames:
        await socket.send_to(text_data=text)
        error = await recv(socket, "error")
        assert error["code"] == code, (text[:60], error)

    # the socket is still usable, and nothing was saved or pushed
    await socket.send_json_to({"type": "ping"})
    assert await recv(socket) == {"type": "pong"}
    assert await drain(socket) == []
    assert await count_messages() == 0
    # a long message that arrives fully escaped still fits in a frame
    await send(socket, conversation, "\U0001f35e" * 4096, client_id="bread-1")
    assert (await recv(socket, "ack"))["created"] is True


async def test_random_hostile_frames_never_break_the_socket_or_reach_another_chat(
    open_socket, conversation, customer, business
):
    """300 frames of every type with every field set to a random hostile value (seeded:
    the same frames each run): each gets its answer — an error with a code and a
    message, or what that frame asks for — the socket stays open, and nothing of a
    conversation not the customer's is ever sent or written."""
    other = await run(start_chat, business)
    socket = await open_socket(customer)
    await subscribe(socket, conversation)
    await drain(socket)
    rng = random.Random(20261206)
    types = [
        "subscribe", "unsubscribe", "sync", "subscribe_inbox", "subscribe_list", "send",
        "typing", "read", "delivered", "ping", "explode", "", None, 7, ["send"],
    ]  # fmt: skip
    fields = ["conversation", "after", "seq", "since", "business", "body", "client_id"]
    values = [
        None, True, False, 0, -1, 1, 2**63, -(2**63), 1.5, 1e308, float("inf"), "", "x" * 5000,
        "drop table", "<script>", "\x00", [], {}, [1], {"a": 1}, conversation.pk, other.pk,
        str(other.pk), business.pk, business.slug, "other-shop", "\ud83d",
    ]  # fmt: skip
    before = await count_messages(other)
    for _ in range(300):
        frame = {"type": rng.choice(types)}
        for name in rng.sample(fields, rng.randint(0, len(fields))):
            frame[name] = rng.choice(values)
        await socket.send_to(text_data=json.dumps(frame))  # inf goes as Infinity
        await socket.send_json_to({"type": "ping"})
        while (answer := await recv(socket))["type"] != "pong":
            if answer["type"] == "error":
                assert answer["code"] and answer["message"], (frame, answer)
            assert answer.get("conversation") not in (other.pk, str(other.pk)), (frame, answer)
    assert await count_messages(other) == before


async def test_a_blocked_customer_gets_an_error_and_nothing_is_sent(
    open_socket, conversation, customer, owner
):
    await run(chat_inbox.block_contact, actor=owner, conversation=conversation, blocked=True)
    staff = await open_socket(owner)
    await subscribe(staff, conversation)
    tab = await open_socket(customer)
    await subscribe(tab, conversation)
    await drain(staff)
    await drain(tab)

    await send(tab, conversation, "let me talk", client_id="b-1")

    error = await recv(tab, "error")
    assert (error["code"], error["client_id"]) == ("blocked", "b-1")
    assert await drain(staff) == []
    assert await count_messages() == 0


async def test_a_flood_of_messages_is_rate_limited(open_socket, conversation, customer, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 3
    socket = await open_socket(customer)
    await subscribe(socket, conversation)
    for i in range(5):
        await send(socket, conversation, f"spam {i}", client_id=f"f-{i}")
    frames = await drain(socket)
    assert [a["seq"] for a in of_type(frames, "ack")] == [1, 2, 3]
    errors = of_type(frames, "error")
    assert [(e["code"], e["client_id"]) for e in errors] == [
        ("rate_limited", "f-3"),
        ("rate_limited", "f-4"),
    ]
    assert await count_messages() == 3
