"""The analysts' example queries (docs/analysts/queries/*.sql, shown in docs/analysts.md) run against a demo
warehouse as a read-only analyst login: each must run, and return rows where the demo day has some.

The warehouse is built the way a user builds it, with the `wirewatch` command: `wirewatch demo` (import
seeds/demo, group, write the briefs) into a database of this module's own, then `wirewatch analyst grant` for a
login role. Roles are cluster-wide, so their names are unique to the run; the database and the roles are dropped
afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import scratch

REPO_ROOT = Path(__file__).resolve().parents[2]
QUERIES = REPO_ROOT / "docs" / "analysts" / "queries"
ANALYSTS_DOC = REPO_ROOT / "docs" / "analysts.md"
QUERY_FILES = sorted(QUERIES.glob("*.sql"))

#: Queries that legitimately return nothing on the demo day (none today): every other one must return rows.
NO_ROWS_ON_DEMO: frozenset[str] = frozenset()


def _wirewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "wirewatch"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def analyst_dsn(admin_dsn: str) -> Iterator[str]:
    """DSN of a login granted the analyst group role, on a warehouse holding the demo day after `wirewatch demo`."""
    # The roles are dropped after the database: their grants go with it.
    with (
        scratch.analyst_roles(admin_dsn, "ww_docs") as (group, user),
        scratch.scratch_db(admin_dsn, f"ww_docs_{os.getpid()}", migrated=False) as owner,
    ):
        demo = _wirewatch("--dsn", owner, "demo")
        assert demo.returncode == 0, demo.stdout + demo.stderr
        password = secrets.token_urlsafe(12)
        grant = _wirewatch(
            "--dsn", owner, "analyst", "grant", "--user", user, "--role", group, "--password-env", "WW_DOCS_PW",
            env={"WW_DOCS_PW": password},
        )  # fmt: skip
        assert grant.returncode == 0, grant.stdout + grant.stderr
        yield scratch.login_dsn(owner, user, password)


def test_there_are_example_queries():
    assert len(QUERY_FILES) >= 10, QUERY_FILES


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_is_shown_verbatim_in_the_analysts_doc(path: Path):
    doc = ANALYSTS_DOC.read_text(encoding="utf-8")
    assert f"```sql\n{path.read_text(encoding='utf-8')}```" in doc, (
        f"{path.name} differs from docs/analysts.md"
    )
    assert f"(analysts/queries/{path.name})" in doc


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_runs_as_the_read_only_analyst_on_the_demo(analyst_dsn: str, path: Path):
    with psycopg.connect(analyst_dsn) as conn:
        # The login's defaults, so the query ran as an analyst would run it.
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        cur = conn.execute(path.read_text(encoding="utf-8"))
        assert cur.description, f"{path.name} returns no result set"
        rows = cur.fetchall()
    if path.name in NO_ROWS_ON_DEMO:
        return
    assert rows, f"{path.name} returned no rows on the demo warehouse"
