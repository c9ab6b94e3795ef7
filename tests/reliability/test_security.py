"""Security: secrets never reach logs or CLI output; hostile channel names are inert; the analyst role reads the
analyst views and nothing else; the embedded server listens on loopback only.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import stat
import subprocess
import sys
import traceback
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ingest import config as cfg
from ingest.run import reconnecting as service
from ingest.run.channel import run_channel
from ingest.run.imports import import_files
from ingest.warehouse import queries
from tests import scratch
from tests.reliability.schedules import FULL
from tests.reliability.streams import FakeLiveSource, Faults, SimClock, generate_stream, spec_for, write_jsonl

HOSTILE = (
    "x'); DROP TABLE posts;--",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "a/../../b",
    "$(reboot)",
)


# ----------------------------------------------------------------------------------------------- secrets


@pytest.fixture
def secret_env(admin_dsn, monkeypatch, tmp_path):
    """Credentials in the environment, and a warehouse reached through a DSN that carries a password."""
    tag = secrets.token_hex(4)
    values = {
        "TELEGRAM_API_ID": "1234567",
        "TELEGRAM_API_HASH": secrets.token_hex(16),
        "TELEGRAM_SESSION": "1" + secrets.token_urlsafe(240),
        "X_BEARER_TOKEN": "AAAAAAAAAAAAAAAAAAAAA" + secrets.token_urlsafe(60),
    }
    password = "pw-" + secrets.token_urlsafe(18)
    role, dbname = f"ww_sec_{tag}", f"ww_sec_{tag}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(role))
        )
    base = scratch.dsn_with(admin_dsn, dbname=dbname)
    dsn = f"{base} user={role} password={password}"
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("WIREWATCH_DSN", dsn)
    hidden = [values["TELEGRAM_API_HASH"], values["TELEGRAM_SESSION"], values["X_BEARER_TOKEN"], password]
    yield {"dsn": dsn, "password": password, "values": values, "secrets": hidden}
    scratch.drop_db(admin_dsn, dbname)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


class _Everything(logging.Handler):
    """Every record at every level, formatted with its arguments and traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


@contextmanager
def _all_logs():
    root = logging.getLogger()
    handler, level = _Everything(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _leaks(text: str, secret_values: list[str]) -> list[str]:
    return [s[:6] + "…" for s in secret_values if s in text]


def test_secrets_never_reach_the_logs_of_a_run(secret_env, tmp_path, capsys):
    from ingest.sources.telegram import TelethonSource
    from ingest.warehouse.migrate import upgrade
    from tests.sources.telethon_fakes import FakeTelegram, factory_for, tl_from_dict

    dsn = secret_env["dsn"]
    with psycopg.connect(dsn) as conn:
        upgrade(conn)
    stream = generate_stream(51, messages=30, epochs=1)
    clock = SimClock(stream.t(0) + timedelta(minutes=1))
    errors: list[str] = []
    with _all_logs() as lines:
        # A live pass through the fake source: one that breaks half-way (logged with its traceback), one that works.
        broken = FakeLiveSource(stream, clock, batch_size=4, faults=Faults(every=3, kind="error"))
        assert (
            service.ingest_channel(dsn, spec_for(stream), source=broken, rescan_hours=FULL).status == "failed"
        )
        ok = FakeLiveSource(stream, clock, batch_size=4)
        assert (
            service.ingest_channel(dsn, spec_for(stream), source=ok, rescan_hours=FULL).status == "succeeded"
        )
        # The real Telethon source, credentials from the environment, against the fake Telegram: a FloodWait
        # slept through, a dropped connection retried.
        from telethon.tl.functions.messages import GetHistoryRequest

        server = FakeTelegram()
        ch = server.add_channel(stream.channel_id + 1, "secsynth", "Sec")
        for m in stream.live(0):
            payload = stream.payload(m, 0) | {
                "peer_id": {"_": "PeerChannel", "channel_id": stream.channel_id + 1}
            }
            ch.messages[m.msg_id] = tl_from_dict(payload)
        server.flood(GetHistoryRequest, 5, skip=1)
        server.drop_connection(GetHistoryRequest, skip=2)
        src = TelethonSource.from_env("default", client_factory=factory_for(server), sleep=lambda s: None,
                                      lock_dir=tmp_path, peer_cache=False, page_size=10)  # fmt: skip
        tspec = cfg.ChannelSpec("telegram", "secsynth", "telethon", channel_id=stream.channel_id + 1)
        s = service.ingest_channel(dsn, tspec, source=src, rescan_hours=FULL)
        assert s.status == "succeeded", s.as_dict()
        assert repr(src).count(secret_env["values"]["TELEGRAM_API_HASH"]) == 0
        # A file import with rejects, and a database that is not there (the error path).
        path = tmp_path / "secsynth_1700000001.jsonl"
        write_jsonl(stream, 0, path)
        path.write_bytes(path.read_bytes() + b'{"_": "Message", "id": "broken"}\n')
        with psycopg.connect(dsn) as conn:
            import_files(conn, [path])
        bad = dsn.replace("port=5432", "port=1")
        try:
            service.ingest_channel(bad, spec_for(stream), source=ok, rescan_hours=FULL)
        except psycopg.OperationalError:
            errors.append(traceback.format_exc())
    out = capsys.readouterr()
    text = "\n".join(lines + errors) + out.out + out.err
    assert len(lines) > 20, "nothing was logged: the test would prove nothing"
    assert errors, "the unreachable database did not fail"
    leaks = _leaks(text, secret_env["secrets"])
    assert not leaks, f"secrets in the logs (first characters shown): {leaks}"


@pytest.mark.slow
def test_secrets_never_reach_cli_output(secret_env, tmp_path, repo_root):
    stream = generate_stream(52, messages=40, epochs=1)
    capture = tmp_path / "capsynth_1700000001.jsonl"
    write_jsonl(stream, 0, capture)
    channels = tmp_path / "channels.toml"
    channels.write_text(
        f'[[channels]]\nplatform = "telegram"\nhandle = "capsynth"\nsource = "replay"\n'
        f'channel_id = {stream.channel_id}\nreplay_path = "{capture.name}"\nreplay_batch = 7\n'
    )
    env = {**os.environ, "WIREWATCH_CHANNELS": str(channels), "COLUMNS": "200"}
    wirewatch = str(Path(sys.executable).parent / "wirewatch")
    password = secret_env["password"]
    commands = [
        ["-vv", "db", "upgrade"],
        ["-vv", "db", "dsn"],
        ["-vv", "import", "--format", "telethon-jsonl", str(capture)],
        ["-vv", "ingest", "--channel", "capsynth", "--rescan-hours", "100000"],
        ["-vv", "ingest", "--all", "--json"],
        ["-vv", "runs"],
        ["-vv", "posts", "--limit", "3"],
        ["-vv", "--dsn", f"host=127.0.0.1 port=1 user=nobody password={password} connect_timeout=2", "runs"],
        ["-vv", "--dsn", f"postgresql://nobody:{password}@127.0.0.1:1/wirewatch?connect_timeout=2", "posts"],
        ["-vv", "--dsn", f"host=127.0.0.1 password={password} no_such_option=1", "runs"],
    ]
    seen = []
    for args in commands:
        out = subprocess.run([wirewatch, *args], cwd=repo_root, env=env, capture_output=True, text=True,
                             timeout=300, check=False)  # fmt: skip
        seen.append((args, out.returncode))
        leaks = _leaks(out.stdout + out.stderr, secret_env["secrets"])
        assert not leaks, (args, leaks, (out.stdout + out.stderr)[-1500:])
    codes = dict((" ".join(a[1:3]), c) for a, c in seen)
    assert codes["db upgrade"] == 0 and codes["import --format"] == 0 and codes["ingest --channel"] == 0, seen
    assert all(c != 0 for a, c in seen[-3:]), seen  # the unreachable / malformed DSNs fail


# -------------------------------------------------------------------------------------------- hostile names


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_handles_are_refused_by_configuration(name, tmp_path):
    with pytest.raises(ValueError, match="not a valid channel handle"):
        cfg.valid_handle(name)
    path = tmp_path / "channels.toml"
    path.write_text(f'[[channels]]\nplatform = "telegram"\nhandle = {json.dumps(name)}\nsource = "replay"\n')
    with pytest.raises(ValueError, match="not a valid channel handle"):
        cfg.load_config(path)


def test_hostile_names_from_the_platform_are_stored_verbatim_and_open_no_file(db, conn):
    """A platform-provided handle or title (or a configured spec that skipped validation) only ever travels as
    a bound SQL parameter or inside a URL: stored as given, never executed, never a path."""
    opened: list[str] = []

    def audit(event: str, args: tuple) -> None:
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            opened.append(os.fsdecode(args[0]))

    stream = generate_stream(53, messages=12, epochs=1)
    stream.handle, stream.title = HOSTILE[0], HOSTILE[1]
    stream.renamed = None
    clock = SimClock(stream.t(0) + timedelta(minutes=1))
    sys.addaudithook(audit)  # audit hooks cannot be removed: it only appends to a list this test owns
    before = len(opened)
    s = run_channel(conn, spec_for(stream), FakeLiveSource(stream, clock), rescan_hours=FULL, now=clock())
    found = queries.list_posts(conn, channel=HOSTILE[0], limit=100)
    during = opened[before:]
    conn.commit()
    assert s.status == "succeeded", s.as_dict()
    assert not [p for p in during if "passwd" in p or "etc" in Path(p).parts], during
    assert conn.execute("SELECT to_regclass('public.posts') IS NOT NULL").fetchone()[0]
    handle, title = conn.execute("SELECT handle, title FROM channels").fetchone()
    assert (handle, title) == (HOSTILE[0].lower(), HOSTILE[1])
    assert found and {r["channel_id"] for r in found} == {stream.channel_id}


def test_hostile_names_on_the_command_line_are_inert(db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import ingest.cli.backfill  # noqa: F401 - registers the command
    import ingest.cli.imports  # noqa: F401
    import ingest.cli.live  # noqa: F401
    from ingest.cli import app

    stream = generate_stream(54, messages=10, epochs=1)
    capture = tmp_path / f"hostile_{stream.channel_id}.jsonl"
    write_jsonl(stream, 0, capture)
    channels = tmp_path / "channels.toml"
    channels.write_text('[[channels]]\nplatform = "telegram"\nhandle = "hostile"\nsource = "replay"\n'
                        f'channel_id = {stream.channel_id}\nreplay_path = "{capture.name}"\n')  # fmt: skip
    monkeypatch.setenv("WIREWATCH_DSN", db)
    monkeypatch.setenv("WIREWATCH_CHANNELS", str(channels))
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        return result

    assert run("import", "--format", "telethon-jsonl", str(capture)).exit_code == 0
    with psycopg.connect(db) as conn:
        n_posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert n_posts > 0
    for name in HOSTILE:
        out = run("ingest", "--channel", name)
        assert out.exit_code == 2 and "is not in" in out.output, (name, out.exit_code, out.output)
        assert run("posts", "--channel", name).exit_code == 0
        assert run("backfill", "--channel", name, "--from", "2026-03-01").exit_code == 2
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == n_posts


# ------------------------------------------------------------------------------------------------ analyst


@pytest.fixture
def analyst_login(db):
    from ingest.warehouse import analyst as wa

    with scratch.analyst_roles(db, "ww_rel") as (group, user):
        with psycopg.connect(db) as conn:
            report = wa.grant_user(conn, user, password="pw-" + secrets.token_hex(4), role=group)
        yield user, report


RAW_TABLES = ("posts", "post_versions", "post_metrics", "raw_records", "rejected_records", "cursors", "ingest_runs",
              "channels", "channel_aliases")  # fmt: skip


def test_analyst_reads_views_and_nothing_else(db, analyst_login):
    user, report = analyst_login
    assert report.problems == []
    stream = generate_stream(55, messages=8, epochs=1)
    clock = SimClock(stream.t(0) + timedelta(minutes=1))
    with psycopg.connect(db) as owner:
        run_channel(owner, spec_for(stream), FakeLiveSource(stream, clock), rescan_hours=FULL, now=clock())
        views = dict(owner.execute(
            """SELECT c.table_name, min(c.column_name) FROM information_schema.columns c
               JOIN information_schema.views v USING (table_schema, table_name)
               WHERE c.table_schema = 'analyst' GROUP BY 1 ORDER BY 1""").fetchall())  # fmt: skip
        n_posts = owner.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert views, "schema analyst has no views"
    analyst_dsn = f"{db} user={user}"
    with psycopg.connect(analyst_dsn, autocommit=True) as a:
        for v in views:
            a.execute(sql.SQL("SELECT * FROM analyst.{} LIMIT 1").format(sql.Identifier(v)))
        if "posts" in views:
            assert a.execute("SELECT count(*) FROM analyst.posts").fetchone()[0] == n_posts
        denied = []
        attempts = [f"SELECT * FROM public.{t} LIMIT 1" for t in RAW_TABLES] + [
            "INSERT INTO public.posts (platform, channel_id, post_id, posted_at, version_at, content_hash, "
            "metrics_hash, row_hash, source) VALUES ('x', 1, 1, now(), now(), 0, 0, 0, 'evil')",
            "UPDATE public.posts SET text = 'defaced'",
            "DELETE FROM public.posts",
            "TRUNCATE public.posts",
            "DROP TABLE public.posts",
            "CREATE TABLE public.evil (x int)",
            "CREATE TABLE analyst.evil (x int)",
            "COPY (SELECT 1) TO PROGRAM 'id'",
            "SELECT pg_read_file('/etc/passwd')",
            "CREATE ROLE evil",
        ] + [sql.SQL("UPDATE analyst.{} SET {} = NULL").format(sql.Identifier(v), sql.Identifier(c))
             for v, c in views.items()] + [
            sql.SQL("DELETE FROM analyst.{}").format(sql.Identifier(v)) for v in views
        ]  # fmt: skip
        for stmt in attempts:
            for read_write in (False, True):
                try:
                    with a.transaction():
                        if read_write:  # the role's read-only default is a default: try to leave it
                            a.execute("SET TRANSACTION READ WRITE")
                        a.execute(stmt)
                except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction,
                        psycopg.errors.WrongObjectType, psycopg.errors.ObjectNotInPrerequisiteState,
                        psycopg.errors.FeatureNotSupported) as exc:  # fmt: skip
                    denied.append((str(stmt), read_write, type(exc).__name__))
                else:
                    pytest.fail(f"analyst was allowed: {stmt!s} (read_write={read_write})")
    assert any(r[2] == "InsufficientPrivilege" for r in denied if r[1])
    with psycopg.connect(db) as owner:
        assert owner.execute("SELECT count(*) FROM posts").fetchone()[0] == n_posts


# ----------------------------------------------------------------------------------------------- embedded


@pytest.mark.slow
def test_embedded_server_listens_on_loopback_only(tmp_path, monkeypatch):
    from ingest.warehouse import embedded

    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    monkeypatch.setenv("WIREWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WIREWATCH_EMBEDDED_PORT", raising=False)
    emb = embedded.layout()
    try:
        dsn = embedded.ensure_embedded()
        with psycopg.connect(dsn) as conn:
            listen = conn.execute("SHOW listen_addresses").fetchone()[0]
            port = int(conn.execute("SHOW port").fetchone()[0])
            sockets = conn.execute("SHOW unix_socket_directories").fetchone()[0]
        assert listen == "127.0.0.1"
        assert Path(sockets).resolve() == emb.data_dir.resolve()
        ss = subprocess.run(["ss", "-H", "-ltn"], capture_output=True, text=True, check=True).stdout
        local = [line.split()[3] for line in ss.splitlines() if line.split()[3].endswith(f":{port}")]
        assert local == [f"127.0.0.1:{port}"], local
        state = tmp_path / "home" / "embedded.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
    finally:
        embedded.stop()
        if emb.run_as:  # as root the cluster lives under /var/lib/wirewatch/<hash of this WIREWATCH_HOME>
            shutil.rmtree(emb.data_dir.parent, ignore_errors=True)
