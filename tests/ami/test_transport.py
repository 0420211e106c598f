"""The AMI client over a memory pipe: the same bytes as over TCP, no socket."""

from __future__ import annotations

import asyncio

import pytest

from olive import ami
from olive.clock import ManualClock


class TestMemoryPipe:
    async def test_what_one_end_writes_the_other_reads(self) -> None:
        (a_reader, a_writer), (b_reader, b_writer) = ami.memory_pipe()
        a_writer.write(b"Action: Ping\r\n")
        a_writer.write(b"\r\n")
        assert await b_reader.readexactly(16) == b"Action: Ping\r\n\r\n"
        b_writer.write(b"pong")
        assert await a_reader.readexactly(4) == b"pong"

    async def test_closing_one_end_is_eof_at_both_and_later_writes_are_dropped(self) -> None:
        (a_reader, a_writer), (b_reader, b_writer) = ami.memory_pipe()
        a_writer.write(b"last")
        a_writer.transport.abort()
        assert await b_reader.read() == b"last"
        assert await a_reader.read() == b""
        b_writer.write(b"into the void")  # as on a closed socket: no error, nothing read
        assert a_writer.is_closing()


class TestClientInMemory:
    async def test_login_and_an_action_through_the_simulator_in_memory(self) -> None:
        from olive.sim import SimulatedPBX

        clock = ManualClock()
        pbx = SimulatedPBX("default", clock=clock, username="olive", secret="s3cret")
        await pbx.start_in_memory()
        client = ami.AMIClient("memory", 0, "olive", "s3cret", connector=pbx.connect_in_memory, keepalive=0)
        try:
            await client.connect()
            response = await client.send_action(ami.action("CoreStatus"))
            assert response.ok
            assert [a.action.name for a in pbx.actions] == ["Login", "CoreStatus"]
        finally:
            await client.close()
            await pbx.stop()

    async def test_a_pbx_not_accepting_refuses_the_connection(self) -> None:
        from olive.sim import SimulatedPBX

        pbx = SimulatedPBX("default", clock=ManualClock())
        client = ami.AMIClient("memory", 0, "olive", "olive", connector=pbx.connect_in_memory, keepalive=0)
        with pytest.raises(ConnectionRefusedError):
            await client.connect()


class TestManualClock:
    async def test_sleepers_wake_in_due_order_at_their_due_time(self) -> None:
        clock = ManualClock(start=100.0)
        woke: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append((name, clock.now()))

        tasks = [asyncio.create_task(sleeper("late", 3.0)), asyncio.create_task(sleeper("early", 1.5))]
        await clock.settle()
        await clock.advance(1.0)
        assert woke == [] and clock.now() == 101.0
        await clock.advance(5.0)
        assert woke == [("early", 101.5), ("late", 103.0)]
        assert clock.now() == 106.0
        await asyncio.gather(*tasks)
