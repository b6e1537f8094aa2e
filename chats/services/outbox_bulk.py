"""Scheduling many outbox rows at once (a broadcast to thousands of contacts).

The bulk counterpart of :func:`chats.services.outbox.schedule_message`, with the same checks
and the same guarantees: rows are written in the caller's transaction, a dedupe key
already used is left as it is (``ON CONFLICT DO NOTHING``: the unique key, not a
prior read, is what prevents a second message), and the rows due now are handed to
the dispatcher once after the commit — one task for the batch, not one per row (the
dispatcher drains a backlog batch after batch, several workers sharing it).
Kept beside ``outbox.py`` so that module stays as its author has it; see
docs/marketing.md.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from chats import kinds
from chats.models import MAX_TEXT, ScheduledMessage
from chats.services.outbox import _clean_due, _clean_key, _clean_payload
from core.errors import AppError
from core.events import enqueue_on_commit

BATCH_SIZE = 1000


@dataclass
class Row:
    conversation_id: int
    dedupe_key: str
    due_at: datetime.datetime
    body: str = ""
    payload: dict = field(default_factory=dict)


def schedule_many(
    *, kind: str, rows: Sequence[Row], sender: str = "business", dispatch: bool = True
) -> None:
    """Schedule one message of ``kind`` per row (business conversations, checked by the
    caller); keys already used are skipped. Call it inside the caller's transaction.
    ``dispatch=False``: the caller starts its own sender (the beat's dispatcher remains
    the safety net either way)."""
    moment = timezone.now()
    if not kinds.is_registered(kind):
        raise AppError(_("Unknown message kind."), code="unknown_kind", field="kind")
    objects = []
    due_now = False
    for row in rows:
        body = row.body.replace("\x00", "").strip()
        if len(body) > MAX_TEXT:
            raise AppError(_("The message text is too long."), code="too_long", field="body")
        due_at = _clean_due(row.due_at, moment)
        due_now = due_now or due_at <= moment
        objects.append(
            ScheduledMessage(
                conversation_id=row.conversation_id,
                sender=sender,
                kind=kind,
                body=body,
                payload=_clean_payload(row.payload),
                dedupe_key=_clean_key(row.dedupe_key),
                due_at=due_at,
                created_at=moment,
            )
        )
    ScheduledMessage.objects.bulk_create(objects, batch_size=BATCH_SIZE, ignore_conflicts=True)
    if objects and dispatch:
        # Start the dispatcher for rows due within a minute instead of waiting for the
        # beat; later ones are the beat's (a long countdown in the broker is fragile).
        # A backlog of several batches gets up to OUTBOX_BULK_DISPATCHERS dispatchers at
        # once, so that a worker's processes share it (skip_locked).
        wait = (min(o.due_at for o in objects) - moment).total_seconds()
        if due_now or wait <= 60:
            batches = -(-len(objects) // settings.OUTBOX_BATCH)
            for _i in range(max(1, min(batches, settings.OUTBOX_BULK_DISPATCHERS))):
                enqueue_on_commit(
                    "chats.tasks.dispatch_scheduled_messages", countdown=None if due_now else wait
                )
