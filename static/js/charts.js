// Insights charts ({% chart %}, insights/charts.py): draws every figure.chart[data-chart]
// with the vendored Chart.js from the JSON beside it (json_script: data, never code).
// The table in the same figure holds the same numbers and links: it is the accessible
// version, so the canvas is aria-hidden and a failure here loses nothing but the picture.
// Every string and formatted value comes from the server; this file does no i18n.
(function () {
  "use strict";

  const PALETTE = ["--cv-chart-1", "--cv-chart-2", "--cv-chart-3", "--cv-chart-4", "--cv-chart-5", "--cv-chart-6"];

  function token(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // Only links to this site are followed (they come from the server's own URLs).
  function follow(link) {
    if (!link) return;
    const url = new URL(link, window.location.href);
    if (url.origin === window.location.origin) window.location.assign(url.href);
  }

  function linkAt(chart, data, event) {
    const hits = chart.getElementsAtEventForMode(event, "nearest", { intersect: true }, true);
    if (!hits.length) return null;
    const series = data.series[hits[0].datasetIndex];
    return series && series.links ? series.links[hits[0].index] : null;
  }

  function draw(figure) {
    const canvas = figure.querySelector("canvas");
    const source = document.getElementById(figure.dataset.chart);
    if (!canvas || !source || window.Chart.getChart(canvas)) return;
    let data;
    try {
      data = JSON.parse(source.textContent);
    } catch {
      return;
    }
    const line = data.kind === "line";
    const horizontal = data.kind === "hbar" || data.kind === "funnel";
    const colors = PALETTE.map((name) => token(name, "#0f766e"));
    const text = token("--cv-chart-text", "#475569");
    const grid = token("--cv-chart-grid", "#e2e8f0");
    const datasets = data.series.map((series, i) => ({
      label: series.name,
      data: series.values.map((v) => (v === null ? null : v / (series.scale || 1))),
      backgroundColor: colors[i % colors.length],
      borderColor: colors[i % colors.length],
      borderWidth: line ? 2 : 0,
      pointRadius: line ? 3 : 0,
      pointHoverRadius: line ? 5 : 0,
      maxBarThickness: 48,
    }));
    const unit = (data.series[0] || {}).unit || "";
    const valueAxis = {
      beginAtZero: true,
      grid: { color: grid },
      ticks: { color: text },
      title: { display: Boolean(unit), text: unit, color: text },
    };
    const categoryAxis = { grid: { display: false }, ticks: { color: text, autoSkip: true } };
    const chart = new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: data.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : undefined,
        locale: data.locale, // Chart.js formats the axis numbers with Intl in this language
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "nearest", intersect: !line, axis: horizontal ? "y" : "x" },
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: datasets.length > 1, labels: { color: text } },
          tooltip: {
            callbacks: {
              label: (item) => {
                const series = data.series[item.datasetIndex];
                const shown = series.display[item.dataIndex];
                return datasets.length > 1 ? `${series.name}: ${shown}` : shown;
              },
            },
          },
        },
        onClick: (event) => follow(linkAt(chart, data, event)),
        // CSSOM, which the CSP's style-src allows (only style attributes in markup are refused).
        onHover: (event) => {
          canvas.style.cursor = linkAt(chart, data, event) ? "pointer" : "default";
        },
      },
    });
  }

  function drawAll(root) {
    if (!window.Chart || !root.querySelectorAll) return;
    const figures = Array.from(root.querySelectorAll("figure.chart[data-chart]"));
    if (root.matches && root.matches("figure.chart[data-chart]")) figures.push(root);
    figures.forEach(draw);
  }

  drawAll(document);
  // Charts that HTMX swaps in (a report's period picker) are drawn too.
  document.addEventListener("htmx:load", (event) => drawAll(event.target));
})();
