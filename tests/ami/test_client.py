"""AMIClient against a real TCP server on 127.0.0.1 (tests/ami/server.py).

No test sleeps: each waits for the server to have seen something, or for the
client's own futures. A Ping round trip is used as a barrier: the client
reads in order, so once the Ping's response is in, everything the server
sent before it has been handled.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from olive.ami import (
    Action,
    AMIActionError,
    AMIAuthenticationError,
    AMIClient,
    AMIConnectionError,
    AMIConnectionLost,
    AMITimeout,
    AMIValueError,
    Backoff,
    Event,
    OriginateRequest,
    QueueMemberState,
    action,
    originate_action,
    parse_event,
    redacted,
)

from .conftest import ClientFactory
from .server import BANNER, FakeAsterisk, Session, recorded_list, unrelated_event, with_action_id


def originate(call_id: str = "call_1") -> Action:
    return originate_action(
        OriginateRequest(call_id, "PJSIP/1001@trunk", "dialer", dial_timeout_s=30)
    )


async def connected(make_client: ClientFactory, **kwargs: object) -> AMIClient:
    client = make_client(**kwargs)
    await client.connect()
    return client


async def barrier(client: AMIClient) -> None:
    """Return once the client has handled everything the server sent so far."""
    await client.send_action(action("Ping"))


def events_into(client: AMIClient) -> list[Event]:
    seen: list[Event] = []
    client.on_event(seen.append)
    return seen


class TestConnect:
    async def test_logs_in(self, server: FakeAsterisk, make_client: ClientFactory) -> None:
        client = await connected(make_client)
        assert client.connected and client.connections == 1
        assert client.banner == BANNER
        (login,) = server.actions
        assert login.name == "Login"
        assert (login["Username"], login["Secret"], login["Events"]) == (
            "olive", server.secret, "on",
        )
        assert login.action_id

    async def test_connect_when_connected_keeps_the_session(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        client = await connected(make_client)
        await client.connect()
        await barrier(client)
        assert len(server.sessions) == 1 and client.connections == 1

    async def test_sends_the_events_filter(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        await connected(make_client, events="call,agent")
        assert server.actions[0]["Events"] == "call,agent"

    async def test_refused_login(self, server: FakeAsterisk, make_client: ClientFactory) -> None:
        client = make_client(secret="wrong")
        with pytest.raises(AMIAuthenticationError, match="Authentication failed"):
            await client.connect()
        assert not client.connected
        assert issubclass(AMIAuthenticationError, AMIConnectionError)

    async def test_peer_closes_before_the_banner(self) -> None:
        async def hang_up(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.close()

        srv = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        client = AMIClient("127.0.0.1", port, "olive", "x", keepalive=0)
        try:
            with pytest.raises(AMIConnectionLost):
                await client.connect()
            assert not client.connected
        finally:
            await client.close()
            srv.close()
            await srv.wait_closed()

    async def test_nobody_listening(self) -> None:
        srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        srv.close()
        await srv.wait_closed()
        client = AMIClient("127.0.0.1", port, "olive", "x", keepalive=0)
        with pytest.raises(OSError):
            await client.connect()

    @pytest.mark.parametrize(
        ("field", "value"),
        [("secret", "hunter2\r\nAction: Command"), ("username", "olive\n"), ("events", "on\r")],
        ids=["secret", "username", "events"],
    )
    def test_credentials_with_line_breaks_are_refused_at_once(self, field: str, value: str) -> None:
        kwargs = {"username": "olive", "secret": "hunter2", field: value}
        with pytest.raises(AMIValueError) as info:
            AMIClient("127.0.0.1", 5038, **kwargs)  # type: ignore[arg-type]
        assert "hunter2" not in str(info.value)


class TestSendAction:
    async def test_response_matched_by_action_id_among_events(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        def queue_add(s: Session, a: Action) -> None:
            s.send(unrelated_event(), unrelated_event())
            s.send(Event((("Event", "OriginateResponse"), ("ActionID", "someone-else"),
                          ("Response", "Success"), ("Reason", "4"))))
            s.respond(Action((("Action", "QueueAdd"), ("ActionID", "someone-else"))),
                      Message="not yours")
            s.respond(a, Message="Added interface to queue")
            s.send(unrelated_event())

        server.on("QueueAdd", queue_add)
        client = await connected(make_client)
        seen = events_into(client)
        response = await client.send_action(
            action("QueueAdd", Queue="olive-campaign", Interface="Local/101@agents")
        )
        assert response.message == "Added interface to queue"
        assert response.action_id == server.actions[-1].action_id
        await barrier(client)
        assert [e.name for e in seen] == [
            "DeviceStateChange", "DeviceStateChange", "OriginateResponse", "DeviceStateChange",
        ]

    async def test_concurrent_actions_answered_out_of_order(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        held: list[tuple[Session, Action]] = []
        server.on("QueuePause", lambda s, a: held.append((s, a)))
        client = await connected(make_client)
        first = asyncio.create_task(client.send_action(action("QueuePause", Interface="A")))
        second = asyncio.create_task(client.send_action(action("QueuePause", Interface="B")))
        await server.wait_action("QueuePause", 2)
        for s, a in reversed(held):
            s.respond(a, Message=f"paused {a['Interface']}")
        assert (await first).message == "paused A"
        assert (await second).message == "paused B"

    async def test_error_response_raises(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.on("QueueRemove", lambda s, a: s.respond(a, "Error", Message="Interface not found"))
        client = await connected(make_client)
        with pytest.raises(AMIActionError, match="Interface not found") as info:
            await client.send_action(action("QueueRemove", Queue="q", Interface="X"))
        assert info.value.action == "QueueRemove"
        assert info.value.response.response == "Error"

    async def test_error_response_returned_when_not_checked(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.on("QueueRemove", lambda s, a: s.respond(a, "Error", Message="nope"))
        client = await connected(make_client)
        response = await client.send_action(action("QueueRemove"), check=False)
        assert not response.ok and response.message == "nope"

    async def test_timeout(self, server: FakeAsterisk, make_client: ClientFactory) -> None:
        server.hold("Originate")
        client = await connected(make_client)
        with pytest.raises(AMITimeout, match="Originate"):
            await client.send_action(originate(), timeout=0.05)
        # The answer that comes late is dropped, and the client goes on working.
        (session,) = server.sessions
        session.respond(server.actions[-1], Message="Originate successfully queued")
        await barrier(client)
        assert client.connected

    async def test_line_break_sends_nothing(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        client = await connected(make_client)
        (session,) = server.sessions
        before = bytes(session.raw)
        evil = Action((("Action", "Originate"), ("Channel", "PJSIP/1001\r\nAction: Command"),
                       ("Async", "true")))
        with pytest.raises(AMIValueError, match="Channel"):
            await client.send_action(evil)
        with pytest.raises(AMIValueError, match="Variable"):
            await client.send_action(
                Action((("Action", "Originate"), ("Variable", "x=1\nAction: Originate")))
            )
        await barrier(client)
        ping = server.actions[-1]
        assert ping.name == "Ping"
        assert server.count("Originate") == 0 and server.count("Command") == 0
        assert bytes(session.raw)[len(before):] == (
            f"Action: Ping\r\nActionID: {ping.action_id}\r\n\r\n".encode()
        )

    async def test_not_connected(self, make_client: ClientFactory) -> None:
        client = make_client()
        with pytest.raises(AMIConnectionLost, match="not connected"):
            await client.send_action(action("Ping"))

    async def test_keeps_an_explicit_action_id(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        client = await connected(make_client)
        response = await client.send_action(action("Ping", ActionID="mine-1"))
        assert response.action_id == "mine-1" == server.actions[-1].action_id

    async def test_an_action_id_already_pending_is_refused(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Originate")
        client = await connected(make_client)
        first = asyncio.create_task(client.send_action(originate().with_action_id("dup")))
        await server.wait_action("Originate")
        with pytest.raises(AMIValueError, match="dup"):
            await client.send_action(originate("call_2").with_action_id("dup"))
        await barrier(client)
        assert server.count("Originate") == 1
        (session,) = server.sessions
        session.respond(server.actions[-2], Message="Originate successfully queued")
        assert (await first).message == "Originate successfully queued"

    async def test_a_cancelled_action_frees_its_action_id(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Originate")
        client = await connected(make_client)
        task = asyncio.create_task(client.send_action(originate().with_action_id("again")))
        await server.wait_action("Originate")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        server.on("Originate", lambda s, a: s.respond(a, Message="queued"))
        response = await client.send_action(originate("call_2").with_action_id("again"))
        assert response.message == "queued"


class TestSendListAction:
    async def test_replays_a_recorded_queue_status(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        response, items = recorded_list("16_queue_status_snapshot", "16_queue_status_snapshot-4")

        def queue_status(s: Session, a: Action) -> None:
            for message in with_action_id([response, *items], a.action_id or ""):
                s.send(message, unrelated_event())

        server.on("QueueStatus", queue_status)
        client = await connected(make_client)
        seen = events_into(client)
        got, events = await client.send_list_action(action("QueueStatus", Queue="olive-campaign"))
        assert got.starts_list and got.message == "Queue status will follow"
        assert [e.name for e in events] == ["QueueParams", "QueueMember", "QueueMember"]
        members = [parse_event(e) for e in events[1:]]
        assert all(isinstance(m, QueueMemberState) for m in members)
        assert {m.interface for m in members if isinstance(m, QueueMemberState)} == {
            "Local/101@agents", "Local/102@agents",
        }
        await barrier(client)
        assert {e.name for e in seen} == {"DeviceStateChange"}  # the list went to the list

    async def test_completes_only_at_its_own_complete(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        held: dict[str, tuple[Session, Action]] = {}
        server.on("QueueStatus", lambda s, a: held.__setitem__("qs", (s, a)))
        server.on("CoreShowChannels", lambda s, a: held.__setitem__("cs", (s, a)))
        client = await connected(make_client)
        seen = events_into(client)
        qs = asyncio.create_task(client.send_list_action(action("QueueStatus")))
        cs = asyncio.create_task(client.send_list_action(action("CoreShowChannels")))
        await server.wait_for(lambda: len(held) == 2)
        (s, qa), (_, ca) = held["qs"], held["cs"]
        q_id, c_id = qa.action_id or "", ca.action_id or ""

        def item(name: str, action_id: str, n: int) -> Event:
            return Event((("Event", name), ("ActionID", action_id), ("N", str(n))))

        def complete(name: str, action_id: str, count: int) -> Event:
            return Event((("Event", name), ("ActionID", action_id), ("EventList", "Complete"),
                          ("ListItems", str(count))))

        s.respond(qa, EventList="start", Message="Queue status will follow")
        s.respond(ca, EventList="start", Message="Channels will follow")
        s.send(
            item("QueueMember", q_id, 1),
            item("CoreShowChannel", c_id, 1),
            unrelated_event(),
            complete("QueueStatusComplete", "someone-elses-list", 0),
            complete("CoreShowChannelsComplete", c_id, 1),
            item("QueueMember", q_id, 2),
        )
        _, channels = await cs
        assert [e["N"] for e in channels] == ["1"]
        await barrier(client)
        assert not qs.done()
        s.send(complete("QueueStatusComplete", q_id, 2))
        _, members = await qs
        assert [(e.name, e["N"]) for e in members] == [("QueueMember", "1"), ("QueueMember", "2")]
        assert [e.name for e in seen] == ["DeviceStateChange", "QueueStatusComplete"]

    async def test_a_cancelled_list_leaves_its_late_items_to_the_handlers(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        """Only an open list's items are taken from the stream (the client looks no ActionID up
        otherwise): once the caller gave up, what comes late is an event like any other, and an
        event with the ActionID of a pending action that is no list (OriginateResponse) is too."""
        held: dict[str, tuple[Session, Action]] = {}
        server.on("QueueStatus", lambda s, a: held.__setitem__("qs", (s, a)))
        server.hold("Originate")
        client = await connected(make_client)
        seen = events_into(client)
        qs = asyncio.create_task(client.send_list_action(action("QueueStatus")))
        await server.wait_for(lambda: "qs" in held)
        s, qa = held["qs"]
        q_id = qa.action_id or ""
        s.respond(qa, EventList="start", Message="Queue status will follow")
        s.send(Event((("Event", "QueueMember"), ("ActionID", q_id), ("N", "1"))))
        await barrier(client)
        assert seen == [] and not qs.done()
        qs.cancel()
        with pytest.raises(asyncio.CancelledError):
            await qs
        orig = asyncio.create_task(client.send_action(originate().with_action_id("orig-1")))
        await server.wait_action("Originate")
        s.send(
            Event((("Event", "QueueMember"), ("ActionID", q_id), ("N", "2"))),
            Event((("Event", "QueueStatusComplete"), ("ActionID", q_id), ("EventList", "Complete"))),
            Event((("Event", "OriginateResponse"), ("ActionID", "orig-1"), ("Response", "Success"))),
        )
        await barrier(client)
        assert [e.name for e in seen] == ["QueueMember", "QueueStatusComplete", "OriginateResponse"]
        assert not orig.done()
        orig.cancel()
        with pytest.raises(asyncio.CancelledError):
            await orig

    async def test_error_response_raises(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.on("QueueStatus", lambda s, a: s.respond(a, "Error", Message="No such queue"))
        client = await connected(make_client)
        with pytest.raises(AMIActionError, match="No such queue"):
            await client.send_list_action(action("QueueStatus", Queue="nope"))


class TestConnectionDrop:
    async def test_every_pending_action_fails(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Originate")
        server.hold("QueueAdd")

        def half_a_list(s: Session, a: Action) -> None:
            s.respond(a, EventList="start")
            s.send(Event((("Event", "QueueMember"), ("ActionID", a.action_id or ""))))

        server.on("QueueStatus", half_a_list)
        client = await connected(make_client)
        drops: list[BaseException | None] = []
        client.on_disconnect(drops.append)
        tasks = [
            asyncio.create_task(client.send_action(originate("call_1"))),
            asyncio.create_task(client.send_action(originate("call_2"))),
            asyncio.create_task(client.send_action(action("QueueAdd", Queue="q"))),
            asyncio.create_task(client.send_list_action(action("QueueStatus"))),
        ]
        await server.wait_for(lambda: len(server.actions) == 5)
        server.sessions[0].drop()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert [type(r) for r in results] == [AMIConnectionLost] * 4
        assert "will not be re-sent" in str(results[0])
        assert len(drops) == 1 and drops[0] is not None
        assert not client.connected
        with pytest.raises(AMIConnectionLost):
            await client.send_action(action("Ping"))

    async def test_pending_actions_fail_when_the_peer_closes(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Originate")
        client = await connected(make_client)
        task = asyncio.create_task(client.send_action(originate()))
        await server.wait_action("Originate")
        await server.sessions[0].close()
        with pytest.raises(AMIConnectionLost):
            await task


class TestStart:
    async def test_reconnects_and_never_resends_an_originate(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Originate")
        client = make_client()
        await client.start()
        await client.wait_connected(timeout=5)
        tasks = [asyncio.create_task(client.send_action(originate(f"call_{i}"))) for i in (1, 2)]
        await server.wait_action("Originate", 2)
        server.sessions[0].drop()
        for task in tasks:
            with pytest.raises(AMIConnectionLost):
                await task
        second = await server.wait_logins(2)
        await client.wait_connected(timeout=5)
        await barrier(client)  # after FullyBooted, where panoramisk re-sends
        assert client.connections == 2
        assert server.count("Originate") == 2  # once each, on the first connection only
        assert [a.name for a in second.actions] == ["Login", "Ping"]
        assert sorted(a["ChannelId"] for a in server.actions if a.name == "Originate") == [
            "call_1", "call_2",
        ]

    async def test_on_connect_hooks_run_after_each_login(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        response, items = recorded_list("16_queue_status_snapshot", "16_queue_status_snapshot-4")
        server.on("QueueStatus", lambda s, a: s.send(*with_action_id([response, *items], a.action_id or "")))
        client = make_client()
        snapshots: asyncio.Queue[int] = asyncio.Queue()

        async def reconcile() -> None:
            _, members = await client.send_list_action(action("QueueStatus"))
            snapshots.put_nowait(len(members))

        client.on_connect(reconcile)
        await client.start()
        assert await asyncio.wait_for(snapshots.get(), 10) == 3
        server.sessions[0].drop()
        assert await asyncio.wait_for(snapshots.get(), 10) == 3
        assert client.connections == 2
        assert [[a.name for a in s.actions] for s in server.sessions] == [
            ["Login", "QueueStatus"], ["Login", "QueueStatus"],
        ]

    async def test_a_failing_hook_does_not_stop_the_others(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        client = make_client()
        ran: list[str] = []

        async def broken() -> None:
            raise RuntimeError("boom")

        async def fine() -> None:
            ran.append("fine")

        client.on_connect(broken)
        client.on_connect(fine)
        await client.connect()
        assert ran == ["fine"] and client.connected

    async def test_retries_a_refused_login(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        real = server.secret
        server.secret = "changed-on-the-pbx"
        client = make_client(secret=real)
        await client.start()
        await server.wait_action("Login", 2)
        assert not client.connected
        server.secret = real
        await client.wait_connected(timeout=5)
        assert client.connections == 1
        assert client.login_refusals == 0, "a login resets the count"

    async def test_a_refused_login_says_who_where_and_what_to_check(
        self, server: FakeAsterisk, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        client = make_client(secret="wrong")
        await client.start()
        await server.wait_action("Login", 3)  # the third try comes after the second refusal was counted
        assert client.login_refusals >= 2
        expected = f"authentication failed for user {server.username!r} on 127.0.0.1:{server.port}: check the secret and manager.conf"
        assert any(expected in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
        assert "wrong" not in caplog.text


class TestKeepalive:
    async def test_a_dead_peer_is_detected(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Ping")
        server.hold("Originate")
        client = await connected(make_client, keepalive=0.02)
        drops: asyncio.Queue[BaseException | None] = asyncio.Queue()
        client.on_disconnect(drops.put_nowait)
        task = asyncio.create_task(client.send_action(originate()))
        assert isinstance(await asyncio.wait_for(drops.get(), 10), AMITimeout)
        with pytest.raises(AMIConnectionLost):
            await task
        assert server.count("Ping") >= 1
        assert not client.connected

    async def test_reconnects_after_a_dead_peer(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Ping")
        client = make_client(keepalive=0.02)
        await client.start()
        await server.wait_action("Ping")
        server.on("Ping", lambda s, a: s.respond(a, Ping="Pong"))
        await server.wait_logins(2)
        await client.wait_connected(timeout=5)

    async def test_an_error_answer_to_ping_is_still_a_live_peer(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.on("Ping", lambda s, a: s.respond(a, "Error", Message="Permission denied"))
        client = await connected(make_client, keepalive=0.01)
        await server.wait_action("Ping", 3)
        assert client.connected and len(server.sessions) == 1


class TestClose:
    async def test_logs_off_and_fails_pending(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        server.hold("Originate")
        client = await connected(make_client)
        task = asyncio.create_task(client.send_action(originate()))
        await server.wait_action("Originate")
        await client.close()
        with pytest.raises(AMIConnectionLost):
            await task
        assert server.count("Logoff") == 1
        assert not client.connected

    async def test_a_clean_close_is_not_reported_as_an_error(
        self, server: FakeAsterisk, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="olive.ami")
        client = await connected(make_client)
        drops: list[BaseException | None] = []
        client.on_disconnect(drops.append)
        await client.close()
        assert drops == [None]
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    async def test_a_stopped_client_stays_down(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        client = make_client()
        await client.start()
        await client.wait_connected(timeout=5)
        await client.close()
        # A reconnect would log in again: give it a round trip on a fresh client to show up.
        other = await connected(make_client)
        await barrier(other)
        assert server.count("Login") == 2 and not client.connected


class TestLogging:
    async def test_the_secret_never_reaches_the_log(
        self, server: FakeAsterisk, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        refused = make_client(secret="wrong-" + server.secret)
        with pytest.raises(AMIAuthenticationError):
            await refused.connect()
        client = make_client()
        await client.start()
        await client.wait_connected(timeout=5)
        await client.send_action(action("Ping"))
        server.sessions[-1].drop()
        await server.wait_logins(2)
        await client.wait_connected(timeout=5)
        await client.close()
        assert "Login" in caplog.text and "***" in caplog.text  # the log was on
        assert server.secret not in caplog.text


class TestOnEvent:
    async def test_handlers_and_unsubscribe(
        self, server: FakeAsterisk, make_client: ClientFactory
    ) -> None:
        client = await connected(make_client)
        first: list[str] = []
        second: list[str] = []

        def broken(event: Event) -> None:
            raise RuntimeError("handler bug")

        client.on_event(broken)
        unsubscribe = client.on_event(lambda e: first.append(e.name))
        client.on_event(lambda e: second.append(e.name))
        server.sessions[0].event("Newchannel", Channel="PJSIP/1", Uniqueid="1")
        await barrier(client)
        unsubscribe()
        server.sessions[0].event("Hangup", Channel="PJSIP/1", Uniqueid="1")
        await barrier(client)
        assert first == ["Newchannel"]
        assert second == ["Newchannel", "Hangup"]


class TestBackoff:
    def test_doubles_up_to_the_maximum_with_jitter(self) -> None:
        backoff = Backoff(initial=1.0, maximum=8.0)
        delays = [backoff.next_delay() for _ in range(6)]
        for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
            assert 0.8 * base <= delay <= 1.2 * base
        backoff.reset()
        assert 0.8 <= backoff.next_delay() <= 1.2

    def test_a_long_outage_does_not_overflow(self) -> None:
        backoff = Backoff(initial=0.5, maximum=30.0)
        for _ in range(5000):  # about 40 hours of retries 30 s apart
            assert backoff.next_delay() <= 36.0


class TestRedacted:
    def test_secrets_are_hidden(self) -> None:
        headers = (("Action", "Login"), ("Username", "olive"), ("secret", "s"), ("Key", "k"))
        assert redacted(headers) == {
            "Action": "Login", "Username": "olive", "secret": "***", "Key": "***",
        }
