"""Posts for the grouping tests: the Rutte remarks as four outlets reported them (two Telegram channels, an X
account, a Russian channel), a forward, and unrelated posts of the same hours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest.models import Channel, Post, PostRef

T0 = datetime(2026, 6, 26, 4, 50, tzinfo=timezone.utc)

INTELSLAVA = Channel("telegram", 1001, "intelslava", "Intel Slava Z")
KYIVPOST = Channel("telegram", 1002, "kyivpost_official", "Kyiv Post")
RU_CHANNEL = Channel("telegram", 1003, "ru_news_wire", "Новости")
AGGREGATOR = Channel("telegram", 1004, "war_digest", "War digest")
POLYMARKET = Channel("x", 2001, "polymarketintel", "Polymarket Intel")
OTHER_X = Channel("x", 2002, "weatherdesk", "Weather desk")

RUTTE_TEXTS = {
    "intelslava": "NATO Secretary General Mark Rutte: Russia is a long-term threat, the Russian army is currently "
    "actively gaining combat experience. Allies will unveil tens of billions of dollars in new defense contracts "
    "at the Ankara summit on 7-8 July.",
    "kyivpost": "Rutte announced that NATO allies will present new defence contracts worth tens of billions of "
    "dollars at the summit in Ankara on July 7–8, alongside renewed support for Ukraine.",
    "x": "BREAKING: NATO's Rutte says tens of billions of dollars in new defense contracts will be unveiled at "
    "the Ankara summit",
    "ru": "Генсек НАТО Рютте: на саммите в Анкаре 7–8 июля союзники объявят о новых оборонных контрактах на "
    "десятки миллиардов долларов. Российская армия активно набирается боевого опыта.",
}

UNRELATED = [
    (
        KYIVPOST,
        "Russian drones attacked Odesa overnight, three people were injured, the regional governor said.",
    ),
    (RU_CHANNEL, "В Москве ожидается ливень и гроза, МЧС предупреждает об усилении ветра до 20 м/с."),
    (
        OTHER_X,
        "Heatwave: temperatures in Madrid expected to reach 42C this weekend, officials urge people to stay indoors.",
    ),
    (
        INTELSLAVA,
        "Zelensky met with Polish President in Warsaw to discuss grain transit and border crossings.",
    ),
    (AGGREGATOR, "Курс доллара на Мосбирже опустился ниже 78 рублей впервые с мая."),
]


def post(channel: Channel, post_id: int, at: datetime, text: str, **kw) -> Post:
    return Post(
        platform=channel.platform, channel_id=channel.channel_id, post_id=post_id, posted_at=at, text=text,
        channel=channel, source="test", lang=kw.pop("lang", None), **kw,
    )  # fmt: skip


def rutte_posts() -> list[Post]:
    return [
        post(INTELSLAVA, 70001, T0, RUTTE_TEXTS["intelslava"], lang="en"),
        post(KYIVPOST, 50001, T0 + timedelta(minutes=9), RUTTE_TEXTS["kyivpost"], lang="en"),
        post(POLYMARKET, 1_938_000_000_000_000_001, T0 + timedelta(minutes=14), RUTTE_TEXTS["x"], lang="en"),
        post(RU_CHANNEL, 30001, T0 + timedelta(minutes=21), RUTTE_TEXTS["ru"], lang="ru"),
    ]


def forward_of_intelslava() -> Post:
    """War digest forwards Intelslava's post (a Telegram forward carries the original's text)."""
    return post(
        AGGREGATOR, 900, T0 + timedelta(minutes=30), RUTTE_TEXTS["intelslava"],
        forwarded_from=PostRef("telegram", INTELSLAVA.channel_id, 70001, posted_at=T0),
    )  # fmt: skip


def unrelated_posts() -> list[Post]:
    return [
        post(ch, 80000 + i, T0 + timedelta(minutes=3 + 7 * i), text) for i, (ch, text) in enumerate(UNRELATED)
    ]


def sets(mapping: dict) -> set[frozenset]:
    """A partition (post -> group id) as a set of groups, each the set of its posts: comparable across runs whose
    ids differ."""
    groups: dict = {}
    for k, v in mapping.items():
        groups.setdefault(v, set()).add(k)
    return {frozenset(s) for s in groups.values()}
