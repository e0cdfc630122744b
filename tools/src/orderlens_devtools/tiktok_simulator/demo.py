"""The seller's side of connecting a shop, over HTTP: what a person does in a browser.

`GET <connector>/oauth/tiktok/authorize` redirects to TikTok's consent page (the simulator's,
which approves at once), which redirects to the connector's callback; the callback exchanges the
code for tokens and asks Get Authorized Shops. Following those redirects is the real OAuth flow;
then the connector's `GET /shops` says when each shop's first backfill has finished."""

from __future__ import annotations

from typing import Any

import httpx

from orderlens.waiting import wait_for


async def connect_shops(connector_url: str, *, within: float = 120.0) -> list[dict[str, Any]]:
    """Connect every shop the consent page offers; returns their `GET /shops` rows once each is
    connected and backfilled. Raises with the connector's answer when it refuses."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=30.0) as http:
        answer = await http.get(f"{connector_url}/oauth/tiktok/authorize")
        if answer.status_code != 200:
            raise RuntimeError(f"the callback answered {answer.status_code}: {answer.text}")
        connected = [str(s) for s in answer.json()["connected"]]
        rows: list[dict[str, Any]] = []

        async def backfilled() -> bool:
            shops = (await http.get(f"{connector_url}/shops")).json()["shops"]
            mine = [s for s in shops if s["shop_id"] in connected]
            rows[:] = mine
            return len(mine) == len(connected) and all(
                s["state"] == "connected" and s["sync"]["last_success"] for s in mine
            )

        await wait_for(backfilled, within, f"the first backfill of {connected}", every=0.5)
        return rows
