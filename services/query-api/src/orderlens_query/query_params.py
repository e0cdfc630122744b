"""The query parameters of the order list, documented in OpenAPI from one table.

FastAPI does not parse them: the raw query string goes to `orderlens.filters`, so that unknown
parameters and operator-looking values are refused by the same code the exporter uses.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus, View
from orderlens.filters import (
    FILTER_PARAMS,
    PAGING_PARAMS,
    REPEATABLE,
    FilterError,
    ListOptions,
    OrderFilters,
    ParamError,
    SortKey,
    params_from_pairs,
    parse_filters,
    parse_list_query,
)

_MOMENT = {
    "type": "string",
    "anyOf": [{"format": "date"}, {"format": "date-time"}],
    "examples": ["2024-11-20", "2024-11-20T08:00:00Z"],
}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_BOOL = {"type": "boolean"}


def _enum(values: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": values}


_SPECS: dict[str, tuple[dict[str, Any], str]] = {
    "shop_id": (_TEXT, "Only these shops (within the token's shops)."),
    "status": (_enum([s.value for s in OrderStatus]), "Order status (CANCEL is accepted too)."),
    "view": (_enum([v.value for v in View]), "Status tab (docs/contract.md §4.2)."),
    "created_from": (_MOMENT, "Created at or after (a date starts its day in `tz`)."),
    "created_to": (_MOMENT, "Created at or before (a date includes its whole day in `tz`)."),
    "paid_from": (_MOMENT, "Paid at or after."),
    "paid_to": (_MOMENT, "Paid at or before (a date includes its whole day)."),
    "updated_from": (_MOMENT, "Updated at or after."),
    "updated_to": (_MOMENT, "Updated at or before (a date includes its whole day)."),
    "tz": ({"type": "string", "default": "UTC", "examples": ["Europe/Paris"]}, "IANA zone."),
    "sku": (_TEXT, "Seller SKU or SKU id."),
    "product": (_TEXT, "Case-insensitive part of a product name."),
    "buyer": (
        _TEXT,
        "Case-insensitive part of the recipient name, or the buyer user id "
        "(user id only for roles with masked PII).",
    ),
    "q": (_TEXT, "Exact order id, tracking number or buyer e-mail (no e-mail for masked roles)."),
    "total_min": (
        {"type": "string", "pattern": r"^\d{1,15}(\.\d{1,3})?$", "examples": ["25.00"]},
        "Order total at least this, in the order's currency.",
    ),
    "total_max": (
        {"type": "string", "pattern": r"^\d{1,15}(\.\d{1,3})?$", "examples": ["100"]},
        "Order total at most this.",
    ),
    "currency": ({"type": "string", "pattern": "^[A-Za-z]{3}$"}, "ISO 4217 code."),
    "payment_method": (_TEXT, "Payment method name (case-insensitive)."),
    "country": (_TEXT, "ISO 3166 alpha-2 code, or country name (case-insensitive)."),
    "state": (_TEXT, "State or province (case-insensitive)."),
    "city": (_TEXT, "City (case-insensitive)."),
    "postal_code": (_TEXT, "Postal code prefix."),
    "carrier": (_TEXT, "Carrier name (case-insensitive)."),
    "tracking_number": (_TEXT, "Exact tracking number."),
    "tracking_status": (_enum([s.value for s in TrackingStatus]), "A package's tracking status."),
    "return_status": (_enum([s.value for s in ReturnStatus]), "Return status."),
    "delivery_issue": (_BOOL, "Orders with (or without) a delivery issue."),
    "stalled_hours": (
        {"type": "integer", "minimum": 1, "maximum": 8784},
        "Shipped orders with no carrier checkpoint for this many hours.",
    ),
    "risk": (_TEXT, "Risk flag code."),
    "is_cod": (_BOOL, "Cash on delivery."),
    "shipping_type": (_TEXT, "Shipping type, e.g. TIKTOK or SELLER."),
    "fulfillment_type": (_TEXT, "Fulfillment type, e.g. FULFILLMENT_BY_SELLER."),
    "sort": (
        {
            "type": "string",
            "enum": [p + k.value for k in SortKey for p in ("", "-")],
            "default": "-created_at",
        },
        "Sort key; `-` for descending.",
    ),
    "limit": ({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size."),
    "cursor": ({"type": "string", "maxLength": 1000}, "`next_cursor` of the previous page."),
    "include_total": ({"type": "boolean", "default": False}, "Add the exact count."),
}


def _parameter(name: str) -> dict[str, Any]:
    schema, description = _SPECS[name]
    repeatable = name in REPEATABLE
    if repeatable:
        description += " Repeatable: any of."
        schema = {"type": "array", "items": schema, "maxItems": 50}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **({"style": "form", "explode": True} if repeatable else {}),
    }


def openapi_parameters(*, paging: bool) -> list[dict[str, Any]]:
    names = [n for n in _SPECS if n in FILTER_PARAMS or (paging and n in PAGING_PARAMS)]
    return [_parameter(name) for name in names]


def documented_names() -> set[str]:
    return set(_SPECS)


def raw_params(request: Request) -> dict[str, list[str]]:
    return params_from_pairs(request.query_params.multi_items())


async def list_query(request: Request) -> tuple[OrderFilters, ListOptions]:
    max_limit: int = request.app.state.runtime.settings.max_page_size
    return parse_list_query(raw_params(request), max_limit=max_limit)


async def filters_query(request: Request) -> OrderFilters:
    return parse_filters(raw_params(request))


def only_params(*allowed: str) -> Any:
    """A dependency refusing query parameters other than `allowed` (400 naming them)."""
    names = frozenset(allowed)

    async def check(request: Request) -> None:
        unknown = sorted({k for k in request.query_params if k not in names})
        repeated = sorted(
            {k for k in names if len(request.query_params.getlist(k)) > 1} - {"shop_id", "currency"}
        )
        errors = [ParamError(k, "unknown parameter") for k in unknown]
        errors += [ParamError(k, "may be given only once") for k in repeated]
        for key, value in request.query_params.multi_items():
            if key in names and value.strip().startswith(("$", "{")):
                errors.append(ParamError(key, "looks like a query operator, not a value"))
        if errors:
            raise FilterError(errors)

    return check
