"""Payment requests (orders): their lines, input, filters and pages."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from chats.serializers import BusinessRefSerializer, UserRefSerializer
from core.ids import MAX_ID
from payments.models import Order
from payments.serializers.common import (
    ORDER_STATUS,
    FreeTextField,
    MoneyField,
    PageFilterSerializer,
    StrictIntegerField,
)
from payments.services.orders import MAX_LINES, MAX_QUANTITY


class OrderItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("The item's id, to name it in a shipment."))
    product_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    unit_price = serializers.IntegerField()
    quantity = serializers.IntegerField()
    line_total = serializers.IntegerField()


class OrderSummarySerializer(serializers.Serializer):
    """An order in a list (no items: a list costs the same queries whatever its length)."""

    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text=_("Sequential per business."))
    status = serializers.CharField(help_text=ORDER_STATUS)
    currency = serializers.CharField()
    total = serializers.IntegerField(help_text=_("Minor units (cents)."))
    customer = UserRefSerializer()
    conversation_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class OrderSerializer(OrderSummarySerializer):
    business = BusinessRefSerializer()
    subtotal = serializers.IntegerField()
    shipping = serializers.IntegerField()
    discount = serializers.IntegerField()
    note = serializers.CharField()
    items = OrderItemSerializer(many=True, source="items.all")
    paid_outside = serializers.ChoiceField(
        choices=[("", ""), *Order.OutsideMethod.choices],
        help_text=_(
            'How the order was paid outside the platform ("pix_direct": the business '
            'recorded a Pix to its own key; no fee, no ledger), or "".'
        ),
    )


class OrderLineInputSerializer(serializers.Serializer):
    """A catalog product (``product_id``) or a free line (``name`` and ``unit_price``)."""

    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    name = FreeTextField(max_length=120, required=False)
    unit_price = MoneyField(required=False, help_text=_("Minor units (cents), above zero."))
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)

    def validate(self, attrs):
        if ("product_id" in attrs) == ("name" in attrs):
            raise serializers.ValidationError(_("Send either product_id, or name and unit_price."))
        if "name" in attrs and "unit_price" not in attrs:
            raise serializers.ValidationError({"unit_price": _("Give the item a price.")})
        return attrs


class OrderInputSerializer(serializers.Serializer):
    lines = OrderLineInputSerializer(many=True, max_length=MAX_LINES, allow_empty=False)
    shipping = MoneyField(default=0)
    discount = MoneyField(default=0)
    note = FreeTextField(max_length=500, required=False, allow_blank=True, default="")
    expires_in_hours = StrictIntegerField(min_value=1, max_value=7 * 24, default=24)


class OrderFilterSerializer(PageFilterSerializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)


class OrderPageSerializer(serializers.Serializer):
    results = OrderSummarySerializer(many=True)
    next = serializers.URLField(allow_null=True)
