"""Small output serializers for the reports API (``insights/report_api.py``), one per
shape. The query parameters are not validated here: like the pages, the API reads the
period and the drill-down filters with :func:`insights.reports.period.parse_period`
and :func:`insights.reports.conversations.parse_filters`, which never fail (anything
unreadable gives the default, with a note in ``period.notes``).

Money is integer minor units of ``currency`` (``5000`` is R$ 50,00), never a float;
rates and changes are decimal strings in percent (``"12.5"`` is 12.5 %), ``null``
when there is nothing to divide by.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

MINOR = _("Minor units of `currency` (5000 = 50.00).")


def _money(help_text=MINOR, **kwargs):
    return serializers.IntegerField(help_text=help_text, **kwargs)


def _percent(help_text=None, **kwargs):
    return serializers.DecimalField(
        max_digits=30, decimal_places=1, allow_null=True, help_text=help_text, **kwargs
    )


def _seconds(help_text):
    return serializers.IntegerField(allow_null=True, help_text=help_text)


class ReportPeriodSerializer(serializers.Serializer):
    first = serializers.DateField(help_text=_("First day, in the business's time zone."))
    last = serializers.DateField(help_text=_("Last day, included."))
    range = serializers.CharField(
        help_text=_(
            "The range shown: `today`, `yesterday`, `7`, `28`, `90`, `this_month`, "
            "`last_month` or `custom`."
        )
    )
    group = serializers.CharField(help_text=_("`day`, `week` or `month`."))
    notes = serializers.ListField(
        child=serializers.CharField(),
        help_text=_(
            'Why the period (or a filter) is not what the query asked for, e.g. "The '
            'period was not valid; showing the last 28 days."; empty when it is.'
        ),
    )


class DaysSerializer(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()


# --- Overview ---------------------------------------------------------------------------


class OverviewFiguresSerializer(serializers.Serializer):
    conversations = serializers.IntegerField(help_text=_("Conversations started."))
    customers = serializers.IntegerField(
        help_text=_("Conversations with at least one customer message in the period.")
    )
    requests = serializers.IntegerField(help_text=_("Payment requests made."))
    paid = serializers.IntegerField(help_text=_("Orders paid."))
    conversion = _percent(
        _("Conversations that led to a paid order within the attribution window, in percent.")
    )
    gross = _money()
    fee = _money()
    refunds = _money()
    net = _money(_("gross − fee − refunds; minor units."))
    average_order_value = _money(
        _("gross / paid orders; minor units; null without orders."), source="aov", allow_null=True
    )
    revenue_per_conversation = _money(
        _("net / conversations started; minor units; null without conversations."),
        source="per_conversation",
        allow_null=True,
    )


class OverviewChangeSerializer(serializers.Serializer):
    """Each figure's change against the previous period, in percent; null when either
    is unknown or the previous one was 0."""

    conversations = _percent()
    customers = _percent()
    requests = _percent()
    paid = _percent()
    conversion = _percent(_("The change of the rate (relative), not percentage points."))
    gross = _percent()
    fee = _percent()
    refunds = _percent()
    net = _percent()
    average_order_value = _percent(source="aov")
    revenue_per_conversation = _percent(source="per_conversation")


class OverviewSerializer(serializers.Serializer):
    period = ReportPeriodSerializer()
    previous_period = DaysSerializer(
        help_text=_("The period of the same length that ends the day before this one starts.")
    )
    currency = serializers.CharField()
    current = OverviewFiguresSerializer()
    previous = OverviewFiguresSerializer()
    change = OverviewChangeSerializer()


# --- Sums (time series, breakdowns) -----------------------------------------------------


class SumsSerializer(serializers.Serializer):
    """Sums of the daily rollups (docs/insights.md, "Rollups")."""

    conversations = serializers.IntegerField(help_text=_("Conversations started."))
    bought = serializers.IntegerField(help_text=_("Of them: led to a paid order."))
    unpaid = serializers.IntegerField(help_text=_("Of them: asked to pay, did not pay."))
    no_request = serializers.IntegerField(help_text=_("Of them: no payment request."))
    conversion = _percent(_("bought / conversations, in percent."))
    responded = serializers.IntegerField(help_text=_("Of them: got a first response."))
    resolved = serializers.IntegerField(help_text=_("Of them: resolved."))
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField()
    requests = serializers.IntegerField(help_text=_("Payment requests made."))
    paid = serializers.IntegerField(help_text=_("Orders paid."))
    units = serializers.IntegerField(help_text=_("Units sold (product lines)."))
    gross = _money()
    fee = _money()
    refunds = _money()
    net = _money(_("gross − fee − refunds; minor units."))


class TimeseriesItemSerializer(SumsSerializer):
    first = serializers.DateField(help_text=_("The bucket's first day."))
    last = serializers.DateField(help_text=_("The bucket's last day (cut at the period's end)."))


class TimeseriesSerializer(serializers.Serializer):
    period = ReportPeriodSerializer()
    currency = serializers.CharField()
    results = TimeseriesItemSerializer(many=True)


class BreakdownItemSerializer(SumsSerializer):
    key = serializers.CharField(
        help_text=_(
            "As the rollups key it: the source text (empty: direct); a campaign, agent "
            "(user), label or product id (empty: none); the local start hour `0`–`23`; a "
            "first-response bucket `lt5m`, `5-60m`, `1-4h`, `4-24h`, `gt24h`, `none`. "
            "The `dim` and `key` filters of the conversations list."
        )
    )
    name = serializers.CharField(help_text=_("What the pages show for the key."))


class BreakdownSerializer(serializers.Serializer):
    period = ReportPeriodSerializer()
    currency = serializers.CharField()
    dim = serializers.CharField()
    results = BreakdownItemSerializer(many=True)


# --- Support ----------------------------------------------------------------------------


class TimesSerializer(serializers.Serializer):
    response_median = _seconds(_("Median first response time, seconds."))
    response_p90 = _seconds(_("90th percentile of the first response time, seconds."))
    resolution_median = _seconds(_("Median resolution time, seconds."))
    resolution_p90 = _seconds(_("90th percentile of the resolution time, seconds."))


class ScopedTimesSerializer(serializers.Serializer):
    all = TimesSerializer(help_text=_("All the period's conversations."))
    inside_hours = TimesSerializer(
        source="in", help_text=_("Those whose first customer message came while open.")
    )
    outside_hours = TimesSerializer(source="out", help_text=_("Those outside opening hours."))


class RatingCountSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    count = serializers.IntegerField()


class SupportFiguresSerializer(serializers.Serializer):
    conversations = serializers.IntegerField(help_text=_("Conversations received (started)."))
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField()
    responded = serializers.IntegerField()
    resolved = serializers.IntegerField()
    rating_requests = serializers.IntegerField()
    ratings = serializers.IntegerField()
    rating_average = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, help_text=_("1–5; null without ratings.")
    )
    rating_rate = _percent(_("Ratings given per rating request sent, in percent."))
    distribution = RatingCountSerializer(many=True, help_text=_("From 5 down to 1."))
    times = ScopedTimesSerializer()


class SupportAgentSerializer(SupportFiguresSerializer):
    key = serializers.CharField(
        help_text=_("The agent's user id; empty for the conversations nobody handled.")
    )
    name = serializers.CharField()


class SupportSerializer(serializers.Serializer):
    period = ReportPeriodSerializer()
    total = SupportFiguresSerializer(help_text=_("The whole team's figures."))
    agents = SupportAgentSerializer(
        many=True, help_text=_("Per agent; an agent reading this gets their own row only.")
    )
    heatmap = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text=_(
            "Conversations received by local weekday (7 lists, Monday first) × start hour "
            "(24 numbers, 0–23)."
        ),
    )


# --- Conversations ----------------------------------------------------------------------


class ConversationFiltersSerializer(serializers.Serializer):
    """The drill-down filters applied (those that could not be read are left out, with
    a note)."""

    dim = serializers.CharField(allow_null=True)
    key = serializers.CharField(allow_null=True)
    outcome = serializers.CharField(allow_null=True)
    day = serializers.DateField(allow_null=True)
    weekday = serializers.IntegerField(allow_null=True)
    hour = serializers.IntegerField(allow_null=True)
    bucket = serializers.CharField(allow_null=True)


class ConversationFactSerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    started_on = serializers.DateField(help_text=_("The local day it started."))
    started_hour = serializers.IntegerField(help_text=_("The local hour it started, 0–23."))
    contact = serializers.CharField(help_text=_("The customer's public name."))
    source = serializers.CharField(help_text=_("Empty: direct."))
    campaign_id = serializers.IntegerField(allow_null=True)
    campaign = serializers.CharField(allow_null=True)
    agent_id = serializers.IntegerField(allow_null=True)
    agent = serializers.CharField(allow_null=True)
    product_id = serializers.IntegerField(
        allow_null=True, help_text=_("The product card that opened the chat.")
    )
    product = serializers.CharField(allow_null=True)
    first_response_seconds = serializers.IntegerField(allow_null=True)
    in_hours = serializers.BooleanField(allow_null=True)
    resolution_seconds = serializers.IntegerField(allow_null=True)
    outcome = serializers.CharField(help_text=_("`bought`, `unpaid` or `none`."))
    requests = serializers.IntegerField()
    paid_orders = serializers.IntegerField()
    revenue = _money(_("Net of its paid orders; minor units."))


class ConversationPageSerializer(serializers.Serializer):
    period = ReportPeriodSerializer()
    currency = serializers.CharField()
    filters = ConversationFiltersSerializer()
    results = ConversationFactSerializer(many=True)
    next = serializers.URLField(allow_null=True)
