"""JWT bearer tokens of docs/contract.md §5.1: claims `sub`, `role`, `shops`, `exp`.

API:
- `mint_token(sub=, role=, shops=, secret=LOCAL_DEV_SECRET, ttl=, now=, algorithm="HS256",
  private_key=None, kid=None) -> str`: a signed token (HS256 with a secret for local use, or
  RS256/ES256 with a PEM private key, e.g. in tests of the JWKS path).
- `TokenVerifier(secret=, jwks=, jwks_file=, jwks_url=, algorithms=, audience=, issuer=,
  jwks_refetch_cooldown=30.0)`:
  `.verify(token) -> Principal`, raising `ExpiredToken` or `InvalidToken` (both `TokenError`)
  with a reason fit for a 401 answer. HS* tokens are checked against the secret only, RS*/ES*
  tokens against the JWKS key named by `kid` only, so a public key can never serve as an HMAC
  secret. `.blocking` is True when verifying may fetch a JWKS URL (call it off the event loop).
- `Principal(sub, role, shops, expires_at, buyer_user_id)`: who is calling and which shops they
  may see. A `buyer` token carries the claim `buyer_user_id` (the buyer's TikTok user id), which
  scopes every buyer read; a seller token must not carry it.

`LOCAL_DEV_SECRET` is for local development only; production sets `JWT_SECRET` or a JWKS.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orderlens.roles import Role

LOCAL_DEV_SECRET = "orderlens-local-development-secret-not-for-production"
DEFAULT_ALGORITHMS = ("HS256", "RS256", "ES256")
SUPPORTED_ALGORITHMS = frozenset({"HS256", "HS384", "HS512", "RS256", "ES256"})
DEFAULT_TTL = timedelta(hours=8)


class TokenError(Exception):
    """A token that does not authenticate its bearer; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidToken(TokenError):
    pass


class ExpiredToken(TokenError):
    pass


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str = Field(min_length=1, max_length=200)
    role: Role
    shops: tuple[str, ...] = Field(min_length=1, max_length=1_000)
    expires_at: datetime
    buyer_user_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _buyer_scope(self) -> Principal:
        if (self.role == Role.BUYER) != (self.buyer_user_id is not None):
            raise ValueError("a buyer token, and only a buyer token, carries buyer_user_id")
        return self

    @field_validator("shops")
    @classmethod
    def _shop_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not shop or len(shop) > 100 for shop in value):
            raise ValueError("shop ids are non-empty strings")
        return value


def mint_token(
    *,
    sub: str,
    role: Role | str,
    shops: Sequence[str],
    secret: str = LOCAL_DEV_SECRET,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
    algorithm: str = "HS256",
    private_key: Any = None,
    kid: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
    buyer_user_id: str | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    if buyer_user_id is not None:
        extra_claims = {**(extra_claims or {}), "buyer_user_id": buyer_user_id}
    claims: dict[str, Any] = {
        "sub": sub,
        "role": Role(role).value,
        "shops": list(shops),
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        **(extra_claims or {}),
    }
    key = secret if algorithm.startswith("HS") else private_key
    if key is None:
        raise ValueError(f"{algorithm} needs a private key")
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


class TokenVerifier:
    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        jwks_file: str | Path | None = None,
        jwks_url: str | None = None,
        algorithms: Collection[str] = DEFAULT_ALGORITHMS,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: timedelta = timedelta(seconds=30),
        jwks_refetch_cooldown: float = 30.0,
        max_lifetime: timedelta | None = None,
    ) -> None:
        unsupported = set(algorithms) - SUPPORTED_ALGORITHMS
        if unsupported:
            raise ValueError(f"unsupported JWT algorithms: {sorted(unsupported)}")
        if jwks_file is not None:
            jwks = json.loads(Path(jwks_file).read_text())
        self._secret = secret
        self._jwk_set = jwt.PyJWKSet.from_dict(dict(jwks)) if jwks is not None else None
        self._jwks_client = (
            # An unknown `kid` refetches the set (key rotation), at most once per cooldown.
            jwt.PyJWKClient(
                jwks_url,
                cache_jwk_set=True,
                lifespan=300,
                timeout=5,
                cooldown_duration=jwks_refetch_cooldown,
            )
            if jwks_url
            else None
        )
        self._algorithms = frozenset(algorithms)
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        if secret is None and self._jwk_set is None and self._jwks_client is None:
            raise ValueError("a token verifier needs a secret or a JWKS")

    @property
    def blocking(self) -> bool:
        return self._jwks_client is not None

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise InvalidToken("token algorithm is not accepted")
        key = self._key_for(algorithm, header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise ExpiredToken("token has expired") from None
        except jwt.PyJWTError:
            # The library's message names claims and keys: not for the caller (issue 17 #11).
            raise InvalidToken("token rejected") from None
        if self._max_lifetime is not None:
            issued, expires = claims.get("iat"), claims.get("exp")
            if not isinstance(issued, int | float) or not isinstance(expires, int | float):
                raise InvalidToken("token rejected")
            if expires - issued > self._max_lifetime.total_seconds():
                raise InvalidToken("token lifetime is longer than accepted")
        return _principal(claims)

    def _key_for(self, algorithm: str, kid: Any) -> Any:
        if algorithm.startswith("HS"):
            if self._secret is None:
                raise InvalidToken("HMAC tokens are not accepted here")
            return self._secret
        jwk = self._jwk_for(kid)
        if jwk.algorithm_name != algorithm:
            raise InvalidToken("token algorithm does not match its key")
        return jwk.key

    def _jwk_for(self, kid: Any) -> jwt.PyJWK:
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("bad key id")
        if self._jwks_client is not None:
            try:
                if kid is None:
                    keys = self._jwks_client.get_signing_keys()
                    return _only(keys)
                return self._jwks_client.get_signing_key(kid)
            except jwt.PyJWKClientError:
                raise InvalidToken("no signing key for this token") from None
        if self._jwk_set is None:
            raise InvalidToken("public-key tokens are not accepted here")
        if kid is None:
            return _only(self._jwk_set.keys)
        for jwk in self._jwk_set.keys:
            if jwk.key_id == kid:
                return jwk
        raise InvalidToken("no signing key for this token")


def _only(keys: Sequence[jwt.PyJWK]) -> jwt.PyJWK:
    if len(keys) != 1:
        raise InvalidToken("token has no kid and the key set has several keys")
    return keys[0]


def _principal(claims: Mapping[str, Any]) -> Principal:
    shops = claims.get("shops")
    if not isinstance(shops, list) or not all(isinstance(shop, str) for shop in shops):
        raise InvalidToken("claim 'shops' must be a list of shop ids")
    try:
        return Principal(
            sub=claims["sub"],
            role=claims.get("role"),
            shops=tuple(shops),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            buyer_user_id=claims.get("buyer_user_id"),
        )
    except (ValidationError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidToken(f"bad claims: {_first_error(exc)}") from None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        location = ".".join(str(p) for p in error.get("loc", ()))
        return f"{location}: {error.get('msg')}"
    return str(exc)
