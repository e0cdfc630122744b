// Draws each currency's sales per period with the vendored Chart.js (static/vendor/VERSIONS.md),
// the comparison period's totals beside this period's.
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
    if (d.comparison) {
      var perPeriod = Number(d.comparison.gross) / Math.max(1, d.periods.length);
      datasets.push({ type: "line", label: "Comparison: gross per period (avg)", data: labels.map(function () { return perPeriod; }), borderDash: [6, 4], yAxisID: "money" });
    }
    new window.Chart(canvas, {
      data: { labels: labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 scales: { count: { position: "left", beginAtZero: true }, money: { position: "right", beginAtZero: true } } }
    });
    canvas.dataset.drawn = "true";
  });
})();
