"""Charts for the Insights reports: what a report view hands to ``{% chart %}``.

A view builds a :class:`Chart` (labels and one or more :class:`Series`, every string
already translated, every value a number) and the template tag renders it as a
``<figure>`` holding a canvas that ``static/js/charts.js`` draws with Chart.js and a
table with the same numbers, which is the accessible version and carries the
drill-down links. A heatmap is the table alone, its cells shaded by level.

All formatting happens here, in the viewer's language, so the JavaScript does no i18n:
:func:`chart_data` gives each value as a plain number plus the string to show.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from babel.numbers import format_decimal, format_percent
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.money import babel_locale, format_money, minor_digits

Format = Literal["count", "money", "percent", "seconds"]
Kind = Literal["line", "bar", "hbar", "funnel", "heatmap"]
Number = int | Decimal

EMPTY = "—"
HEAT_LEVELS = 5  # heat-0 … heat-4 in static/css/app.css
TALL_FROM = 9  # horizontal charts with this many bars get the taller box


@dataclass
class Series:
    name: str  # legend / table column header (already translated)
    values: list[int | Decimal | None]
    links: list[str | None] | None = None  # one URL per value: the drill-down
    format: Format = "count"
    # money: integer minor units in Chart.currency; percent: a Decimal 0-100;
    # seconds: a duration


@dataclass
class Chart:
    id: str  # unique in the page, used for element ids
    kind: Kind
    title: str
    labels: list[str]  # x categories; heatmap: 24 hour labels
    series: list[Series]  # heatmap: 7 series (one per weekday), values per hour
    currency: str = "BRL"
    label_header: str = ""  # the table's first column header ("Day", "Source")


# --- Formatting ---------------------------------------------------------------------


def format_duration(seconds: Number, *, language: str | None = None) -> str:
    """``240`` → "4 min", ``4800`` → "1 h 20 min", ``172800`` → "2 d": the two largest
    units, rounded to the smaller one (seconds under a minute, minutes under a day,
    hours from a day on)."""
    locale = babel_locale(language)

    def n(value: int) -> str:
        return format_decimal(value, locale=locale)

    total = int(Decimal(seconds).to_integral_value())
    if total < 60:
        return _("%(n)s s") % {"n": n(max(total, 0))}
    minutes = round(total / 60)
    if minutes < 60 * 24:
        hours, minutes = divmod(minutes, 60)
        if not hours:
            return _("%(n)s min") % {"n": n(minutes)}
        if not minutes:
            return _("%(n)s h") % {"n": n(hours)}
        return _("%(h)s h %(m)s min") % {"h": n(hours), "m": n(minutes)}
    days, hours = divmod(round(total / 3600), 24)
    if not hours:
        return _("%(n)s d") % {"n": n(days)}
    return _("%(d)s d %(h)s h") % {"d": n(days), "h": n(hours)}


def format_value(
    value: Number | None, fmt: Format, currency: str, *, language: str | None = None
) -> str:
    """One value as people read it in ``language`` (the active one by default):
    money with Babel (``core.money.format_money``), counts with thousands separators,
    percent with one decimal, durations as :func:`format_duration`; "—" for none."""
    if value is None:
        return EMPTY
    language = language or get_language()
    if fmt == "money":
        return format_money(int(value), currency, language=language)
    if fmt == "percent":
        return format_percent(
            Decimal(value) / 100, format="#,##0.0%", locale=babel_locale(language)
        )
    if fmt == "seconds":
        return format_duration(value, language=language)
    return format_decimal(value, locale=babel_locale(language))


# --- What the page gets ---------------------------------------------------------------


def _links(series: Series) -> list[str | None]:
    links = list(series.links or [])
    return (links + [None] * len(series.values))[: len(series.values)]


def _plain(value: Number | None) -> int | float | None:
    # json_script's encoder writes a Decimal as a string; Chart.js wants numbers.
    if value is None:
        return None
    return value if isinstance(value, int) else float(value)


def _scale(series: Series, currency: str) -> tuple[int, str]:
    """What the chart's axis divides the values by, and the axis unit: money in major
    units (the tick numbers are formatted by Chart.js in the page's language), durations
    in minutes, hours or days depending on the largest value."""
    if series.format == "money":
        return 10 ** minor_digits(currency), currency
    if series.format == "percent":
        return 1, "%"
    if series.format == "seconds":
        top = max((v for v in series.values if v is not None), default=0)
        if top >= 2 * 86400:
            return 86400, _("days")
        if top >= 2 * 3600:
            return 3600, _("hours")
        return 60, _("minutes")
    return 1, ""


def chart_data(chart: Chart, *, language: str | None = None) -> dict[str, Any]:
    """The JSON that ``static/js/charts.js`` reads (through ``json_script``)::

        {"id", "kind", "title", "labels": [str], "currency", "locale",
         "series": [{"name", "format", "values": [number | null],
                     "display": [str], "links": [str | null], "scale", "unit"}]}

    ``values`` are plain numbers (money in integer minor units, percent 0–100, durations
    in seconds); the chart plots ``value / scale`` with ``unit`` as the axis title.
    ``display`` is each value formatted for the tooltip in the active language."""
    language = language or get_language()
    series = []
    for s in chart.series:
        scale, unit = _scale(s, chart.currency)
        series.append(
            {
                "name": s.name,
                "format": s.format,
                "values": [_plain(v) for v in s.values],
                "display": [
                    format_value(v, s.format, chart.currency, language=language) for v in s.values
                ],
                "links": _links(s),
                "scale": scale,
                "unit": unit,
            }
        )
    return {
        "id": chart.id,
        "kind": chart.kind,
        "title": chart.title,
        "labels": list(chart.labels),
        "currency": chart.currency,
        "locale": language or "en",
        "series": series,
    }


def heat_level(value: Number | None, top: Number) -> int:
    """The shade of a heatmap cell, 0 … 4: 0 for nothing, then the value's share of
    the largest in quarters (up to a quarter → 1, … the largest → 4)."""
    if not value or value <= 0 or not top or top <= 0:
        return 0
    return max(1, min(HEAT_LEVELS - 1, math.ceil(Decimal(value) * 4 / Decimal(top))))


@dataclass
class Cell:
    text: str
    link: str | None
    level: int = 0


@dataclass
class Row:
    label: str
    cells: list[Cell]


def table_rows(chart: Chart, *, language: str | None = None) -> list[Row]:
    """The table's rows: one per label with a cell per series, or for a heatmap one per
    series (weekday) with a cell per label (hour), each with its shade."""
    if chart.kind == "heatmap":
        top = max((v for s in chart.series for v in s.values if v is not None), default=0)
        return [
            Row(
                s.name,
                [
                    Cell(
                        format_value(v, s.format, chart.currency, language=language),
                        link if v is not None else None,
                        heat_level(v, top),
                    )
                    for v, link in zip(s.values, _links(s), strict=True)
                ],
            )
            for s in chart.series
        ]
    columns = [
        [
            Cell(
                format_value(v, s.format, chart.currency, language=language),
                link if v is not None else None,  # nothing behind an empty value
            )
            for v, link in zip(s.values, _links(s), strict=True)
        ]
        for s in chart.series
    ]
    rows = []
    for i, label in enumerate(chart.labels):
        rows.append(Row(label, [col[i] if i < len(col) else Cell(EMPTY, None) for col in columns]))
    return rows
