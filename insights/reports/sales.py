"""Insights → Chats that sell: every conversation of the period has an outcome —
bought, asked to pay but did not pay, no payment request — and this report breaks the
conversion down by source, campaign, first-response-time bucket, agent, label, product
asked about and weekday × hour, and lists the "lost" chats (docs/insights.md,
"Reports"). Owners and admins only.

A fixed number of queries whatever the period: one per breakdown over the daily
rollups, one per breakdown's names, one for the heatmap, one for the lost chats.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Business
from catalog.models import Product
from chats.models import Label
from insights.models import Campaign, ConversationFact, DailyFigure, Outcome
from insights.reports import common
from insights.reports.common import Cell, Table, Totals
from insights.reports.overview import source_label
from insights.reports.period import ReportPeriod
from insights.selectors import Period

Dim = DailyFigure.Dim
LOST_LIMIT = 50

# First-response-time buckets, as the rollups key them: [low, high) seconds.
RESPONSE_BUCKETS = (
    ("lt5m", gettext_lazy("Under 5 min"), 0, 5 * 60),
    ("5-60m", gettext_lazy("5–60 min"), 5 * 60, 60 * 60),
    ("1-4h", gettext_lazy("1–4 h"), 60 * 60, 4 * 3600),
    ("4-24h", gettext_lazy("4–24 h"), 4 * 3600, 24 * 3600),
    ("gt24h", gettext_lazy("Over 24 h"), 24 * 3600, None),
    ("none", gettext_lazy("No response"), None, None),
)
BUCKET_KEYS = tuple(b[0] for b in RESPONSE_BUCKETS)


def _ids(keys) -> list[int]:
    return [int(k) for k in keys if k.isdigit() and len(k) < 19]


def names_for(business: Business, dim: str, keys) -> dict[str, str]:
    """{key: the name to show} for keys of ``dim`` (ids of the business's campaigns,
    labels, products, or its members for agents). One query at most."""
    ids = _ids(keys)
    out: dict[str, str] = {}
    if dim == Dim.SOURCE:
        return {k: source_label(k) for k in keys}
    if dim == Dim.RESPONSE:
        labels = {b[0]: str(b[1]) for b in RESPONSE_BUCKETS}
        return {k: labels.get(k, k) for k in keys}
    if dim == Dim.HOUR:
        return {k: f"{int(k):02d}:00" if k.isdigit() else k for k in keys}
    none = {
        Dim.CAMPAIGN: _("No campaign"),
        Dim.AGENT: _("Nobody"),
        Dim.LABEL: _("No label"),
        Dim.PRODUCT: _("No product"),
    }.get(dim, "—")
    if ids:
        if dim == Dim.CAMPAIGN:
            rows = Campaign.objects.filter(business=business, pk__in=ids).values_list("pk", "name")
        elif dim == Dim.LABEL:
            rows = Label.objects.filter(business=business, pk__in=ids).values_list("pk", "name")
        elif dim == Dim.PRODUCT:
            rows = Product.objects.filter(business=business, pk__in=ids).values_list("pk", "name")
        elif dim == Dim.AGENT:
            users = get_user_model().objects.filter(pk__in=ids)
            rows = [(u.pk, u.get_short_name()) for u in users.only("pk", "display_name", "email")]
        else:
            rows = []
        out = {str(pk): name for pk, name in rows}
    gone = _("(deleted)")
    return {k: (none if k == "" else out.get(k, gone)) for k in keys}


BREAKDOWNS = (
    (Dim.SOURCE, gettext_lazy("By source"), gettext_lazy("Source")),
    (Dim.CAMPAIGN, gettext_lazy("By campaign"), gettext_lazy("Campaign")),
    (Dim.RESPONSE, gettext_lazy("By first response time"), gettext_lazy("First response")),
    (Dim.AGENT, gettext_lazy("By agent"), gettext_lazy("Agent")),
    (Dim.LABEL, gettext_lazy("By label"), gettext_lazy("Label")),
    (Dim.PRODUCT, gettext_lazy("By product asked about"), gettext_lazy("Product")),
)


def outcome_columns(first: str) -> list[str]:
    return [
        first,
        _("Conversations"),
        _("Bought"),
        _("Not paid"),
        _("No request"),
        _("Conversion rate"),
        _("Net revenue"),
    ]


def outcome_row(label: str, sums: Totals, link: Callable[..., str], currency: str, **f) -> list:
    return [
        Cell(label, "text"),
        Cell(sums.conversations, link=link(**f)),
        Cell(sums.bought, link=link(outcome="bought", **f)),
        Cell(sums.unpaid, link=link(outcome="unpaid", **f)),
        Cell(sums.no_request, link=link(outcome="none", **f)),
        Cell(sums.conversion, "percent", link(**f)),
        Cell(sums.net, "money", currency=currency),
    ]


def _breakdown(business, period, dim, title, first, link) -> Table:
    sums = common.by_key(business, period, dim)
    names = names_for(business, dim, list(sums))
    table = Table(f"sales_{dim}", str(title), outcome_columns(str(first)))
    if dim == Dim.RESPONSE:
        keys = [k for k in BUCKET_KEYS if k in sums]
    else:
        keys = sorted(sums, key=lambda k: (-sums[k].conversations, -sums[k].net, names[k]))
    for key in keys:
        table.rows.append(
            outcome_row(names[key], sums[key], link, business.currency, dim=dim, key=key)
        )
    return table


def heatmap(business: Business, period: Period, link: Callable[..., str]) -> Table:
    """Conversion rate of the conversations started on each weekday × local hour; the
    cell links to those conversations. One query."""
    cells = common.by_weekday_hour(business, period)
    table = Table(
        "sales_heatmap",
        _("Conversion by weekday and hour"),
        [_("Weekday")] + [f"{h:02d}" for h in common.HOURS],
        heatmap=True,
    )
    if not cells:
        return table
    for weekday, name in zip(common.WEEKDAYS, common.weekday_names(short=True), strict=True):
        row = [Cell(name, "text")]
        for hour in common.HOURS:
            sums = cells.get((weekday, hour))
            if sums is None or not sums.conversations:
                row.append(Cell(None, "percent"))
            else:
                row.append(Cell(sums.conversion, "percent", link(weekday=weekday, hour=hour)))
        table.rows.append(row)
    return table


def lost_chats(business: Business, period: Period) -> QuerySet[ConversationFact]:
    """The period's conversations that asked to pay and did not pay, or that were
    opened from a product card and got no payment request; newest first."""
    return (
        ConversationFact.objects.filter(
            business=business, started_on__gte=period.first, started_on__lte=period.last
        )
        .filter(Q(outcome=Outcome.UNPAID) | Q(outcome=Outcome.NONE, product__isnull=False))
        .select_related("conversation__contact__user", "product", "campaign")
        .order_by("-started_on", "-started_at", "-conversation_id")
    )


@dataclass
class Sales:
    total: Totals
    tables: dict[str, Table] = field(default_factory=dict)
    charts: dict = field(default_factory=dict)  # insights.charts.Chart by table id


def build_sales(
    *,
    business: Business,
    report: ReportPeriod,
    link: Callable[..., str],
    chat_url: Callable[[int], str],
) -> Sales:
    """The "Chats that sell" page's tables. ``link(**filters)``: a drill-down URL;
    ``chat_url(conversation_id)``: the chat in the inbox."""
    period = report.period
    sales = Sales(total=common.total(business, period))
    tables = [
        _breakdown(business, period, dim, title, first, link) for dim, title, first in BREAKDOWNS
    ]
    tables.append(heatmap(business, period, link))
    lost = Table(
        "sales_lost",
        _("Lost chats"),
        [_("Customer"), _("Started"), _("Why"), _("Product"), _("Source")],
        empty=_("No lost chats in this period."),
    )
    tz = business.tz
    for fact in lost_chats(business, period)[:LOST_LIMIT]:
        why = (
            _("Asked to pay, did not pay")
            if fact.outcome == Outcome.UNPAID
            else _("Asked about a product, no payment request")
        )
        lost.rows.append(
            [
                Cell(contact_name(fact), "text", chat_url(fact.conversation_id)),
                Cell(fact.started_at.astimezone(tz), "datetime"),
                Cell(why, "text"),
                Cell(fact.product.name if fact.product else "", "text"),
                Cell(source_label(fact.source), "text"),
            ]
        )
    tables.append(lost)
    sales.tables = {t.id: t for t in tables}
    currency = business.currency
    sales.charts = {
        "sales_source": common.chart_of(sales.tables["sales_source"], "hbar", [5],
                                        currency=currency, title=_("Conversion rate by source")),
        "sales_response": common.chart_of(
            sales.tables["sales_response"], "bar", [5], currency=currency,
            title=_("Conversion rate by first response time"),
        ),
        "sales_heatmap": common.heatmap_of(sales.tables["sales_heatmap"], currency=currency),
    }  # fmt: skip
    return sales


def contact_name(fact: ConversationFact) -> str:
    """The customer's public name (their display name), else a neutral stand-in."""
    user = fact.conversation.contact.user if fact.conversation.contact_id else None
    name = user.display_name if user else ""
    return name or _("Customer #%(id)s") % {"id": fact.conversation_id}
