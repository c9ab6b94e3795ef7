"""Importing files (`wirewatch import`): each file a run, each batch committed with its run counters; a bad record
lands in rejected_records and an unreadable file is reported while the other files still load."""

from __future__ import annotations

import logging
import os
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import psycopg

from ingest.models import Deletion, Post, RawRecord, Rejected
from ingest.run import file_ledger, interrupts
from ingest.run.read_ahead import ReadAhead
from ingest.run.records import BatchPlan, load_planned, normalize_records, plan_batch
from ingest.sources.formats import FileFormat, detect_format, get_format
from ingest.sources.known_lines import KnownLines, LineDigests
from ingest.sources.lines import Resume
from ingest.warehouse import faults, runs
from ingest.warehouse.db import FINISH_APP, reconnector, sibling
from ingest.warehouse.loader import Loader, LoadStats
from ingest.warehouse.post_rows import Prepared as PreparedRow
from ingest.warehouse.post_rows import prepare_ahead
from ingest.warehouse.runs import finish_after_error

log = logging.getLogger(__name__)

IMPORT_BATCH = 5000
READ_AHEAD_ENV = "WIREWATCH_IMPORT_READ_AHEAD"
READ_AHEAD_APP = "wirewatch-read-ahead"  # its connection's application_name in pg_stat_activity
READ_AHEAD_DEPTH = 1  # prepared batches waiting for the loader, besides the one being prepared
#: A batch also ends once this many lines were read since it began (most of them skipped as known): the changes
#: of a re-read file then load while the rest is read, and its progress moves, instead of all at its end.
LINES_PER_BATCH = 16_384


@dataclass
class ImportSummary:
    path: str
    format: str
    stats: LoadStats = field(default_factory=LoadStats)
    records: int = 0
    error: str | None = None
    attempts: int = 1  # more than one when the database went away or a deadlock rolled a batch back
    skipped: bool = False  # the file was imported whole before with these very bytes: not read again
    resumed_at: int | None = None  # a JSONL file that only grew: read on from this byte of it
    # One part of a file split by channel (`SplitPart`): the digests of the lines it loaded, for the ledger row the
    # command writes once every part is done.
    known_lines: LineDigests | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "records": self.records, **self.stats.as_dict(),
                "error": self.error, "skipped": self.skipped, "resumed_at": self.resumed_at}  # fmt: skip


@dataclass(frozen=True)
class Shard:
    """Part `index` of `count` of one file, split by channel: the lines whose record's channel hashes to `index`
    (`FileFormat.line_channel`), so that workers importing the parts never write one channel at once (lines that
    name no channel, are too long, or do not decode and do not open with their channel, are part 0's). Every part
    reads every line, so part 0 alone counts the lines skipped as known and reports an unreadable file."""

    index: int
    count: int

    def owns(self, channel: int | None) -> bool:
        return self.of(channel) == self.index

    def of(self, channel: int | None) -> int:
        if channel is None:
            return 0
        return zlib.crc32(str(channel).encode()) % self.count

    @property
    def reports(self) -> bool:
        return self.index == 0


@dataclass(frozen=True)
class SplitPart:
    """What one worker of a file split by channel imports: its `Shard`, and the plan the command made once for the
    whole file (`file_ledger.plan`): the known lines, under the one seed every part digests with, and where a grown
    file is read on from."""

    shard: Shard
    known_lines: LineDigests
    resume: Resume | None = None


def _album_safe_batches(
    items: Iterator[RawRecord], size: int, lines_read: Callable[[], int] | None = None
) -> Iterator[list[RawRecord]]:
    """Batches of raw records that never split a run of records sharing an album (grouped_id) key: `size`
    records, or fewer once LINES_PER_BATCH lines were read since the batch began (`lines_read`: lines read so
    far, skipped ones included)."""
    carry: list[RawRecord] = []
    while True:
        fresh: list[RawRecord] = []
        try:
            if lines_read is None:
                fresh.extend(islice(items, size))
            else:
                until = lines_read() + LINES_PER_BATCH
                for rec in items:
                    fresh.append(rec)
                    if len(fresh) >= size or lines_read() >= until:
                        break
        except (OSError, ValueError):
            # The input broke mid-batch (a truncated file): load what it gave before the damage, then report it.
            if carry or fresh:
                yield carry + fresh
            raise
        chunk = carry + fresh
        if not chunk:
            return
        if len(chunk) <= len(carry):  # source exhausted
            yield chunk
            return
        tail_key = _album_key(chunk[-1])
        cut = len(chunk)
        if tail_key is not None:
            while cut > 0 and _album_key(chunk[cut - 1]) == tail_key:
                cut -= 1
            if cut == 0:
                if len(chunk) < size:
                    # Ended by lines read inside the batch's only album (a part of a split file reads few of
                    # its own lines): read on, or the album's members would load as separate posts.
                    carry = chunk
                    continue
                cut = len(chunk)  # an album bigger than a batch: nothing keeps it whole
        carry = chunk[cut:]
        yield chunk[:cut]


def _album_key(rec: RawRecord) -> object | None:
    p = rec.payload
    if isinstance(p, dict):
        return p.get("grouped_id")
    return None


def import_files(
    conn: psycopg.Connection,
    paths: Sequence[Path],
    fmt: str = "auto",
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress: Callable[[int], None] | None = None,
    into: list[ImportSummary] | None = None,
    skip_unchanged: bool = False,
    read_ahead: bool | None = None,
) -> list[ImportSummary]:
    """Import files (or directories of them). Each batch commits with its run counters; a bad record lands
    in rejected_records, an unreadable file is reported and the other files still load. `into` collects the
    summaries as they are made, so a caller sees what committed even when a database fault ends the import.

    Every file imported to its end is remembered in the import ledger (size and content hash); with
    `skip_unchanged` (what `wirewatch import` does unless --force) a file whose bytes match its ledger row is
    not read again (its summary says skipped and counts its posts as unchanged), a JSONL file whose ledger
    row is a prefix of it is read on from there (its summary counts the prefix's posts as unchanged), and in a
    file that is read, records whose post is stored from the very same bytes are not normalised (counted as
    unchanged: `ingest.run.records.plan_batch`).

    `read_ahead` (default: on unless $WIREWATCH_IMPORT_READ_AHEAD is 0): read and normalise the next batch in a
    thread while this one loads (`ingest.run.read_ahead`)."""
    summaries: list[ImportSummary] = into if into is not None else []
    if read_ahead is None:
        read_ahead = os.environ.get(READ_AHEAD_ENV, "1").strip() not in ("0", "false", "no", "off")
    for path in expand_paths(paths):
        try:
            file_format = detect_format(path) if fmt == "auto" else get_format(fmt)
        except (ValueError, OSError) as exc:
            summaries.append(_refuse_file(conn, path, fmt, exc))
            continue
        summary = ImportSummary(str(path), file_format.name)
        summaries.append(summary)
        if not path.is_file():
            import_file(
                conn, path, file_format, batch_size=batch_size, on_progress=on_progress, summary=summary,
                skip_records=skip_unchanged, read_ahead=read_ahead,
            )  # fmt: skip
            continue
        plan = file_ledger.plan(
            conn, path, file_format.name, appendable=file_format.appendable, skip_unchanged=skip_unchanged
        )
        conn.commit()
        prior = plan.prior
        if prior is not None:
            # Counted as a re-read would count them: the posts unchanged, the bad records refused again.
            summary.records, summary.stats.unchanged, summary.stats.rejected = (
                prior.records,
                prior.posts,
                prior.rejected,
            )
            if on_progress:
                on_progress(prior.records)
        if plan.skip:
            summary.skipped = True
            continue
        summary.resumed_at = plan.resume.offset if plan.resume else None
        known = _known_lines(file_format, plan.known_lines, plan.resume)
        import_file(
            conn, path, file_format, batch_size=batch_size, on_progress=on_progress, summary=summary,
            resume=plan.resume, skip_records=skip_unchanged, known=known, read_ahead=read_ahead,
        )  # fmt: skip
        if summary.error is None and plan.settled:
            s = summary.stats
            posts = s.inserted + s.updated + s.unchanged
            file_ledger.remember(
                conn, plan.fingerprint, file_format.name, summary.records, posts, s.rejected,
                lines=known.remembered() if known is not None else None,
            )  # fmt: skip
            conn.commit()
    return summaries


def expand_paths(paths: Sequence[Path]) -> Iterator[Path]:
    """The files an import of `paths` reads, in its order: a folder's files sorted (a Desktop export folder: its
    result.json); a folder with none is given back as it is, to be reported."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            if (path / "result.json").is_file():  # a Telegram Desktop export folder
                yield path / "result.json"
                continue
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in (".json", ".jsonl", ".html", ".htm")
            )
            if not files:
                yield path  # reported as unreadable below
            yield from files
        else:
            yield path


def _refuse_file(conn: psycopg.Connection, path: Path, fmt: str, exc: Exception) -> ImportSummary:
    """A run for a file that cannot be read at all (no format, missing, empty): its reject, the run failed."""
    summary = ImportSummary(str(path), fmt, error=f"{type(exc).__name__}: {exc}")
    reconnect = reconnector(conn, application_name=FINISH_APP)
    with interrupts.hold() as held:  # from the run's start to the try that ends it, as in `import_file`
        run_id = runs.start_run(conn, "import", fmt, str(path))
    try:
        held.release()
        n = Loader(conn, run_id=run_id).load_rejects(
            [Rejected(source=f"file:{fmt}", reason=f"unreadable input: {exc}", origin=str(path))]
        )
        summary.stats.rejected += n
        runs.add_counts(conn, run_id, summary.stats.as_dict())
    except BaseException as err:
        # Ctrl-C or a lost connection while its reject is stored: the run still ends failed, not 'running'.
        finish_after_error(conn, run_id, f"{type(err).__name__}: {err}", reconnect=reconnect)
        raise
    runs.finish_run(conn, run_id, "failed", error=summary.error)
    return summary


def import_file(
    conn: psycopg.Connection,
    path: Path,
    file_format: FileFormat,
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress: Callable[[int], None] | None = None,
    summary: ImportSummary | None = None,
    resume: Resume | None = None,
    skip_records: bool = False,
    known: KnownLines | None = None,
    read_ahead: bool = True,
    shard: Shard | None = None,
) -> ImportSummary:
    summary = summary or ImportSummary(str(path), file_format.name)
    # Where to record the run's end if Ctrl-C leaves `conn` mid-COPY (see `runs.finish_after_error`).
    reconnect = reconnector(conn, application_name=FINISH_APP)
    # A capture that does not say when it was fetched was fetched before its file was last written: stamping its
    # counts with the load time would let an old capture, imported again later, pass for the newest observation.
    observed = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) if path.is_file() else None
    with interrupts.hold() as held:  # from the run's start to the try that ends it
        run_id = runs.start_run(conn, "import", file_format.name, str(path))
        loader = Loader(conn, run_id=run_id, observed_at=observed)
    probe = None
    try:
        held.release()
        # Inside the try: opening the connection takes a while, and Ctrl-C (or a worker's interrupt after another
        # worker's fault) landing meanwhile must still end the run as failed, not leave it running.
        if read_ahead and skip_records and file_format.fingerprinter:
            probe = _probe_connection(conn)
        size = min(batch_size, file_format.records_per_batch or batch_size)
        if read_ahead:
            # Three batches are alive at once (loading, waiting, being prepared) instead of one and its posts:
            # half-size batches keep peak memory where it was (Telethon, 100k: 195 MB against 258 MB) at the
            # same speed.
            size = max(1, size // 2)
        kwargs: dict = {"resume": resume} if resume else {}
        if known is not None:
            kwargs["known"] = known
        if shard is not None:
            channel_of = file_format.line_channel
            kwargs["part"] = lambda data: shard.owns(channel_of(data))
        # The probe of stored raw hashes runs where the batch is prepared: on the read-ahead thread's own
        # connection, or inline on the loader's.
        prober = Loader(probe, observed_at=observed) if probe is not None else loader
        if file_format.line_hashes and file_format.fingerprinter:
            kwargs["raw_key"] = prober.raw_key()
            if probe is not None:
                probe.rollback()  # no snapshot held while reading
        chunks = _album_safe_batches(
            iter(file_format.read(path, **kwargs)), size, known.noted if known is not None else None
        )

        def known_skipped() -> tuple[int, int]:
            # Every part reads every line: the lines skipped as known (and their posts) are counted by part 0 alone.
            if known is None or (shard is not None and not shard.reports):
                return 0, 0
            return known.skipped, known.skipped_posts

        def prepare(chunk: list[RawRecord]) -> _Prepared:
            plan = plan_batch(chunk, file_format.fingerprinter, prober, skip=skip_records)
            if probe is not None:
                probe.rollback()  # no snapshot held between batches
            items = normalize_records(plan.records, file_format.normalize)
            # Reading ahead, the rows' hashes too: pure CPU that would otherwise wait for the loading thread.
            # Inline they stay lazy (the loader hashes only the rows it sends).
            rounds = prepare_ahead([i for i in items if isinstance(i, Post)]) if read_ahead else None
            skipped = [chunk[r].origin for u in plan.skipped for r in u.records] if known is not None else []
            return _Prepared(len(chunk), plan, items, rounds, skipped, known_skipped())

        counted = (0, 0)  # lines skipped as known, and their posts, that a committed batch has counted
        # The posts of the batches that may still be uncommitted while a batch is planned ahead (those waiting
        # in the queue, and the one loading): its probe may have seen their new posts as new too.
        recent: deque[frozenset] = deque(maxlen=READ_AHEAD_DEPTH + 1)
        ahead = ReadAhead(chunks, prepare, depth=READ_AHEAD_DEPTH) if read_ahead else None
        with ahead if ahead is not None else nullcontext(map(prepare, chunks)) as batches:
            for batch in batches:
                stats = load_planned(
                    batch.plan, batch.items, loader, rounds=batch.rounds,
                    written_since=frozenset().union(*recent) if recent else frozenset(),
                )  # fmt: skip
                if read_ahead:
                    recent.append(frozenset(i.key for i in batch.items if isinstance(i, Post)))
                if known is not None:
                    _remember_lines(known, batch)
                _count(
                    conn,
                    run_id,
                    summary,
                    stats,
                    batch.records,
                    _minus(batch.lines_skipped, counted),
                    on_progress,
                )
                counted = batch.lines_skipped
        if known is not None and (tail := _minus(known_skipped(), counted)) != (0, 0):
            _count(conn, run_id, summary, LoadStats(), 0, tail, on_progress)
    except psycopg.OperationalError as exc:
        finish_after_error(conn, run_id, faults.describe(exc), reconnect=reconnect)
        raise
    except (OSError, ValueError) as exc:
        # The file itself is unreadable past this point (truncated, not the format it claims): what loaded
        # stays loaded; the rest is reported.
        conn.rollback()
        summary.error = f"{type(exc).__name__}: {exc}"
        reported = shard is None or shard.reports  # every part of a split file meets the same damage
        if reported:
            summary.stats.rejected += loader.load_rejects(
                [Rejected(source=file_format.name, reason=f"unreadable input: {exc}"[:500], origin=str(path))]
            )
        runs.add_counts(conn, run_id, {**LoadStats().as_dict(), "rejected": int(reported)})
        runs.finish_run(conn, run_id, "partial" if summary.records else "failed", error=summary.error)
        return summary
    except BaseException as exc:
        finish_after_error(conn, run_id, f"{type(exc).__name__}: {exc}", reconnect=reconnect)
        raise
    finally:
        if probe is not None:
            probe.close()
    runs.finish_run(conn, run_id, "succeeded")
    return summary


def import_shard(
    conn: psycopg.Connection,
    path: Path,
    file_format: FileFormat,
    part: SplitPart,
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress: Callable[[int], None] | None = None,
    skip_records: bool = False,
    into: list[ImportSummary] | None = None,
) -> ImportSummary:
    """One part of a file split by channel, as `import_files` imports a file it has planned (the caller, who made
    the plan, writes the ledger row when every part is done). The summary counts this part's records and carries
    the digests of the lines it loaded (`known_lines`)."""
    if file_format.line_channel is None:
        # Checked before the run starts: inside it, a ValueError reads as a file that broke off.
        raise TypeError(f"{file_format.name} files cannot be split by channel")
    resume = part.resume
    summary = ImportSummary(str(path), file_format.name, resumed_at=resume.offset if resume else None)
    if into is not None:
        into.append(summary)
    known = _known_lines(file_format, part.known_lines, resume)
    import_file(
        conn, path, file_format, batch_size=batch_size, on_progress=on_progress, summary=summary,
        resume=resume, skip_records=skip_records, known=known, shard=part.shard,
    )  # fmt: skip
    if known is not None and summary.error is None:
        summary.known_lines = known.remembered()
    return summary


def _known_lines(file_format: FileFormat, digests: LineDigests, resume: Resume | None) -> KnownLines | None:
    """The reader's known lines for a planned file of a one-record-a-line format: a grown file reads only new lines
    (nothing to skip) and keeps its prefix's lines remembered."""
    if not file_format.known_lines:
        return None
    return KnownLines(digests, base=resume.lines if resume else None)


@dataclass(frozen=True)
class _Prepared:
    """A batch read, planned and normalised, ready to load."""

    records: int  # raw records read
    plan: BatchPlan
    items: list[Post | Rejected | Deletion]
    rounds: list[list[PreparedRow]] | None  # its posts' rows with their hashes, when read ahead
    skipped_origins: list[str | None]  # where the posts held unchanged were read from (`path:line`)
    # Lines the reader left out as known, and the posts they stand for, up to the end of this batch (running totals).
    lines_skipped: tuple[int, int]


def _probe_connection(conn: psycopg.Connection) -> psycopg.Connection | None:
    """The read-ahead thread's own connection, or None (then batches are prepared inline, as before) when the
    server will not give one (max_connections reached): the import goes on, only slower."""
    try:
        return sibling(conn, application_name=READ_AHEAD_APP)
    except psycopg.OperationalError as exc:
        log.warning(
            "import reads without a read-ahead thread: no second connection (%s)", faults.describe(exc)
        )
        return None


def _remember_lines(known: KnownLines, batch: _Prepared) -> None:
    """Count the posts each line of a loaded batch made (or was skipped for, record by record). A line that made a
    reject, or two posts of one key (an X page holding an edit and its original), is not remembered: it is read
    again next time, its reject reported again and its versions loaded together, as record skipping reads them;
    a deletion names no line, and a line that makes one makes no post."""
    posts = [i for i in batch.items if isinstance(i, Post)]
    per_line = Counter(p.origin for p in posts)
    known.loaded(per_line)
    known.loaded(batch.skipped_origins)
    known.withheld(getattr(i, "origin", None) for i in batch.items if not isinstance(i, Post))
    if len(per_line) < len(posts):  # some line made several posts: are their keys distinct?
        lines = Counter((p.origin, p.channel_id, p.post_id) for p in posts)  # one platform a line
        if len(lines) < len(posts):
            known.withheld(origin for (origin, _, _), n in lines.items() if n > 1)


def _minus(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] - b[0], a[1] - b[1]


def _count(
    conn: psycopg.Connection,
    run_id: int,
    summary: ImportSummary,
    stats: LoadStats,
    records: int,
    skipped: tuple[int, int],
    on_progress: Callable[[int], None] | None,
) -> None:
    """A batch's counts into its run and the summary, committed with it; lines skipped as known (`skipped`: lines,
    their posts) count as records, and their posts as unchanged."""
    skipped_lines, skipped_posts = skipped
    stats.unchanged += skipped_posts
    runs.add_counts(conn, run_id, stats.as_dict())
    conn.commit()
    summary.stats.add(stats)
    summary.records += records + skipped_lines
    if on_progress:
        on_progress(records + skipped_lines)
