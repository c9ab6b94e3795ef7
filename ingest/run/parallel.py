"""Importing many files on every core (`wirewatch import --jobs`): files imported at once, in worker processes.

One import is bound by one core: its Python work (reading, decoding, hashing, normalising, formatting rows) shares
one GIL, and the server's ingest of the rows takes what the machine has left. Files are independent inputs, so
several are imported at once, each by `reconnecting.import_paths` in a worker process on its own connection:
exactly what several `wirewatch import` commands run side by side do, which the warehouse is built for (a
channel's writer takes the channel's lock a batch at a time, rows go in key order, and an older capture loaded
after a newer one changes nothing), so the warehouse ends as one import of the same files in order makes it.

- Files of one channel (by their first record: per-channel captures taken at different times, a channel's Desktop
  exports) go to one worker, in their order, so they load as a one-process import loads them: which file inserts
  a post and which finds it unchanged, or refuses a record only a write would refuse, does not depend on timing
  (and writers of one channel would only take turns on its lock). Groups are handed out largest first to whichever
  worker is free. Files with the size and modification time the import ledger recorded, files whose format cannot
  be told, and folders are imported by this process meanwhile: they cost a hash or a refusal, not a worker's
  start-up. With fewer than two
  groups to read, nothing is started and the import runs as one process, as it always did.
- Summaries come back in the order of the files, as a one-process import lists them; progress is counted as the
  workers load.
- Ctrl-C: this process passes it on to each worker once (workers ignore the SIGINT a terminal sends to the whole
  job and take SIGUSR1 as their Ctrl-C), each ends its file's run as a one-process import does (the run marked
  failed, what committed kept), no further file is started, and the command exits 130. SIGKILL of this process
  takes the workers with it (Linux: the parent-death signal), so the warehouse is left as a killed one-process
  import leaves it. A lost connection is retried in the worker that lost it, as in a one-process import. A fault
  a worker cannot retry away ends the command with the one-process exit code; the other workers are interrupted
  as by Ctrl-C (their runs marked failed) and no further file is started.

One big file is split the same way when its format tells each line's channel (Telethon JSONL) and a sample of its
lines from all over it shows several channels: each worker reads the whole file and imports the lines of its own
channels (`imports.Shard`), so no two workers write one channel. This process plans the file against the import ledger
first (an unchanged file is still skipped after a hash, a grown one read on from its known prefix, known lines
still skipped) and writes its ledger row only when every part has loaded to the end; each part is a run of its
own. The warehouse ends as a one-process import of the file makes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingest.models import Post
from ingest.run import bulk, file_ledger
from ingest.run.imports import IMPORT_BATCH, ImportSummary, Shard, SplitPart, expand_paths
from ingest.run.reconnecting import import_paths, import_shard_path, with_reconnect
from ingest.sources import known_lines
from ingest.sources.formats import detect_format, get_format
from ingest.sources.lines import max_record_bytes, read_lines
from ingest.sources.registry import FileFormat
from ingest.warehouse import faults
from ingest.warehouse.db import connect

log = logging.getLogger(__name__)

#: Workers at most when --jobs is 0 (auto): the cores, up to this many. Past two or three, a server on the same
#: machine is the bound; a server elsewhere can take more, with --jobs.
AUTO_JOBS_MAX = 4
#: How long Ctrl-C waits for the workers to end their runs before they are killed.
INTERRUPT_GRACE_S = 60.0
#: The signal that interrupts a worker as Ctrl-C interrupts a one-process import (KeyboardInterrupt).
INTERRUPT = signal.SIGUSR1


def auto_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, AUTO_JOBS_MAX))


class WorkerFailed(Exception):
    """A worker ended on a fault it could not retry away; `exit_code` is what a one-process import exits with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class _Job:
    dsn: str
    fmt: str
    batch_size: int
    skip_unchanged: bool
    log_level: int
    parent_pid: int


def import_paths_parallel(
    dsn: str,
    paths: Sequence[Path],
    fmt: str = "auto",
    *,
    jobs: int = 0,
    batch_size: int = IMPORT_BATCH,
    on_progress: Callable[[int], object] | None = None,
    skip_unchanged: bool = False,
) -> list[ImportSummary]:
    """`reconnecting.import_paths` with up to `jobs` workers importing files at once (0: `auto_jobs()`); one
    process when `jobs` is 1 or fewer than two groups of files (by channel) need reading."""
    jobs = jobs or auto_jobs()
    files = list(expand_paths(paths))
    if (
        jobs > 1
        and len(files) == 1
        and (split := _split(dsn, files[0], fmt, jobs, skip_unchanged)) is not None
    ):
        file_format, parts = split
        return [
            _import_split(
                dsn, files[0], file_format, parts, batch_size=batch_size, on_progress=on_progress,
                skip_unchanged=skip_unchanged,
            )
        ]  # fmt: skip
    if jobs <= 1 or len(files) < 2:
        return import_paths(
            dsn, paths, fmt, batch_size=batch_size, on_progress=on_progress, skip_unchanged=skip_unchanged
        )
    to_read = _files_to_read(dsn, files, fmt, skip_unchanged)
    groups = _by_channel(files, to_read)
    if len(groups) < 2:
        return import_paths(
            dsn, files, fmt, batch_size=batch_size, on_progress=on_progress, skip_unchanged=skip_unchanged
        )
    job = _Job(dsn, fmt, batch_size, skip_unchanged, logging.getLogger().getEffectiveLevel(), os.getpid())
    here = [i for i in range(len(files)) if i not in to_read]
    results: dict[int, ImportSummary] = {}
    with _Pool(job, min(jobs, len(groups)), on_progress) as pool:
        # Largest first: a big group started last would leave one worker finishing it alone.
        for group in sorted(groups, key=lambda g: (-sum(_size(files[i]) for i in g), g[0])):
            pool.submit(group, [files[i] for i in group])
        if here:
            summaries = import_paths(
                dsn, [files[i] for i in here], fmt, batch_size=batch_size, on_progress=on_progress,
                skip_unchanged=skip_unchanged,
            )  # fmt: skip
            results.update(zip(here, summaries, strict=True))  # one summary a file, in the order given
        results.update(pool.results())
    return [results[i] for i in sorted(results)]


#: A single file is split by channel from this size on: below it, the workers' start-up and each one's read of the
#: whole file cost more than the second core gives.
SPLIT_MIN_BYTES = 64 * 1024 * 1024
#: Lines read to see how the file's channels fall into parts, in runs from this many places over the file.
SPLIT_SAMPLE = 2048
SPLIT_PROBES = 64


def _split(dsn: str, path: Path, fmt: str, jobs: int, skip_unchanged: bool) -> tuple[FileFormat, int] | None:
    """(format, parts) when one file should be imported by several workers, each taking its own channels: a
    regular file of a format whose lines name their channel, big enough, whose sampled lines spread over the parts
    (each part at least half its even share of them; else fewer parts, or none: a one-channel file is read by one
    process), and not imported before in that format (an unchanged file costs its hash alone, and a changed or
    grown one skips the lines it knows, so one process reads it faster than workers start)."""
    if _size(path) < SPLIT_MIN_BYTES or not path.is_file():
        return None
    try:
        file_format = detect_format(path) if fmt == "auto" else get_format(fmt)
    except (ValueError, OSError):
        return None
    channel_of = file_format.line_channel
    if channel_of is None:
        return None
    if skip_unchanged:
        with connect(dsn) as conn:
            if file_ledger.imported_before(conn, path, file_format.name):
                return None
    try:
        channels = [channel_of(line) for line in _sample_lines(path)]
    except OSError:  # the one-process import reports it
        return None
    for parts in range(min(jobs, len(set(channels))), 1, -1):
        counts = [0] * parts
        for channel in channels:
            counts[Shard(0, parts).of(channel)] += 1
        if min(counts) * parts * 2 >= len(channels):
            return file_format, parts
    return None


def _sample_lines(path: Path) -> list[bytes | None]:
    """SPLIT_SAMPLE lines from all over the file, in runs from SPLIT_PROBES evenly spaced places: a capture written
    channel after channel shows its channels as well as one whose channels interleave. Read as the import reads
    them (`lines.read_lines`): a line over the record limit is not read whole (None: part 0's)."""
    size = path.stat().st_size
    limit = max_record_bytes()
    out: list[bytes | None] = []
    with path.open("rb") as fh:
        for k in range(SPLIT_PROBES):
            fh.seek(size * k // SPLIT_PROBES)
            lines = read_lines(fh, limit)
            if k:
                next(lines, None)  # the rest of the line the probe fell into
            out += [line.data for line in itertools.islice(lines, SPLIT_SAMPLE // SPLIT_PROBES)]
    return out


def _import_split(
    dsn: str,
    path: Path,
    file_format: FileFormat,
    parts: int,
    *,
    batch_size: int,
    on_progress: Callable[[int], object] | None,
    skip_unchanged: bool,
) -> ImportSummary:
    """One file imported by `parts` workers, each the records of its own channels (`imports.Shard`); its ledger
    row is written here once every part has loaded to the end. The summary adds up the parts."""
    summary = ImportSummary(str(path), file_format.name)
    # No connection of this process stays open while the parts load (a long backfill may outlive the server's
    # restart): one plans the file, another writes its ledger row afterwards, retried as the parts' are.
    with connect(dsn) as conn:
        plan = file_ledger.plan(
            conn, path, file_format.name, appendable=file_format.appendable, skip_unchanged=skip_unchanged
        )
        conn.commit()
    if plan.prior is not None:
        # Counted as `import_files` counts them: the prefix's (or the unchanged file's) posts and rejects.
        prior = plan.prior
        summary.records, summary.stats.unchanged, summary.stats.rejected = (
            prior.records, prior.posts, prior.rejected,
        )  # fmt: skip
        if on_progress:
            on_progress(prior.records)
    if plan.skip:
        summary.skipped = True
        return summary
    summary.resumed_at = plan.resume.offset if plan.resume else None
    # Each part reads in batches of its share of `batch_size`: the process tree then holds about what one
    # process does (100k Telethon posts, two parts: 269 MB at 2,500 a batch against 357 MB at 5,000).
    job = _Job(dsn, file_format.name, max(1, batch_size // parts), skip_unchanged,
               logging.getLogger().getEffectiveLevel(), os.getpid())  # fmt: skip
    with _Pool(job, parts, on_progress) as pool:
        for k in range(parts):
            pool.submit([k], [path], SplitPart(Shard(k, parts), plan.known_lines, plan.resume))
        results = pool.results()
    digests = []
    for k in range(parts):
        part = results[k]
        summary.records += part.records
        summary.stats.add(part.stats)
        summary.attempts = max(summary.attempts, part.attempts)
        summary.error = summary.error or part.error
        digests.append(part.known_lines)
    if summary.error is None and plan.settled:
        s = summary.stats
        lines = known_lines.union(*digests) if file_format.known_lines else None

        def remember(conn: psycopg.Connection) -> None:
            file_ledger.remember(
                conn, plan.fingerprint, file_format.name, summary.records, s.inserted + s.updated + s.unchanged,
                s.rejected, lines=lines,
            )  # fmt: skip
            conn.commit()

        with_reconnect(dsn, remember)
    return summary


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _files_to_read(dsn: str, files: list[Path], fmt: str, skip_unchanged: bool) -> dict[int, FileFormat]:
    """The files a worker should import, by index: regular files of a known format whose size or modification
    time is not what the ledger recorded. The others are most likely unchanged: this process imports them, and
    its import compares their bytes (a file that changed after all is read here, only not beside the others)."""
    candidates: dict[int, FileFormat] = {}
    for i, path in enumerate(files):
        if not path.is_file():
            continue
        try:
            candidates[i] = detect_format(path) if fmt == "auto" else get_format(fmt)
        except (ValueError, OSError):
            continue  # refused by the import in this process, with its reject and run
    if not skip_unchanged:
        return candidates
    with connect(dsn) as conn:
        return {
            i: f for i, f in candidates.items() if not file_ledger.looks_unchanged(conn, files[i], f.name)
        }


def _by_channel(files: list[Path], to_read: dict[int, FileFormat]) -> list[list[int]]:
    """The files to read in groups that share the channel of their first post, each group in the files' order; a
    file whose first record makes no post is a group of its own."""
    groups: dict[object, list[int]] = {}
    for i in sorted(to_read):
        groups.setdefault(_first_channel(files[i], to_read[i]) or ("file", i), []).append(i)
    return list(groups.values())


def _first_channel(path: Path, fmt: FileFormat) -> tuple[str, int] | None:
    """The channel of the file's first post (its first records read and normalised), or None."""
    try:
        with contextlib.closing(fmt.read(path)) as records:
            for record in itertools.islice(records, _FIRST_RECORDS):
                for item in fmt.normalize(record):
                    if isinstance(item, Post):
                        return (item.platform, item.channel_id)
    except Exception:  # noqa: BLE001 - an unreadable file is the import's to report, in its own group
        return None
    return None


#: Records read for a file's first post: a file that starts with service messages or rejects still finds its channel.
_FIRST_RECORDS = 20


class _Pool:
    """Worker processes taking files from a queue; their progress counts and summaries come back on two others."""

    def __init__(self, job: _Job, n: int, on_progress: Callable[[int], object] | None) -> None:
        # Imported here: a one-process import (an hourly re-read of a file) does not pay for it at start-up.
        import multiprocessing

        # Spawned, not forked: the parent holds threads (a progress bar's, the fingerprint's) and libpq state.
        ctx = multiprocessing.get_context("spawn")
        self._tasks = ctx.Queue()
        self._done = ctx.Queue()
        self._progress = ctx.Queue()
        self._stop = ctx.Event()
        self._submitted = 0
        self._on_progress = on_progress
        self._procs = [
            ctx.Process(
                target=_worker,
                args=(job, self._tasks, self._done, self._progress, self._stop),
                name=f"wirewatch-import-{k + 1}",
                daemon=False,
            )
            for k in range(n)
        ]
        for p in self._procs:
            p.start()
        self._relay = threading.Thread(target=self._relay_progress, name="wirewatch-progress", daemon=True)
        self._relay.start()

    def submit(self, indexes: list[int], paths: list[Path], part: SplitPart | None = None) -> None:
        """Files imported by one worker, in this order (their summaries come back under their indexes); `part`:
        the worker's part of one file split by channel."""
        self._tasks.put((indexes, [str(p) for p in paths], part))
        self._submitted += len(indexes)

    def results(self) -> dict[int, ImportSummary]:
        """Every submitted file's summary; raises WorkerFailed after the first fault (the files not started
        are not imported) and KeyboardInterrupt when a worker was interrupted."""
        for _ in self._procs:
            self._tasks.put(None)
        out: dict[int, ImportSummary] = {}
        failure: WorkerFailed | None = None
        interrupted = False
        while len(out) < self._submitted and failure is None and not interrupted:
            try:
                indexes, summaries, error = self._done.get(timeout=0.5)
            except queue.Empty:
                if not any(p.is_alive() for p in self._procs) and self._done.empty():
                    failure = WorkerFailed("an import worker process died without a word (killed?)", 1)
                continue
            if error is None:
                out.update(zip(indexes, summaries, strict=True))
            elif error[0] == "interrupted":
                interrupted = True
            else:
                failure = WorkerFailed(error[1], error[2])
        if interrupted:
            raise KeyboardInterrupt
        if failure is not None:
            raise failure
        return out

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            # Ctrl-C, or a fault that ends the command (as it ends a one-process import, files not started are not
            # imported): the other workers stop too. They ignore SIGINT (a terminal sends it to the whole job), so
            # each is told once, by INTERRUPT, and no second signal can cut short the end of its run.
            self._stop.set()
            for p in self._procs:
                if p.is_alive() and p.pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p.pid, INTERRUPT)
        for p in self._procs:
            p.join(INTERRUPT_GRACE_S if exc_type is not None else None)
            if p.is_alive():
                p.kill()
                p.join()
        self._progress.put(None)
        self._relay.join(5)
        # Files never taken (Ctrl-C, a fault) stay in the task queue: its feeder thread is not waited for.
        self._tasks.cancel_join_thread()
        for q in (self._tasks, self._done, self._progress):
            q.close()

    def _relay_progress(self) -> None:
        while True:
            n = self._progress.get()
            if n is None:
                return
            if self._on_progress is not None:
                with contextlib.suppress(Exception):
                    self._on_progress(n)


# ------------------------------------------------------------------------------------------------- the worker


def _worker(job: _Job, tasks, done, progress, stop) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(INTERRUPT, signal.default_int_handler)
    _die_with_parent(job.parent_pid)
    indexes: list[int] = []
    try:
        logging.basicConfig(
            level=job.log_level, format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
            force=True,
        )  # fmt: skip
        bulk.tune()
        while not stop.is_set():
            task = tasks.get()
            if task is None:
                return
            indexes, paths, part = task
            try:
                if part is None:
                    summaries = import_paths(
                        job.dsn, [Path(p) for p in paths], job.fmt, batch_size=job.batch_size,
                        on_progress=progress.put, skip_unchanged=job.skip_unchanged,
                    )  # fmt: skip
                else:
                    summaries = [
                        import_shard_path(
                            job.dsn, Path(paths[0]), job.fmt, part, batch_size=job.batch_size,
                            on_progress=progress.put, skip_unchanged=job.skip_unchanged,
                        )
                    ]  # fmt: skip
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, which ends the command with it
                stop.set()
                done.put((indexes, None, ("failed", *_exit_of(exc))))
                return
            done.put((indexes, summaries, None))
    except KeyboardInterrupt:
        # The import ended its file's run as a one-process import does; nothing more starts.
        signal.signal(INTERRUPT, signal.SIG_IGN)
        stop.set()
        done.put((indexes, None, ("interrupted", "", 130)))
        sys.exit(130)
    finally:
        # Done importing: an interrupt the parent sends now (it stops every worker after a fault) must not break
        # the exit, which still flushes this worker's last report to the parent.
        signal.signal(INTERRUPT, signal.SIG_IGN)


def _exit_of(exc: BaseException) -> tuple[str, int]:
    """The message and exit code a one-process `wirewatch import` ends with on this exception (`ingest.cli.main`)."""
    if isinstance(exc, faults.DatabaseFault):
        return str(exc), 5
    if isinstance(exc, psycopg.OperationalError):
        return faults.describe(exc), 3 if faults.classify(exc) == faults.CONNECTION else 5
    return f"{type(exc).__name__}: {exc}", 1


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL this worker when the parent dies (Linux), so a killed import leaves no worker writing on."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
