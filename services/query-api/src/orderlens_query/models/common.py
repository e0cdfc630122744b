"""Shapes shared by several answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from orderlens.domain.money import format_minor


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Amount(ApiModel):
    """Money as a decimal string in its currency (docs/contract.md §2)."""

    amount: str = Field(examples=["25.98"])
    currency: str = Field(examples=["USD"])

    @classmethod
    def of(cls, minor: int, currency: str) -> Amount:
        return cls(amount=format_minor(minor, currency), currency=currency)


def amount(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)
