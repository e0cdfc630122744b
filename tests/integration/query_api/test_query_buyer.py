"""The buyer's order center (docs/contract.md §5.1 buyer row) on a real MongoDB-wire server:
scope by buyer user id, seller-only fields absent, seller endpoints closed to buyers, and the
seller-sent and mailed one-time links."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import NOW, make_orders

from orderlens.domain.buyer import SELLER_ONLY_FIELDS, TAB_STATUSES, BuyerTab
from orderlens.domain.order import Buyer, Order
from orderlens.domain.status import ReturnStatus
from orderlens.roles import Role
from orderlens.signed_links import BuyerLink, LinkKind, sign_link
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_query.settings import QueryApiSettings

ANA, BEN = "7001", "7002"
ANA_EMAIL = "Ana.Buyer@example.com"


def _buyers(orders: list[Order]) -> list[Order]:
    """Ana owns every third order, Ben every third after; each carries a seller note."""
    out = []
    for i, order in enumerate(orders):
        owner = {0: (ANA, ANA_EMAIL), 1: (BEN, "ben@example.com")}.get(i % 3, (f"u{i}", None))
        out.append(
            order.model_copy(
                update={
                    "buyer": Buyer(user_id=owner[0], email=owner[1], message="leave at door"),
                    "seller_note": "VIP: check stock",
                }
            )
        )
    return out


@pytest_asyncio.fixture(scope="module")
async def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest_asyncio.fixture(scope="module")
async def api(
    mongo_client: AsyncMongoClient[dict[str, Any]], mongodb_uri: str, outbox: Path
) -> AsyncIterator[Api]:
    orders, shops = make_orders(90, seed=15, shops=2, end=NOW)
    previous = os.environ.get("MAIL_OUTBOX_DIR")
    os.environ["MAIL_OUTBOX_DIR"] = str(outbox)
    try:
        async for running in start_api(mongo_client, mongodb_uri, _buyers(orders), shops):
            yield running
    finally:
        if previous is None:
            os.environ.pop("MAIL_OUTBOX_DIR", None)
        else:
            os.environ["MAIL_OUTBOX_DIR"] = previous


def buyer_auth(api: Api, user_id: str, shops: list[str] | None = None) -> dict[str, str]:
    token = mint_token(
        sub=f"buyer:{user_id}",
        role=Role.BUYER,
        shops=shops or api.shops,
        buyer_user_id=user_id,
        secret=LOCAL_DEV_SECRET,
    )
    return {"Authorization": f"Bearer {token}"}


async def my_ids(api: Api, headers: dict[str, str], tab: str | None = None) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = {
            "limit": "7",
            **({"tab": tab} if tab else {}),
            **({"cursor": cursor} if cursor else {}),
        }
        response = await api.client.get("/v1/me/orders", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def _owned(api: Api, user_id: str) -> list[Order]:
    mine = [o for o in api.orders if o.buyer.user_id == user_id]
    return sorted(mine, key=lambda o: (o.created_at, o.id), reverse=True)


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_a_buyer_lists_only_their_orders_by_tab_with_counts(api: Api) -> None:
    ana = buyer_auth(api, ANA)
    mine = _owned(api, ANA)
    assert len(mine) == 30
    assert await my_ids(api, ana) == [o.id for o in mine]

    body = (await api.client.get("/v1/me/orders", headers=ana)).json()
    counts = {t["tab"]: t["count"] for t in body["tabs"]}
    labels = {t["tab"]: t["label"] for t in body["tabs"]}
    for tab in BuyerTab:
        if tab == BuyerTab.RETURNS:
            expected = [o for o in mine if o.return_status != ReturnStatus.NONE]
        else:
            expected = [o for o in mine if o.status in TAB_STATUSES[tab]]
        assert counts[tab] == len(expected), tab
        assert await my_ids(api, ana, tab) == [o.id for o in expected], tab
    assert labels["in_transit"] == "In transit"
    assert labels["returns"] == "Returns/Refund"
    assert sum(c for t, c in counts.items() if t != "returns") == 30


async def test_another_buyers_order_is_not_found_and_own_detail_has_no_seller_fields(
    api: Api,
) -> None:
    ana = buyer_auth(api, ANA)
    ben_order = _owned(api, BEN)[0]
    response = await api.client.get(f"/v1/me/orders/{ben_order.id}", headers=ana)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    # Ana's token limited to one shop: her orders of the other shop are not found either.
    own = _owned(api, ANA)
    other_shop = next(o for o in own if o.shop_id != own[0].shop_id)
    one_shop = buyer_auth(api, ANA, [own[0].shop_id])
    assert (
        await api.client.get(f"/v1/me/orders/{other_shop.id}", headers=one_shop)
    ).status_code == 404
    assert other_shop.id not in await my_ids(api, one_shop)

    shipped = next(o for o in own if o.packages and o.packages[0].checkpoints)
    response = await api.client.get(f"/v1/me/orders/{shipped.id}", headers=ana)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["buyer"] == {"user_id": ANA, "email": ANA_EMAIL, "message": "leave at door"}
    assert detail["recipient_address"]["name"] == shipped.recipient.name  # full, not masked
    assert len(detail["packages"][0]["checkpoints"]) == len(shipped.packages[0].checkpoints)
    assert "estimated_delivery_at" in detail["packages"][0]
    assert detail["return_status"] == shipped.return_status.value
    listed = (await api.client.get("/v1/me/orders", headers=ana)).json()
    for answer in (detail, listed):
        assert not _keys(answer) & SELLER_ONLY_FIELDS, _keys(answer) & SELLER_ONLY_FIELDS
    assert "VIP" not in response.text
    # The seller sees the same order with its note and history: the fields exist to be hidden.
    seller = (await api.get(f"/v1/orders/{shipped.id}")).json()
    assert seller["seller_note"] == "VIP: check stock"
    assert "history" in seller


async def test_buyer_tokens_cannot_reach_seller_endpoints_nor_sellers_the_buyer_ones(
    api: Api,
) -> None:
    ana = buyer_auth(api, ANA)
    order = _owned(api, ANA)[0]
    for path in ("/v1/orders", f"/v1/orders/{order.id}", "/v1/orders/counts", "/v1/exports"):
        response = await api.client.get(path, headers=ana)
        assert response.status_code == 403, (path, response.text)
    cancel = await api.client.post(
        f"/v1/orders/{order.id}/actions/cancel", json={"reason": "x"}, headers=ana
    )
    assert cancel.status_code == 403
    link = await api.client.post("/v1/buyer-links", json={"buyer_user_id": ANA}, headers=ana)
    assert link.status_code == 403
    for role in (Role.ADMIN, Role.ANALYST):
        response = await api.get("/v1/me/orders", role=role)
        assert response.status_code == 403, role
    # A seller role cannot smuggle a buyer scope in, nor a buyer token go without one.
    forged = mint_token(sub="x", role=Role.ADMIN, shops=api.shops, buyer_user_id=ANA)
    no_scope = mint_token(sub="x", role=Role.BUYER, shops=api.shops)
    for token in (forged, no_scope):
        response = await api.client.get(
            "/v1/me/orders", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401


async def test_bad_buyer_parameters_answer_400_naming_them(api: Api) -> None:
    ana = buyer_auth(api, ANA)
    for params, name in (
        ({"tab": "shipped"}, "tab"),
        ({"limit": "500"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"status": "UNPAID"}, "status"),
    ):
        response = await api.client.get("/v1/me/orders", params=params, headers=ana)
        assert response.status_code == 400, (params, response.text)
        assert name in response.text


async def _session(api: Api, token: str) -> Any:
    return await api.client.post("/v1/buyer-sessions", json={"token": token})


async def test_a_seller_link_opens_only_that_buyers_orders(api: Api) -> None:
    response = await api.client.post(
        "/v1/buyer-links",
        json={"buyer_user_id": ANA, "ttl_hours": 2},
        headers=api.auth(Role.CUSTOMER_SERVICE),
    )
    assert response.status_code == 201, response.text
    link = response.json()
    token = parse_qs(urlparse(link["url"]).query)["token"][0]
    assert token == link["token"]
    assert (await api.get("/v1/buyer-links", role=Role.ANALYST)).status_code in (403, 405)
    analyst = await api.client.post(
        "/v1/buyer-links", json={"buyer_user_id": ANA}, headers=api.auth(Role.ANALYST)
    )
    assert analyst.status_code == 403
    unknown = await api.client.post(
        "/v1/buyer-links", json={"buyer_user_id": "nobody"}, headers=api.auth(Role.ADMIN)
    )
    assert unknown.status_code == 404
    extra = await api.client.post(
        "/v1/buyer-links", json={"buyer_user_id": ANA, "role": "admin"}, headers=api.auth()
    )
    assert extra.status_code == 400
    assert "role" in extra.text

    # A seller link opens as often as the buyer likes until it expires.
    for _ in range(2):
        session = await _session(api, token)
        assert session.status_code == 200, session.text
    body = session.json()
    assert body["buyer_user_id"] == ANA
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert await my_ids(api, headers) == [o.id for o in _owned(api, ANA)]
    ben_order = _owned(api, BEN)[0]
    assert (
        await api.client.get(f"/v1/me/orders/{ben_order.id}", headers=headers)
    ).status_code == 404
    assert datetime.fromisoformat(body["expires_at"]) <= datetime.now(UTC) + timedelta(hours=2)


async def test_tampered_or_expired_links_are_refused(api: Api) -> None:
    secret = QueryApiSettings().buyer_link_secret
    good = sign_link(
        BuyerLink(
            kind=LinkKind.SELLER,
            buyer_user_id=ANA,
            shops=tuple(api.shops),
            expires_at=int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
        ),
        secret,
    )
    assert (await _session(api, good)).status_code == 200
    payload, signature = good.split(".")
    as_ben = sign_link(
        BuyerLink(
            kind=LinkKind.SELLER, buyer_user_id=BEN, shops=tuple(api.shops), expires_at=2**40
        ),
        "not-the-secret",
    )
    expired = sign_link(
        BuyerLink(
            kind=LinkKind.SELLER,
            buyer_user_id=ANA,
            shops=tuple(api.shops),
            expires_at=int((datetime.now(UTC) - timedelta(seconds=1)).timestamp()),
        ),
        secret,
    )
    swapped = f"{as_ben.split('.')[0]}.{signature}"
    flipped = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    for token, reason in (
        (expired, "expired"),
        (swapped, "signature"),
        (flipped, "signature"),
        (as_ben, "signature"),
        ("no-dot-at-all", "malformed"),
    ):
        response = await _session(api, token)
        assert response.status_code == 401, (token, response.text)
        assert reason in response.json()["detail"]


def _mails(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml"))


async def test_one_time_sign_in_link_from_the_outbox(api: Api, outbox: Path) -> None:
    before = _mails(outbox)
    stranger = await api.client.post("/v1/buyer-sign-in", json={"email": "who@example.com"})
    known = await api.client.post("/v1/buyer-sign-in", json={"email": ANA_EMAIL.lower()})
    # The same answer whether or not orders carry the address.
    assert stranger.status_code == known.status_code == 202
    assert stranger.json() == known.json()
    new = [m for m in _mails(outbox) if m not in before]
    assert len(new) == 1  # Ana's only: the stranger got none
    mail = message_from_bytes(new[0].read_bytes())
    assert mail["To"] == ANA_EMAIL.lower()
    text = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    url = next(word for word in text.split() if word.startswith("http"))
    token = parse_qs(urlparse(url).query)["token"][0]

    first = await _session(api, token)
    assert first.status_code == 200, first.text
    headers = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert await my_ids(api, headers) == [o.id for o in _owned(api, ANA)]
    again = await _session(api, token)
    assert again.status_code == 401
    assert "already been used" in again.json()["detail"]

    bad = await api.client.post("/v1/buyer-sign-in", json={"email": "not an address"})
    assert bad.status_code == 400
    assert "email" in bad.text


async def test_no_buyer_answer_carries_a_seller_only_field(api: Api) -> None:
    """Every answer a buyer gets: each tab's pages and each of their orders' detail (those with
    risk flags and packages among them), and the session a link is exchanged for."""
    ana = buyer_auth(api, ANA)
    mine = _owned(api, ANA)
    assert any(o.risk_flags for o in mine), "some of Ana's orders carry risk flags to leave out"
    notes = {o.seller_note for o in mine if o.seller_note}
    risk_reasons = {f.reason for o in mine for f in o.risk_flags}
    answers: list[httpx.Response] = []
    for tab in [None, *BuyerTab]:
        cursor: str | None = None
        while True:
            params = {
                "limit": "7",
                **({"tab": tab} if tab else {}),
                **({"cursor": cursor} if cursor else {}),
            }
            response = await api.client.get("/v1/me/orders", params=params, headers=ana)
            assert response.status_code == 200, response.text
            answers.append(response)
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
    for order in mine:
        response = await api.client.get(f"/v1/me/orders/{order.id}", headers=ana)
        assert response.status_code == 200, response.text
        answers.append(response)
    link = await api.client.post(
        "/v1/buyer-links", json={"buyer_user_id": ANA}, headers=api.auth(Role.CUSTOMER_SERVICE)
    )
    answers.append(await _session(api, link.json()["token"]))
    for response in answers:
        leaked = _keys(response.json()) & SELLER_ONLY_FIELDS
        assert not leaked, (str(response.url), leaked)
        assert not any(text in response.text for text in notes | risk_reasons), response.url
