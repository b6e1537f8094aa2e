"""Paying (PIN or fingerprint) and the payments' lists."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from chats.serializers import UserRefSerializer
from core.ids import MAX_ID
from payments.models import Payment
from payments.serializers.cards import CardRefSerializer
from payments.serializers.common import PAYMENT_STATUS, PageFilterSerializer
from payments.services import paying

# How a card payer confirms (a Pix payer's bank does it: ``bank`` is not for cards).
CARD_CONFIRMATIONS = [
    (Payment.Confirmation.PIN.value, Payment.Confirmation.PIN.label),
    (Payment.Confirmation.WEBAUTHN.value, Payment.Confirmation.WEBAUTHN.label),
]


class PayInputSerializer(serializers.Serializer):
    card_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    confirmation = serializers.ChoiceField(choices=CARD_CONFIRMATIONS)
    pin = serializers.CharField(
        max_length=6, required=False, allow_blank=True, help_text=_("With confirmation pin.")
    )
    webauthn = serializers.DictField(
        required=False,
        help_text=_(
            "With confirmation webauthn: the browser's credential.toJSON() for the options "
            "from POST /api/v1/orders/{id}/pay/fingerprint/."
        ),
    )

    def validate(self, attrs):
        if attrs["confirmation"] == Payment.Confirmation.PIN and not attrs.get("pin"):
            raise serializers.ValidationError({"pin": _("Enter your payment PIN.")})
        if attrs["confirmation"] == Payment.Confirmation.WEBAUTHN and not attrs.get("webauthn"):
            raise serializers.ValidationError({"webauthn": _("Confirm with your fingerprint.")})
        return attrs


class PaymentSerializer(serializers.Serializer):
    """A payment as its payer sees it."""

    id = serializers.IntegerField()
    order_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(help_text=PAYMENT_STATUS)
    amount = serializers.IntegerField(help_text=_("Minor units (cents)."))
    currency = serializers.CharField()
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    card = CardRefSerializer(allow_null=True, help_text=_("None for a Pix payment."))
    confirmation = serializers.ChoiceField(choices=Payment.Confirmation.choices)
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    action_url = serializers.SerializerMethodField()

    def get_action_url(self, obj) -> str:
        """3-D Secure: where the customer answers the bank while the payment is pending
        ("" otherwise)."""
        return paying.action_url(obj)


class BusinessPaymentSerializer(serializers.Serializer):
    """A payment as the business sees it: with the fee and what it is credited."""

    id = serializers.IntegerField()
    order_id = serializers.IntegerField(allow_null=True)
    order_number = serializers.IntegerField(source="order.number", allow_null=True)
    payer = UserRefSerializer()
    status = serializers.CharField(help_text=PAYMENT_STATUS)
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    amount = serializers.IntegerField()
    fee = serializers.IntegerField()
    net = serializers.IntegerField(help_text=_("amount − fee: what the business is credited."))
    currency = serializers.CharField()
    failure_code = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class PaymentFilterSerializer(PageFilterSerializer):
    status = serializers.ChoiceField(choices=Payment.Status.choices, required=False)


class PaymentPageSerializer(serializers.Serializer):
    results = PaymentSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class BusinessPaymentPageSerializer(serializers.Serializer):
    results = BusinessPaymentSerializer(many=True)
    next = serializers.URLField(allow_null=True)
