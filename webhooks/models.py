"""Outbound webhooks (docs/webhooks.md): a business's endpoints, the events that
happened to it, and each event's delivery to each endpoint with its attempts.

- An :class:`Endpoint` is a URL of the merchant's own system, the event types it wants
  (none: all) and its signing secret (``whsec_`` + base64). During a rotation the
  previous secret signs too, until ``previous_secret_expires_at``.
- An :class:`Event` is written in the transaction that causes it
  (``core.domain_events``); its ``msg_id`` is the ``webhook-id`` of every attempt.
- A :class:`Delivery` is one event for one endpoint: ``pending`` until a 2xx answer
  (``succeeded``) or the last retry (``failed``); ``next_attempt_at`` is when it is
  due, or the end of the lease of the worker sending it.
- An :class:`Attempt` is one HTTP request: when, the status code, how long, the first
  2 kB of the answer or the error.

Everything but the endpoints is deleted after ``WEBHOOKS_RETENTION_DAYS`` (30).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Business

# The events a merchant can subscribe to (docs/webhooks.md has their payloads).
EVENT_TYPES = (
    "conversation.created",
    "conversation.status_changed",
    "message.created",
    "contact.created",
    "contact.opted_out",
    "order.created",
    "order.paid",
    "order.expired",
    "order.canceled",
    "order.shipped",
    "order.delivered",
    "refund.created",
    "payout.paid",
    "payout.failed",
    "rating.submitted",
)
# Sent by "Send a test event" to one endpoint, whatever it subscribed to.
TEST_EVENT = "webhook.test"


class Endpoint(models.Model):
    class DisabledReason(models.TextChoices):
        NONE = "", _("Enabled")
        MANUAL = "manual", _("Disabled by the business")
        GONE = "gone", _("The receiver answered 410 Gone")
        FAILING = "failing", _("Failing for 5 days")

    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(
        _("event types"), default=list, blank=True, help_text=_("None: every event type.")
    )
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(
        max_length=10, choices=DisabledReason.choices, default=DisabledReason.NONE, blank=True
    )
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["business", "is_enabled"], name="webhooks_endpoint_on")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Event(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=64)
    msg_id = models.CharField(max_length=40, unique=True)
    # Written by the sender before the first attempt, from the subject as it is then
    # (capture.ensure_payload); null until then. A test event has it at once.
    payload = models.JSONField(null=True, help_text=_('{"type", "timestamp", "data"}'))
    subject_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.msg_id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    # The one map of allowed moves (services.delivery checks it): "resend" puts a
    # finished delivery back to pending.
    TRANSITIONS = {
        Status.PENDING: {Status.PENDING, Status.SUCCEEDED, Status.FAILED},
        Status.SUCCEEDED: {Status.PENDING},
        Status.FAILED: {Status.PENDING},
    }

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(
        default=0, help_text=_("Attempts since it was created or resent.")
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhooks_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="webhooks_delivery_due",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    created_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, help_text=_("The first 2 kB of the answer."))
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.created_at:%Y-%m-%d %H:%M:%S}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
