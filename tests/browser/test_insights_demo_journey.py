"""Insights on the demo data (issue #19's journey): Ana, owner of the demo bakery,
opens Dashboard → Insights, switches the period, clicks a bar of a chart and lands on
the conversations behind it; the Overview on a desktop and a phone."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.conftest import PHONE
from tests.browser.pages import assert_no_sideways_scroll, screenshot, sign_in

pytestmark = pytest.mark.browser
OWNER = "ana@padaria-aurora.example"
DEMO_PASSWORD = "conversa-demo"  # accounts/demo.py prints it for the demo
DRAWN = """() => [...document.querySelectorAll("figure.chart canvas")].every((canvas) => {
  const chart = window.Chart && window.Chart.getChart(canvas);
  return chart && chart.width > 0;
})"""
# Where the first non-empty bar of a chart is drawn, relative to its canvas.
BAR = """(canvas) => {
  const chart = window.Chart.getChart(canvas);
  const meta = chart.getDatasetMeta(0);
  const values = chart.data.datasets[0].data;
  const index = values.findIndex((value) => value > 0);
  const bar = meta.data[index];
  const horizontal = chart.options.indexAxis === "y";
  const x = horizontal ? (bar.x + bar.base) / 2 : bar.x;
  const y = horizontal ? bar.y : (bar.y + bar.base) / 2;
  return {index, label: chart.data.labels[index], x, y};
}"""


@pytest.fixture
def demo(server_url):
    call_command("seed_demo", verbosity=0)
    # The demo team speaks Portuguese; this journey reads the English labels.
    User.objects.filter(email=OWNER).update(language="en")
    return server_url


def test_the_owner_reads_insights_on_the_demo_data_and_drills_into_a_bar(demo, context):
    page = context.new_page()
    sign_in(page, OWNER, DEMO_PASSWORD)
    page.goto("/dashboard/padaria-aurora/")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", level=1, name="Insights")).to_be_visible()
    page.wait_for_function(DRAWN)

    # A longer period: the demo's months of history.
    page.get_by_label("Period", exact=True).select_option(label="Last 90 days")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert "range=90" in page.url
    page.wait_for_function(DRAWN)
    figures = page.get_by_role("list", name="Figures of the period")
    expect(figures).to_contain_text("Conversations started")
    screenshot(page, "insights-overview-demo.png")

    # Every chart shows something on the demo data.
    sources = page.get_by_role("table", name="Net revenue by source")
    expect(sources).to_contain_text("instagram")

    # Click the first bar of "Net revenue by source": the conversations behind it.
    figure = page.locator(
        "figure.chart", has=page.get_by_role("table", name="Net revenue by source")
    )
    canvas = figure.locator("canvas")
    canvas.scroll_into_view_if_needed()
    bar = canvas.evaluate(BAR)
    assert bar["index"] >= 0, "no bar with a value"
    canvas.click(position={"x": bar["x"], "y": bar["y"]})
    page.wait_for_url("**/insights/conversations/**")
    expect(page.get_by_role("heading", level=2, name="Conversations")).to_be_visible()  # its table
    expect(page.get_by_role("main")).to_contain_text("Showing:")  # the bar's source, bought
    rows = page.get_by_role("table").first.get_by_role("row")
    expect(rows.nth(1)).to_be_visible()  # a header and at least one conversation
    assert "range=90" in page.url  # the period goes along

    page.go_back()
    page.set_viewport_size(PHONE)
    page.wait_for_function(DRAWN)
    assert_no_sideways_scroll(page)
    screenshot(page, "insights-overview-demo-phone.png")
