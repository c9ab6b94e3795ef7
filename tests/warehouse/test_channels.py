"""Channel rows and handle history as a batch's posts bring them: channels never seen (with a free handle) and
known channels that did not change are settled at once (`record_channels_at_once`), the others one at a time
(`record_channel`); the warehouse must end the same either way."""

from __future__ import annotations

from ingest.models import Channel
from ingest.warehouse import channels as channels_mod
from ingest.warehouse import loader as loader_mod
from ingest.warehouse.loader import Loader
from tests.conftest import truncate_all

BEFORE = [
    Channel("x", 1, "alpha", "A"),
    Channel("x", 2, "beta", "B"),
    Channel("telegram", 2, "beta", "T"),
    *(
        Channel("x", i, h, t)
        for i, h, t in ((12, "lambda", "L"), (13, "mu", "M"), (14, "nu", "N"), (15, "xi", "X"))
    ),
]
BATCH = [
    Channel("x", 1, "alpha", "A"),  # known, unchanged
    Channel("x", 3, "gamma", "G"),  # new, its handle free
    Channel("x", 4, "beta", "B2"),  # new, its handle held by channel 2: that one loses it
    Channel("x", 5, "delta", "D1"),  # new, one handle for two new channels in one batch
    Channel("x", 6, "delta", "D2"),
    Channel("x", 7, None, "no handle"),
    Channel("x", 8, "@", "only an at sign"),
    Channel("x", 9, "@Epsilon", "mixed case"),
    Channel("telegram", 10, "gamma", "same handle, other platform"),
    Channel("x", 11, "kappa", None),
    Channel("x", 12, "lambda2", "L"),  # known, renamed
    Channel("x", 13, "mu", "M, retitled"),  # known, a new title
    Channel("x", 14, "nu", None),  # known, no title given: unchanged
    Channel("x", 15, None, "X"),  # known, no handle given: unchanged
]


def _state(conn) -> tuple[list, list]:
    chans = conn.execute(
        "SELECT platform, channel_id, handle, title, watched, source, access_hash, resolved_at FROM channels"
        " ORDER BY 1, 2"
    ).fetchall()
    aliases = conn.execute(
        "SELECT platform, channel_id, handle, valid_to IS NULL FROM channel_aliases ORDER BY 1, 2, 3, 4"
    ).fetchall()
    return chans, aliases


def test_new_channels_at_once_end_as_one_at_a_time(conn, db, monkeypatch) -> None:
    states = {}
    for at_once in (True, False):
        conn.rollback()
        truncate_all(db)
        if not at_once:
            monkeypatch.setattr(loader_mod, "record_channels_at_once", lambda _conn, _platform, rows: rows)
        Loader(conn).upsert_channels(BEFORE)
        conn.commit()
        Loader(conn).upsert_channels(BATCH)
        conn.commit()
        states[at_once] = _state(conn)
        monkeypatch.undo()
    assert states[True] == states[False]
    chans, aliases = states[True]
    handles = {(p, c): h for p, c, h, *_ in chans}
    assert handles[("x", 2)] is None and handles[("x", 4)] == "beta"  # the handle moved to its new holder
    assert handles[("x", 9)] == "epsilon" and handles[("telegram", 2)] == "beta"
    assert ("x", 2, "beta", False) in aliases and ("x", 4, "beta", True) in aliases
    assert not any(c == 8 for _, c, *_ in aliases)  # no alias for an empty handle
    assert handles[("x", 12)] == "lambda2" and ("x", 12, "lambda", False) in aliases
    assert ("x", 13, "mu", "M, retitled") in [(p, c, h, t) for p, c, h, t, *_ in chans]
    assert handles[("x", 15)] == "xi"
    # And the plain ones (new and free, known and unchanged) were settled at once: only the others one at a time.
    one_by_one: list[int] = []
    record = channels_mod.record_channel
    monkeypatch.setattr(
        loader_mod,
        "record_channel",
        lambda c, p, i, *a, **k: (one_by_one.append(i), record(c, p, i, *a, **k)),
    )
    conn.rollback()
    truncate_all(db)
    Loader(conn).upsert_channels(BEFORE)
    conn.commit()
    one_by_one.clear()
    Loader(conn).upsert_channels(BATCH)
    conn.commit()
    assert sorted(one_by_one) == [4, 5, 6, 12, 13]
    assert _state(conn) == states[True]
