"""Realistic TikTok-shaped orders and their status changes, deterministic for a seed.

Each order is drawn from its own random stream (seed and index), so a run of N orders is the
prefix of a run of N+1 and any order can be regenerated alone. Times are laid out backwards from
`SeedConfig.end`: the same seed and end give byte-identical events.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderlens.domain.money import exponent, format_minor, to_minor
from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus
from orderlens.events import (
    CheckpointData,
    CloudEvent,
    OrderCreated,
    PackageUpdate,
    StatusChanged,
    StatusSource,
    make_event,
)
from orderlens.tiktok import TikTokOrder
from orderlens_devtools.seed.catalog import (
    BUYER_MESSAGES,
    CANCEL_REASONS,
    FAMILY_NAMES,
    GIVEN_NAMES,
    MARKETS,
    PRODUCTS,
    SELLER_NOTES,
    STREETS,
    Market,
    Product,
)

SOURCE = "orderlens/seed"
_HOUR = 3600
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class SeedConfig:
    orders: int = 1000
    shops: int = 3
    days: int = 30
    seed: int = 42
    end: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )


def shop_ids(config: SeedConfig) -> list[str]:
    """Shop ids, as long digit strings like TikTok's (beyond 2**53)."""
    return [str(7_494_000_000_000_000_000 + config.seed * 1_000 + i) for i in range(config.shops)]


def market_of(shop_index: int) -> Market:
    return MARKETS[shop_index % len(MARKETS)]


@dataclass
class _Step:
    at: int
    data: dict[str, Any]


@dataclass
class SeedOrder:
    """One generated order: its first snapshot, its later changes, and its final snapshot."""

    shop_id: str
    initial: dict[str, Any]
    final: dict[str, Any]
    steps: list[_Step]

    @property
    def order_id(self) -> str:
        return str(self.initial["id"])


def _money(rng: random.Random, market: Market, base: str) -> int:
    minor = to_minor(Decimal(base) * market.price_factor, market.currency)
    # Round prices the way shops do: .99 endings, whole yen.
    unit: int = 10 ** exponent(market.currency)
    whole = max(minor // unit, 1)
    jitter = rng.choice((0, 0, 1, -1))
    return max(whole + jitter, 1) * unit - (1 if unit > 1 else 0)


def _line_items(
    rng: random.Random, market: Market, order_id: str
) -> tuple[list[dict[str, Any]], int, int, int, int]:
    products: list[Product] = rng.sample(PRODUCTS, k=rng.choice((1, 1, 1, 2, 2, 3)))
    lines: list[dict[str, Any]] = []
    original_total = seller_total = platform_total = sale_total = 0
    for p_index, product in enumerate(products):
        v_index = rng.randrange(len(product.variations))
        sku_id = f"{product.product_id}{v_index:03d}"
        original = _money(rng, market, product.base_price)
        seller_discount = original // 10 if rng.random() < 0.3 else 0
        platform_discount = original // 20 if rng.random() < 0.15 else 0
        sale = original - seller_discount - platform_discount
        for unit in range(rng.choice((1, 1, 1, 1, 2, 2, 3))):
            lines.append(
                {
                    "id": f"{order_id}{p_index:02d}{unit:02d}",
                    "sku_id": sku_id,
                    "product_id": product.product_id,
                    "product_name": product.name,
                    "sku_name": product.variations[v_index],
                    "seller_sku": f"{product.seller_sku_prefix}-{v_index + 1:02d}",
                    "original_price": format_minor(original, market.currency),
                    "sale_price": format_minor(sale, market.currency),
                    "seller_discount": format_minor(seller_discount, market.currency),
                    "platform_discount": format_minor(platform_discount, market.currency),
                    "currency": market.currency,
                }
            )
            original_total += original
            seller_total += seller_discount
            platform_total += platform_discount
            sale_total += sale
    return lines, original_total, seller_total, platform_total, sale_total


def _recipient(rng: random.Random, market: Market) -> dict[str, Any]:
    place = rng.choice(market.places)
    name = f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}"
    line1 = f"{rng.randint(1, 999)} {rng.choice(STREETS)}"
    phone = f"({market.phone_prefix}){rng.randint(100_000_000, 999_999_999)}"
    return {
        "name": name,
        "phone_number": phone,
        "address_line1": line1,
        "address_line2": rng.choice(("", "", f"Apt {rng.randint(1, 60)}")),
        "postal_code": place.postal_code,
        "region_code": market.country_code,
        "full_address": ", ".join(
            (line1, place.city, place.state, place.postal_code, market.country)
        ),
        "district_info": [
            {
                "address_level_name": "Country",
                "address_name": market.country,
                "address_level": "L0",
            },
            {"address_level_name": "State", "address_name": place.state, "address_level": "L1"},
            {"address_level_name": "City", "address_name": place.city, "address_level": "L3"},
        ],
    }


def _tracking_number(rng: random.Random, carrier: str) -> str:
    digest = hashlib.sha1(f"{carrier}{rng.random()}".encode()).hexdigest()
    if carrier == "USPS":
        return "9400" + str(int(digest[:16], 16))[:18].rjust(18, "0")
    if carrier == "UPS":
        return "1Z" + digest[:16].upper()
    return digest[:12].upper()


def _checkpoint(at: int, status: TrackingStatus, message: str, location: str) -> CheckpointData:
    return CheckpointData(
        at=datetime.fromtimestamp(at, tz=UTC), status=status, message=message, location=location
    )


def generate_order(config: SeedConfig, index: int) -> SeedOrder:
    rng = random.Random(f"{config.seed}:{index}")
    shop_index = index % config.shops
    shop_id = shop_ids(config)[shop_index]
    market = market_of(shop_index)
    end = int(config.end.timestamp())
    order_id = str(576_461_413_038_785_752 + config.seed * 10_000_000_000 + index * 7)
    created = end - rng.randrange(max(config.days * _DAY, 1))

    lines, original_total, seller_total, platform_total, sale_total = _line_items(
        rng, market, order_id
    )
    fmt = market.currency
    shipping_fee = 0 if sale_total > _money(rng, market, "35") else _money(rng, market, "3.99")
    tax = int(sale_total * Decimal(market.tax_rate))
    total = sale_total + shipping_fee + tax
    payment_method = rng.choice(market.payment_methods)
    is_cod = payment_method == "Cash on delivery"
    carrier = rng.choice(market.carriers)
    recipient = _recipient(rng, market)

    order: dict[str, Any] = {
        "id": order_id,
        "status": OrderStatus.UNPAID.value,
        "create_time": created,
        "update_time": created,
        "user_id": str(7_000_000_000_000_000_000 + rng.randrange(10**15)),
        "buyer_email": f"{recipient['name'].split()[0].lower()}{rng.randint(1, 999)}"
        f"@scs.tiktokw.us",
        "buyer_message": rng.choice(BUYER_MESSAGES),
        "seller_note": rng.choice(SELLER_NOTES),
        "recipient_address": recipient,
        "payment": {
            "currency": market.currency,
            "original_total_product_price": format_minor(original_total, fmt),
            "sub_total": format_minor(sale_total, fmt),
            "seller_discount": format_minor(seller_total, fmt),
            "platform_discount": format_minor(platform_total, fmt),
            "shipping_fee": format_minor(shipping_fee, fmt),
            "original_shipping_fee": format_minor(shipping_fee, fmt),
            "tax": format_minor(tax, fmt),
            "total_amount": format_minor(total, fmt),
        },
        "line_items": lines,
        "payment_method_name": payment_method,
        "is_cod": is_cod,
        "shipping_type": rng.choice(("TIKTOK", "TIKTOK", "SELLER")),
        "fulfillment_type": rng.choice(("FULFILLMENT_BY_SELLER",) * 4 + ("FULFILLMENT_BY_TIKTOK",)),
        "delivery_option_name": rng.choice(("Standard shipping", "Express shipping")),
    }
    steps: list[_Step] = []
    final = dict(order)

    def step(at: int, **data: Any) -> bool:
        if at > end:
            return False
        steps.append(_Step(at, data))
        return True

    # Payment: most orders are paid within the half hour; a few never are and get cancelled.
    paid = created + rng.randint(30, 1800) if rng.random() < 0.96 or is_cod else None
    if paid is None or paid > end:
        if end - created > _DAY:
            cancel_at = created + _DAY
            final.update(
                status="CANCELLED",
                cancel_time=cancel_at,
                update_time=cancel_at,
                cancel_reason="Payment not completed",
                cancellation_initiator="SYSTEM",
            )
            step(
                cancel_at,
                status="CANCELLED",
                source=StatusSource.SYSTEM,
                reason="Payment not completed",
            )
        return SeedOrder(shop_id, order, final, steps)

    # The first snapshot orderlens sees is the paid order (connectors fetch it after payment).
    order.update(status="AWAITING_SHIPMENT", paid_time=paid, update_time=paid)
    final.update(status="AWAITING_SHIPMENT", paid_time=paid, update_time=paid)

    if rng.random() < 0.07:
        cancel_at = paid + rng.randint(_HOUR, 2 * _DAY)
        reason = rng.choice(CANCEL_REASONS)
        if step(cancel_at, status="CANCELLED", source=StatusSource.SELLER, reason=reason):
            final.update(
                status="CANCELLED",
                cancel_time=cancel_at,
                update_time=cancel_at,
                cancel_reason=reason,
                cancellation_initiator="SELLER",
            )
        return SeedOrder(shop_id, order, final, steps)

    shipped = paid + rng.randint(4 * _HOUR, 2 * _DAY)
    package_id = str(1_152_000_000_000_000_000 + int(order_id) % 10**15)
    tracking = _tracking_number(rng, carrier)
    origin = rng.choice(market.places)
    destination = f"{recipient['district_info'][2]['address_name']}, {market.country_code}"

    def package(
        status: TrackingStatus, checkpoints: list[CheckpointData], estimate: int | None
    ) -> dict[str, Any]:
        return {
            "package": PackageUpdate(
                package_id=package_id,
                carrier=carrier,
                tracking_number=tracking,
                tracking_status=status,
                checkpoints=checkpoints,
                estimated_delivery_at=None
                if estimate is None
                else datetime.fromtimestamp(estimate, tz=UTC),
            )
        }

    estimate = shipped + rng.randint(3, 6) * _DAY
    info = _checkpoint(
        shipped,
        TrackingStatus.INFO_RECEIVED,
        "Shipping label created",
        f"{origin.city}, {market.country_code}",
    )
    if not step(
        shipped,
        status="AWAITING_COLLECTION",
        source=StatusSource.SELLER,
        **package(TrackingStatus.INFO_RECEIVED, [info], estimate),
    ):
        return SeedOrder(shop_id, order, final, steps)
    final.update(
        status="AWAITING_COLLECTION",
        rts_time=shipped,
        update_time=shipped,
        tracking_number=tracking,
        shipping_provider=carrier,
        packages=[{"id": package_id}],
    )
    for line in final["line_items"]:
        line.update(package_id=package_id, tracking_number=tracking, shipping_provider_name=carrier)

    collected = shipped + rng.randint(2 * _HOUR, _DAY)
    checkpoints = [
        info,
        _checkpoint(
            collected,
            TrackingStatus.IN_TRANSIT,
            "Picked up by carrier",
            f"{origin.city}, {market.country_code}",
        ),
    ]
    if not step(
        collected,
        source=StatusSource.CARRIER,
        **package(TrackingStatus.IN_TRANSIT, list(checkpoints), estimate),
    ):
        return SeedOrder(shop_id, order, final, steps)
    final.update(status="IN_TRANSIT", collection_time=collected, update_time=collected)

    moment = collected
    for _ in range(rng.randint(1, 3)):
        moment += rng.randint(6 * _HOUR, _DAY)
        hub = rng.choice(market.places)
        checkpoints.append(
            _checkpoint(
                moment,
                TrackingStatus.IN_TRANSIT,
                "Departed facility",
                f"{hub.city}, {market.country_code}",
            )
        )
        if rng.random() < 0.1:
            estimate += _DAY  # a revised estimate
        if not step(
            moment,
            source=StatusSource.CARRIER,
            **package(TrackingStatus.IN_TRANSIT, list(checkpoints), estimate),
        ):
            return SeedOrder(shop_id, order, final, steps)

    trouble = rng.random()
    if trouble < 0.02:
        moment += rng.randint(_HOUR, _DAY)
        checkpoints.append(
            _checkpoint(moment, TrackingStatus.EXCEPTION, "Package damaged in transit", destination)
        )
        step(
            moment,
            source=StatusSource.CARRIER,
            **package(TrackingStatus.EXCEPTION, list(checkpoints), None),
        )
        return SeedOrder(shop_id, order, final, steps)
    if trouble < 0.06:
        moment += rng.randint(_HOUR, _DAY)
        checkpoints.append(
            _checkpoint(
                moment,
                TrackingStatus.FAILED_ATTEMPT,
                "Delivery attempted, recipient not available",
                destination,
            )
        )
        if not step(
            moment,
            source=StatusSource.CARRIER,
            **package(TrackingStatus.FAILED_ATTEMPT, list(checkpoints), estimate),
        ):
            return SeedOrder(shop_id, order, final, steps)

    moment += rng.randint(4 * _HOUR, _DAY)
    checkpoints.append(
        _checkpoint(moment, TrackingStatus.OUT_FOR_DELIVERY, "Out for delivery", destination)
    )
    if not step(
        moment,
        source=StatusSource.CARRIER,
        **package(TrackingStatus.OUT_FOR_DELIVERY, list(checkpoints), estimate),
    ):
        return SeedOrder(shop_id, order, final, steps)
    delivered = moment + rng.randint(_HOUR, 8 * _HOUR)
    checkpoints.append(_checkpoint(delivered, TrackingStatus.DELIVERED, "Delivered", destination))
    if not step(
        delivered,
        source=StatusSource.CARRIER,
        **package(TrackingStatus.DELIVERED, list(checkpoints), estimate),
    ):
        return SeedOrder(shop_id, order, final, steps)
    final.update(status="DELIVERED", delivery_time=delivered, update_time=delivered)

    if rng.random() < 0.05:
        for offset, return_status in (
            (_DAY, ReturnStatus.REQUESTED),
            (2 * _DAY, ReturnStatus.APPROVED),
            (6 * _DAY, ReturnStatus.REFUNDED),
        ):
            if not step(
                delivered + offset,
                return_status=return_status.value,
                source=StatusSource.PLATFORM,
                reason="Item not as described",
            ):
                break
        return SeedOrder(shop_id, order, final, steps)

    completed = delivered + 7 * _DAY
    if step(completed, status="COMPLETED", source=StatusSource.PLATFORM):
        final.update(status="COMPLETED", update_time=completed)
    return SeedOrder(shop_id, order, final, steps)


def iter_orders(config: SeedConfig) -> Iterator[SeedOrder]:
    for index in range(config.orders):
        yield generate_order(config, index)


def created_event(seed_order: SeedOrder, *, final: bool = False) -> CloudEvent[OrderCreated]:
    snapshot = seed_order.final if final else seed_order.initial
    data = OrderCreated(shop_id=seed_order.shop_id, order=TikTokOrder.model_validate(snapshot))
    suffix = "final" if final else "created"
    return make_event(
        data,
        source=SOURCE,
        subject=seed_order.order_id,
        event_id=f"evt-seed-{seed_order.order_id}-{suffix}",
        time=datetime.fromtimestamp(int(snapshot["update_time"]), tz=UTC),
    )


def status_events(seed_order: SeedOrder) -> Iterator[CloudEvent[StatusChanged]]:
    for number, item in enumerate(seed_order.steps, start=1):
        occurred = datetime.fromtimestamp(item.at, tz=UTC)
        data = StatusChanged(
            order_id=seed_order.order_id,
            shop_id=seed_order.shop_id,
            occurred_at=occurred,
            **item.data,
        )
        yield make_event(
            data,
            source=SOURCE,
            subject=seed_order.order_id,
            event_id=f"evt-seed-{seed_order.order_id}-{number}",
            time=occurred,
        )


def iter_events(config: SeedConfig) -> Iterator[CloudEvent[Any]]:
    """Every order's first snapshot (orders.created), then every status change, in time order
    per order."""
    for seed_order in iter_orders(config):
        yield created_event(seed_order)
    for seed_order in iter_orders(config):
        yield from status_events(seed_order)


def final_snapshots(config: SeedConfig) -> Iterator[OrderCreated]:
    """Each order as TikTok would show it at `end`: for tests that need stored orders quickly."""
    for seed_order in iter_orders(config):
        yield OrderCreated(
            shop_id=seed_order.shop_id, order=TikTokOrder.model_validate(seed_order.final)
        )
