"""Small input and output serializers for the payments API, one per shape.

Input serializers only parse and bound what a client sends; the rules (card checks,
PIN policy, order totals, who may pay) live in :mod:`payments.services`. Two
API-wide rules are enforced here:

- **Money** is an integer number of minor units (:class:`MoneyField`): a float, a
  bool, a string (even ``"100"``), a negative number or anything above
  ``core.money.MAX_MINOR`` is refused.
- **No card numbers in free text** (:class:`FreeTextField`): a holder name, a note
  or an item name containing a run of 13–19 digits that passes the Luhn check is
  refused, so a pasted card number is never stored.

Output serializers never carry a card number or CVC: a card is its brand, last four
digits, expiry and holder name.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from chats.serializers import BusinessRefSerializer, UserRefSerializer
from core.cards import contains_card_number
from core.ids import MAX_ID
from core.money import MAX_MINOR
from payments.models import Card, Order, Payment, PayoutControl
from payments.services import paying
from payments.services.orders import MAX_LINES, MAX_QUANTITY

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


# --- Cards ---------------------------------------------------------------------------------


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


# --- PIN and fingerprints ---------------------------------------------------------------------


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


# --- Orders ----------------------------------------------------------------------------------


class OrderItemSerializer(serializers.Serializer):
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


class PageFilterSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=PAGE)
    before = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text=_("The next page: rows older than this id (follow `next`)."),
    )


class OrderFilterSerializer(PageFilterSerializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)


class OrderPageSerializer(serializers.Serializer):
    results = OrderSummarySerializer(many=True)
    next = serializers.URLField(allow_null=True)


# --- Paying ----------------------------------------------------------------------------------


class PayInputSerializer(serializers.Serializer):
    card_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    confirmation = serializers.ChoiceField(choices=Payment.Confirmation.choices)
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
    card = CardRefSerializer()
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


# --- Payouts --------------------------------------------------------------------------------


class DestinationSerializer(serializers.Serializer):
    """A payout destination, masked: never the full account number, document or key."""

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=_("bank_account or pix"))
    label = serializers.CharField(source="masked", help_text=_("The masked destination."))
    bank_code = serializers.CharField(help_text=_("3-digit COMPE code (bank accounts)."))
    account_type = serializers.CharField(help_text=_("checking or savings (bank accounts)."))
    holder_name = serializers.CharField()
    holder_document = serializers.CharField(source="holder_masked", help_text=_("Masked."))
    pix_key_type = serializers.CharField(help_text=_("cpf, cnpj, email, phone or random."))
    pix_key = serializers.CharField(source="masked_key_or_blank", help_text=_("Masked."))
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DestinationInputSerializer(serializers.Serializer):
    """A bank account (``kind`` = ``bank_account``: ``bank_code``, ``branch``,
    ``branch_digit``?, ``account_number``, ``account_digit``, ``account_type``,
    ``holder_name``, ``holder_document``) or a Pix key (``kind`` = ``pix``:
    ``pix_key_type``, ``pix_key``). The rules are checked by the service."""

    kind = serializers.ChoiceField(choices=["bank_account", "pix"])
    bank_code = serializers.CharField(max_length=3, required=False, allow_blank=True)
    branch = serializers.CharField(max_length=6, required=False, allow_blank=True)
    branch_digit = serializers.CharField(max_length=1, required=False, allow_blank=True)
    account_number = serializers.CharField(max_length=24, required=False, allow_blank=True)
    account_digit = serializers.CharField(max_length=1, required=False, allow_blank=True)
    account_type = serializers.CharField(max_length=10, required=False, allow_blank=True)
    holder_name = FreeTextField(max_length=100, required=False, allow_blank=True)
    holder_document = serializers.CharField(max_length=18, required=False, allow_blank=True)
    pix_key_type = serializers.CharField(max_length=10, required=False, allow_blank=True)
    pix_key = serializers.CharField(max_length=77, required=False, allow_blank=True)
    make_default = serializers.BooleanField(default=False)


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


# --- Refunds ------------------------------------------------------------------------------------


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


# --- Person to person ---------------------------------------------------------------------------


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
