"""``{% load insights_charts %}``: ``{% chart chart %}`` renders an
``insights.charts.Chart`` (canvas + its numbers as a table; a heatmap as a shaded
table), and ``{% chart_scripts %}`` the two script tags a page with charts puts in its
``{% block head %}`` (Chart.js and ``static/js/charts.js``; pages without charts load
neither)."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import get_language

from insights.charts import TALL_FROM, Chart, chart_data, table_rows

register = template.Library()

CHART_JS = "vendor/chart-4.6.1.umd.min.js"
CHARTS_JS = "js/charts.js"


@register.inclusion_tag("insights/charts/chart.html")
def chart(chart: Chart, level: int = 2):
    """``level``: the heading level of the chart's title (2 unless the page nests it)."""
    language = get_language()
    horizontal = chart.kind in ("hbar", "funnel")
    return {
        "chart": chart,
        "data": chart_data(chart, language=language),
        "rows": table_rows(chart, language=language),
        "heading": f"h{min(max(int(level), 2), 6)}",
        "tall": horizontal and len(chart.labels) >= TALL_FROM,
        "json_id": f"chart-{chart.id}-data",
    }


@register.simple_tag
def chart_scripts():
    return format_html(
        '<script src="{}" defer></script><script src="{}" defer></script>',
        static(CHART_JS),
        static(CHARTS_JS),
    )
