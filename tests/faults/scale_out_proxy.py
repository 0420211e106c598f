"""A TCP proxy in its own process, between olive's nodes and PostgreSQL (tests/faults/test_scale_out.py).

``python scale_out_proxy.py LISTEN_PORT TARGET_PORT`` forwards 127.0.0.1:LISTEN_PORT to
127.0.0.1:TARGET_PORT and prints ``ready`` once listening. SIGUSR1 cuts the database off
(every connection closed at once, new ones closed as they come: what the nodes see when
PostgreSQL stops); SIGUSR2 puts it back. The shared PostgreSQL itself is never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys


async def main(listen: int, target: int) -> None:
    cut = False
    open_writers: set[asyncio.StreamWriter] = set()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            writer.close()
            return
        open_writers.update((writer, up_writer))
        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            open_writers.difference_update((writer, up_writer))

    def set_cut(value: bool) -> None:
        nonlocal cut
        cut = value
        if value:
            for writer in list(open_writers):
                writer.transport.abort()
        print("cut" if value else "restored", flush=True)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, set_cut, True)
    loop.add_signal_handler(signal.SIGUSR2, set_cut, False)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(serve, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
