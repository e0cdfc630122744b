"""The exporter's Prometheus metrics (names are the dashboards' contract)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EXPORTS = Counter(
    "orderlens_exports_total",
    "Export attempts that ended, by outcome (succeeded, failed, retried, lost_lease).",
    ["status"],
)
EXPORT_DURATION = Histogram(
    "orderlens_export_duration_seconds",
    "Time from claiming an export to storing its file, for exports that succeeded.",
    ["format"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600),
)
EXPORTS_RUNNING = Gauge("orderlens_exports_running", "Exports running in this process.")
EXPORT_ROWS = Counter("orderlens_export_rows_total", "Rows written to export files.", ["format"])
