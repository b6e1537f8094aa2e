"""Small input and output serializers for the campaigns API, one per shape.

Input serializers only parse and bound what a client sends (types, lengths, ranges);
the rules of a campaign (a free code without markup, the end after the start, a cost
in range, one spend line a day) live in :mod:`insights.services`. Money crosses the
API as integer minor units of ``currency`` (``5000`` is R$ 50,00), never as a float;
ratios (ROAS, ROI) as decimal strings (``"2.50"``), ``null`` when there is no cost.
Money fields are ``null`` for agents, who see counts only (as on the pages).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.ids import MAX_ID
from insights.models import CODE_MAX, LINK_TEXT_MAX, AttributionSettings, Campaign, Channel
from insights.selectors import MAX_PERIOD_DAYS
from insights.services.campaigns import FIRST_DAY, LAST_DAY, NAME_MAX
from payments.serializers.common import MoneyField, StrictIntegerField

MINOR = _("Minor units of `currency` (5000 = 50.00); null for agents.")
# Strings, not enums: drf-spectacular warns when two enums share a name ("kind",
# "status" exist elsewhere), and the schema check fails on warnings.
LINK_KINDS = _("`chat` (click-to-chat), `shop` or `product`.")
FUNNEL_STEPS = _("`clicks`, `conversations`, `payment_requests`, `paid`, `repeat`.")


# --- Input ------------------------------------------------------------------------------


class PeriodFilterSerializer(serializers.Serializer):
    """The period of the figures: days ``start`` to ``end``, both included, in the
    business's time zone (the page's "from"/"to"); both left out: the last 28 days."""

    start = serializers.DateField(required=False, help_text=_("First day (YYYY-MM-DD)."))
    end = serializers.DateField(
        required=False, help_text=_("Last day, included (YYYY-MM-DD); not before `start`.")
    )
    model = serializers.ChoiceField(
        choices=[("first", "first"), ("last", "last")],
        default="last",
        help_text=_("Credit each paid order to its first or its last touch's campaign."),
    )

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"end" if start else "start": _("Send both start and end, or neither.")}
            )
        if start is None:
            return attrs
        for name, day in (("start", start), ("end", end)):
            if not FIRST_DAY <= day <= LAST_DAY:
                message = _("Enter a date between %(first)s and %(last)s.") % {
                    "first": FIRST_DAY.year,
                    "last": LAST_DAY.year,
                }
                raise serializers.ValidationError({name: message})
        if end < start:
            raise serializers.ValidationError({"end": _("The end date is before the start date.")})
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise serializers.ValidationError(
                {"end": _("A period is at most %(days)d days.") % {"days": MAX_PERIOD_DAYS}}
            )
        return attrs


class CampaignFilterSerializer(PeriodFilterSerializer):
    archived = serializers.BooleanField(
        default=False, help_text=_("true: the archived campaigns instead of the others.")
    )


class LinkFilterSerializer(serializers.Serializer):
    product = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text=_("Add the link to this product of the shop."),
    )


class CampaignInputSerializer(serializers.Serializer):
    """POST creates (``name`` required); PATCH parses the same fields with
    ``partial=True`` and changes only those sent."""

    name = serializers.CharField(max_length=NAME_MAX)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.OTHER)
    code = serializers.CharField(
        max_length=CODE_MAX,
        required=False,
        allow_blank=True,
        help_text=_(
            "What the links carry: letters, digits, - and _. Left out on create: made from "
            "the name. It cannot change once a link has been used."
        ),
    )
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    cost_mode = serializers.ChoiceField(
        choices=Campaign.CostMode.choices,
        default=Campaign.CostMode.TOTAL,
        help_text=_("`total`: one total cost; `daily`: the sum of the spend lines."),
    )
    total_cost = MoneyField(
        default=0, help_text=_("With `total`: the whole cost, minor units (5000 = 50.00).")
    )
    utm_source = serializers.CharField(max_length=60, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=60, required=False, allow_blank=True)
    link_text = serializers.CharField(
        max_length=LINK_TEXT_MAX,
        required=False,
        allow_blank=True,
        help_text=_("The click-to-chat link's prefilled message."),
    )


class RenameInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX)


class MergeInputSerializer(serializers.Serializer):
    into = StrictIntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("The id of one of your own campaigns.")
    )


class SpendLineInputSerializer(serializers.Serializer):
    day = serializers.DateField(help_text=_("The day, in the business's time zone."))
    amount = MoneyField(help_text=_("What the campaign cost that day, minor units."))


class SpendImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=_(
            "A CSV file in UTF-8: columns date, campaign (name or code), amount. Exports of "
            "Meta Ads and Google Ads are read as they are."
        )
    )
    numbers = serializers.ChoiceField(
        choices=[("pt-br", "1.234,56"), ("en", "1,234.56"), ("fr", "1 234,56"), ("es", "1.234,56")],
        required=False,
        help_text=_("How the amounts are written; the request's language when left out."),
    )


class WindowSerializer(serializers.Serializer):
    window_days = serializers.ChoiceField(
        choices=AttributionSettings.Window.values,
        help_text=_("How long after a touch a paid order is still credited to it: 1, 7 or 28."),
    )


# --- Output -----------------------------------------------------------------------------


def _money(help_text=MINOR):
    return serializers.IntegerField(allow_null=True, help_text=help_text)


def _ratio(help_text):
    return serializers.DecimalField(
        max_digits=30, decimal_places=2, allow_null=True, help_text=help_text
    )


class FiguresSerializer(serializers.Serializer):
    """A campaign's figures for the period, as on the campaign list."""

    clicks = serializers.IntegerField()
    visitors = serializers.IntegerField(help_text=_("Unique visitors."))
    conversations = serializers.IntegerField(help_text=_("Conversations started."))
    payment_requests = serializers.IntegerField()
    paid = serializers.IntegerField(help_text=_("Paid orders credited to the campaign."))
    gross = _money()
    fee = _money()
    refunds = _money()
    net = _money(help_text=_("gross − fee − refunds; minor units; null for agents."))
    cost = _money()
    cost_per_conversation = _money()
    cost_per_purchase = _money()
    roas = _ratio(_("(gross − refunds) / cost; null without a cost, and for agents."))
    roi = _ratio(_("(net − cost) / cost (0.50 is 50 %); null without a cost, and for agents."))


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    channel = serializers.CharField(help_text=_("One of the channels a campaign is created with."))
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    cost_mode = serializers.CharField(help_text=_("`total` or `daily`."))
    total_cost = _money()
    currency = serializers.CharField()
    utm_source = serializers.CharField()
    utm_medium = serializers.CharField()
    link_text = serializers.CharField()
    is_automatic = serializers.BooleanField(
        help_text=_("Grouping links that match none of your campaigns: rename or merge it.")
    )
    archived_at = serializers.DateTimeField(allow_null=True)
    merged_into_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class CampaignRowSerializer(CampaignSerializer):
    figures = FiguresSerializer()


class CampaignListSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text=_("Included."))
    model = serializers.CharField(help_text=_("`first` or `last` touch."))
    results = CampaignRowSerializer(many=True)


class FunnelStepSerializer(serializers.Serializer):
    step = serializers.CharField(help_text=FUNNEL_STEPS)
    label = serializers.CharField()
    count = serializers.IntegerField()
    drop = serializers.DecimalField(
        max_digits=5,
        decimal_places=0,
        allow_null=True,
        help_text=_("Percent lost from the step before; null for the first step."),
    )


class LinkSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=LINK_KINDS)
    label = serializers.CharField()
    url = serializers.URLField()
    product_id = serializers.IntegerField(allow_null=True)
    qr_png = serializers.URLField(
        allow_null=True,
        help_text=_("The QR code (a dashboard page: signed in); null when the link is too long."),
    )
    qr_svg = serializers.URLField(allow_null=True)
    card = serializers.URLField(allow_null=True, help_text=_("A printable A6 card."))


class CampaignConversationSerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    customer = serializers.CharField()
    started_at = serializers.DateTimeField()


class CampaignOrderSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    number = serializers.IntegerField()
    paid_at = serializers.DateTimeField()
    gross = _money()
    currency = serializers.CharField()


class CampaignDetailSerializer(CampaignRowSerializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text=_("Included."))
    model = serializers.CharField(help_text=_("`first` or `last` touch."))
    funnel = FunnelStepSerializer(many=True)
    links = LinkSerializer(many=True, help_text=_("None for an automatic campaign."))
    conversations = CampaignConversationSerializer(many=True)
    orders = CampaignOrderSerializer(many=True)


class SpendLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    day = serializers.DateField()
    amount = serializers.IntegerField(help_text=_("Minor units of `currency`."))
    currency = serializers.CharField(source="campaign.currency")
    source = serializers.CharField(help_text=_("`manual` or `import`."))
    created_at = serializers.DateTimeField()


class SpendImportResultSerializer(serializers.Serializer):
    lines = serializers.IntegerField(help_text=_("Spend lines written (a campaign and a day)."))
    campaigns = serializers.IntegerField()
    total = serializers.IntegerField(help_text=_("The sum imported, minor units."))
    currency = serializers.CharField()
