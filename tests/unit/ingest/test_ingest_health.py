"""orderlens.health.HealthServer over a real socket (no other server)."""

from __future__ import annotations

import httpx

from orderlens.health import HealthServer


async def test_probes_and_metrics() -> None:
    ready = {"db": True}

    async def db_check() -> bool:
        return ready["db"]

    async def broken() -> bool:
        raise RuntimeError("boom")

    server = HealthServer(service="unit-health", host="127.0.0.1", port=0, checks={"db": db_check})
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            answer = await http.get("/readyz")
            assert answer.status_code == 200
            assert answer.json()["checks"] == {"db": True}
            ready["db"] = False
            answer = await http.get("/readyz")
            assert answer.status_code == 503
            assert answer.json() == {"status": "not ready", "checks": {"db": False}}
            server.checks["other"] = broken
            assert (await http.get("/readyz")).json()["checks"]["other"] is False
            metrics = await http.get("/metrics")
            assert metrics.status_code == 200
            assert "orderlens_http_requests_total" in metrics.text
            assert (await http.get("/nope")).status_code == 404
            assert (await http.post("/healthz")).status_code == 405
    finally:
        await server.stop()
