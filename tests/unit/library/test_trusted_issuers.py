"""A verifier trusting a further issuer (the console) beside the identity provider: each
issuer's tokens verify with that issuer's keys, audience and lifetime only (decision 0150)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orderlens.roles import Role
from orderlens.tokens import InvalidToken, TokenVerifier, TrustedIssuer, mint_token

IDP, CONSOLE, AUDIENCE = "https://idp.example", "https://console.example", "orderlens-query-api"


def _write_jwks(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, kid: str) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    else:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path.write_text(json.dumps({"keys": [{**public, "kid": kid, "use": "sig"}]}))
    return str(path)


def _token(key: object, kid: str, algorithm: str, iss: str, ttl: timedelta, **extra: str) -> str:
    return mint_token(
        sub="u1",
        role=Role.OPERATIONS,
        shops=["s1"],
        algorithm=algorithm,
        private_key=key,
        kid=kid,
        ttl=ttl,
        extra_claims={"iss": iss, "aud": AUDIENCE, **extra},
    )


@pytest.fixture
def keys(tmp_path: Path) -> tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, TokenVerifier]:
    idp_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    console_key = ec.generate_private_key(ec.SECP256R1())
    verifier = TokenVerifier(
        jwks_file=_write_jwks(tmp_path / "idp.json", idp_key, "idp-1"),
        algorithms=["RS256", "ES256"],
        issuer=IDP,
        audience=AUDIENCE,
        trusted_issuers=[
            TrustedIssuer(
                issuer=CONSOLE,
                jwks_file=_write_jwks(tmp_path / "console.json", console_key, "c-1"),
                audience=AUDIENCE,
                max_lifetime_seconds=900,
            )
        ],
    )
    return idp_key, console_key, verifier


def test_each_issuers_tokens_verify_with_its_own_keys(
    keys: tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, TokenVerifier],
) -> None:
    idp_key, console_key, verifier = keys
    hour, minutes = timedelta(hours=1), timedelta(minutes=10)
    assert verifier.verify(_token(idp_key, "idp-1", "RS256", IDP, hour)).sub == "u1"
    assert verifier.verify(_token(console_key, "c-1", "ES256", CONSOLE, minutes)).sub == "u1"
    # The console's key does not sign for the provider, nor the provider's for the console.
    with pytest.raises(InvalidToken):
        verifier.verify(_token(console_key, "c-1", "ES256", IDP, minutes))
    with pytest.raises(InvalidToken):
        verifier.verify(_token(idp_key, "idp-1", "RS256", CONSOLE, minutes))


def test_a_console_token_needs_the_audience_and_a_short_life(
    keys: tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, TokenVerifier],
) -> None:
    _, console_key, verifier = keys
    with pytest.raises(InvalidToken, match="lifetime"):
        verifier.verify(_token(console_key, "c-1", "ES256", CONSOLE, timedelta(hours=1)))
    with pytest.raises(InvalidToken):
        verifier.verify(
            _token(console_key, "c-1", "ES256", CONSOLE, timedelta(minutes=5), aud="other")
        )


def test_an_hmac_token_naming_the_console_is_refused(
    keys: tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, TokenVerifier],
) -> None:
    _, _, verifier = keys
    forged = mint_token(
        sub="u1",
        role=Role.ADMIN,
        shops=["s1"],
        secret="a-guessed-secret-0123456789abcdef",
        extra_claims={"iss": CONSOLE, "aud": AUDIENCE},
    )
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_a_trusted_issuer_takes_public_keys_only() -> None:
    with pytest.raises(ValueError, match="public-key"):
        TrustedIssuer(issuer=CONSOLE, jwks_url="http://c/jwks", algorithms=("HS256",))
    with pytest.raises(ValueError, match="exactly one"):
        TrustedIssuer(issuer=CONSOLE)
