"""The sales read model (collection `sales_buckets`), written by order-ingest, read by query-api.

Paid orders are summed into 15-minute buckets of their paid time, per shop and currency. Every
IANA time zone offset is a multiple of 15 minutes, so any day, week or month in any zone is a
whole number of buckets, and sums over buckets are exact. A bucket is recomputed from the orders
whenever an order in it changes, so redelivery and crashes cannot skew it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from orderlens.domain.status import OrderStatus

BUCKET = timedelta(minutes=15)
COLLECTION = "sales_buckets"


class SalesBucket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_id: str
    currency: str
    start: datetime
    orders: int
    units: int
    gross: int  # sum of order totals, minor units
    cancelled: int  # orders of this bucket now CANCELLED
    cancelled_gross: int
    # order-ingest's bookkeeping (see orderlens.sales_store): `gen` counts the recomputes that
    # changed the figures; `pending` counts writers between announcing and finishing a change.
    gen: int = 0
    pending: int = 0

    @property
    def bucket_id(self) -> str:
        return bucket_id(self.shop_id, self.currency, self.start)

    def to_document(self) -> dict[str, object]:
        return {"_id": self.bucket_id, **self.model_dump()}


def bucket_start(moment: datetime) -> datetime:
    """The start of the 15-minute UTC bucket holding `moment`."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def bucket_id(shop_id: str, currency: str, start: datetime) -> str:
    return f"{shop_id}|{currency}|{start.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"


def counts_as_cancelled(status: OrderStatus) -> bool:
    return status == OrderStatus.CANCELLED
