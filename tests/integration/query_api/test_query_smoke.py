"""A first look: the list answers through the real server."""

from __future__ import annotations

from qa_api import Api


async def test_list_answers(api: Api) -> None:
    response = await api.get("/v1/orders", {"limit": "5"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["items"]) == 5
