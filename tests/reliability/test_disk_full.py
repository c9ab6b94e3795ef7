"""A full tablespace (issue 16): the import fails at once with exit 5, naming the cause (the server's disk is full,
SQLSTATE 53100) and the next step, and its run row says the same; it is not retried as a lost connection.

The posts and their raw payloads live on a 2 MB tmpfs tablespace of a PostgreSQL cluster the test owns. Mounting
needs root (or CAP_SYS_ADMIN): elsewhere the test is skipped and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingest.warehouse import migrate
from tests.reliability.ownserver import OwnServer
from tests.reliability.streams import generate_stream, write_jsonl

CHANNEL = 1_700_000_053
#: The tables an import fills, moved onto the small tablespace with their indexes.
_FILLED = ("posts", "raw_records", "post_versions", "post_metrics")


@pytest.fixture
def small_tablespace() -> Iterator[tuple[OwnServer, Path]]:
    mountpoint = Path(tempfile.mkdtemp(prefix="ww-tmpfs-"))
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        mountpoint.rmdir()
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {out.stderr.strip()[:200]}")
    server = None
    try:
        try:
            server = OwnServer()
        except RuntimeError as exc:
            pytest.skip(f"no PostgreSQL cluster of the test's own: {exc}")
        if server.run_as:
            shutil.chown(mountpoint, server.run_as)
        yield server, mountpoint
    finally:
        if server is not None:
            server.destroy()
        subprocess.run(["umount", str(mountpoint)], check=False)
        mountpoint.rmdir()


@pytest.mark.slow
def test_a_full_tablespace_fails_the_import_with_exit_5_and_says_what_to_do(
    small_tablespace, tmp_path, repo_root
):
    server, mountpoint = small_tablespace
    dsn = server.create_db("full")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLESPACE small LOCATION '{mountpoint}'")
        migrate.upgrade(conn)
        for table in _FILLED:
            conn.execute(f"ALTER TABLE {table} SET TABLESPACE small")
            for (index,) in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,)
            ).fetchall():
                conn.execute(f"ALTER INDEX {index} SET TABLESPACE small")
    stream = generate_stream(53, messages=9000, epochs=1, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    write_jsonl(stream, 0, path)
    assert path.stat().st_size > 4 * 2**20  # well over the tablespace

    out = subprocess.run(
        [str(Path(sys.executable).parent / "wirewatch"), "--dsn", dsn, "import", "--format", "telethon-jsonl",
         "--batch-size", "500", str(path)],
        cwd=repo_root, env=os.environ.copy(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 5, (out.returncode, out.stderr[-2000:])
    assert "the database server's disk is full (SQLSTATE 53100)" in out.stderr, out.stderr
    assert "free space on the server's data or temp tablespace, then run the same command again" in out.stderr
    assert "No space left on device" in out.stderr
    assert "connection lost" not in out.stderr and "retry" not in out.stderr and "Traceback" not in out.stderr
    with psycopg.connect(dsn) as conn:
        runs = conn.execute("SELECT status, error FROM ingest_runs").fetchall()
        stored = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    ((status, error),) = runs  # one attempt: a full disk is not retried
    assert status == "failed" and "disk is full (SQLSTATE 53100)" in error and "free space" in error, error
    assert 0 < stored < 9000  # the batches before the disk filled stay committed
