"""The brief of the demo's Rutte event (seeds/demo, ground truth in seeds/demo/ground_truth.toml), built from
the real import and grouping on a real PostgreSQL (ingest/cli/demo.py, briefs/service.py)."""

from __future__ import annotations

import io
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from ingest.briefs import build_event_brief, render_markdown
from ingest.cli.demo import RUTTE_KEY, run_demo, rutte_event_id
from ingest.events import group_window
from ingest.run.imports import import_files


@pytest.fixture
def truth(repo_root: Path) -> dict:
    return tomllib.loads((repo_root / "seeds" / "demo" / "ground_truth.toml").read_text(encoding="utf-8"))


@pytest.fixture
def demo(conn, repo_root):
    import_files(conn, [repo_root / "seeds" / "demo"])
    conn.commit()
    group_window(conn, None, None)
    return conn


@pytest.fixture
def rutte(demo, truth):
    eid = rutte_event_id(demo)
    assert eid is not None
    return build_event_brief(demo, eid)


def _gt_posts(truth: dict) -> list[dict]:
    return next(e for e in truth["events"] if e["key"] == RUTTE_KEY)["posts"]


def _gt_url(demo, truth, p: dict) -> str:
    # Links as the warehouse should hold them: t.me/<handle>/<id>, x.com/<handle>/status/<id of the current
    # version> (an edited X post links its latest tweet id).
    platform, channel_id = truth["channels"][p["channel"]]
    if platform == "telegram":
        return f"https://t.me/{p['channel']}/{p['post_id']}"
    current = demo.execute(
        "SELECT source_post_id FROM posts WHERE platform = 'x' AND channel_id = %s AND post_id = %s",
        (channel_id, p["post_id"]),
    ).fetchone()[0]
    return f"https://x.com/{p['channel']}/status/{current}"


def test_rutte_brief_first_seen(rutte, truth):
    first = _gt_posts(truth)[0]
    assert rutte.first_seen.at == datetime.fromisoformat(first["posted_at"])
    assert rutte.first_seen.url == "https://t.me/intelslava/71840"
    assert "@intelslava" in rutte.first_seen.channel and rutte.first_seen.via is None


def test_rutte_brief_lists_every_post_with_utc_time_and_link(rutte, demo, truth):
    timeline = {e.post_id: e for e in rutte.timeline if e.what != "edit"}
    gt = _gt_posts(truth)
    assert set(timeline) == {p["post_id"] for p in gt}
    for p in gt:
        e = timeline[p["post_id"]]
        assert e.at == datetime.fromisoformat(p["posted_at"]), p
        assert e.at.utcoffset().total_seconds() == 0
        assert e.url == _gt_url(demo, truth, p), p
    md = render_markdown(rutte)
    for p in gt:
        assert _gt_url(demo, truth, p) in md
        assert datetime.fromisoformat(p["posted_at"]).strftime("%H:%M:%S") in md
    assert "## Timeline (26 June 2026, UTC)" in md


def test_rutte_brief_markdown_ends_with_its_provenance(rutte, demo, truth):
    md = render_markdown(rutte)
    lines = md.splitlines()
    start = lines.index("## Provenance")
    listed = [ln for ln in lines[start + 1 :] if ln[:1].isdigit()]
    assert len(listed) == len(rutte.provenance) >= 5  # one line per origin; forwards and reposts ride along
    section = "\n".join(listed)
    for p in _gt_posts(truth):
        if p["role"].startswith("edited at"):
            continue  # an edited X post is linked by its current version's id, checked through _gt_url below
        assert _gt_url(demo, truth, p) in section, p
    assert lines[-1].startswith("_Generated ") and lines[-1].endswith(" posts._")
    # every line is a whole line of text, not a character of one
    assert sum(1 for ln in lines if len(ln.strip()) == 1) <= 2


def test_rutte_brief_counts_the_forward_and_the_repost_once(rutte, truth):
    gt = _gt_posts(truth)
    # Independent sources: channels with an original post; the forward (18418) and the repost count for
    # their origins (intelslava, PolymarketIntel).
    originals = {p["channel"].lower() for p in gt if not p["role"].startswith(("forward", "repost"))}
    assert rutte.source_count == len(originals) == 5
    assert rutte.post_count == len(gt) == 8
    by_handle = {s.channel.split("(@")[1].split(",")[0].lower(): s for s in rutte.sources}
    assert set(by_handle) == originals
    assert [c.url for c in by_handle["intelslava"].carried_by] == ["https://t.me/opersvodka_demo/18418"]
    assert [c.url for c in by_handle["polymarketintel"].carried_by] == [
        "https://x.com/KyivPost/status/2070352726717550833"
    ]
    assert [p.post_id for p in by_handle["opersvodka_demo"].posts] == [18419]  # the forward is not its own
    whats = {e.post_id: e.what for e in rutte.timeline if e.what != "edit"}
    assert whats[18418] == "forward" and whats[2070352726717550833] == "repost"
    assert whats[71840] == "first report" and whats[71842] == "follow-up"
    # The provenance list links every original post once; forwards and reposts only as carriers.
    prov = [p.url for p in rutte.provenance]
    assert len(prov) == len(set(prov)) == 6
    assert "https://t.me/opersvodka_demo/18418" not in prov
    assert "https://t.me/intelslava/71842" in prov


def _sources_of(truth: dict, claim_posts: list[str]) -> set[str]:
    """Ground-truth independent sources of a claim: forwards and reposts mapped to their origins."""
    gt = {f"{p['channel']}/{p['post_id']}": p for p in _gt_posts(truth)}
    origin = {"opersvodka_demo/18418": "intelslava", "KyivPost/2070352726717550833": "PolymarketIntel"}
    return {origin.get(k, gt[k]["channel"]).lower() for k in claim_posts}


def _handles(names: list[str]) -> set[str]:
    return {n.split("(@")[1].split(",")[0].lower() for n in names}


def test_rutte_brief_marks_the_single_source_claim(rutte, truth):
    claims = {c["text"]: c for c in next(e for e in truth["events"] if e["key"] == RUTTE_KEY)["claims"]}
    only = next(c for c in claims.values() if c.get("only"))
    single = {c.label: c for c in rutte.single_source}
    assert "about 40 billion dollars" in single
    forty = single["about 40 billion dollars"]
    assert _handles(forty.sources) == _sources_of(truth, only["posts"]) == {"opersvodka_demo"}
    assert forty.urls == ["https://t.me/opersvodka_demo/18419"]
    assert any(s in forty.surfaces[0] for s in only["match"])
    # Nothing carried by several sources is marked single-source.
    assert [c.label for c in rutte.single_source] == ["about 40 billion dollars"]
    md = render_markdown(rutte)
    section = md.split("## Only one source")[1].split("## ")[0]
    assert "about 40 billion dollars" in section and "https://t.me/opersvodka_demo/18419" in section


def test_rutte_brief_corroboration_matches_the_ground_truth(rutte, truth):
    claims = {c["text"]: c for c in next(e for e in truth["events"] if e["key"] == RUTTE_KEY)["claims"]}
    got = {c.label: c for c in rutte.corroborated}
    tens = claims["tens of billions of dollars (in new defense contracts)"]
    assert _handles(got["tens of billions of dollars"].sources) == _sources_of(truth, tens["posts"])
    dates = claims["Ankara summit on 7-8 July"]
    assert _handles(got["7–8 July 2026"].sources) == _sources_of(truth, dates["posts"])
    combat = claims["the Russian army is currently actively gaining combat experience"]
    quote = next(c for c in rutte.corroborated if c.kind == "quote" and "combat experience" in c.label)
    assert _handles(quote.sources) == _sources_of(truth, combat["posts"])
    assert "сейчас активно набирается боевого опыта" in quote.surfaces  # the Russian quote is the same claim
    assert rutte.disagreements == []
    assert rutte.languages == {"English": 7, "Russian": 1}


def test_rutte_brief_shows_the_edit(rutte, truth):
    edits = [e for e in rutte.timeline if e.what == "edit"]
    assert len(edits) == 1
    assert edits[0].at.strftime("%H:%M:%S") == "03:38:47"
    assert "July 7–8" in edits[0].text and "renewed support for Ukraine" in edits[0].text


def test_run_demo_prints_the_rutte_brief(demo):
    out = io.StringIO()
    eid = run_demo(demo, Console(file=out, width=200))
    text = out.getvalue()
    assert eid == rutte_event_id(demo)
    assert f"# Event {eid}:" in text
    assert "https://t.me/intelslava/71840" in text and "about 40 billion dollars" in text
    # The stored brief is the printed one.
    stored = demo.execute("SELECT markdown FROM briefs WHERE event_id = %s", (eid,)).fetchone()[0]
    assert stored in text


def test_run_demo_groups_when_grouping_has_not_run(conn, repo_root):
    import_files(conn, [repo_root / "seeds" / "demo"])
    conn.commit()
    out = io.StringIO()
    assert run_demo(conn, Console(file=out, width=200)) is not None
    assert "grouped" in out.getvalue()
