"""Orders (payment requests) and their line items, snapshotted from the catalog;
the one map of status transitions lives beside the model.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business

USER = settings.AUTH_USER_MODEL


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

    class OutsideMethod(models.TextChoices):
        """How an order was paid when the money never went through the platform
        (nothing posted to the ledger, no fee): the merchant recorded it by hand."""

        PIX_DIRECT = "pix_direct", _("Direct Pix")

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
    # Set when the merchant recorded a payment made straight to them (direct Pix,
    # payments.services.direct_pix): no Payment row, no ledger posting.
    paid_outside = models.CharField(
        _("paid outside the platform"), max_length=20, choices=OutsideMethod.choices, blank=True
    )
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
            models.CheckConstraint(
                condition=Q(paid_outside="") | Q(paid_at__isnull=False),
                name="order_paid_outside_is_paid",
            ),
        ]
        indexes = [models.Index(fields=["business", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"#{self.number}"

    def get_status_display(self) -> str:
        # Django 6.1's own rebuilds a hashable copy of the choices on every call (about
        # 20 µs); a list of 50 orders and every payment card call it.
        label = _STATUS_LABELS.get(self.status)
        return str(label) if label is not None else self.status

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())


_STATUS_LABELS = dict(Order.Status.choices)


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
