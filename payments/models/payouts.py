"""Payouts and the operator's (and owner's) control over them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from payments.models.destinations import PayoutDestination
from payments.payout_bank import failure_message

USER = settings.AUTH_USER_MODEL


class PayoutControl(models.Model):
    """A platform operator's hold on a business's payouts (Django admin): while
    ``paused``, the payout job skips the business and shows ``reason`` to it. Also
    the owner's choice of automatic payouts (``schedule``); no row means daily."""

    class Schedule(models.TextChoices):
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Every Monday")
        OFF = "off", _("Off: only when I ask")

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, primary_key=True, related_name="payout_control"
    )
    paused = models.BooleanField(_("payouts paused"), default=False)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    schedule = models.CharField(
        _("automatic payouts"), max_length=10, choices=Schedule.choices, default=Schedule.DAILY
    )
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"payouts of {self.business_id}: {'paused' if self.paused else 'on'}"


class Payout(models.Model):
    """Money leaving the platform to a destination: a business's available balance
    (the scheduled job) or a user's wallet (a withdrawal). Moves once: the unique
    ``idempotency_key`` (one scheduled payout per business, currency and day; one
    withdrawal per client key) decides between two workers or a replay."""

    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", _("In transit")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    TRANSITIONS = {
        Status.IN_TRANSIT: {Status.PAID, Status.FAILED},
        Status.PAID: set(),
        Status.FAILED: set(),
    }

    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )
    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )
    destination = models.ForeignKey(
        PayoutDestination, on_delete=models.PROTECT, related_name="payouts"
    )
    # The masked destination as it was when the payout was made.
    destination_label = models.CharField(max_length=120)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_TRANSIT)
    idempotency_key = models.CharField(max_length=100, unique=True)
    bank = models.CharField(max_length=20)
    bank_reference = models.CharField(max_length=100, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    # As the bank said it, in the language the worker ran in: pages show failure_reason.
    failure_message = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(business__isnull=False, user__isnull=True)
                | Q(business__isnull=True, user__isnull=False),
                name="payout_one_holder",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"payout {self.pk} ({self.status})"

    @property
    def failure_reason(self) -> str:
        """Why the bank refused it, in the viewer's language (its code translated)."""
        return failure_message(self.failure_code, self.failure_message) if self.failure_code else ""
