"""The console's own signing key for the query-api tokens of its signed-in users.

The console is an issuer of short-lived orderlens tokens (docs/contract.md §5.1 claims, plus
`iss` = the console and `aud` = query-api), signed with its private key (ES256 for an EC P-256
key, RS256 for RSA). It publishes the public half as a JWKS at `/.well-known/jwks.json`, which
query-api trusts beside the identity provider (`JWT_TRUSTED_ISSUERS`), so no secret is shared
between the two services (docs/decisions/0150).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orderlens.tokens import mint_token
from orderlens_console.sessions import Session

log = logging.getLogger(__name__)
API_TOKEN_TTL = timedelta(minutes=10)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: PublicKey) -> dict[str, Any]:
    """The key as a JWK with `kid` = its RFC 7638 thumbprint, `alg` and `use`."""
    required: tuple[str, ...]
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("an EC signing key must be on P-256 (ES256)")
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
        required, algorithm = ("crv", "kty", "x", "y"), "ES256"
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("an RSA signing key needs at least 2048 bits")
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
        required, algorithm = ("e", "kty", "n"), "RS256"
    else:
        raise ValueError("the signing key must be an EC P-256 or RSA key")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    kid = _b64(hashlib.sha256(canonical.encode()).digest())
    return {**{k: jwk[k] for k in required}, "kid": kid, "alg": algorithm, "use": "sig"}


def _load_private(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("the signing key must be an EC P-256 or RSA private key")
    return key


def _load_public(pem: str) -> PublicKey:
    try:
        return _load_private(pem).public_key()
    except ValueError:
        key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("a published key must be an EC P-256 or RSA key")
    return key


class ApiSigner:
    """Mints the query-api token of a session and publishes the keys that verify it."""

    def __init__(
        self,
        *,
        private_key_pem: str | None,
        issuer: str,
        audience: str | None,
        previous_public_key_pem: str | None = None,
    ) -> None:
        if private_key_pem:
            self._key: PrivateKey = _load_private(private_key_pem)
        else:
            # Fine for one local process; replicas must share a configured key, or query-api
            # would fetch one replica's set and refuse the others' tokens.
            log.warning("CONSOLE_API_SIGNING_KEY is unset: signing with a key of this process")
            self._key = ec.generate_private_key(ec.SECP256R1())
        self._jwk = public_jwk(self._key.public_key())
        published = [self._jwk]
        if previous_public_key_pem:
            # Still published during a rotation, until tokens signed with it have expired.
            previous = public_jwk(_load_public(previous_public_key_pem))
            if previous["kid"] != self._jwk["kid"]:
                published.append(previous)
        self._jwks = {"keys": published}
        self.issuer = issuer
        self.audience = audience

    @property
    def kid(self) -> str:
        return str(self._jwk["kid"])

    @property
    def algorithm(self) -> str:
        return str(self._jwk["alg"])

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def mint(self, session: Session) -> str:
        claims: dict[str, Any] = {"iss": self.issuer}
        if self.audience:
            claims["aud"] = self.audience
        token: str = mint_token(
            sub=session.sub,
            role=session.role,
            shops=session.shops,
            ttl=API_TOKEN_TTL,
            algorithm=self.algorithm,
            private_key=self._key,
            kid=self.kid,
            extra_claims=claims,
        )
        return token
