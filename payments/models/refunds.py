"""Refunds of merchant payments."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from payments.models.orders import Order
from payments.models.paying import Payment

USER = settings.AUTH_USER_MODEL


class Refund(models.Model):
    """Part or all of a merchant payment given back to the card. Claimed (pending, with
    its ledger posting) under a lock on the payment, then sent to the gateway with
    ``idempotency_key``, then settled: succeeded (``gateway_reference`` set) or failed
    (a reversal posting). See docs/payments.md, "Refunds"."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    # The part of our fee given back (proportional; the refund completing the payment
    # takes the remainder). The merchant is debited amount − fee.
    fee = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=64, unique=True)
    gateway = models.CharField(max_length=20)
    gateway_reference = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(fee__gte=0, fee__lte=models.F("amount")), name="refund_fee_in_range"
            ),
            # One gateway refund per Refund, and never one gateway refund twice.
            models.UniqueConstraint(
                fields=["gateway", "gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="refund_gateway_reference_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | ~Q(gateway_reference=""),
                name="refund_succeeded_has_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} ({self.status})"
