"""The brief's rules on hand-made events (ingest/briefs/build.py and the modules it assembles from, render.py): no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ingest.briefs.build import build_brief
from ingest.briefs.model import ChannelInfo, EventInput, PostInput, VersionInput
from ingest.briefs.render import render_json, render_markdown
from ingest.briefs.text import lead_sentence

T0 = datetime(2026, 6, 26, 2, 47, 10, tzinfo=UTC)
A = ChannelInfo("telegram", 1, "alpha", "Alpha News")
B = ChannelInfo("telegram", 2, "bravo", "Bravo")
C = ChannelInfo("x", 3, "charlie", "Charlie")
D = ChannelInfo("telegram", 4, "delta", "Delta")


def post(ch: ChannelInfo, pid: int, minutes: float, text: str, **kw) -> PostInput:
    url = (
        f"https://t.me/{ch.handle}/{pid}"
        if ch.platform == "telegram"
        else f"https://x.com/{ch.handle}/status/{pid}"
    )
    return PostInput(ch.platform, ch.channel_id, pid, T0 + timedelta(minutes=minutes), text, url, ch, **kw)


def event(*posts: PostInput) -> EventInput:
    return EventInput(
        1, 1, None, min(p.posted_at for p in posts), max(p.posted_at for p in posts), tuple(posts)
    )


ORIGIN = "Rutte: allies will present “tens of billions of dollars in new defense contracts” at the summit on 7-8 July."


def test_forward_and_repost_count_once_for_their_origin():
    a = post(A, 10, 0, ORIGIN, role="origin")
    fwd = post(B, 20, 5, ORIGIN, role="forward", forwarded_from=A, fwd_post_id=10, fwd_posted_at=a.posted_at)
    c = post(C, 30, 7, "Rutte says tens of billions of dollars in contracts will come at the 7–8 July summit")
    rep = post(B, 21, 9, c.text, role="forward", reposted_from=C, reposted_post_id=30)
    b = build_brief(event(a, fwd, c, rep))
    assert b.source_count == 2
    assert [s.channel for s in b.sources] == [A.name, C.name]
    alpha = b.sources[0]
    assert [p.url for p in alpha.posts] == ["https://t.me/alpha/10"]
    assert [p.url for p in alpha.carried_by] == ["https://t.me/bravo/20"]
    assert [p.url for p in b.sources[1].carried_by] == ["https://t.me/bravo/21"]
    # Provenance lists the originals, each with what carried it.
    assert [(p.url, [c.url for c in p.carried_by]) for p in b.provenance] == [
        ("https://t.me/alpha/10", ["https://t.me/bravo/20"]),
        ("https://x.com/charlie/status/30", ["https://t.me/bravo/21"]),
    ]
    whats = {e.post_id: e.what for e in b.timeline}
    assert whats == {10: "first report", 20: "forward", 30: "report", 21: "repost"}
    # A forward alone is no corroboration: the figure is carried by A and C, not B.
    tens = next(c for c in b.corroborated if c.label == "tens of billions of dollars")
    assert tens.sources == [A.name, C.name]


def test_same_channel_twice_is_one_source_and_a_forward_only_event_has_one_source():
    a1 = post(A, 10, 0, ORIGIN)
    a2 = post(A, 11, 30, "Rutte also said Russia stays a long-term threat.", reply_to_post_id=10)
    fwd = post(B, 20, 5, ORIGIN, forwarded_from=A, fwd_post_id=10, fwd_posted_at=a1.posted_at)
    b = build_brief(event(a1, a2, fwd))
    assert b.source_count == 1
    assert b.single_source == []  # with one source, nothing is singled out
    assert "One independent source so far" in render_markdown(b)
    assert {e.post_id: e.what for e in b.timeline}[11] == "follow-up"


def test_single_source_figure_and_quote_are_marked():
    a = post(A, 10, 0, ORIGIN)
    c = post(C, 30, 7, "Rutte says tens of billions of dollars in contracts at the 7–8 July summit")
    d = post(D, 40, 9, "Генсек НАТО: контракты на «десятки миллиардов долларов», саммит 7–8 июля. "
                       "По данным источника, речь идёт о пакете примерно на 40 млрд долларов.")  # fmt: skip
    b = build_brief(event(a, c, d))
    single = {cl.label: cl for cl in b.single_source}
    assert "about 40 billion dollars" in single
    assert single["about 40 billion dollars"].sources == [D.name]
    assert single["about 40 billion dollars"].urls == ["https://t.me/delta/40"]
    assert "tens of billions of dollars" not in single and "7–8 July 2026" not in single
    tens = next(cl for cl in b.corroborated if cl.label == "tens of billions of dollars")
    assert set(tens.sources) == {A.name, C.name, D.name}
    # 40 billion lies inside "tens of billions": more specific, not a disagreement.
    assert b.disagreements == []
    md = render_markdown(b)
    assert "## Only one source" in md and "about 40 billion dollars" in md.split("## Only one source")[1]


def test_cross_language_quote_is_not_single_source():
    a = post(A, 10, 0, "Rutte: the Russian army is “currently actively gaining combat experience”.")
    d = post(D, 40, 9, "Рютте: российская армия «сейчас активно набирается боевого опыта».")
    b = build_brief(event(a, d))
    assert b.single_source == []
    q = next(cl for cl in b.corroborated if cl.kind == "quote")
    assert set(q.sources) == {A.name, D.name}


def test_unrelated_quote_stays_single_source():
    a = post(A, 10, 0, "Rutte: the Russian army is “currently actively gaining combat experience”.")
    d = post(D, 40, 9, "Рютте заявил, что «альянс готов к любым сценариям» на саммите.")
    b = build_brief(event(a, d))
    assert {cl.label for cl in b.single_source} == {
        "currently actively gaining combat experience",
        "альянс готов к любым сценариям",
    }


def test_disagreements_on_numbers_for_one_quantity():
    a = post(A, 10, 0, "Overnight 12 drones hit the oil depot; the summit is on 7-8 July.")
    c = post(C, 30, 7, "15 drones attacked the depot overnight, officials said; the summit is on 8-9 July.")
    b = build_brief(event(a, c))
    quantities = {d.quantity: d for d in b.disagreements}
    assert set(quantities) == {"count (drone)", "date, summit"}
    drones = quantities["count (drone)"]
    assert [(v["source"], v["surface"]) for v in drones.values] == [
        (A.name, "12 drones"),
        (C.name, "15 drones"),
    ]
    md = render_markdown(b)
    assert "## Disagreements" in md and "12 drones" in md.split("## Disagreements")[1]


def test_money_disagreement_only_when_no_value_overlaps():
    a = post(A, 10, 0, "A package of $30 billion.")
    c = post(C, 30, 7, "A package of $50 billion.")
    assert [d.quantity for d in build_brief(event(a, c)).disagreements] == ["money (USD)"]
    c2 = post(C, 30, 7, "Tens of billions of dollars, of which $30 billion this year.")
    assert build_brief(event(a, c2)).disagreements == []


def test_a_value_that_moves_is_not_a_disagreement():
    # The rouble's fall of 26 November 2024 in telegram_news_ru: one channel gives the dollar and the euro (and the
    # dollar again an hour later), another the dollar two hours later. Nobody disagrees.
    a = post(A, 10, 0, "Доллар поднялся выше 105 рублей, — данные торгов. Евро — выше 110 рублей.")
    a2 = post(A, 11, 60, "Доллар поднялся выше 106 рублей.")
    c = post(C, 30, 120, "Доллар уже 107 рублей на бирже.")
    assert build_brief(event(a, a2, c)).disagreements == []
    # Two sources with one value each still disagree.
    d = post(C, 31, 5, "Доллар поднялся выше 108 рублей.")
    assert [x.quantity for x in build_brief(event(a2, d)).disagreements] == ["money (RUB)"]


def test_edit_is_a_timeline_entry_saying_what_changed_and_the_report_shows_the_first_version():
    v1 = "Rutte says allies will present contracts worth tens of billions of dollars at the Ankara summit."
    v2 = "Rutte says allies will present contracts worth tens of billions of dollars at the July 7–8 Ankara summit."
    edited_at = T0 + timedelta(minutes=8)
    c = post(C, 30, 0, v2, versions=(VersionInput(T0, v1), VersionInput(edited_at, v2)))
    b = build_brief(event(c))
    entries = [(e.at, e.what) for e in b.timeline]
    assert entries == [(T0, "first report"), (edited_at, "edit")]
    assert b.timeline[0].text == v1
    assert "“July 7–8”" in b.timeline[1].text
    assert any("edited post 30" in cv for cv in b.caveats)


def test_first_seen_through_a_forward_when_the_origin_is_not_in_the_warehouse():
    origin_at = T0 - timedelta(minutes=30)
    fwd = post(B, 20, 5, ORIGIN, forwarded_from=A, fwd_post_id=10, fwd_posted_at=origin_at,
               fwd_url="https://t.me/alpha/10")  # fmt: skip
    c = post(C, 30, 7, "Rutte says tens of billions of dollars in contracts.")
    b = build_brief(event(fwd, c))
    assert b.first_seen.at == origin_at
    assert b.first_seen.url == "https://t.me/alpha/10"
    assert b.first_seen.via and "https://t.me/bravo/20" in b.first_seen.via
    assert b.source_count == 2
    assert b.provenance[0].url == "https://t.me/alpha/10"
    assert [x.url for x in b.provenance[0].carried_by] == ["https://t.me/bravo/20"]


def test_headline_is_the_lead_of_the_most_central_post():
    a = post(A, 10, 0, "⚡️BREAKING: Storm warning for the coast tonight.\n\n#weather")
    c = post(
        C, 30, 7, "Rutte says tens of billions of dollars in new defense contracts at the Ankara summit."
    )
    d = post(
        D, 40, 9, "NATO's Rutte: tens of billions of dollars in defense contracts will be unveiled in Ankara."
    )
    b = build_brief(event(a, c, d))
    assert b.headline in (lead_sentence(c.text), lead_sentence(d.text))


def test_lead_sentence():
    assert lead_sentence("⚡️NATO to unveil deals in Ankara — Rutte\n\nMore text. #NATO @x") == (
        "NATO to unveil deals in Ankara — Rutte"
    )
    assert lead_sentence("BREAKING: First sentence here. Second one.") == "First sentence here."
    assert lead_sentence("#tag @user\nСРОЧНО: Взрыв в порту. Подробности позже") == "Взрыв в порту."
    assert lead_sentence("RT @x: Area of 1000 sq. m burned") == "Area of 1000 sq. m burned"
    long = "word " * 80
    assert len(lead_sentence(long)) <= 201 and lead_sentence(long).endswith("…")


def test_languages_detected_when_the_platform_gives_none():
    a = post(A, 10, 0, ORIGIN)
    d = post(D, 40, 9, "Генсек НАТО: контракты на десятки миллиардов долларов.")
    u = post(B, 50, 12, "Генсек НАТО: контракти на десятки мільярдів доларів, саміт у Анкарі.")
    b = build_brief(event(a, d, u))
    assert b.languages == {"English": 1, "Russian": 1, "Ukrainian": 1}
    # The Ukrainian and Russian amounts corroborate the English one.
    tens = next(cl for cl in b.corroborated if cl.label == "tens of billions of dollars")
    assert len(tens.sources) == 3


def test_json_rendering_is_utc_and_round_trips():
    a = post(A, 10, 0, ORIGIN)
    data = json.loads(render_json(build_brief(event(a))))
    assert data["event_id"] == 1
    assert data["first_seen"]["at"] == "2026-06-26T02:47:10Z"
    assert data["provenance"][0]["url"] == "https://t.me/alpha/10"
    assert list(data)[:3] == ["event_id", "storyline_id", "headline"]


def test_a_post_grouped_on_shared_rare_names_is_marked_for_the_editor_to_check():
    """A post grouping joined by rare words only (`joined_by = anchor`) is a related report in the timeline, and a
    caveat names it; a post joined by similarity stays a report."""
    a = post(A, 10, 0, "В московской школе №1512 около 50 детей отравились, школу закрыли на карантин.")
    c = post(
        C,
        30,
        100,
        "Роспотребнадзор приостановил работу школы №1512 из-за кишечной инфекции.",
        joined_by="anchor",
    )
    d = post(D, 40, 110, "В школе №1512 отравились около 50 детей, её закрыли на карантин.")
    b = build_brief(event(a, c, d))
    assert {e.post_id: e.what for e in b.timeline} == {10: "first report", 30: "related report", 40: "report"}
    assert b.caveats == [
        "1 post joined on shared rare names only (@charlie 30: check that it reports this happening)."
    ]
    md = render_markdown(b)
    assert "related report (shared names)" in md and "joined on shared rare names only (@charlie 30" in md
