"""What the routes share: settings, the session codec, templates, the API clients and the key
signing the users' query-api tokens."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.templating import Jinja2Templates

from orderlens_console.adapters.oidc import OidcProvider
from orderlens_console.adapters.query_api import QueryApi
from orderlens_console.sessions import SessionCodec
from orderlens_console.settings import ConsoleSettings
from orderlens_console.signing import ApiSigner


@dataclass
class Runtime:
    settings: ConsoleSettings
    codec: SessionCodec
    templates: Jinja2Templates
    api: QueryApi
    oidc: OidcProvider | None
    signer: ApiSigner

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_url.rstrip("/") + "/auth/callback"
