"""The tracker's Prometheus metrics (names are the contract of the dashboards and alerts).

Job gauges are per replica: each replica reports the jobs of the shards it holds, so the sum over
replicas is the whole.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POLLS = Counter(
    "orderlens_tracker_polls_total",
    "Requests to a carrier API, by outcome (ok, rate_limited, server_error, client_error, "
    "timeout, network_error, breaker_open).",
    ["provider", "outcome"],
)
RATE_LIMITED = Counter(
    "orderlens_tracker_rate_limited_total",
    "429 answers from a carrier API.",
    ["provider"],
)
BREAKER_STATE = Gauge(
    "orderlens_tracker_breaker_state",
    "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
    ["provider"],
)
JOBS_DUE = Gauge("orderlens_tracker_jobs_due", "Tracking jobs due now (this replica's shards).")
JOBS_OVERDUE = Gauge(
    "orderlens_tracker_jobs_overdue",
    "Tracking jobs due for longer than OVERDUE_SECONDS (this replica's shards).",
)
POLL_DURATION = Histogram(
    "orderlens_tracker_poll_duration_seconds",
    "Latency of one carrier API request.",
    ["provider"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
EVENTS_PUBLISHED = Counter(
    "orderlens_tracker_events_published_total",
    "orders.status-changed events published, by tracking status.",
    ["tracking_status"],
)
JOBS_TRACKED = Gauge(
    "orderlens_tracker_jobs_tracked", "Active tracking jobs in this replica's shards."
)
SHARDS_OWNED = Gauge("orderlens_tracker_shards_owned", "Job shards this replica holds.")
