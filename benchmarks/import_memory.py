"""Peak memory and event-loop lag of a large CSV import through the API's code path.

    python benchmarks/import_memory.py --rows 1000000            # streaming (now)
    python benchmarks/import_memory.py --rows 200000 --mode whole  # the previous, all-in-memory path
    python benchmarks/import_memory.py --rows 200000 --stages      # what each stage holds (tracemalloc)

A CSV of N rows (phone, name, external_ref, one variable) is written to /tmp
and handed to the import as the API hands it the spooled request body (an
open file; "whole" reads it into memory first); the import runs in a worker
thread, as the API runs it, into a fresh SQLite database under /tmp, while
the event loop ticks every 10 ms and records how late each tick is. Printed:
peak RSS of this process (it ran nothing else), the time taken, and the
loop's lag (median, p99, max).

With ``--stages`` the streaming import runs under tracemalloc instead (about
five times slower) and each stage's memory is printed, in MB of Python
allocations above what the process held before the import: what stays held
after the stage and the peak during it. Run it at two sizes: a stage whose
figures grow with the rows is what grows with N.
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

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from olive.store import DialList, make_engine, make_sessionmaker, migrate, transaction


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,name,external_ref,account\n")
        for i in range(rows):
            out.write(f"+1202{5550000 + i % 10000:07d},Contact {i},R-{i:07d},{i % 977}\n")


def prepare(rows: int, directory: Path) -> tuple[Path, Engine, sessionmaker[Session], str]:
    """A CSV of ``rows`` rows, a fresh SQLite database under ``directory`` and an empty dial list in it."""
    csv_path = directory / "contacts.csv"
    write_csv(csv_path, rows)
    engine = make_engine(f"sqlite:///{directory / 'import.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        dial_list = DialList(name="import", default_region="US")
        session.add(dial_list)
        session.flush()
        return csv_path, engine, sessions, dial_list.id


async def main_async(rows: int, mode: str, directory: Path) -> dict[str, float]:
    from olive.api._contacts import service

    csv_path, engine, sessions, list_id = prepare(rows, directory)

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


def stages(rows: int, directory: Path) -> list[tuple[str, float, float]]:
    """(stage, MB held after it, MB peak during it) of a streaming import of ``rows`` rows."""
    import tracemalloc

    from olive.api._contacts import rows as contact_rows
    from olive.api._contacts import service

    csv_path, engine, sessions, list_id = prepare(rows, directory)
    found: dict[str, tuple[float, float]] = {}
    names = {"spool_csv": "check every row (and find duplicates)", "_refs_free": "refs against the list",
             "_import_batch": "insert, batch by batch"}

    def traced(module: object, name: str) -> None:
        real = getattr(module, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            tracemalloc.reset_peak()
            try:
                return real(*args, **kwargs)
            finally:
                held, peak = (b / 1e6 - start for b in tracemalloc.get_traced_memory())
                before = found.get(names[name], (0.0, 0.0))
                found[names[name]] = (held, max(peak, before[1]))

        setattr(module, name, wrapper)

    traced(contact_rows, "spool_csv")
    traced(service, "_refs_free")
    traced(service, "_import_batch")
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0] / 1e6
    with csv_path.open("rb") as upload:
        service.import_csv(sessions, list_id, upload)
    tracemalloc.stop()
    engine.dispose()
    return [(name, held, peak) for name, (held, peak) in found.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=["stream", "whole"], default="stream")
    parser.add_argument("--stages", action="store_true", help="each stage's memory under tracemalloc (stream mode)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="olive-import-", dir=os.environ.get("TMPDIR", "/tmp")) as directory:
        if args.stages:
            for name, held, peak in stages(args.rows, Path(directory)):
                print(f"| {args.rows:,} | {name} | {held:.1f} MB | {peak:.1f} MB |")
            return 0
        result = asyncio.run(main_async(args.rows, args.mode, Path(directory)))
    print(
        f"| {args.mode} | {result['rows']:,} | {result['csv_mb']:.0f} MB | {result['seconds']:.0f} s | "
        f"{result['peak_rss_mb']:.0f} MB | {result['lag_median_ms']:.1f} / {result['lag_p99_ms']:.1f} / "
        f"{result['lag_max_ms']:.0f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
