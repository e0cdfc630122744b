"""Buyer PII masking of docs/contract.md §5.1, the same for list, detail and export.

API:
- `mask_order(order, role) -> Order`: the order itself for roles with full PII, else a copy with
  the recipient name as initials, phone as its last 4 digits, e-mail as first letter and domain,
  address reduced to city, state, country and postal prefix (lines, full address and district
  removed), and the buyer's free-text message removed (it often repeats names and numbers).
- `mask_name`, `mask_phone`, `mask_email`, `mask_postal_code`: the single-value rules, for
  callers that mask a value outside an `Order` (e.g. an export column).
"""

from __future__ import annotations

import re

from orderlens.domain.order import Address, Buyer, Order
from orderlens.roles import Role, sees_full_pii

MASK = "***"


def mask_name(name: str | None) -> str | None:
    """'Jane van Dyke' -> 'J. V. D.'."""
    if not name:
        return name
    initials = [part[0].upper() + "." for part in re.split(r"[\s\-]+", name.strip()) if part]
    return " ".join(initials) or None


def mask_phone(phone: str | None) -> str | None:
    """'+1 (415) 555-0134' -> '***0134'."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    return MASK + digits[-4:]


def mask_email(email: str | None) -> str | None:
    """'jane.doe@example.com' -> 'j***@example.com'."""
    if not email:
        return email
    local, _, domain = email.partition("@")
    if not domain:
        return MASK
    return f"{local[:1]}{MASK}@{domain}"


def mask_postal_code(postal_code: str | None) -> str | None:
    """The coarse part: a UK-style outward code, else the first 3 characters."""
    if not postal_code:
        return postal_code
    text = postal_code.strip()
    if " " in text:
        return text.split(" ", 1)[0]
    return text[:3]


def mask_address(address: Address) -> Address:
    return Address(
        name=mask_name(address.name),
        phone=mask_phone(address.phone),
        postal_code=mask_postal_code(address.postal_code),
        country_code=address.country_code,
        country=address.country,
        state=address.state,
        city=address.city,
    )


def mask_buyer(buyer: Buyer) -> Buyer:
    return Buyer(user_id=buyer.user_id, email=mask_email(buyer.email), message=None)


def mask_order(order: Order, role: Role) -> Order:
    if sees_full_pii(role):
        return order
    return order.model_copy(
        update={"recipient": mask_address(order.recipient), "buyer": mask_buyer(order.buyer)}
    )
