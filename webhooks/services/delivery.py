"""Sending deliveries: claim one, POST it signed, record the attempt and what comes
next (docs/webhooks.md, "Delivery").

At least once, never lost: a delivery is a row before it is a task. A sender claims
it by moving its ``next_attempt_at`` a lease ahead (one conditional UPDATE, so two
workers never send it at the same moment), sends it outside any transaction, then
records the outcome under the row's lock. A worker killed in between leaves it
pending: once the lease is over the beat's sweep (``dispatch_due``) sends it again,
with the same ``webhook-id``.

Each endpoint's deliveries are sent oldest first by one task at a time in the usual
case (``deliver_endpoint``); a retry does not hold back the ones after it.
"""

import datetime
import email.utils
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from core.events import registered_task
from core.mail import queue_email
from webhooks import network, payloads, signing
from webhooks.models import Attempt, Delivery, Endpoint, Event
from webhooks.services.capture import (
    endpoints_changed,
    ensure_payload,
    retention_cutoff,
    sender_started,
)

log = logging.getLogger(__name__)
STATUS = Delivery.Status
REASON = Endpoint.DisabledReason

FAILING_LIMIT = datetime.timedelta(days=5)
MAX_RETRY_AFTER = datetime.timedelta(hours=24)
ANSWER_KEPT = 2048
BATCH = 100
USER_AGENT = "Conversa-Webhooks/1.0 (+https://www.standardwebhooks.com/)"


def lease() -> datetime.timedelta:
    """How long a claimed delivery is left to its sender before another may take it:
    longer than one request may last, and its outcome's transaction."""
    return datetime.timedelta(seconds=settings.WEBHOOKS_TIMEOUT + 15)


def retry_schedule() -> list[datetime.timedelta]:
    """The waits before each retry (``WEBHOOKS_RETRY_SCHEDULE``: 5 s, 5 min, 30 min,
    2 h, 5 h, 10 h, 14 h, 20 h, 24 h)."""
    return [datetime.timedelta(seconds=s) for s in settings.WEBHOOKS_RETRY_SCHEDULE]


def _due(now: datetime.datetime):
    return Delivery.objects.filter(
        status=STATUS.PENDING, next_attempt_at__lte=now, endpoint__is_enabled=True
    )


def claim_next(*, endpoint_id: int) -> Delivery | None:
    """The endpoint's oldest due delivery, claimed for a lease; None when none is due."""
    while True:
        now = timezone.now()
        pk = (
            _due(now)
            .filter(endpoint_id=endpoint_id)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        claimed = Delivery.objects.filter(
            pk=pk, status=STATUS.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + lease())
        if claimed:
            return Delivery.objects.select_related("event", "endpoint").get(pk=pk)


def signing_secrets(endpoint: Endpoint, now: datetime.datetime) -> list[str]:
    secrets_ = [endpoint.secret]
    if endpoint.previous_secret and (
        endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    ):
        secrets_.append(endpoint.previous_secret)
    return secrets_


def request_for(delivery: Delivery, *, timestamp: int | None = None) -> tuple[bytes, dict]:
    """The body and headers of one attempt of ``delivery`` (signed now)."""
    event, endpoint = delivery.event, delivery.endpoint
    body = payloads.encode(ensure_payload(event))
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            secrets_=signing_secrets(endpoint, timezone.now()),
            msg_id=event.msg_id,
            timestamp=timestamp,
            body=body,
        ),
    }
    return body, headers


def retry_after(answer: network.Answer, now: datetime.datetime) -> datetime.timedelta | None:
    """The wait a 429 or 503 asks for (seconds or an HTTP date), at most 24 h."""
    if answer.status_code not in (429, 503):
        return None
    value = (answer.headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        wait = datetime.timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        wait = when - now
    return min(max(wait, datetime.timedelta(seconds=1)), MAX_RETRY_AFTER)


def send_delivery(delivery: Delivery) -> Delivery:
    """One attempt of a claimed delivery, and its outcome recorded."""
    body, headers = request_for(delivery)
    answer = network.post(delivery.endpoint.url, body=body, headers=headers)
    return record_attempt(delivery_id=delivery.pk, answer=answer)


def record_attempt(*, delivery_id: int, answer: network.Answer) -> Delivery:
    """Record one attempt's answer: success, the next retry, or the end (the last
    retry, or a 410 that disables the endpoint). Locks the delivery row; an endpoint
    failing for ``FAILING_LIMIT`` is disabled and its owners told once. Atomic."""
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(no_key=True).get(pk=delivery_id)
        endpoint = Endpoint.objects.get(pk=delivery.endpoint_id)
        Attempt.objects.create(
            delivery=delivery,
            created_at=now,
            status_code=answer.status_code,
            duration_ms=answer.duration_ms,
            response_body=answer.body[:ANSWER_KEPT].decode("utf-8", "replace").replace("\x00", ""),
            error=answer.error,
        )
        if delivery.status != STATUS.PENDING:  # resent or finished meanwhile
            return delivery
        delivery.attempts += 1
        delivery.last_status_code = answer.status_code
        code = answer.status_code
        if code is not None and 200 <= code < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                STATUS.SUCCEEDED,
                now,
                None,
            )
            Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
        else:
            wait = retry_after(answer, now)
            if code == 410:
                delivery.status, delivery.next_attempt_at = STATUS.FAILED, None
                _disable(endpoint, REASON.GONE)
            elif delivery.attempts > len(schedule := retry_schedule()):
                delivery.status, delivery.next_attempt_at = STATUS.FAILED, None
            else:
                delivery.next_attempt_at = now + (wait or schedule[delivery.attempts - 1])
            _note_failure(endpoint, now)
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "last_status_code",
                "next_attempt_at",
                "delivered_at",
            ]
        )
    return delivery


def _disable(endpoint: Endpoint, reason: str) -> None:
    changed = Endpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
        is_enabled=False, disabled_reason=reason, updated_at=timezone.now()
    )
    if changed:
        endpoints_changed(endpoint.business_id)
        log.warning("webhooks: endpoint %s disabled (%s)", endpoint.pk, reason)
    return changed


def _note_failure(endpoint: Endpoint, now: datetime.datetime) -> None:
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        return
    if (
        endpoint.is_enabled
        and now - endpoint.failing_since >= FAILING_LIMIT
        and _disable(endpoint, REASON.FAILING)
    ):
        _tell_owners(endpoint)


def _tell_owners(endpoint: Endpoint) -> None:
    owners = Membership.objects.filter(
        business_id=endpoint.business_id, role=Membership.Role.OWNER
    ).select_related("user", "business")
    for membership in owners:
        queue_email(
            to=membership.user.email,
            subject=_("A webhook endpoint of %(business)s was disabled")
            % {"business": membership.business.name},
            body=_(
                "Conversa could not deliver events to %(url)s for 5 days, so it stopped "
                "sending to it. Fix the receiver, then enable the endpoint again in "
                "Dashboard → Integrations: the events not yet delivered will follow."
            )
            % {"url": endpoint.url},
            dedupe_key=f"webhooks:disabled:{endpoint.pk}:{endpoint.failing_since:%Y%m%d%H%M%S}:"
            f"{membership.user_id}",
        )


def deliver_endpoint(*, endpoint_id: int, limit: int = BATCH) -> int:
    """Send the endpoint's due deliveries oldest first, up to ``limit``; more left:
    the task is enqueued again. Returns how many were sent."""
    sender_started(endpoint_id)
    sent = 0
    while sent < limit:
        delivery = claim_next(endpoint_id=endpoint_id)
        if delivery is None:
            return sent
        send_delivery(delivery)
        sent += 1
    registered_task("webhooks.tasks.deliver_endpoint").delay(endpoint_id)
    return sent


def dispatch_due(*, now: datetime.datetime | None = None) -> int:
    """Enqueue a sender for every enabled endpoint with a due delivery (the beat):
    retries, and deliveries whose immediate task was lost. Returns how many."""
    endpoint_ids = list(
        _due(now or timezone.now()).values_list("endpoint_id", flat=True).distinct().order_by()
    )
    task = registered_task("webhooks.tasks.deliver_endpoint")
    for endpoint_id in endpoint_ids:
        task.delay(endpoint_id)
    return len(endpoint_ids)


def purge_old_events(*, now: datetime.datetime | None = None, batch: int = 1000) -> int:
    """Delete events older than ``WEBHOOKS_RETENTION_DAYS`` with their deliveries and
    attempts (and older attempts of resent deliveries). Returns the events deleted."""
    cutoff = retention_cutoff(now)
    deleted = 0
    while True:
        ids = list(Event.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            break
        with transaction.atomic():
            Attempt.objects.filter(delivery__event_id__in=ids).delete()
            Delivery.objects.filter(event_id__in=ids).delete()
            deleted += Event.objects.filter(pk__in=ids).delete()[1].get("webhooks.Event", 0)
    Attempt.objects.filter(Q(created_at__lt=cutoff)).delete()
    return deleted
