"""Refunds: the input and the refund as shown."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from chats.serializers import UserRefSerializer
from payments.serializers.common import REFUND_STATUS, FreeTextField, MoneyField


class RefundInputSerializer(serializers.Serializer):
    amount = MoneyField(min_value=1, help_text=_("Minor units (cents), at most what is left."))
    reason = FreeTextField(max_length=500)


class RefundSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    payment_id = serializers.IntegerField()
    status = serializers.CharField(help_text=REFUND_STATUS)
    amount = serializers.IntegerField(help_text=_("Minor units (cents)."))
    fee = serializers.IntegerField(help_text=_("The part of the platform fee given back."))
    currency = serializers.CharField()
    reason = serializers.CharField()
    gateway_reference = serializers.CharField()
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()
    created_by = UserRefSerializer()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
