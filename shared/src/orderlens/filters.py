"""The order filters of docs/contract.md §5.2, shared by query-api (list, counts) and the exporter.

API:
- `parse_filters(params, *, ignore=()) -> OrderFilters`: the query string (a mapping of name to
  a value or a list of values, e.g. `{k: request.query_params.getlist(k) for k in ...}`, or an
  export event's `filters`) -> validated filters. Raises `FilterError` naming the parameter on an
  unknown parameter, an operator-looking value, a bad date, time zone, status or number.
  Paging parameters (`PAGING_PARAMS`) are unknown here unless listed in `ignore`.
- `parse_list_query(params, *, max_limit=200) -> (OrderFilters, ListOptions)`: the same plus
  `sort`, `limit`, `cursor`, `include_total` of GET /v1/orders.
- `build_mongo_filter(filters, shop_ids, *, now, pii=True) -> dict`: the MongoDB filter of the
  filters, always limited to `shop_ids` (the caller's shops from the token). With `pii=False`
  (roles that see masked PII) `buyer` matches only the buyer user id and `q` no e-mail, so that
  searching cannot unmask what the answer masks.
- `Sort` (`Sort.parse("-created_at")`, `.mongo_sort()`), `encode_cursor(sort, document)`,
  `decode_cursor(sort, token)` and `keyset_filter(sort, position)`: keyset paging on the sort
  key plus `_id`, so a page never repeats or skips an order that existed throughout.
- `PROJECTION_FIELDS` maps sort keys to stored fields.

Dates: RFC 3339 datetimes, or `YYYY-MM-DD` read in `tz` (a `_to` date includes that whole day);
a datetime without an offset is read in `tz` too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orderlens.constant_time import same_secret
from orderlens.domain.money import _EXPONENTS, exponent
from orderlens.domain.status import (
    OrderStatus,
    ReturnStatus,
    TrackingStatus,
    View,
    parse_order_status,
    statuses_of_view,
)
from orderlens.masking import mask_postal_code

MAX_VALUE_LENGTH = 200
MAX_VALUES = 50
MAX_STALLED_HOURS = 24 * 366
# "Stalled" (docs/contract.md §4.4): on its way, with no new checkpoint for N hours. The filter
# below and `is_stalled` (one order, e.g. the buyer's page) are the same rule.
STALLABLE_STATUSES = frozenset({OrderStatus.AWAITING_COLLECTION, OrderStatus.IN_TRANSIT})


def is_stalled(
    status: OrderStatus,
    last_checkpoint_at: datetime | None,
    updated_at: datetime,
    *,
    hours: int,
    now: datetime,
) -> bool:
    """The `stalled_hours` filter's rule for one order."""
    cutoff = now - timedelta(hours=hours)
    return status in STALLABLE_STATUSES and (last_checkpoint_at or updated_at) < cutoff


# "Any of" parameters; every other parameter may appear once.
REPEATABLE = frozenset(
    {
        "shop_id",
        "status",
        "view",
        "sku",
        "currency",
        "payment_method",
        "country",
        "state",
        "city",
        "postal_code",
        "carrier",
        "tracking_number",
        "tracking_status",
        "return_status",
        "risk",
        "shipping_type",
        "fulfillment_type",
    }
)
PAGING_PARAMS = frozenset({"sort", "limit", "cursor", "include_total"})
TIME_FIELDS = {"created": "created_at", "paid": "paid_at", "updated": "updated_at"}


@dataclass(frozen=True)
class ParamError:
    param: str
    message: str


class FilterError(ValueError):
    """Bad query parameters; `errors` names each offending parameter."""

    def __init__(self, errors: Sequence[ParamError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.param}: {e.message}" for e in self.errors))

    @classmethod
    def one(cls, param: str, message: str) -> FilterError:
        return cls([ParamError(param, message)])


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def parse_tz(value: str) -> ZoneInfo:
    """An IANA zone name -> ZoneInfo; ValueError when unknown (names only, never paths)."""
    if value not in _zones():
        raise ValueError(f"unknown time zone {value!r} (an IANA name like Europe/Paris)")
    return ZoneInfo(value)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_moment(value: str) -> datetime | date:
    """`YYYY-MM-DD` -> date; an RFC 3339 datetime -> datetime (naive when it has no offset)."""
    text = value.strip()
    if _DATE.match(text):
        return date.fromisoformat(text)
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", text):
        raise ValueError("expected an RFC 3339 datetime or a YYYY-MM-DD date")
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is not None and parsed.utcoffset() is None:  # pragma: no cover
        raise ValueError("bad UTC offset")
    return parsed


def resolve_moment(value: datetime | date, tz: ZoneInfo, *, end: bool) -> datetime:
    """The UTC instant of a bound: a date starts its day in `tz`; an `end` date ends it."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware.astimezone(UTC)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    """[start, end) or [start, end] in UTC; `None` is unbounded."""

    start: datetime | None
    end: datetime | None
    end_inclusive: bool

    def mongo(self) -> dict[str, datetime]:
        condition: dict[str, datetime] = {}
        if self.start is not None:
            condition["$gte"] = self.start
        if self.end is not None:
            condition["$lte" if self.end_inclusive else "$lt"] = self.end
        return condition

    @property
    def is_empty(self) -> bool:
        if self.start is None or self.end is None:
            return False
        return self.end < self.start or (not self.end_inclusive and self.end == self.start)


Moment = datetime | date


class OrderFilters(BaseModel):
    """The filter parameters of GET /v1/orders; empty tuples and `None` mean "no filter"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shop_id: tuple[str, ...] = ()
    status: tuple[OrderStatus, ...] = ()
    view: tuple[View, ...] = ()
    created_from: Moment | None = None
    created_to: Moment | None = None
    paid_from: Moment | None = None
    paid_to: Moment | None = None
    updated_from: Moment | None = None
    updated_to: Moment | None = None
    tz: str = "UTC"
    sku: tuple[str, ...] = ()
    product: str | None = None
    buyer: str | None = None
    q: str | None = None
    total_min: Decimal | None = Field(default=None, ge=0)
    total_max: Decimal | None = Field(default=None, ge=0)
    currency: tuple[str, ...] = ()
    payment_method: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    city: tuple[str, ...] = ()
    postal_code: tuple[str, ...] = ()
    carrier: tuple[str, ...] = ()
    tracking_number: tuple[str, ...] = ()
    tracking_status: tuple[TrackingStatus, ...] = ()
    return_status: tuple[ReturnStatus, ...] = ()
    delivery_issue: bool | None = None
    stalled_hours: int | None = Field(default=None, ge=1, le=MAX_STALLED_HOURS)
    risk: tuple[str, ...] = ()
    is_cod: bool | None = None
    shipping_type: tuple[str, ...] = ()
    fulfillment_type: tuple[str, ...] = ()

    @field_validator("status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(parse_order_status(v) if isinstance(v, str) else v for v in value)
        return value

    @field_validator("return_status", "tracking_status", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(v.strip().upper() if isinstance(v, str) else v for v in value)
        return value

    @field_validator("view", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(v.strip().lower() if isinstance(v, str) else v for v in value)
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _currencies(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            for v in value:
                if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z]{3}", v):
                    raise ValueError("a currency is a 3-letter ISO 4217 code")
            return tuple(v.upper() for v in value)
        return value

    @field_validator(
        "created_from",
        "created_to",
        "paid_from",
        "paid_to",
        "updated_from",
        "updated_to",
        mode="before",
    )
    @classmethod
    def _moment(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_moment(value)
            except ValueError as exc:
                raise ValueError(f"bad date {value!r}: {exc}") from None
        return value

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        parse_tz(value)
        return value

    @field_validator("total_min", "total_max", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not re.fullmatch(r"\d{1,15}(\.\d{1,3})?", value.strip()):
                raise ValueError("expected a decimal amount like 25 or 19.99")
            return Decimal(value.strip())
        return value

    @property
    def zone(self) -> ZoneInfo:
        return parse_tz(self.tz)

    def time_range(self, name: str) -> TimeRange | None:
        """The UTC range of `created`, `paid` or `updated`, or None when unbounded."""
        start: Moment | None = getattr(self, f"{name}_from")
        end: Moment | None = getattr(self, f"{name}_to")
        if start is None and end is None:
            return None
        zone = self.zone
        return TimeRange(
            start=None if start is None else resolve_moment(start, zone, end=False),
            end=None if end is None else resolve_moment(end, zone, end=True),
            end_inclusive=isinstance(end, datetime),
        )

    def query_params(self) -> dict[str, str | list[str]]:
        """The filters back as query-string values (for export events and links)."""
        out: dict[str, str | list[str]] = {}
        for name, value in self:
            if value is None or value == () or (name == "tz" and value == "UTC"):
                continue
            if isinstance(value, tuple):
                out[name] = [str(v) for v in value]
            elif isinstance(value, bool):
                out[name] = "true" if value else "false"
            elif isinstance(value, datetime | date):
                out[name] = value.isoformat()
            else:
                out[name] = str(value)
        return out


FILTER_PARAMS = frozenset(OrderFilters.model_fields)


class SortKey(StrEnum):
    CREATED_AT = "created_at"
    PAID_AT = "paid_at"
    UPDATED_AT = "updated_at"
    TOTAL = "total"


PROJECTION_FIELDS: dict[SortKey, str] = {
    SortKey.CREATED_AT: "created_at",
    SortKey.PAID_AT: "paid_at",
    SortKey.UPDATED_AT: "updated_at",
    SortKey.TOTAL: "money.total",
}


@dataclass(frozen=True)
class Sort:
    key: SortKey = SortKey.CREATED_AT
    descending: bool = True

    @classmethod
    def parse(cls, value: str) -> Sort:
        text = value.strip()
        descending = text.startswith("-")
        name = text.lstrip("-+")
        try:
            return cls(SortKey(name), descending)
        except ValueError:
            allowed = ", ".join(k.value for k in SortKey)
            raise ValueError(f"sort by one of {allowed}, with - for descending") from None

    @property
    def field(self) -> str:
        return PROJECTION_FIELDS[self.key]

    def mongo_sort(self) -> list[tuple[str, int]]:
        direction = -1 if self.descending else 1
        return [(self.field, direction), ("_id", direction)]

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.key.value


class ListOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    sort: Sort = Sort()
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None
    include_total: bool = False


@dataclass(frozen=True)
class CursorPosition:
    value: datetime | int | None
    order_id: str


def value_at(document: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path of a stored document (`money.total`), None when absent."""
    current: Any = document
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


# MongoDB's integers are 64-bit: a cursor key outside that range cannot name a position.
_INT64 = range(-(2**63), 2**63)


def _signature(key: bytes, body: str) -> str:
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encode_cursor(sort: Sort, document: Mapping[str, Any], secret: bytes | None = None) -> str:
    """The cursor after `document` (a stored order) in `sort` order, HMAC-signed with `secret`
    when given (decision 0072): a signed cursor cannot be forged, only replayed."""
    value = value_at(document, sort.field)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        encoded: Any = value.astimezone(UTC).isoformat()
    else:
        encoded = value
    payload = {"s": str(sort), "k": encoded, "id": document["_id"]}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return body if secret is None else f"{body}.{_signature(secret, body)}"


def decode_cursor(sort: Sort, token: str, secret: bytes | None = None) -> CursorPosition:
    """The position a cursor names; FilterError on a forged, damaged or foreign cursor.

    With `secret`, the signature is checked first; without, only the shape (parameter parsing)."""
    bad = FilterError.one("cursor", "not a cursor returned by this list, with the same sort")
    if len(token) > 1_000:
        raise bad
    token, _, signature = token.partition(".")
    if secret is not None and not same_secret(signature, _signature(secret, token)):
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(payload, dict) or set(payload) != {"s", "k", "id"}:
        raise bad
    if payload["s"] != str(sort) or not isinstance(payload["id"], str):
        raise bad
    key = payload["k"]
    value: datetime | int | None
    if key is None and sort.key == SortKey.PAID_AT:
        value = None
    elif sort.key == SortKey.TOTAL:
        if not isinstance(key, int) or isinstance(key, bool) or key not in _INT64:
            raise bad
        value = key
    else:
        if not isinstance(key, str):
            raise bad
        try:
            value = datetime.fromisoformat(key)
        except ValueError:
            raise bad from None
        if value.tzinfo is None:
            raise bad
    return CursorPosition(value, payload["id"])


def keyset_filter(sort: Sort, position: CursorPosition) -> dict[str, Any]:
    """Orders strictly after `position` in `sort` order (nulls sort first, as in MongoDB)."""
    field, value, order_id = sort.field, position.value, position.order_id
    after, past = ("$lt", "$lt") if sort.descending else ("$gt", "$gt")
    if value is None:
        same = {field: None, "_id": {past: order_id}}
        if sort.descending:
            return same
        return {"$or": [same, {field: {"$ne": None}}]}
    branches: list[dict[str, Any]] = [
        {field: {after: value}},
        {field: value, "_id": {past: order_id}},
    ]
    if sort.descending and sort.key == SortKey.PAID_AT:
        branches.append({field: None})
    return {"$or": branches}


Params = Mapping[str, str | Sequence[str]]


def _values(raw: str | Sequence[str]) -> list[str]:
    return [raw] if isinstance(raw, str) else list(raw)


def _looks_like_operator(value: str) -> bool:
    text = value.strip()
    return text.startswith(("$", "{")) or "\x00" in text


def _collect(
    params: Params, allowed: Collection[str], ignore: Collection[str]
) -> tuple[dict[str, list[str]], list[ParamError]]:
    errors: list[ParamError] = []
    collected: dict[str, list[str]] = {}
    for name, raw in params.items():
        if name in ignore:
            continue
        if name not in allowed:
            errors.append(ParamError(name, "unknown parameter"))
            continue
        values = [v for v in (s.strip() for s in _values(raw)) if v]
        if not values:
            continue
        if len(values) > 1 and name not in REPEATABLE:
            errors.append(ParamError(name, "may be given only once"))
            continue
        if len(values) > MAX_VALUES:
            errors.append(ParamError(name, f"at most {MAX_VALUES} values"))
            continue
        for value in values:
            if len(value) > MAX_VALUE_LENGTH:
                errors.append(ParamError(name, f"longer than {MAX_VALUE_LENGTH} characters"))
                break
            if _looks_like_operator(value):
                errors.append(ParamError(name, "looks like a query operator, not a value"))
                break
        else:
            collected[name] = values
    return collected, errors


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("expected true or false")


_BOOL_PARAMS = frozenset({"delivery_issue", "is_cod", "include_total"})


def _validation_errors(exc: ValidationError) -> list[ParamError]:
    errors = []
    for error in exc.errors():
        location = error.get("loc", ())
        param = str(location[0]) if location else "query"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append(ParamError(param, message))
    return errors


def _filters_from(collected: dict[str, list[str]]) -> OrderFilters:
    data: dict[str, Any] = {}
    errors: list[ParamError] = []
    for name, values in collected.items():
        if name not in FILTER_PARAMS:
            continue
        if name in REPEATABLE:
            data[name] = tuple(values)
        elif name in _BOOL_PARAMS:
            try:
                data[name] = _bool(values[0])
            except ValueError as exc:
                errors.append(ParamError(name, str(exc)))
        else:
            data[name] = values[0]
    if errors:
        raise FilterError(errors)
    try:
        filters = OrderFilters.model_validate(data)
    except ValidationError as exc:
        raise FilterError(_validation_errors(exc)) from None
    _check_ranges(filters)
    return filters


def _check_ranges(filters: OrderFilters) -> None:
    errors = []
    for name in TIME_FIELDS:
        time_range = filters.time_range(name)
        if time_range and time_range.start and time_range.end and time_range.is_empty:
            errors.append(ParamError(f"{name}_to", f"is before {name}_from"))
    if (
        filters.total_min is not None
        and filters.total_max is not None
        and filters.total_max < filters.total_min
    ):
        errors.append(ParamError("total_max", "is below total_min"))
    if errors:
        raise FilterError(errors)


def parse_filters(params: Params, *, ignore: Collection[str] = ()) -> OrderFilters:
    """Validated filters from query-string values; FilterError names each bad parameter."""
    collected, errors = _collect(params, FILTER_PARAMS, ignore)
    if errors:
        raise FilterError(errors)
    return _filters_from(collected)


def parse_list_query(params: Params, *, max_limit: int = 200) -> tuple[OrderFilters, ListOptions]:
    """Filters plus `sort`, `limit` (1..max_limit), `cursor`, `include_total`."""
    collected, errors = _collect(params, FILTER_PARAMS | PAGING_PARAMS, ())
    options: dict[str, Any] = {}
    if "sort" in collected:
        try:
            options["sort"] = Sort.parse(collected["sort"][0])
        except ValueError as exc:
            errors.append(ParamError("sort", str(exc)))
    if "limit" in collected:
        text = collected["limit"][0]
        if not re.fullmatch(r"\d{1,6}", text) or not 1 <= int(text) <= max_limit:
            errors.append(ParamError("limit", f"an integer from 1 to {max_limit}"))
        else:
            options["limit"] = int(text)
    if "include_total" in collected:
        try:
            options["include_total"] = _bool(collected["include_total"][0])
        except ValueError as exc:
            errors.append(ParamError("include_total", str(exc)))
    if "cursor" in collected:
        options["cursor"] = collected["cursor"][0]
    try:
        filters = _filters_from(collected)
    except FilterError as exc:
        errors.extend(exc.errors)
        filters = OrderFilters()
    if errors:
        raise FilterError(errors)
    list_options = ListOptions.model_validate(options)
    if list_options.cursor is not None:
        decode_cursor(list_options.sort, list_options.cursor)
    return filters, list_options


def params_from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """[("status", "A"), ("status", "B")] -> {"status": ["A", "B"]}."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


# -- the MongoDB filter ---------------------------------------------------------------------


def _ci_exact(value: str) -> dict[str, str]:
    return {"$regex": f"^{re.escape(value)}$", "$options": "i"}


def _ci_part(value: str) -> dict[str, str]:
    return {"$regex": re.escape(value), "$options": "i"}


def _any_of(field: str, conditions: Sequence[Any]) -> dict[str, Any]:
    if len(conditions) == 1:
        return {field: conditions[0]}
    return {"$or": [{field: c} for c in conditions]}


def _in(field: str, values: Sequence[Any]) -> dict[str, Any]:
    return {field: values[0]} if len(values) == 1 else {field: {"$in": list(values)}}


def _statuses(filters: OrderFilters) -> list[dict[str, Any]]:
    """The status and view conditions (views are "any of"; status and view combine by AND)."""
    conditions: list[dict[str, Any]] = []
    if filters.status:
        conditions.append(_in("status", sorted({s.value for s in filters.status})))
    if filters.view:
        wanted: set[OrderStatus] = set()
        for view in filters.view:
            wanted |= statuses_of_view(view)
        branches: list[dict[str, Any]] = []
        if wanted:
            branches.append(_in("status", sorted(s.value for s in wanted)))
        if View.RETURNS in filters.view:
            branches.append({"return_status": {"$ne": ReturnStatus.NONE.value}})
        conditions.append(branches[0] if len(branches) == 1 else {"$or": branches})
    return conditions


def _amount_bounds(
    filters: OrderFilters, currencies: Sequence[str]
) -> list[tuple[list[str] | None, dict[str, int]]]:
    """Per currency exponent: the currencies (None = "all with exponent 2") and minor bounds."""
    by_exponent: dict[int, list[str] | None] = {}
    if currencies:
        for currency in currencies:
            group = by_exponent.setdefault(exponent(currency), [])
            assert group is not None
            group.append(currency)
    else:
        for currency, places in _EXPONENTS.items():
            if places != 2:
                group = by_exponent.setdefault(places, [])
                assert group is not None
                group.append(currency)
        by_exponent[2] = None
    bounds = []
    for places, group in sorted(by_exponent.items()):
        condition: dict[str, int] = {}
        if filters.total_min is not None:
            minimum = filters.total_min.scaleb(places).to_integral_value(ROUND_CEILING)
            condition["$gte"] = int(minimum)
        if filters.total_max is not None:
            maximum = filters.total_max.scaleb(places).to_integral_value(ROUND_FLOOR)
            condition["$lte"] = int(maximum)
        bounds.append((group, condition))
    return bounds


def _totals(filters: OrderFilters) -> dict[str, Any] | None:
    if filters.total_min is None and filters.total_max is None:
        return None
    others = sorted(c for c, places in _EXPONENTS.items() if places != 2)
    branches: list[dict[str, Any]] = []
    for group, condition in _amount_bounds(filters, filters.currency):
        if group is None:
            branches.append({"money.currency": {"$nin": others}, "money.total": condition})
        else:
            branches.append({**_in("money.currency", sorted(group)), "money.total": condition})
    return branches[0] if len(branches) == 1 else {"$or": branches}


def _country(value: str) -> dict[str, Any]:
    if re.fullmatch(r"[A-Za-z]{2}", value):
        return {"recipient.country_code": value.upper()}
    return {"recipient.country": _ci_exact(value)}


def build_mongo_filter(
    filters: OrderFilters,
    shop_ids: Collection[str],
    *,
    now: datetime | None = None,
    pii: bool = True,
) -> dict[str, Any]:
    """The MongoDB filter of `filters`, limited to `shop_ids` (never empty of a shop scope)."""
    allowed = sorted(set(shop_ids) & set(filters.shop_id)) if filters.shop_id else sorted(shop_ids)
    flat: dict[str, Any] = {"shop_id": {"$in": allowed}}
    conditions: list[dict[str, Any]] = _statuses(filters)

    for name, field in TIME_FIELDS.items():
        time_range = filters.time_range(name)
        if time_range is not None:
            flat[field] = time_range.mongo()

    if filters.sku:
        conditions.append(_in("skus", list(filters.sku)))
    if filters.product:
        conditions.append({"product_names": _ci_part(filters.product)})
    if filters.buyer:
        if pii:
            conditions.append(
                {
                    "$or": [
                        {"recipient.name": _ci_part(filters.buyer)},
                        {"buyer.user_id": filters.buyer},
                    ]
                }
            )
        else:
            conditions.append({"buyer.user_id": filters.buyer})
    if filters.q:
        branches: list[dict[str, Any]] = [{"_id": filters.q}, {"tracking_numbers": filters.q}]
        if pii:
            branches.append({"buyer.email": filters.q})
        conditions.append({"$or": branches})
    totals = _totals(filters)
    if totals is not None:
        conditions.append(totals)
    elif filters.currency:
        conditions.append(_in("money.currency", list(filters.currency)))
    if filters.payment_method:
        conditions.append(_any_of("payment_method", [_ci_exact(v) for v in filters.payment_method]))
    if filters.country:
        branches = [_country(v) for v in filters.country]
        conditions.append(branches[0] if len(branches) == 1 else {"$or": branches})
    if filters.state:
        conditions.append(_any_of("recipient.state", [_ci_exact(v) for v in filters.state]))
    if filters.city:
        conditions.append(_any_of("recipient.city", [_ci_exact(v) for v in filters.city]))
    if filters.postal_code:
        # A role that sees the postal code masked filters it at the masked precision only, so
        # the filter cannot recover what the answer hides (issue 17 #6).
        codes = [v if pii else mask_postal_code(v) or "" for v in filters.postal_code]
        prefixes = [{"$regex": f"^{re.escape(v)}", "$options": "i"} for v in codes]
        conditions.append(_any_of("recipient.postal_code", prefixes))
    if filters.carrier:
        conditions.append(_any_of("carriers", [_ci_exact(v) for v in filters.carrier]))
    if filters.tracking_number:
        conditions.append(_in("tracking_numbers", list(filters.tracking_number)))
    if filters.tracking_status:
        conditions.append(_in("tracking_statuses", [s.value for s in filters.tracking_status]))
    if filters.return_status:
        conditions.append(_in("return_status", [s.value for s in filters.return_status]))
    if filters.delivery_issue is not None:
        flat["delivery_issue"] = filters.delivery_issue
    if filters.stalled_hours is not None:
        cutoff = (now or datetime.now(UTC)) - timedelta(hours=filters.stalled_hours)
        conditions.append({"status": {"$in": sorted(s.value for s in STALLABLE_STATUSES)}})
        conditions.append(
            {
                "$or": [
                    {"last_checkpoint_at": {"$lt": cutoff}},
                    {"last_checkpoint_at": None, "updated_at": {"$lt": cutoff}},
                ]
            }
        )
    if filters.risk:
        conditions.append(_in("risk", list(filters.risk)))
    if filters.is_cod is not None:
        flat["is_cod"] = filters.is_cod
    if filters.shipping_type:
        conditions.append(_in("shipping_type", list(filters.shipping_type)))
    if filters.fulfillment_type:
        conditions.append(_in("fulfillment_type", list(filters.fulfillment_type)))
    query = _combine(flat, conditions)
    # The shop scope last: every order of the token's shops passes it, and mongo-java-server
    # matches a filter's keys in order, so the selective ones first end a miss sooner (a scan of
    # 10,000 orders for country=US: 18 ms instead of 25, bench/results/2026-12-02-console-speed.md).
    # The same filter on MongoDB, which plans it whatever the order.
    query["shop_id"] = query.pop("shop_id")
    return query


def _combine(flat: dict[str, Any], conditions: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge conditions into one document where their keys are free, else under `$and`."""
    rest: list[dict[str, Any]] = []
    for condition in conditions:
        if "$or" not in condition and not set(condition) & set(flat):
            flat.update(condition)
        else:
            rest.append(condition)
    if rest:
        flat["$and"] = rest
    return flat


def with_keyset(query: dict[str, Any], sort: Sort, position: CursorPosition) -> dict[str, Any]:
    """`query` narrowed to the orders after `position`."""
    keyset = keyset_filter(sort, position)
    if "$or" not in keyset and not set(keyset) & set(query):
        return {**query, **keyset}
    return {**query, "$and": [*query.get("$and", []), keyset]}
