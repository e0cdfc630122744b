"""The console in headless Chromium: navigation → rendered orders page, filter change → updated
rows, beside query-api's own time for the same requests, measured in the same run.

    uv run python bench/console_latency.py [--orders 1000] [--runs 10] [--workdir DIR]

Servers: `MONGODB_URI` when set, else a private mongo-java-server (as bench/query_latency.py, whose
seed and query-api process this reuses). query-api and the console run as their own processes
(real HTTP on free ports); Debian's Chromium is driven by Playwright (docs/decisions/0102).
Each run, in alternation: the browser navigates to /orders and waits for the table's rows; the
API side times the two calls the console makes for that page (GET /v1/orders/counts and
GET /v1/orders, at once as the console asks them); then the browser changes a filter (opens
Filters, types a country, "Apply filters", as a user would) and waits for the new rows, and the
API side times the same two calls with that filter. Prints p50 and p95 (nearest rank) of each
and the ratio console / API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

from bench.query_latency import percentile, seed, start_api
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.devstack import MongoServer, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGE = [("limit", "50")]
FILTERED = [("country", "US"), ("limit", "50")]


def start_console(api_port: int, port: int, shops: list[str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HTTP_PORT": str(port),
        "CONSOLE_HTTP_HOST": "127.0.0.1",
        "CONSOLE_QUERY_API_URL": f"http://127.0.0.1:{api_port}",
        "CONSOLE_PUBLIC_URL": f"http://localhost:{port}",
        "CONSOLE_DEV_SIGN_IN": "true",
        "CONSOLE_DEV_SHOPS": ",".join(shops),
        "LOG_LEVEL": "ERROR",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orderlens_console"], env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the console did not start")


async def api_time(http: httpx.AsyncClient, params: list[tuple[str, str]]) -> float:
    """The console's two calls for an orders page: counts (without paging) and the list, at once
    as the console asks them."""
    started = time.perf_counter()
    counts, listed = await asyncio.gather(
        http.get("/v1/orders/counts", params=tuple(p for p in params if p[0] != "limit")),
        http.get("/v1/orders", params=tuple(params)),
    )
    counts.raise_for_status()
    listed.raise_for_status()
    return time.perf_counter() - started


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
    }


async def measure(api_port: int, console_port: int, shops: list[str], runs: int) -> dict[str, Any]:
    token = mint_token(sub="bench", role=Role.ADMIN, shops=shops, secret=LOCAL_DEV_SECRET)
    console = f"http://localhost:{console_port}"
    times: dict[str, list[float]] = {k: [] for k in ("nav", "nav_api", "filter", "filter_api")}
    async with (
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=900,
        ) as http,
        async_playwright() as p,
    ):
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{console}/signin")
        await page.locator("button[data-role='admin']").click()
        await page.wait_for_selector("table.orders tbody tr")
        for attempt in range(runs + 1):  # the first round warms everything up
            started = time.perf_counter()
            await page.goto(f"{console}/orders", wait_until="domcontentloaded")
            await page.wait_for_selector("table.orders tbody tr")
            nav = time.perf_counter() - started
            nav_api = await api_time(http, PAGE)

            await page.get_by_text("Filters", exact=True).click()  # opens the filter bar
            await page.get_by_label("Country").fill("US")
            started = time.perf_counter()
            await page.get_by_role("button", name="Apply filters").click()
            await page.wait_for_url("**country=US**", wait_until="domcontentloaded")
            await page.wait_for_selector("table.orders tbody tr")
            flt = time.perf_counter() - started
            filter_api = await api_time(http, FILTERED)
            if attempt:
                for key, value in zip(times, (nav, nav_api, flt, filter_api), strict=True):
                    times[key].append(value)
        rows = await page.locator("table.orders tbody tr").count()
        await browser.close()
    out: dict[str, Any] = {"runs": runs, "filtered_rows": rows}
    for name in ("nav", "filter"):
        console_s, api_s = summary(times[name]), summary(times[f"{name}_api"])
        out[name] = {
            "console": console_s,
            "api": api_s,
            "ratio_p50": round(console_s["p50_ms"] / max(api_s["p50_ms"], 0.1), 2),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--workdir", type=Path, help="home of the private mongo-java-server, kept")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: run scripts/bootstrap", file=sys.stderr)
        return 2

    server: MongoServer | None = None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="orderlens-bench-"))
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = MongoServer(
            home=workdir / "mongo", log_file=workdir / "mongo.log", port=free_port()
        )
        server.start()
        uri = server.uri
    processes: list[subprocess.Popen[bytes]] = []
    try:
        shops = asyncio.run(seed(uri, args.orders))
        api_port, console_port = free_port(), free_port()
        # query-api trusts the console's own tokens from its JWKS (docs/decisions/0150).
        console_issuer = {
            "issuer": f"http://localhost:{console_port}",
            "jwks_url": f"http://127.0.0.1:{console_port}/.well-known/jwks.json",
            "audience": "orderlens-query-api",
            "max_lifetime_seconds": 900,
        }
        trust = {"JWT_TRUSTED_ISSUERS": json.dumps([console_issuer])}
        processes.append(start_api(uri, api_port, trust))
        processes.append(start_console(api_port, console_port, shops))
        results = asyncio.run(measure(api_port, console_port, shops, args.runs))
        print(json.dumps({"orders": args.orders, **results}, indent=2))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        if server is not None:
            server.stop()
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
