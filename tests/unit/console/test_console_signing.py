"""The console's query-api tokens: signed with its own key, verifiable from its JWKS alone."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orderlens.roles import Role
from orderlens.tokens import TokenVerifier
from orderlens_console.sessions import new_session
from orderlens_console.signing import ApiSigner

ISSUER = "https://console.example"


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
    ],
)
def test_tokens_verify_against_the_published_jwks(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, algorithm: str
) -> None:
    signer = ApiSigner(private_key_pem=_pem(key), issuer=ISSUER, audience="orderlens-query-api")
    session = new_session(sub="u9", name="U", role=Role.OPERATIONS, shops=("s1", "s2"))
    token = signer.mint(session)
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    verifier = TokenVerifier(
        jwks=signer.jwks(), algorithms=[algorithm], issuer=ISSUER, audience="orderlens-query-api"
    )
    principal = verifier.verify(token)
    assert (principal.sub, principal.role, principal.shops) == ("u9", Role.OPERATIONS, ("s1", "s2"))
    # The JWKS holds no private part.
    assert all("d" not in jwk for jwk in signer.jwks()["keys"])


def test_rotation_publishes_the_previous_key_and_signs_with_the_new() -> None:
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    before = ApiSigner(private_key_pem=_pem(old), issuer=ISSUER, audience=None)
    after = ApiSigner(
        private_key_pem=_pem(new), issuer=ISSUER, audience=None, previous_public_key_pem=_pem(old)
    )
    kids = [k["kid"] for k in after.jwks()["keys"]]
    assert kids == [after.kid, before.kid]
    session = new_session(sub="u", name="U", role=Role.ADMIN, shops=("s1",))
    verifier = TokenVerifier(jwks=after.jwks(), algorithms=["ES256"], issuer=ISSUER)
    assert verifier.verify(before.mint(session)).sub == "u"  # a token minted before the switch
    assert verifier.verify(after.mint(session)).sub == "u"


def test_weak_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="P-256"):
        ApiSigner(
            private_key_pem=_pem(ec.generate_private_key(ec.SECP384R1())),
            issuer=ISSUER,
            audience=None,
        )
