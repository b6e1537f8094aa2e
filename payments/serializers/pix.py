"""Collected Pix of an order: its charge (the BR Code to pay) as the customer sees it."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from payments.models import Order, PixCharge


class PixChargeSerializer(serializers.Serializer):
    txid = serializers.CharField()
    status = serializers.ChoiceField(choices=PixCharge.Status.choices)
    amount = serializers.IntegerField(help_text=_("Minor units (centavos)."))
    currency = serializers.CharField()
    copy_paste = serializers.CharField(
        help_text=_("The BR Code (“Pix Copia e Cola”): show it as a QR code or copy it.")
    )
    expires_at = serializers.DateTimeField()
    payee_name = serializers.CharField(source="business.name")
    payee_city = serializers.CharField(source="business.city")
    order_id = serializers.IntegerField()
    order_status = serializers.ChoiceField(source="order.status", choices=Order.Status.choices)
    payment_id = serializers.IntegerField(allow_null=True)
