"""Shipments of paid orders and the items each one carries."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from payments.models.orders import Order, OrderItem

USER = settings.AUTH_USER_MODEL


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
