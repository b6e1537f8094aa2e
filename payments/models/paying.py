"""Payments (one attempt each, keyed by its idempotency key: invariant 3), the
append-only audit trail of order and payment state changes, and the API's stored
idempotent responses.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from payments.models.cards import Card
from payments.models.orders import Order

USER = settings.AUTH_USER_MODEL


class Payment(models.Model):
    """One attempt to pay with a card: an order (to its business) or a friend (person
    to person: ``payee`` set, no order, no business, no fee). A decline ends the
    attempt; a retry is a new Payment with its own idempotency key.

    Or a collected Pix (``method`` pix, no card): created succeeded when the provider
    reports the Pix that paid the order's charge (``payments.services.pix``), its
    ``gateway`` the provider (``pix_<name>``) and ``gateway_reference`` the Pix's
    ``endToEndId``."""

    class Method(models.TextChoices):
        CARD = "card", _("Card")
        PIX = "pix", _("Pix")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")

    # Charged (money moved), whatever was refunded since.
    SETTLED = (Status.SUCCEEDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)
    # Pending or charged: at most one per order and per money request.
    LIVE = (Status.PENDING, *SETTLED)

    class Confirmation(models.TextChoices):
        PIN = "pin", _("PIN")
        WEBAUTHN = "webauthn", _("Fingerprint")
        BANK = "bank", _("Payer's bank app")  # Pix: the bank authenticated the payer

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    payer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="payments_made")
    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    # Person to person: the friend paid (their wallet is credited), in a direct
    # conversation, maybe answering a money request.
    payee = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="payments_received"
    )
    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    money_request = models.ForeignKey(
        "MoneyRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.CARD)
    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    amount = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    # Refunds pending or succeeded (changed only under a lock on this row, with the
    # Refund row that accounts for it): what is left to refund is amount − refunded.
    refunded = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    confirmation = models.CharField(max_length=10, choices=Confirmation.choices)
    idempotency_key = models.CharField(max_length=64, unique=True)
    gateway = models.CharField(max_length=20)
    gateway_reference = models.CharField(max_length=255, blank=True)
    funding = models.CharField(max_length=10, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    # A recovery (payments.services.recovery) is asking the gateway about this pending
    # payment until then; another one waits (conditional UPDATE: one claim at a time).
    recovery_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(fee__gte=0, fee__lte=models.F("amount")), name="payment_fee_in_range"
            ),
            # At most one live (pending or succeeded) payment per order: the database's
            # own guarantee that an order is charged once.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["pending", "succeeded", "partially_refunded", "refunded"]),
                name="payment_one_live_per_order",
            ),
            models.UniqueConstraint(
                fields=["money_request"],
                condition=Q(status__in=["pending", "succeeded", "partially_refunded", "refunded"]),
                name="payment_one_live_per_money_request",
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0, refunded__lte=models.F("amount")),
                name="payment_refunded_in_range",
            ),
            # A merchant payment (an order of a business) or a person-to-person one (a
            # payee user, no fee), never both.
            models.CheckConstraint(
                condition=Q(
                    payee__isnull=True, conversation__isnull=True, money_request__isnull=True
                )
                | Q(
                    payee__isnull=False,
                    conversation__isnull=False,
                    order__isnull=True,
                    business__isnull=True,
                    fee=0,
                ),
                name="payment_merchant_or_p2p",
            ),
            # A card payment has its card; a Pix one none, and pays an order.
            models.CheckConstraint(
                condition=Q(method="card", card__isnull=False)
                | Q(method="pix", card__isnull=True, order__isnull=False),
                name="payment_method_card_or_pix",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} ({self.status})"

    @property
    def net(self) -> int:
        return self.amount - self.fee

    @property
    def is_p2p(self) -> bool:
        return self.payee_id is not None

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded


class AuditEvent(models.Model):
    """Append-only record of every order and payment state change."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.from_status}→{self.to_status}"


class IdempotencyRecord(models.Model):
    """An API request made with an ``Idempotency-Key``: its first response, replayed
    for a repeat; kept at least 24 hours."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    # While no response is stored: the request running it holds the key until then
    # (payments.idempotency.LEASE); a retry after it takes the key over.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.endpoint})"
