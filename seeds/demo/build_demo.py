"""Build wirewatch's SYNTHETIC demo day (26 June 2026 UTC) in the platforms' real export formats.

Every post, id and count here is invented. The story is modelled on the seed synthesis (NATO Secretary General
Rutte's remarks relayed early on 26 June 2026, /work/shared/seed/000_*.txt) without reusing its sentences.
Run `python seeds/demo/build_demo.py` to rewrite the files beside it; tests/test_demo_data.py checks that the
checked-in files are exactly what this script produces. seeds/demo/README.md describes the ground truth.

Formats:
- telegram/<channel>/result.json: Telegram Desktop "Export chat history" JSON (tdesktop export_output_json.cpp):
  name/type/id header, then messages with `date` in the exporter's local time and `date_unixtime` in UTC.
  One addition tdesktop does not write: a top-level "username", so posts get public t.me/<handle>/<id> links.
- x/<account>.jsonl: X API v2 user-timeline response pages, one a line, as twarc2 writes them
  (data/includes/meta + __twarc), tweet ids are snowflakes of their created_at.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
X_EPOCH_MS = 1288834974657


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 6, 26, hh, mm, ss, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ Telegram

# (handle, title, synthetic numeric id, exporter's UTC offset in hours): the offsets differ on purpose, so a
# reader that trusted `date` would put the same minute at four different times.
INTELSLAVA = ("intelslava", "Intel Slava Z", 1263512207, -4)  # exported in New York (EDT)
KYIVPOST = ("KyivPost_official", "Kyiv Post", 1421936035, 3)  # exported in Kyiv (EEST)
SVODKA = ("opersvodka_demo", "Оперативная сводка (демо)", 1785302964, 7)  # exported in Novosibirsk
KYIV_TODAY = ("kyiv_sogodni_demo", "Київ сьогодні (демо)", 1893040571, 3)

# The lead of the Rutte story as Intelslava wrote it; the Russian channel forwards it verbatim.
RUTTE_INTELSLAVA = [
    {
        "type": "bold",
        "text": "⚡️NATO to unveil “tens of billions of dollars in new defense contracts” in Ankara — Rutte",
    },
    "\n\nThe alliance's Secretary General says the deals will be presented at the summit in Ankara on 7-8 July. "
    "Russia, he said, remains a long-term threat, and the Russian army is “currently actively gaining combat "
    "experience”.\n\n",
    {"type": "hashtag", "text": "#NATO"},
    " ",
    {"type": "mention", "text": "@intelslava"},
]


def tg_message(
    channel: tuple[str, str, int, int],
    msg_id: int,
    when: datetime,
    text: list[Any] | str,
    *,
    edited: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One message as tdesktop writes it (key order included)."""
    _, title, channel_id, offset = channel
    local = timezone(timedelta(hours=offset))
    msg: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "date": when.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(when.timestamp())),
    }
    if edited is not None:
        msg["edited"] = edited.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S")
        msg["edited_unixtime"] = str(int(edited.timestamp()))
    msg["from"] = title
    msg["from_id"] = f"channel{channel_id}"
    msg.update(extra)
    parts = [text] if isinstance(text, str) else text
    # tdesktop writes a lone plain run as a string, anything else as a list; text_entities always as objects.
    msg["text"] = parts[0] if len(parts) == 1 and isinstance(parts[0], str) else parts
    if not parts or parts == [""]:
        msg["text"] = ""
    msg["text_entities"] = [
        p if isinstance(p, dict) else {"type": "plain", "text": p} for p in parts if p != ""
    ]
    if "reactions" in msg:  # tdesktop writes reactions after the text
        msg["reactions"] = msg.pop("reactions")
    return msg


def tg_service(
    channel: tuple[str, str, int, int], msg_id: int, when: datetime, action: str, **extra: Any
) -> dict:
    _, title, channel_id, offset = channel
    local = timezone(timedelta(hours=offset))
    return {
        "id": msg_id,
        "type": "service",
        "date": when.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(when.timestamp())),
        "actor": title,
        "actor_id": f"channel{channel_id}",
        "action": action,
        **extra,
        "text": "",
        "text_entities": [],
    }


def photo(width: int = 1280, height: int = 720, size: int = 154_211) -> dict[str, Any]:
    return {"photo": NOT_INCLUDED, "photo_file_size": size, "width": width, "height": height}


def video(name: str, seconds: int, size: int) -> dict[str, Any]:
    return {
        "file": NOT_INCLUDED,
        "file_name": name,
        "file_size": size,
        "thumbnail": NOT_INCLUDED,
        "media_type": "video_file",
        "mime_type": "video/mp4",
        "duration_seconds": seconds,
        "width": 1280,
        "height": 720,
    }


def reactions(*pairs: tuple[str, int]) -> dict[str, Any]:
    return {"reactions": [{"type": "emoji", "count": n, "emoji": e} for e, n in pairs]}


def intelslava() -> list[dict[str, Any]]:
    c = INTELSLAVA
    return [
        tg_message(
            c,
            71838,
            at(0, 42, 15),
            "Thunderstorm warning for Moscow and the Moscow region until 21:00 "
            "today: gusts up to 20 m/s and hail are possible.",
        ),
        tg_message(
            c,
            71839,
            at(1, 55, 3),
            [
                "Russian MoD: air defenses intercepted and destroyed 23 Ukrainian drones overnight over the Bryansk, "
                "Kursk and Belgorod regions.",
            ],
            **reactions(("👍", 1840), ("🔥", 512)),
        ),
        tg_message(
            c,
            71840,
            at(2, 47, 10),
            RUTTE_INTELSLAVA,
            **photo(1200, 675, 98_304),
            **reactions(("🤔", 2210), ("👍", 1302), ("🔥", 401)),
        ),
        tg_message(
            c,
            71841,
            at(3, 2, 40),
            [
                "📢 Our backup channel in case of blocking: ",
                {"type": "text_link", "text": "join here", "href": "https://t.me/+Xq2demoBackupLink"},
                ". Ads and cooperation: ",
                {"type": "mention", "text": "@intelslava_ads"},
            ],
        ),
        tg_message(
            c,
            71842,
            at(3, 15, 31),
            "Rutte also stressed that NATO has to plan for a Russia that stays "
            "dangerous long after the fighting in Ukraine ends.",
            reply_to_message_id=71840,
        ),
        tg_message(
            c,
            71843,
            at(6, 30, 0),
            [
                "⚽️ World Cup 2026: the group stage ends tonight; the round of 32 starts on 28 June. ",
                {"type": "hashtag", "text": "#WorldCup2026"},
            ],
        ),
        tg_message(c, 71844, at(11, 20, 44), "Evening over the Kerch Strait.", **photo(1280, 960, 201_117)),
        tg_message(
            c,
            71845,
            at(17, 5, 9),
            "Russian MoD claims its forces have taken control of another village in the Donetsk direction.",
            **video("IMG_4411.MP4", 24, 5_830_112),
        ),
    ]


def kyivpost() -> list[dict[str, Any]]:
    c = KYIVPOST
    return [
        tg_message(
            c,
            45207,
            at(1, 10, 0),
            "🚨 Air raid alert in Kyiv and the Kyiv region. Residents are urged "
            "to stay in shelters until the all-clear.",
        ),
        tg_message(
            c,
            45208,
            at(2, 53, 40),
            [
                "NATO Secretary General Mark Rutte said member states will present defense deals worth tens of "
                "billions of dollars at the alliance's summit in Ankara on July 7–8, together with renewed support "
                "for Ukraine. Rutte described Russia as a threat NATO will face for years to come.\n\n",
                {
                    "type": "text_link",
                    "text": "Read more on Kyiv Post",
                    "href": "https://www.kyivpost.com/post/58213",
                },
                " ",
                {"type": "hashtag", "text": "#NATO"},
            ],
            **photo(1600, 900, 187_402),
        ),
        tg_service(c, 45209, at(2, 54, 30), "pin_message", message_id=45208),
        tg_message(
            c,
            45210,
            at(4, 45, 0),
            [
                "Ukrenergo: scheduled power cuts are possible in several regions this evening because of high "
                "demand during the heat. Check your region's schedule: ",
                {"type": "link", "text": "kyivpost.com/post/58190"},
            ],
        ),
        tg_message(
            c,
            45211,
            at(7, 15, 0),
            "Kyiv will host its summer half marathon on Sunday; several roads "
            "in the city center will be closed from 6 a.m.",
        ),
        tg_message(
            c,
            45212,
            at(9, 41, 20),
            "Drones struck an oil depot in Tikhoretsk in Russia's Krasnodar "
            "region overnight, starting a large fire, Russian regional officials said. No casualties "
            "were reported.",
            **photo(1280, 853, 143_551),
        ),
        tg_message(
            c,
            45213,
            at(13, 30, 0),
            [
                "Independent journalism from Ukraine needs your support. ",
                {
                    "type": "text_link",
                    "text": "Become a Kyiv Post member",
                    "href": "https://www.kyivpost.com/membership",
                },
            ],
        ),
        tg_message(
            c,
            45214,
            at(16, 2, 11),
            "General Staff update: Ukrainian forces repelled 118 Russian "
            "assaults over the past day, most of them in the Pokrovsk direction.",
        ),
        tg_message(
            c,
            45215,
            at(20, 40, 0),
            "🌡 Heatwave: temperatures in Kyiv are forecast to reach 34°C this weekend.",
        ),
    ]


def svodka() -> list[dict[str, Any]]:
    c = SVODKA
    _, is_title, is_id, _ = INTELSLAVA
    return [
        tg_message(c, 18417, at(0, 20, 0), "Погода: в Москве сегодня до +27, во второй половине дня грозы."),
        # The forward: Intelslava's post 71840 verbatim. Desktop exports name the origin channel but never the
        # original message id or date.
        tg_message(
            c,
            18418,
            at(3, 6, 22),
            RUTTE_INTELSLAVA,
            forwarded_from=is_title,
            forwarded_from_id=f"channel{is_id}",
            **photo(1200, 675, 98_304),
        ),
        tg_message(
            c,
            18419,
            at(3, 24, 50),
            [
                "Генсек НАТО Марк Рютте: на саммите альянса в Анкаре 7–8 июля будут представлены новые оборонные "
                "контракты на «десятки миллиардов долларов». Россию он назвал долгосрочной угрозой, заявив, что "
                "российская армия «сейчас активно набирается боевого опыта».\n\nПо данным источника в штаб-квартире "
                "НАТО, речь идёт о пакете примерно на 40 млрд долларов. ",
                {"type": "hashtag", "text": "#НАТО"},
            ],
        ),
        tg_message(
            c,
            18420,
            at(6, 5, 0),
            [
                "Реклама. Научим торговать на бирже за 30 дней — первое занятие бесплатно: ",
                {"type": "link", "text": "https://example.com/kurs-demo"},
            ],
        ),
        tg_message(
            c,
            18421,
            at(9, 12, 8),
            "Оперштаб Краснодарского края: ночью в Тихорецке в результате атаки "
            "беспилотников загорелась нефтебаза. Площадь пожара — около 1000 кв. м, пострадавших нет, на "
            "месте работают 60 пожарных.",
            **video("tikhoretsk.mp4", 17, 3_104_777),
        ),
        tg_message(
            c,
            18422,
            at(12, 40, 0),
            "Теннис: Уимблдон-2026 стартует 29 июня, жеребьёвка основной сетки пройдёт сегодня.",
        ),
        tg_message(
            c,
            18423,
            at(15, 55, 0),
            "Местные паблики сообщают об ударах по объектам энергетики в "
            "Харьковской области, в части города пропал свет.",
        ),
        tg_message(c, 18424, at(21, 30, 0), "Курс доллара ЦБ на 27 июня — 78,40 руб., евро — 91,12 руб."),
    ]


def kyiv_today() -> list[dict[str, Any]]:
    c = KYIV_TODAY
    return [
        tg_message(c, 9301, at(4, 2, 0), "Доброго ранку! У Києві сьогодні до +29°, без опадів ☀️"),
        tg_message(
            c,
            9302,
            at(8, 15, 0),
            "Через ремонт на мосту Патона рух обмежено до 30 червня. Об'їзд — через Південний міст.",
        ),
        tg_message(
            c,
            9303,
            at(11, 45, 0),
            [
                "Знижки до 50% на кондиціонери — лише до неділі! 👉 ",
                {"type": "link", "text": "https://example.com/kondytsionery-demo"},
            ],
        ),
        tg_message(
            c,
            9304,
            at(14, 20, 0),
            "⚽️ «Динамо» провело перше тренування після відпустки, збори стартують наступного тижня.",
        ),
        tg_message(c, 9305, at(19, 10, 0), "❗️Повітряна тривога в Києві. Прямуйте в укриття!"),
        tg_message(c, 9306, at(19, 42, 0), "Відбій повітряної тривоги у Києві."),
    ]


def export(channel: tuple[str, str, int, int], messages: list[dict[str, Any]]) -> dict[str, Any]:
    handle, title, channel_id, _ = channel
    return {
        "name": title,
        "type": "public_channel",
        "id": channel_id,
        "username": handle,
        "messages": messages,
    }


# ------------------------------------------------------------------------------------------------------- X

POLY_USER = {
    "id": "1730978465104347136",
    "username": "PolymarketIntel",
    "name": "Polymarket Intel",
    "created_at": "2023-12-02T15:12:44.000Z",
    "verified": False,
    "protected": False,
    "description": "Breaking news and market-moving events, from the Polymarket team.",
    "profile_image_url": "https://pbs.twimg.com/profile_images/0000000000000000000/demo_normal.jpg",
    "public_metrics": {
        "followers_count": 402113,
        "following_count": 210,
        "tweet_count": 18733,
        "listed_count": 2210,
    },
}
KP_USER = {
    "id": "19431467",
    "username": "KyivPost",
    "name": "Kyiv Post",
    "created_at": "2009-01-24T09:30:11.000Z",
    "verified": False,
    "protected": False,
    "description": "Ukraine's Global Voice. Independent English-language news from Kyiv since 1995.",
    "url": "https://t.co/kpDemoUrl1",
    "profile_image_url": "https://pbs.twimg.com/profile_images/0000000000000000001/demo_normal.jpg",
    "public_metrics": {
        "followers_count": 985220,
        "following_count": 1480,
        "tweet_count": 121004,
        "listed_count": 6930,
    },
}

TIMELINE_FIELDS = (
    "expansions=author_id%2Creferenced_tweets.id%2Creferenced_tweets.id.author_id%2Centities.mentions.username"
    "%2Cattachments.media_keys&tweet.fields=attachments%2Cauthor_id%2Cconversation_id%2Ccreated_at%2Cedit_controls"
    "%2Cedit_history_tweet_ids%2Centities%2Cid%2Clang%2Cpublic_metrics%2Creferenced_tweets%2Creply_settings%2Ctext"
    "&user.fields=created_at%2Cdescription%2Cid%2Cname%2Cpublic_metrics%2Cprotected%2Cusername%2Cverified"
    "&media.fields=alt_text%2Cheight%2Cmedia_key%2Ctype%2Curl%2Cwidth&max_results=100"
)


def snowflake(when: datetime, low: int) -> str:
    """An X id whose timestamp bits are `when` (low = datacenter/worker/sequence bits, < 2**22)."""
    ms = int(when.timestamp() * 1000)
    return str(((ms - X_EPOCH_MS) << 22) | low)


def iso_ms(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def tweet(
    user: dict[str, Any],
    tweet_id: str,
    when: datetime,
    text: str,
    metrics: tuple[int, int, int, int, int, int],
    *,
    history: list[str] | None = None,
    urls: tuple[tuple[str, str, str], ...] = (),  # (t.co url, expanded, display)
    hashtags: tuple[str, ...] = (),
    mentions: tuple[tuple[str, str], ...] = (),  # (username, id)
    referenced: list[dict[str, str]] | None = None,
    media_keys: list[str] | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    retweets, replies, likes, quotes, bookmarks, impressions = metrics
    entities: dict[str, Any] = {}
    if urls:
        entities["urls"] = [
            {
                "start": text.index(u),
                "end": text.index(u) + len(u),
                "url": u,
                "expanded_url": e,
                "display_url": d,
            }
            for u, e, d in urls
        ]
    if hashtags:
        entities["hashtags"] = [
            {"start": text.index("#" + h), "end": text.index("#" + h) + len(h) + 1, "tag": h}
            for h in hashtags
        ]
    if mentions:
        entities["mentions"] = [
            {"start": text.index("@" + m), "end": text.index("@" + m) + len(m) + 1, "username": m, "id": i}
            for m, i in mentions
        ]
    t: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "author_id": user["id"],
        "conversation_id": tweet_id,
        "created_at": iso_ms(when),
        "lang": lang,
        "edit_history_tweet_ids": history or [tweet_id],
        "edit_controls": {
            "edits_remaining": 5 - (len(history or [tweet_id]) - 1),
            "is_edit_eligible": referenced is None,
            "editable_until": iso_ms(when + timedelta(hours=1)),
        },
        "public_metrics": {
            "retweet_count": retweets,
            "reply_count": replies,
            "like_count": likes,
            "quote_count": quotes,
            "bookmark_count": bookmarks,
            "impression_count": impressions,
        },
        "possibly_sensitive": False,
        "reply_settings": "everyone",
    }
    if history:  # an edit keeps the conversation of the first version
        t["conversation_id"] = history[0]
    if entities:
        t["entities"] = entities
    if referenced:
        t["referenced_tweets"] = referenced
    if media_keys:
        t["attachments"] = {"media_keys": media_keys}
    return t


def page(
    user_id: str,
    tweets: list[dict[str, Any]],
    users: list[dict[str, Any]],
    retrieved: datetime,
    *,
    included_tweets: tuple[dict[str, Any], ...] = (),
    media: tuple[dict[str, Any], ...] = (),
    next_token: str | None = None,
    pagination_token: str | None = None,
) -> dict[str, Any]:
    includes: dict[str, Any] = {"users": users}
    if included_tweets:
        includes["tweets"] = list(included_tweets)
    if media:
        includes["media"] = list(media)
    meta: dict[str, Any] = {
        "result_count": len(tweets),
        "newest_id": tweets[0]["id"],
        "oldest_id": tweets[-1]["id"],
    }
    if next_token:
        meta["next_token"] = next_token
    url = f"https://api.twitter.com/2/users/{user_id}/tweets?{TIMELINE_FIELDS}&start_time=2026-06-26T00%3A00%3A00Z"
    if pagination_token:
        url += f"&pagination_token={pagination_token}"
    return {
        "data": tweets,
        "includes": includes,
        "meta": meta,
        "__twarc": {"url": url, "version": "2.14.0", "retrieved_at": retrieved.isoformat()},
    }


# Tweet ids, derived from their times (fixed low bits keep them stable).
P1 = snowflake(at(0, 31, 12), 0x1A2B3)
P2 = snowflake(at(2, 58, 5), 0x0C4D1)  # the Rutte headline
P3 = snowflake(at(12, 10, 40), 0x22E07)
P4 = snowflake(at(18, 22, 0), 0x09F12)
K1 = snowflake(at(1, 40, 0), 0x31A0C)
K2 = snowflake(at(3, 31, 12), 0x0B7E4)  # Rutte, first version
K2E = snowflake(at(3, 38, 47), 0x14C29)  # ... edited: a new tweet id, same post
K3 = snowflake(at(3, 45, 30), 0x2D0F1)  # retweet of P2
K4 = snowflake(at(10, 5, 0), 0x07A93)
K5 = snowflake(at(15, 30, 0), 0x18B6E)

P2_TEXT = (
    "BREAKING: NATO's Rutte says “tens of billions of dollars in new defense contracts” will be announced at "
    "the Ankara summit, warns Russia's army is “currently actively gaining combat experience”"
)
K2_URL = ("https://t.co/Qm3nTz8aLw", "https://www.kyivpost.com/post/58213", "kyivpost.com/post/58213")


def polymarket_pages() -> list[dict[str, Any]]:
    p1 = tweet(
        POLY_USER,
        P1,
        at(0, 31, 12),
        "JUST IN: Odds of a July Fed rate cut fall to 18% on Polymarket "
        "after hawkish remarks from two Fed governors.",
        (412, 96, 2890, 41, 180, 401_220),
    )
    p2 = tweet(POLY_USER, P2, at(2, 58, 5), P2_TEXT, (1620, 311, 9804, 122, 705, 1_402_118))
    p3 = tweet(
        POLY_USER,
        P3,
        at(12, 10, 40),
        "NEW: Sinner is now the favorite to win Wimbledon 2026 at 31% on Polymarket.",
        (210, 64, 1720, 18, 66, 210_554),
    )
    p4 = tweet(
        POLY_USER,
        P4,
        at(18, 22, 0),
        "JUST IN: Heat warning issued for Paris as temperatures are forecast to hit 38°C on Saturday.",
        (530, 120, 4410, 37, 90, 655_031),
    )
    retrieved = at(23, 59, 10)
    return [
        page(POLY_USER["id"], [p4, p3], [POLY_USER], retrieved, next_token="7140dibdnow9c7btw4b2g1h0xz0f1k2"),
        page(
            POLY_USER["id"],
            [p2, p1],
            [POLY_USER],
            retrieved + timedelta(seconds=1),
            pagination_token="7140dibdnow9c7btw4b2g1h0xz0f1k2",
        ),
    ]


def kyivpost_x_pages() -> list[dict[str, Any]]:
    k1_text = (
        "Ukraine's Air Force says 31 of 40 Russian drones launched overnight were downed; hits were recorded in "
        "the Odesa region."
    )
    k1_early = tweet(KP_USER, K1, at(1, 40, 0), k1_text, (88, 12, 640, 4, 21, 98_330))
    k1_late = tweet(KP_USER, K1, at(1, 40, 0), k1_text, (131, 19, 1012, 6, 35, 160_877))
    k2_text = (
        "NATO Secretary General Mark Rutte says allies will present new defense contracts worth tens of billions "
        f"of dollars at the Ankara summit and calls Russia a long-term threat to the alliance. {K2_URL[0]}"
    )
    k2_edited_text = (
        "NATO Secretary General Mark Rutte says allies will present new defense contracts worth tens of billions "
        "of dollars at the July 7–8 Ankara summit, alongside renewed support for Ukraine, and calls Russia a "
        f"long-term threat. {K2_URL[0]}"
    )
    k2_first = tweet(KP_USER, K2, at(3, 31, 12), k2_text, (14, 3, 61, 1, 4, 7_020), urls=(K2_URL,))
    k2_edit = tweet(
        KP_USER,
        K2E,
        at(3, 38, 47),
        k2_edited_text,
        (212, 40, 1388, 19, 97, 188_410),
        urls=(K2_URL,),
        history=[K2, K2E],
    )
    # A v2 retweet: truncated "RT @user: ..." text in data, the full original in includes.tweets.
    rt_full = f"RT @PolymarketIntel: {P2_TEXT}"
    rt_text = rt_full[:139] + "…"
    p2 = tweet(POLY_USER, P2, at(2, 58, 5), P2_TEXT, (1655, 318, 10022, 125, 719, 1_433_907))
    k3 = tweet(
        KP_USER,
        K3,
        at(3, 45, 30),
        rt_text,
        (1655, 0, 0, 0, 0, 0),
        mentions=(("PolymarketIntel", POLY_USER["id"]),),
        referenced=[{"type": "retweeted", "id": P2}],
    )
    k4 = tweet(
        KP_USER,
        K4,
        at(10, 5, 0),
        "Kyiv residents cool off on the Dnipro beaches as temperatures climb "
        "toward 34°C. Photos: https://t.co/Ph0toKpDem",
        (45, 6, 702, 2, 11, 61_900),
        urls=(
            (
                "https://t.co/Ph0toKpDem",
                f"https://x.com/KyivPost/status/{K4}/photo/1",
                "pic.x.com/Ph0toKpDem",
            ),
        ),
        media_keys=["3_" + K4],
    )
    k5 = tweet(
        KP_USER,
        K5,
        at(15, 30, 0),
        "Opinion: Europe's defense industry needs multi-year orders, not one-off packages. #Ukraine",
        (61, 22, 410, 9, 38, 54_118),
        hashtags=("Ukraine",),
    )
    photo_media = {
        "media_key": "3_" + K4,
        "type": "photo",
        "url": "https://pbs.twimg.com/media/DemoKyivBeach.jpg",
        "width": 2048,
        "height": 1365,
        "alt_text": "People on a city beach by the river",
    }
    return [
        # Early fetch, minutes after the Rutte post: its first version, before the edit.
        page(KP_USER["id"], [k2_first, k1_early], [KP_USER], at(3, 36, 2)),
        # End-of-day fetch, two pages: the retweet (full original in includes.tweets), and in place of the first
        # version only the edited one (a new id; edit_history_tweet_ids [K2, K2E]), as timelines return edits.
        page(
            KP_USER["id"],
            [k5, k4, k3],
            [KP_USER, POLY_USER],
            at(23, 59, 30),
            included_tweets=(p2,),
            media=(photo_media,),
            next_token="7140dibdnow9c7btw4b2g1h0kp0p2",
        ),
        page(
            KP_USER["id"],
            [k2_edit, k1_late],
            [KP_USER],
            at(23, 59, 31),
            pagination_token="7140dibdnow9c7btw4b2g1h0kp0p2",
        ),
    ]


# ------------------------------------------------------------------------------------------------- output


def files() -> dict[str, bytes]:
    """Relative path -> exact file content."""
    out: dict[str, bytes] = {}
    for channel, messages in (
        (INTELSLAVA, intelslava()),
        (KYIVPOST, kyivpost()),
        (SVODKA, svodka()),
        (KYIV_TODAY, kyiv_today()),
    ):
        # tdesktop: one-space indentation, UTF-8 unescaped.
        body = json.dumps(export(channel, messages), ensure_ascii=False, indent=1) + "\n"
        out[f"telegram/{channel[0]}/result.json"] = body.encode()
    for name, pages in (("polymarketintel", polymarket_pages()), ("kyivpost", kyivpost_x_pages())):
        lines = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages)
        out[f"x/{name}.jsonl"] = lines.encode()
    return out


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else HERE
    for rel, data in files().items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{path} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
