"""Channel boilerplate learned in the warehouse as posts are grouped (ingest/events/boilerplate.py), on real
Telegram news channels and on edge cases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.events import group_window, partition
from ingest.events.boilerplate import boilerplate_of, learned
from ingest.events.clean import clean
from ingest.models import Channel
from tests.events.posts import post
from tests.events.test_group import load

NEWS = "telegram_news_ru"
TOPOR_LIVE, MOSCOW_LIVE, SHOT, BANKSTA = 1754252633, 1699803165, 1100158992, 1136626166
T0 = datetime(2026, 5, 1, 6, 0, tzinfo=timezone.utc)


def _import_channels(conn, shared_data: Path, ids: list[int], tmp_path: Path) -> None:
    from ingest.run.imports import import_files

    for cid in ids:
        (tmp_path / f"{cid}.jsonl").write_bytes((shared_data / NEWS / f"{cid}.jsonl").read_bytes())
    import_files(conn, [tmp_path])
    conn.commit()


def test_real_channel_signatures_are_learned_and_removed(conn, shared_data, tmp_path):
    _import_channels(conn, shared_data, [TOPOR_LIVE, MOSCOW_LIVE, SHOT], tmp_path)
    group_window(conn)
    topor = " | ".join(s["sample"] for s in learned(conn, "telegram", TOPOR_LIVE))
    assert "Топор Live. Подписаться" in topor
    moscow = " | ".join(s["sample"] for s in learned(conn, "telegram", MOSCOW_LIVE))
    assert "Подписаться | Прислать новость" in moscow
    shot = " | ".join(s["sample"] for s in learned(conn, "telegram", SHOT))
    assert "Подписывайся на SHOT" in shot and "Прислать новость" in shot
    # and the cleaned text of a late post carries none of it
    b = boilerplate_of(conn, [("telegram", SHOT)])[("telegram", SHOT)]
    text, at = conn.execute(
        "SELECT text, posted_at FROM posts WHERE channel_id = %s ORDER BY posted_at DESC LIMIT 1", (SHOT,)
    ).fetchone()
    out = clean(text, b, at=at.timestamp()).text
    assert "Подписывайся" not in out and "Прислать новость" not in out and "t.me" not in out


def test_a_handle_glued_to_the_news_is_learned_and_a_copy_signed_with_it_joins(conn, shared_data, tmp_path):
    """Banksta signs most posts with "@banksta" after the last word, without a full stop. Its post of the yuan
    above 15 roubles (with the dollar and euro levels before it) and Topor Live's post of the yuan alone, 19
    minutes later, are labelled the same event (batch 4's dev pairs): they meet on that sentence only once the
    handle is cut."""
    _import_channels(conn, shared_data, [TOPOR_LIVE, BANKSTA], tmp_path)
    group_window(conn)
    assert "@banksta" in {s["sample"] for s in learned(conn, "telegram", BANKSTA)}
    text, at = conn.execute(
        "SELECT text, posted_at FROM posts WHERE channel_id = %s AND post_id = 61407", (BANKSTA,)
    ).fetchone()
    assert text.endswith("2022 года @banksta")
    b = boilerplate_of(conn, [("telegram", BANKSTA)])[("telegram", BANKSTA)]
    assert clean(text, b, at=at.timestamp()).text.endswith("впервые с 29 марта 2022 года")
    part = partition(conn)
    assert part[("telegram", BANKSTA, 61407)] == part[("telegram", TOPOR_LIVE, 125485)]


def _channel_posts(ch: Channel, n: int, signature: str, start: datetime, first_id: int = 1) -> list:
    topics = ["пожар на складе", "ремонт моста", "новый тариф", "матч сборной", "выставка картин", "ливень"]
    return [
        post(ch, first_id + i, start + timedelta(hours=3 * i),
             f"Новость номер {first_id + i}: {topics[i % len(topics)]} в районе {first_id + i}\n\n{signature}")
        for i in range(n)
    ]  # fmt: skip


def test_a_channel_with_few_posts_has_nothing_learned(conn):
    ch = Channel("telegram", 5001, "tiny", "Tiny")
    load(conn, _channel_posts(ch, 12, "❤ [Подписаться](https://t.me/tiny)", T0))
    group_window(conn)
    assert learned(conn, "telegram", 5001) == []


def test_a_channel_that_changes_its_signature_is_relearned(conn):
    ch = Channel("telegram", 5002, "changer", "Changer")
    old, new = "❤ [Подписаться](https://t.me/changer)", "🔥 [Наш новый канал](https://t.me/+AbCdEf)"
    load(conn, _channel_posts(ch, 40, old, T0))
    group_window(conn)
    assert [s["sample"] for s in learned(conn, "telegram", 5002)] == ["Подписаться"]
    load(conn, _channel_posts(ch, 20, new, T0 + timedelta(days=6), first_id=100))
    group_window(conn)
    samples = {s["sample"] for s in learned(conn, "telegram", 5002)}
    assert {"Подписаться", "Наш новый канал"} <= samples


def test_a_post_that_is_empty_after_cleaning_stays_alone(conn):
    ch = Channel("telegram", 5003, "sig", "Sig")
    sig = "[👉 Подписаться](https://t.me/+Zz9)"
    posts = _channel_posts(ch, 40, sig, T0)
    lonely = [post(ch, 900 + i, T0 + timedelta(days=5, minutes=10 * i), f"⚡️🔥\n\n{sig}") for i in range(3)]
    load(conn, posts + lonely)
    group_window(conn)
    part = partition(conn)
    for p in lonely:
        assert [k for k, e in part.items() if e == part[p.key]] == [p.key]


AD = (
    "**Вакансии «Библиотеки программиста» — ждем вас в команде!**\n\n"
    "Мы постоянно растем и развиваемся, поэтому создали отдельную [страницу,](https://job.example.org/) на которой "
    "будут размещены наши актуальные вакансии. Сейчас мы ищем:\n👉контент-менеджеров для ведения телеграм-каналов\n\n"
    "Мы предлагаем частичную занятость и полностью удаленный формат работы\n\nЖдем ваших откликов 👾"
)


def test_an_advertisement_learned_as_boilerplate_still_meets_its_copies_but_never_chains_for_days(conn):
    """A channel repeats its advertisement daily until every line of it is learned as boilerplate (its cleaned
    text is empty); a sister channel posts it too. The copies of one day are one event, across the channels, but the
    daily repeats are not one event for weeks: a post that is all boilerplate joins only an event under 48 h old."""
    a, b, c = (Channel("telegram", 7001 + i, h, h) for i, h in enumerate(("lib_a", "lib_b", "lib_c")))
    news = _channel_posts(a, 40, "", T0) + _channel_posts(b, 40, "", T0, first_id=500)
    ads = [post(a, 900 + d, T0 + timedelta(days=d, hours=20), AD) for d in range(12)]
    ads += [post(b, 950 + d, T0 + timedelta(days=d, hours=21), f"❗{AD}") for d in range(12)]
    # a channel whose copy is not boilerplate at all: its cleaned text is the whole advertisement
    once = post(c, 1, T0 + timedelta(days=10, hours=22), AD.replace("**", ""))
    load(conn, news + ads + [once])
    group_window(conn)
    part = partition(conn)
    assert (
        clean(AD, boilerplate_of(conn, [("telegram", a.channel_id)])[("telegram", a.channel_id)]).text == ""
    )
    # The 24 copies make a handful of events that each hold both channels' copies of a few days (as single
    # posts they were 16 events), and the third channel's plain copy meets them.
    by_event: dict[int, set[int]] = {}
    for p in [*ads, once]:
        by_event.setdefault(part[p.key], set()).add(p.channel_id)
    assert 3 <= len(by_event) <= 6
    assert sum({a.channel_id, b.channel_id} <= chans for chans in by_event.values()) >= len(by_event) - 1
    assert c.channel_id in by_event[part[once.key]] and len(by_event[part[once.key]]) == 3
    # From its fifth day on the advertisement is all boilerplate in both channels: those repeats make events of
    # at most 48 h (the first days' repeats, plain copies then, join as copies always have).
    spans: dict[int, list[datetime]] = {}
    for p in ads:
        if p.posted_at >= T0 + timedelta(days=5):
            spans.setdefault(part[p.key], []).append(p.posted_at)
    assert len(spans) >= 3
    assert max(max(t) - min(t) for t in spans.values()) <= timedelta(hours=48)


def test_copies_join_across_channels_and_hours_whatever_their_decoration(conn):
    a = Channel("telegram", 6001, "a", "A")
    b = Channel("telegram", 6002, "b", "B")
    c = Channel("telegram", 6003, "c", "C")
    text = "Путин подписал закон о списании до 10 млн рублей долгов по кредитам участникам спецоперации"
    posts = [
        post(a, 1, T0, f"⚡️**{text}**\n\n[👉 Подписаться](https://t.me/+Aa1)"),
        post(b, 1, T0 + timedelta(minutes=4), f"❗️{text}"),
        # a rewrite that keeps the headline but goes on differently, hours later
        post(c, 1, T0 + timedelta(hours=5), f"{text}\n\nПо данным СМИ, закон вступает в силу с 1 декабря."),
        post(
            c,
            2,
            T0 + timedelta(hours=6),
            "В Москве открылась выставка картин Айвазовского в Третьяковской галерее",
        ),
    ]
    load(conn, posts)
    group_window(conn)
    part = partition(conn)
    assert part[posts[0].key] == part[posts[1].key] == part[posts[2].key] != part[posts[3].key]


@pytest.mark.parametrize("hours", [30, 60])
def test_a_late_report_needs_more_than_an_old_event_offers(conn, hours):
    """Bounded events: a report that only resembles an event that started long ago starts its own."""
    a = Channel("telegram", 7001, "a", "A")
    b = Channel("telegram", 7002, "b", "B")
    first = post(a, 1, T0, "Курс доллара на Мосбирже поднялся выше 106 рублей, евро выше 112 рублей")
    late = post(
        b, 1, T0 + timedelta(hours=hours), "Курс доллара на Мосбирже поднялся выше 109 рублей впервые"
    )
    load(conn, [first, late])
    group_window(conn)
    part = partition(conn)
    assert part[first.key] != part[late.key]


def test_the_news_fixture_is_what_the_readme_says(shared_data):
    lines = (shared_data / NEWS / f"{TOPOR_LIVE}.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["peer_id"]["channel_id"] == TOPOR_LIVE
