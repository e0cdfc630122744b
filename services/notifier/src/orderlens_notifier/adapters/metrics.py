"""The notifier's own metrics (beside the consumer metrics of `orderlens.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter

INBOX_ITEMS = Counter(
    "orderlens_notifier_inbox_items_total",
    "Inbox items written, by kind (a redelivered event writes none).",
    ["kind"],
)
MAILS = Counter(
    "orderlens_notifier_mails_total",
    "Buyer mails by kind and outcome (sent, duplicate, muted, no_address, waiting).",
    ["kind", "outcome"],
)
