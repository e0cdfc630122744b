"""The buyer's answers (docs/contract.md §5.1 buyer row): the seller's order shapes minus every
field named in `orderlens.domain.buyer.SELLER_ONLY_FIELDS`, derived here rather than copied, so a
field added to the seller's detail reaches the buyer only when it is not seller-only."""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from orderlens.domain.buyer import SELLER_ONLY_FIELDS, BuyerTab
from orderlens_query.models.common import ApiModel
from orderlens_query.models.orders import OrderDetail, OrderSummary


def _without_seller_fields(model: type[ApiModel], name: str, doc: str) -> type[ApiModel]:
    fields: dict[str, Any] = {
        field: (info.annotation, info)
        for field, info in model.model_fields.items()
        if field not in SELLER_ONLY_FIELDS
    }
    derived: type[ApiModel] = create_model(name, __base__=ApiModel, __doc__=doc, **fields)
    return derived


BuyerOrderSummary = _without_seller_fields(
    OrderSummary, "BuyerOrderSummary", "One row of the buyer's order center."
)
BuyerOrderDetail = _without_seller_fields(
    OrderDetail,
    "BuyerOrderDetail",
    "One of the buyer's orders: items, amounts, address, packages with their tracking timeline "
    "and estimated delivery, return status; never seller notes, risk flags or the history.",
)


def buyer_view(model: type[ApiModel], seller_view: ApiModel) -> ApiModel:
    return model.model_validate(seller_view.model_dump(exclude=set(SELLER_ONLY_FIELDS)))


class BuyerTabCount(ApiModel):
    tab: BuyerTab
    label: str = Field(description="TikTok's Order Center wording.")
    count: int


class BuyerOrderPage(ApiModel):
    tabs: list[BuyerTabCount] = Field(
        description="Every tab with its count; `returns` overlaps the status tabs."
    )
    items: list[BuyerOrderSummary]  # type: ignore[valid-type]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
