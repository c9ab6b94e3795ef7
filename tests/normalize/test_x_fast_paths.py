"""The X normaliser's fast paths give what the general code they short-cut gives: times, languages, entity lists,
and dataclasses built by position."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.normalize.x.fields import LEGACY_LANGS, NO_LANGUAGE, parse_created, parse_time
from ingest.normalize.x.page import _distinct

TIMES = [
    "2021-09-22T16:37:29.000Z", "2021-09-22T16:37:29.123Z", "2020-02-29T23:59:59.999Z", "2021-02-29T16:37:29.000Z",
    "2021-09-22T16:37:29.000z", "2021-09-22T16:37:29Z", "2021-09-22T16:37:29.000+00:00", "2021-09-22T18:37:29+02:00",
    "2021-09-22T16:37:29.000", "2021-09-22 16:37:29.000Z", " 2021-09-22T16:37:29.00Z", "2021-09-22T16:37:29.0000Z",
    "2021-09-22T16:37:2x.000Z", "2021-13-22T16:37:29.000Z", "2021-09-22T24:00:00.000Z", "", "Z", "yesterday",
    "2021-W38-3T16:37:29.000Z", "２０２１-09-22T16:37:29.000Z", None, 1632328649, ["2021-09-22T16:37:29.000Z"],
]  # fmt: skip


def _outcome(fn, value):
    try:
        dt = fn(value, "created_at")
    except ValueError as exc:
        return "error", str(exc)
    return dt, dt.tzinfo is UTC, repr(dt)


@pytest.mark.parametrize("value", TIMES)
def test_parse_created_is_parse_time(value):
    assert _outcome(parse_created, value) == _outcome(parse_time, value)


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)))
def test_parse_created_is_parse_time_for_any_time_x_writes(dt):
    text = dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    assert _outcome(parse_created, text) == _outcome(parse_time, text)


@given(st.text(max_size=30) | st.tuples(st.integers(0, 23), st.characters()).map(
    lambda p: "2021-09-22T16:37:29.000Z"[: p[0]] + p[1] + "2021-09-22T16:37:29.000Z"[p[0] + 1 :]
))  # fmt: skip
def test_parse_created_is_parse_time_for_any_text(text):
    assert _outcome(parse_created, text) == _outcome(parse_time, text)


def test_normalize_lang_remembers_what_it_computed():
    from ingest.normalize.x.fields import normalize_lang

    values = [
        "en",
        "EN",
        " en ",
        "und",
        "QST",
        "in",
        "iw",
        "ji",
        "",
        "  ",
        "pt-BR",
        "zh-Hant",
        None,
        3,
        ["en"],
    ]
    for _ in range(3):  # the first pass fills the cache, the later ones read it
        got = [normalize_lang(v) for v in values]
        assert got == ["en", "en", "en", None, None, "id", "he", "yi", None, None, "pt-br", "zh-hant", None, None,
                       None]  # fmt: skip
    assert {"und", "qst"} <= NO_LANGUAGE and LEGACY_LANGS["in"] == "id"


@pytest.mark.parametrize("n", [0, 1, 2, 8, 9, 40])
def test_distinct_keeps_first_occurrences_of_strings(n):
    items = [{"tag": f"t{i % 5}"} for i in range(n)] + [{"tag": 1}, {"x": "y"}, "t0", None, {"tag": "new"}]
    want = tuple(
        dict.fromkeys(e["tag"] for e in items if isinstance(e, dict) and isinstance(e.get("tag"), str))
    )
    assert _distinct(items, "tag") == want
    assert _distinct(items[:n], "tag") == tuple(dict.fromkeys(e["tag"] for e in items[:n]))
