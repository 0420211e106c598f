"""Peak memory and event-loop lag of a large CSV import through the API's code path.

    python benchmarks/import_memory.py --rows 1000000            # streaming (now)
    python benchmarks/import_memory.py --rows 200000 --mode whole  # the previous, all-in-memory path

A CSV of N rows (phone, name, external_ref, one variable) is written to /tmp
and handed to the import as the API hands it the spooled request body (an
open file; "whole" reads it into memory first); the import runs in a worker
thread, as the API runs it, into a fresh SQLite database under /tmp, while
the event loop ticks every 10 ms and records how late each tick is. Printed:
peak RSS of this process (it ran nothing else), the time taken, and the
loop's lag (median, p99, max).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from olive.store import DialList, make_engine, make_sessionmaker, migrate, transaction


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,name,external_ref,account\n")
        for i in range(rows):
            out.write(f"+1202{5550000 + i % 10000:07d},Contact {i},R-{i:07d},{i % 977}\n")


async def main_async(rows: int, mode: str, directory: Path) -> dict[str, float]:
    from olive.api._contacts import service

    csv_path = directory / "contacts.csv"
    write_csv(csv_path, rows)
    engine = make_engine(f"sqlite:///{directory / 'import.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        dial_list = DialList(name="import", default_region="US")
        session.add(dial_list)
        session.flush()
        list_id = dial_list.id

    def run() -> int:
        if mode == "stream":  # the file, as the API now spools the request body to one
            with csv_path.open("rb") as upload:
                return service.import_csv(sessions, list_id, upload).imported
        with transaction(sessions) as session:
            return service.import_rows(session, list_id, "text/csv", csv_path.read_bytes()).imported

    lags: list[float] = []
    done = False

    async def heartbeat() -> None:
        loop = asyncio.get_running_loop()
        while not done:
            before = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - before - 0.01)

    beat = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    imported = await asyncio.to_thread(run)
    took = time.perf_counter() - start
    done = True
    await beat
    engine.dispose()
    assert imported == rows, imported
    lags.sort()
    return {
        "rows": rows,
        "seconds": took,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "csv_mb": csv_path.stat().st_size / 1e6,
        "lag_median_ms": statistics.median(lags) * 1000,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
        "lag_max_ms": lags[-1] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=["stream", "whole"], default="stream")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="olive-import-", dir=os.environ.get("TMPDIR", "/tmp")) as directory:
        result = asyncio.run(main_async(args.rows, args.mode, Path(directory)))
    print(
        f"| {args.mode} | {result['rows']:,} | {result['csv_mb']:.0f} MB | {result['seconds']:.0f} s | "
        f"{result['peak_rss_mb']:.0f} MB | {result['lag_median_ms']:.1f} / {result['lag_p99_ms']:.1f} / "
        f"{result['lag_max_ms']:.0f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
