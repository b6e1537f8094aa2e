"""Person to person: sending money, options, P2P payments and money requests."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from chats.serializers import UserRefSerializer
from payments.serializers.common import (
    MONEY_REQUEST_STATUS,
    PAYMENT_STATUS,
    FreeTextField,
    MoneyField,
)
from payments.serializers.paying import PayInputSerializer


class MoneyInputSerializer(serializers.Serializer):
    amount = MoneyField(min_value=1)
    currency = serializers.CharField(max_length=3, default="BRL")
    note = FreeTextField(max_length=200, required=False, allow_blank=True, default="")


class SendMoneyInputSerializer(MoneyInputSerializer, PayInputSerializer):
    pass


class P2POptionsInputSerializer(serializers.Serializer):
    amount = MoneyField(min_value=1)
    currency = serializers.CharField(max_length=3, default="BRL")


class P2PPaymentSerializer(serializers.Serializer):
    """A person-to-person payment as its payer or payee sees it (never the card of
    the other person)."""

    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    money_request_id = serializers.IntegerField(allow_null=True)
    payer = UserRefSerializer()
    payee = UserRefSerializer()
    status = serializers.CharField(help_text=PAYMENT_STATUS)
    amount = serializers.IntegerField(help_text=_("Minor units (cents)."))
    currency = serializers.CharField()
    note = serializers.CharField()
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class MoneyRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    requester = UserRefSerializer()
    payer = UserRefSerializer()
    status = serializers.CharField(help_text=MONEY_REQUEST_STATUS)
    amount = serializers.IntegerField(help_text=_("Minor units (cents)."))
    currency = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
