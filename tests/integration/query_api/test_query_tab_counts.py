"""GET /v1/orders/counts with no filter (the tab badges) reads order-ingest's counts read
model, one document per shop, instead of counting the orders (docs/decisions/0082)."""

from __future__ import annotations

from collections import Counter

from qa_api import Api

from orderlens import counts_store
from orderlens.domain.status import OrderStatus, ReturnStatus, View, statuses_of_view


def expected(api: Api, shops: list[str]) -> dict[str, object]:
    mine = [o for o in api.orders if o.shop_id in shops]
    by_status = Counter(o.status.value for o in mine)
    returns = sum(1 for o in mine if o.return_status != ReturnStatus.NONE)
    by_view = {
        view.value: sum(by_status[s.value] for s in statuses_of_view(view))
        for view in View
        if view != View.RETURNS
    }
    return {
        "by_status": {s.value: by_status[s.value] for s in OrderStatus},
        "by_view": {**by_view, View.RETURNS.value: returns},
        "total": len(mine),
    }


async def test_tab_counts_equal_the_orders_before_and_after_the_read_model_is_built(
    api: Api,
) -> None:
    two = api.shops[:2]
    before = await api.client.get("/v1/orders/counts", headers=api.auth(shops=two))
    assert before.status_code == 200, before.text
    assert before.json() == expected(api, two)

    assert await counts_store.ensure_built(api.db) == len(api.shops)
    after = await api.client.get("/v1/orders/counts", headers=api.auth(shops=two))
    assert after.json() == expected(api, two)
    assert after.json()["total"] > 0


async def test_tab_counts_come_from_the_read_model_and_filtered_counts_from_the_orders(
    api: Api,
) -> None:
    await counts_store.ensure_built(api.db)
    shop = api.shops[0]
    # A figure only the read model holds shows where the answer comes from.
    await api.db[counts_store.COLLECTION].update_one(
        {"_id": shop}, {"$inc": {"by_status.CANCELLED": 1000}}
    )
    try:
        tabs = await api.client.get("/v1/orders/counts", headers=api.auth(shops=[shop]))
        assert tabs.json()["by_status"]["CANCELLED"] == (
            expected(api, [shop])["by_status"]["CANCELLED"] + 1000  # type: ignore[index]
        )
        filtered = await api.client.get(
            "/v1/orders/counts", params={"status": "CANCELLED"}, headers=api.auth(shops=[shop])
        )
        assert filtered.json()["total"] == expected(api, [shop])["by_status"]["CANCELLED"]  # type: ignore[index]
    finally:
        await counts_store.recompute(api.db, [shop])
    again = await api.client.get("/v1/orders/counts", headers=api.auth(shops=[shop]))
    assert again.json() == expected(api, [shop])
