from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from olive.ami import AMIClient, Backoff

from .server import FakeAsterisk

ClientFactory = Callable[..., AMIClient]


@pytest.fixture
async def server() -> AsyncIterator[FakeAsterisk]:
    srv = FakeAsterisk()
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def make_client(server: FakeAsterisk) -> AsyncIterator[ClientFactory]:
    """AMIClients for ``server``: fast timeouts, no keep-alive unless asked, closed after."""
    clients: list[AMIClient] = []

    def make(**kwargs: object) -> AMIClient:
        options: dict[str, object] = {
            "action_timeout": 5.0,
            "keepalive": 0,
            "backoff": Backoff(initial=0.001, maximum=0.01),
        }
        options.update(kwargs)
        secret = options.pop("secret", server.secret)
        client = AMIClient("127.0.0.1", server.port, server.username, secret, **options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
