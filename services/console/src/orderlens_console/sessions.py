"""The signed session cookie and its CSRF token.

The cookie carries who signed in (sub, role, shops) and a random CSRF token; it is signed with
`session_secret` (itsdangerous) and expires server-side after `session_max_age_seconds`, so a
forged or edited cookie is simply no session. State-changing requests must echo the CSRF token
in a form field or the `X-CSRF-Token` header (docs/decisions/0101).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orderlens.roles import Role

SESSION_COOKIE = "orderlens_session"
FLOW_COOKIE = "orderlens_oidc"


class Session(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str = Field(min_length=1, max_length=200)
    name: str = Field(max_length=200)
    role: Role
    shops: tuple[str, ...] = Field(min_length=1, max_length=1_000)
    csrf: str = Field(min_length=16)


def new_session(*, sub: str, name: str, role: Role, shops: tuple[str, ...]) -> Session:
    return Session(sub=sub, name=name, role=role, shops=shops, csrf=secrets.token_urlsafe(24))


class SessionCodec:
    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._session = URLSafeTimedSerializer(secret, salt="orderlens-console-session")
        self._flow = URLSafeTimedSerializer(secret, salt="orderlens-console-oidc-flow")
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


def csrf_ok(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf, presented)
