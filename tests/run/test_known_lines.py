"""Lines of a Telethon JSONL file imported before from the same path are skipped before they are decoded
(ingest/sources/known_lines.py, migration 016); whatever changed is loaded, leaving the warehouse that reading
every line makes. Counted by decodes (calls of orjson.loads), not by time."""

from __future__ import annotations

from dataclasses import replace
from hashlib import sha256

import orjson
import pytest

from ingest.models import RawRecord
from ingest.run import file_ledger, imports
from ingest.run.imports import import_files
from ingest.sources.known_lines import KnownLines, LineDigests, line_digest, pack, pack_counted, union
from ingest.warehouse import ledger
from ingest.warehouse.ledger import LedgerEntry
from tests.conftest import truncate_all
from tests.reliability.state import snapshot
from tests.reliability.streams import generate_stream, write_jsonl

CHANNEL = 1_700_000_061


@pytest.fixture
def decodes(monkeypatch) -> list[int]:
    """One entry a call of orjson.loads during the test (the reader decodes each line it does not skip)."""
    calls: list[int] = []
    real = orjson.loads

    def counting(data):
        calls.append(1)
        return real(data)

    monkeypatch.setattr(orjson, "loads", counting)
    return calls


def _import(conn, path, *, skip: bool = True):
    [s] = import_files(conn, [path], "telethon-jsonl", skip_unchanged=skip)
    assert s.error is None, s.as_dict()
    return s


def _messages(path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _write(path, msgs: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in msgs))


def _read_every_line(db, conn, path, original: bytes, decodes: list | None = None):
    """The warehouse emptied, then `original` and the file as it is now imported with --force (every line read):
    what a changed file's re-import must equal. Returns the second import's summary."""
    truncate_all(db)
    edited = path.read_bytes()
    path.write_bytes(original)
    _import(conn, path, skip=False)
    path.write_bytes(edited)
    if decodes is not None:
        decodes.clear()
    return _import(conn, path, skip=False)


def _album_lines(msgs: list[dict]) -> int:
    return sum(1 for m in msgs if m.get("grouped_id") is not None)


def test_a_changed_file_decodes_only_its_changed_lines_and_album_members(db, conn, tmp_path, decodes):
    stream = generate_stream(31, messages=200, epochs=1, p_album=0.2, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    write_jsonl(stream, 0, path)
    original = path.read_bytes()
    first = _import(conn, path)
    msgs = _messages(path)
    albums = _album_lines(msgs)
    assert 0 < albums < len(msgs)
    entry = ledger.get(conn, str(path.resolve()))
    assert entry is not None and entry.line_hashes is not None
    # Asked only whether or how the file was imported, the ledger leaves the digests out and nothing else.
    light = ledger.get(conn, str(path.resolve()), with_lines=False)
    assert light.line_hashes is None and replace(light, line_hashes=entry.line_hashes) == entry
    # Every line loaded as (part of) a post; album members other than the one a merged post names are not kept.
    assert len(msgs) - albums <= len(entry.line_hashes) // 8 <= len(msgs)

    singles = [m for m in msgs if m.get("grouped_id") is None and m.get("message")]
    singles[3]["message"] += " (corrected)"
    singles[10]["views"] = (singles[10].get("views") or 0) + 50
    _write(path, msgs)
    decodes.clear()
    again = _import(conn, path)
    # The two changed lines and the album members (never skipped by line: an album is merged from all of them).
    assert len(decodes) == 2 + albums
    posts = first.stats.inserted
    assert (again.stats.inserted, again.stats.updated) == (0, 2)
    assert again.stats.unchanged == posts - 2 and again.records == len(msgs)
    got = snapshot(conn)

    # Reading every line (--force) makes the same warehouse and counts.
    forced = _read_every_line(db, conn, path, original, decodes)
    assert len(decodes) == len(msgs)
    assert snapshot(conn).diff(got) == []
    assert again.stats == forced.stats


def test_an_album_with_one_changed_line_is_merged_from_all_its_members(db, conn, tmp_path):
    stream = generate_stream(32, messages=120, epochs=1, p_album=0.5, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    write_jsonl(stream, 0, path)
    _import(conn, path)
    msgs = _messages(path)
    caption = next(m for m in msgs if m.get("grouped_id") is not None and m.get("message"))
    members = sorted((m for m in msgs if m.get("grouped_id") == caption["grouped_id"]), key=lambda m: m["id"])
    assert len(members) >= 2
    other = next(m for m in members if m is not caption)
    key = (CHANNEL, members[0]["id"])
    before = conn.execute(
        "SELECT jsonb_array_length(media), text FROM posts WHERE channel_id = %s AND post_id = %s", key
    ).fetchone()
    assert before[0] == len(members)
    ids = conn.execute("SELECT array_agg(post_id ORDER BY post_id) FROM posts").fetchone()[0]
    # Another member's line changes (a field the normaliser does not read); the caption's line, which the merged
    # post was made from and the ledger remembers, does not: it must still be read, or the album would lose its
    # caption and that member's media.
    other["_collector_note"] = "re-fetched"
    _write(path, msgs)
    again = _import(conn, path)
    assert again.stats.rejected == 0
    after = conn.execute(
        "SELECT jsonb_array_length(media), text FROM posts WHERE channel_id = %s AND post_id = %s", key
    ).fetchone()
    assert after == before
    # and no member became a post of its own
    assert conn.execute("SELECT array_agg(post_id ORDER BY post_id) FROM posts").fetchone()[0] == ids


def test_a_bad_line_is_refused_again_and_a_blank_line_counts_nothing(db, conn, tmp_path, decodes):
    stream = generate_stream(33, messages=40, epochs=1, p_album=0.0, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    write_jsonl(stream, 0, path)
    path.write_bytes(path.read_bytes() + b"{not json\n\n")
    first = _import(conn, path)
    assert first.stats.rejected == 1
    msgs = [orjson.loads(line) for line in path.read_bytes().splitlines()[:40]]
    msgs[0]["message"] = (msgs[0].get("message") or "") + " (corrected)"
    path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in msgs) + b"{not json\n\n")
    decodes.clear()
    again = _import(conn, path)
    assert again.stats.rejected == 1 and again.stats.updated == 1
    assert again.stats.unchanged == first.stats.inserted - 1
    assert len(decodes) >= 2  # the edited line and the bad one (its reader also tries a lenient decode)


def test_a_grown_file_keeps_its_prefix_lines_for_the_next_change(db, conn, tmp_path, decodes):
    stream = generate_stream(34, messages=80, epochs=1, p_album=0.0, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    write_jsonl(stream, 0, path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:50]))
    _import(conn, path)
    path.write_bytes(b"".join(lines))
    grown = _import(conn, path)
    assert grown.resumed_at is not None and grown.stats.inserted == 30
    msgs = _messages(path)
    msgs[5]["message"] = (msgs[5].get("message") or "") + " (corrected)"  # in the first import's part
    _write(path, msgs)
    decodes.clear()
    again = _import(conn, path)
    assert len(decodes) == 1
    assert (again.stats.updated, again.stats.unchanged) == (1, 79)


def test_a_ledger_row_of_sha256_digests_is_read_whole_once_then_seeded(db, conn, tmp_path, decodes):
    """A row written before migration 023 (no seed, SHA-256 digests): the next import decodes every line, writes
    a seed and digests of today's kind, and the import after it skips again. The seed stays with the path."""
    stream = generate_stream(35, messages=60, epochs=1, p_album=0.0, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    write_jsonl(stream, 0, path)
    _import(conn, path)
    seed = ledger.get(conn, str(path.resolve())).line_seed
    assert seed is not None
    conn.execute("UPDATE import_ledger SET line_seed = NULL")
    conn.commit()
    msgs = _messages(path)
    msgs[0]["message"] = (msgs[0].get("message") or "") + " (corrected)"
    _write(path, msgs)
    decodes.clear()
    again = _import(conn, path)
    assert len(decodes) == len(msgs) and again.stats.updated == 1
    reseeded = ledger.get(conn, str(path.resolve())).line_seed
    assert reseeded is not None and reseeded != seed
    msgs[1]["message"] = (msgs[1].get("message") or "") + " (corrected)"
    _write(path, msgs)
    decodes.clear()
    third = _import(conn, path)
    assert len(decodes) == 1 and third.stats.updated == 1
    assert ledger.get(conn, str(path.resolve())).line_seed == reseeded


def test_a_re_read_file_loads_its_few_changes_as_it_reads(db, conn, tmp_path, monkeypatch):
    """Changes spread over a file read again are loaded in batches that end every LINES_PER_BATCH lines read, not
    in one batch at the end (progress moves as the file is read), without splitting an album, and the warehouse
    is the one reading every line makes."""
    stream = generate_stream(36, messages=300, epochs=1, p_album=0.2, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    write_jsonl(stream, 0, path)
    original = path.read_bytes()
    _import(conn, path)
    msgs = _messages(path)
    singles = [m for m in msgs if m.get("grouped_id") is None and m.get("message")]
    for m in singles[::20]:
        m["message"] += " (corrected)"
    _write(path, msgs)
    monkeypatch.setattr(imports, "LINES_PER_BATCH", 40)
    batches: list[list] = []
    real = imports._album_safe_batches

    def watched(*args, **kwargs):
        for batch in real(*args, **kwargs):
            batches.append(batch)
            yield batch

    monkeypatch.setattr(imports, "_album_safe_batches", watched)
    progress: list[int] = []
    [again] = import_files(conn, [path], "telethon-jsonl", skip_unchanged=True, on_progress=progress.append)
    assert again.error is None and again.stats.updated == len(singles[::20])
    assert len(batches) >= 4 and max(len(b) for b in batches) < len(singles[::20]) + _album_lines(msgs)
    assert len(progress) >= 4 and sum(progress) == len(msgs) == again.records
    for before, after in zip(batches, batches[1:], strict=False):
        album = before[-1].payload.get("grouped_id")
        assert album is None or after[0].payload.get("grouped_id") != album, "an album was split"
    got = snapshot(conn)
    _read_every_line(db, conn, path, original)
    assert snapshot(conn).diff(got) == []


def test_a_batch_ended_by_lines_read_never_splits_an_album(monkeypatch):
    """A part of a split file reads many lines of other channels between two of its own: a batch that reaches
    LINES_PER_BATCH lines inside an album still holds the whole album (its members make one post)."""
    monkeypatch.setattr(imports, "LINES_PER_BATCH", 10)
    read = [0]

    def records():
        for n, album in enumerate([None, 7, 7, 7, None, 8, 8, None]):
            read[0] += 25  # each record comes 25 lines after the one before
            yield RawRecord("telethon_jsonl", {"id": n, "grouped_id": album}, f"f.jsonl:{read[0]}")

    batches = list(imports._album_safe_batches(records(), 100, lambda: read[0]))
    assert [[r.payload["id"] for r in b] for b in batches] == [[0], [1, 2, 3, 4], [5, 6, 7]]


def test_known_lines_skip_only_known_digests_and_never_remember_album_members():
    a, b = b'{"id": 1, "grouped_id": null}\n', b'{"id": 2, "grouped_id": 77}\n'
    c = b'{"id": 3, "grouped_id": null}\n'
    first = KnownLines()
    # As the Telethon reader notes lines: each line's digest, and the decoded album member marked as a part.
    assert not first.skip(1, a) and not first.skip(2, b) and not first.skip(3, c)
    first.part(2)
    first.loaded(["f.jsonl:1", "f.jsonl:2", "f.jsonl:3", None, "elsewhere"])
    kept = first.remembered()
    assert kept.seed == first.seed
    assert sorted(_unpack(kept.packed)) == sorted([line_digest(a, kept.seed), line_digest(c, kept.seed)])

    again = KnownLines(kept)
    assert again.skip(1, a) and again.skip(3, c)
    assert not again.skip(2, b)  # the album member is decoded every time
    assert not again.skip(4, b'{"id": 4, "grouped_id": null}\n')
    assert again.skipped == 2
    assert line_digest(b"x\r\n", 7) == line_digest(b"x\n", 7) == line_digest(b"x", 7)


def test_digests_are_seeded_per_path_and_a_resumed_import_carries_its_prefix():
    """Another seed makes other digests (what a path's are cannot be worked out without its ledger row), and a
    grown file's import skips nothing but keeps the prefix's digests, under the same seed."""
    line = b'{"id": 1, "grouped_id": null}\n'
    assert line_digest(line, 1) != line_digest(line, 2)
    assert KnownLines().seed != KnownLines().seed  # fresh seeds are random
    first = KnownLines(LineDigests(11))
    first.skip(1, line)
    first.loaded(["f.jsonl:1"])
    prefix = first.remembered()
    assert not KnownLines(LineDigests(12, prefix.packed)).skip(1, line)  # the right digest, the wrong seed

    grown = KnownLines(prefix, base=1)
    assert not grown.skip(2, line)  # a resumed import reads its new lines, whatever they hold
    grown.loaded(["f.jsonl:2"])
    both = grown.remembered()
    assert both.seed == 11 and _unpack(both.packed) == _unpack(prefix.packed)  # one line's digest, kept once
    assert union(prefix, both) == both
    with pytest.raises(ValueError):
        union(prefix, LineDigests(12, prefix.packed))


def test_digests_of_the_first_ledger_version_never_match():
    """Ledgers written before only whole posts were remembered held album members' digests (unsalted SHA-256):
    read by today's rule they would let an album member be skipped, so none of them may match. Such a row has no
    seed either, and what keeps them from matching is that its digests are dropped, not the change of hash."""
    line = b'{"id": 2, "grouped_id": 77}\n'
    old = int.from_bytes(sha256(line.rstrip(b"\r\n")).digest()[:8], "little", signed=True)
    entry = LedgerEntry("/f.jsonl", "telethon-jsonl", 1, 1, b"h", 1, 1, 1, 0, line_hashes=pack([old]))
    known = file_ledger._known(entry)
    assert known.packed is None
    assert not KnownLines(known).skip(1, line)
    assert not KnownLines(LineDigests(3, pack([old]))).skip(1, line)


def test_digests_of_the_second_ledger_version_never_match():
    """Before migration 023 lines were digested with a salted SHA-256 and no seed was kept: such a row's digests
    are dropped (`file_ledger._known`), so the next import reads every line once rather than trust them."""
    line = b'{"id": 2, "grouped_id": null}\n'
    salted = sha256(b"wirewatch known line 2\n")
    salted.update(line.rstrip(b"\r\n"))
    old = int.from_bytes(salted.digest()[:8], "little", signed=True)
    entry = LedgerEntry("/f.jsonl", "telethon-jsonl", 1, 1, b"h", 1, 1, 1, 0, line_hashes=pack([old]))
    known = file_ledger._known(entry)
    assert known.packed is None and not KnownLines(known).skip(1, line)
    assert file_ledger._known(replace(entry, line_seed=5)) == LineDigests(5, pack([old]))


def _unpack(raw: bytes) -> list[int]:
    return [int.from_bytes(raw[i : i + 8], "little", signed=True) for i in range(0, len(raw), 8)]


def test_lines_of_many_posts_are_counted_and_a_withheld_line_is_never_remembered():
    """An X page line makes many posts: its digest is remembered with their count, skipping it counts them, a
    resumed import and the union of split parts keep the counts; a line that made a reject is not remembered. A
    file whose lines made one post each stores no counts (as every Telethon file)."""
    a, b, c = b'{"data": [1, 2, 3]}\n', b'{"data": [4]}\n', b'{"data": [5, 6], "errors": [7]}\n'
    first = KnownLines(LineDigests(21))
    assert not any(first.skip(n, line) for n, line in enumerate((a, b, c), 1))
    first.loaded(["f.jsonl:1"] * 3 + ["f.jsonl:2", "f.jsonl:3", "f.jsonl:3"])
    first.withheld(["f.jsonl:3"])
    kept = first.remembered()
    assert dict(zip(_unpack(kept.packed), _counts(kept.posts), strict=True)) == {
        line_digest(a, 21): 3,
        line_digest(b, 21): 1,
    }

    again = KnownLines(kept)
    assert again.skip(1, a) and again.skip(2, b) and not again.skip(3, c)
    assert (again.skipped, again.skipped_posts) == (2, 4)

    grown = KnownLines(kept, base=3)
    d = b'{"data": [8, 9]}\n'
    assert not grown.skip(4, d)
    grown.loaded(["f.jsonl:4", "f.jsonl:4"])
    both = grown.remembered()
    assert dict(zip(_unpack(both.packed), _counts(both.posts), strict=True)) == {
        line_digest(a, 21): 3,
        line_digest(b, 21): 1,
        line_digest(d, 21): 2,
    }
    assert union(kept, both) == both

    single = KnownLines(LineDigests(22))
    single.skip(1, b)
    single.loaded(["f.jsonl:1"])
    assert single.remembered().posts is None
    assert pack_counted({5: 1, 3: 1}) == (pack([3, 5]), None)


def _counts(raw: bytes | None) -> list[int]:
    assert raw is not None
    return [int.from_bytes(raw[i : i + 4], "little", signed=True) for i in range(0, len(raw), 4)]
