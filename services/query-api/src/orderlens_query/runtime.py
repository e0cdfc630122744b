"""What a running query-api holds: settings, database, Kafka broker, token verifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.capabilities import ServerCapabilities
from orderlens.mongo import Document
from orderlens.tokens import TokenVerifier
from orderlens_query.adapters.order_reader import PageBounds
from orderlens_query.settings import QueryApiSettings

SERVICE = "query-api"
EVENT_SOURCE = "orderlens/query-api"


@dataclass
class Runtime:
    settings: QueryApiSettings
    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    broker: KafkaBroker
    verifier: TokenVerifier
    broker_connected: bool = field(default=False)
    # Read at start-up (None while the database could not be asked: plain reads meanwhile).
    capabilities: ServerCapabilities | None = None
    # The order list's learned bounds, kept only where the server sorts every match (0200).
    page_bounds: PageBounds | None = None

    def know(self, capabilities: ServerCapabilities) -> None:
        self.capabilities = capabilities
        self.page_bounds = PageBounds() if capabilities.sorts_every_match else None


def make_verifier(settings: QueryApiSettings) -> TokenVerifier:
    return TokenVerifier(
        secret=settings.jwt_secret or None,
        jwks_file=settings.jwt_jwks_file,
        jwks_url=settings.jwt_jwks_url,
        algorithms=settings.algorithms,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        max_lifetime=timedelta(hours=settings.jwt_max_lifetime_hours),
        trusted_issuers=settings.jwt_trusted_issuers,
    )
