"""RS256 tokens verified against a JWKS served over HTTP, as in production, including a key
added after the verifier first fetched the set (rotation)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from orderlens.roles import Role
from orderlens.tokens import InvalidToken, TokenVerifier, mint_token


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid}


class JwksServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_tokens_verify_against_a_jwks_url_and_its_rotation(jwks: JwksServer) -> None:
    first = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [public_jwk(first, "k1")]
    verifier = TokenVerifier(jwks_url=jwks.url, algorithms=["RS256"], jwks_refetch_cooldown=0)
    assert verifier.blocking
    token = mint_token(
        sub="ops",
        role=Role.OPERATIONS,
        shops=["s1"],
        algorithm="RS256",
        private_key=first,
        kid="k1",
    )
    assert verifier.verify(token).role is Role.OPERATIONS

    second = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys.append(public_jwk(second, "k2"))
    rotated = mint_token(
        sub="ops", role=Role.ADMIN, shops=["s1"], algorithm="RS256", private_key=second, kid="k2"
    )
    assert verifier.verify(rotated).role is Role.ADMIN
    assert jwks.fetches == 2

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = mint_token(
        sub="x", role=Role.ADMIN, shops=["s1"], algorithm="RS256", private_key=stranger, kid="k1"
    )
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
    # HS256 is not accepted by a verifier configured for RS256 only.
    with pytest.raises(InvalidToken):
        verifier.verify(mint_token(sub="x", role="admin", shops=["s1"]))
