"""/ready shows an AMI link that is connected but not answering as degraded."""

from __future__ import annotations

import httpx

from e2e.harness import Olive
from olive import ami
from olive.api import create_app


async def ready(client: httpx.AsyncClient) -> dict[str, object]:
    response = await client.get("/ready")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_a_link_whose_action_got_no_answer_is_degraded_until_asterisk_answers_again(olive: Olive) -> None:
    engine = await olive.start()
    link = engine.links["default"]
    await olive.until(lambda: link.ready, within_s=60, what="link ready")
    app = create_app(olive.sessions, engine, manage_engine=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://olive") as client:
        assert (await ready(client))["asterisk"] == {"default": "ready"}
        olive.target.pbx.swallow("QueueSummary")
        try:
            await link.client.send_action(ami.action("QueueSummary"), timeout=0.2)
        except ami.AMITimeout:
            pass
        else:
            raise AssertionError("the swallowed action was answered")
        assert (await ready(client))["asterisk"] == {"default": "degraded"}
        await link.client.send_action(ami.action("Ping"))  # Asterisk answers again
        assert (await ready(client))["asterisk"] == {"default": "ready"}
