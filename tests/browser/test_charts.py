"""Charts in Chromium under the site's strict CSP: every kind draws on its canvas, the
table beside it is found by its name, a click on a bar follows its drill-down link,
and nothing breaks the CSP (no inline script or injected <style>), at a desktop and a
phone width.

No report page exists for these charts yet and the site has no test-only URLs, so the
page is rendered here, through ``base.html`` and ``{% chart %}`` as a report page
would, and answered by Playwright at an address of the live server with the CSP
header the server itself sends. Scripts and styles are the live server's. The
watched context fails the test on a console error or a CSP violation, and axe-core
checks the page (tests/browser/conftest.py)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import RequestContext, Template
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import expect

from insights.charts import Chart, Series
from tests.browser.conftest import PHONE
from tests.browser.pages import assert_no_sideways_scroll

pytestmark = pytest.mark.browser

PAGE = """{% extends "base.html" %}{% load insights_charts %}
{% block head %}{% chart_scripts %}{% endblock %}
{% block content %}<h1>Report</h1>{% for c in charts %}{% chart c %}{% endfor %}{% endblock %}"""

DRAWN = """() => [...document.querySelectorAll("figure.chart canvas")].every((canvas) => {
  const chart = window.Chart && window.Chart.getChart(canvas);
  if (!chart || chart.width === 0) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) return true;
  return false;
})"""


def _charts(drill: str) -> list[Chart]:
    days = ["Dec 1", "Dec 2", "Dec 3", "Dec 4"]
    return [
        Chart(
            id="chats",
            kind="line",
            title="Conversations <b>per day</b>",
            labels=days,
            series=[Series("Started", [3, 7, 2, 5]), Series("Resolved", [1, 4, 2, 3])],
            label_header="Day",
        ),
        Chart(
            id="revenue",
            kind="bar",
            title="Revenue",
            labels=days,
            series=[Series("Net", [199000, 5000, None, 88800], format="money")],
            label_header="Day",
        ),
        Chart(
            id="funnel",
            kind="funnel",
            title="Funnel",
            labels=["Clicks", "Conversations", "Paid"],
            series=[Series("People", [1200, 300, 80], links=[f"{drill}?q=clicks", None, None])],
            label_header="Step",
        ),
        Chart(
            id="reply",
            kind="hbar",
            title="Time to first reply",
            labels=["Ana", "Bruno"],
            series=[Series("Median", [Decimal(240), 4800], format="seconds")],
            label_header="Agent",
        ),
        Chart(
            id="when",
            kind="heatmap",
            title="When customers write",
            labels=[f"{h:02d}" for h in range(24)],
            series=[
                Series(
                    day,
                    [(d + h) % 6 for h in range(24)],
                    links=[f"{drill}?d={d}&h={h}" for h in range(24)],
                )
                for d, day in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
            ],
            label_header="Day",
        ),
    ]


def _page_html(drill: str) -> str:
    request = RequestFactory().get("/report/")
    request.user = AnonymousUser()
    with translation.override("en"):
        return Template(PAGE).render(RequestContext(request, {"charts": _charts(drill)}))


def test_charts_draw_under_the_csp_and_a_bar_drills_down(open_context, server_url):
    drill = reverse("business_directory")
    html = _page_html(drill)
    csp = Client().get(reverse("account_login"))["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    report = f"{server_url}/report/"

    page = open_context().new_page()
    page.route(
        report,
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": csp},
            body=html,
        ),
    )
    page.goto(report)

    page.wait_for_function(DRAWN)
    assert page.locator("figure.chart canvas").count() == 4  # the heatmap is a table
    assert page.locator("style").count() == 0  # Chart.js sizes its canvas through CSSOM
    for title in ("Conversations <b>per day</b>", "Revenue", "Funnel", "Time to first reply"):
        expect(page.get_by_role("table", name=title)).to_be_visible()
    revenue = page.get_by_role("table", name="Revenue")
    expect(revenue.get_by_role("row", name="Dec 1")).to_contain_text("R$1,990.00")
    expect(page.get_by_role("table", name="Time to first reply")).to_contain_text("1 h 20 min")
    heatmap = page.get_by_role("table", name="When customers write")
    expect(heatmap.get_by_role("link", name="5").first).to_have_attribute(
        "href", f"{drill}?d=0&h=5"
    )

    # The phone: the charts fit and the page does not scroll sideways.
    page.set_viewport_size(PHONE)
    page.wait_for_function(DRAWN)
    assert_no_sideways_scroll(page)

    # A click on the funnel's first bar follows its link.
    canvas = page.locator("#chart-funnel canvas")
    canvas.scroll_into_view_if_needed()
    bar = page.evaluate(  # where the bar ends up once its animation is over
        """() => {
          const chart = window.Chart.getChart(document.querySelector("#chart-funnel canvas"));
          const bar = chart.getDatasetMeta(0).data[0].getProps(["x", "y", "base"], true);
          return {x: (bar.x + bar.base) / 2, y: bar.y};
        }"""
    )
    canvas.click(position=bar)
    page.wait_for_url(f"{server_url}{drill}?q=clicks")
