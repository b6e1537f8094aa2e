"""The double-entry ledger: accounts, transactions (postings) and their entries.
Entries are append-only and every transaction sums to zero (invariant 4; enforced
again by PostgreSQL triggers, see docs/payments.md).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from payments.models.paying import Payment
from payments.models.refunds import Refund

USER = settings.AUTH_USER_MODEL


class LedgerAccount(models.Model):
    """A balance in one currency. ``balance`` caches the sum of its entries (the
    nightly reconciliation checks it); payable accounts may never go below zero."""

    class Kind(models.TextChoices):
        CLEARING = "clearing", _("Gateway clearing")
        REVENUE = "revenue", _("Platform fee revenue")
        MERCHANT_PAYABLE = "merchant_payable", _("Merchant payable")
        USER_WALLET = "user_wallet", _("User wallet")
        PAYOUTS_IN_TRANSIT = "payouts_in_transit", _("Payouts in transit")
        SETTLEMENT = "settlement", _("Settlement bank account")

    code = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    balance = models.BigIntegerField(default=0)
    # System accounts (clearing, revenue) are not locked per payment and may be
    # negative (clearing is money the gateway owes us).
    is_system = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(is_system=True) | Q(balance__gte=0), name="ledger_payable_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class LedgerTransaction(models.Model):
    kind = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=255, blank=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_transactions"
    )
    payout = models.ForeignKey(
        "Payout",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_transactions",
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_transactions"
    )
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One posting per payment and kind: a replayed posting fails.
            models.UniqueConstraint(
                fields=["payment", "kind"],
                condition=Q(payment__isnull=False, refund__isnull=True),
                name="ledger_one_posting_per_payment",
            ),
            # The same for payouts (created, paid, reversed: once each).
            models.UniqueConstraint(
                fields=["payout", "kind"],
                condition=Q(payout__isnull=False),
                name="ledger_one_posting_per_payout",
            ),
            # One posting per refund and kind (the refund; its reversal if it failed).
            models.UniqueConstraint(
                fields=["refund", "kind"],
                condition=Q(refund__isnull=False),
                name="ledger_one_posting_per_refund",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    # Signed, from the account holder's side: positive credits (the platform owes the
    # holder more: merchant payable, fee revenue), negative debits (clearing: what the
    # gateway owes us). A transaction's entries sum to zero.
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d}"
