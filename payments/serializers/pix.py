"""Collected Pix of an order: its charge (the BR Code to pay) as the customer sees it."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class PixChargeSerializer(serializers.Serializer):
    txid = serializers.CharField()
    status = serializers.CharField(
        help_text=_("active (awaiting the Pix), paid, expired or canceled.")
    )
    amount = serializers.IntegerField(help_text=_("Minor units (centavos)."))
    currency = serializers.CharField()
    copy_paste = serializers.CharField(
        help_text=_("The BR Code (“Pix Copia e Cola”): show it as a QR code or copy it.")
    )
    expires_at = serializers.DateTimeField()
    payee_name = serializers.CharField(source="business.name")
    payee_city = serializers.CharField(source="business.city")
    order_id = serializers.IntegerField()
    order_status = serializers.CharField(
        source="order.status", help_text=_("The order's status: processing once paid.")
    )
    payment_id = serializers.IntegerField(allow_null=True)


class DirectPixSerializer(serializers.Serializer):
    """Direct Pix of a pending order (``payments.pix.direct.DirectPix``): the static code
    to the business's own Pix key."""

    code = serializers.CharField(
        help_text=_("The static BR Code (“Pix Copia e Cola”) with the amount and the txid.")
    )
    payee = serializers.CharField(help_text=_("The name the payer's bank shows."))
    city = serializers.CharField()
    key_masked = serializers.CharField(help_text=_("The business's Pix key, partly hidden."))
    txid = serializers.CharField()
    amount = serializers.IntegerField(help_text=_("Minor units (centavos)."))
    currency = serializers.CharField()
