"""The server side of the AMI codec must be able to write every event the simulator sends."""

from __future__ import annotations

from tests.support.transcripts import load

from olive.ami import AMICodec, Event, Role


class TestServerSendsVarSet:
    def test_varset_event_with_variable_name_header(self) -> None:
        codec = AMICodec(Role.SERVER)
        event = Event((("Event", "VarSet"), ("Variable", "RING"), ("Value", "6")))
        assert codec.send(event) == b"Event: VarSet\r\nVariable: RING\r\nValue: 6\r\n\r\n"

    def test_every_recorded_event_round_trips_through_the_server_codec(self) -> None:
        codec = AMICodec(Role.SERVER)
        for entry in load("10_originate_with_channelid").received():
            if entry.is_banner:
                continue
            headers = tuple(entry.headers())
            message = Event(headers)
            assert codec.send(message) == entry.wire()
