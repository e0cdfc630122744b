// Draws each currency's sales per period with the vendored Chart.js (static/vendor/VERSIONS.md),
// the comparison window's periods beside this window's, period by period (its n-th period
// against this n-th one: the same day of the previous period, or of the previous year).
(function () {
  "use strict";
  if (!window.Chart) return;
  var canvases = document.querySelectorAll("canvas.sales-chart");
  var data = document.querySelectorAll("script.sales-data");
  canvases.forEach(function (canvas, i) {
    var d = JSON.parse(data[i].textContent);
    var labels = d.periods.map(function (p) { return p.label; });
    var datasets = [
      { type: "bar", label: "Orders", data: d.periods.map(function (p) { return p.orders; }), yAxisID: "count" },
      { type: "bar", label: "Units", data: d.periods.map(function (p) { return p.units; }), yAxisID: "count" },
      { type: "line", label: "Gross (" + d.currency + ")", data: d.periods.map(function (p) { return Number(p.gross); }), yAxisID: "money" },
      { type: "line", label: "Average order", data: d.periods.map(function (p) { return p.average_order_value === null ? null : Number(p.average_order_value); }), yAxisID: "money" }
    ];
    var before = d.comparison_periods || [];
    if (d.comparison && before.length) {
      datasets.push({ type: "bar", label: "Orders, comparison", data: labels.map(function (_, i) { return before[i] ? before[i].orders : null; }), yAxisID: "count" });
      datasets.push({ type: "line", label: "Gross, comparison", data: labels.map(function (_, i) { return before[i] ? Number(before[i].gross) : null; }), borderDash: [6, 4], yAxisID: "money" });
    }
    new window.Chart(canvas, {
      data: { labels: labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 scales: { count: { position: "left", beginAtZero: true }, money: { position: "right", beginAtZero: true } } }
    });
    canvas.dataset.drawn = "true";
  });
})();
