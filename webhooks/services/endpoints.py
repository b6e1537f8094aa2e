"""A business's endpoints: add, edit, enable/disable, delete, rotate the secret, send
a test event, resend a delivery. Owners and admins of the business only; the caller
has fetched the business with ``get_business_for`` and the endpoint or delivery with
``webhooks.selectors`` (another business's is "not found")."""

import datetime
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from accounts.services import require_role
from core.errors import AppError
from core.events import enqueue_on_commit
from webhooks import network, signing
from webhooks.models import EVENT_TYPES, TEST_EVENT, Delivery, Endpoint
from webhooks.services.capture import create_event, endpoints_changed

ADMIN = Membership.Role.ADMIN
MAX_ENDPOINTS = 20
ROTATION = datetime.timedelta(hours=24)
REASON = Endpoint.DisabledReason


def _clean(url, description, event_types) -> tuple[str, str, list[str]]:
    url = network.check_url(url)
    description = str(description or "").replace("\x00", "").strip()
    if len(description) > 200:
        raise AppError(
            _("The description can have at most 200 characters."),
            code="too_long",
            field="description",
        )
    if isinstance(event_types, str) or not isinstance(event_types, Sequence):
        raise AppError(_("Choose event types."), code="invalid", field="event_types")
    chosen = []
    for name in event_types:
        if name not in EVENT_TYPES:
            raise AppError(
                _("Unknown event type: %(name)s.") % {"name": str(name)[:64]},
                code="invalid",
                field="event_types",
            )
        if name not in chosen:
            chosen.append(name)
    # Every type chosen is the same as none: all, and new types later too.
    if len(chosen) == len(EVENT_TYPES):
        chosen = []
    return url, description, [t for t in EVENT_TYPES if t in chosen]


def create_endpoint(
    *, actor: User, business: Business, url: str, description: str = "", event_types=()
) -> Endpoint:
    """A new enabled endpoint with a new secret (show it once). Atomic."""
    require_role(actor, business, ADMIN)
    url, description, event_types = _clean(url, description, event_types)
    with transaction.atomic():
        Business.objects.select_for_update(no_key=True).get(pk=business.pk)
        if Endpoint.objects.filter(business=business).count() >= MAX_ENDPOINTS:
            raise AppError(
                _("A business can have at most %(max)d endpoints.") % {"max": MAX_ENDPOINTS},
                code="too_many",
            )
        endpoint = Endpoint.objects.create(
            business=business,
            url=url,
            description=description,
            event_types=event_types,
            secret=signing.new_secret(),
            created_by=actor,
        )
        endpoints_changed(business.pk)
    return endpoint


def update_endpoint(
    *, actor: User, endpoint: Endpoint, url: str, description: str = "", event_types=()
) -> Endpoint:
    require_role(actor, endpoint.business, ADMIN)
    url, description, event_types = _clean(url, description, event_types)
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            url=url, description=description, event_types=event_types, updated_at=timezone.now()
        )
        endpoints_changed(endpoint.business_id)
    endpoint.url, endpoint.description, endpoint.event_types = url, description, event_types
    return endpoint


def set_enabled(
    *, actor: User | None, endpoint: Endpoint, enabled: bool, reason: str = ""
) -> Endpoint:
    """Enable, or disable with a ``reason`` (``DisabledReason``). ``actor`` None: the
    platform (a 410, or failing for 5 days). Enabling starts a fresh failure count;
    its pending deliveries are sent again from the oldest."""
    if actor is not None:
        require_role(actor, endpoint.business, ADMIN)
        reason = REASON.MANUAL
    with transaction.atomic():
        fields = {
            "is_enabled": enabled,
            "disabled_reason": "" if enabled else reason,
            "updated_at": timezone.now(),
        }
        if enabled:
            fields["failing_since"] = None
        Endpoint.objects.filter(pk=endpoint.pk).update(**fields)
        endpoints_changed(endpoint.business_id)
        if enabled:
            enqueue_on_commit("webhooks.tasks.deliver_endpoint", endpoint.pk, robust=True)
    for name, value in fields.items():
        setattr(endpoint, name, value)
    return endpoint


def delete_endpoint(*, actor: User, endpoint: Endpoint) -> None:
    """Delete the endpoint with its deliveries and their log (the events stay until
    the retention job)."""
    require_role(actor, endpoint.business, ADMIN)
    with transaction.atomic():
        endpoint.delete()
        endpoints_changed(endpoint.business_id)


def rotate_secret(*, actor: User, endpoint: Endpoint) -> Endpoint:
    """A new secret (show it once); the current one keeps signing beside it for 24
    hours, so the receiver can switch without losing a message."""
    require_role(actor, endpoint.business, ADMIN)
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + ROTATION
        locked.secret = signing.new_secret()
        locked.save(
            update_fields=["previous_secret", "previous_secret_expires_at", "secret", "updated_at"]
        )
    return locked


def send_test_event(*, actor: User, endpoint: Endpoint):
    """A ``webhook.test`` event to this endpoint alone (enabled ones only)."""
    require_role(actor, endpoint.business, ADMIN)
    if not endpoint.is_enabled:
        raise AppError(
            _("Enable the endpoint to send it a test event."), code="disabled", status_code=409
        )
    with transaction.atomic():
        return create_event(
            business_id=endpoint.business_id,
            type=TEST_EVENT,
            data={
                "business": {"id": str(endpoint.business_id), "slug": endpoint.business.slug},
                "endpoint_id": str(endpoint.pk),
                "message": "A test event from Conversa.",
            },
            endpoint_ids=[endpoint.pk],
        )


def resend_delivery(*, actor: User, delivery: Delivery) -> Delivery:
    """Send a delivery again now, with the same ``webhook-id``, and a fresh retry
    schedule if it fails. A delivery still pending is simply made due now."""
    require_role(actor, delivery.endpoint.business, ADMIN)
    if not delivery.endpoint.is_enabled:
        raise AppError(
            _("Enable the endpoint to resend its deliveries."), code="disabled", status_code=409
        )
    with transaction.atomic():
        locked = Delivery.objects.select_for_update(no_key=True).get(pk=delivery.pk)
        if Delivery.Status.PENDING not in Delivery.TRANSITIONS[locked.status]:
            raise AppError(_("This delivery cannot be resent."), code="illegal_transition")
        locked.status = Delivery.Status.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "attempts", "next_attempt_at"])
        enqueue_on_commit("webhooks.tasks.deliver_endpoint", locked.endpoint_id, robust=True)
    return locked
