"""Authentication and authorisation dependencies (also used by the exports router).

Stable API:
- `CurrentPrincipal`: `Annotated[Principal, ...]`, the verified caller (401 otherwise).
- `require(permission)`: a dependency returning the principal when its role has `permission`
  (403 otherwise); `ReadOrders`, `ReadStats`, `CanExport` are the annotated forms.
- `get_runtime(request) -> Runtime` / `AppRuntime`: settings, database and broker of the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from orderlens.roles import Permission, has_permission
from orderlens.tokens import Principal, TokenError
from orderlens_query.problems import ProblemException, unauthorized
from orderlens_query.runtime import Runtime

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A JWT with claims sub, role, shops, exp (`orderlens token` mints local ones).",
)


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def` one in a
# worker thread, a thread hop per request (docs/decisions/0067).
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


AppRuntime = Annotated[Runtime, Depends(get_runtime)]


async def current_principal(
    runtime: AppRuntime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise unauthorized("a bearer token is required")
    token = credentials.credentials
    verifier = runtime.verifier
    try:
        if verifier.blocking:
            return await run_in_threadpool(verifier.verify, token)
        return verifier.verify(token)
    except TokenError as exc:
        raise unauthorized(exc.reason) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not has_permission(principal.role, permission):
            raise ProblemException(
                403, f"role {principal.role.value} may not {permission.value.replace('_', ' ')}"
            )
        return principal

    dependency.__name__ = f"require_{permission.value}"
    return dependency


ReadOrders = Annotated[Principal, Depends(require(Permission.READ_ORDERS))]
ReadStats = Annotated[Principal, Depends(require(Permission.READ_STATS))]
CanExport = Annotated[Principal, Depends(require(Permission.EXPORT))]
# A buyer's own orders (docs/contract.md §5.1): seller roles lack the permission and get 403.
OwnOrders = Annotated[Principal, Depends(require(Permission.OWN_ORDERS))]
MintBuyerLinks = Annotated[Principal, Depends(require(Permission.BUYER_LINKS))]
ManageWebhooks = Annotated[Principal, Depends(require(Permission.MANAGE_WEBHOOKS))]
