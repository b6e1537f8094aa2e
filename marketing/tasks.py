"""Celery entry points of marketing: each loads by id, calls a service, is idempotent.
Acknowledged late and redelivered when the worker dies: the outbox rows' locks and
statuses make a second run harmless."""

import datetime
import time

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from marketing import services
from marketing.models import Broadcast

RUN_SECONDS = 20.0  # then the task hands over to a fresh one (redelivery stays small)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_broadcast(broadcast_id: int) -> int:
    """Send a broadcast's due offers batch after batch, following its throttle (rows
    due one after another); re-enqueues itself for what is due later (within a
    minute; later ones are found by ``start_due_broadcasts``). Several may run for
    one broadcast: they share its rows (``skip_locked``)."""
    started, sent = time.monotonic(), 0
    while True:
        claimed, next_due = services.send_broadcast_batch(broadcast_id=broadcast_id)
        sent += claimed
        if next_due is None:
            return sent
        wait = (next_due - timezone.now()).total_seconds()
        if wait > 60:
            return sent
        if time.monotonic() - started > RUN_SECONDS or wait > 1.0:
            send_broadcast.apply_async((broadcast_id,), countdown=max(0.0, wait))
            return sent
        if not claimed:
            time.sleep(max(0.05, wait))


@shared_task(acks_late=True, ignore_result=True)
def start_due_broadcasts() -> int:
    """Beat: start a sender for each broadcast with offers due and not finished (one
    scheduled for later, or one whose sender was lost with its broker)."""
    soon = timezone.now() + datetime.timedelta(seconds=settings.BROADCAST_BEAT_INTERVAL)
    ids = list(
        Broadcast.objects.filter(send_at__lte=soon, finished_at__isnull=True).values_list(
            "pk", flat=True
        )[:100]
    )
    for pk in ids:
        send_broadcast.delay(pk)
    return len(ids)
