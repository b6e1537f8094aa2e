"""REST endpoints for the Insights reports, under ``businesses/<slug>/insights/``: the
Overview's figures, a time series, the breakdowns of "Chats that sell", Support, and
the drill-down conversations with their streamed CSV (docs/insights.md, "Reports" and
"API"). Thin: read the period and filters as the pages do, call the pages' report
selectors (``insights/reports/``), serialize.

Permissions are the pages': another business or none is 404; every report but Support
holds money, so an agent (who may open Support, with their own figures only) gets 403
``forbidden`` there — the API's answer to a member below the role an operation needs,
where the pages send an agent on to Support. Query parameters never fail: an
unreadable period or filter gives the default, with a note in ``period.notes``.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Business
from accounts.selectors import get_business_for
from core.api import id_page, query_data
from core.errors import forbidden
from insights.models import ConversationFact
from insights.report_serializers import (
    BreakdownSerializer,
    ConversationPageSerializer,
    OverviewSerializer,
    SupportSerializer,
    TimeseriesSerializer,
)
from insights.reports import common, support
from insights.reports import conversations as drill
from insights.reports.common import Totals
from insights.reports.overview import build_overview
from insights.reports.period import GROUPS, ReportPeriod, parse_period
from insights.reports.sales import BUCKET_KEYS, contact_name, names_for
from insights.selectors import MAX_PERIOD_DAYS, sees_money
from payments.serializers.common import PageFilterSerializer

REPORTS = ["insights (reports)"]
OUTCOME_CHOICES = tuple(drill.OUTCOMES)

# --- Query parameters (documented; read by parse_period / parse_filters, never a 400) --

PERIOD_PARAMETERS = [
    OpenApiParameter(
        "range",
        str,
        description=(
            "The period: `today`, `yesterday`, `7`, `28`, `90`, `this_month`, `last_month`, "
            f"`custom` (with `from` and `to`) or another number of days up to {MAX_PERIOD_DAYS} "
            "(the last N days, answered as `custom`); default `28`: the last 28 days, today "
            "included. "
            "Days are the business's, in its time zone."
        ),
    ),
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description=("First day of a `custom` range (YYYY-MM-DD)."),
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description=(
            "Last day of a `custom` range, included (YYYY-MM-DD); at most 3 years after `from`."
        ),
    ),
    OpenApiParameter(
        "group",
        str,
        enum=list(GROUPS),
        description=(
            "Group by day, ISO week or month (default: day up to 31 days, week up to 180, "
            "month above)."
        ),
    ),
]
FILTER_PARAMETERS = [
    OpenApiParameter(
        "dim",
        str,
        enum=list(drill.DIMS),
        description=("With `key`: the conversations of one breakdown row."),
    ),
    OpenApiParameter("key", str, description=("The breakdown row's `key` (empty: none, direct).")),
    OpenApiParameter(
        "outcome",
        str,
        enum=list(OUTCOME_CHOICES),
        description=(
            "`requested` = bought or unpaid; `lost` = unpaid, or none from a product card."
        ),
    ),
    OpenApiParameter("day", OpenApiTypes.DATE, description=("Started on this day of the period.")),
    OpenApiParameter("weekday", int, description=("Started on this ISO weekday (1 = Monday … 7).")),
    OpenApiParameter("hour", int, description=("Started in this local hour (0–23).")),
    OpenApiParameter(
        "bucket",
        str,
        enum=list(BUCKET_KEYS),
        description=("First answered within this first-response-time bucket."),
    ),
]
DIM_PARAMETER = OpenApiParameter(
    "dim", str, OpenApiParameter.PATH, enum=list(drill.DIMS),
    description=("What to break the figures down by."),
)  # fmt: skip
MONEY_ONLY = " Owners and admins: an agent gets 403 `forbidden` (the figures hold money)."


class IgnoreClientContentNegotiation(BaseContentNegotiation):
    """JSON whatever the client accepts (a CSV client sends ``Accept: text/csv``): the
    CSV itself is a streamed response that no renderer touches, and errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _business(request, slug: str, *, money: bool = True) -> Business:
    """The business if the user is a member (else 404); with ``money``, 403 for a member
    who does not see money (an agent)."""
    business = get_business_for(user=request.user, slug=slug)
    if money and not sees_money(business):
        raise forbidden()
    return business


def _period(business: Business, request) -> ReportPeriod:
    return parse_period(business, request.query_params)


def _period_out(report: ReportPeriod, extra_notes=()) -> dict:
    return {
        "first": report.first,
        "last": report.last,
        "range": report.range,
        "group": report.group,
        "notes": [str(n) for n in (*report.notes, *extra_notes)],
    }


def _sums(sums: Totals) -> dict:
    return {name: getattr(sums, name) for name in common.SUMS} | {
        "net": sums.net,
        "no_request": sums.no_request,
        "conversion": sums.conversion,
    }


# --- Overview and time series -----------------------------------------------------------


class OverviewView(APIView):
    @extend_schema(
        tags=REPORTS,
        summary="The Overview's figures against the previous period (admin+)",
        operation_id="v1_businesses_insights_overview",
        description=(
            "The figures of Dashboard → Insights → Overview for the period and for the "
            "previous period of the same length, and each one's change in percent. "
            "Money in minor units of `currency`; rates and changes as decimal strings in "
            "percent." + MONEY_ONLY
        ),
        parameters=PERIOD_PARAMETERS,
        responses=OverviewSerializer,
    )
    def get(self, request, slug):
        business = _business(request, slug)
        report = _period(business, request)
        data = build_overview(business=business, report=report, link=lambda **_f: "")
        previous = report.previous
        body = {
            "period": _period_out(report),
            "previous_period": {"first": previous.first, "last": previous.last},
            "currency": business.currency,
            "current": {m.name: m.value for m in data.metrics},
            "previous": {m.name: m.previous for m in data.metrics},
            "change": {m.name: m.change for m in data.metrics},
        }
        return Response(OverviewSerializer(body).data)


class TimeseriesView(APIView):
    @extend_schema(
        tags=REPORTS,
        summary="The period's sums per day, week or month (admin+)",
        operation_id="v1_businesses_insights_timeseries",
        description=(
            "One item per bucket of the period (empty buckets too), the first and last "
            "week or month cut at the period's edges: the Overview's chart of net revenue "
            "and paid orders, with every sum." + MONEY_ONLY
        ),
        parameters=PERIOD_PARAMETERS,
        responses=TimeseriesSerializer,
    )
    def get(self, request, slug):
        business = _business(request, slug)
        report = _period(business, request)
        series = common.grouped(business, report.period, report.group)
        body = {
            "period": _period_out(report),
            "currency": business.currency,
            "results": [
                {"first": bucket.first, "last": bucket.last} | _sums(sums)
                for bucket, sums in series
            ],
        }
        return Response(TimeseriesSerializer(body).data)


# --- Breakdowns -------------------------------------------------------------------------


def _ordered_keys(dim: str, found: dict[str, Totals], names: dict[str, str]) -> list[str]:
    """The pages' order: response buckets fastest first, hours by the clock, the others
    most conversations first."""
    if dim == "response":
        return [k for k in BUCKET_KEYS if k in found]
    if dim == "hour":
        return sorted(found, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
    return sorted(found, key=lambda k: (-found[k].conversations, -found[k].net, names[k]))


class BreakdownView(APIView):
    @extend_schema(
        tags=REPORTS,
        summary="The period's sums by source, campaign, agent, label, product, hour or response time (admin+)",  # noqa: E501
        operation_id="v1_businesses_insights_breakdown",
        description=(
            "One item per key of the dimension with figures in the period (the tables of "
            '"Chats that sell"), with the name the pages show, the conversations by '
            "outcome, the conversion rate and the money. For `product`, conversations are "
            "those opened from the product's card and the money is its order lines'. An "
            "unknown `dim` is 404." + MONEY_ONLY
        ),
        parameters=[DIM_PARAMETER, *PERIOD_PARAMETERS],
        responses=BreakdownSerializer,
    )
    def get(self, request, slug, dim):
        business = _business(request, slug)
        if dim not in drill.DIMS:
            raise Http404
        report = _period(business, request)
        found = common.by_key(business, report.period, dim)
        names = names_for(business, dim, list(found))
        body = {
            "period": _period_out(report),
            "currency": business.currency,
            "dim": dim,
            "results": [
                {"key": key, "name": names[key]} | _sums(found[key])
                for key in _ordered_keys(dim, found, names)
            ],
        }
        return Response(BreakdownSerializer(body).data)


# --- Support ----------------------------------------------------------------------------


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def _times(times: support.Times) -> dict:
    return {
        "response_median": _seconds(times.response_median),
        "response_p90": _seconds(times.response_p90),
        "resolution_median": _seconds(times.resolution_median),
        "resolution_p90": _seconds(times.resolution_p90),
    }


def _support_row(row: support.SupportRow) -> dict:
    return {
        "key": row.key or "",
        "name": row.label,
        "conversations": row.conversations,
        "messages_in": row.messages_in,
        "messages_out": row.messages_out,
        "responded": row.responded,
        "resolved": row.resolved,
        "rating_requests": row.rating_requests,
        "ratings": row.ratings,
        "rating_average": row.rating_average,
        "rating_rate": row.rating_rate,
        "distribution": [{"score": s, "count": n} for s, n in row.distribution],
        "times": {scope: _times(t) for scope, t in row.times.items()},
    }


class SupportView(APIView):
    @extend_schema(
        tags=REPORTS,
        summary="The Support report (agent+)",
        operation_id="v1_businesses_insights_support",
        description=(
            "Conversations received, messages in and out, first response and resolution "
            "times (median and 90th percentile; all, inside and outside opening hours), "
            "ratings, per agent, and the weekday × hour heatmap. No money: agents may read "
            "it, and see the team's totals and heatmap and their own row of `agents` only."
        ),
        parameters=PERIOD_PARAMETERS,
        responses=SupportSerializer,
    )
    def get(self, request, slug):
        business = _business(request, slug, money=False)
        report = _period(business, request)
        agent = None if sees_money(business) else request.user
        data = support.support_report(business=business, period=report.period, agent=agent)
        body = {
            "period": _period_out(report),
            "total": _support_row(data.total),
            "agents": [_support_row(row) for row in data.agents],
            "heatmap": data.heatmap,
        }
        return Response(SupportSerializer(body).data)


# --- Conversations ----------------------------------------------------------------------


def _drilled(request, slug):
    """(business, period, filters, the matching facts) as the drill-down page reads them."""
    business = _business(request, slug)
    report = _period(business, request)
    filters = drill.parse_filters(request.query_params, report.period)
    facts = drill.list_conversations(business=business, period=report.period, filters=filters)
    return business, report, filters, facts


def _fact(fact: ConversationFact) -> dict:
    return {
        "conversation_id": fact.conversation_id,
        "started_at": fact.started_at,
        "started_on": fact.started_on,
        "started_hour": fact.started_hour,
        "contact": contact_name(fact),
        "source": fact.source,
        "campaign_id": fact.campaign_id,
        "campaign": fact.campaign.name if fact.campaign else None,
        "agent_id": fact.agent_id,
        "agent": drill.agent_name(fact) or None,
        "product_id": fact.product_id,
        "product": fact.product.name if fact.product else None,
        "first_response_seconds": fact.first_response_seconds,
        "in_hours": fact.in_hours,
        "resolution_seconds": fact.resolution_seconds,
        "outcome": fact.outcome,
        "requests": fact.requests,
        "paid_orders": fact.paid_orders,
        "revenue": fact.revenue,
    }


def _filters_out(filters: drill.Filters) -> dict:
    return {
        name: getattr(filters, name)
        for name in ("dim", "key", "outcome", "day", "weekday", "hour", "bucket")
    }


class ConversationListView(APIView):
    @extend_schema(
        tags=REPORTS,
        summary="The conversations behind a report's figure (admin+)",
        operation_id="v1_businesses_insights_conversations_list",
        description=(
            "The conversations started in the period that match the drill-down filters "
            "(the Conversations page), newest first, a page at a time (follow `next`). "
            "A filter that cannot be read is left out, with a note in `period.notes`." + MONEY_ONLY
        ),
        parameters=[*PERIOD_PARAMETERS, *FILTER_PARAMETERS, PageFilterSerializer],
        responses=ConversationPageSerializer,
    )
    def get(self, request, slug):
        business, report, filters, facts = _drilled(request, slug)
        params = query_data(request, PageFilterSerializer)
        # The cursor is the conversation id: newest conversation first.
        page = id_page(request, facts.order_by("-pk"), limit=params["limit"],
                       before=params.get("before"))  # fmt: skip
        body = {
            "period": _period_out(report, [drill.NOTE_FILTER] if filters.invalid else []),
            "currency": business.currency,
            "filters": _filters_out(filters),
            "results": [_fact(fact) for fact in page["results"]],
            "next": page["next"],
        }
        return Response(ConversationPageSerializer(body).data)


class ConversationExportView(APIView):
    content_negotiation_class = IgnoreClientContentNegotiation

    @extend_schema(
        tags=REPORTS,
        summary="The conversations behind a report's figure, as CSV (admin+)",
        operation_id="v1_businesses_insights_conversations_export",
        description=(
            "Every conversation of the period that matches the drill-down filters, one row "
            "each (the Conversations page's CSV: contact's public name, source, campaign, "
            "agent, first response time, outcome, revenue as a decimal with its currency), "
            "streamed: a year of conversations never sits in memory. UTF-8 with a BOM; "
            "cells that a spreadsheet would read as a formula are escaped." + MONEY_ONLY
        ),
        parameters=[*PERIOD_PARAMETERS, *FILTER_PARAMETERS],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="The CSV file (an attachment).",
            )
        },
    )
    def get(self, request, slug):
        business, report, _filters, facts = _drilled(request, slug)
        filename = f"{business.slug}-conversations-{report.first}-{report.last}.csv"
        return common.csv_response(filename, drill.CSV_COLUMNS, drill.csv_rows(business, facts))
