"""Socket events from Celery workers on the embedded default (docs/outbox.md).

The embedded default's channel layer is in memory: it exists in the web process
alone, so an event a Celery worker sends (a shipping notice it just posted, a
payment request's card it just marked expired) would reach no socket. Production
has no such gap: its Redis channel layer is shared by every process.

The fix keeps one path for every event: a worker process writes its events as
:class:`~chats.models.RelayedEvent` rows, in the same transaction as the change they
announce (``core.events.set_relay_writer``), and the web process runs a small loop
on its event loop that reads the rows newer than the last one it pushed, about
twice a second, and sends them to its in-memory layer, where the consumers treat
them like any other event. The rows are deleted after a minute: a socket that was
away longer catches up from the messages themselves (``seq``), as after any drop.

Why rows, not files or a second broker: the worker and the web process already
share the database, the rows commit with the change (an event is never relayed for
a rolled-back message, nor lost for a committed one while the web process runs),
and the tests' processes find them with no extra configuration. It costs one
INSERT per event in the worker and one indexed SELECT every half second in the
web process, which an embedded single-host demo can afford.
"""

import asyncio
import datetime
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from core import events

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.4  # seconds
BATCH = 500
KEEP = datetime.timedelta(minutes=1)
PRUNE_EVERY = 30.0  # seconds


def in_memory_layer() -> bool:
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    return backend.endswith("InMemoryChannelLayer")


def _write(group: str, event: dict) -> None:
    # chats.models in the functions, not above: this module is imported by
    # config.celery's worker start-up handler and config.asgi, possibly before
    # Django's app registry is ready (start-up, not a cycle).
    from chats.models import RelayedEvent

    RelayedEvent.objects.create(group=group, event=event)


def spool_in_this_process() -> None:
    """Called in Celery worker processes: with the in-memory layer, hand this
    process's socket events to the web process (no effect with Redis)."""
    if in_memory_layer() and settings.CHAT_EVENT_RELAY:
        events.set_relay_writer(_write)


class Relay:
    """The web process's loop: pushes the relayed events in id (commit) order."""

    def __init__(self) -> None:
        # One thread, so the loop keeps one database connection.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-relay")
        self.last_id: int | None = None
        self.pruned_at = 0.0

    def _fetch(self) -> list[tuple[int, str, dict]]:
        from chats.models import RelayedEvent

        if self.last_id is None:
            # Start from now: older events are for sockets that no longer exist.
            latest = RelayedEvent.objects.order_by("-id").values_list("id", flat=True).first()
            self.last_id = latest or 0
            return []
        return list(
            RelayedEvent.objects.filter(id__gt=self.last_id)
            .order_by("id")
            .values_list("id", "group", "event")[:BATCH]
        )

    def _prune(self) -> None:
        from django.utils import timezone

        from chats.models import RelayedEvent

        RelayedEvent.objects.filter(created_at__lt=timezone.now() - KEEP).delete()

    async def run(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        loop = asyncio.get_running_loop()
        while True:
            try:
                rows = await loop.run_in_executor(self.executor, self._fetch)
                for pk, group, event in rows:
                    await layer.group_send(group, event)
                    self.last_id = pk
                if loop.time() - self.pruned_at > PRUNE_EVERY:
                    self.pruned_at = loop.time()
                    await loop.run_in_executor(self.executor, self._prune)
            except asyncio.CancelledError:
                raise
            except Exception:  # a locked SQLite file, a restart: try again shortly
                logger.exception("chat relay: could not push relayed events")
                rows = []
                await loop.run_in_executor(self.executor, _close_connection)
            if len(rows) < BATCH:
                await asyncio.sleep(POLL_INTERVAL)


def _close_connection() -> None:
    from django.db import connection

    connection.close()


def relaying(application):
    """Wrap the ASGI ``application`` so that, with the in-memory layer, the relay loop
    starts on the server's event loop with the first connection or request."""
    state: dict = {}

    async def app(scope, receive, send):
        if "task" not in state:
            state["task"] = None
            if settings.CHAT_EVENT_RELAY and in_memory_layer():
                state["task"] = asyncio.get_running_loop().create_task(Relay().run())
        return await application(scope, receive, send)

    return app
