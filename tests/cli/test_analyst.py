"""`wirewatch analyst create-role / grant / revoke` (ingest/cli/analyst.py) on a real PostgreSQL; role names
are unique to the test and dropped afterwards."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

import ingest.cli.analyst  # noqa: F401 - registers the commands
from ingest.cli import app
from tests import scratch


@pytest.fixture
def names(dsn):
    with scratch.analyst_roles(dsn, "ww_cli") as names:
        yield names


def test_create_role_grant_and_revoke(db, names, monkeypatch):
    group, user = names
    runner = CliRunner()
    r = runner.invoke(app, ["--dsn", db, "analyst", "create-role", "--role", group])
    assert r.exit_code == 0, r.output
    assert f"role {group} created" in r.output
    r = runner.invoke(app, ["--dsn", db, "analyst", "create-role", "--role", group])
    assert r.exit_code == 0 and f"role {group} exists" in r.output
    monkeypatch.setenv("WW_TEST_ANALYST_PASSWORD", "s3cret-Pa55")
    r = runner.invoke(
        app,
        [
            "--dsn",
            db,
            "analyst",
            "grant",
            "--user",
            user,
            "--role",
            group,
            "--password-env",
            "WW_TEST_ANALYST_PASSWORD",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "s3cret" not in r.output
    assert 'psql "host=127.0.0.1 port=5432' in r.output and f"user={user}" in r.output
    with psycopg.connect(db) as c:
        assert c.execute("SELECT pg_has_role(%s, %s, 'member')", (user, group)).fetchone()[0]
    r = runner.invoke(app, ["--dsn", db, "analyst", "revoke", "--user", user, "--role", group, "--drop"])
    assert r.exit_code == 0, r.output
    with psycopg.connect(db) as c:
        assert c.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (user,)).fetchone()[0] == 0


def test_grant_refusals(db, names):
    group, user = names
    runner = CliRunner()
    r = runner.invoke(app, ["--dsn", db, "analyst", "grant", "--user", user, "--role", group,
                            "--password-env", "WW_TEST_UNSET_VARIABLE"])  # fmt: skip
    assert r.exit_code == 2
    r = runner.invoke(app, ["--dsn", db, "analyst", "grant", "--user", "Bad-Name", "--role", group])
    assert r.exit_code == 2 and "invalid role name" in r.output
