"""The roles of docs/contract.md §5.1 and what each may see and do, as data.

API:
- `Role` (admin, operations, customer_service, analyst, buyer) and `Permission`.
- `SELLER_ROLES`: every role but `buyer`. A buyer holds `OWN_ORDERS` and `FULL_PII` only: no
  seller permission, so every seller endpoint answers it 403 (docs/contract.md §5.1).
- `PERMISSIONS[role]`: the role's permissions; `has_permission(role, permission)`.
- `sees_full_pii(role)`: False when buyer PII must be masked for the role (see orderlens.masking).
- `Action` (confirm, ship, cancel) and `may_act(role, action)`.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPERATIONS = "operations"
    CUSTOMER_SERVICE = "customer_service"
    ANALYST = "analyst"
    BUYER = "buyer"


class Permission(StrEnum):
    READ_ORDERS = "read_orders"
    FULL_PII = "full_pii"
    READ_STATS = "read_stats"
    EXPORT = "export"
    CONFIRM = "confirm"
    SHIP = "ship"
    CANCEL = "cancel"
    # A buyer's own orders under /v1/me/orders; never granted to a seller role.
    OWN_ORDERS = "own_orders"
    # Minting buyer links (POST /v1/buyer-links) and managing webhooks are seller permissions.
    BUYER_LINKS = "buyer_links"
    # Outgoing webhook subscriptions (admin only).
    MANAGE_WEBHOOKS = "manage_webhooks"


class Action(StrEnum):
    CONFIRM = "confirm"
    SHIP = "ship"
    CANCEL = "cancel"


_ACTION_PERMISSION = {
    Action.CONFIRM: Permission.CONFIRM,
    Action.SHIP: Permission.SHIP,
    Action.CANCEL: Permission.CANCEL,
}

P = Permission
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission) - {P.OWN_ORDERS},
    Role.OPERATIONS: frozenset({P.READ_ORDERS, P.FULL_PII, P.EXPORT, P.CONFIRM, P.SHIP, P.CANCEL}),
    Role.CUSTOMER_SERVICE: frozenset({P.READ_ORDERS, P.FULL_PII, P.CANCEL, P.BUYER_LINKS}),
    # Analysts export too, with PII masked like everything else they see.
    Role.ANALYST: frozenset({P.READ_ORDERS, P.READ_STATS, P.EXPORT}),
    # Their own data, in full (docs/contract.md §5.1); the order scope is the buyer user id.
    Role.BUYER: frozenset({P.OWN_ORDERS, P.FULL_PII}),
}
SELLER_ROLES = frozenset(Role) - {Role.BUYER}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def sees_full_pii(role: Role) -> bool:
    return has_permission(role, Permission.FULL_PII)


def may_act(role: Role, action: Action) -> bool:
    return has_permission(role, _ACTION_PERMISSION[action])


def permission_of(action: Action) -> Permission:
    return _ACTION_PERMISSION[action]
