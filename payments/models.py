"""Cards, payment PIN and fingerprints, orders (payment requests), payments and the
double-entry ledger.

Money is always an integer number of minor units with a currency (invariant 1). A
card number or CVC never reaches this module: a card is the gateway's token, brand,
last four digits, expiry and holder name (invariant 2). Payments move money once: a
partial unique index allows one live payment per order, and every gateway call is
keyed by the attempt's idempotency key (invariant 3). Ledger entries are
append-only and every transaction sums to zero (invariant 4; enforced again by
PostgreSQL triggers, see docs/payments.md).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business

USER = settings.AUTH_USER_MODEL


# --- Wallet ------------------------------------------------------------------------


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
    """A user's 6-digit payment PIN: a slow hash of an HMAC keyed with a secret from
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


# --- Orders (payment requests) ---------------------------------------------------------


class Order(models.Model):
    """A payment request sent in a conversation; statuses as WhatsApp's."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PROCESSING = "processing", _("Paid")
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
        SHIPPED = "shipped", _("Shipped")
        COMPLETED = "completed", _("Completed")
        CANCELED = "canceled", _("Canceled")
        EXPIRED = "expired", _("Expired")

    # The one map of allowed transitions; services.transition_order checks it.
    TRANSITIONS = {
        Status.PENDING: {Status.PROCESSING, Status.CANCELED, Status.EXPIRED},
        Status.PROCESSING: {Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.COMPLETED},
        Status.PARTIALLY_SHIPPED: {Status.SHIPPED, Status.COMPLETED},
        Status.SHIPPED: {Status.COMPLETED},
        Status.COMPLETED: set(),
        Status.CANCELED: set(),
        Status.EXPIRED: set(),
    }

    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="orders")
    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.PROTECT, related_name="orders"
    )
    customer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="orders")
    number = models.PositiveIntegerField(help_text=_("Sequential per business."))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3)
    subtotal = models.BigIntegerField()
    shipping = models.BigIntegerField(default=0)
    discount = models.BigIntegerField(default=0)
    total = models.BigIntegerField()
    note = models.CharField(_("note"), max_length=500, blank=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The chat message that shows this order (kind "payment_request").
    message = models.ForeignKey(
        "chats.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["business", "number"], name="order_number_unique"),
            models.CheckConstraint(condition=Q(total__gt=0), name="order_total_positive"),
            models.CheckConstraint(
                condition=Q(shipping__gte=0, discount__gte=0, subtotal__gte=0),
                name="order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    total=models.F("subtotal") + models.F("shipping") - models.F("discount")
                ),
                name="order_total_adds_up",
            ),
        ]
        indexes = [models.Index(fields=["business", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"#{self.number}"

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    # Null for a free line, or when the product was deleted later (the snapshot stays).
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=120)
    unit_price = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    line_total = models.BigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="item_price_positive"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="item_quantity_positive"),
            models.CheckConstraint(
                condition=Q(line_total=models.F("unit_price") * models.F("quantity")),
                name="item_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


# --- Payments ----------------------------------------------------------------------------


class Payment(models.Model):
    """One attempt to pay an order with a card. A decline ends the attempt; a retry is
    a new Payment with its own idempotency key."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Confirmation(models.TextChoices):
        PIN = "pin", _("PIN")
        WEBAUTHN = "webauthn", _("Fingerprint")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    payer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="payments_made")
    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    confirmation = models.CharField(max_length=10, choices=Confirmation.choices)
    idempotency_key = models.CharField(max_length=64, unique=True)
    gateway = models.CharField(max_length=20)
    gateway_reference = models.CharField(max_length=255, blank=True)
    funding = models.CharField(max_length=10, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

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
                condition=Q(status__in=["pending", "succeeded"]),
                name="payment_one_live_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} ({self.status})"

    @property
    def net(self) -> int:
        return self.amount - self.fee


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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.endpoint})"


# --- Ledger --------------------------------------------------------------------------------


class LedgerAccount(models.Model):
    """A balance in one currency. ``balance`` caches the sum of its entries (the
    nightly reconciliation checks it); payable accounts may never go below zero."""

    class Kind(models.TextChoices):
        CLEARING = "clearing", _("Gateway clearing")
        REVENUE = "revenue", _("Platform fee revenue")
        MERCHANT_PAYABLE = "merchant_payable", _("Merchant payable")
        USER_WALLET = "user_wallet", _("User wallet")

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
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One posting per payment and kind: a replayed posting fails.
            models.UniqueConstraint(
                fields=["payment", "kind"],
                condition=Q(payment__isnull=False),
                name="ledger_one_posting_per_payment",
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


# --- Shipping ------------------------------------------------------------------------------


class Shipment(models.Model):
    """A parcel the business sent for a paid order: some or all of its items, with the
    carrier and tracking code the customer sees on the shipping card in the chat.
    Numbered per order (1, 2 …); written once, never changed (docs/payments.md,
    "Shipping")."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    number = models.PositiveSmallIntegerField()
    carrier = models.CharField(_("carrier"), max_length=60)
    tracking_code = models.CharField(_("tracking code"), max_length=60)
    tracking_url = models.URLField(_("tracking link"), max_length=500, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="shipment_number_unique"),
        ]

    def __str__(self) -> str:
        return f"shipment {self.number} of order {self.order_id}"


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_item"], name="shipment_item_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="shipment_item_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × item {self.order_item_id}"
