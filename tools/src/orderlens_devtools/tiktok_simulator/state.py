"""The simulated shop: tokens, shops, 202309-shaped orders, and how orders progress."""

from __future__ import annotations

import itertools
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Webhook types as TikTok numbers them (Partner Center, "Webhooks overview").
ORDER_STATUS_CHANGE = 1
RECIPIENT_ADDRESS_UPDATE = 3
PACKAGE_UPDATE = 4
CANCELLATION_STATUS_CHANGE = 11
RETURN_STATUS_CHANGE = 12
SELLER_DEAUTHORIZATION = 6

PRODUCTS = [("Phone case", "12.99"), ("USB-C cable", "7.50"), ("Desk lamp", "24.00")]


@dataclass
class Token:
    shop_ids: list[str]
    expires_at: int


@dataclass
class Shop:
    id: str
    cipher: str
    name: str
    region: str = "GB"
    authorized: bool = True


@dataclass
class SimState:
    app_key: str
    app_secret: str
    access_token_ttl: int = 7 * 24 * 3600
    refresh_token_ttl: int = 365 * 24 * 3600
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    shops: dict[str, Shop] = field(default_factory=dict)
    access_tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, Token] = field(default_factory=dict)
    auth_codes: dict[str, list[str]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> 202309 order
    order_shop: dict[str, str] = field(default_factory=dict)
    ship_requests: list[dict[str, Any]] = field(default_factory=list)
    cancel_requests: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def now(self) -> int:
        return int(self.clock())

    def _id(self, prefix: int) -> str:
        # 19-digit ids, beyond 2**53 like TikTok's: they must stay strings end to end.
        return str(prefix * 10**18 + 7 * 10**17 + next(self._ids))

    def add_shop(self, name: str = "Demo shop") -> Shop:
        shop = Shop(id=self._id(7), cipher="ROW_" + secrets.token_urlsafe(12), name=name)
        self.shops[shop.id] = shop
        return shop

    def issue_auth_code(self, shop_ids: list[str]) -> str:
        code = "TTP_" + secrets.token_urlsafe(16)
        self.auth_codes[code] = shop_ids
        return code

    def grant(self, shop_ids: list[str]) -> dict[str, Any]:
        now = self.now()
        access = "TTP_" + secrets.token_urlsafe(24)
        refresh = "TTP_" + secrets.token_urlsafe(24)
        self.access_tokens[access] = Token(shop_ids, now + self.access_token_ttl)
        self.refresh_tokens[refresh] = Token(shop_ids, now + self.refresh_token_ttl)
        return {
            "access_token": access,
            "access_token_expire_in": now + self.access_token_ttl,
            "refresh_token": refresh,
            "refresh_token_expire_in": now + self.refresh_token_ttl,
            "open_id": "open-" + shop_ids[0] if shop_ids else "open",
            "seller_name": self.shops[shop_ids[0]].name if shop_ids else "",
            "seller_base_region": "GB",
            "user_type": 0,
            "granted_scopes": ["seller.order.info", "seller.fulfillment.basic"],
        }

    def expire_access_tokens(self) -> None:
        """Test hook: every issued access token expires now."""
        for token in self.access_tokens.values():
            token.expires_at = self.now() - 1

    def deauthorize(self, shop_id: str) -> None:
        self.shops[shop_id].authorized = False
        for tokens in (self.access_tokens, self.refresh_tokens):
            for token in tokens.values():
                if shop_id in token.shop_ids:
                    token.shop_ids = [s for s in token.shop_ids if s != shop_id]

    # -- orders ----------------------------------------------------------------------------

    def new_order(
        self, shop_id: str, *, units: int = 2, paid: bool = True, at: int | None = None
    ) -> dict[str, Any]:
        now = self.now() if at is None else at  # `at`: an order from the past, for backfills
        order_id = self._id(5)
        package_id = self._id(1)
        name, price = PRODUCTS[self.rng.randrange(len(PRODUCTS))]
        sku_id = self._id(1)
        items = [
            {
                "id": self._id(5),
                "sku_id": sku_id,
                "product_id": self._id(1),
                "product_name": name,
                "seller_sku": f"SKU-{sku_id[-4:]}",
                "sale_price": price,
                "original_price": price,
                "package_id": package_id,
                "display_status": "AWAITING_SHIPMENT" if paid else "UNPAID",
            }
            for _ in range(units)  # one line item per unit, as TikTok does
        ]
        total = f"{float(price) * units + 2.99:.2f}"
        order: dict[str, Any] = {
            "id": order_id,
            "status": "AWAITING_SHIPMENT" if paid else "UNPAID",
            "create_time": now,
            "update_time": now,
            "paid_time": now if paid else None,
            "user_id": self._id(7),
            "buyer_email": f"buyer{order_id[-4:]}@scs.tiktokw.us",
            "payment": {
                "currency": "GBP",
                "sub_total": f"{float(price) * units:.2f}",
                "shipping_fee": "2.99",
                "seller_discount": "0",
                "platform_discount": "0",
                "total_amount": total,
            },
            "recipient_address": {
                "name": "Alex Buyer",
                "phone_number": "(+44)7700900123",
                "address_line1": "1 High Street",
                "postal_code": "SW1A 1AA",
                "region_code": "GB",
                "full_address": "1 High Street, London, SW1A 1AA",
            },
            "line_items": items,
            "packages": [{"id": package_id}],
            "shipping_type": "SELLER",
            "fulfillment_type": "FULFILLMENT_BY_SELLER",
            "payment_method_name": "Card",
            "is_cod": False,
        }
        if not paid:
            del order["paid_time"]
        self.orders[order_id] = order
        self.order_shop[order_id] = shop_id
        return order

    def touch(self, order: dict[str, Any]) -> None:
        # Strictly increasing update_time per order, so the newest state always wins downstream.
        order["update_time"] = max(self.now(), int(order["update_time"]) + 1)

    def set_status(self, order: dict[str, Any], status: str) -> None:
        order["status"] = status
        now = self.now()
        stamp = {
            "AWAITING_SHIPMENT": "paid_time",
            "AWAITING_COLLECTION": "rts_time",
            "IN_TRANSIT": "collection_time",
            "DELIVERED": "delivery_time",
            "CANCELLED": "cancel_time",
        }.get(status)
        if stamp:
            order[stamp] = now
        for item in order["line_items"]:
            item["display_status"] = status
        self.touch(order)

    def ship(self, package_id: str, tracking: str, provider: str) -> dict[str, Any] | None:
        for order in self.orders.values():
            if any(p["id"] == package_id for p in order["packages"]):
                if order["status"] != "AWAITING_SHIPMENT":
                    return None
                for item in order["line_items"]:
                    item["tracking_number"] = tracking
                    item["shipping_provider_name"] = provider
                order["tracking_number"] = tracking
                order["shipping_provider"] = provider
                self.set_status(order, "AWAITING_COLLECTION")
                return order
        return None

    def cancel(self, order_id: str, reason: str) -> dict[str, Any] | None:
        order = self.orders.get(order_id)
        if order is None or order["status"] not in {"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"}:
            return None
        order["cancel_reason"] = reason
        order["cancellation_initiator"] = "SELLER"
        self.set_status(order, "CANCELLED")
        return order

    def progress(self, shop_id: str) -> list[tuple[int, dict[str, Any]]]:
        """One step of life in the shop: a new order, or one existing order moving on.

        Returns the (webhook type, order) pairs this step would notify.
        """
        roll = self.rng.random()
        live = [o for i, o in self.orders.items() if self.order_shop[i] == shop_id]
        if roll < 0.4 or not live:
            order = self.new_order(shop_id, units=self.rng.randint(1, 3), paid=roll > 0.1)
            return [(ORDER_STATUS_CHANGE, order)]
        order = self.rng.choice(live)
        step = {
            "UNPAID": "AWAITING_SHIPMENT",
            "AWAITING_COLLECTION": "IN_TRANSIT",
            "IN_TRANSIT": "DELIVERED",
            "DELIVERED": "COMPLETED",
        }.get(order["status"])
        if order["status"] == "AWAITING_SHIPMENT" and roll > 0.9:
            order["cancel_reason"] = "Buyer changed mind"
            order["cancellation_initiator"] = "BUYER"
            self.set_status(order, "CANCELLED")
            return [(CANCELLATION_STATUS_CHANGE, order), (ORDER_STATUS_CHANGE, order)]
        if order["status"] == "AWAITING_SHIPMENT" and roll > 0.8:
            order["recipient_address"]["address_line1"] = f"{self.rng.randint(2, 99)} High Street"
            self.touch(order)
            return [(RECIPIENT_ADDRESS_UPDATE, order)]
        if step is None:
            return []
        self.set_status(order, step)
        kind = PACKAGE_UPDATE if step in {"IN_TRANSIT", "DELIVERED"} else ORDER_STATUS_CHANGE
        return [(kind, order)]

    def populate(self, shop_id: str, count: int, days: int) -> list[dict[str, Any]]:
        """A shop's past: `count` orders created over the last `days` days, some moved on since,
        for the local stack's backfill to find (their `update_time` is their last change)."""
        now = self.now()
        later = ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED", "CANCELLED"]
        created = []
        for index in range(count):
            at = now - days * 86_400 + (index * days * 86_400) // max(count, 1)
            order = self.new_order(shop_id, units=self.rng.randint(1, 3), at=at)
            if self.rng.random() < 0.6:
                order["status"] = self.rng.choice(later)
                for item in order["line_items"]:
                    item["display_status"] = order["status"]
                order["update_time"] = at + self.rng.randint(3_600, 3 * 86_400)
                if order["status"] == "CANCELLED":
                    order["cancel_time"] = order["update_time"]
                    order["cancel_reason"] = "Buyer changed mind"
                    order["cancellation_initiator"] = "BUYER"
                else:
                    order["rts_time"] = at + 1_800
                    order["tracking_number"] = f"SIM{order['id'][-10:]}"
                    order["shipping_provider"] = "simpost"
                    for item in order["line_items"]:
                        item["tracking_number"] = order["tracking_number"]
                        item["shipping_provider_name"] = "simpost"
                order["update_time"] = min(
                    order["update_time"], now - 60
                )  # before a backfill starts
            created.append(order)
        return created

    def search(self, shop_id: str, ge: int | None, lt: int | None) -> list[dict[str, Any]]:
        found = [
            o
            for i, o in self.orders.items()
            if self.order_shop[i] == shop_id
            and (ge is None or o["update_time"] >= ge)
            and (lt is None or o["update_time"] < lt)
        ]
        return sorted(found, key=lambda o: (o["update_time"], o["id"]))
