"""AMI decoding speed: olive's codec against panoramisk and a bare split, same bytes, same run.

    pip install -e '.[bench]'
    python benchmarks/codec.py                 # ~50 MB, 5 rounds, a table
    python benchmarks/codec.py --mb 10 --rounds 3 --json

The bytes are what real Asterisk 22 sent in the recorded transcripts
(``/work/shared/asterisk-22/transcripts`` when present, else
``tests/fixtures/asterisk-22/transcripts``): every received message but the
banner, concatenated and repeated to the size asked, after one banner. They
are built in memory; nothing is written to disk.

Every decoder is fed the same 64 KiB reads, as a socket would deliver them.
The rounds run the decoders in turn (a, b, c, d, a, b, ...) and each is timed
in CPU seconds of this process (``time.process_time``), so time spent waiting
for a core on a shared machine is not counted; the table shows each one's
median, as messages per CPU-second.

* ``bare split``: frame on ``\\r\\n\\r\\n``, decode, split lines into a dict.
  No validation, no types, no limits: the floor any parser sits above.
* ``panoramisk``: ``AMIProtocol.data_received`` of panoramisk (decodes each
  read before framing; messages become case-insensitive dicts).
* ``olive raw``: :class:`olive.ami.AMICodec` (frames bytes, validates every
  header line, bounds message size, returns ``Event``/``Response``).
* ``olive typed``: the same, then :func:`olive.ami.parse_event` on every event
  (a typed dataclass for each event olive models).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

CHUNK = 65536
_HERE = Path(__file__).resolve().parent
TRANSCRIPT_DIRS = (
    Path("/work/shared/asterisk-22/transcripts"),
    _HERE.parent / "tests" / "fixtures" / "asterisk-22" / "transcripts",
)
_MARK = re.compile(r"^#\s+[+-]\d+\.\d+s (recv|sent)$")
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def transcript_dir() -> Path:
    for path in TRANSCRIPT_DIRS:
        if path.is_dir() and any(path.glob("*.txt")):
            return path
    raise SystemExit("no AMI transcripts found in " + ", ".join(map(str, TRANSCRIPT_DIRS)))


def received_messages(path: Path) -> list[bytes]:
    """The messages Asterisk sent in one transcript, as wire bytes (CRLF), banner left out."""
    raw = path.read_text().partition("# ===== FULL RAW TRANSCRIPT")[2].partition("\n")[2]
    out: list[bytes] = []
    direction: str | None = None
    lines: list[str] = []
    for line in [*raw.split("\n"), ""]:
        mark = _MARK.match(line)
        if mark:
            direction, lines = mark.group(1), []
        elif line == "":
            if direction == "recv" and lines and not (len(lines) == 1 and ":" not in lines[0]):
                out.append("".join(f"{text}\r\n" for text in lines).encode() + b"\r\n")
            direction, lines = None, []
        elif direction is not None:
            lines.append(line)
    return out


def corpus(megabytes: float, directory: Path | None = None) -> tuple[bytes, int]:
    """A banner, then the recorded messages repeated to about ``megabytes``; and their count."""
    messages = [m for p in sorted((directory or transcript_dir()).glob("*.txt")) for m in received_messages(p)]
    one = b"".join(messages)
    times = max(1, round(megabytes * 1_000_000 / len(one)))
    return BANNER + one * times, len(messages) * times


def chunks(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# Each decoder takes the reads and returns how many messages it produced.


def bare_split(reads: list[bytes]) -> int:
    n = 0
    tail = b""
    for data in reads:
        frames = (tail + data).split(b"\r\n\r\n")
        tail = frames.pop()
        for frame in frames:
            message = {k: v for k, _, v in (line.partition(": ") for line in frame.decode().split("\r\n"))}
            n += bool(message)
    return n


def panoramisk_protocol(reads: list[bytes]) -> int:
    from panoramisk.ami_protocol import AMIProtocol

    count = [0]

    class Counting(AMIProtocol):  # type: ignore[misc]
        def handle_message(self, message: object) -> None:
            count[0] += 1

    protocol = Counting()
    protocol.connection_made(None)
    for data in reads:
        protocol.data_received(data)
    return count[0]


def olive_raw(reads: list[bytes]) -> int:
    from olive.ami import NEED_DATA, AMICodec

    codec = AMICodec()
    n = 0
    for data in reads:
        codec.receive_data(data)
        while codec.next_message() is not NEED_DATA:
            n += 1
    return n - 1  # the banner


def olive_typed(reads: list[bytes]) -> int:
    from olive.ami import NEED_DATA, AMICodec, Event, parse_event

    codec = AMICodec()
    n = 0
    for data in reads:
        codec.receive_data(data)
        while (message := codec.next_message()) is not NEED_DATA:
            n += 1
            if isinstance(message, Event):
                parse_event(message)
    return n - 1


DECODERS: dict[str, Callable[[list[bytes]], int]] = {
    "bare split": bare_split,
    "panoramisk": panoramisk_protocol,
    "olive raw": olive_raw,
    "olive typed": olive_typed,
}


def have_panoramisk() -> bool:
    try:
        import panoramisk  # noqa: F401
    except ImportError:
        return False
    return True


def measure(megabytes: float, rounds: int) -> dict[str, object]:
    data, expected = corpus(megabytes)
    reads = chunks(data)
    names = [n for n in DECODERS if n != "panoramisk" or have_panoramisk()]
    seconds: dict[str, list[float]] = {n: [] for n in names}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        for name in names:
            start = time.process_time()
            counts[name] = DECODERS[name](reads)
            seconds[name].append(time.process_time() - start)
    rates = {n: expected / statistics.median(s) for n, s in seconds.items()}
    return {
        "bytes": len(data),
        "messages": expected,
        "rounds": rounds,
        "counts": counts,
        "median_s": {n: statistics.median(s) for n, s in seconds.items()},
        "messages_per_s": rates,
        "vs_bare_split": {n: r / rates["bare split"] for n, r in rates.items()},
        "vs_panoramisk": {n: r / rates["panoramisk"] for n, r in rates.items()} if "panoramisk" in rates else {},
    }


def table(result: dict[str, object]) -> str:
    rates: dict[str, float] = result["messages_per_s"]  # type: ignore[assignment]
    bare: dict[str, float] = result["vs_bare_split"]  # type: ignore[assignment]
    pano: dict[str, float] = result["vs_panoramisk"]  # type: ignore[assignment]
    lines = [
        f"{result['bytes'] / 1e6:.1f} MB, {result['messages']} messages, median of {result['rounds']} rounds",
        "",
        "| decoder | messages/s | vs bare split | vs panoramisk |",
        "|---|---:|---:|---:|",
    ]
    for name, rate in rates.items():
        vs = f"{pano[name]:.2f}" if name in pano else "-"
        lines.append(f"| {name} | {rate / 1000:,.0f}k | {bare[name]:.2f} | {vs} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the byte stream (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each decoder (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not have_panoramisk():
        print("panoramisk is not installed (pip install -e '.[bench]'): its column is left out", file=sys.stderr)
    result = measure(args.mb, args.rounds)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
