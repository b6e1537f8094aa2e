"""Payout destinations (bank accounts and Pix keys), never shown in full."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from payments.banks import bank_name

USER = settings.AUTH_USER_MODEL


def _mask_keep(text: str, keep_start: int, keep_end: int) -> str:
    hidden = len(text) - keep_start - keep_end
    if hidden <= 0:
        return "•" * len(text)
    return text[:keep_start] + "•" * hidden + (text[-keep_end:] if keep_end else "")


def mask_document(digits: str) -> str:
    """A CPF as ``•••.456.789-••`` (the way Brazilian public bodies print it), a
    CNPJ as ``••.•••.678/0001-••``."""
    if len(digits) == 11:
        return f"•••.{digits[3:6]}.{digits[6:9]}-••"
    if len(digits) == 14:
        return f"••.•••.{digits[5:8]}/{digits[8:12]}-••"
    return _mask_keep(digits, 0, 2)


class PayoutDestination(models.Model):
    """Where payouts go: a Brazilian bank account or a Pix key, of a business (owners
    manage it) or of a user (their wallet's withdrawals). Never shown in full: every
    page, the admin, the API and ``__str__`` use :meth:`masked`. Removed ones stay
    (past payouts point at them)."""

    class Kind(models.TextChoices):
        BANK_ACCOUNT = "bank_account", _("Bank account")
        PIX = "pix", _("Pix key")

    class AccountType(models.TextChoices):
        CHECKING = "checking", _("Checking")
        SAVINGS = "savings", _("Savings")

    class PixKeyType(models.TextChoices):
        CPF = "cpf", "CPF"
        CNPJ = "cnpj", "CNPJ"
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        RANDOM = "random", _("Random key")

    business = models.ForeignKey(
        Business,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_destinations",
    )
    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="payout_destinations"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    bank_code = models.CharField(max_length=3, blank=True)
    branch = models.CharField(max_length=4, blank=True)
    branch_digit = models.CharField(max_length=1, blank=True)
    account_number = models.CharField(max_length=20, blank=True)
    account_digit = models.CharField(max_length=1, blank=True)
    account_type = models.CharField(max_length=10, choices=AccountType.choices, blank=True)
    holder_name = models.CharField(max_length=100, blank=True)
    holder_document = models.CharField(max_length=14, blank=True)  # CPF or CNPJ digits
    pix_key_type = models.CharField(max_length=10, choices=PixKeyType.choices, blank=True)
    pix_key = models.CharField(max_length=77, blank=True)  # normalized (E.164, lower case)
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(default=now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(business__isnull=False, user__isnull=True)
                | Q(business__isnull=True, user__isnull=False),
                name="destination_one_holder",
            ),
            models.UniqueConstraint(
                fields=["business"],
                condition=Q(is_default=True, removed_at__isnull=True, business__isnull=False),
                name="destination_one_default_per_business",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default=True, removed_at__isnull=True, user__isnull=False),
                name="destination_one_default_per_user",
            ),
        ]

    def __str__(self) -> str:
        return self.masked()

    def masked(self) -> str:
        """What people see: enough to recognise it, never enough to copy it."""
        if self.kind == self.Kind.BANK_ACCOUNT:
            account = _mask_keep(self.account_number, 0, 3) + (
                f"-{self.account_digit}" if self.account_digit else ""
            )
            return _("%(bank)s (%(code)s) · %(type)s %(account)s") % {
                "bank": bank_name(self.bank_code),
                "code": self.bank_code,
                "type": self.get_account_type_display().lower(),
                "account": account,
            }
        return _("Pix %(type)s %(key)s") % {
            "type": self.get_pix_key_type_display(),
            "key": self.masked_key(),
        }

    def masked_key(self) -> str:
        key, kind = self.pix_key, self.pix_key_type
        if kind in (self.PixKeyType.CPF, self.PixKeyType.CNPJ):
            return mask_document(key)
        if kind == self.PixKeyType.EMAIL:
            local, _at, domain = key.partition("@")
            return f"{local[:1]}•••@{domain}"
        if kind == self.PixKeyType.PHONE:  # +5511987654321
            return f"{key[:3]} {key[3:5]} •••••-{key[-4:]}"
        return f"{key[:4]}••••-••••-••••-••••-••••••••{key[-4:]}"

    def masked_key_or_blank(self) -> str:
        return self.masked_key() if self.kind == self.Kind.PIX else ""

    def holder_masked(self) -> str:
        return mask_document(self.holder_document) if self.holder_document else ""
