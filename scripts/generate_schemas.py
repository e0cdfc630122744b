"""Write the committed contract documents (run: make schemas).

- docs/schemas/<event type>.schema.json: one JSON Schema per event type (docs/contract.md §3);
- docs/asyncapi.json: the AsyncAPI 3 document of the topics and their messages
  (docs/contract.md §3), generated from the same event models in orderlens.events;
- docs/openapi.json: query-api's OpenAPI document (docs/contract.md §5), as the app serves it.

The tests in tests/unit/library/test_schemas.py regenerate all three and compare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from orderlens.events import DATA_MODELS, CloudEvent, EventType, json_schemas
from orderlens.settings import ServiceSettings

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA_DIR = DOCS / "schemas"

# Who sends and who receives each topic (docs/contract.md §3.1). The topic names themselves are
# the defaults of orderlens.settings.ServiceSettings, read below, so they have one definition.
_CHANNELS: dict[str, dict[str, Any]] = {
    "topic_orders_created": {
        "event": EventType.ORDER_CREATED,
        "key": "the order id",
        "senders": ["tiktok-connector", "the seed generator", "any upstream system"],
        "receivers": ["order-ingest", "status-tracker", "notifier"],
    },
    "topic_status_changed": {
        "event": EventType.STATUS_CHANGED,
        "key": "the order id",
        "senders": ["status-tracker", "query-api (seller actions)", "tiktok-connector"],
        "receivers": ["order-ingest", "status-tracker", "notifier"],
    },
    "topic_export_requested": {
        "event": EventType.EXPORT_REQUESTED,
        "key": "the export id",
        "senders": ["query-api"],
        "receivers": ["exporter"],
    },
    "topic_export_completed": {
        "event": EventType.EXPORT_COMPLETED,
        "key": "the export id",
        "senders": ["exporter"],
        "receivers": ["query-api", "notifier"],
    },
}

_DEAD_LETTER_HEADERS: dict[str, str] = {
    "x-error": "A readable reason why the message can never be processed.",
    "x-original-topic": "The topic the message was read from.",
    "x-original-partition": "Its partition, as a decimal string.",
    "x-original-offset": "Its offset, as a decimal string.",
    "x-failed-at": "When it was dead-lettered (ISO 8601, UTC).",
}


def _message_name(event_type: EventType) -> str:
    return str(event_type.value).replace(".", "_")


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic, built from the event models."""
    defaults = ServiceSettings.model_fields
    envelopes: dict[EventType, type[BaseModel]] = {
        event_type: CloudEvent[model] for event_type, model in DATA_MODELS.items()
    }
    refs, definitions = models_json_schema(
        [(envelope, "validation") for envelope in envelopes.values()],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(sorted(definitions.get("$defs", {}).items()))
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    assert {c["event"] for c in _CHANNELS.values()} == set(DATA_MODELS), "a topic per event type"
    for field, channel in _CHANNELS.items():
        event_type: EventType = channel["event"]
        model = envelopes[event_type]
        name = _message_name(event_type)
        address = defaults[field].default
        env = field.upper()
        payload = refs[(model, "validation")]
        messages[name] = {
            "name": event_type.value,
            "title": event_type.value,
            "summary": f"CloudEvents 1.0, type {event_type.value}, JSON structured mode.",
            "contentType": "application/cloudevents+json",
            "payload": payload,
            "correlationId": {"location": "$message.payload#/subject"},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"{channel['key']} (= subject)"},
                    "bindingVersion": "0.5.0",
                }
            },
        }
        channels[field] = {
            "address": address,
            "description": f"Renamed by {env}. Kafka key: {channel['key']}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"send_{field}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{field}"},
            "summary": "Sent by " + ", ".join(channel["senders"]) + ".",
            "messages": [{"$ref": f"#/channels/{field}/messages/{name}"}],
        }
        operations[f"receive_{field}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{field}"},
            "summary": "Received by " + ", ".join(channel["receivers"]) + ".",
            "messages": [{"$ref": f"#/channels/{field}/messages/{name}"}],
        }
    messages["dead_letter"] = {
        "name": "dead-letter",
        "title": "A message that can never be processed",
        "summary": "The original bytes and key, unchanged, with the reason in headers.",
        "contentType": "application/octet-stream",
        "payload": {"type": "string", "format": "binary"},
        "headers": {
            "type": "object",
            "required": sorted(_DEAD_LETTER_HEADERS),
            "properties": {
                header: {"type": "string", "description": text}
                for header, text in _DEAD_LETTER_HEADERS.items()
            },
        },
    }
    channels["topic_dead_letter"] = {
        "address": defaults["topic_dead_letter"].default,
        "description": "Renamed by TOPIC_DEAD_LETTER. Kafka key: the original key.",
        "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
    }
    operations["send_topic_dead_letter"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/topic_dead_letter"},
        "summary": "Sent by every consumer, for a message that fails to decode or validate.",
        "messages": [{"$ref": "#/channels/topic_dead_letter/messages/dead_letter"}],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "orderlens events",
            "version": "1.0.0",
            "description": (
                "The Kafka topics of orderlens and the CloudEvents they carry "
                "(docs/contract.md §3). Generated by scripts/generate_schemas.py from "
                "orderlens.events; run `make schemas` after changing the models."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def openapi() -> dict[str, Any]:
    """query-api's OpenAPI document, exactly as GET /openapi.json serves it."""
    from orderlens_query.app import create_app
    from orderlens_query.settings import QueryApiSettings

    document: dict[str, Any] = create_app(QueryApiSettings()).openapi()
    return document


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> dict[str, str]:
    """The JSON Schemas of docs/schemas/, by file name."""
    return {name: _dump(schema) for name, schema in json_schemas().items()}


def render_documents() -> dict[str, str]:
    """The documents directly under docs/, by file name."""
    return {"asyncapi.json": _dump(asyncapi()), "openapi.json": _dump(openapi())}


def main() -> int:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote docs/schemas/{name}")
    for name, text in render_documents().items():
        (DOCS / name).write_text(text)
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
