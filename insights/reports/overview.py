"""Insights → Overview: the period's figures against the previous period of the same
length, net revenue and paid orders per day/week/month, the conversation funnel and
net revenue by source (docs/insights.md, "Reports"). Owners and admins only.

Every figure comes from the daily rollups (``DailyFigure``) and, for "customers who
wrote", ``ActivityDay``: six queries whatever the period's length.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import Business
from insights.models import ActivityDay, DailyFigure
from insights.reports import common
from insights.reports.common import Cell, Table, Totals
from insights.reports.period import ReportPeriod
from insights.selectors import Period

# A drill-down link: (filters) -> the conversations page's URL with this period.
Linker = Callable[..., str]


def customers_who_wrote(business: Business, period: Period) -> int:
    """Conversations with at least one customer message in the period. One query."""
    return (
        ActivityDay.objects.filter(
            business=business, day__gte=period.first, day__lte=period.last, incoming__gt=0
        )
        .values("conversation")
        .distinct()
        .count()
    )


@dataclass
class Metric:
    name: str
    label: str
    kind: str  # count, money, percent
    value: object
    previous: object
    link: str | None = None

    @property
    def change(self):
        return common.change(self.value, self.previous)


@dataclass
class Overview:
    current: Totals
    previous: Totals
    writers: int
    writers_before: int
    metrics: list[Metric] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)
    charts: dict = field(default_factory=dict)  # insights.charts.Chart by table id
    series: list = field(default_factory=list)  # (Bucket, Totals)
    sources: dict[str, Totals] = field(default_factory=dict)


def _metrics(o: Overview, link: Linker) -> list[Metric]:
    c, p = o.current, o.previous
    return [
        Metric(
            "conversations",
            _("Conversations started"),
            "count",
            c.conversations,
            p.conversations,
            link(),
        ),
        Metric("customers", _("Customers who wrote"), "count", o.writers, o.writers_before),
        Metric("requests", _("Payment requests"), "count", c.requests, p.requests),
        Metric("paid", _("Paid orders"), "count", c.paid, p.paid),
        Metric(
            "conversion",
            _("Conversion rate"),
            "percent",
            c.conversion,
            p.conversion,
            link(outcome="bought"),
        ),
        Metric("gross", _("Gross sales"), "money", c.gross, p.gross),
        Metric("fee", _("Fees"), "money", c.fee, p.fee),
        Metric("refunds", _("Refunds"), "money", c.refunds, p.refunds),
        Metric("net", _("Net revenue"), "money", c.net, p.net),
        Metric("aov", _("Average order value"), "money", c.average_order, p.average_order),
        Metric(
            "per_conversation",
            _("Revenue per conversation"),
            "money",
            c.revenue_per_conversation,
            p.revenue_per_conversation,
        ),
    ]


def source_label(key: str) -> str:
    return key or _("Direct")


def build_overview(*, business: Business, report: ReportPeriod, link: Linker) -> Overview:
    """The Overview page's figures and tables. ``link(**filters)`` makes a drill-down
    URL (the view's). Six queries."""
    period, previous = report.period, report.previous
    currency = business.currency
    o = Overview(
        current=common.total(business, period),
        previous=common.total(business, previous),
        writers=customers_who_wrote(business, period),
        writers_before=customers_who_wrote(business, previous),
    )
    o.metrics = _metrics(o, link)
    o.series = common.grouped(business, period, report.group)
    o.sources = common.by_key(business, period, DailyFigure.Dim.SOURCE)

    def money(value, url=None):
        return Cell(value, "money", url, currency)

    def cell(kind, value, url=None):
        return Cell(value, kind, url, currency if kind == "money" else "")

    figures = Table(
        "overview",
        _("Figures"),
        [
            _("Figure"),
            _("This period"),
            _("Previous period"),
            pgettext("against the previous period", "Change"),
        ],
    )
    for m in o.metrics:
        figures.rows.append(
            [
                Cell(m.label, "text"),
                cell(m.kind, m.value, m.link),
                cell(m.kind, m.previous),
                Cell(m.change, "percent"),
            ]
        )

    series = Table(
        "series",
        _("Net revenue and paid orders"),
        [_("Period"), _("Net revenue"), _("Paid orders"), _("Conversations started")],
    )
    for bucket, sums in o.series:
        days = {"range": "custom", "from": bucket.first.isoformat(), "to": bucket.last.isoformat()}
        # Money and paid orders drill down to the conversations that bought.
        bought = link(outcome="bought", **days)
        series.rows.append(
            [
                Cell(bucket.label, "text"),
                money(sums.net, bought),
                Cell(sums.paid, link=bought),
                Cell(sums.conversations, link=link(**days)),
            ]
        )

    c = o.current
    requested = c.bought + c.unpaid
    funnel = Table(
        "funnel", _("Funnel"), [_("Step"), _("Conversations"), _("Of the conversations started")]
    )
    funnel.rows = [
        [
            Cell(_("Conversations started"), "text"),
            Cell(c.conversations, link=link()),
            Cell(common.percent(c.conversations, c.conversations), "percent"),
        ],
        [
            Cell(_("Asked to pay"), "text"),
            Cell(requested, link=link(outcome="requested")),
            Cell(common.percent(requested, c.conversations), "percent"),
        ],
        [
            Cell(_("Paid"), "text"),
            Cell(c.bought, link=link(outcome="bought")),
            Cell(common.percent(c.bought, c.conversations), "percent"),
        ],
    ]
    if not c.conversations:
        funnel.rows = []

    sources = Table(
        "sources",
        _("Net revenue by source"),
        [_("Source"), _("Net revenue"), _("Paid orders"), _("Conversations started")],
    )
    for key, sums in sorted(o.sources.items(), key=lambda kv: (-kv[1].net, kv[0])):
        sources.rows.append(
            [
                Cell(source_label(key), "text"),
                money(sums.net, link(dim="source", key=key, outcome="bought")),
                Cell(sums.paid, link=link(dim="source", key=key, outcome="bought")),
                Cell(sums.conversations, link=link(dim="source", key=key)),
            ]
        )
    o.tables = {t.id: t for t in (figures, series, funnel, sources)}
    # Chart.js draws one value axis: money and counts get a chart each.
    o.charts = {
        "net": common.chart_of(series, "line", [1], currency=currency, chart_id="net",
                               title=_("Net revenue")),
        "orders": common.chart_of(series, "line", [2, 3], currency=currency,
                                  chart_id="orders", title=_("Paid orders and conversations")),
        "funnel": common.chart_of(funnel, "funnel", [1], currency=currency),
        "sources": common.chart_of(sources, "hbar", [1], currency=currency),
    }  # fmt: skip
    return o
