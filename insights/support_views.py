"""Dashboard → Insights: the Support, Offers and Products report pages and the CSV of
each of their tables (``?format=csv&table=<id>``); docs/insights.md, "Reports".

Support is for the whole staff: an agent sees the team's totals, times and heatmap
(no money, no other member's name) and only their own row of the per-agent table,
without drill-down links (the conversations page is for owners and admins). Offers
and Products hold money: owners and admins only, "not found" for agents as for
outsiders (``get_business_for(min_role=ADMIN)``).

Every page reads a fixed number of queries whatever its period (the tests count
them); anything unreadable in the query gives the default (period, page, table).
"""

from django.contrib.auth.decorators import login_required
from django.urls import reverse

from accounts.models import Membership
from accounts.selectors import get_business_for
from insights.report_views import drill_linker, render_page, render_report
from insights.reports import offers, products, support
from insights.reports.common import Table, csv_response
from insights.reports.period import ReportPeriod, parse_period, today_for
from insights.selectors import sees_money

ADMIN = Membership.Role.ADMIN


def _wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def _chosen(request, tables: dict[str, Table]) -> Table:
    """The table a CSV link asks for; the first one when it names none of them."""
    return tables.get(str(request.GET.get("table")), next(iter(tables.values())))


def _csv(business, report: ReportPeriod, table: Table):
    filename = f"{business.slug}-{table.id}-{report.first}-{report.last}.csv"
    return csv_response(filename, table.csv_header(), table.csv_rows())


def _csv_urls(url: str, report: ReportPeriod, tables) -> None:
    for table in tables:
        table.csv_url = f"{url}?{report.query_with(format='csv', table=table.id)}"


def _paging(report: ReportPeriod, page: int, has_next: bool) -> dict:
    return {
        "previous_page": report.query_with(page=page - 1) if page > 1 else None,
        "next_page": report.query_with(page=page + 1) if has_next else None,
    }


@login_required
def support_report(request, slug: str):
    business = get_business_for(user=request.user, slug=slug)
    report = parse_period(business, request.GET)
    money = sees_money(business)

    def build_page():
        return support.build_support(
            business=business, period=report.period,
            agent=None if money else request.user,
            link=drill_linker(business, report) if money else None,
        )  # fmt: skip

    if _wants_csv(request):
        return _csv(business, report, _chosen(request, build_page().tables))

    def build() -> dict:
        page = build_page()
        url = reverse("insights_support", args=[business.slug])
        _csv_urls(url, report, page.tables.values())
        return {"page": page, "tables": page.tables, "charts": page.charts, "is_agent": not money}

    viewer = "money" if money else f"agent:{request.user.pk}"
    return render_report(request, business, "support", report, build, viewer=viewer)


@login_required
def offers_report(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    report = parse_period(business, request.GET)
    if _wants_csv(request):
        # Every broadcast of the period, read a page at a time while the file streams;
        # each row ends with the currency, as a table with money does.
        header = [*offers.offers_table(business, []).csv_header(), "currency"]
        filename = f"{business.slug}-offers-{report.first}-{report.last}.csv"
        return csv_response(filename, header, offers.all_offer_rows(business, report.period))
    number = offers.parse_page(request.GET.get("page"))
    data = offers.offers_report(business=business, period=report.period, page=number)
    today = today_for(business).isoformat()

    def link(row: offers.OfferRow):
        broadcast = reverse("broadcast_detail", args=[business.slug, row.broadcast.pk])
        if row.campaign is None:
            return broadcast, None
        sent_on = row.broadcast.send_at.astimezone(business.tz).date().isoformat()
        campaign = reverse("campaign_detail", args=[business.slug, row.campaign.pk])
        return broadcast, f"{campaign}?model=last&from={sent_on}&to={max(sent_on, today)}"

    table = offers.offers_table(business, data.rows, link=link)
    _csv_urls(reverse("insights_offers", args=[business.slug]), report, [table])
    return render_page(
        request, business, "offers", report, "insights/reports/offers.html",
        {"data": data, "table": table, "chart": offers.offers_chart(business, table)}
        | _paging(report, number, data.has_next),
    )  # fmt: skip


@login_required
def products_report(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    report = parse_period(business, request.GET)
    if _wants_csv(request):
        data = products.products_report(business=business, period=report.period, size=None)
        return _csv(business, report, products.products_table(business, data.rows))
    number = offers.parse_page(request.GET.get("page"))

    def build() -> dict:
        data = products.products_report(business=business, period=report.period, page=number)
        link = drill_linker(business, report)
        table = products.products_table(business, data.rows, link=link)
        _csv_urls(reverse("insights_products", args=[business.slug]), report, [table])
        charts = products.products_charts(business, data.rows, link=link) if number == 1 else []
        return {"data": data, "table": table, "charts": charts} | _paging(
            report, number, data.has_next
        )

    return render_report(request, business, "products", report, build)
