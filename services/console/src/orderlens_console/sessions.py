"""The signed session cookie and its CSRF token.

The cookie carries who signed in (sub, role, shops) and a random CSRF token; it is signed with
`session_secret` (itsdangerous) and expires server-side after `session_max_age_seconds`, so a
forged or edited cookie is simply no session. State-changing requests must echo the CSRF token
in a form field or the `X-CSRF-Token` header (docs/decisions/0101).
"""

from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orderlens.constant_time import same_secret
from orderlens.roles import Role

SESSION_COOKIE = "orderlens_session"
FLOW_COOKIE = "orderlens_oidc"
# A buyer's session is another cookie with another key salt: it never reads as a seller's
# session, nor a seller's as a buyer's (decision 0180).
BUYER_COOKIE = "orderlens_buyer"


class Session(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str = Field(min_length=1, max_length=200)
    name: str = Field(max_length=200)
    role: Role
    shops: tuple[str, ...] = Field(min_length=1, max_length=1_000)
    csrf: str = Field(min_length=16)


def new_session(*, sub: str, name: str, role: Role, shops: tuple[str, ...]) -> Session:
    return Session(sub=sub, name=name, role=role, shops=shops, csrf=secrets.token_urlsafe(24))


class BuyerSession(BaseModel):
    """A signed-in buyer: the buyer token query-api issued for their link, and their time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    buyer_user_id: str = Field(min_length=1, max_length=100)
    api_token: str = Field(min_length=1, max_length=4_000)
    expires_at: int = Field(description="Unix seconds: the buyer token's expiry.")
    tz: str = Field(default="UTC", max_length=64)
    csrf: str = Field(min_length=16)


def new_buyer_session(
    *, buyer_user_id: str, api_token: str, expires_at: int, tz: str
) -> BuyerSession:
    return BuyerSession(
        buyer_user_id=buyer_user_id,
        api_token=api_token,
        expires_at=expires_at,
        tz=tz,
        csrf=secrets.token_urlsafe(24),
    )


class SessionCodec:
    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._session = URLSafeTimedSerializer(secret, salt="orderlens-console-session")
        self._flow = URLSafeTimedSerializer(secret, salt="orderlens-console-oidc-flow")
        self._buyer = URLSafeTimedSerializer(secret, salt="orderlens-console-buyer-session")
        self._max_age = max_age_seconds

    def dumps(self, session: Session) -> str:
        return self._session.dumps(session.model_dump(mode="json"))

    def loads(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._session.loads(cookie, max_age=self._max_age)
            return Session.model_validate(data)
        except (BadSignature, ValidationError, TypeError):
            return None

    def dumps_buyer(self, session: BuyerSession) -> str:
        return self._buyer.dumps(session.model_dump(mode="json"))

    def loads_buyer(self, cookie: str | None, now: float) -> BuyerSession | None:
        """None for a missing, forged or edited cookie, and once its buyer token has expired."""
        if not cookie:
            return None
        try:
            session = BuyerSession.model_validate(self._buyer.loads(cookie, max_age=self._max_age))
        except (BadSignature, ValidationError, TypeError):
            return None
        return session if session.expires_at > now else None

    def dumps_flow(self, flow: dict[str, str]) -> str:
        return self._flow.dumps(flow)

    def loads_flow(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self._flow.loads(cookie, max_age=600)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None


def csrf_ok(session: Session | BuyerSession, presented: str | None) -> bool:
    return presented is not None and same_secret(presented, session.csrf)
