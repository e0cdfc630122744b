"""Size limits and trusted headers of the query-api (issue 17 #7, #8), on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest_asyncio
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import NOW, make_orders

from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_query.limits import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_PUBLIC_BODY_BYTES,
    MAX_QUERY_PARAMS,
)


@pytest_asyncio.fixture(scope="module")
async def api(
    mongo_client: AsyncMongoClient[dict[str, Any]], mongodb_uri: str
) -> AsyncIterator[Api]:
    orders, shops = make_orders(5, seed=43, shops=1, end=NOW)
    async for running in start_api(mongo_client, mongodb_uri, orders, shops):
        yield running


async def test_an_oversized_authorization_header_answers_431(api: Api) -> None:
    huge = {"Authorization": "Bearer " + "a" * (MAX_HEADER_BYTES + 1)}
    response = await api.client.get("/v1/orders", headers=huge)
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_body_is_not_read_before_authentication(api: Api) -> None:
    body = b'{"format": "csv", "filters": {"q": "' + b"x" * (2 * MAX_BODY_BYTES) + b'"}}'
    anonymous = await api.client.post(
        "/v1/exports", content=body, headers={"content-type": "application/json"}
    )
    assert anonymous.status_code == 401, anonymous.text
    signed = await api.client.post(
        "/v1/exports",
        content=body,
        headers={"content-type": "application/json", **api.auth(Role.ANALYST)},
    )
    assert signed.status_code == 413, signed.text
    assert await api.db.exports.count_documents({}) == 0


async def test_every_route_with_a_body_documents_the_413_it_may_answer(api: Api) -> None:
    # The cap applies to every POST, PUT and PATCH (limits.py); schemathesis found a route
    # whose document lacked it.
    document = (await api.client.get("/openapi.json")).json()
    with_body = [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch")
    ]
    assert len(with_body) >= 10
    undocumented = [
        (method, path)
        for method, path in with_body
        if "413" not in document["paths"][path][method.lower()]["responses"]
    ]
    assert undocumented == []


async def test_the_buyers_public_endpoints_need_no_token_but_take_only_small_bodies(
    api: Api,
) -> None:
    json_headers = {"content-type": "application/json"}
    small = await api.client.post(
        "/v1/buyer-sign-in", json={"email": "nobody@example.com"}, headers=json_headers
    )
    assert small.status_code == 202, small.text
    big = b'{"email": "' + b"x" * (MAX_PUBLIC_BODY_BYTES + 1) + b'@example.com"}'
    refused = await api.client.post("/v1/buyer-sign-in", content=big, headers=json_headers)
    assert refused.status_code == 413, refused.text


async def test_thousands_of_parameters_answer_a_small_400(api: Api) -> None:
    params = [(f"p{i}", "1") for i in range(6_000)]
    response = await api.get("/v1/orders", params)
    assert response.status_code == 400
    assert len(response.content) < 2_000
    many = [(f"p{i}", "1") for i in range(MAX_QUERY_PARAMS)]
    capped = await api.get("/v1/orders", many)
    assert capped.status_code == 400
    assert len(capped.content) < 20_000


async def test_a_trailing_slash_is_not_redirected_to_the_host_header(api: Api) -> None:
    response = await api.client.get(
        "/v1/orders/", headers={**api.auth(), "Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_answers_are_not_cached_or_sniffed_and_401s_do_not_echo_the_library(
    api: Api,
) -> None:
    """issue 17 #11."""
    order = api.orders[0]
    response = await api.get(f"/v1/orders/{order.id}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"

    forged = mint_token(sub="x", role=Role.ADMIN, shops=api.shops, secret="not-the-secret" * 3)
    for token in ("not.a.jwt", forged):
        rejected = await api.client.get("/v1/orders", headers={"Authorization": f"Bearer {token}"})
        assert rejected.status_code == 401
        # PyJWT's own wording ("Signature verification failed", "Not enough segments") stays in.
        assert "signature" not in rejected.text.lower()
        assert "segments" not in rejected.text.lower()

    forever = mint_token(
        sub="x",
        role=Role.ADMIN,
        shops=api.shops,
        secret=LOCAL_DEV_SECRET,
        ttl=timedelta(days=365),
    )
    long_lived = await api.client.get("/v1/orders", headers={"Authorization": f"Bearer {forever}"})
    assert long_lived.status_code == 401
