"""Shipping a paid order: the shipment input, a shipment, and an order's shipping
state (what is left to ship of each item, and the shipments so far)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.ids import MAX_ID
from payments.serializers.common import ORDER_STATUS, FreeTextField, StrictIntegerField
from payments.services.orders import MAX_LINES, MAX_QUANTITY
from payments.services.shipping import MAX_CARRIER, MAX_CODE, MAX_URL


class ShipmentItemInputSerializer(serializers.Serializer):
    order_item_id = StrictIntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("An item of the order (`items[].id`).")
    )
    quantity = StrictIntegerField(
        min_value=1, max_value=MAX_QUANTITY, help_text=_("At most what is left to ship of it.")
    )


class ShipmentInputSerializer(serializers.Serializer):
    """Only bounds what is sent; the rules (what is left to ship, the order's status,
    the tracking code's characters, the link's scheme) are the shipping service's."""

    carrier = FreeTextField(max_length=MAX_CARRIER)
    tracking_code = serializers.CharField(max_length=MAX_CODE)
    tracking_url = serializers.CharField(
        max_length=MAX_URL,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Optional: an http:// or https:// link where the customer can follow it."),
    )
    items = ShipmentItemInputSerializer(
        many=True,
        required=False,
        allow_empty=False,
        max_length=MAX_LINES,
        help_text=_("Which items, how many of each. Leave it out to ship everything left."),
    )

    def validate_items(self, items):
        ids = [item["order_item_id"] for item in items]
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError(_("Name each item once."))
        return items


class ShipmentItemSerializer(serializers.Serializer):
    order_item_id = serializers.IntegerField(source="order_item.pk")
    name = serializers.CharField(source="order_item.name")
    quantity = serializers.IntegerField()


class ShipmentSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text=_("1, 2 … per order."))
    carrier = serializers.CharField()
    tracking_code = serializers.CharField()
    tracking_url = serializers.CharField(help_text=_("Empty when none was given."))
    created_at = serializers.DateTimeField()
    items = ShipmentItemSerializer(many=True, source="items.all")


class ShipmentCreatedSerializer(ShipmentSerializer):
    order_id = serializers.IntegerField()
    order_status = serializers.CharField(
        source="order.status", help_text=_("partially_shipped or shipped.")
    )


class ShippingItemSerializer(serializers.Serializer):
    order_item_id = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(help_text=_("Ordered."))
    left = serializers.IntegerField(help_text=_("Not shipped yet."))


class OrderShippingSerializer(serializers.Serializer):
    """What is left to ship of each item, and the shipments so far (oldest first)."""

    order_id = serializers.IntegerField()
    order_status = serializers.CharField(help_text=ORDER_STATUS)
    items = ShippingItemSerializer(many=True)
    shipments = ShipmentSerializer(many=True)
