"""Balances, payouts, withdrawals, the payout schedule and statements."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.ids import MAX_ID
from payments.models import PayoutControl
from payments.serializers.common import MAX_PAGE, PAGE, MoneyField, StrictIntegerField


class PayoutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField(help_text=_("Minor units."))
    currency = serializers.CharField()
    status = serializers.CharField(help_text=_("in_transit, paid or failed"))
    destination = serializers.CharField(source="destination_label", help_text=_("Masked."))
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class PendingPartSerializer(serializers.Serializer):
    date = serializers.DateField(help_text=_("The day this part becomes available."))
    amount = serializers.IntegerField()


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.IntegerField(help_text=_("Minor units."))
    available = serializers.IntegerField(help_text=_("Paid out by the next payout."))
    pending_total = serializers.IntegerField()
    pending = PendingPartSerializer(many=True)
    payouts_paused = serializers.CharField(
        allow_null=True, help_text=_("The platform's reason when payouts are paused.")
    )


class WalletBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    balance = serializers.IntegerField(help_text=_("Minor units."))


class WithdrawalInputSerializer(serializers.Serializer):
    destination_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    amount = MoneyField(min_value=1)
    pin = serializers.CharField(max_length=6, min_length=6)


class PayoutNowInputSerializer(serializers.Serializer):
    password = serializers.CharField(
        max_length=128, trim_whitespace=False, help_text=_("The owner's account password.")
    )


class PayoutScheduleSerializer(serializers.Serializer):
    schedule = serializers.ChoiceField(
        choices=PayoutControl.Schedule.choices,
        help_text=_("Automatic payouts: every day, every Monday (business time) or off."),
    )


class StatementQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text=_("First day (YYYY-MM-DD), inclusive."))
    end = serializers.DateField(help_text=_("Last day (YYYY-MM-DD), inclusive."))


class PayoutFilterSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=PAGE)
