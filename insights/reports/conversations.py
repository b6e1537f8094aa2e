"""Insights → Conversations: the conversations behind a report's number (drill-down),
paginated, and all of them as a streamed CSV, one row per conversation
(docs/insights.md, "Reports"). Owners and admins only.

Filters (query parameters, each optional; a value that cannot be read is dropped with
a note, never an error): ``dim`` with ``key`` (source, campaign, agent, label, product,
hour, response, as the rollups key them), ``outcome`` (bought, unpaid, none; requested
= bought or unpaid; lost = unpaid, or none from a product card), ``day`` (an ISO date
inside the period), ``weekday`` (1 = Monday … 7), ``hour`` (0–23, local) and
``bucket`` (a first-response-time bucket). All on ``ConversationFact`` of the
conversations started in the period.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Business
from insights.models import UTM_MAX, ConversationFact, DailyFigure, Outcome
from insights.reports.common import money_cell, weekday_names
from insights.reports.overview import source_label
from insights.reports.sales import BUCKET_KEYS, RESPONSE_BUCKETS, contact_name, names_for
from insights.selectors import Period

Dim = DailyFigure.Dim
DIMS = (Dim.SOURCE, Dim.CAMPAIGN, Dim.AGENT, Dim.LABEL, Dim.PRODUCT, Dim.HOUR, Dim.RESPONSE)
ID_DIMS = (Dim.CAMPAIGN, Dim.AGENT, Dim.LABEL, Dim.PRODUCT)
OUTCOMES = {
    "bought": gettext_lazy("Bought"),
    "unpaid": gettext_lazy("Asked to pay, did not pay"),
    "none": gettext_lazy("No payment request"),
    "requested": gettext_lazy("Asked to pay"),
    "lost": gettext_lazy("Lost"),
}
PAGE_SIZE = 50
NOTE_FILTER = gettext_lazy("Some filters were not valid and were left out.")


@dataclass
class Filters:
    dim: str | None = None
    key: str | None = None
    outcome: str | None = None
    day: datetime.date | None = None
    weekday: int | None = None
    hour: int | None = None
    bucket: str | None = None
    invalid: bool = False
    labels: list[str] = field(default_factory=list)  # what the page says it shows

    def params(self) -> dict[str, str]:
        out = {}
        if self.dim is not None:
            out |= {"dim": self.dim, "key": self.key or ""}
        for name in ("outcome", "day", "weekday", "hour", "bucket"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat() if name == "day" else str(value)
        return out


def _text(params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    value = str(value)
    # A NUL byte is no filter anyone means (and PostgreSQL refuses it in a parameter).
    return None if "\x00" in value or len(value) > UTM_MAX else value


def _small_int(text: str | None, low: int, high: int) -> int | None:
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 2:
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_filters(params, period: Period) -> Filters:
    """The drill-down filters of ``params``; unreadable ones are dropped and flagged."""
    f = Filters()

    def given(name):
        return params.get(name) not in (None, "")

    dim, key = _text(params, "dim"), _text(params, "key")
    if given("dim"):
        # A key too long or with a NUL is unreadable, not "none".
        ok = dim in DIMS and (key is not None or not given("key"))
        key = key or ""
        if ok and dim in ID_DIMS:
            ok = key == "" or (key.isascii() and key.isdigit() and len(key) < 19)
        elif ok and dim == Dim.HOUR:
            ok = _small_int(key, 0, 23) is not None
        elif ok and dim == Dim.RESPONSE:
            ok = key in BUCKET_KEYS
        if ok:
            f.dim, f.key = dim, key
        else:
            f.invalid = True
    outcome = _text(params, "outcome")
    if given("outcome"):
        if outcome in OUTCOMES:
            f.outcome = outcome
        else:
            f.invalid = True
    if given("day"):
        try:
            day = datetime.date.fromisoformat(_text(params, "day") or "")
        except ValueError:
            day = None
        if day is not None and period.first <= day <= period.last:
            f.day = day
        else:
            f.invalid = True
    for name, low, high in (("weekday", 1, 7), ("hour", 0, 23)):
        if given(name):
            value = _small_int(_text(params, name), low, high)
            if value is None:
                f.invalid = True
            setattr(f, name, value)
    bucket = _text(params, "bucket")
    if given("bucket"):
        if bucket in BUCKET_KEYS:
            f.bucket = bucket
        else:
            f.invalid = True
    return f


def _bucket_q(key: str) -> Q:
    for name, _label, low, high in RESPONSE_BUCKETS:
        if name == key:
            if name == "none":
                return Q(first_response_seconds__isnull=True)
            q = Q(first_response_seconds__gte=low)
            return q & Q(first_response_seconds__lt=high) if high is not None else q
    raise ValueError(key)


def _dim_q(dim: str, key: str) -> Q:
    if dim == Dim.SOURCE:
        return Q(source=key)
    if dim == Dim.HOUR:
        return Q(started_hour=int(key))
    if dim == Dim.RESPONSE:
        return _bucket_q(key)
    field_name = {
        Dim.CAMPAIGN: "campaign",
        Dim.AGENT: "agent",
        Dim.PRODUCT: "product",
        Dim.LABEL: "conversation__contact__labels",
    }[dim]
    if key == "":
        return Q(**{f"{field_name}__isnull": True})
    return Q(**{field_name: int(key)})


def _outcome_q(outcome: str) -> Q:
    if outcome == "requested":
        return Q(outcome__in=(Outcome.BOUGHT, Outcome.UNPAID))
    if outcome == "lost":
        return Q(outcome=Outcome.UNPAID) | Q(outcome=Outcome.NONE, product__isnull=False)
    return Q(outcome=outcome)


def list_conversations(
    *, business: Business, period: Period, filters: Filters
) -> QuerySet[ConversationFact]:
    """The business's conversations started in ``period`` that match ``filters``,
    newest first, with what a row shows (customer, campaign, agent, product)."""
    qs = ConversationFact.objects.filter(
        business=business, started_on__gte=period.first, started_on__lte=period.last
    )
    if filters.dim is not None:
        qs = qs.filter(_dim_q(filters.dim, filters.key or ""))
    if filters.outcome is not None:
        qs = qs.filter(_outcome_q(filters.outcome))
    if filters.day is not None:
        qs = qs.filter(started_on=filters.day)
    if filters.weekday is not None:
        qs = qs.filter(started_on__iso_week_day=filters.weekday)
    if filters.hour is not None:
        qs = qs.filter(started_hour=filters.hour)
    if filters.bucket is not None:
        qs = qs.filter(_bucket_q(filters.bucket))
    return qs.select_related(
        "conversation__contact__user", "campaign", "agent", "product"
    ).order_by("-started_on", "-started_at", "-conversation_id")


def describe(business: Business, filters: Filters) -> list[str]:
    """What the filters select, in words ("Source: instagram", "Bought"). One query
    at most (the name of a campaign, label, product or agent)."""
    out = []
    if filters.dim is not None:
        name = names_for(business, filters.dim, [filters.key or ""])[filters.key or ""]
        out.append(f"{Dim(filters.dim).label}: {name}")
    if filters.outcome is not None:
        out.append(str(OUTCOMES[filters.outcome]))
    if filters.day is not None:
        out.append(_("Started on %(day)s") % {"day": filters.day.isoformat()})
    if filters.weekday is not None:
        out.append(weekday_names()[filters.weekday - 1])
    if filters.hour is not None:
        out.append(_("Started at %(hour)02d:00–%(hour)02d:59") % {"hour": filters.hour})
    if filters.bucket is not None:
        out.append(str(dict((b[0], b[1]) for b in RESPONSE_BUCKETS)[filters.bucket]))
    return out


def agent_name(fact: ConversationFact) -> str:
    return fact.agent.get_short_name() if fact.agent_id and fact.agent else ""


CSV_COLUMNS = (
    "conversation",
    "started",
    "contact",
    "source",
    "campaign",
    "agent",
    "first_response_seconds",
    "outcome",
    "paid_orders",
    "revenue",
    "currency",
)


def csv_rows(business: Business, qs: QuerySet[ConversationFact]) -> Iterator[list]:
    """One row per conversation, read from the database 2,000 at a time (a year of
    conversations never sits in memory)."""
    tz, currency = business.tz, business.currency
    for fact in qs.iterator(chunk_size=2000):
        yield [
            fact.conversation_id,
            fact.started_at.astimezone(tz).isoformat(),
            contact_name(fact),
            source_label(fact.source),
            fact.campaign.name if fact.campaign_id and fact.campaign else "",
            agent_name(fact),
            fact.first_response_seconds,
            fact.outcome,
            fact.paid_orders,
            money_cell(fact.revenue, currency),
            currency,
        ]
