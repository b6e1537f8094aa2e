"""The send queue: the messages this process's sockets send, written in batches
(group commit, :class:`SendQueue`), and the list updates those batches make, merged
per window (:class:`ListEvents`). One of each per event loop (that is, per server
process); the chat socket (``chats.consumers``) hands its sends here.
"""

import asyncio
import contextvars
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from chats.services import messages
from core.errors import AppError
from core.events import collect_events, group_send_all

logger = logging.getLogger(__name__)

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
    (up to ``limit``) and writes them in one transaction (``messages.send_many``:
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
        self.waiting: list[tuple[messages.Send, asyncio.Future]] = []

    async def send(self, layer, send: messages.Send) -> tuple:
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
        results = messages.send_many(sends)
    return results, pending


_send_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendQueue]" = (
    weakref.WeakKeyDictionary()
)


def send_queue() -> SendQueue:
    loop = asyncio.get_running_loop()
    if loop not in _send_queues:
        _send_queues[loop] = SendQueue(settings.CHAT_SEND_WRITERS, settings.CHAT_SEND_BATCH)
    return _send_queues[loop]


_list_events: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ListEvents]" = (
    weakref.WeakKeyDictionary()
)


def list_events() -> ListEvents:
    loop = asyncio.get_running_loop()
    if loop not in _list_events:
        _list_events[loop] = ListEvents(settings.CHAT_LIST_EVENT_WINDOW)
    return _list_events[loop]
