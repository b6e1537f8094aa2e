"""What every report page shares (docs/insights.md, "Reports"): sums of the daily
rollups (``DailyFigure``) over a period, by key or by day/week/month or by weekday ×
hour, each in ONE query whatever the period's length; the previous period and the
change against it; the tabs, the page context and streamed, formula-safe CSV.

Money is integer minor units of the business's currency; rates and changes are
Decimals in percent (``Decimal("12.5")`` is 12.5 %), None when there is nothing to
divide by.
"""

import csv
import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.functions import ExtractIsoWeekDay
from django.http import StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from catalog.feed import escape_formula
from core.money import from_minor, per
from insights.charts import Chart, Series, format_value
from insights.models import DailyFigure
from insights.reports.period import GROUP_LABELS, GROUPS, RANGE_LABELS, ReportPeriod
from insights.selectors import Period, sees_money

SUMS = (
    "conversations",
    "bought",
    "unpaid",
    "responded",
    "resolved",
    "messages_in",
    "messages_out",
    "rating_requests",
    "requests",
    "paid",
    "units",
    "gross",
    "fee",
    "refunds",
    "ratings",
    "rating_sum",
    "rated_1",
    "rated_2",
    "rated_3",
    "rated_4",
    "rated_5",
)
HOURS = range(24)
WEEKDAYS = range(1, 8)  # ISO: 1 = Monday … 7 = Sunday


def percent(numerator, denominator) -> Decimal | None:
    """``numerator / denominator`` in percent, one decimal (half up); None for 0/0."""
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def change(current, previous) -> Decimal | None:
    """The change from ``previous`` to ``current`` in percent (None when either is
    unknown, or the previous was 0: a change from nothing has no percentage)."""
    if current is None or previous is None or not previous:
        return None
    return percent(Decimal(current) - Decimal(previous), abs(Decimal(previous)))


@dataclass
class Totals:
    """Sums of DailyFigure rows (their definitions are DailyFigure's) and what the
    reports derive from them."""

    conversations: int = 0
    bought: int = 0
    unpaid: int = 0
    responded: int = 0
    resolved: int = 0
    messages_in: int = 0
    messages_out: int = 0
    rating_requests: int = 0
    requests: int = 0
    paid: int = 0
    units: int = 0
    gross: int = 0
    fee: int = 0
    refunds: int = 0
    ratings: int = 0
    rating_sum: int = 0
    rated_1: int = 0
    rated_2: int = 0
    rated_3: int = 0
    rated_4: int = 0
    rated_5: int = 0

    @classmethod
    def from_row(cls, row: dict) -> "Totals":
        return cls(**{name: row.get(name) or 0 for name in SUMS})

    def add(self, other: "Totals") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def net(self) -> int:
        return self.gross - self.fee - self.refunds

    @property
    def no_request(self) -> int:
        return max(self.conversations - self.bought - self.unpaid, 0)

    @property
    def conversion(self) -> Decimal | None:
        """Conversations that led to a paid order (within the attribution window), in
        percent of the conversations started."""
        return percent(self.bought, self.conversations)

    @property
    def average_order(self) -> int | None:
        return per(self.gross, self.paid)

    @property
    def revenue_per_conversation(self) -> int | None:
        return per(self.net, self.conversations)


def _sums() -> dict:
    return {name: Sum(name) for name in SUMS}


def _rows(business: Business, period: Period, dim: str):
    return DailyFigure.objects.filter(
        business=business, dim=dim, day__gte=period.first, day__lte=period.last
    )


def total(business: Business, period: Period, *, dim: str = "total", key: str = "") -> Totals:
    """The period's sums for one key of ``dim`` (default: the business's total). One query."""
    return Totals.from_row(_rows(business, period, dim).filter(key=key).aggregate(**_sums()))


def by_key(business: Business, period: Period, dim: str) -> dict[str, Totals]:
    """{key: the period's sums} for every key of ``dim`` with a row. One query."""
    rows = _rows(business, period, dim).values("key").annotate(**_sums()).order_by()
    return {row["key"]: Totals.from_row(row) for row in rows}


@dataclass(frozen=True)
class Bucket:
    """A point of a chart: the days ``first``…``last`` (both inside the period)."""

    first: datetime.date
    last: datetime.date
    label: str


def buckets(period: Period, group: str) -> list[Bucket]:
    """The period cut into days, ISO weeks (from Monday) or months; the first and last
    buckets are cut at the period's edges."""
    if group not in GROUPS:
        raise ValueError(group)
    out = []
    day = period.first
    while day <= period.last:
        if group == "day":
            end = day
            label = formats.date_format(day, "SHORT_DATE_FORMAT")
        elif group == "week":
            end = day + datetime.timedelta(days=6 - day.weekday())
            label = formats.date_format(day, "SHORT_DATE_FORMAT")
        else:
            following = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
            end = following - datetime.timedelta(days=1)
            label = formats.date_format(day, "YEAR_MONTH_FORMAT")
        end = min(end, period.last)
        out.append(Bucket(day, end, label))
        day = end + datetime.timedelta(days=1)
    return out


def grouped(
    business: Business, period: Period, group: str, *, dim: str = "total", key: str = ""
) -> list[tuple[Bucket, Totals]]:
    """The period's sums per day, week or month (every bucket, empty ones too). One
    query: the days' rows are summed by the database, bucketed here (at most
    ``MAX_PERIOD_DAYS`` rows)."""
    days = {
        row["day"]: Totals.from_row(row)
        for row in _rows(business, period, dim)
        .filter(key=key)
        .values("day")
        .annotate(**_sums())
        .order_by()
    }
    out = []
    for bucket in buckets(period, group):
        sums = Totals()
        day = bucket.first
        while day <= bucket.last:
            if day in days:
                sums.add(days[day])
            day += datetime.timedelta(days=1)
        out.append((bucket, sums))
    return out


def by_weekday_hour(business: Business, period: Period) -> dict[tuple[int, int], Totals]:
    """{(ISO weekday 1–7, local hour 0–23): the sums of the conversations that started
    then}, from the "hour" rows, summed by the database. One query."""
    rows = (
        _rows(business, period, DailyFigure.Dim.HOUR)
        .annotate(weekday=ExtractIsoWeekDay("day"))
        .values("weekday", "key")
        .annotate(**_sums())
        .order_by()
    )
    out = {}
    for row in rows:
        try:
            hour = int(row["key"])
        except ValueError:
            continue
        out[(row["weekday"], hour)] = Totals.from_row(row)
    return out


def weekday_names(short: bool = False) -> list[str]:
    """Monday … Sunday (or Mon … Sun), in the viewer's language."""
    monday = datetime.date(2024, 1, 1)
    spec = "D" if short else "l"
    return [formats.date_format(monday + datetime.timedelta(days=i), spec) for i in range(7)]


# --- Pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    name: str
    url_name: str
    label: str
    money: bool  # only for members who see money (owners and admins)


TABS = (
    Tab("overview", "insights_overview", _("Overview"), True),
    Tab("sales", "insights_sales", _("Chats that sell"), True),
    Tab("support", "insights_support", _("Support"), False),
    Tab("offers", "insights_offers", _("Offers"), True),
    Tab("products", "insights_products", _("Products"), True),
)


def report_tabs(business: Business, current: str, query: str) -> list[dict]:
    """The report pages ``business.membership`` may open, each with ``query`` (the
    period) carried over; a page whose URL is not installed is left out."""
    money = sees_money(business)
    out = []
    for tab in TABS:
        if tab.money and not money:
            continue
        try:
            url = reverse(tab.url_name, args=[business.slug])
        except NoReverseMatch:
            continue
        out.append(
            {
                "name": tab.name,
                "label": tab.label,
                "url": f"{url}?{query}",
                "current": tab.name == current,
            }
        )
    return out


def page_context(business: Business, current: str, period: ReportPeriod) -> dict:
    """What ``insights/reports/base.html`` needs: tabs, the period form's choices."""
    return {
        "tabs": report_tabs(business, current, period.query),
        "tab": current,
        "report": period,
        "period": period.period,
        "ranges": list(RANGE_LABELS.items()),
        "groups": list(GROUP_LABELS.items()),
        "money": sees_money(business),
        "currency": business.currency,
    }


# --- CSV --------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int | Decimal):  # a number, negative ones too, is no formula
        return str(value)
    return escape_formula(str(value))


def csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV lines (a BOM first, which spreadsheets need to read UTF-8), every cell made
    safe from formula injection."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([_cell(c) for c in header])
    for row in rows:
        yield writer.writerow([_cell(c) for c in row])


def csv_response(
    filename: str, header: Iterable, rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    """A streamed CSV download: ``rows`` is consumed lazily (pass an iterator over
    ``.iterator(chunk_size=…)`` to keep a year of rows out of memory)."""
    response = StreamingHttpResponse(
        (line.encode() for line in csv_lines(header, rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def money_cell(minor: int | None, currency: str) -> Decimal | None:
    """Minor units as a decimal (1234.50), the way a spreadsheet reads it."""
    if minor is None:
        return None
    return from_minor(minor, currency)


# --- Tables -----------------------------------------------------------------------------
#
# Every table of a report page is a Table: the page renders it (insights/reports/
# _table.html) and its CSV is the same cells, so the page and the file never disagree.


CHART_FORMATS = {"count": "count", "money": "money", "percent": "percent", "seconds": "seconds"}


@dataclass
class Cell:
    """One value: ``kind`` is text, count, money (minor units), percent (a Decimal),
    seconds or date; ``link`` drills down to what is behind it."""

    value: Any
    kind: str = "count"
    link: str | None = None
    currency: str = ""

    @property
    def text(self) -> str:
        """The value as the charts show it (``insights.charts.format_value``: Babel, in
        the viewer's language), so a table and a chart never disagree."""
        if self.value is None or self.value == "":
            return "—"
        if self.kind in CHART_FORMATS:
            return format_value(self.value, self.kind, self.currency or "BRL")
        if self.kind == "date":
            return formats.date_format(self.value, "SHORT_DATE_FORMAT")
        if self.kind == "datetime":  # an aware datetime already in the business's zone
            return formats.date_format(self.value, "SHORT_DATETIME_FORMAT")
        return str(self.value)

    @property
    def csv(self):
        if self.kind == "money":
            return money_cell(self.value, self.currency)
        if self.kind in ("date", "datetime") and self.value:
            return self.value.isoformat()
        return self.value

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "date", "datetime")


@dataclass
class Table:
    """A report table: ``id`` names its CSV export; the first cell of a row is its
    header cell."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = ""  # what the page says when there are no rows
    csv_url: str = ""  # set by the view
    heatmap: bool = False  # rows × columns of one measure (weekday × hour)

    def csv_header(self) -> list[str]:
        header = [str(c) for c in self.columns]
        return [*header, "currency"] if self._currency() else header

    def csv_rows(self) -> Iterator[list]:
        currency = self._currency()
        for row in self.rows:
            values = [cell.csv for cell in row]
            yield [*values, currency] if currency else values

    def _currency(self) -> str:
        for row in self.rows:
            for cell in row:
                if cell.kind == "money":
                    return cell.currency
        return ""


def chart_of(table: Table, kind: str, columns: list[int], *, currency: str, title: str = "",
             chart_id: str = "") -> Chart:  # fmt: skip
    """A chart of ``table``'s ``columns`` (indexes), one series each, its labels the
    rows' first cells: the chart and the table show the same cells, links included."""
    series = []
    for index in columns:
        cells = [row[index] for row in table.rows]
        fmt = next((c.kind for c in cells), "count")
        series.append(Series(
            name=str(table.columns[index]),
            values=[c.value for c in cells],
            links=[c.link for c in cells],
            format=CHART_FORMATS.get(fmt, "count"),
        ))  # fmt: skip
    return Chart(
        id=chart_id or table.id, kind=kind, title=str(title or table.title),
        labels=[str(row[0].value) for row in table.rows], series=series,
        currency=currency, label_header=str(table.columns[0]),
    )  # fmt: skip


def heatmap_of(table: Table, *, currency: str) -> Chart:
    """A weekday × hour table (rows: weekdays, columns: hours) as a heatmap chart."""
    return Chart(
        id=table.id, kind="heatmap", title=str(table.title),
        labels=[str(c) for c in table.columns[1:]],
        series=[
            Series(
                name=str(row[0].value), values=[c.value for c in row[1:]],
                links=[c.link for c in row[1:]], format="percent",
            )
            for row in table.rows
        ],
        currency=currency, label_header=str(table.columns[0]),
    )  # fmt: skip
