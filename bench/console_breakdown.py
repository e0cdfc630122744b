"""Where the orders page's time goes: each part of bench/console_latency.py's navigation, apart.

    uv run python -m bench.console_breakdown [--orders 10000] [--runs 10]

Not an area of `python -m bench` (no target, no baseline): a profile to read before changing the
page (bench/results/2026-12-02-console-speed.md). Same servers as bench/console_latency.py
(`MONGODB_URI`, else a private mongo-java-server on the memory backend), same seed, query-api
and console as their own processes. Prints p50s (ms) of:

- query-api alone: the tab counts, the list, and the two at once (as the console asks them),
  unfiltered and with the benchmark's filter (country=US);
- the console's answer to GET /orders over HTTP (query-api calls + rendering), and its size;
- Chromium: navigation → rows as the benchmark times it, and the page's own Navigation Timing
  (first byte, last byte, DOM interactive, DOMContentLoaded) beside when Playwright's `goto` and
  `wait_for_selector` returned, all from the navigation's start.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright

from bench.console_latency import CHROMIUM, CHROMIUM_ARGS, FILTERED, PAGE, start_console
from bench.query_latency import percentile, seed, start_api
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.devstack import MongoServer, free_port

Params = Sequence[tuple[str, str]]
TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {first_byte: n.responseStart, last_byte: n.responseEnd,
          dom_interactive: n.domInteractive, dom_content_loaded: n.domContentLoadedEventEnd,
          bytes: n.transferSize};
}"""


def p50_ms(values: list[float]) -> float:
    return round(percentile(values, 50) * 1000, 1)


async def timed(runs: int, call: Any) -> float:
    """p50 of `runs` awaits of `call()`, after one warm-up."""
    times: list[float] = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        await call()
        if attempt:
            times.append(time.perf_counter() - started)
    return p50_ms(times)


async def api_parts(http: httpx.AsyncClient, params: Params, runs: int) -> dict[str, float]:
    unpaged = tuple(p for p in params if p[0] != "limit")

    async def counts() -> None:
        (await http.get("/v1/orders/counts", params=unpaged)).raise_for_status()

    async def listed() -> None:
        (await http.get("/v1/orders", params=list(params))).raise_for_status()

    async def both() -> None:
        await asyncio.gather(counts(), listed())

    return {
        "counts_ms": await timed(runs, counts),
        "list_ms": await timed(runs, listed),
        "both_at_once_ms": await timed(runs, both),
    }


async def browser_parts(page: Page, url: str, runs: int) -> dict[str, float]:
    marks: dict[str, list[float]] = {}
    for attempt in range(runs + 1):
        started, wall = time.perf_counter(), time.time() * 1000
        await page.goto(url, wait_until="domcontentloaded")
        goto = time.time() * 1000
        await page.wait_for_selector("table.orders tbody tr")
        done, total = time.time() * 1000, time.perf_counter() - started
        timing = await page.evaluate(TIMING)
        origin = await page.evaluate("performance.timeOrigin") - wall
        if not attempt:
            continue
        marks.setdefault("navigation_to_rows_ms", []).append(total * 1000)
        for key in ("first_byte", "last_byte", "dom_interactive", "dom_content_loaded"):
            marks.setdefault(f"{key}_ms", []).append(origin + timing[key])
        marks.setdefault("goto_returned_ms", []).append(goto - wall)
        marks.setdefault("selector_returned_ms", []).append(done - wall)
        marks.setdefault("page_bytes", []).append(timing["bytes"])
    return {k: round(sorted(v)[len(v) // 2], 1) for k, v in marks.items()}


async def measure(api_port: int, console_port: int, shops: list[str], runs: int) -> dict[str, Any]:
    token = mint_token(sub="bench", role=Role.ADMIN, shops=shops, secret=LOCAL_DEV_SECRET)
    console = f"http://localhost:{console_port}"
    out: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=900,
        ) as http,
        async_playwright() as p,
    ):
        out["query_api"] = await api_parts(http, PAGE, runs)
        out["query_api_filtered"] = await api_parts(http, FILTERED, runs)
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{console}/signin")
        await page.locator("button[data-role='admin']").click()
        await page.wait_for_selector("table.orders tbody tr")
        cookies = {c["name"]: c.get("value", "") for c in await page.context.cookies()}
        async with httpx.AsyncClient(base_url=console, cookies=cookies, timeout=900) as signed:
            size = len((await signed.get("/orders")).content)

            async def orders() -> None:
                (await signed.get("/orders")).raise_for_status()

            out["console_http"] = {"orders_ms": await timed(runs, orders), "orders_bytes": size}
        out["chromium"] = await browser_parts(page, f"{console}/orders", runs)
        await browser.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: run scripts/bootstrap", file=sys.stderr)
        return 2
    server: MongoServer | None = None
    workdir = Path(tempfile.mkdtemp(prefix="orderlens-bench-"))
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = MongoServer(
            home=workdir / "mongo", log_file=workdir / "mongo.log", port=free_port(), store=False
        )
        server.start()
        uri = server.uri
    processes: list[subprocess.Popen[bytes]] = []
    try:
        shops = asyncio.run(seed(uri, args.orders))
        api_port, console_port = free_port(), free_port()
        console_issuer = {  # query-api trusts the console's own tokens (docs/decisions/0150)
            "issuer": f"http://localhost:{console_port}",
            "jwks_url": f"http://127.0.0.1:{console_port}/.well-known/jwks.json",
            "audience": "orderlens-query-api",
            "max_lifetime_seconds": 900,
        }
        processes.append(
            start_api(uri, api_port, {"JWT_TRUSTED_ISSUERS": json.dumps([console_issuer])})
        )
        processes.append(start_console(api_port, console_port, shops))
        results = asyncio.run(measure(api_port, console_port, shops, args.runs))
        print(json.dumps({"orders": args.orders, "runs": args.runs, **results}, indent=2))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
