"""The period a report page shows, read from its query (docs/insights.md, "Reports").

``range`` is one of today, yesterday, 7, 28, 90, this_month, last_month or custom
(default 28), or another number of days up to ``MAX_PERIOD_DAYS`` (the last N days,
shown as custom dates); ``from``/``to`` are ISO dates for custom; ``group`` is day, week or month
(default: day up to 31 days, week up to 180, month above). Days are the business's, in
its time zone. Nothing in a query can make :func:`parse_period` fail: anything
unreadable gives the default period, with a ``note`` the page shows when the query
asked for something it cannot have.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Business
from insights.selectors import MAX_PERIOD_DAYS, Period

DEFAULT_RANGE = "28"
RANGES = ("today", "yesterday", "7", "28", "90", "this_month", "last_month", "custom")
RANGE_LABELS = {
    "today": _("Today"),
    "yesterday": _("Yesterday"),
    "7": _("Last 7 days"),
    "28": _("Last 28 days"),
    "90": _("Last 90 days"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "custom": _("Custom"),
}
GROUPS = ("day", "week", "month")
GROUP_LABELS = {"day": _("Day"), "week": _("Week"), "month": _("Month")}
# Dates a person could mean; a year 1 or 9999 is a typo or a probe.
MIN_YEAR, MAX_YEAR = 2000, 2100

NOTE_INVALID = _("The period was not valid; showing the last 28 days.")
NOTE_REVERSED = _("The period ended before it started; showing the last 28 days.")
NOTE_TOO_LONG = _("A period is at most 3 years; showing the 3 years up to the end date.")
NOTE_GROUP = _("That grouping is not available; grouping by the default instead.")


@dataclass(frozen=True)
class ReportPeriod:
    """A report's days, how they are grouped, and what the query asked for."""

    period: Period
    range: str
    group: str
    note: str = ""  # shown above the report when the query was not usable
    notes: tuple = field(default=())

    @property
    def first(self) -> datetime.date:
        return self.period.first

    @property
    def last(self) -> datetime.date:
        return self.period.last

    @property
    def days(self) -> int:
        return self.period.days

    @property
    def tz(self):
        return self.period.tz

    @property
    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return previous_period(self.period)

    def params(self) -> dict[str, str]:
        """The query that gives this period back (for links between report pages)."""
        out = {"range": self.range}
        if self.range == "custom":
            out |= {"from": self.first.isoformat(), "to": self.last.isoformat()}
        out["group"] = self.group
        return out

    @property
    def query(self) -> str:
        return urlencode(self.params())

    def query_with(self, **extra) -> str:
        """This period's query plus ``extra`` (values None are left out)."""
        params = self.params() | {k: str(v) for k, v in extra.items() if v is not None}
        return urlencode(params)


def previous_period(period: Period) -> Period:
    length = datetime.timedelta(days=period.days)
    return Period(period.first - length, period.last - length, period.tz)


def default_group(days: int) -> str:
    if days <= 31:
        return "day"
    if days <= 180:
        return "week"
    return "month"


def today_for(business: Business, now: datetime.datetime | None = None) -> datetime.date:
    return (now or timezone.now()).astimezone(business.tz).date()


def _preset(name: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    if name == "today":
        return today, today
    if name == "yesterday":
        day = today - datetime.timedelta(days=1)
        return day, day
    if name == "this_month":
        return today.replace(day=1), today
    if name == "last_month":
        last = today.replace(day=1) - datetime.timedelta(days=1)
        return last.replace(day=1), last
    days = int(name)
    return today - datetime.timedelta(days=days - 1), today


def _date(value) -> datetime.date | None:
    text = str(value or "").strip()
    # ISO only (YYYY-MM-DD): fromisoformat also takes "20240101" and week dates.
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


def parse_period(
    business: Business, params, *, now: datetime.datetime | None = None
) -> ReportPeriod:
    """The period ``params`` (a QueryDict or dict) asks for. Never raises."""
    today = today_for(business, now)
    notes = []
    name = str(params.get("range") or "")
    if not name and (params.get("from") or params.get("to")):
        name = "custom"  # the campaigns pages' links carry from/to without a range
    if not name:
        name = DEFAULT_RANGE
    days = _days(name)
    if days is not None:  # "range=365": the last 365 days, shown as custom dates
        first, last = today - datetime.timedelta(days=days - 1), today
        return _finish(business, params, Period(first, last, business.tz), "custom", notes)
    if name not in RANGES:
        notes.append(NOTE_INVALID)
        name = DEFAULT_RANGE
    if name == "custom":
        first, last = _date(params.get("from")), _date(params.get("to"))
        if first is None or last is None:
            notes.append(NOTE_INVALID)
            name = DEFAULT_RANGE
        elif last < first:
            notes.append(NOTE_REVERSED)
            name = DEFAULT_RANGE
        elif (last - first).days >= MAX_PERIOD_DAYS:
            notes.append(NOTE_TOO_LONG)
            first = last - datetime.timedelta(days=MAX_PERIOD_DAYS - 1)
    if name != "custom":
        first, last = _preset(name, today)
    return _finish(business, params, Period(first, last, business.tz), name, notes)


def _days(name: str) -> int | None:
    """A number of days other than the presets' (1 to ``MAX_PERIOD_DAYS``), else None."""
    if name in RANGES or not (name.isascii() and name.isdigit()) or len(name) > 4:
        return None
    days = int(name)
    return days if 1 <= days <= MAX_PERIOD_DAYS else None


def _finish(business: Business, params, period: Period, name: str, notes: list) -> ReportPeriod:
    group = str(params.get("group") or "")
    if group and group not in GROUPS:
        notes.append(NOTE_GROUP)
        group = ""
    group = group or default_group(period.days)
    return ReportPeriod(
        period=period,
        range=name,
        group=group,
        note=" ".join(str(n) for n in notes),
        notes=tuple(notes),
    )
