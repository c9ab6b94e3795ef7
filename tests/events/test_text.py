"""Features: the cross-language bridges work, unrelated texts stay apart, vectors are exact and stable."""

from __future__ import annotations

import numpy as np

from ingest.events.text import (
    SCALE,
    analyse_many,
    duplicate_key,
    features,
    lead_key,
    sentence_keys,
    skeleton,
    title_of,
    translit,
    vectorize,
)
from tests.events.posts import RUTTE_TEXTS, UNRELATED


def cos(a, b) -> float:
    _, ia, ib = np.intersect1d(a.idx, b.idx, return_indices=True)
    return float(np.dot(a.val[ia], b.val[ib])) / np.sqrt(a.norm2 * b.norm2)


def test_transliteration_and_skeleton_bridge_names_across_scripts():
    assert skeleton(translit("рютте")) == skeleton("rutte") == "rt"
    assert skeleton(translit("анкаре")) == skeleton("ankara")
    assert skeleton(translit("контракты")) == skeleton("contracts")
    assert skeleton(translit("київ")) == skeleton("kyiv")


def test_months_numbers_and_concepts_are_language_neutral():
    en = features("Summit on 7-8 July: tens of billions of dollars")
    ru = features("Саммит 7–8 июля: десятки миллиардов долларов")
    for shared in ("m:07", "n:7", "n:8", "c:billion", "c:dollar", "c:summit"):
        assert shared in en and shared in ru, shared


def test_russian_report_is_close_to_english_ones_and_unrelated_posts_are_not():
    en = vectorize(RUTTE_TEXTS["intelslava"])
    ru = vectorize(RUTTE_TEXTS["ru"])
    assert cos(en, ru) > 0.35
    for _ch, text in UNRELATED:
        assert cos(en, vectorize(text)) < 0.15, text


def test_vectors_are_integer_unit_vectors_and_deterministic():
    v = vectorize(RUTTE_TEXTS["kyivpost"])
    assert v.val.dtype == np.int64 and np.all(v.val > 0)
    assert abs(np.sqrt(v.norm2) - SCALE) < SCALE * 0.02
    assert np.all(np.diff(v.idx) > 0)
    w = vectorize(RUTTE_TEXTS["kyivpost"])
    assert np.array_equal(v.idx, w.idx) and np.array_equal(v.val, w.val)


def test_urls_count_and_platform_links_only_with_a_path():
    f = features("see https://www.reuters.com/world/nato-rutte-2026/?utm=x and https://t.me/intelslava/71840")
    assert "u:reuters.com/world/nato-rutte-2026" in f
    assert "d:reuters.com" in f
    assert "u:t.me/intelslava/71840" in f and "d:t.me" not in f


def test_duplicate_key_ignores_case_punctuation_links_and_retweet_prefix():
    a = "NATO to unveil tens of billions of dollars in new defense contracts at Ankara"
    assert duplicate_key(a) == duplicate_key(
        "RT @someone: nato to unveil TENS of billions of dollars in new defense contracts at Ankara! https://t.co/x"
    )
    assert duplicate_key(a) != duplicate_key(a.replace("Ankara", "Vilnius"))
    assert duplicate_key("Breaking news") is None


def test_headline_and_sentence_keys_leave_out_short_words_but_not_negations():
    """Two real headlines of one announcement, 3 h apart in two channels (a labelled SAME pair), differ only in
    "РФ": their headline and sentence keys are one. A negation is never left out."""
    a = "Минпросвещения РФ установило минимальные баллы ЕГЭ на 2025/2026 учебный год. \n\n44 балла — по информатике"
    b = "👨‍🏫Минпросвещения установило минимальные баллы ЕГЭ на 2025/2026 учебный год\n\nЭкзамены пройдут с 21 марта"
    assert lead_key(a) == lead_key(b) is not None
    assert sentence_keys(a)[1][0] in sentence_keys(b)[1]
    claim = "Путин подписал закон о запрете пропаганды чайлдфри в интернете и кино"
    assert lead_key(claim) != lead_key(claim.replace("Путин подписал", "Путин не подписал"))
    assert sentence_keys(claim)[0] != sentence_keys(claim.replace("Путин подписал", "Путин не подписал"))[0]
    assert lead_key(claim) != lead_key(claim.replace("в интернете", "в 5 интернете"))  # a figure stays


def test_vectors_and_parsed_texts_cross_to_worker_processes_unchanged():
    import pickle

    from ingest.events.clean import parse

    texts = [
        *RUTTE_TEXTS.values(),
        *(t for _, t in UNRELATED),
        "⚡️**Жирный** [текст](https://t.me/a/1)\n\nВторая строка. @handle",
        "",
    ]
    for t in texts:
        p = parse(t)
        assert pickle.loads(pickle.dumps(p)) == p
    for vec, _dup in analyse_many([(t, (), ()) for t in texts]):
        back = pickle.loads(pickle.dumps(vec))
        assert back.idx.dtype == vec.idx.dtype and back.val.dtype == vec.val.dtype
        assert np.array_equal(back.idx, vec.idx) and np.array_equal(back.val, vec.val)
        assert back.norm2 == vec.norm2


def test_title_is_first_line_shortened():
    assert title_of("⚡️ Rutte: contracts\nmore text") == "⚡️ Rutte: contracts"
    long = "word " * 60
    assert len(title_of(long)) <= 121 and title_of(long).endswith("…")


def test_analysing_many_posts_at_once_equals_one_at_a_time():
    posts = [
        (RUTTE_TEXTS["intelslava"], (), ()),
        (RUTTE_TEXTS["ru"], ("https://www.reuters.com/world/nato-rutte-2026/",), ("#NATO", "Анкара")),
        ("", (), ()),
        ("🔥🔥", (), ("#Kyiv",)),
        ("RT @someone: see https://t.me/intelslava/71840 and www.bbc.co.uk now", (), ()),
        *((text, (), ()) for _ch, text in UNRELATED),
    ]
    many = analyse_many(posts)
    for (text, links, tags), (vec, dup) in zip(posts, many, strict=True):
        one = vectorize(text, links, tags)
        assert np.array_equal(vec.idx, one.idx) and vec.idx.dtype == one.idx.dtype
        assert np.array_equal(vec.val, one.val) and vec.val.dtype == one.val.dtype
        assert dup == duplicate_key(text)
    assert len(many[2][0]) == 0 and len(many[3][0]) > 0


def test_a_word_starting_a_sentence_is_no_entity_even_after_it_was_one():
    """Token features are cached: the cache must keep a capitalised word at a sentence start apart."""
    assert "e:rt" in features("NATO chief Rutte spoke in Ankara")
    assert "e:rt" not in features("Rutte spoke in Ankara")
    assert "e:rt" in features("NATO chief Rutte spoke in Ankara")
    assert "e:rt" not in features("It rained. Rutte spoke in Ankara")
