"""Side effects that must wait for the database commit.

Services never call ``group_send`` or ``.delay()`` inside an open transaction:
they register the effect here, and it runs only once the surrounding
transaction commits (and never if it rolls back).
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)
_collecting = threading.local()

# Set in a process whose socket events must reach the sockets through another
# process (a Celery worker on the embedded default, whose in-memory channel layer
# reaches no socket): a function that stores ``(group, event)`` in the database, in
# the current transaction, for the web process to push (chats.relay).
_relay_writer: Callable[[str, dict[str, Any]], None] | None = None


def set_relay_writer(writer: Callable[[str, dict[str, Any]], None] | None) -> None:
    global _relay_writer
    _relay_writer = writer


@contextmanager
def collect_events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Collect, instead of sending, the events committed inside this block (this
    thread only), as ``(group, event)`` pairs in order.

    For a caller already on an event loop (a socket consumer, whose database work
    runs in a worker thread): it sends them itself with :func:`group_send_all`, so
    the database thread never waits on the channel layer's network round trips.
    """
    previous = getattr(_collecting, "events", None)
    _collecting.events = collected = []
    try:
        yield collected
    finally:
        _collecting.events = previous


async def group_send_all(layer, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Send ``(group, event)`` pairs in order, in one batch where the layer can
    (``core.channel_layer``: two Redis round trips for all of them)."""
    if not events:
        return
    send_many = getattr(layer, "group_send_many", None)
    if send_many is not None:
        await send_many(events)
        return
    for group, event in events:
        await layer.group_send(group, event)


class _EventBatch:
    """The socket events queued by one transaction (at one savepoint depth): one
    on-commit hook that sends them in one batch (:func:`send_events`)."""

    __slots__ = ("events",)

    def __init__(self, events: list[tuple[str, dict[str, Any]]]):
        self.events = events

    def __call__(self) -> None:
        collected = getattr(_collecting, "events", None)
        if collected is not None:
            collected.extend(self.events)
            return
        send_events(self.events)


def send_event_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to a Channels group after the current transaction commits.

    The events a transaction queues one after the other, in the same savepoint, join
    one on-commit hook and go out together after the commit (one trip to the event
    loop, two Redis round trips for all of them); a savepoint rolled back drops its
    hook, and so its events, as it drops any other on-commit hook.

    In a process with a relay writer the event is written to the database instead,
    inside the current transaction, so it is relayed if and only if that commits."""
    if _relay_writer is not None:
        _relay_writer(group, event)
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block and connection.run_on_commit:
        sids, last, _robust = connection.run_on_commit[-1]
        if isinstance(last, _EventBatch) and sids == set(connection.savepoint_ids):
            last.events.append((group, event))
            return
    transaction.on_commit(_EventBatch([(group, event)]), robust=True)


def prepare_on_commit(fn: Callable[[], None]) -> None:
    """Run ``fn`` after the current transaction commits, before the socket events
    queued after this call go out: work those events need that should not hold the
    transaction's row locks (``chats.events.push_messages`` renders its messages here
    and puts the HTML into its events). ``fn`` must not raise (it is logged if it
    does). At once outside a transaction, and in a process that relays its events
    (they are written inside the transaction, so they must be complete there)."""
    if _relay_writer is not None:
        fn()
        return
    transaction.on_commit(fn, robust=True)


def send_events(collected: list[tuple[str, dict[str, Any]]]) -> None:
    """Send the events :func:`collect_events` collected, in one event loop and one
    batch (:func:`group_send_all`; each ``async_to_sync`` call of its own would cost
    a loop). A failure is logged, as for
    :func:`send_event_on_commit`: clients catch up on reconnect."""
    if not collected:
        return
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return

    try:
        async_to_sync(group_send_all)(layer, collected)
    except Exception:
        logger.exception("events: %d socket events not sent", len(collected))


def enqueue_on_commit(
    task: str | Any,
    *args: Any,
    countdown: float | None = None,
    robust: bool = False,
    **kwargs: Any,
) -> None:
    """Enqueue a Celery task after the current transaction commits.

    ``task`` is the task's name (``"chats.tasks.send_unread_email"``): services
    enqueue their app's tasks by name, so a services module never imports the tasks
    module that imports it. (A task object is still taken, from the callers not yet
    moved to names.) An unknown name raises at once, inside the service, not at the
    commit.

    ``countdown`` (seconds) delays its execution, as Celery's ``apply_async`` does.
    ``robust``: a broker that cannot be reached is logged and ignored instead of
    raised, for tasks that are only a shortcut to work a scheduled job does anyway
    (the outbox's immediate sends: the beat's dispatch finds the rows).
    """
    if isinstance(task, str):
        task = registered_task(task)
    if countdown is None:
        transaction.on_commit(lambda: task.delay(*args, **kwargs), robust=robust)
    else:
        transaction.on_commit(
            lambda: task.apply_async(args, kwargs, countdown=countdown), robust=robust
        )


def registered_task(name: str) -> Any:
    """The Celery task registered as ``name``. A worker imports every app's tasks
    module when it starts; a web process imports one the first time it asks for one
    of its tasks here (a task's name is its module's path and its function's name)."""
    tasks = current_app.tasks
    if name not in tasks:
        import_module(name.rpartition(".")[0])
    return tasks[name]


def run_on_commit(fn: Callable[[], Any]) -> None:
    transaction.on_commit(fn)


def user_group(user_id: int) -> str:
    """The Channels group of one user's open pages (every socket of theirs joins it).
    Here, not in ``chats``, because apps below chats tell a user's sockets too: a
    membership removed or changed in ``accounts`` makes them drop what the user may
    no longer see."""
    return f"user.{user_id}"
