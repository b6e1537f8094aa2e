"""Events written in the transaction that causes them (``core.domain_events`` and
``payments.hooks``), with one pending delivery per endpoint that wants them.

The receivers run inside the services' transactions, on hot paths (a payment, a
chat message): for a business without an enabled endpoint they cost one cache read
(``WEBHOOKS_CACHE_ENDPOINTS``: Redis, shared by every process; the embedded default
asks its in-process SQLite database instead). The cached answer is rewritten after
every commit that changes the business's endpoints.
"""

import datetime
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from core.events import registered_task
from payments.models import Order
from webhooks import payloads, signing, sql
from webhooks.models import Delivery, Endpoint, Event

STATUS = Order.Status
CACHE_SECONDS = 24 * 60 * 60
QUEUED_SECONDS = 60

# An order's move → its event. partially_shipped is a shipment too.
ORDER_EVENTS = {
    STATUS.PROCESSING: "order.paid",
    STATUS.EXPIRED: "order.expired",
    STATUS.CANCELED: "order.canceled",
    STATUS.PARTIALLY_SHIPPED: "order.shipped",
    STATUS.SHIPPED: "order.shipped",
    STATUS.COMPLETED: "order.delivered",
}


_generation: list[str] = []


def _database_generation() -> str:
    """When this database got the webhooks tables (read once per process): the keys
    of a database created again from scratch (a test run, a fresh install on the same
    Redis) are never the previous one's, whose business ids they would share."""
    if not _generation:
        applied = (
            MigrationRecorder.Migration.objects.filter(app="webhooks", name="0001_initial")
            .values_list("applied", flat=True)
            .first()
        )
        _generation.append(f"{applied.timestamp():.6f}" if applied else "0")
    return _generation[0]


def _key(business_id: int) -> str:
    return f"webhooks:to:{_database_generation()}:{business_id}"


Targets = list[tuple[int, list[str]]]  # the enabled endpoints: (id, event types), by id


def _enabled_targets(business_id: int) -> Targets:
    return [
        (pk, types)
        for pk, types in Endpoint.objects.filter(business_id=business_id, is_enabled=True)
        .order_by("pk")
        .values_list("pk", "event_types")
    ]


# Without the shared cache (the embedded default): each process remembers an answer for
# LOCAL_SECONDS, so a burst of events (a batch of messages) costs one query, and another
# process's endpoint change is seen within that time; this process's own at once.
LOCAL_SECONDS = 5.0
_local: dict[str, tuple[Targets, float]] = {}


def targets_of(business_ids: set[int]) -> dict[int, Targets]:
    """Each of ``business_ids``'s enabled endpoints with the event types each wants
    (empty: all), cached (see the module): one cache read for them all (a batch of
    chat messages), no query on a hot path once known."""
    if not settings.WEBHOOKS_CACHE_ENDPOINTS:
        found, now = {}, time.monotonic()
        for business_id in business_ids:
            key = _key(business_id)
            remembered = _local.get(key)
            if remembered is None or remembered[1] <= now:
                remembered = (_enabled_targets(business_id), now + LOCAL_SECONDS)
                _local[key] = remembered
            found[business_id] = remembered[0]
        return found
    keys = {business_id: _key(business_id) for business_id in business_ids}
    cached = cache.get_many(keys.values())
    found = {}
    for business_id, key in keys.items():
        answer = cached.get(key)
        if answer is None:
            answer = _enabled_targets(business_id)
            # add, not set: an endpoint write committed meanwhile has set the new
            # answer, which this (maybe older) one must not overwrite.
            cache.add(key, answer, CACHE_SECONDS)
        found[business_id] = [(pk, list(types)) for pk, types in answer]
    return found


def has_endpoints(business_id: int) -> bool:
    """Whether ``business_id`` has an enabled endpoint (cached, see the module)."""
    return bool(targets_of({business_id})[business_id])


def endpoints_changed(business_id: int) -> None:
    """Call inside a transaction that changes ``business_id``'s endpoints: after the
    commit the cached answer is read again from the database and set."""
    _local.clear()  # this process reads the database again (harmless if it rolls back)
    if settings.WEBHOOKS_CACHE_ENDPOINTS:
        transaction.on_commit(
            lambda: cache.set(_key(business_id), _enabled_targets(business_id), CACHE_SECONDS),
            robust=True,
        )


def _queued_key(endpoint_id: int) -> str:
    return f"webhooks:queued:{_database_generation()}:{endpoint_id}"


def wake_sender(endpoint_id: int) -> None:
    """After a commit that made a delivery due: enqueue the endpoint's sender, unless
    one is already queued and not yet started (with the shared cache, a flag the
    sender clears when it starts, before it claims anything: what was committed
    before that is claimed by it, what comes after enqueues again). A flag left by a
    lost message expires after ``QUEUED_SECONDS``; the beat's sweep sends meanwhile."""
    shared = settings.WEBHOOKS_CACHE_ENDPOINTS
    if shared and not cache.add(_queued_key(endpoint_id), 1, QUEUED_SECONDS):
        return
    try:
        registered_task("webhooks.tasks.deliver_endpoint").delay(endpoint_id)
    except Exception:
        if shared:
            cache.delete(_queued_key(endpoint_id))
        raise


def sender_started(endpoint_id: int) -> None:
    """The sender's first step (see :func:`wake_sender`)."""
    if settings.WEBHOOKS_CACHE_ENDPOINTS:
        cache.delete(_queued_key(endpoint_id))


def create_event(
    *, business_id: int, type: str, data: dict, endpoint_ids: list[int]
) -> Event | None:
    """The event with its payload ``data`` and a due delivery of it to each of
    ``endpoint_ids``, in the current transaction; each endpoint's sender is woken
    after the commit (the beat's sweep finds the deliveries if that is lost)."""
    if not endpoint_ids:
        return None
    moment = timezone.now()
    return _write(
        Event(
            business_id=business_id,
            type=type,
            msg_id=signing.new_msg_id(),
            payload={"type": type, "timestamp": moment.isoformat(), "data": data},
            created_at=moment,
        ),
        endpoint_ids,
    )


def _write(event: Event, endpoint_ids: list[int]) -> Event:
    """The ORM's way: ``event``, its deliveries, the senders woken after the commit."""
    event.save(force_insert=True)
    moment = event.created_at
    Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint_id=pk, next_attempt_at=moment, created_at=moment)
            for pk in endpoint_ids
        ]
    )
    _wake_after_commit(endpoint_ids)
    return event


def _wake_after_commit(endpoint_ids: list[int]) -> None:
    for pk in endpoint_ids:
        transaction.on_commit(lambda pk=pk: wake_sender(pk), robust=True)


def record_subject_event(
    *, business_id: int, type: str, subject_id: int, endpoint_ids: list[int]
) -> list[int]:
    """The event about ``subject_id`` (its payload built by the sender before the
    first attempt: :func:`ensure_payload`, off the hot path of the change) and a due
    delivery to each of ``endpoint_ids`` still enabled; those endpoints' ids. One
    statement on PostgreSQL (``webhooks.sql``)."""
    event = Event(
        business_id=business_id,
        type=type,
        msg_id=signing.new_msg_id(),
        subject_id=subject_id,
        created_at=timezone.now(),
    )
    if connection.vendor == "postgresql":
        sent_to = sql.insert_event(event, endpoint_ids)
        _wake_after_commit(sent_to)
        return sent_to
    sent_to = list(
        Endpoint.objects.filter(pk__in=endpoint_ids, is_enabled=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if sent_to:
        _write(event, sent_to)
    return sent_to


def ensure_payload(event: Event) -> dict:
    """``event``'s payload, built and written once if it is not yet (the first of
    several senders to write it wins; every attempt then signs the same body)."""
    if event.payload is None:
        Event.objects.filter(pk=event.pk, payload__isnull=True).update(
            payload=payloads.event_payload(event)
        )
        event.payload = Event.objects.values_list("payload", flat=True).get(pk=event.pk)
    return event.payload


def record_events(*, type: str, events: Sequence[tuple[int, Any]]) -> None:
    """The ``core.domain_events`` receiver: each ``(business_id, subject)``'s event,
    if an enabled endpoint of its business wants ``type``. In the caller's
    transaction: one cached lookup for them all, then (where someone listens) one
    INSERT each on PostgreSQL; the payloads are built by the sender."""
    if type not in payloads.BUILDERS:
        return
    targets = targets_of({business_id for business_id, _subject in events})
    for business_id, subject in events:
        wanted = [pk for pk, types in targets[business_id] if not types or type in types]
        if wanted:
            record_subject_event(
                business_id=business_id, type=type, subject_id=subject.pk, endpoint_ids=wanted
            )


def record_event(*, type: str, business_id: int, subject: Any) -> None:
    """:func:`record_events` for one event."""
    record_events(type=type, events=[(business_id, subject)])


def handle_order_status(*, order, from_status: str, to_status: str, data: dict) -> None:
    """``payments.hooks.order_status_changed``: paid, expired, canceled, shipped,
    delivered (refunds have their own event, ``refund.created``)."""
    event_type = ORDER_EVENTS.get(to_status)
    if event_type is not None:
        record_event(type=event_type, business_id=order.business_id, subject=order)


def retention_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
