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
from django.db import transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from core.events import enqueue_on_commit
from payments.models import Order
from webhooks import payloads, signing
from webhooks.models import Delivery, Endpoint, Event

STATUS = Order.Status
CACHE_SECONDS = 24 * 60 * 60

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
    return f"webhooks:on:{_database_generation()}:{business_id}"


def _has_enabled(business_id: int) -> bool:
    return Endpoint.objects.filter(business_id=business_id, is_enabled=True).exists()


# Without the shared cache (the embedded default): each process remembers an answer for
# LOCAL_SECONDS, so a burst of events (a batch of messages) costs one query, and another
# process's endpoint change is seen within that time; this process's own at once.
LOCAL_SECONDS = 5.0
_local: dict[str, tuple[bool, float]] = {}


def has_endpoints(business_id: int) -> bool:
    """Whether ``business_id`` has an enabled endpoint (cached, see the module)."""
    return business_id in with_endpoints({business_id})


def with_endpoints(business_ids: set[int]) -> set[int]:
    """Those of ``business_ids`` that have an enabled endpoint (cached, see the
    module): one cache read for them all."""
    if not settings.WEBHOOKS_CACHE_ENDPOINTS:
        found, now = set(), time.monotonic()
        for business_id in business_ids:
            key = _key(business_id)
            remembered = _local.get(key)
            if remembered is None or remembered[1] <= now:
                remembered = (_has_enabled(business_id), now + LOCAL_SECONDS)
                _local[key] = remembered
            if remembered[0]:
                found.add(business_id)
        return found
    keys = {business_id: _key(business_id) for business_id in business_ids}
    cached = cache.get_many(keys.values())
    found = set()
    for business_id, key in keys.items():
        answer = cached.get(key)
        if answer is None:
            answer = _has_enabled(business_id)
            # add, not set: an endpoint write committed meanwhile has set the new
            # answer, which this (maybe older) one must not overwrite.
            cache.add(key, answer, CACHE_SECONDS)
        if answer:
            found.add(business_id)
    return found


def endpoints_changed(business_id: int) -> None:
    """Call inside a transaction that changes ``business_id``'s endpoints: after the
    commit the cached answer is read again from the database and set."""
    _local.clear()  # this process reads the database again (harmless if it rolls back)
    if settings.WEBHOOKS_CACHE_ENDPOINTS:
        transaction.on_commit(
            lambda: cache.set(_key(business_id), _has_enabled(business_id), CACHE_SECONDS),
            robust=True,
        )


def create_event(
    *, business_id: int, type: str, data: dict, endpoints: list[Endpoint]
) -> Event | None:
    """The event and a due delivery of it to each of ``endpoints``, in the current
    transaction; each endpoint's sender is enqueued after the commit (the beat's sweep
    finds the deliveries if that enqueue is lost)."""
    if not endpoints:
        return None
    moment = timezone.now()
    event = Event.objects.create(
        business_id=business_id,
        type=type,
        msg_id=signing.new_msg_id(),
        payload={"type": type, "timestamp": moment.isoformat(), "data": data},
        created_at=moment,
    )
    Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=e, next_attempt_at=moment, created_at=moment)
            for e in endpoints
        ]
    )
    for endpoint in endpoints:
        enqueue_on_commit("webhooks.tasks.deliver_endpoint", endpoint.pk, robust=True)
    return event


def record_events(*, type: str, events: Sequence[tuple[int, Any]]) -> None:
    """The ``core.domain_events`` receiver: each ``(business_id, subject)``'s event,
    if an enabled endpoint of its business wants ``type``; one cache read for all of
    them. In the caller's transaction."""
    if type not in payloads.BUILDERS:
        return
    listening = with_endpoints({business_id for business_id, _subject in events})
    for business_id, subject in events:
        if business_id in listening:
            _record(type=type, business_id=business_id, subject=subject)


def record_event(*, type: str, business_id: int, subject: Any) -> Event | None:
    """The event, if an enabled endpoint of the business wants ``type``. In the
    caller's transaction."""
    if type not in payloads.BUILDERS or not has_endpoints(business_id):
        return None
    return _record(type=type, business_id=business_id, subject=subject)


def _record(*, type: str, business_id: int, subject: Any) -> Event | None:
    endpoints = [
        e
        for e in Endpoint.objects.filter(business_id=business_id, is_enabled=True).order_by("pk")
        if e.wants(type)
    ]
    if not endpoints:
        return None
    return create_event(
        business_id=business_id,
        type=type,
        data=payloads.build(type, subject),
        endpoints=endpoints,
    )


def handle_order_status(*, order, from_status: str, to_status: str, data: dict) -> None:
    """``payments.hooks.order_status_changed``: paid, expired, canceled, shipped,
    delivered (refunds have their own event, ``refund.created``)."""
    event_type = ORDER_EVENTS.get(to_status)
    if event_type is not None:
        record_event(type=event_type, business_id=order.business_id, subject=order)


def retention_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
