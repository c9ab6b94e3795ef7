"""Two imports of one channel's posts racing in opposite orders: the captures and the race, shared by the fault
tests (a short race in the fast set) and the racing-imports stress test."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ingest.run import reconnecting
from tests.reliability.streams import generate_stream, write_jsonl


def opposite_captures(tmp_path: Path, seed: int, messages: int, channel_id: int) -> tuple[Path, Path]:
    """The same synthetic capture twice, the second with its lines in reverse order (same file name, so both
    import as one channel)."""
    stream = generate_stream(seed, messages=messages, epochs=1, channel_id=channel_id)
    forward = tmp_path / "a" / f"capsynth_{channel_id}.jsonl"
    backward = tmp_path / "b" / f"capsynth_{channel_id}.jsonl"
    forward.parent.mkdir()
    backward.parent.mkdir()
    write_jsonl(stream, 0, forward)
    lines = forward.read_text().splitlines(keepends=True)
    backward.write_text("".join(reversed(lines)))
    return forward, backward


def race(
    db: str, forward: Path, backward: Path, batch_size: int, timeout: float
) -> tuple[dict[str, object], float]:
    """Both imports started together on their own connections; each result is its summaries or the exception it
    raised. Returns them with the seconds the race took."""
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def run(name: str, path: Path) -> None:
        barrier.wait()
        try:
            results[name] = reconnecting.import_paths(db, [path], "telethon-jsonl", batch_size=batch_size)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            results[name] = exc

    threads = [
        threading.Thread(target=run, args=("forward", forward)),
        threading.Thread(target=run, args=("backward", backward)),
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results, time.monotonic() - started
