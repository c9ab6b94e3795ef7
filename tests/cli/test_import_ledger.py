"""`wirewatch import` skips a file it imported whole before with the same bytes (the import ledger), reads any file
whose bytes changed, and reads everything with --force; the Python API reads every file unless asked."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ingest.cli.imports  # noqa: F401 - registers the command
from ingest.cli import app
from ingest.run.imports import import_files


@pytest.fixture
def demo_copy(tmp_path, repo_root) -> Path:
    dest = tmp_path / "demo"
    shutil.copytree(repo_root / "seeds" / "demo", dest)
    return dest


def cli_import(db: str, *args: str, exit_code: int = 0) -> list[dict]:
    r = CliRunner().invoke(app, ["--dsn", db, "import", "--json", *args])
    assert r.exit_code == exit_code, r.output
    return json.loads(r.output)


def state(conn) -> tuple:
    posts = conn.execute("SELECT count(*), max(last_seen_at), sum(row_hash) FROM posts").fetchone()
    runs = conn.execute("SELECT count(*) FROM ingest_runs").fetchone()[0]
    conn.commit()
    return posts, runs


def by_name(summaries: list[dict]) -> dict[str, dict]:
    return {Path(s["path"]).name: s for s in summaries}


def test_unchanged_files_are_skipped_changed_ones_read(db, conn, demo_copy):
    first = cli_import(db, str(demo_copy))
    assert first and not any(s["skipped"] for s in first)
    before = state(conn)

    again = cli_import(db, str(demo_copy))
    assert all(s["skipped"] for s in again), again
    # Counted as a re-read would count them, and nothing in the warehouse moved (no run, no last_seen_at).
    for a, b in zip(first, again, strict=True):
        assert b["unchanged"] == a["inserted"] + a["updated"] + a["unchanged"] and b["inserted"] == 0
        assert b["rejected"] == a["rejected"] and b["records"] == a["records"]
    assert state(conn) == before

    # Touched but not changed: still skipped. One byte changed in place (same size, same mtime): read again.
    target = demo_copy / "x" / "polymarketintel.jsonl"
    stat = target.stat()
    data = target.read_bytes()
    target.touch()
    assert all(s["skipped"] for s in cli_import(db, str(demo_copy)))
    i = data.index(b'"text": "JUST IN') + len(b'"text": "')
    changed = data[:i] + (b"X" if data[i : i + 1] != b"X" else b"Y") + data[i + 1 :]
    target.write_bytes(changed)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    third = by_name(cli_import(db, str(demo_copy)))
    assert third[target.name]["skipped"] is False and third[target.name]["updated"] >= 1
    assert conn.execute("SELECT count(*) FROM posts WHERE text LIKE 'XUST IN%'").fetchone()[0] >= 1
    conn.commit()
    assert all(s["skipped"] for name, s in third.items() if name != target.name)
    # The file changed in place is remembered as it now is, with its line ends counted (a grown file's numbering
    # goes on from them), and skipped from then on.
    lines = conn.execute(
        "SELECT lines FROM import_ledger WHERE path = %s", (str(target.resolve()),)
    ).fetchone()[0]
    conn.commit()
    assert lines == changed.count(b"\n") > 0
    assert by_name(cli_import(db, str(demo_copy)))[target.name]["skipped"] is True

    # --force reads every file again, and changes nothing.
    forced = cli_import(db, "--force", str(demo_copy))
    assert not any(s["skipped"] for s in forced)
    assert sum(s["inserted"] + s["updated"] for s in forced) == 0


def test_a_file_that_failed_is_read_again(db, tmp_path, repo_root):
    """A Telegram Desktop export cut off mid-JSON fails midway (what loaded stays loaded): it is not remembered,
    so the next import reads it again instead of skipping it."""
    src = (repo_root / "seeds" / "demo" / "telegram" / "intelslava" / "result.json").read_bytes()
    broken = tmp_path / "result.json"
    broken.write_bytes(src[: len(src) * 2 // 3])
    first = cli_import(db, "--format", "telegram-export", str(broken), exit_code=1)[0]
    assert first["error"] and not first["skipped"], first
    again = cli_import(db, "--format", "telegram-export", str(broken), exit_code=1)[0]
    assert again["error"] and again["skipped"] is False, again


def test_a_ledger_row_of_an_earlier_hash_is_read_again_not_trusted(db, conn, demo_copy):
    """Ledgers written before the content hash became BLAKE3 hold SHA-256 hashes of the same bytes: such a row
    must not match (it would be a skip of bytes never compared), so the file is read once more, changes nothing,
    and is remembered with the current hash."""
    cli_import(db, str(demo_copy))
    rows = conn.execute("SELECT path FROM import_ledger").fetchall()
    for (path,) in rows:
        data = Path(path).read_bytes()
        conn.execute(
            "UPDATE import_ledger SET content_hash = %s, head_hash = %s WHERE path = %s",
            (hashlib.sha256(data).digest(), hashlib.sha256(data[: 1 << 20]).digest(), path),
        )
    conn.commit()
    before = state(conn)[0]
    again = cli_import(db, str(demo_copy))
    assert rows and not any(s["skipped"] for s in again), again
    assert sum(s["inserted"] + s["updated"] for s in again) == 0
    assert state(conn)[0][0] == before[0]
    assert all(s["skipped"] for s in cli_import(db, str(demo_copy)))


def test_the_python_api_reads_every_file_unless_asked(conn, demo_copy):
    import_files(conn, [demo_copy])
    conn.commit()
    assert not any(s.skipped for s in import_files(conn, [demo_copy]))
    assert all(s.skipped for s in import_files(conn, [demo_copy], skip_unchanged=True))


def test_a_grown_jsonl_file_is_read_on_from_its_imported_prefix(db, conn, tmp_path, shared_data):
    """A collector appending to a real Telethon capture: the second import reads only the appended lines (their
    origins keep their line numbers), the warehouse ends as if the whole file had been imported at once."""
    src = (shared_data / "telethon" / "bloomberg_1488156064.jsonl").read_bytes().splitlines(keepends=True)
    half = len(src) // 2
    grown = tmp_path / "bloomberg_1488156064.jsonl"
    grown.write_bytes(b"".join(src[:half]))
    first = cli_import(db, str(grown))[0]
    grown.write_bytes(b"".join(src[:half]) + b"".join(src[half:]) + b"not json at all\n")
    second = cli_import(db, str(grown))[0]
    assert second["resumed_at"] == len(b"".join(src[:half])) and not second["skipped"]
    # Only the appended part was read: the prefix's posts count as unchanged, as a whole re-read would count them.
    assert second["unchanged"] >= first["inserted"] and second["inserted"] > 0
    origins = [
        r[0] for r in conn.execute("SELECT origin FROM rejected_records WHERE reason LIKE 'undecodable%'")
    ]
    assert origins == [f"{grown}:{len(src) + 1}"], origins
    got = conn.execute("SELECT count(*), sum(row_hash) FROM posts").fetchone()
    conn.commit()

    # The same file imported whole into an empty warehouse stores the same posts.
    conn.execute(
        "TRUNCATE posts, raw_records, post_versions, post_metrics, rejected_records, import_ledger CASCADE"
    )
    conn.commit()
    cli_import(db, str(grown))
    assert conn.execute("SELECT count(*), sum(row_hash) FROM posts").fetchone() == got

    # A file rewritten (its first bytes changed) is read whole again, not resumed.
    grown.write_bytes(b" " + grown.read_bytes())
    again = cli_import(db, str(grown))[0]
    assert again["resumed_at"] is None and not again["skipped"]


def _big_capture(path: Path, shared_data: Path, copies: int = 400) -> list[dict]:
    """A Telethon capture made of a real record re-numbered (400 copies are over a MiB, the ledger's head)."""
    tmpl = json.loads((shared_data / "telethon" / "bloomberg_1488156064.jsonl").read_bytes().splitlines()[0])
    msgs = []
    for i in range(copies):
        m = json.loads(json.dumps(tmpl))
        m["id"], m["message"] = i + 1, f"Report {i}: {m.get('message') or ''}"
        msgs.append(m)
    path.write_bytes(b"".join(json.dumps(m).encode() + b"\n" for m in msgs))
    return msgs


def test_a_big_file_changed_near_its_start_is_read_whole_and_remembered_as_read(
    db, conn, tmp_path, shared_data
):
    """Over a MiB, a file whose first MiB changed is neither the same bytes nor only grown: it is read whole while
    its hash is taken beside the read, and the ledger then knows the new bytes (the next import skips them)."""
    path = tmp_path / "bloomberg_1488156064.jsonl"
    msgs = _big_capture(path, shared_data)
    assert path.stat().st_size > (1 << 20)
    cli_import(db, str(path))
    msgs[1]["message"] += " (corrected)"
    path.write_bytes(b"".join(json.dumps(m).encode() + b"\n" for m in msgs) + b"")
    changed = cli_import(db, str(path))[0]
    assert changed["resumed_at"] is None and not changed["skipped"] and changed["updated"] == 1
    again = cli_import(db, str(path))[0]
    assert again["skipped"]
    # Appended to: the head is the same, so it is read on from its end.
    with path.open("ab") as f:
        m = dict(msgs[0], id=len(msgs) + 1)
        f.write(json.dumps(m).encode() + b"\n")
    grown = cli_import(db, str(path))[0]
    assert grown["resumed_at"] is not None and grown["inserted"] == 1


def test_a_file_that_grows_while_its_hash_is_taken_beside_the_read_is_not_remembered(
    db, conn, tmp_path, shared_data, monkeypatch
):
    from ingest.run import file_ledger

    path = tmp_path / "bloomberg_1488156064.jsonl"
    msgs = _big_capture(path, shared_data, copies=50)
    real = file_ledger.fingerprint
    extra = json.dumps(dict(msgs[0], id=999)).encode() + b"\n"

    def racing(p, prefix_at=None):
        # A collector appends just as the hash thread reads: the hash covers a line the read may not reach.
        with Path(p).open("ab") as f:
            f.write(extra)
        return real(p, prefix_at)

    monkeypatch.setattr(file_ledger, "fingerprint", racing)
    first = cli_import(db, str(path))[0]
    assert first["error"] is None
    assert conn.execute("SELECT count(*) FROM import_ledger").fetchone()[0] == 0
    conn.commit()
    monkeypatch.setattr(file_ledger, "fingerprint", real)
    again = cli_import(db, str(path))[0]
    assert (
        not again["skipped"]
        and conn.execute("SELECT count(*) FROM posts WHERE post_id = 999").fetchone()[0] == 1
    )


def test_summary_table_names_each_file_in_full_when_piped(db, demo_copy):
    """The table a piped import prints (a log, CI) names every file whole, not cut to '../sh…' at 80 columns."""
    deep = demo_copy / "captures"
    deep.mkdir()
    shutil.copy(demo_copy / "x" / "kyivpost.jsonl", deep / "kyivpost_timeline_2026-06-26.jsonl")
    assert len(str(deep / "kyivpost_timeline_2026-06-26.jsonl")) > 80
    r = CliRunner().invoke(app, ["--dsn", db, "import", str(deep)])
    assert r.exit_code == 0, r.output
    assert str(deep / "kyivpost_timeline_2026-06-26.jsonl") in r.output
    assert "total: inserted 6, updated 2" in r.output
