"""Static assets under content-versioned URLs, cached by browsers until they change
(docs/decisions/0201).

`static_url("console.css")` is `/static/console.css?v=<hash of the file>`: a page names the
exact version it was rendered with, so the file may be cached for a year (`immutable`) and a
new release is fetched at once. A request without the version (an old page, a hand-typed URL)
is answered `no-cache`: revalidated every time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VERSIONED = "public, max-age=31536000, immutable"
UNVERSIONED = "no-cache"


def versions(directory: Path) -> dict[str, str]:
    """Each file's path under `directory` → the first 12 hex digits of its SHA-256."""
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


class VersionedStatic(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.versions = versions(directory)

    def url(self, name: str) -> str:
        """The page's URL of the static file `name` (KeyError for a file that is not there)."""
        return f"/static/{name}?v={self.versions[name]}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        version = self.versions.get(path.replace("\\", "/"))
        asked = str(scope.get("query_string", b"").decode("latin-1")).split("&")
        versioned = version is not None and f"v={version}" in asked
        response.headers["Cache-Control"] = VERSIONED if versioned else UNVERSIONED
        return response
