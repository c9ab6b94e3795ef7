"""Rebuild bloomberg_4passes.sql.gz: four imports of the 40-post Telethon capture, only counts changing between
them and one real edit at the third, loaded by the code *before* migration 011 (commit f7155ca), then dumped
(data only). Run from a checkout of that commit: python tests/data/warehouse_010/make.py"""

from __future__ import annotations

import gzip
import subprocess
import tempfile
from pathlib import Path

import psycopg

from ingest.run.imports import import_files
from tests import scratch
from tests.conftest import SHARED_DATA
from tests.warehouse.rescans import capture, write_pass

HERE = Path(__file__).resolve().parent
TABLES = ("channels", "channel_aliases", "posts", "post_versions", "post_metrics", "raw_records", "ingest_runs",
          "cursors", "import_ledger")  # fmt: skip


def main() -> None:
    messages = capture(SHARED_DATA / "telethon" / "bloomberg_1488156064.jsonl")
    admin = scratch.admin_dsn()
    with tempfile.TemporaryDirectory() as tmp, scratch.scratch_db(admin, "ww_make_010") as dsn:
        with psycopg.connect(dsn) as conn:
            for n in range(4):
                import_files(conn, [write_pass(messages, Path(tmp), n, edit_at=2)])
        dump = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", *(f"--table={t}" for t in TABLES), "-d", dsn],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
    (HERE / "bloomberg_4passes.sql.gz").write_bytes(gzip.compress(dump, mtime=0))


if __name__ == "__main__":
    main()
