"""Wallet cards and their security: the card (the gateway's token, never a
number or CVC: invariant 2), the payment PIN, fingerprints (WebAuthn credentials)
and single-use WebAuthn challenges.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class Card(models.Model):
    class Brand(models.TextChoices):
        VISA = "visa", "Visa"
        MASTERCARD = "mastercard", "Mastercard"

    class Funding(models.TextChoices):
        CREDIT = "credit", _("Credit")
        DEBIT = "debit", _("Debit")

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="cards")
    gateway = models.CharField(max_length=20)
    token = models.CharField(max_length=255)
    brand = models.CharField(max_length=20, choices=Brand.choices)
    funding = models.CharField(max_length=10, choices=Funding.choices, default=Funding.CREDIT)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    holder_name = models.CharField(_("name on the card"), max_length=100)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now, editable=False)
    # Removed cards stay: past payments point at them.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "token"], name="card_token_unique"),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="card_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_brand_display()} •••• {self.last4}"


class PaymentPin(models.Model):
    """A user's 6-digit payment PIN: a scrypt hash of an HMAC keyed with a secret from
    the environment (``PAYMENT_PIN_PEPPER``), never the PIN; and the attempt counter,
    changed only under a lock on this row."""

    user = models.OneToOneField(
        USER, on_delete=models.CASCADE, primary_key=True, related_name="payment_pin"
    )
    pin_hash = models.CharField(max_length=255)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # After 5 consecutive failures: only a reset with the account password unlocks.
    needs_reset = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"payment PIN of {self.user_id}"


class WebAuthnCredential(models.Model):
    """A fingerprint (platform authenticator) registered to confirm payments."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="webauthn_credentials")
    credential_id = models.BinaryField(unique=True)
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    name = models.CharField(_("name"), max_length=60)
    created_at = models.DateTimeField(default=now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name


class Challenge(models.Model):
    """A single-use WebAuthn challenge: registering a credential, or confirming one
    payment (then bound to its id, amount, currency and payee)."""

    class Purpose(models.TextChoices):
        REGISTER = "register", _("Register a fingerprint")
        PAY = "pay", _("Confirm a payment")

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    nonce = models.CharField(max_length=64, unique=True)
    challenge = models.BinaryField()
    order = models.ForeignKey("Order", on_delete=models.CASCADE, null=True, blank=True)
    payment = models.ForeignKey("Payment", on_delete=models.CASCADE, null=True, blank=True)
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    payee = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} challenge {self.pk}"
