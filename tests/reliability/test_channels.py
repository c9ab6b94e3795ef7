"""Channel identity over re-runs: a channel that changes its username, watched with its numeric id configured in
channels.toml under the old handle (the normal case: the file is not edited the hour the channel renames).

Found: every run first records the configured (old) handle (pipeline.resolve_channel), then the posts it loads
record the platform's (new) handle, so each run closes and reopens both aliases: channel_aliases grows by two
rows a run, and a run that loads no post leaves `channels.handle` at the stale name. The warehouse then depends
on how many runs happened. Fix proposed in the report (a configured handle names a channel only until the
platform has told us its handle).
"""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import truncate_all
from tests.reliability.schedules import FULL, Runner
from tests.reliability.state import snapshot
from tests.reliability.streams import generate_stream


def _renamed_stream():
    stream = generate_stream(31, messages=20, epochs=3)
    stream.renamed = (1, stream.handle + "_new")
    return stream


def _aliases(conn) -> list[tuple[str, bool]]:
    rows = conn.execute(
        "SELECT handle, valid_to IS NULL FROM channel_aliases ORDER BY valid_from, handle"
    ).fetchall()
    conn.commit()
    return rows


@pytest.mark.parametrize(
    "configured_id",
    [
        False,
        True,
    ],
)
def test_rename_is_recorded_once(db, configured_id):
    stream = _renamed_stream()
    with psycopg.connect(db) as conn:
        r = Runner(conn, stream, 5, configured_id, False)
        for k in range(stream.epochs):
            for i, rescan in enumerate((FULL, 0.0, 0.0)):  # the hourly pass, then two quiet re-runs
                r.at(k, 1 + 10 * i)
                r.run(("cursor", rescan), k)
        aliases = _aliases(conn)
        handle = conn.execute("SELECT handle FROM channels").fetchone()[0]
    assert aliases == [(stream.handle, False), (stream.handle + "_new", True)]
    assert handle == stream.handle + "_new"


def test_runs_per_hour_do_not_change_the_channel_tables(db):
    stream = _renamed_stream()
    with psycopg.connect(db) as conn:
        once = Runner(conn, stream, 5, True, False)
        for k in range(stream.epochs):
            once.at(k, 1)
            once.run(("cursor", FULL), k)
        expected = snapshot(conn)
        truncate_all(db)
        thrice = Runner(conn, stream, 5, True, False)
        for k in range(stream.epochs):
            for i in range(3):
                thrice.at(k, 1 + 10 * i)
                thrice.run(("cursor", FULL), k)
        diff = expected.diff(snapshot(conn))
    assert not diff, diff
