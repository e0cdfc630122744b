"""The dispatcher's Prometheus metrics (names are the contract of the dashboards and alerts)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "orderlens_webhook_deliveries_total",
    "Delivery attempts by result: delivered, retry (failed, tried again later), parked.",
    ["result"],
)
ATTEMPT_DURATION = Histogram(
    "orderlens_webhook_attempt_duration_seconds",
    "Time of one delivery attempt, request to answer.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DELIVERY_LATENCY = Histogram(
    "orderlens_webhook_delivery_latency_seconds",
    "From the event's time to its successful delivery.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)
ENQUEUED = Counter(
    "orderlens_webhook_enqueued_total", "Deliveries written to the subscription queues."
)
