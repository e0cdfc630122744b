"""TikTok's order snapshot (the wire model, `orderlens.tiktok`) -> the stored read model.

Outside `domain/` so that the domain depends on nothing above it: this adapter knows both shapes.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime

from orderlens.domain.money import to_minor
from orderlens.domain.order import Address, Buyer, Item, Money, Order, PackageDoc, utc
from orderlens.tiktok import LineItem, RecipientAddress, TikTokOrder


def _required_utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _minor(amount: str | None, currency: str) -> int | None:
    return None if amount is None else to_minor(amount, currency)


def _address(raw: RecipientAddress | None) -> Address:
    if raw is None:
        return Address()
    levels: dict[str, str] = {}
    names: dict[str, str] = {}
    for district in raw.district_info:
        if district.address_name:
            if district.address_level:
                levels[district.address_level.upper()] = district.address_name
            if district.address_level_name:
                names[district.address_level_name.lower()] = district.address_name
    name = raw.name or " ".join(p for p in (raw.first_name, raw.last_name) if p) or None
    lines = [
        line
        for line in (raw.address_line1, raw.address_line2, raw.address_line3, raw.address_line4)
        if line
    ]
    return Address(
        name=name,
        phone=raw.phone_number,
        lines=lines,
        full_address=raw.full_address,
        postal_code=raw.postal_code,
        country_code=raw.region_code.upper() if raw.region_code else None,
        country=names.get("country") or levels.get("L0"),
        state=names.get("state") or names.get("province") or levels.get("L1"),
        city=names.get("city") or levels.get("L3") or levels.get("L2"),
        district=names.get("district") or names.get("county"),
    )


def _items(line_items: list[LineItem], currency: str) -> list[Item]:
    groups: OrderedDict[str, list[LineItem]] = OrderedDict()
    for line in line_items:
        groups.setdefault(line.sku_id, []).append(line)
    items = []
    for sku_id, lines in groups.items():
        first = lines[0]
        quantity = len(lines)
        sale_prices = [to_minor(line.sale_price, currency) for line in lines]
        original = [
            to_minor(line.original_price, currency) if line.original_price else None
            for line in lines
        ]
        seller_discount = sum(_minor(line.seller_discount, currency) or 0 for line in lines)
        platform_discount = sum(_minor(line.platform_discount, currency) or 0 for line in lines)
        before = (
            sum(o for o in original if o is not None)
            if all(o is not None for o in original)
            else sum(sale_prices) + seller_discount + platform_discount
        )
        items.append(
            Item(
                sku_id=sku_id,
                seller_sku=first.seller_sku,
                product_id=first.product_id,
                product_name=first.product_name,
                variation=first.sku_name,
                quantity=quantity,
                unit_sale_price=sale_prices[0],
                unit_original_price=original[0],
                subtotal_before_discount=before,
                seller_discount=seller_discount,
                platform_discount=platform_discount,
                subtotal_after_discount=sum(sale_prices),
                line_item_ids=[line.id for line in lines],
                package_ids=sorted({line.package_id for line in lines if line.package_id}),
            )
        )
    return items


def _packages(order: TikTokOrder) -> list[PackageDoc]:
    """Packages known from the snapshot: one per package id, else one per tracking number."""
    packages: OrderedDict[str, PackageDoc] = OrderedDict()
    for line in order.line_items:
        key = line.package_id or line.tracking_number
        if key and key not in packages:
            packages[key] = PackageDoc(
                package_id=line.package_id,
                carrier=line.shipping_provider_name or order.shipping_provider,
                tracking_number=line.tracking_number or order.tracking_number,
            )
    for package in order.packages:
        if package.id not in packages:
            packages[package.id] = PackageDoc(
                package_id=package.id,
                carrier=order.shipping_provider,
                tracking_number=order.tracking_number,
            )
    if not packages and order.tracking_number:
        packages[order.tracking_number] = PackageDoc(
            carrier=order.shipping_provider, tracking_number=order.tracking_number
        )
    return list(packages.values())


def normalise(shop_id: str, order: TikTokOrder, synced_at: datetime) -> Order:
    """TikTok's order snapshot -> the stored read model (before status events and risk rules)."""
    currency = order.payment.currency.upper()
    payment = order.payment
    items = _items(order.line_items, currency)
    packages = _packages(order)
    return Order(
        id=order.id,
        shop_id=shop_id,
        status=order.status,
        created_at=_required_utc(order.create_time),
        updated_at=_required_utc(order.update_time),
        paid_at=utc(order.paid_time),
        shipped_at=utc(order.rts_time),
        collected_at=utc(order.collection_time),
        delivered_at=utc(order.delivery_time),
        cancelled_at=utc(order.cancel_time),
        buyer=Buyer(user_id=order.user_id, email=order.buyer_email, message=order.buyer_message),
        recipient=_address(order.recipient_address),
        money=Money(
            currency=currency,
            total=to_minor(payment.total_amount, currency),
            subtotal=_minor(payment.sub_total, currency),
            shipping_fee=_minor(payment.shipping_fee, currency),
            seller_discount=_minor(payment.seller_discount, currency),
            platform_discount=_minor(payment.platform_discount, currency),
            tax=_minor(payment.tax, currency),
            original_total_product_price=_minor(payment.original_total_product_price, currency),
            original_shipping_fee=_minor(payment.original_shipping_fee, currency),
        ),
        payment_method=order.payment_method_name,
        is_cod=bool(order.is_cod),
        items=items,
        units=sum(item.quantity for item in items),
        packages=packages,
        shipping_type=order.shipping_type,
        fulfillment_type=order.fulfillment_type,
        delivery_option=order.delivery_option_name,
        seller_note=order.seller_note,
        cancel_reason=order.cancel_reason,
        cancellation_initiator=order.cancellation_initiator,
        skus=sorted(
            {item.sku_id for item in items} | {item.seller_sku for item in items if item.seller_sku}
        ),
        product_names=sorted({item.product_name for item in items}),
        carriers=sorted({p.carrier for p in packages if p.carrier}),
        tracking_numbers=sorted({p.tracking_number for p in packages if p.tracking_number}),
        tracking_statuses=sorted({p.tracking_status for p in packages}),
        source_update_time=order.update_time,
        last_synced_at=synced_at,
    )
