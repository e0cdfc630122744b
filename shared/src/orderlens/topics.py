"""The docs/contract.md §3.1 topic names: the one place they are spelled.

Services read them through their settings (`ServiceSettings.topic_*`, overridable per
deployment); the local stack creates them (`orderlens_devtools.devstack.topics`).
"""

from __future__ import annotations

ORDERS_CREATED = "orders.created"
STATUS_CHANGED = "orders.status-changed"
EXPORT_REQUESTED = "orders.export-requested"
EXPORT_COMPLETED = "orders.export-completed"
DEAD_LETTER = "orders.dead-letter"

#: Default topic name per role (the role names are `TopicNames`' fields in the dev tooling).
DEFAULT_TOPICS: dict[str, str] = {
    "created": ORDERS_CREATED,
    "status_changed": STATUS_CHANGED,
    "export_requested": EXPORT_REQUESTED,
    "export_completed": EXPORT_COMPLETED,
    "dead_letter": DEAD_LETTER,
}
