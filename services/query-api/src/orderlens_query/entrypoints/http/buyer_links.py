"""POST /v1/buyer-links (sellers), /v1/buyer-sign-in and /v1/buyer-sessions (anyone holding a
link): how a buyer gets a buyer token (docs/contract.md §5.1 buyer row; decision 0120)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from orderlens.mail_outbox import FileOutbox
from orderlens.signed_links import LinkRefused
from orderlens_query.adapters.link_uses import LinkUses
from orderlens_query.auth import AppRuntime, MintBuyerLinks
from orderlens_query.entrypoints.http.orders import Reader
from orderlens_query.models.buyer_links import (
    BuyerLinkBody,
    BuyerLinkOut,
    BuyerSessionOut,
    SessionBody,
    SignInAccepted,
    SignInBody,
)
from orderlens_query.problems import ProblemException, problem_responses, unauthorized
from orderlens_query.services.buyer_links import exchange_link, mint_seller_link, request_sign_in

router = APIRouter(prefix="/v1", tags=["buyer links"])
# The only /v1 endpoints without a bearer token: a buyer holds a link or an address, not a token.
PUBLIC_PATHS = frozenset({"/v1/buyer-sign-in", "/v1/buyer-sessions"})


@router.post(
    "/buyer-links",
    status_code=201,
    response_model=BuyerLinkOut,
    summary="A signed, expiring link that opens one buyer's orders (admin, customer_service)",
    responses=problem_responses(400, 401, 403, 404, 413, 503),
)
async def post_buyer_link(
    principal: MintBuyerLinks, runtime: AppRuntime, orders: Reader, body: BuyerLinkBody
) -> BuyerLinkOut:
    settings = runtime.settings
    minted = await mint_seller_link(
        orders,
        principal,
        body.buyer_user_id,
        timedelta(hours=body.ttl_hours),
        secret=settings.buyer_link_secret,
        base_url=settings.buyer_link_base_url,
        now=datetime.now(UTC),
    )
    if minted is None:
        raise ProblemException(404, f"no order of buyer {body.buyer_user_id} in your shops")
    return BuyerLinkOut(
        url=minted.url, token=minted.token, expires_at=minted.expires_at, shops=list(minted.shops)
    )


@router.post(
    "/buyer-sign-in",
    status_code=202,
    response_model=SignInAccepted,
    summary="Mail a one-time sign-in link to an order's e-mail address",
    description="Answers 202 whether or not orders carry the address.",
    responses=problem_responses(400, 413, 503),
)
async def post_sign_in(runtime: AppRuntime, orders: Reader, body: SignInBody) -> SignInAccepted:
    settings = runtime.settings
    await request_sign_in(
        orders,
        FileOutbox(settings.mail_outbox_dir, settings.mail_from),
        body.email,
        timedelta(minutes=settings.buyer_sign_in_ttl_minutes),
        secret=settings.buyer_link_secret,
        base_url=settings.buyer_link_base_url,
        now=datetime.now(UTC),
    )
    return SignInAccepted(status="accepted")


@router.post(
    "/buyer-sessions",
    response_model=BuyerSessionOut,
    summary="Exchange a buyer link for a buyer token",
    description="A sign-in link works once; expired or tampered links answer 401.",
    responses=problem_responses(400, 401, 413, 503),
)
async def post_session(runtime: AppRuntime, body: SessionBody) -> BuyerSessionOut:
    settings = runtime.settings
    if not settings.jwt_secret:
        raise ProblemException(503, "buyer sessions need JWT_SECRET to sign buyer tokens")
    try:
        session = await exchange_link(
            LinkUses(runtime.db),
            body.token,
            link_secret=settings.buyer_link_secret,
            jwt_secret=settings.jwt_secret,
            session_ttl=timedelta(hours=settings.buyer_session_ttl_hours),
            now=datetime.now(UTC),
        )
    except LinkRefused as exc:
        raise unauthorized(exc.reason) from None
    return BuyerSessionOut(
        access_token=session.token,
        expires_at=session.expires_at,
        buyer_user_id=session.buyer_user_id,
        shops=list(session.shops),
    )
