"""Charts for the reports (insights/charts.py, {% chart %}): the JSON charts.js reads,
values formatted in the viewer's language, the table beside each chart with its
drill-down links, the heatmap's shades, and hostile labels kept as text."""

import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.utils import translation

from insights.charts import (
    Chart,
    Series,
    chart_data,
    format_duration,
    format_value,
    heat_level,
)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _render(source: str, **context) -> str:
    return Template("{% load insights_charts %}" + source).render(Context(context))


def _json(html: str, chart_id: str) -> dict:
    match = re.search(
        rf'<script id="chart-{chart_id}-data" type="application/json">(.*?)</script>',
        html,
        re.DOTALL,
    )
    assert match, html
    return json.loads(match.group(1))


class _Tables(HTMLParser):
    """Each table's caption, header cells, and body rows as (text, href, class) cells."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: dict | None = None
        self._in_caption = False
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"caption": "", "head": [], "rows": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td"):
            self._cell = {"tag": tag, "text": "", "href": None, **attrs}
        elif tag == "a" and self._cell is not None:
            self._cell["href"] = attrs["href"]

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("th", "td") and self._cell is not None:
            cell, self._cell = self._cell, None
            cell["text"] = cell["text"].strip()
            target = self.tables[-1]["head"] if self._in_head else self.tables[-1]["rows"][-1]
            target.append(cell)

    def handle_data(self, data):
        if self._in_caption:
            self.tables[-1]["caption"] += data
        elif self._cell is not None:
            self._cell["text"] += data


def _tables(html: str) -> list[dict]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _revenue() -> Chart:
    return Chart(
        id="revenue",
        kind="bar",
        title="Revenue by day",
        labels=["Dec 1", "Dec 2", "Dec 3"],
        series=[
            Series(
                "Net",
                [123456, None, 0],
                links=["/orders/?day=1", "/orders/?day=2", None],
                format="money",
            ),
            Series("Orders", [1200, 3, 0], links=["/orders/?day=1", None, None]),
        ],
        label_header="Day",
    )


# --- Formatting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "fmt", "value", "expected"),
    [
        ("en", "money", 123456, "R$1,234.56"),
        ("pt-br", "money", 123456, "R$\xa01.234,56"),
        ("en", "count", 1234567, "1,234,567"),
        ("pt-br", "count", 1234567, "1.234.567"),
        ("en", "percent", Decimal("12.34"), "12.3%"),
        ("pt-br", "percent", Decimal("12.34"), "12,3%"),
        ("en", "percent", Decimal("100"), "100.0%"),
        ("en", "seconds", 240, "4 min"),
        ("pt-br", "seconds", 4800, "1 h 20 min"),
        ("en", "count", None, "—"),
        ("en", "money", None, "—"),
    ],
)
def test_values_are_formatted_in_the_viewers_language(language, fmt, value, expected):
    with translation.override(language):
        assert format_value(value, fmt, "BRL") == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (240, "4 min"),
        (269, "4 min"),
        (3600, "1 h"),
        (4800, "1 h 20 min"),
        (86399, "1 d"),
        (2 * 86400, "2 d"),
        (2 * 86400 + 3 * 3600, "2 d 3 h"),
        (Decimal("4800.4"), "1 h 20 min"),
    ],
)
def test_durations_read_as_two_units_at_most(seconds, expected):
    assert format_duration(seconds, language="en") == expected


def test_money_in_another_currency_uses_its_own_digits():
    assert format_value(1234, "money", "JPY", language="en") == "¥1,234"


# --- The JSON -------------------------------------------------------------------------


def test_the_json_has_plain_numbers_and_a_display_string_per_value():
    with translation.override("en"):
        data = chart_data(_revenue())

    assert data["kind"] == "bar" and data["labels"] == ["Dec 1", "Dec 2", "Dec 3"]
    assert data["locale"] == "en" and data["currency"] == "BRL"
    net, orders = data["series"]
    assert net == {
        "name": "Net",
        "format": "money",
        "values": [123456, None, 0],
        "display": ["R$1,234.56", "—", "R$0.00"],
        "links": ["/orders/?day=1", "/orders/?day=2", None],
        "scale": 100,
        "unit": "BRL",
    }
    assert orders["values"] == [1200, 3, 0] and orders["display"] == ["1,200", "3", "0"]
    assert orders["scale"] == 1 and orders["links"] == ["/orders/?day=1", None, None]
    json.dumps(data)  # plain JSON: no Decimal left


def test_the_json_in_portuguese_has_portuguese_strings_and_the_same_numbers():
    with translation.override("pt-br"):
        data = chart_data(_revenue())

    assert data["locale"] == "pt-br"
    assert data["series"][0]["values"] == [123456, None, 0]
    assert data["series"][0]["display"] == ["R$\xa01.234,56", "—", "R$\xa00,00"]
    assert data["series"][1]["display"][0] == "1.200"


def test_percent_and_seconds_are_numbers_with_a_unit_for_the_axis():
    chart = Chart(
        id="c",
        kind="line",
        title="t",
        labels=["a", "b"],
        series=[
            Series("Rate", [Decimal("12.5"), None], format="percent"),
            Series("Reply", [240, 4800], format="seconds"),
        ],
    )
    with translation.override("en"):
        rate, reply = chart_data(chart)["series"]

    assert rate["values"] == [12.5, None] and rate["display"] == ["12.5%", "—"]
    assert (rate["scale"], rate["unit"]) == (1, "%")
    assert reply["values"] == [240, 4800] and reply["display"] == ["4 min", "1 h 20 min"]
    assert (reply["scale"], reply["unit"]) == (60, "minutes")
    assert rate["links"] == [None, None]  # no links given: none per value


@pytest.mark.parametrize(("top", "scale"), [(3600, 60), (2 * 3600, 3600), (3 * 86400, 86400)])
def test_durations_are_plotted_in_a_unit_that_fits_the_largest(top, scale):
    chart = Chart(
        id="c", kind="bar", title="t", labels=["a"], series=[Series("s", [top], format="seconds")]
    )
    assert chart_data(chart, language="en")["series"][0]["scale"] == scale


def test_missing_or_short_links_become_none_per_value():
    chart = Chart(
        id="c",
        kind="bar",
        title="t",
        labels=["a", "b", "c"],
        series=[Series("s", [1, 2, 3], links=["/a"])],
    )
    assert chart_data(chart, language="en")["series"][0]["links"] == ["/a", None, None]


# --- The figure and its table -------------------------------------------------------------


def test_the_tag_renders_a_figure_with_a_hidden_canvas_the_json_and_the_table():
    with translation.override("en"):
        html = _render("{% chart c %}", c=_revenue())

    assert '<figure class="chart chart-bar" id="chart-revenue"' in html
    assert 'aria-labelledby="chart-revenue-title"' in html
    assert 'data-chart="chart-revenue-data"' in html
    assert '<h2 id="chart-revenue-title" class="chart-title">Revenue by day</h2>' in html
    assert '<canvas aria-hidden="true"></canvas>' in html
    assert "style=" not in html  # the CSP refuses style attributes
    assert _json(html, "revenue")["series"][0]["values"] == [123456, None, 0]

    (table,) = _tables(html)
    assert table["caption"] == "Revenue by day"
    assert [(c["tag"], c.get("scope"), c["text"]) for c in table["head"]] == [
        ("th", "col", "Day"),
        ("th", "col", "Net"),
        ("th", "col", "Orders"),
    ]
    rows = [
        [(c["tag"], c.get("scope"), c["text"], c["href"]) for c in row] for row in table["rows"]
    ]
    assert rows == [
        [
            ("th", "row", "Dec 1", None),
            ("td", None, "R$1,234.56", "/orders/?day=1"),
            ("td", None, "1,200", "/orders/?day=1"),
        ],
        # an empty value links nowhere, even when a link was given
        [("th", "row", "Dec 2", None), ("td", None, "—", None), ("td", None, "3", None)],
        [("th", "row", "Dec 3", None), ("td", None, "R$0.00", None), ("td", None, "0", None)],
    ]


def test_the_table_in_portuguese():
    with translation.override("pt-br"):
        html = _render("{% chart c %}", c=_revenue())

    (table,) = _tables(html)
    assert [c["text"] for c in table["rows"][0]] == ["Dec 1", "R$\xa01.234,56", "1.200"]


def test_a_nested_chart_takes_a_lower_heading():
    html = _render("{% chart c level=3 %}", c=_revenue())
    assert '<h3 id="chart-revenue-title"' in html


def test_a_funnel_with_many_steps_gets_the_tall_box():
    labels = [f"step {i}" for i in range(10)]
    funnel = Chart(
        id="f",
        kind="funnel",
        title="Funnel",
        labels=labels,
        series=[Series("People", list(range(10, 0, -1)))],
    )
    short = Chart(
        id="g",
        kind="funnel",
        title="Funnel",
        labels=labels[:4],
        series=[Series("People", [4, 3, 2, 1])],
    )

    assert 'class="chart-box chart-box-tall"' in _render("{% chart c %}", c=funnel)
    assert 'class="chart-box"' in _render("{% chart c %}", c=short)


def test_the_scripts_tag_loads_the_vendored_chartjs_and_charts_js():
    html = _render("{% chart_scripts %}")
    assert html == (
        '<script src="/static/vendor/chart-4.6.1.umd.min.js" defer></script>'
        '<script src="/static/js/charts.js" defer></script>'
    )


def test_hostile_strings_are_text_in_the_markup_and_in_the_json():
    chart = Chart(
        id="hostile",
        kind="bar",
        title=HOSTILE,
        labels=[HOSTILE, "</script><script>alert(2)</script>"],
        series=[Series(HOSTILE, [1, 2], links=['/x?a="><b>', None])],
        label_header=HOSTILE,
    )
    html = _render("{% chart c %}", c=chart)

    assert "<script>alert" not in html and "<img" not in html and '"><b>' not in html
    assert html.count("<script") == 1  # the json_script block alone
    data = _json(html, "hostile")
    assert data["title"] == HOSTILE and data["labels"][1] == "</script><script>alert(2)</script>"
    (table,) = _tables(html)
    assert table["caption"] == HOSTILE
    assert table["rows"][0][0]["text"] == HOSTILE
    assert table["rows"][0][1]["href"] == '/x?a="><b>'


# --- Heatmap --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level"),
    [(None, 0), (0, 0), (1, 1), (25, 1), (26, 2), (50, 2), (51, 3), (75, 3), (76, 4), (100, 4)],
)
def test_heat_levels_are_quarters_of_the_largest_value_above_nothing(value, level):
    assert heat_level(value, 100) == level


def test_heat_level_without_any_value_is_nothing():
    assert heat_level(0, 0) == 0 and heat_level(None, 0) == 0


def test_a_heatmap_is_a_shaded_table_of_weekdays_by_hours_with_links():
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    hours = [f"{h:02d}" for h in range(24)]
    series = [
        Series(
            day,
            [(d * 24 + h) % 9 if h else None for h in range(24)],
            links=[f"/c/?d={d}&h={h}" for h in range(24)],
        )
        for d, day in enumerate(weekdays)
    ]
    chart = Chart(
        id="when",
        kind="heatmap",
        title="When customers write",
        labels=hours,
        series=series,
        label_header="Day",
    )
    with translation.override("en"):
        html = _render("{% chart c %}", c=chart)

    assert "<canvas" not in html and "data-chart=" not in html and "<script" not in html
    assert "<details" not in html  # the heatmap's table is always visible
    (table,) = _tables(html)
    assert table["caption"] == "When customers write"
    assert [c["text"] for c in table["head"]] == ["Day", *hours]
    assert all(c.get("scope") == "col" for c in table["head"])
    assert [row[0]["text"] for row in table["rows"]] == weekdays
    assert all(row[0].get("scope") == "row" and len(row) == 25 for row in table["rows"])
    monday = table["rows"][0][1:]
    assert monday[0] == {"tag": "td", "text": "—", "href": None, "class": "heat-0"}
    assert monday[8] == {"tag": "td", "text": "8", "href": "/c/?d=0&h=8", "class": "heat-4"}
    assert monday[1] == {"tag": "td", "text": "1", "href": "/c/?d=0&h=1", "class": "heat-1"}
    assert monday[9] == {"tag": "td", "text": "0", "href": "/c/?d=0&h=9", "class": "heat-0"}
    classes = {c["class"] for row in table["rows"] for c in row[1:]}
    assert classes == {f"heat-{n}" for n in range(5)}


def test_heat_classes_are_defined_in_the_project_css():
    css = Path(finders.find("css/app.css")).read_text(encoding="utf-8")
    for n in range(5):
        assert f".heatmap .heat-{n} " in css
    for n in range(1, 7):
        assert f"--cv-chart-{n}:" in css  # the colours charts.js reads
