"""Collected Pix (docs/pix.md, "Collected Pix: the flow"): a dynamic charge per Pix
attempt at an order (:class:`PixCharge`), every Pix the provider reports
(:class:`ReceivedPix`, unique by its ``endToEndId``: the callback's idempotency), and
the built-in sandbox provider's own books (:class:`SandboxPixCharge`,
:class:`SandboxPix`), kept in the database so that the web processes, the worker and
the sandbox bank page see the same state on SQLite and on PostgreSQL.

A Pix that pays a charge becomes a :class:`~payments.models.Payment` with method
``pix`` through the same order, ledger and receipt as a card. A Pix that cannot pay
(unknown txid, another amount, a charge already paid, too late, an order paid by card)
is a :class:`ReceivedPix` with an ``anomaly``, returned through the provider
automatically where it can be (``refund_status``) and listed for the operator.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from payments.models.orders import Order
from payments.models.paying import Payment

USER = settings.AUTH_USER_MODEL


class PixCharge(models.Model):
    """One dynamic charge (``cob``) at the provider for an order: what the customer's
    QR code and "Pix Copia e Cola" code pay. At most one active charge per order."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Awaiting the Pix")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELED = "canceled", _("Canceled")

    TRANSITIONS = {
        Status.ACTIVE: {Status.PAID, Status.EXPIRED, Status.CANCELED},
        Status.PAID: set(),
        Status.EXPIRED: set(),
        Status.CANCELED: set(),
    }

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="pix_charges")
    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=20)
    txid = models.CharField(max_length=35, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="BRL")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    copy_paste = models.TextField(_("Pix Copia e Cola"), blank=True)
    location = models.CharField(max_length=255, blank=True)
    # The order's expiry at most, and never past the provider's calendario.expiracao.
    expires_at = models.DateTimeField()
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="pix_charge"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="pix_charge_amount_positive"),
            models.CheckConstraint(
                condition=Q(txid__regex=r"^[a-zA-Z0-9]{26,35}$"), name="pix_charge_txid_format"
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="active"), name="pix_charge_one_active"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Pix charge {self.txid} ({self.status})"


class ReceivedPix(models.Model):
    """A Pix the provider reported (callback or reconciliation): unique by its
    ``endToEndId``, so a replayed callback changes nothing."""

    class Anomaly(models.TextChoices):
        NONE = "", _("None: it paid its order")
        UNKNOWN_TXID = "unknown_txid", _("Unknown txid")
        AMOUNT_DIFFERS = "amount_differs", _("Amount differs from the charge")
        ALREADY_PAID = "already_paid", _("Second payment of a paid charge")
        LATE = "late", _("After the charge expired")
        PAID_BY_CARD = "paid_by_card", _("Order already paid by card")
        NOT_PAYABLE = "not_payable", _("Order can no longer be paid")

    class RefundStatus(models.TextChoices):
        NONE = "", _("Not needed")
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing at the provider")
        RETURNED = "returned", _("Returned to the payer")
        FAILED = "failed", _("Failed: handle by hand")

    provider = models.CharField(max_length=20)
    end_to_end_id = models.CharField(max_length=64, unique=True)
    txid = models.CharField(max_length=35, blank=True)
    amount = models.BigIntegerField()
    paid_at = models.DateTimeField()
    payer_name = models.CharField(max_length=140, blank=True)
    charge = models.ForeignKey(
        PixCharge, on_delete=models.PROTECT, null=True, blank=True, related_name="received"
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="received_pix"
    )
    anomaly = models.CharField(max_length=20, choices=Anomaly.choices, blank=True, default="")
    refund_status = models.CharField(
        max_length=12, choices=RefundStatus.choices, blank=True, default=""
    )
    refund_id = models.CharField(max_length=35, blank=True)
    refund_reference = models.CharField(max_length=64, blank=True)
    refund_error = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("received Pix")
        verbose_name_plural = _("received Pix")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="received_pix_amount_positive"),
            # Paid an order, or an anomaly: never both, never neither.
            models.CheckConstraint(
                condition=Q(anomaly="", payment__isnull=False)
                | (~Q(anomaly="") & Q(payment__isnull=True)),
                name="received_pix_paid_or_anomaly",
            ),
        ]
        indexes = [models.Index(fields=["anomaly", "refund_status"])]

    def __str__(self) -> str:
        return f"Pix {self.end_to_end_id}"


class PixAnomaly(ReceivedPix):
    """The received Pix that paid nothing: the operator's list in Django admin."""

    class Meta:
        proxy = True
        verbose_name = _("Pix anomaly")
        verbose_name_plural = _("Pix anomalies")


class SandboxPixCharge(models.Model):
    """The sandbox provider's own record of a ``cob`` (what a PSP keeps)."""

    txid = models.CharField(max_length=35, unique=True)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=40)
    payee_name = models.CharField(max_length=140, blank=True)
    payee_city = models.CharField(max_length=80, blank=True)
    description = models.CharField(max_length=140, blank=True)
    copy_paste = models.TextField()
    location = models.CharField(max_length=255, unique=True)
    expires_in = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"sandbox cob {self.txid}"


class SandboxPix(models.Model):
    """A Pix paid in the sandbox bank, with the returns (``devolucao``) made of it."""

    end_to_end_id = models.CharField(max_length=64, unique=True)
    txid = models.CharField(max_length=35, blank=True)
    amount = models.BigIntegerField()
    paid_at = models.DateTimeField(default=now)
    payer_name = models.CharField(max_length=140, blank=True)
    # [{"id", "amount", "status", "rtr_id"}], changed under this row's lock.
    refunds = models.JSONField(default=list, blank=True)
    delivered = models.BooleanField(default=False)

    class Meta:
        ordering = ["paid_at", "id"]

    def __str__(self) -> str:
        return f"sandbox Pix {self.end_to_end_id}"
