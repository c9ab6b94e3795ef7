"""One record the warehouse cannot store (a NUL in a link preview's title, deep inside a media item) must cost
that record, not the channel. The loader writes a batch in one transaction, so a single unstorable field fails
the batch; a live pass then fails at the same batch on every run, and the channel never gets past it.

Found: `ingest.normalize.common.check_post` validates only `text`; NUL bytes and lone surrogates anywhere else
(media, links, hashtags, reactions, forward names, handles) reach PostgreSQL and fail the batch. Fix proposed in
the report (check every stored string in check_post; refuse a payload orjson cannot write in the loader).
"""

from __future__ import annotations

import psycopg

from tests.reliability.schedules import FULL, Runner
from tests.reliability.streams import generate_stream


def test_one_poisoned_message_never_stalls_a_live_channel(db):
    stream = generate_stream(41, messages=30, epochs=1)
    victim = next(m for m in stream.live(0)[8:] if m.grouped_id is None and not m.service)
    stream.overrides[victim.msg_id] = {
        "media": {"_": "MessageMediaWebPage", "webpage": {"_": "WebPage", "id": 5, "url": "https://a.example",
                                                          "title": "x\u0000y"}},
    }  # fmt: skip
    with psycopg.connect(db) as conn:
        r = Runner(conn, stream, 4, True, False)
        statuses = []
        for i in range(3):
            r.at(0, 1 + i)
            statuses.append(r.run(("cursor", FULL), 0).status)
        stored = {row[0] for row in conn.execute("SELECT post_id FROM posts")}
        rejects = conn.execute("SELECT post_id, reason FROM rejected_records").fetchall()
    assert statuses == ["succeeded"] * 3
    assert rejects == [(victim.msg_id, "media[0].title contains a NUL byte at offset 1")]
    heads = {m.msg_id for m in stream.live(0) if m.grouped_id is None} | {
        min(x.msg_id for x in stream.live(0) if x.grouped_id == g)
        for g in {m.grouped_id for m in stream.live(0) if m.grouped_id is not None}
    }
    assert stored == heads - {victim.msg_id}
