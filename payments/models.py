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
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")

    # The one map of allowed transitions; services.transition_order checks it. A paid
    # order can be refunded at any stage; a partly refunded one can still ship, be
    # refunded again (partially_refunded → partially_refunded records each refund) or
    # be refunded in full.
    _REFUNDS = {Status.PARTIALLY_REFUNDED, Status.REFUNDED}
    TRANSITIONS = {
        Status.PENDING: {Status.PROCESSING, Status.CANCELED, Status.EXPIRED},
        Status.PROCESSING: {Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.COMPLETED, *_REFUNDS},
        Status.PARTIALLY_SHIPPED: {Status.SHIPPED, Status.COMPLETED, *_REFUNDS},
        Status.SHIPPED: {Status.COMPLETED, *_REFUNDS},
        Status.COMPLETED: {*_REFUNDS},
        Status.CANCELED: set(),
        Status.EXPIRED: set(),
        Status.PARTIALLY_REFUNDED: {Status.SHIPPED, Status.COMPLETED, *_REFUNDS},
        Status.REFUNDED: set(),
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
    """One attempt to pay with a card: an order (to its business) or a friend (person
    to person: ``payee`` set, no order, no business, no fee). A decline ends the
    attempt; a retry is a new Payment with its own idempotency key."""

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
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="payments")
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


class MoneyRequest(models.Model):
    """A request card in a direct conversation: ``requester`` asks ``payer`` for an
    amount; the payer pays it in one step (a person-to-person payment)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CANCELED = "canceled", _("Canceled")
        DECLINED = "declined", _("Declined")

    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.PROTECT, related_name="money_requests"
    )
    requester = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(
        "chats.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="money_request_amount_positive"),
            models.CheckConstraint(
                condition=~Q(requester=models.F("payer")), name="money_request_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"money request {self.pk} ({self.status})"


class P2PLimits(models.Model):
    """Person-to-person limits, edited in Django admin (one row, made with the
    defaults of WhatsApp Pay Brazil on first use). See docs/payments.md."""

    currency = models.CharField(_("currency"), max_length=3, default="BRL")
    max_per_payment = models.BigIntegerField(_("most per payment (minor units)"), default=100_000)
    max_received_per_day = models.PositiveIntegerField(
        _("most payments a person receives per day"), default=20
    )
    max_sent_per_month = models.BigIntegerField(
        _("most a person sends per calendar month (minor units)"), default=500_000
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person-to-person limits")
        verbose_name_plural = _("person-to-person limits")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_per_payment__gt=0, max_sent_per_month__gt=0),
                name="p2p_limits_positive",
            ),
        ]

    def __str__(self) -> str:
        return str(_("person-to-person limits"))

    @classmethod
    def current(cls) -> "P2PLimits":
        limits = cls.objects.order_by("pk").first()
        if limits is None:
            limits, _created = cls.objects.get_or_create(pk=1)
        return limits


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


# --- Ledger --------------------------------------------------------------------------------


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


# --- Payouts --------------------------------------------------------------------------


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
        from payments.banks import bank_name

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
        from payments.payout_bank import failure_message

        return failure_message(self.failure_code, self.failure_message) if self.failure_code else ""


# --- Reconciliation -------------------------------------------------------------------


class ReconciliationRun(models.Model):
    """One run of the reconciliation checks (``manage.py reconcile``, nightly beat)."""

    started_at = models.DateTimeField(default=now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    checks = models.JSONField(default=list)
    discrepancy_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} ({self.discrepancy_count} discrepancies)"


class Discrepancy(models.Model):
    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="discrepancies"
    )
    check_name = models.CharField(max_length=60)
    subject = models.CharField(max_length=120)  # e.g. "ledger transaction 12"
    detail = models.TextField()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "discrepancies"

    def __str__(self) -> str:
        return f"{self.check_name}: {self.subject}"


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
