"""Bodies and answers of the buyer link and sign-in endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from orderlens_query.models.common import ApiModel

BUYER_USER_ID = r"^[A-Za-z0-9_\-]+$"


class BuyerLinkBody(ApiModel):
    buyer_user_id: str = Field(min_length=1, max_length=100, pattern=BUYER_USER_ID)
    ttl_hours: int = Field(default=72, ge=1, le=720, description="How long the link opens.")


class BuyerLinkOut(ApiModel):
    url: str = Field(description="The link to send to the buyer.")
    token: str = Field(description="The signed link token inside the URL.")
    expires_at: datetime
    shops: list[str] = Field(description="The shops whose orders of this buyer it opens.")


class SignInBody(ApiModel):
    email: str = Field(
        min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$", examples=["ana@example.com"]
    )


class SignInAccepted(ApiModel):
    status: str = Field(
        description="Always `accepted`: whether the address has orders is never revealed."
    )


class SessionBody(ApiModel):
    token: str = Field(min_length=1, max_length=4_000, description="The token of a buyer link.")


class BuyerSessionOut(ApiModel):
    access_token: str = Field(description="A buyer bearer token for /v1/me/orders.")
    token_type: str = "Bearer"
    expires_at: datetime
    buyer_user_id: str
    shops: list[str]
