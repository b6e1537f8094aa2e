"""Small input and output serializers for the marketing API, one per shape.

Input serializers only parse and bound what a client sends (types, lengths, id
ranges); the rules (a template's placeholders, a delay's range, an audience's
parameter, a send time within 90 days) live in :mod:`marketing.services`, which
answers with an ``AppError`` naming the field, exactly as on the pages.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.ids import MAX_ID
from marketing.models import MAX_DELAY_DAYS, MAX_TEMPLATE, Broadcast, FollowUpRule
from marketing.services import MAX_OFFER_PRODUCTS, rule_text
from payments.serializers.common import PageFilterSerializer, StrictIntegerField

# Strings, not enums, in the outputs: a second enum of the same name elsewhere would
# make drf-spectacular warn about the collision.
BROADCAST_STATUS = _(
    "`scheduled` (waiting for its send time), `sending`, `finished` (nothing left to "
    "send) or `canceled`."
)


class TemplateField(serializers.CharField):
    """A message template: a JSON string (DRF's ``CharField`` would also take ``42.5``
    and make it ``"42.5"``), at most ``MAX_TEMPLATE`` characters. Its placeholders are
    checked by the service (``marketing.services.clean_template``)."""

    default_error_messages = {"strict": _("Send the message as a string.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_TEMPLATE)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("strict")
        return super().to_internal_value(data)


class IdField(StrictIntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


# --- Follow-up rules ----------------------------------------------------------------------


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    trigger = serializers.CharField(help_text=_("`paid`, `shipped` or `delivered`."))
    delay_days = serializers.IntegerField()
    text = serializers.SerializerMethodField(
        help_text=_("The message template; the built-in check-in's in your language.")
    )
    ask_rating = serializers.BooleanField()
    is_active = serializers.BooleanField()
    is_default = serializers.BooleanField(
        help_text=_("The built-in check-in: it can be changed or turned off, not deleted.")
    )
    created_at = serializers.DateTimeField()

    def get_text(self, rule) -> str:
        return rule_text(rule)


class RuleInputSerializer(serializers.Serializer):
    trigger = serializers.ChoiceField(choices=FollowUpRule.Trigger.choices)
    delay_days = StrictIntegerField(min_value=0, max_value=MAX_DELAY_DAYS)
    text = TemplateField(
        help_text=_(
            "Plain text; placeholders {first_name}, {product}, {order_number}, {business} "
            "(a doubled brace for a literal one)."
        ),
    )
    ask_rating = serializers.BooleanField(default=False)
    is_active = serializers.BooleanField(default=True)


# --- Ratings ---------------------------------------------------------------------------------


class RatingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    order_number = serializers.IntegerField(source="order.number")
    score = serializers.IntegerField(help_text=_("1 to 5."))
    created_at = serializers.DateTimeField()


class RatingFilterSerializer(PageFilterSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5, required=False)


class RatingPageSerializer(serializers.Serializer):
    results = RatingSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    count = serializers.IntegerField(help_text=_("All the business's ratings (any score)."))
    average = serializers.FloatField(allow_null=True, help_text=_("Of all the ratings."))


# --- Broadcasts ------------------------------------------------------------------------------


class BroadcastInputSerializer(serializers.Serializer):
    text = TemplateField(
        help_text=_("Plain text; placeholders {first_name}, {business}. An opt-out link is added."),
    )
    audience = serializers.ChoiceField(choices=Broadcast.Audience.choices)
    label = IdField(
        required=False, allow_null=True, help_text=_("The label's id, for audience `label`.")
    )
    product = IdField(
        required=False,
        allow_null=True,
        help_text=_("The product's id, for audience `product` (those who bought it)."),
    )
    before = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("For audience `lapsed`: those whose last purchase was before this date."),
    )
    send_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_("From now up to 90 days ahead; now when left out."),
    )
    product_ids = serializers.ListField(
        child=IdField(),
        max_length=MAX_OFFER_PRODUCTS,
        default=list,
        help_text=_("Up to 10 active products shown as cards under the text."),
    )


class BroadcastSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.SerializerMethodField(help_text=BROADCAST_STATUS)
    text = serializers.CharField()
    audience = serializers.CharField(help_text=_("`all`, `label`, `product` or `lapsed`."))
    label = serializers.IntegerField(source="label_id", allow_null=True)
    product = serializers.IntegerField(source="product_id", allow_null=True)
    before = serializers.DateField(allow_null=True)
    product_ids = serializers.ListField(child=serializers.IntegerField())
    send_at = serializers.DateTimeField()
    recipients = serializers.IntegerField(help_text=_("Contacts chosen when it was created."))
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, broadcast) -> str:
        if broadcast.canceled_at is not None:
            return "canceled"
        if broadcast.finished_at is not None:
            return "finished"
        progress = getattr(broadcast, "progress", None)  # attached by the detail view
        if progress is not None and progress["done"]:
            return "finished"
        return "sending" if broadcast.send_at <= timezone.now() else "scheduled"


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text=_("Offers scheduled (one per recipient)."))
    sent = serializers.IntegerField()
    failed = serializers.IntegerField(help_text=_("Gave up after the outbox's retries."))
    skipped = serializers.IntegerField(
        help_text=_("Canceled: the contact opted out meanwhile, or the broadcast was canceled.")
    )
    pending = serializers.IntegerField(help_text=_("Still waiting to be sent."))
    percent = serializers.IntegerField(help_text=_("Finished (sent, failed or skipped), 0–100."))
    done = serializers.BooleanField(help_text=_("Nothing waits any more."))


class BroadcastDetailSerializer(BroadcastSerializer):
    """A broadcast with its ``progress`` (``marketing.selectors.broadcast_progress``,
    attached by the view)."""

    progress = ProgressSerializer()


class BroadcastPageSerializer(serializers.Serializer):
    results = BroadcastSerializer(many=True)
    next = serializers.URLField(allow_null=True)
