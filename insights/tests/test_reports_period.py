"""The report period parser (insights.reports.period) and the shared sums
(insights.reports.common): presets, custom dates, bad and hostile input, grouping."""

import datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from core.money import per
from insights.reports import common
from insights.reports.period import parse_period, previous_period
from insights.selectors import MAX_PERIOD_DAYS, Period

SP = ZoneInfo("America/Sao_Paulo")
BUSINESS = SimpleNamespace(tz=SP)
# 02:30 UTC on 1 March is still 28 February (23:30) in São Paulo.
NOW = datetime.datetime(2026, 3, 1, 2, 30, tzinfo=datetime.UTC)
D = datetime.date


def parse(query: str):
    return parse_period(BUSINESS, QueryDict(query), now=NOW)


def test_default_is_the_last_28_local_days():
    p = parse("")
    assert (p.first, p.last, p.range, p.group, p.note) == (
        D(2026, 2, 1),
        D(2026, 2, 28),
        "28",
        "day",
        "",
    )


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ("range=today", D(2026, 2, 28), D(2026, 2, 28)),
        ("range=yesterday", D(2026, 2, 27), D(2026, 2, 27)),
        ("range=7", D(2026, 2, 22), D(2026, 2, 28)),
        ("range=90", D(2025, 12, 1), D(2026, 2, 28)),
        ("range=this_month", D(2026, 2, 1), D(2026, 2, 28)),
        ("range=last_month", D(2026, 1, 1), D(2026, 1, 31)),
        ("range=custom&from=2025-12-24&to=2026-01-02", D(2025, 12, 24), D(2026, 1, 2)),
        ("from=2025-12-24&to=2026-01-02", D(2025, 12, 24), D(2026, 1, 2)),  # campaigns' links
        ("range=7&from=2025-12-24&to=2026-01-02", D(2026, 2, 22), D(2026, 2, 28)),
        ("range=1", D(2026, 2, 28), D(2026, 2, 28)),  # any number of days: the last N
        ("range=365", D(2025, 3, 1), D(2026, 2, 28)),
    ],
)
def test_presets_and_custom_dates(query, first, last):
    p = parse(query)
    assert (p.first, p.last, p.note) == (first, last, "")


@pytest.mark.parametrize(
    "query",
    [
        "range=0",
        "range=5000",
        "range=１２",
        "range=%00",
        "range=<script>",
        "range=custom",
        "range=custom&from=2026-01-01",
        "range=custom&from=01/02/2026&to=2026-02-10",
        "range=custom&from=20260101&to=20260110",
        "range=custom&from=2026-02-30&to=2026-03-01",
        "range=custom&from=0001-01-01&to=2026-01-01",
        "range=custom&from=2026-01-01&to=9999-12-31",
        "range=custom&from=2026-02-10&to=2026-02-01",
    ],
)
def test_bad_periods_give_the_default_with_a_note(query):
    p = parse(query)
    assert (p.first, p.last, p.range) == (D(2026, 2, 1), D(2026, 2, 28), "28")
    assert p.note


def test_a_50_year_range_is_cut_to_3_years_up_to_its_end():
    p = parse("range=custom&from=2000-01-01&to=2049-12-31")
    assert p.last == D(2049, 12, 31)
    assert p.days == MAX_PERIOD_DAYS
    assert p.group == "month"
    assert "3 years" in p.note


@pytest.mark.parametrize(
    ("query", "group"),
    [("range=28", "day"), ("range=90", "week"),
     ("range=custom&from=2025-01-01&to=2025-12-31", "month"),
     ("range=90&group=day", "day"), ("range=7&group=month", "month")],
)  # fmt: skip
def test_default_grouping_follows_the_length(query, group):
    assert parse(query).group == group


def test_a_bad_group_falls_back_with_a_note():
    p = parse("group=hour")
    assert p.group == "day" and p.note


def test_query_round_trips():
    p = parse("range=custom&from=2025-12-24&to=2026-01-02&group=week")
    again = parse(p.query)
    assert (again.first, again.last, again.group, again.range) == (
        p.first,
        p.last,
        "week",
        "custom",
    )
    assert "dim=source" in p.query_with(dim="source", key=None)


def test_previous_period_has_the_same_length_and_ends_the_day_before():
    prev = previous_period(Period(D(2026, 2, 1), D(2026, 2, 28), SP))
    assert (prev.first, prev.last) == (D(2026, 1, 4), D(2026, 1, 31))


def test_buckets_cut_weeks_and_months_at_the_edges():
    period = Period(D(2026, 1, 28), D(2026, 3, 3), SP)
    weeks = common.buckets(period, "week")
    assert (weeks[0].first, weeks[0].last) == (D(2026, 1, 28), D(2026, 2, 1))  # a Sunday
    assert (weeks[-1].first, weeks[-1].last) == (D(2026, 3, 2), D(2026, 3, 3))
    months = common.buckets(period, "month")
    assert [(b.first, b.last) for b in months] == [
        (D(2026, 1, 28), D(2026, 1, 31)), (D(2026, 2, 1), D(2026, 2, 28)),
        (D(2026, 3, 1), D(2026, 3, 3)),
    ]  # fmt: skip
    assert len(common.buckets(period, "day")) == period.days


def test_rates_and_changes():
    assert common.percent(1, 3) == Decimal("33.3")
    assert common.percent(1, 0) is None
    assert common.change(150, 100) == Decimal("50.0")
    assert common.change(50, 100) == Decimal("-50.0")
    assert common.change(5, 0) is None
    assert per(1000, 3) == 333
    assert per(5, 0) is None


def test_csv_cells_are_safe_from_formulas():
    rows = [["=HYPERLINK(1)"], ["+1"], ["ok"], [None], [-5], [common.money_cell(-1250, "BRL")]]
    lines = list(common.csv_lines(["name"], rows))
    assert lines[0] == "\ufeff"
    assert lines[2:] == [
        "'=HYPERLINK(1)\r\n",
        "'+1\r\n",
        "ok\r\n",
        '""\r\n',
        "-5\r\n",
        "-12.50\r\n",
    ]
