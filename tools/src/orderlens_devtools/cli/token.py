"""`orderlens token --role R --shop S [--shop S2]`: mint a local HS256 bearer token.

The secret comes from `JWT_SECRET`, defaulting to the local development secret that query-api
also defaults to; production verifies RS256/ES256 tokens from a JWKS and never uses it.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from typing import Any

from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "token", help="mint a local bearer token", description=__doc__
    )
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument(
        "--shop", action="append", required=True, dest="shops", help="shop id (repeatable)"
    )
    parser.add_argument("--sub", default="local-user", help="subject (user id)")
    parser.add_argument("--ttl-hours", type=float, default=8.0, help="lifetime in hours")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    secret = os.environ.get("JWT_SECRET") or LOCAL_DEV_SECRET
    token = mint_token(
        sub=args.sub,
        role=Role(args.role),
        shops=args.shops,
        secret=secret,
        ttl=timedelta(hours=args.ttl_hours),
    )
    print(token)
    return 0
