"""Kafka publishing of query-api's events: the adapters the action and export use cases take."""

from __future__ import annotations

import asyncio
import logging

from orderlens.domain.export import ExportRecord
from orderlens.events import CloudEvent, StatusChanged, make_event
from orderlens.export_events import requested_event_data
from orderlens.kafka import publish_event
from orderlens_query.problems import ProblemException
from orderlens_query.runtime import EVENT_SOURCE, Runtime
from orderlens_query.services.actions import Publish
from orderlens_query.services.exports import PublishRequest

log = logging.getLogger(__name__)

EXPORT_PUBLISH_TIMEOUT_SECONDS = 3.0


def status_changes(runtime: Runtime) -> Publish:
    """Publish an accepted action's event; 503 when Kafka does not take it (nothing recorded)."""

    async def publish(event: CloudEvent[StatusChanged]) -> None:
        try:
            await publish_event(runtime.broker, runtime.settings.topic_status_changed, event)
        except Exception as exc:
            log.warning("publishing %s failed: %s", event.id, exc)
            raise ProblemException(
                503, "the event could not be published; retry", headers={"Retry-After": "2"}
            ) from exc

    return publish


def export_requests(runtime: Runtime) -> PublishRequest:
    """Wake the exporter up; if Kafka is unavailable it finds the queued record anyway."""

    async def publish(record: ExportRecord) -> None:
        event = make_event(
            requested_event_data(record),
            source=EVENT_SOURCE,
            subject=record.id,
            event_id=record.request_event_id,
        )
        try:
            await asyncio.wait_for(
                publish_event(runtime.broker, runtime.settings.topic_export_requested, event),
                EXPORT_PUBLISH_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            log.warning(
                "export-requested not published (the exporter will poll for it): %s",
                exc,
                extra={"export_id": record.id},
            )

    return publish
