"""Liveness and readiness answers."""

from __future__ import annotations

from orderlens_query.models.common import ApiModel


class Health(ApiModel):
    status: str


class Readiness(ApiModel):
    status: str
    mongodb: bool
    kafka: bool
