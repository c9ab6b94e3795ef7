"""`wirewatch brief`, `briefs` and `search` (ingest/cli/briefs.py) on the demo data in a real PostgreSQL."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import ingest.cli.briefs  # noqa: F401 - registers the commands
import ingest.cli.events  # noqa: F401
import ingest.cli.imports  # noqa: F401 - `posts`
from ingest.cli import app, common
from ingest.cli.demo import rutte_event_id


def run(db: str, *args: str):
    result = CliRunner().invoke(app, ["--dsn", db, *args])
    return result


def test_briefs_then_brief_markdown_and_json(demo_db, conn):
    r = run(demo_db, "briefs", "--json")
    assert r.exit_code == 0, r.output
    stats = json.loads(r.output)
    assert stats["written"] == stats["events"] > 0
    eid = rutte_event_id(conn)
    conn.commit()
    md = run(demo_db, "brief", str(eid))
    assert md.exit_code == 0, md.output
    assert md.output.startswith(f"# Event {eid}:")
    assert "https://t.me/intelslava/71840" in md.output
    js = run(demo_db, "brief", str(eid), "--format", "json")
    data = json.loads(js.output)
    assert data["event_id"] == eid and data["source_count"] == 5
    assert data["first_seen"]["at"] == "2026-06-26T02:47:10Z"
    assert [c["label"] for c in data["single_source"]] == ["about 40 billion dollars"]


def test_brief_of_unknown_event_and_bad_format(demo_db):
    r = run(demo_db, "brief", "999999999")
    assert r.exit_code == 2 and "no event" in r.output
    assert run(demo_db, "brief", "1", "--format", "pdf").exit_code == 2


def test_search_cli(demo_db, conn):
    r = run(demo_db, "search", "миллиардов", "--json")
    assert r.exit_code == 0, r.output
    hits = json.loads(r.output)
    assert [h["url"] for h in hits] == ["https://t.me/opersvodka_demo/18419"]
    r = run(demo_db, "search", "contract", "--since", "2026-06-26T03:00Z", "--json")
    urls = {h["url"] for h in json.loads(r.output)}
    assert "https://x.com/KyivPost/status/2070351036412939305" in urls
    assert "https://t.me/intelslava/71840" not in urls  # before --since
    assert "no posts found" in run(demo_db, "search", "zzzqqq").output
    newest = json.loads(run(demo_db, "search", "Rutte", "--json").output)
    assert len(newest) > 2 and [h["posted_at"] for h in newest] == sorted(
        (h["posted_at"] for h in newest), reverse=True
    )
    ranked = json.loads(run(demo_db, "search", "Rutte", "--ranked", "--json").output)
    assert [h["rank"] for h in ranked] == sorted((h["rank"] for h in ranked), reverse=True)
    assert {h["url"] for h in ranked} == {h["url"] for h in newest}
    # A channel without a handle is shown by its title (a Telethon dump named by a channels.csv), without a
    # title too by its id, never as "?".
    hit = hits[0]
    conn.execute(
        "UPDATE channels SET handle = NULL, title = 'Оперативная сводка' WHERE platform = %s AND channel_id = %s",
        (hit["platform"], hit["channel_id"]),
    )
    conn.commit()
    table = run(demo_db, "search", "миллиардов").output
    assert "Оперативная сводка (telegram)" in table and ":?" not in table
    assert (
        json.loads(run(demo_db, "search", "миллиардов", "--json").output)[0]["channel_title"]
        == "Оперативная сводка"
    )
    conn.execute(
        "UPDATE channels SET title = NULL WHERE platform = %s AND channel_id = %s",
        (hit["platform"], hit["channel_id"]),
    )
    conn.commit()
    table = run(demo_db, "search", "миллиардов").output
    assert f"{hit['platform']}:{hit['channel_id']}" in table and ":?" not in table
    assert "**" not in table and "миллиардов" in table  # hits are shown bold, not between asterisks


def test_search_table_shows_hits_bold():
    cell = common.snippet_cell("от **доллара**, заявив\nчто **доллар**")
    assert cell.plain == "от доллара, заявив что доллар"
    bold = [cell.plain[s.start : s.end] for s in cell.spans if s.style == "bold"]
    assert bold == ["доллара", "доллар"]


def test_events_name_who_posted_first_by_handle_else_title_else_id(demo_db, conn):
    r = run(demo_db, "events", "--since", "100000h", "--json")
    assert r.exit_code == 0, r.output
    events = json.loads(r.output)
    rutte = next(e for e in events if e["event_id"] == rutte_event_id(conn))
    assert rutte["origin_handle"] == "intelslava" and "origin_title" in rutte
    # A channel known by its title only (a Telethon dump named by a channels.csv), then by nothing at all.
    conn.execute(
        "UPDATE channels SET handle = NULL, title = 'Intel Slava Z' WHERE platform = %s AND channel_id = %s",
        (rutte["origin_platform"], rutte["origin_channel_id"]),
    )
    conn.commit()
    table = run(demo_db, "events", "--since", "100000h")
    assert "Intel Slava Z (telegram)" in table.output, table.output
    conn.execute(
        "UPDATE channels SET title = NULL WHERE platform = %s AND channel_id = %s",
        (rutte["origin_platform"], rutte["origin_channel_id"]),
    )
    conn.commit()
    assert f"telegram:{rutte['origin_channel_id']}" in run(demo_db, "events", "--since", "100000h").output


def test_posts_preview_reads_markdown_as_styles_and_names_a_channel_by_title(demo_db, conn):
    """`wirewatch posts` on a Telethon dump's texts: Markdown shown as styles, not asterisks and link syntax; a
    channel without a handle named by its title (a channels.csv), as `events` names it."""
    conn.execute(
        "UPDATE posts SET text = '⚡️**Доллар поднялся выше 105 рублей** [Подписаться](https://t.me/+HWFlcu)' "
        "WHERE url = 'https://t.me/intelslava/71840'"
    )
    conn.execute("UPDATE channels SET handle = NULL, title = 'Intel Slava Z' WHERE handle = 'intelslava'")
    conn.commit()
    r = run(demo_db, "posts", "--limit", "50")
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if "Доллар" in ln)
    assert "⚡️Доллар поднялся выше 105 рублей Подписаться" in line and "**" not in line and "](" not in line
    assert "Intel Slava Z (telegram)" in line
