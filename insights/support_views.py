"""Dashboard → Insights: the Support, Offers and Products report pages and their CSV
files (``?format=csv&table=…``); docs/insights.md, "Reports".

Support is for the whole staff: an agent sees the team's totals and heatmap (no
money, no other member's name) and only their own row of the per-agent table, without
drill-down links (the conversations report is for owners and admins). Offers and
Products hold money: owners and admins only, "not found" for agents as for outsiders
(``get_business_for(min_role=ADMIN)``).

Every page reads a fixed number of queries whatever its period (the tests count
them); anything unreadable in the query gives the default (period, page, table).
"""

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from insights.reports import offers, products, support
from insights.reports.common import csv_response, money_cell, page_context, weekday_names
from insights.reports.period import ReportPeriod, parse_period, today_for
from insights.selectors import sees_money

SECTION = "insights"
ADMIN = Membership.Role.ADMIN
CSV_PAGE = 200  # broadcasts read per step of the Offers CSV


def _wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def _table(request, tables: tuple[str, ...]) -> str:
    """The table a CSV link asks for; the first one when it names none we have."""
    wanted = request.GET.get("table")
    return wanted if wanted in tables else tables[0]


def _filename(name: str, report: ReportPeriod) -> str:
    return f"{name}-{report.first.isoformat()}-{report.last.isoformat()}.csv"


def _drill_base(business) -> str | None:
    """The conversations report's URL (the drill-down), if it is installed."""
    try:
        return reverse("insights_conversations", args=[business.slug])
    except NoReverseMatch:  # pragma: no cover - installed with the overview pages
        return None


def _drill(base: str | None, report: ReportPeriod, **filters) -> str | None:
    if base is None:
        return None
    return f"{base}?{report.query_with(**filters)}"


def _render(request, business, tab: str, report: ReportPeriod, template: str, context: dict):
    context = page_context(business, tab, report) | context
    return render_dashboard(request, business, SECTION, template, context)


# --- Support ----------------------------------------------------------------------------

SUPPORT_TABLES = ("agents", "ratings", "heatmap")


def _times_header() -> list[str]:
    out = []
    for scope in (_("all"), _("in opening hours"), _("outside opening hours")):
        for what in (
            _("First response, median (s)"), _("First response, 90th percentile (s)"),
            _("Resolution, median (s)"), _("Resolution, 90th percentile (s)"),
        ):  # fmt: skip
            out.append(f"{what} — {scope}")
    return out


def _seconds(value) -> int | None:
    return None if value is None else round(value)


def _support_row(row: support.SupportRow) -> list:
    cells = [
        row.label, row.conversations, row.messages_in, row.messages_out, row.responded,
        row.resolved,
    ]  # fmt: skip
    for scope in support.SCOPES:
        t = row.times[scope]
        cells += [_seconds(t.response_median), _seconds(t.response_p90),
                  _seconds(t.resolution_median), _seconds(t.resolution_p90)]  # fmt: skip
    return [*cells, row.ratings, row.rating_average, row.rating_requests, row.rating_rate]


def _support_csv(data: support.SupportReport, table: str, report: ReportPeriod):
    if table == "ratings":
        header = [_("Score"), _("Ratings")]
        rows = data.total.distribution
    elif table == "heatmap":
        header = [_("Weekday"), *[str(hour) for hour in range(24)]]
        rows = [[name, *hours] for name, hours in zip(weekday_names(), data.heatmap, strict=True)]
    else:
        header = [
            _("Agent"), _("Conversations received"), _("Messages in"), _("Messages out"),
            _("Responded"), _("Resolved"), *_times_header(), _("Ratings"),
            _("Average rating"), _("Rating requests"), _("Response rate (%)"),
        ]  # fmt: skip
        total = _support_row(data.total)
        total[0] = _("All conversations")
        rows = [*(_support_row(row) for row in data.agents), total]
    return csv_response(_filename(f"support-{table}", report), header, rows)


@login_required
def support_report(request, slug: str):
    business = get_business_for(user=request.user, slug=slug)
    report = parse_period(business, request.GET)
    money = sees_money(business)
    data = support.support_report(
        business=business, period=report.period, agent=None if money else request.user
    )
    if _wants_csv(request):
        return _support_csv(data, _table(request, SUPPORT_TABLES), report)
    base = _drill_base(business) if money else None
    agents = [(row, _drill(base, report, dim="agent", key=row.key)) for row in data.agents]
    heatmap = [
        (name, [(n, _drill(base, report, weekday=day, hour=hour)) for hour, n in enumerate(hours)])
        for day, (name, hours) in enumerate(zip(weekday_names(), data.heatmap, strict=True), 1)
    ]
    return _render(
        request, business, "support", report, "insights/reports/support.html",
        {
            "data": data, "total": data.total, "agents": agents, "heatmap": heatmap,
            "hours": range(24), "is_agent": not money,
            "conversations_url": _drill(base, report),
            "scopes": [
                (_("All conversations"), data.total.times["all"]),
                (_("Inside opening hours"), data.total.times["in"]),
                (_("Outside opening hours"), data.total.times["out"]),
            ],
        },
    )  # fmt: skip


# --- Offers -----------------------------------------------------------------------------


def _offer_cells(row: offers.OfferRow, currency: str, tz) -> list:
    sent_at = row.broadcast.send_at.astimezone(tz)
    return [
        sent_at.strftime("%Y-%m-%d %H:%M"), row.broadcast.text, row.recipients, row.sent,
        row.delivered, row.read, row.replied, row.opted_out, row.orders, currency,
        money_cell(row.gross, currency), money_cell(row.fee, currency),
        money_cell(row.refunds, currency), money_cell(row.net, currency),
        money_cell(row.cost, currency), row.roi,
    ]  # fmt: skip


def _all_offers(business, report: ReportPeriod) -> Iterator[list]:
    page = 1
    while True:
        found = offers.offers_report(
            business=business, period=report.period, page=page, size=CSV_PAGE
        )
        for row in found.rows:
            yield _offer_cells(row, business.currency, business.tz)
        if not found.has_next:
            return
        page += 1


@login_required
def offers_report(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    report = parse_period(business, request.GET)
    if _wants_csv(request):
        header = [
            _("Sent at"), _("Message"), _("Recipients"), _("Sent"), _("Delivered"), _("Read"),
            _("Replied"), _("Opted out"), _("Orders"), _("Currency"), _("Gross"), _("Fee"),
            _("Refunds"), _("Net revenue"), _("Cost"), _("ROI (%)"),
        ]  # fmt: skip
        return csv_response(_filename("offers", report), header, _all_offers(business, report))
    page = offers.parse_page(request.GET.get("page"))
    data = offers.offers_report(business=business, period=report.period, page=page)
    return _render(
        request, business, "offers", report, "insights/reports/offers.html",
        {
            "data": data, "today": today_for(business),
            "previous_page": report.query_with(page=page - 1) if page > 1 else None,
            "next_page": report.query_with(page=page + 1) if data.has_next else None,
        },
    )  # fmt: skip


# --- Products ---------------------------------------------------------------------------


def _product_cells(row: products.ProductRow, currency: str) -> list:
    f = row.figures
    return [
        row.key, row.label, f.conversations, f.bought, row.conversion, f.paid, f.units,
        currency, money_cell(f.gross, currency), money_cell(f.fee, currency),
        money_cell(f.refunds, currency), money_cell(f.net, currency),
    ]  # fmt: skip


@login_required
def products_report(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    report = parse_period(business, request.GET)
    if _wants_csv(request):
        data = products.products_report(business=business, period=report.period, size=None)
        header = [
            _("Product id"), _("Product"), _("Asked about"), _("Chats that bought"),
            _("Conversion (%)"), _("Orders"), _("Units sold"), _("Currency"), _("Gross"),
            _("Fee"), _("Refunds"), _("Net revenue"),
        ]  # fmt: skip
        rows = (_product_cells(row, business.currency) for row in data.rows)
        return csv_response(_filename("products", report), header, rows)
    page = offers.parse_page(request.GET.get("page"))
    data = products.products_report(business=business, period=report.period, page=page)
    base = _drill_base(business)
    rows = [(row, _drill(base, report, dim="product", key=row.key)) for row in data.rows]
    return _render(
        request, business, "products", report, "insights/reports/products.html",
        {
            "data": data, "rows": rows,
            "previous_page": report.query_with(page=page - 1) if page > 1 else None,
            "next_page": report.query_with(page=page + 1) if data.has_next else None,
        },
    )  # fmt: skip
