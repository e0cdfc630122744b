"""TikTok Shop → orderlens → TikTok Shop, end to end over real HTTP and Kafka (issue 13):

- the shop is connected the way `make run` connects the demo shop (`orderlens tiktok-connect`:
  authorize link → consent page → callback → tokens → Get Authorized Shops → backfill);
- its past orders (the backfill) and its new ones (signed webhooks, some twice, some late)
  appear in `GET /v1/orders` and `GET /v1/orders/{id}` with every field equal to what Get Order
  Detail answers, normalised (docs/contract.md §3.3);
- a status change in TikTok Shop reaches the order;
- a seller's ship in query-api reaches TikTok Shop once, and TikTok's webhook for it brings the
  order, as TikTok has it, to the shipped view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from tiktok_stack import TikTokStack, expected_views, tiktok_stack, without_ingest_fields

from orderlens.roles import Role
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.tiktok_simulator.demo import connect_shops

PAST = 40


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


async def listed(stack: TikTokStack) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = await stack.api.get("/v1/orders", params=params, headers=stack.auth(Role.ADMIN))
        assert page.status_code == 200, page.text
        body = page.json()
        rows.update({r["id"]: r for r in body["items"]})
        cursor = body.get("next_cursor")
        if not cursor:
            return rows


async def order_view(stack: TikTokStack, order_id: str) -> dict[str, Any]:
    answer = await stack.api.get(f"/v1/orders/{order_id}", headers=stack.auth(Role.ADMIN))
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


def _at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _updated_at_at_least(answer: dict[str, Any], seconds: int) -> dict[str, Any]:
    """The seller's own event is part of the order's history too: `updated_at` is the later of
    it and TikTok's `update_time`, which TikTok gives in whole seconds, so the seller's event of
    the same second is later. Everything else is TikTok's."""
    answer = dict(answer)
    stamps = answer.get("timestamps")
    if stamps is not None:
        assert _at(stamps["updated_at"]) >= seconds
        answer["timestamps"] = {**stamps, "updated_at": iso(seconds)}
    if "updated_at" in answer:
        assert _at(answer["updated_at"]) >= seconds
        answer["updated_at"] = iso(seconds)
    return answer


async def assert_as_tiktok_has_them(
    stack: TikTokStack, ids: list[str], *, seller_acted: bool = False
) -> None:
    tiktok = {o["id"]: o for o in await stack.detail(ids)}
    assert set(tiktok) == set(ids)
    rows = await listed(stack)
    for order_id in ids:
        raw = tiktok[order_id]
        want_row, want_detail = expected_views(stack.shop_id, raw)
        row, view = rows[order_id], await order_view(stack, order_id)
        if seller_acted:
            row = _updated_at_at_least(row, raw["update_time"])
            view = _updated_at_at_least(view, raw["update_time"])
        assert without_ingest_fields(row) == want_row, order_id
        assert without_ingest_fields(view) == want_detail, order_id
        # A few fields read straight off TikTok's answer, not through the library's normalise:
        assert view["id"] == raw["id"]
        assert isinstance(view["id"], str)
        assert view["status"] == raw["status"]
        assert view["payment"]["total"] == raw["payment"]["total_amount"]
        assert view["payment"]["currency"] == raw["payment"]["currency"]
        assert view["units"] == len(raw["line_items"])  # one line item per unit
        assert view["timestamps"]["created_at"] == iso(raw["create_time"])
        assert view["timestamps"]["updated_at"] == iso(raw["update_time"])
        assert view["recipient_address"]["postal_code"] == raw["recipient_address"]["postal_code"]


async def stored_update_time(db: AsyncDatabase[dict[str, Any]], order_id: str) -> int | None:
    doc = await db["orders"].find_one({"_id": order_id}, {"source_update_time": 1})
    return None if doc is None else int(doc["source_update_time"])


async def test_tiktok_orders_in_as_tiktok_has_them_changes_follow_and_a_ship_goes_out_once(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    mongo_db: AsyncDatabase[dict[str, Any]],
    topic_names: TopicNames,
    unique_id: str,
) -> None:
    async with tiktok_stack(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        mongo_db_name=mongo_db_name,
        topics=topic_names,
        unique_id=unique_id,
        duplicate_rate=0.3,
        late_rate=0.3,
    ) as stack:
        state = stack.sim.state
        past = [o["id"] for o in state.populate(stack.shop_id, PAST, 20)]

        # The run-stack's step: the seller's side of the OAuth flow, then the first backfill.
        [shop] = await connect_shops(stack.connector_url, within=120)
        assert shop["shop_id"] == stack.shop_id
        assert shop["name"] == "Demo TikTok shop"
        assert shop["state"] == "connected"
        assert shop["sync"]["orders_fetched"] == PAST

        # New orders arrive by webhook only.
        created = await stack.http.post(
            f"{stack.sim_url}/_sim/orders", json={"shop_id": stack.shop_id, "count": 5}
        )
        fresh = created.json()["ids"]
        await stack.http.post(f"{stack.sim_url}/_sim/flush")  # the late ones go out too
        ids = past + fresh

        async def all_listed() -> bool:
            return set(await listed(stack)) == set(ids)

        await wait_for(all_listed, 90, "the backfilled and the webhooked orders listed")
        await assert_as_tiktok_has_them(stack, ids)

        # A status change in TikTok Shop (its webhook) reaches the order.
        moving = next(i for i in past if state.orders[i]["status"] == "AWAITING_COLLECTION")
        await stack.http.post(
            f"{stack.sim_url}/_sim/orders/{moving}/status", json={"status": "IN_TRANSIT"}
        )
        await stack.http.post(f"{stack.sim_url}/_sim/flush")

        async def in_transit() -> bool:
            return (await order_view(stack, moving))["status"] == "IN_TRANSIT"

        await wait_for(in_transit, 60, "TikTok's status change reached the order")
        await assert_as_tiktok_has_them(stack, [moving])

        # The seller ships in orderlens: TikTok Shop gets it once, and its webhook brings the
        # order as TikTok has it afterwards.
        shipping = fresh[0]
        package = state.orders[shipping]["packages"][0]["id"]
        before = state.orders[shipping]["update_time"]
        answer = await stack.api.post(
            f"/v1/orders/{shipping}/actions/ship",
            json={"carrier": "royal-mail", "tracking_number": "RM123456789GB"},
            headers={**stack.auth(Role.OPERATIONS), "Idempotency-Key": f"ship-{unique_id}"},
        )
        assert answer.status_code == 202, answer.text

        async def shipped_in_tiktok() -> bool:
            return state.orders[shipping]["status"] == "AWAITING_COLLECTION"

        await wait_for(shipped_in_tiktok, 60, "the seller's ship reached the simulator")
        await stack.http.post(f"{stack.sim_url}/_sim/flush")
        after = state.orders[shipping]["update_time"]
        assert after > before

        async def tiktoks_snapshot_stored() -> bool:
            return await stored_update_time(mongo_db, shipping) == after

        await wait_for(tiktoks_snapshot_stored, 60, "TikTok's webhook for the ship came back")
        view = await order_view(stack, shipping)
        assert view["view"] == "shipped"
        assert [p["tracking_number"] for p in view["packages"]] == ["RM123456789GB"]
        await assert_as_tiktok_has_them(stack, [shipping], seller_acted=True)
        requests = [r for r in state.ship_requests if r["package_id"] == package]
        assert len(requests) == 1
        assert requests[0]["self_shipment"] == {
            "tracking_number": "RM123456789GB",
            "shipping_provider_id": "royal-mail",
        }
        assert stack.sim.stats.over_limit == 0
        assert stack.sim.stats.bad_signature == 0
