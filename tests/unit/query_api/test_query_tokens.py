"""Minting and verifying bearer tokens: HS256 locally, RS256/ES256 from a JWKS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orderlens.roles import Role
from orderlens.tokens import ExpiredToken, InvalidToken, TokenVerifier, mint_token
from orderlens_devtools.cli import main as cli_main

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_minted_token_verifies() -> None:
    token = mint_token(sub="u1", role=Role.ANALYST, shops=["s1", "s2"], secret=SECRET)
    principal = TokenVerifier(secret=SECRET).verify(token)
    assert principal.sub == "u1"
    assert principal.role is Role.ANALYST
    assert principal.shops == ("s1", "s2")


def test_expired_forged_and_malformed_tokens_are_refused() -> None:
    verifier = TokenVerifier(secret=SECRET)
    old = mint_token(
        sub="u", role="admin", shops=["s"], secret=SECRET, now=datetime(2020, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(ExpiredToken):
        verifier.verify(old)
    forged = mint_token(sub="u", role="admin", shops=["s"], secret="another-secret-" * 3)
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
    with pytest.raises(InvalidToken):
        verifier.verify("not.a.token")
    unsigned = jwt.encode({"sub": "u", "role": "admin", "shops": ["s"], "exp": 2**31}, "", "none")
    with pytest.raises(InvalidToken):
        verifier.verify(unsigned)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u", "role": "root", "shops": ["s"]},
        {"sub": "u", "role": "admin", "shops": []},
        {"sub": "u", "role": "admin", "shops": "s"},
        {"sub": "u", "role": "admin"},
        {"role": "admin", "shops": ["s"]},
    ],
)
def test_tokens_without_the_required_claims_are_refused(claims: dict[str, Any]) -> None:
    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    token = jwt.encode({**claims, "exp": exp}, SECRET, "HS256")
    with pytest.raises(InvalidToken):
        TokenVerifier(secret=SECRET).verify(token)


def _jwk(private_key: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.RSAAlgorithm
        if isinstance(private_key, rsa.RSAPrivateKey)
        else (jwt.algorithms.ECAlgorithm)
    )
    public = json.loads(algorithm.to_jwk(private_key.public_key()))
    return {**public, "kid": kid, "use": "sig"}


def test_rs256_and_es256_tokens_verify_against_a_jwks_file(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [_jwk(rsa_key, "r1"), _jwk(ec_key, "e1")]}))
    verifier = TokenVerifier(jwks_file=jwks_file)
    rs = mint_token(
        sub="u", role="admin", shops=["s"], algorithm="RS256", private_key=rsa_key, kid="r1"
    )
    es = mint_token(
        sub="u", role="operations", shops=["s"], algorithm="ES256", private_key=ec_key, kid="e1"
    )
    assert verifier.verify(rs).role is Role.ADMIN
    assert verifier.verify(es).role is Role.OPERATIONS
    # HMAC tokens are not accepted without a secret, whatever key they name.
    with pytest.raises(InvalidToken):
        verifier.verify(mint_token(sub="u", role="admin", shops=["s"], secret=SECRET))
    # A key id naming the RSA key cannot carry an ES256 token.
    with pytest.raises(InvalidToken):
        verifier.verify(
            mint_token(
                sub="u", role="admin", shops=["s"], algorithm="ES256", private_key=ec_key, kid="r1"
            )
        )


def test_a_public_key_cannot_serve_as_an_hmac_secret(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [_jwk(rsa_key, "r1")]}))
    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    claims = {"sub": "u", "role": "admin", "shops": ["s"], "exp": exp}
    header = {"kid": "r1"}
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode())
        + "."
        + b64(json.dumps(claims).encode())
    )
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken):
        TokenVerifier(jwks_file=jwks_file).verify(signing_input + "." + b64(signature))


def test_the_cli_prints_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET)
    assert cli_main(["token", "--role", "customer_service", "--shop", "a", "--shop", "b"]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier(secret=SECRET).verify(token)
    assert principal.role is Role.CUSTOMER_SERVICE
    assert principal.shops == ("a", "b")
