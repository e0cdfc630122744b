"""Prometheus metrics shared by the services (names are the contract of the dashboards).

Service-specific metrics (exports, tracker polls) live in their services; those here are the
consumer and HTTP families every service exposes, labelled by `service`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "orderlens_messages_consumed_total", "Kafka messages consumed.", ["service", "topic"]
)
MESSAGES_APPLIED = Counter(
    "orderlens_messages_applied_total",
    "Messages whose effect was written durably.",
    ["service", "topic"],
)
MESSAGES_IGNORED = Counter(
    "orderlens_messages_ignored_total",
    "Messages that changed nothing (stale or duplicate).",
    ["service", "topic", "reason"],
)
DEAD_LETTERS = Counter(
    "orderlens_dead_letters_total", "Messages sent to the dead-letter topic.", ["service", "topic"]
)
BATCH_DURATION = Histogram(
    "orderlens_batch_duration_seconds",
    "Time to process one consumed batch, from receipt to durable write.",
    ["service", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "orderlens_consumer_lag",
    "High-water mark minus the consumer position, per partition.",
    ["service", "topic", "partition"],
)
LAST_PROCESSED = Gauge(
    "orderlens_last_processed_timestamp_seconds",
    "Unix time of the last processed message.",
    ["service", "topic"],
)
HTTP_REQUESTS = Counter(
    "orderlens_http_requests_total",
    "HTTP requests served.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "orderlens_http_request_duration_seconds",
    "HTTP request latency.",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
