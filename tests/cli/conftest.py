"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from ingest.events import group_window
from ingest.run.imports import import_files


@pytest.fixture
def demo_db(conn, db, repo_root) -> str:
    """The scratch database holding the demo day, imported and grouped: a DSN for the CLI."""
    import_files(conn, [repo_root / "seeds" / "demo"])
    conn.commit()
    group_window(conn, None, None)
    return db
