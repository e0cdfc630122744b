"""Container health probe: GET http://127.0.0.1:$HTTP_PORT/healthz, exit 0 on HTTP 200.

Used by the Dockerfiles' HEALTHCHECK and by docker-compose. Standard library only, because the
slim runtime image has neither curl nor wget.

Usage: python healthcheck.py [path]   (default /healthz)
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    port = os.environ.get("HTTP_PORT", "8080")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck {url} failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
