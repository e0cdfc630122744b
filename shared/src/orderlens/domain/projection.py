"""Views generated from a stored model: a subset of its fields, same types, defaults and rules.

A view that copies a model's fields drifts from it (issue 17 #1: the API's history model forbade
the fields order-ingest had started to write). A projection is built from the model's own field
definitions, so a field changes in one place; see docs/decisions/0070-one-stored-model.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.fields import FieldInfo


def project(
    source: type[BaseModel],
    name: str,
    fields: Iterable[str],
    *,
    extra: Literal["ignore", "forbid"] = "ignore",
    retype: Mapping[str, Any] | None = None,
    aliases: Mapping[str, str] | None = None,
    doc: str | None = None,
) -> type[BaseModel]:
    """`source` restricted to `fields`, each as `source` defines it.

    `retype` swaps a field's annotation for a projection of its own model (`list[Item]` ->
    `list[ExportItem]`); `aliases` names the stored key a field is read from (`id` <- `_id`).
    """
    retype = retype or {}
    aliases = aliases or {}
    definitions: dict[str, Any] = {}
    for field in fields:
        info = source.model_fields[field]  # KeyError: a projection of a field the model lacks
        annotation = retype.get(field, info.annotation)
        merged = FieldInfo.merge_field_infos(info, annotation=annotation)
        if field in aliases:
            merged = FieldInfo.merge_field_infos(merged, validation_alias=aliases[field])
        definitions[field] = (annotation, merged)
    model: type[BaseModel] = create_model(
        name,
        __config__=ConfigDict(extra=extra),
        __doc__=doc or f"The fields {', '.join(definitions)} of `{source.__name__}`.",
        __module__=source.__module__,
        **definitions,
    )
    return model
