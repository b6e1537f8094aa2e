"""The payments API's shared fields and rules: money as integer minor units
(:class:`MoneyField`), free text without card numbers (:class:`FreeTextField`),
pages, and the statuses' descriptions.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.cards import contains_card_number
from core.ids import MAX_ID
from core.money import MAX_MINOR

PAGE = 50
MAX_PAGE = 200
# Strings, not enums: another enum named "status" (conversations have one) would make
# drf-spectacular warn about the name collision, and the schema check fails on warnings.
ORDER_STATUS = (
    "pending, processing (paid), partially_shipped, shipped, completed, canceled, expired, "
    "partially_refunded, refunded"
)
PAYMENT_STATUS = (
    "pending (3-D Secure under way), succeeded, failed, canceled, partially_refunded, refunded"
)
REFUND_STATUS = "pending (the gateway has not answered yet), succeeded, failed"
MONEY_REQUEST_STATUS = "pending, paid, canceled (by the requester), declined (by the payer)"


def no_card_number(value: str) -> None:
    if contains_card_number(value):
        raise serializers.ValidationError(
            _("This looks like a card number. Never write a card number here."),
            code="card_number_in_text",
        )


class FreeTextField(serializers.CharField):
    """Free text that must not contain a card number."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(no_card_number)


class StrictIntegerField(serializers.IntegerField):
    """An integer that is a JSON integer: DRF's ``IntegerField`` would also take
    ``"12"``, ``12.0`` and ``true``."""

    default_error_messages = {"strict": _("Send a whole number (a JSON integer).")}

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("strict")
        return super().to_internal_value(data)


class MoneyField(StrictIntegerField):
    """An amount in minor units (centavos): a JSON integer from 0 to MAX_MINOR."""

    default_error_messages = {
        "strict": _("Amounts are whole numbers of minor units (cents), sent as JSON integers."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_MINOR)
        super().__init__(**kwargs)


class PageFilterSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=PAGE)
    before = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text=_("The next page: rows older than this id (follow `next`)."),
    )
