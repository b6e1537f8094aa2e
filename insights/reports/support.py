"""The Support report: how much the team talks with customers, how fast it answers
and resolves, and how satisfied customers are (docs/insights.md, "Reports").

Read from the rollups, never from messages: the counts are sums of
:class:`~insights.models.DailyFigure` rows over the period's days (dims ``total``,
``agent`` and ``hour``), the times are percentiles over the period's
:class:`~insights.models.ConversationFact` rows (conversations that started in the
period), computed by the database (PostgreSQL's ``percentile_cont``) or, on SQLite,
in Python from one ordered list of values. The number of queries does not depend on
the length of the period.

Definitions (one period = days ``first``..``last`` in the business's time zone):

- **conversations received**: business conversations that started in the period;
  **responded** / **resolved**: those of them that got a first response / were
  resolved (whenever);
- **messages in / out**: the customers' / the business's messages written in the
  period (per agent: the agent's own messages out; messages in of the conversations
  they handle);
- **first response time**: from the customer's first message to the business's first
  answer; **resolution time**: from the conversation's start to it being resolved;
  the **median** and the **90th percentile** (linear interpolation, as
  ``percentile_cont``) of the period's conversations that have one, **all**, **inside**
  and **outside** the opening hours (when the customer's first message came; a
  business without hours counts in "all" only);
- **ratings**: the follow-up ratings given in the period: count, **average** (1–5),
  **distribution** (count per score), and the **response rate** = ratings given /
  rating requests sent in the period (so a short period can show more than 100 %:
  a rating given today may answer a request of last week);
- **heatmap**: conversations received by local weekday (Monday first) × local hour
  of their start.

An agent (``agent=`` set) sees only their own row in the per-agent table; the
business's totals and the heatmap are the team's (they hold no money and no other
agent's name).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Aggregate, FloatField, Q, Sum
from django.utils import formats
from django.utils.translation import gettext as _

from accounts.models import Business, User
from insights.charts import Chart, Series
from insights.models import ConversationFact, DailyFigure
from insights.reports.common import HOURS, Cell, Table, by_weekday_hour, percent, weekday_names

COUNTS = (
    "conversations", "messages_in", "messages_out", "responded", "resolved",
    "rating_requests", "ratings", "rating_sum", "rated_1", "rated_2", "rated_3", "rated_4",
    "rated_5",
)  # fmt: skip
SCOPES = ("all", "in", "out")  # all conversations, inside and outside opening hours
SCOPE_FILTERS = {"all": None, "in": Q(in_hours=True), "out": Q(in_hours=False)}
MEASURES = ("first_response_seconds", "resolution_seconds")
FRACTIONS = {"median": 0.5, "p90": 0.9}
Linker = Callable[..., str]
TOTAL = "*"  # the whole business, in the SQLite fallback's groups


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``:
    the value at ``fraction`` of the ordered values, interpolated linearly; NULLs
    ignored, NULL when there is none."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within [0, 1]")
        # A float formatted by us, never user input: safe to put in the SQL.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile(ordered: list[int], fraction: float) -> float | None:
    """``percentile_cont`` in Python, over ``ordered`` (ascending)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Times:
    """Seconds (None: no conversation of the group has one)."""

    response_median: float | None = None
    response_p90: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None


@dataclass
class SupportRow:
    """The figures of the whole business (``key`` None) or of one agent (``key`` the
    user id as text, "" for conversations nobody handled)."""

    key: str | None
    label: str
    conversations: int = 0
    messages_in: int = 0
    messages_out: int = 0
    responded: int = 0
    resolved: int = 0
    rating_requests: int = 0
    ratings: int = 0
    rating_sum: int = 0
    rated: list[int] = field(default_factory=lambda: [0] * 5)  # scores 1..5
    times: dict[str, Times] = field(default_factory=lambda: {s: Times() for s in SCOPES})

    @property
    def rating_average(self) -> Decimal | None:
        if not self.ratings:
            return None
        return (Decimal(self.rating_sum) / self.ratings).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def rating_rate(self) -> Decimal | None:
        """Ratings given per rating request sent, in percent."""
        return percent(self.ratings, self.rating_requests)

    @property
    def distribution(self) -> list[tuple[int, int]]:
        """(score, count) from 5 down to 1."""
        return [(score, self.rated[score - 1]) for score in range(5, 0, -1)]


@dataclass
class SupportReport:
    total: SupportRow
    agents: list[SupportRow]
    # heatmap[weekday 0 = Monday][hour] = conversations received
    heatmap: list[list[int]]


def _fill(row: SupportRow, sums: dict[str, Any]) -> None:
    for name in COUNTS:
        value = sums.get(name) or 0
        if name.startswith("rated_"):
            row.rated[int(name[-1]) - 1] = value
        else:
            setattr(row, name, value)


def _days(business: Business, period) -> Any:
    return DailyFigure.objects.filter(
        business=business, day__gte=period.first, day__lte=period.last
    )


def _facts(business: Business, period) -> Any:
    return ConversationFact.objects.filter(
        business=business, started_on__gte=period.first, started_on__lte=period.last
    )


def _time_aggregates() -> dict[str, PercentileCont]:
    out = {}
    for scope, condition in SCOPE_FILTERS.items():
        for measure in MEASURES:
            for name, fraction in FRACTIONS.items():
                out[f"{scope}__{measure}__{name}"] = PercentileCont(
                    measure, fraction, filter=condition
                )
    return out


def _times_from(values: dict[str, Any]) -> dict[str, Times]:
    out = {}
    for scope in SCOPES:
        out[scope] = Times(
            response_median=values.get(f"{scope}__first_response_seconds__median"),
            response_p90=values.get(f"{scope}__first_response_seconds__p90"),
            resolution_median=values.get(f"{scope}__resolution_seconds__median"),
            resolution_p90=values.get(f"{scope}__resolution_seconds__p90"),
        )
    return out


def response_times(
    *, business: Business, period, agent_ids: list[int] | None = None
) -> tuple[dict[str, Times], dict[str, dict[str, Times]]]:
    """(the business's times, {agent key: times}) for the conversations that started
    in ``period``; ``agent_ids`` (None: all) limits the per-agent part. Two queries on
    PostgreSQL, one on SQLite, whatever the period."""
    facts = _facts(business, period)
    if connection.vendor == "postgresql":
        total = _times_from(facts.aggregate(**_time_aggregates()))
        per_agent = facts if agent_ids is None else facts.filter(agent__in=agent_ids)
        agents = {
            "" if row["agent"] is None else str(row["agent"]): _times_from(row)
            for row in per_agent.values("agent").annotate(**_time_aggregates()).order_by()
        }
        return total, agents
    # SQLite (the embedded default) has no percentile_cont: one list, sorted here.
    values: dict[tuple, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for agent, in_hours, response, resolution in facts.values_list(
        "agent", "in_hours", "first_response_seconds", "resolution_seconds"
    ).order_by():
        groups = [TOTAL]
        if agent_ids is None or agent in agent_ids:
            groups.append("" if agent is None else str(agent))
            seen.add(groups[-1])
        scopes = ["all"] + (["in"] if in_hours else ["out"] if in_hours is False else [])
        for group in groups:
            for scope in scopes:
                for measure, value in zip(MEASURES, (response, resolution), strict=True):
                    if value is not None:
                        values[(group, scope, measure)].append(value)

    def times_of(group: str) -> dict[str, Times]:
        found = {}
        for scope in SCOPES:
            for measure in MEASURES:
                ordered = sorted(values.get((group, scope, measure), []))
                for name, fraction in FRACTIONS.items():
                    found[f"{scope}__{measure}__{name}"] = percentile(ordered, fraction)
        return _times_from(found)

    return times_of(TOTAL), {key: times_of(key) for key in seen}


def support_report(*, business: Business, period, agent: User | None = None) -> SupportReport:
    """The Support report of ``business`` for ``period``. With ``agent`` (an agent
    reading it), the per-agent table holds that agent's row only."""
    days = _days(business, period)
    sums = days.filter(dim=DailyFigure.Dim.TOTAL).aggregate(**{n: Sum(n) for n in COUNTS})
    total = SupportRow(key=None, label="")
    _fill(total, sums)

    per_agent = days.filter(dim=DailyFigure.Dim.AGENT)
    if agent is not None:
        per_agent = per_agent.filter(key=str(agent.pk))
    rows: dict[str, SupportRow] = {}
    for found in per_agent.values("key").annotate(**{n: Sum(n) for n in COUNTS}).order_by():
        rows[found["key"]] = row = SupportRow(key=found["key"], label="")
        _fill(row, found)
    agent_ids = [agent.pk] if agent is not None else None
    total.times, times = response_times(business=business, period=period, agent_ids=agent_ids)
    for key, found_times in times.items():
        if key in rows:
            rows[key].times = found_times
        elif agent is None or key == str(agent.pk):
            rows[key] = SupportRow(key=key, label="", times=found_times)
    ids = [int(key) for key in rows if key.isdigit()]
    names = {str(u.pk): str(u) for u in User.objects.filter(pk__in=ids)} if ids else {}
    for key, row in rows.items():
        row.label = names.get(key) or (_("Nobody") if key == "" else _("Former member"))
    agents = sorted(rows.values(), key=lambda r: (-r.conversations, r.label, r.key or ""))

    heatmap = [[0] * 24 for _ in range(7)]
    for (weekday, hour), sums in by_weekday_hour(business, period).items():
        if 0 <= hour < 24:
            heatmap[weekday - 1][hour] = sums.conversations
    return SupportReport(total=total, agents=agents, heatmap=heatmap)


# --- The page ---------------------------------------------------------------------------


@dataclass
class SupportPage:
    data: SupportReport
    tables: dict[str, Table]
    charts: dict[str, Chart]


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


class DecimalCell(Cell):
    """A decimal shown with two places in the viewer's language (an average rating)."""

    @property
    def text(self) -> str:
        if self.value is None:
            return "—"
        return formats.number_format(self.value, 2)


def _rating(row: SupportRow) -> Cell:
    return DecimalCell(row.rating_average, "decimal")


def build_support(
    *, business: Business, period, agent: User | None = None, link: Linker | None = None
) -> SupportPage:
    """The Support page: its tables (each also a CSV) and charts. ``link(**filters)``
    gives the drill-down URL (None: no links, as for agents)."""
    data = support_report(business=business, period=period, agent=agent)
    total = data.total

    def to(**filters) -> str | None:
        return link(**filters) if link else None

    summary = Table("support_summary", _("Support"), [_("Figure"), _("Value")])
    figures = [
        (_("Conversations received"), Cell(total.conversations, link=to())),
        (_("Messages in"), Cell(total.messages_in)),
        (_("Messages out"), Cell(total.messages_out)),
        (_("Got a first response"), Cell(total.responded)),
        (_("Resolved"), Cell(total.resolved)),
        (_("Median first response"), Cell(_seconds(total.times["all"].response_median), "seconds")),
        (_("Median resolution"), Cell(_seconds(total.times["all"].resolution_median), "seconds")),
        (_("Ratings"), Cell(total.ratings)),
        (_("Average rating (1–5)"), _rating(total)),
        (_("Rating requests"), Cell(total.rating_requests)),
        (_("Ratings per request"), Cell(total.rating_rate, "percent")),
    ]
    summary.rows = [[Cell(label, "text"), cell] for label, cell in figures]

    times = Table(
        "support_times", _("Response and resolution times"),
        [_("Conversations"), _("First response, median"), _("First response, 90th percentile"),
         _("Resolution, median"), _("Resolution, 90th percentile")],
    )  # fmt: skip
    for scope, label in (
        ("all", _("All conversations")), ("in", _("Inside opening hours")),
        ("out", _("Outside opening hours")),
    ):  # fmt: skip
        t = total.times[scope]
        times.rows.append([Cell(label, "text")] + [
            Cell(_seconds(v), "seconds")
            for v in (t.response_median, t.response_p90, t.resolution_median, t.resolution_p90)
        ])  # fmt: skip

    agents = Table(
        "support_agents", _("Your figures") if agent is not None else _("By agent"),
        [_("Agent"), _("Conversations"), _("Messages out"), _("Resolved"),
         _("First response, median"), _("First response, 90th percentile"),
         _("Resolution, median"), _("Resolution, 90th percentile"), _("Ratings"),
         _("Average rating (1–5)")],
        empty=_("No conversations in this period."),
    )  # fmt: skip
    for row in data.agents:
        t = row.times["all"]
        agents.rows.append([
            Cell(row.label, "text"), Cell(row.conversations, link=to(dim="agent", key=row.key)),
            Cell(row.messages_out), Cell(row.resolved),
            Cell(_seconds(t.response_median), "seconds"), Cell(_seconds(t.response_p90), "seconds"),
            Cell(_seconds(t.resolution_median), "seconds"),
            Cell(_seconds(t.resolution_p90), "seconds"), Cell(row.ratings), _rating(row),
        ])  # fmt: skip

    by_hours = Table(
        "support_agent_hours", _("By agent, inside and outside opening hours"),
        [_("Agent"), _("First response, median, inside opening hours"),
         _("First response, median, outside opening hours"),
         _("Resolution, median, inside opening hours"),
         _("Resolution, median, outside opening hours")],
        empty=_("No conversations in this period."),
    )  # fmt: skip
    for row in data.agents:
        inside, outside = row.times["in"], row.times["out"]
        by_hours.rows.append([Cell(row.label, "text")] + [
            Cell(_seconds(v), "seconds")
            for v in (inside.response_median, outside.response_median,
                      inside.resolution_median, outside.resolution_median)
        ])  # fmt: skip

    ratings = Table("support_ratings", _("Ratings by score"), [_("Score"), _("Ratings")])
    ratings.rows = [[Cell(score, "text"), Cell(n)] for score, n in total.distribution]

    names = weekday_names()
    heatmap = Table(
        "support_heatmap", _("Conversations received by weekday and hour"),
        [_("Weekday"), *[str(hour) for hour in HOURS]], heatmap=True,
    )  # fmt: skip
    for weekday, (name, hours) in enumerate(zip(names, data.heatmap, strict=True), 1):
        heatmap.rows.append([Cell(name, "text")] + [
            Cell(n, link=to(weekday=weekday, hour=hour) if n else None)
            for hour, n in enumerate(hours)
        ])  # fmt: skip

    charts = {
        "heatmap": Chart(
            id="support-heatmap", kind="heatmap", title=heatmap.title,
            labels=[str(hour) for hour in HOURS], label_header=_("Weekday"),
            series=[
                Series(name=row[0].value, values=[c.value for c in row[1:]],
                       links=[c.link for c in row[1:]])
                for row in heatmap.rows
            ],
        ),
        "ratings": Chart(
            id="support-ratings", kind="bar", title=ratings.title, label_header=_("Score"),
            labels=[str(score) for score, _n in total.distribution],
            series=[Series(name=_("Ratings"), values=[n for _s, n in total.distribution])],
        ),
    }  # fmt: skip
    medians = [_seconds(row.times["all"].response_median) for row in data.agents]
    if len(data.agents) > 1 and any(m is not None for m in medians):
        charts["agents"] = Chart(
            id="support-agents", kind="hbar", title=_("Median first response by agent"),
            label_header=_("Agent"), labels=[row.label for row in data.agents],
            series=[Series(
                name=_("First response, median"), format="seconds",
                values=medians,
            )],
        )  # fmt: skip
    tables = {t.id: t for t in (summary, times, agents, by_hours, ratings, heatmap)}
    return SupportPage(data=data, tables=tables, charts=charts)
