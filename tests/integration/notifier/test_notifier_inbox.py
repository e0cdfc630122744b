"""The seller inbox and the buyer's mails, end to end: events on the real Kafka broker, the
notifier writing to the real MongoDB-wire server and the file outbox, and what a user reads
through query-api (`GET /v1/inbox`, `GET /v1/me/orders/{id}`)."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from ntf_support import (
    BUYER_PAGES,
    OTHER_SHOP,
    SHOP,
    Stack,
    new_order_id,
    order_event,
    status_event,
    token,
)

from orderlens.domain.export import EXPORTS_COLLECTION, ExportRecord
from orderlens.events import ExportCompleted, StatusSource, make_event
from orderlens.roles import Role
from orderlens.waiting import wait_for


def _buyer() -> tuple[str, str]:
    user = f"buyer-{uuid.uuid4().hex[:8]}"
    return user, f"{user}@example.com"


async def test_redelivered_events_make_no_duplicate_items_or_mails(stack: Stack) -> None:
    buyer, address = _buyer()
    order_id = new_order_id()
    created = order_event(order_id, buyer=buyer, email_to=address)
    returned = status_event(order_id, return_status="REQUESTED")
    shipped = status_event(
        order_id, status="AWAITING_COLLECTION", tracking="INFO_RECEIVED", source=StatusSource.SELLER
    )
    issue = status_event(order_id, tracking="EXCEPTION", message="Address unknown")
    # Every event twice on the topic, as a producer retry or a replaying upstream sends them.
    await stack.publish(created, returned, shipped, issue, created, returned, shipped, issue)
    await stack.marker_after(order_id)
    admin = token("admin-1")

    async def counts() -> Counter[str]:
        return Counter(i["kind"] for i in await stack.items(admin, order_id=order_id))

    expected = Counter({"new_order": 1, "return_requested": 1, "delivery_issue": 1})
    assert await counts() == expected
    subjects = sorted(str(m["Subject"]) for m in stack.mails(address))
    assert subjects == [
        f"A problem with the delivery of your order {order_id}",
        f"Your order {order_id} has shipped",
    ]

    # A real redelivery: a notifier whose consumer group starts over reads the whole topics again.
    await stack.restart_notifier(
        notifier_group_id=f"{stack.settings.notifier_group_id}-again",
        notifier_exports_group_id=f"{stack.settings.notifier_exports_group_id}-again",
    )
    await stack.marker_after(order_id)
    assert await counts() == expected
    assert len(stack.mails(address)) == 2


async def test_roles_and_shops_scope_the_inbox(stack: Stack) -> None:
    mine, theirs = new_order_id(), new_order_id()
    export_id = f"exp-{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    record = ExportRecord(
        id=export_id,
        shop_ids=[SHOP],
        requested_by="analyst-1",
        role="analyst",
        format="csv",
        status="succeeded",
        created_at=now,
        updated_at=now,
    )
    # The record query-api writes before it publishes the request (the notifier reads it).
    await stack.db[EXPORTS_COLLECTION].insert_one(record.to_document())
    completed = make_event(
        ExportCompleted(export_id=export_id, status="succeeded", rows=12, file_name="orders.csv"),
        source="tests/notifier",
        subject=export_id,
    )
    await stack.publish(order_event(mine), order_event(theirs, shop=OTHER_SHOP), completed)
    analyst = token("analyst-1", Role.ANALYST)

    async def export_item() -> bool:
        return bool(await stack.items(analyst, kind="export_finished"))

    await wait_for(export_item, 30, "the analyst's export-finished item")
    await stack.wait_item(analyst, "new_order", mine)

    def kinds(items: list[dict[str, object]]) -> set[object]:
        return {i["kind"] for i in items}

    # Customer service may not export (docs/contract.md §5.1): no export items, even their own sub.
    support = await stack.items(token("analyst-1", Role.CUSTOMER_SERVICE))
    assert "export_finished" not in kinds(support)
    assert mine in {i["order_id"] for i in support}
    # An export is its requester's: another analyst of the shop does not see it.
    other_analyst = await stack.items(token("analyst-2", Role.ANALYST))
    assert "export_finished" not in kinds(other_analyst)
    [item] = [i for i in await stack.items(analyst) if i["kind"] == "export_finished"]
    assert item["export_id"] == export_id
    assert "12 rows" in item["detail"]
    # Another shop's items never, whatever the role.
    await stack.wait_item(token("admin-2", shops=(OTHER_SHOP,)), "new_order", theirs)
    for role in (Role.ADMIN, Role.OPERATIONS, Role.CUSTOMER_SERVICE, Role.ANALYST):
        seen = {i["order_id"] for i in await stack.items(token(f"{role}-x", role))}
        assert theirs not in seen
        assert mine in seen
    other_admin = await stack.items(token("admin-2", shops=(OTHER_SHOP,)))
    assert {i["order_id"] for i in other_admin} == {theirs}


async def test_buyer_gets_a_mail_when_the_order_ships_with_a_link_to_it(stack: Stack) -> None:
    buyer, address = _buyer()
    order_id = new_order_id()
    await stack.publish(
        order_event(order_id, buyer=buyer, email_to=address),
        status_event(
            order_id,
            status="AWAITING_COLLECTION",
            tracking="INFO_RECEIVED",
            source=StatusSource.SELLER,
        ),
    )
    mail = await stack.wait_mail(address, "has shipped")
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    [link] = re.findall(r"https?://\S+", text)
    assert link == f"{BUYER_PAGES}/orders/{order_id}"
    # The link names an order the buyer can open with their own token.
    buyer_token = token(f"buyer:{buyer}", Role.BUYER, buyer=buyer)
    opened_id = link.rsplit("/", 1)[1]

    async def readable() -> bool:
        response = await stack.api.get(
            f"/v1/me/orders/{opened_id}", headers={"Authorization": f"Bearer {buyer_token}"}
        )
        return response.status_code == 200 and response.json()["id"] == order_id

    await wait_for(readable, 30, "the buyer's order behind the mail's link")


async def test_preferences_switch_a_kind_off(stack: Stack) -> None:
    muted_user = token("ops-1", Role.OPERATIONS)
    other_user = token("ops-2", Role.OPERATIONS)
    response = await stack.api.put(
        "/v1/me/notification-preferences",
        json={"inbox": {"new_order": False}},
        headers={"Authorization": f"Bearer {muted_user}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["inbox"]["new_order"] is False
    quiet_buyer, quiet_address = _buyer()
    loud_buyer, loud_address = _buyer()
    quiet_token = token(f"buyer:{quiet_buyer}", Role.BUYER, buyer=quiet_buyer)
    response = await stack.api.put(
        "/v1/me/notification-preferences",
        json={"email": {"delivered": False}},
        headers={"Authorization": f"Bearer {quiet_token}"},
    )
    assert response.status_code == 200, response.text

    quiet_order, loud_order = new_order_id(), new_order_id()
    await stack.publish(
        order_event(quiet_order, buyer=quiet_buyer, email_to=quiet_address),
        order_event(loud_order, buyer=loud_buyer, email_to=loud_address),
        status_event(quiet_order, tracking="DELIVERED"),
        status_event(loud_order, tracking="DELIVERED"),
        # After the delivery on the same order (one partition, in order): its mail is wanted.
        status_event(quiet_order, tracking="EXCEPTION", message="Marker"),
    )
    await stack.marker_after(quiet_order)
    await stack.wait_mail(quiet_address, "A problem with the delivery")
    await stack.wait_mail(loud_address, "was delivered")
    # ops-1 switched new orders off: the item exists (ops-2 sees it), but not for ops-1.
    await stack.wait_item(other_user, "new_order", quiet_order)
    assert await stack.items(muted_user, kind="new_order", order_id=quiet_order) == []
    assert not any("was delivered" in str(m["Subject"]) for m in stack.mails(quiet_address))


async def test_a_parcel_without_news_for_days_is_reported_stalled(stack: Stack) -> None:
    order_id = new_order_id()
    quiet_since = datetime.now(UTC) - timedelta(hours=100)
    await stack.publish(
        order_event(order_id, status="AWAITING_COLLECTION"),
        status_event(order_id, tracking="IN_TRANSIT", at=quiet_since),
    )

    async def in_transit() -> bool:
        doc = await stack.db.orders.find_one({"_id": order_id}, {"status": 1})
        return doc is not None and doc["status"] == "IN_TRANSIT"

    await wait_for(in_transit, 30, "order-ingest's in-transit order")
    # The sweep uses GET /v1/orders' own `stalled_hours` filter: 72 h without a checkpoint.
    await stack.restart_notifier(stalled_sweep_seconds=0.2, stalled_hours=72)
    seller = token("cs-1", Role.CUSTOMER_SERVICE)
    await stack.wait_item(seller, "parcel_stalled", order_id)
    [item] = await stack.items(seller, kind="parcel_stalled", order_id=order_id)
    assert item["title"] == "Parcel stalled"
    listed = await stack.api.get(
        "/v1/orders",
        params={"stalled_hours": "72"},
        headers={"Authorization": f"Bearer {seller}"},
    )
    assert order_id in {o["id"] for o in listed.json()["items"]}
