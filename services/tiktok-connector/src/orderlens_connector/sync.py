"""Use cases of backfill and reconcile: Search Orders by update_time, page by page (0096)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from orderlens.tiktok import TikTokOrder

from .adapters.tiktok_client import (
    MAX_DETAIL_IDS,
    AuthorizationLost,
    ShopRef,
    TikTokError,
)
from .service import OrderFetcher, ShopDirectory, SnapshotPublisher

DAY = 86_400
RETRY_AFTER_ERROR = 30.0


class OrderSearcher(OrderFetcher, Protocol):
    async def search_orders(
        self, shop: ShopRef, *, update_time_ge: int, update_time_lt: int, page_token: str = ""
    ) -> dict[str, Any]: ...


class Progress(Protocol):
    async def start(self, shop_id: str, window_ge: int) -> None: ...

    async def get(self, shop_id: str) -> dict[str, Any] | None: ...

    async def due(self, now: float) -> list[str]: ...

    async def all(self) -> list[dict[str, Any]]: ...

    async def begin_window(self, shop_id: str, window_lt: int) -> None: ...

    async def save_page(
        self, shop_id: str, page_token: str, cursor_time: int, fetched: int
    ) -> None: ...

    async def finish_window(
        self, shop_id: str, *, next_ge: int, at: int, due_at: float
    ) -> None: ...

    async def failed(self, shop_id: str, error: str, *, due_at: float | None) -> None: ...


class BackfillStarter:
    """What the OAuth callback calls: the shop's first window reaches `window_days` back."""

    def __init__(self, progress: Progress, window_days: int) -> None:
        self._progress = progress
        self._window = window_days * DAY

    async def start(self, shop_id: str) -> None:
        await self._progress.start(shop_id, int(time.time()) - self._window)


async def _full_orders(
    shop: ShopRef, found: Sequence[dict[str, Any]], fetcher: OrderFetcher
) -> list[TikTokOrder]:
    # Search Orders 202309 answers full order objects; any that is not is fetched in detail.
    full: list[TikTokOrder] = []
    partial: list[str] = []
    for raw in found:
        try:
            full.append(TikTokOrder.model_validate(raw))
        except ValidationError:
            partial.append(str(raw["id"]))
    for start in range(0, len(partial), MAX_DETAIL_IDS):
        detail = await fetcher.order_detail(shop, partial[start : start + MAX_DETAIL_IDS])
        full.extend(TikTokOrder.model_validate(raw) for raw in detail)
    return full


async def sync_window(
    shop_id: str,
    *,
    progress: Progress,
    shops: ShopDirectory,
    searcher: OrderSearcher,
    publisher: SnapshotPublisher,
    interval: float,
    overlap: int,
    now: float | None = None,
) -> int:
    """Run the shop's current window to its end; returns the orders published.

    Each page is published, then its token and cursor are saved: a crash repeats at most one
    page, and the newest `update_time` wins downstream, so nothing is lost or applied twice."""
    job = await progress.get(shop_id)
    if job is None:
        return 0
    shop = await shops.shop(shop_id)
    if shop is None:
        await progress.failed(shop_id, "shop not connected (revoked): reconnect it", due_at=None)
        return 0
    started = time.time() if now is None else now
    ge = int(job["window_ge"])
    lt = job.get("window_lt")
    if lt is None:
        lt = int(started)
        await progress.begin_window(shop_id, lt)
    token = str(job.get("page_token") or "")
    cursor = int(job.get("cursor_time") or ge)
    published = 0
    try:
        while True:
            page = await searcher.search_orders(
                shop, update_time_ge=ge, update_time_lt=int(lt), page_token=token
            )
            orders = await _full_orders(shop, page.get("orders") or [], searcher)
            for order in orders:
                await publisher.publish(shop_id, order)
                cursor = max(cursor, order.update_time)
            published += len(orders)
            token = str(page.get("next_page_token") or "")
            await progress.save_page(shop_id, token, cursor, len(orders))
            if not token:
                break
    except AuthorizationLost as exc:
        # Final for this grant: the shop shows revoked and stops; only reconnecting resumes it.
        await shops.revoke(shop_id, str(exc))
        await progress.failed(shop_id, f"authorization lost (revoked): {exc}", due_at=None)
        return published
    except TikTokError as exc:
        await progress.failed(
            shop_id, f"{type(exc).__name__}: {exc}", due_at=started + RETRY_AFTER_ERROR
        )
        return published
    # Overlapping windows: the next one starts `overlap` before this one's end, so an order
    # whose update became searchable late (clock skew, indexing lag) is still found.
    await progress.finish_window(
        shop_id,
        next_ge=max(ge, int(lt) - overlap),
        at=int(time.time()),
        due_at=started + interval,
    )
    return published


async def sync_due_shops(
    *,
    progress: Progress,
    shops: ShopDirectory,
    searcher: OrderSearcher,
    publisher: SnapshotPublisher,
    interval: float,
    overlap: int,
) -> int:
    total = 0
    for shop_id in await progress.due(time.time()):
        total += await sync_window(
            shop_id,
            progress=progress,
            shops=shops,
            searcher=searcher,
            publisher=publisher,
            interval=interval,
            overlap=overlap,
        )
    return total


async def shops_status(
    shop_states: Sequence[dict[str, Any]], jobs: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """What the seller sees per shop: state, reason, token expiry, sync progress; no secrets."""
    by_shop = {str(j["_id"]): j for j in jobs}
    out = []
    for doc in shop_states:
        job = by_shop.get(str(doc["_id"]), {})
        out.append(
            {
                "shop_id": str(doc["_id"]),
                "name": doc.get("name", ""),
                "state": doc.get("state"),
                "reason": doc.get("state_reason", ""),
                "access_token_expires_at": doc.get("access_expires_at"),
                "refresh_token_expires_at": doc.get("refresh_expires_at"),
                "sync": {
                    "phase": job.get("phase"),
                    "orders_fetched": job.get("orders_fetched", 0),
                    "cursor_time": job.get("cursor_time"),
                    "last_success": job.get("last_success"),
                    "last_error": job.get("last_error", ""),
                },
            }
        )
    return out
