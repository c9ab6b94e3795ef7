"""A process to kill: one live `run_channel` pass over a generated channel (tests/reliability/streams.py).

    python -m tests.reliability.crash_worker --dsn DSN --seed 7 --messages 1500 --epoch 1 --batch 50

It serves the stream's state at the given epoch through `FakeLiveSource` and runs one incremental pass with a
full rescan, exactly as `wirewatch ingest` would for a channel; the crash tests SIGKILL it at chosen points.
Exit code 0 when the run succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from ingest.run.channel import run_channel
from ingest.warehouse.db import connect
from tests.reliability.streams import FakeLiveSource, SimClock, generate_stream, spec_for

FULL_RESCAN_HOURS = 24.0 * 365


def run_epoch(conn, *, seed: int, messages: int, epochs: int, epoch: int, batch: int, channel_id: int):
    """One pass at `epoch` (also what the tests call in-process for the clean state and re-runs)."""
    stream = generate_stream(seed, messages=messages, epochs=epochs, channel_id=channel_id)
    clock = SimClock(stream.t(epoch) + timedelta(minutes=1))
    source = FakeLiveSource(stream, clock, batch_size=batch)
    return run_channel(conn, spec_for(stream), source, rescan_hours=FULL_RESCAN_HOURS, now=clock())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--epoch", type=int, required=True)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--channel-id", type=int, default=1_700_000_003)
    args = ap.parse_args(argv)
    with connect(args.dsn) as conn:
        summary = run_epoch(
            conn, seed=args.seed, messages=args.messages, epochs=args.epochs, epoch=args.epoch, batch=args.batch,
            channel_id=args.channel_id,
        )  # fmt: skip
    print(summary.status, summary.error or "")
    return 0 if summary.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
