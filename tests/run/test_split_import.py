"""One big file on every core (ingest/run/parallel.py): a Telethon JSONL file of several channels is split by
channel across workers, each reading the lines of its own channels, and the warehouse, the summary and the import
ledger's row (with its known lines) must be those one process makes; the next import of the file must skip it
unchanged, or read it again in one process skipping the lines it knows; a file of one channel, or imported before,
is not split."""

from __future__ import annotations

import subprocess
import sys
from array import array
from pathlib import Path

import psycopg
import pytest

from ingest.run import parallel
from ingest.run.imports import Shard, import_files
from ingest.sources.known_lines import line_digest
from ingest.sources.telegram import jsonl
from ingest.sources.telegram.jsonl import line_channel, record_channel
from tests.conftest import truncate_all
from tests.reliability.state import assert_as_one_inline_import, snapshot
from tests.reliability.streams import generate_stream, write_jsonl

CHANNELS = (1_700_000_101, 1_700_000_102, 1_700_000_103, 1_700_000_104, 1_700_000_105, 1_700_000_106)


def _mixed_file(shared: Path, tmp: Path) -> Path:
    """One file of many channels: the real Telethon captures, then two captures of six generated channels (edits,
    new counts, deletions, albums: a post's two states in one file), a line that is not JSON and a blank one."""
    parts = [p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted((shared / "telethon").glob("*.jsonl"))]
    for n, channel in enumerate(CHANNELS):
        stream = generate_stream(40 + n, messages=120, epochs=2, channel_id=channel)
        for k in (0, 1):
            part = tmp / f"part_{n}_{k}.jsonl"
            write_jsonl(stream, k, part)
            parts.append(part.read_bytes())
    parts.insert(3, b'{"_": "Message", "id": 5, "peer_id": {"_": "PeerChannel", "channel_id": 9\n\n')
    path = tmp / "mixed.jsonl"
    path.write_bytes(b"".join(parts))
    return path


def _counts(s) -> tuple:
    d = s.stats
    return (s.records, d.inserted, d.updated, d.unchanged, d.rejected, d.versions, d.metrics, s.error is None)


def _ledger(db: str) -> list[tuple]:
    """The ledger rows, their known lines as the numbers of the file's lines they remember (each import of a
    path into a new warehouse digests its lines with a seed of its own)."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT path, format, size_bytes, content_hash, lines, records, posts, rejected, line_hashes, line_seed "
            "FROM import_ledger ORDER BY path"
        ).fetchall()
    out = []
    for *row, hashes, seed in rows:
        known = set(array("q", bytes(hashes or b"")))
        lines = Path(row[0]).read_bytes().splitlines()
        out.append((*row, tuple(n for n, line in enumerate(lines, 1) if line_digest(line, seed) in known)))
    return out


@pytest.fixture
def split_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test files are small: split them anyway."""
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0)


def test_a_file_split_by_channel_is_the_warehouse_and_ledger_one_import_makes(
    db: str, shared_data: Path, tmp_path: Path, split_small: None
) -> None:
    path = _mixed_file(shared_data, tmp_path)
    assert parallel._split(db, path, "auto", 2, True) is not None
    [got] = parallel.import_paths_parallel(db, [path], jobs=2, skip_unchanged=True)
    with psycopg.connect(db) as conn:
        runs = conn.execute(
            "SELECT count(*), count(DISTINCT backend_pid) FROM ingest_runs WHERE kind = 'import'"
        ).fetchone()
        split_state = snapshot(conn)
    split_ledger = _ledger(db)
    assert runs == (2, 2), "the file was not imported by two workers"

    truncate_all(db)
    with psycopg.connect(db) as conn:
        [want] = import_files(conn, [path], skip_unchanged=True, read_ahead=False)
        assert snapshot(conn).diff(split_state) == []
    assert _counts(got) == _counts(want)
    assert want.stats.rejected == 1 and want.stats.updated > 0  # the broken line; the second captures' edits
    assert _ledger(db) == split_ledger and split_ledger[0][-1], "the ledger row (or its known lines) differs"


def test_a_split_file_is_skipped_when_unchanged_and_read_by_one_process_when_edited(
    db: str, shared_data: Path, tmp_path: Path, split_small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _mixed_file(shared_data, tmp_path)
    [first] = parallel.import_paths_parallel(db, [path], jobs=2, skip_unchanged=True)
    assert first.error is None and first.stats.inserted > 0

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(parallel, "_Pool", no_pool)
    [again] = parallel.import_paths_parallel(db, [path], jobs=2, skip_unchanged=True)
    assert again.skipped and again.stats.unchanged == first.stats.inserted + first.stats.updated

    # One message edited: the file was imported before, so one process reads it, skipping the lines it knows.
    data = path.read_bytes()
    at = data.rindex(b'"message": "') + len(b'"message": "')
    path.write_bytes(data[:at] + b"EDITED " + data[at:])
    [edited] = parallel.import_paths_parallel(db, [path], jobs=2, skip_unchanged=True)
    assert not edited.skipped and edited.stats.updated == 1, edited.as_dict()
    assert edited.stats.unchanged > 0 and edited.records == first.records


def test_a_file_of_one_channel_or_a_small_file_is_not_split(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = tmp_path / "one.jsonl"
    write_jsonl(generate_stream(3, messages=200, epochs=1, channel_id=CHANNELS[0]), 0, one)
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0)
    assert parallel._split(db, one, "auto", 2, True) is None
    many = tmp_path / "many.jsonl"
    with many.open("wb") as fh:
        for n, channel in enumerate(CHANNELS):
            part = tmp_path / f"c{n}.jsonl"
            write_jsonl(generate_stream(n, messages=50, epochs=1, channel_id=channel), 0, part)
            fh.write(part.read_bytes())
    assert parallel._split(db, many, "auto", 2, True) is not None
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", many.stat().st_size + 1)
    assert parallel._split(db, many, "auto", 2, True) is None


def test_every_line_belongs_to_exactly_one_part_and_a_channel_to_one_part(shared_data: Path) -> None:
    """The channel read from a line's `peer_id` alone is the decoded record's, and parts cover every line once."""
    lines = [
        line
        for p in sorted((shared_data / "telethon").glob("*.jsonl"))
        for line in p.read_bytes().splitlines()
    ]
    lines += [b"", b"not json", b'{"peer_id": {"channel_id": 1.5}}', b'{"peer_id": "x"}', b"[1, 2]"]
    import orjson

    for line in lines:
        try:
            want = record_channel(orjson.loads(line))
        except orjson.JSONDecodeError:
            want = None
        assert line_channel(line) == want, line[:120]
    assert line_channel(None) is None
    for count in (2, 3, 4):
        for channel in (*CHANNELS, None, 1488156064, -5, 2**80):
            owners = [k for k in range(count) if Shard(k, count).owns(channel)]
            assert len(owners) == 1


def test_a_line_is_routed_by_its_opening_as_collectors_write_it(shared_data: Path) -> None:
    """The opening of a message (type, id, peer) gives its channel in both layouts collectors write (json.dumps'
    spaced one, orjson's compact one) without reading further: a line that breaks off after it goes to its
    channel's part, whose worker rejects it; an opening in another order is read by the typed decode."""
    import orjson

    real = (shared_data / "telethon" / "bloomberg_1488156064.jsonl").read_bytes().splitlines()[0]
    want = record_channel(orjson.loads(real))
    assert want == 1488156064
    compact = orjson.dumps(orjson.loads(real))
    assert compact.startswith(b'{"_":"Message","id":')
    for layout in (real, compact):
        assert jsonl._OPENING.match(layout) is not None
        assert line_channel(layout) == want
        assert line_channel(layout[:120]) == want  # broken off: not JSON, yet its opening names the channel
    reordered = orjson.dumps({"peer_id": {"_": "PeerChannel", "channel_id": 42}, "_": "Message", "id": 1})
    assert jsonl._OPENING.match(reordered) is None
    assert line_channel(reordered) == 42
    assert line_channel(b'{"_": "Message", "id": 1, "peer_id": {"_": "PeerChannel", "channel_id": 42}') == 42
    assert (
        line_channel(b'{"_": "MessageEmpty", "id": 1, "peer_id": {"_": "PeerChannel", "channel_id": 4')
        is None
    )


def _big_file(tmp_path: Path) -> Path:
    """A 66 MB Telethon capture of four channels, written channel after channel."""
    path = tmp_path / "backfill.jsonl"
    with path.open("wb") as fh:
        for n in range(4):
            part = tmp_path / f"c{n}.jsonl"
            stream = generate_stream(60 + n, messages=33_000, epochs=1, p_album=0.05, channel_id=CHANNELS[n])
            write_jsonl(stream, 0, part)
            fh.write(part.read_bytes())
            part.unlink()
    assert path.stat().st_size >= parallel.SPLIT_MIN_BYTES
    return path


def _import_cmd(db: str, path: Path) -> list[str]:
    return [str(Path(sys.executable).with_name("wirewatch")), "--dsn", db, "import", str(path), "--jobs", "2"]


@pytest.mark.slow
def test_connections_lost_mid_split_import_are_retried_and_the_file_remembered(
    db: str, tmp_path: Path
) -> None:
    """Every connection of the import ended by the server while both parts load (a restart, a failover): each
    part reconnects and finishes, the command writes the ledger row on a connection of its own, and the warehouse
    is the one a single import makes."""
    from tests.run.test_parallel_import import _wait_for_rows, with_group_killed

    path = _big_file(tmp_path)
    proc = subprocess.Popen(_import_cmd(db, path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_rows(db, proc, 2)
        with psycopg.connect(db, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()[0]
        _, err = proc.communicate(timeout=300)
    finally:
        with_group_killed(proc)
    assert ended >= 2, "the parts' connections were not there to end"
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    assert b"retry" in err, err.decode(errors="replace")[-3000:]
    assert len(_ledger(db)) == 1
    assert_as_one_inline_import(db, [path])


@pytest.mark.slow
def test_ctrl_c_of_a_split_import_writes_no_ledger_row_and_the_next_import_finishes_it(
    db: str, tmp_path: Path
) -> None:
    """SIGINT to the command (a terminal's Ctrl-C) while two workers load the parts of one 66 MB file: exit 130,
    every part's run failed or done, no connection left, no ledger row (the file was not loaded whole); the next
    import reads it again and the warehouse is the one a single import makes."""
    from tests.run.test_parallel_import import _interactive, _wait_for_rows, interrupted, with_group_killed

    path = _big_file(tmp_path)
    cmd = _import_cmd(db, path)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_interactive)
    try:
        _wait_for_rows(db, proc, 2)
    except BaseException:
        with_group_killed(proc)
        raise
    runs = interrupted(db, proc)
    assert len({pid for *_, pid in runs}) == 2, runs
    assert _ledger(db) == []

    again = subprocess.run(cmd, capture_output=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr.decode()[-800:]
    assert len(_ledger(db)) == 1
    assert_as_one_inline_import(db, [path])
