"""JWT bearer tokens of docs/contract.md §5.1: claims `sub`, `role`, `shops`, `exp`.

API:
- `mint_token(sub=, role=, shops=, secret=LOCAL_DEV_SECRET, ttl=, now=, algorithm="HS256",
  private_key=None, kid=None) -> str`: a signed token (HS256 with a secret for local use, or
  RS256/ES256 with a PEM private key, e.g. in tests of the JWKS path).
- `TokenVerifier(secret=, jwks=, jwks_file=, jwks_url=, algorithms=, audience=, issuer=,
  jwks_refetch_cooldown=30.0, trusted_issuers=())`:
  `.verify(token) -> Principal`, raising `ExpiredToken` or `InvalidToken` (both `TokenError`)
  with a reason fit for a 401 answer. HS* tokens are checked against the secret only, RS*/ES*
  tokens against the JWKS key named by `kid` only, so a public key can never serve as an HMAC
  secret. `.blocking` is True when verifying may fetch a JWKS URL (call it off the event loop).
- `TrustedIssuer(issuer, jwks_url | jwks_file, audience, algorithms, max_lifetime_seconds)`: a
  further issuer whose own key set verifies the tokens that name it in `iss` (public keys only),
  beside the main configuration, e.g. the console's own signing key next to the identity
  provider's (docs/decisions/0150).
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


class TrustedIssuer(BaseModel):
    """An issuer trusted beside the main one; a token names it in `iss` and is verified with this
    issuer's key set, audience and lifetime only (never with an HMAC secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1, max_length=500)
    jwks_url: str | None = Field(default=None, max_length=2_000)
    jwks_file: str | None = Field(default=None, max_length=2_000)
    audience: str | None = Field(default=None, max_length=500)
    algorithms: tuple[str, ...] = ("ES256", "RS256")
    max_lifetime_seconds: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _keys(self) -> TrustedIssuer:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("a trusted issuer needs exactly one of jwks_url and jwks_file")
        if not self.algorithms or any(a.startswith("HS") for a in self.algorithms):
            raise ValueError("a trusted issuer signs with public-key algorithms only")
        return self


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
        trusted_issuers: Sequence[TrustedIssuer] = (),
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
        self._trusted: dict[str, TokenVerifier] = {}
        for trusted in trusted_issuers:
            if trusted.issuer == issuer or trusted.issuer in self._trusted:
                raise ValueError(f"issuer {trusted.issuer!r} is configured twice")
            lifetime = trusted.max_lifetime_seconds
            self._trusted[trusted.issuer] = TokenVerifier(
                jwks_url=trusted.jwks_url,
                jwks_file=trusted.jwks_file,
                algorithms=trusted.algorithms,
                audience=trusted.audience,
                issuer=trusted.issuer,
                leeway=leeway,
                jwks_refetch_cooldown=jwks_refetch_cooldown,
                max_lifetime=timedelta(seconds=lifetime) if lifetime else max_lifetime,
            )
        keyless = secret is None and self._jwk_set is None and self._jwks_client is None
        if keyless and not self._trusted:
            raise ValueError("a token verifier needs a secret or a JWKS")

    @property
    def blocking(self) -> bool:
        return self._jwks_client is not None or any(v.blocking for v in self._trusted.values())

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        # The unverified `iss` only picks whose keys to check: a token naming a trusted issuer is
        # verified with that issuer's keys, audience and issuer check, and nothing else.
        claimed = unverified.get("iss") if isinstance(unverified, dict) else None
        trusted = self._trusted.get(claimed) if isinstance(claimed, str) else None
        if trusted is not None:
            return trusted.verify(token)
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
