"""The wallet's serializers: cards (never a number or CVC out), the PIN's status and
fingerprints.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from payments.models import Card
from payments.serializers.common import FreeTextField, StrictIntegerField


class CardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Card
        fields = [
            "id",
            "brand",
            "funding",
            "last4",
            "exp_month",
            "exp_year",
            "holder_name",
            "is_default",
            "created_at",
        ]
        read_only_fields = fields


class CardInputSerializer(serializers.Serializer):
    """What the customer types. The number and CVC go to the gateway and are never
    stored, logged or sent back."""

    number = serializers.CharField(
        max_length=23, trim_whitespace=True, help_text=_("Digits; spaces or dashes allowed.")
    )
    exp_month = StrictIntegerField(min_value=1, max_value=12)
    exp_year = StrictIntegerField(min_value=2000, max_value=2100, help_text=_("Four digits."))
    cvc = serializers.CharField(max_length=4)
    holder_name = FreeTextField(max_length=100)
    make_default = serializers.BooleanField(default=False)

    def validate_number(self, value: str) -> str:
        number = "".join(ch for ch in value if ch not in " -")
        if not number.isdigit():
            raise serializers.ValidationError(_("Enter only the digits of the card number."))
        return number


class CardRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    brand = serializers.CharField()
    last4 = serializers.CharField()


class PinStatusSerializer(serializers.Serializer):
    has_pin = serializers.BooleanField()
    locked_until = serializers.DateTimeField(
        allow_null=True, help_text=_("Set while wrong PINs have locked it for a while.")
    )
    needs_reset = serializers.BooleanField(
        help_text=_("Blocked after too many wrong PINs: reset it with the account password.")
    )


class FingerprintSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class FingerprintInputSerializer(serializers.Serializer):
    name = FreeTextField(max_length=60, required=False, allow_blank=True, default="")
    credential = serializers.DictField(
        help_text=_("The browser's credential.toJSON() after navigator.credentials.create().")
    )


class WebAuthnOptionsSerializer(serializers.Serializer):
    options = serializers.DictField(
        help_text=_("PublicKeyCredential options as JSON, for the browser's WebAuthn call.")
    )
