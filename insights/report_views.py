"""Dashboard → Insights: Overview, Chats that sell, the drill-down conversations page,
and the CSV exports of their tables (docs/insights.md, "Reports").

Owners and admins see these pages; an agent gets "not found" (they see money), except
that the Insights entry (the Overview URL) sends an agent on to the Support report.
Another business's slug is "not found". The period and filters come from the query
and never fail: unreadable values give the defaults with a note on the page."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from insights.reports import common
from insights.reports import conversations as drill
from insights.reports.cache import cached_body
from insights.reports.common import Cell, Table
from insights.reports.overview import build_overview, source_label
from insights.reports.period import ReportPeriod, parse_period
from insights.reports.sales import build_sales, contact_name
from insights.selectors import sees_money

ADMIN = Membership.Role.ADMIN
SECTION = "insights"
OVERVIEW_TABLES = ("overview", "series", "funnel", "sources")


def _business(request, slug: str):
    return get_business_for(user=request.user, slug=slug, min_role=ADMIN)


def drill_linker(business, report: ReportPeriod):
    """``link(**filters)``: the drill-down (the Conversations page) for this period and
    these filters (None left out); a filter may replace the period (a chart's bucket)."""
    base = reverse("insights_conversations", args=[business.slug])

    def link(**filters) -> str:
        return f"{base}?{report.query_with(**filters)}"

    return link


def _chat_url(business):
    def chat_url(conversation_id: int) -> str:
        return reverse("inbox_thread", args=[business.slug, conversation_id])

    return chat_url


def _with_csv_urls(business, report: ReportPeriod, tables: dict[str, Table]) -> dict:
    for table in tables.values():
        url = reverse("insights_export", args=[business.slug, table.id])
        table.csv_url = f"{url}?{report.query}"
    return tables


def render_page(request, business, tab: str, report: ReportPeriod, template: str, context: dict):
    context = common.page_context(business, tab, report) | context
    return render_dashboard(request, business, SECTION, template, context)


def render_report(
    request, business, tab: str, report: ReportPeriod, build, *, viewer="money", context=None
):
    """The page ``tab`` around its body (``insights/reports/_<tab>_body.html`` with
    ``build()``'s context), the body reused while the rollups stay the same
    (:mod:`insights.reports.cache`). ``viewer``: what the viewer may see ("money" for
    owners and admins, "agent:<id>")."""

    def render_body() -> str:
        body_context = common.page_context(business, tab, report) | build()
        return render_to_string(f"insights/reports/_{tab}_body.html", body_context, request)

    body = cached_body(
        request=request, business=business, page=tab, report=report, viewer=viewer,
        render=render_body,
    )  # fmt: skip
    return render_page(
        request, business, tab, report, f"insights/reports/{tab}.html",
        {"body": body} | (context or {}),
    )  # fmt: skip


@login_required
def overview(request, slug: str):
    business = get_business_for(user=request.user, slug=slug)
    if not sees_money(business):
        # The Insights entry is the same link for everyone: agents land on Support.
        try:
            return redirect("insights_support", slug=business.slug)
        except NoReverseMatch:
            raise Http404 from None
    report = parse_period(business, request.GET)

    def build() -> dict:
        data = build_overview(business=business, report=report, link=drill_linker(business, report))
        return {"data": data, "tables": _with_csv_urls(business, report, data.tables)}

    return render_report(request, business, "overview", report, build)


@login_required
def sales(request, slug: str):
    business = _business(request, slug)
    report = parse_period(business, request.GET)

    def build() -> dict:
        link = drill_linker(business, report)
        data = build_sales(
            business=business, report=report, link=link, chat_url=_chat_url(business)
        )
        tables = _with_csv_urls(business, report, data.tables)
        return {"data": data, "tables": list(tables.values()), "lost_url": link(outcome="lost")}

    return render_report(request, business, "sales", report, build)


def _conversation_table(business, page) -> Table:
    chat_url = _chat_url(business)
    tz, currency = business.tz, business.currency
    table = Table(
        "conversations",
        _("Conversations"),
        [
            _("Customer"),
            _("Started"),
            _("Source"),
            _("Campaign"),
            _("Agent"),
            _("First response"),
            _("Outcome"),
            _("Net revenue"),
        ],
        empty=_("No conversations match."),
    )
    for fact in page:
        table.rows.append(
            [
                Cell(contact_name(fact), "text", chat_url(fact.conversation_id)),
                Cell(fact.started_at.astimezone(tz), "datetime"),
                Cell(source_label(fact.source), "text"),
                Cell(fact.campaign.name if fact.campaign else "", "text"),
                Cell(drill.agent_name(fact), "text"),
                Cell(fact.first_response_seconds, "seconds"),
                Cell(fact.get_outcome_display(), "text"),
                Cell(fact.revenue, "money", currency=currency),
            ]
        )
    return table


@login_required
def conversations(request, slug: str):
    business = _business(request, slug)
    report = parse_period(business, request.GET)
    filters = drill.parse_filters(request.GET, report.period)

    def build() -> dict:
        qs = drill.list_conversations(business=business, period=report.period, filters=filters)
        page = Paginator(qs, drill.PAGE_SIZE).get_page(request.GET.get("page"))
        table = _conversation_table(business, page)
        query = report.query_with(**filters.params())
        table.csv_url = f"{reverse('insights_conversations_csv', args=[business.slug])}?{query}"
        clear = reverse("insights_conversations", args=[business.slug])
        return {
            "table": table,
            "page": page,
            "query": query,
            "filters": drill.describe(business, filters),
            "filter_note": drill.NOTE_FILTER if filters.invalid else "",
            "clear_url": f"{clear}?{report.query}",
        }

    hidden = {k: v for k, v in filters.params().items() if k != "day"}
    return render_report(
        request, business, "conversations", report, build, context={"hidden": hidden}
    )


@login_required
def export(request, slug: str, table: str):
    """One table of the Overview or "Chats that sell" as CSV, for the query's period."""
    business = _business(request, slug)
    report = parse_period(business, request.GET)
    link = drill_linker(business, report)
    if table in OVERVIEW_TABLES:
        tables = build_overview(business=business, report=report, link=link).tables
    elif table.startswith("sales_"):
        tables = build_sales(
            business=business, report=report, link=link, chat_url=_chat_url(business)
        ).tables
    else:
        raise Http404
    if table not in tables:
        raise Http404
    chosen = tables[table]
    filename = f"{business.slug}-{table}-{report.first}-{report.last}.csv"
    return common.csv_response(filename, chosen.csv_header(), chosen.csv_rows())


@login_required
def conversations_csv(request, slug: str):
    """Every conversation of the period matching the drill-down filters, one row each,
    streamed."""
    business = _business(request, slug)
    report = parse_period(business, request.GET)
    filters = drill.parse_filters(request.GET, report.period)
    qs = drill.list_conversations(business=business, period=report.period, filters=filters)
    filename = f"{business.slug}-conversations-{report.first}-{report.last}.csv"
    return common.csv_response(filename, drill.CSV_COLUMNS, drill.csv_rows(business, qs))
