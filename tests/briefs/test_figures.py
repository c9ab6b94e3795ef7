"""Figures, dates, quotes and languages in English, Russian and Ukrainian (ingest/briefs/figures/)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ingest.briefs.figures import detect_language, extract_figures, extract_quotes

REF = datetime(2026, 6, 26, 3, 0, tzinfo=UTC)


def figs(text: str):
    return extract_figures(text, REF)


def one(text: str):
    out = figs(text)
    assert len(out) == 1, [(f.surface, f.kind) for f in out]
    return out[0]


@pytest.mark.parametrize(
    "text",
    [
        "NATO to unveil “tens of billions of dollars in new defense contracts”",
        "контракты на «десятки миллиардов долларов»",
        "контракти на десятки мільярдів доларів",
        "deals worth tens of billions of US dollars",
    ],
)
def test_tens_of_billions_is_one_figure_in_every_language(text):
    f = one(text)
    assert (f.kind, f.unit, f.lo, f.hi) == ("money", "USD", 1e10, 1e11)
    assert f.label == "tens of billions of dollars"
    assert f.surface in text


@pytest.mark.parametrize(
    "text,value",
    [
        ("a package of about $40 billion", 4e10),
        ("пакет примерно на 40 млрд долларов", 4e10),
        ("пакет приблизно на 40 млрд доларів", 4e10),
        ("$40bn", 4e10),
        ("40 billion dollars", 4e10),
        ("$1.5 billion", 1.5e9),
        ("1,5 млрд долларов", 1.5e9),
        ("$2,500,000", 2.5e6),
        ("2 500 000 долларов", 2.5e6),
    ],
)
def test_point_amounts_compare_equal_across_languages(text, value):
    f = one(text)
    assert f.kind == "money" and f.unit == "USD" and f.lo == f.hi == value


def test_approximation_is_flagged_but_not_part_of_the_key():
    a, b = one("about $40 billion"), one("$40 billion")
    assert a.approx and not b.approx
    assert a.key == b.key
    assert a.label == "about 40 billion dollars"


def test_other_currencies():
    assert one("€2 billion").unit == "EUR"
    assert one("300 млн грн").unit == "UAH"
    assert one("1 000 000 рублей").unit == "RUB"
    assert one("1,5 млрд евро").lo == 1.5e9


@pytest.mark.parametrize(
    "text,surface",
    [
        ("at the summit in Ankara on 7-8 July.", "7-8 July"),
        ("at the July 7–8 Ankara summit", "July 7–8"),
        ("на саммите в Анкаре 7–8 июля будут", "7–8 июля"),
        ("саміт в Анкарі 7–8 липня", "7–8 липня"),
        ("on 7 - 8 July 2026", "7 - 8 July 2026"),
    ],
)
def test_date_ranges_in_three_languages(text, surface):
    f = one(text)
    assert f.kind == "date"
    assert (date.fromordinal(int(f.lo)), date.fromordinal(int(f.hi))) == (date(2026, 7, 7), date(2026, 7, 8))
    assert f.surface == surface
    assert f.label == "7–8 July 2026"


def test_date_year_defaults_to_the_post_year_and_trailing_comma_is_not_part_of_it():
    f = one("on July 7–8, together with")
    assert f.surface == "July 7–8"
    assert date.fromordinal(int(f.lo)).year == 2026
    assert one("26 June 2025").label == "26 June 2025"


def test_date_context_names_the_quantity():
    assert one("the summit in Ankara on 7-8 July").context == "summit"
    assert one("7–8 июля пройдёт саммит").context == "summit"


def test_may_the_verb_is_not_a_date():
    assert [f for f in figs("we may 5 times ask") if f.kind == "date"] == []
    assert one("May 5 2026").kind == "date"


def test_percentages_with_context():
    f = one("spend 5% of GDP on defence")
    assert (f.kind, f.lo, f.context) == ("percent", 5.0, "gdp")
    g = one("5 процентов ВВП")
    assert (g.kind, g.lo, g.context) == ("percent", 5.0, "gdp")
    assert one("3.5 per cent").lo == 3.5
    assert one("2 відсотки").kind == "percent"


def test_counts_map_units_across_languages():
    a, b, c = one("60 firefighters"), one("60 пожарных"), one("60 пожежників")
    assert a.key == b.key == c.key == ("count", "firefighter", 60.0, 60.0)
    assert one("12 Shahed drones").key == ("count", "drone", 12.0, 12.0)
    assert one("5 российских беспилотников").key == one("5 drones").key
    assert one("сотни беспилотников").label == "hundreds of drones"


@pytest.mark.parametrize(
    "text,label",
    [
        # Real wording of one event in telegram_news_ru (a shooting in Moscow, 27 November 2024): one in the
        # singular, ranges with both ends.
        ("ранен один человек", "1 person"),
        ("стрельбу устроили 5-7 человек", "5–7 people"),
        ("погибли 2–3 человека", "2–3 people"),
        ("сбит 1 беспилотник", "1 drone"),
        ("2-3 million dollars", "2–3 million dollars"),
        # A bound says what it is: "более 100 человек" is more than 100 people, not about 100.
        ("более 100 человек", "more than 100 people"),
        ("свыше 30 беспилотников", "more than 30 drones"),
        ("менее 500 тыс. человек", "less than 500,000 people"),
        ("не менее 10 человек", "at least 10 people"),
        ("до 120 рублей", "up to 120 roubles"),
        ("почти 90 млн рублей", "nearly 90 million roubles"),
        ("понад 20 ракет", "more than 20 missiles"),
        ("more than 40 drones", "more than 40 drones"),
        ("около 3,5 млрд рублей", "about 3.5 billion roubles"),
        ("около 40 млрд долларов", "about 40 billion dollars"),
    ],
)
def test_labels_say_what_was_written(text, label):
    assert one(text).label == label


def test_ranges_written_in_words_match_the_dashed_ones():
    # The same figure, as Russian, Ukrainian and English news write it with words or with a dash.
    assert one("от 5 до 7 человек").key == one("5-7 человек").key == one("from 5 to 7 people").key
    assert one("от 2 до 3 млн рублей").label == "2–3 million roubles"  # was "about 3 million roubles"
    assert one("від 2 до 3 млн гривень").key == one("2–3 млн гривень").key
    assert one("between 3 and 4%").label == "3–4%"
    dates = [one(t) for t in ("с 7 по 8 июля 2026", "з 7 по 8 липня 2026 року", "from 7 to 8 July 2026")]
    assert {d.key for d in dates} == {one("7-8 July 2026").key}
    assert one("с 20 по 28 ноября 2026").label == "20–28 November 2026"
    # Not ranges: a bound alone, an upside-down pair, years.
    assert one("до 3 млн рублей").label == "up to 3 million roubles"
    assert figs("from 2022 to 2024") == []


def test_a_bound_is_the_same_figure_as_its_number():
    # Corroboration compares values: "более 100 человек" and "100 человек" carry the same figure.
    assert one("более 100 человек").key == one("100 человек").key == one("more than 100 people").key


def test_no_unit_across_a_preposition():
    # Real wording: "83 миллиона в стране" is 83 million in the country, not 83 million countries.
    assert one("83 миллионов в стране").label == "83 million"
    assert figs("5 в стране") == [] and one("5 российских беспилотников").label == "5 drones"


def test_area():
    a, b = one("около 1000 кв. м"), one("about 1,000 m²")
    assert a.key == b.key == ("area", "m2", 1000.0, 1000.0)


def test_bare_numbers_years_and_times_are_not_figures():
    assert figs("At 10:00 in 2026 channel No. 3 said 17") == []
    assert figs("#NATO2026 @user42 https://example.com/a/40-billion") == []


def test_band_contains_point_but_keys_differ():
    band, point = one("tens of billions of dollars"), one("$40 billion")
    assert band.overlaps(point) and point.overlaps(band)
    assert band.key != point.key
    assert not one("$30 billion").overlaps(one("$50 billion"))


def test_quotes_in_every_quotation_style():
    text = 'He said «сейчас активно набирается боевого опыта», “tens of billions of dollars”, „neue Verträge“ and "one two"; “x”'
    assert [q.text for q in extract_quotes(text)] == [
        "сейчас активно набирается боевого опыта",
        "tens of billions of dollars",
        "neue Verträge",
        "one two",
    ]


def test_names_in_quotation_marks_are_not_quotes():
    # Real posts of telegram_news_ru: a TV channel, an agency and a café are names; the words said stay quotes.
    text = (
        "Власти Германии закрывают бюро «Первого канала», сообщает «РИА Новости». Стрельба у «Кухни на районе». "
        "Захарова назвала это «незначительный инцидент». Он сказал: «Он врёт!» и «с длинными бородами»"
    )
    assert [q.text for q in extract_quotes(text)] == [
        "незначительный инцидент",
        "Он врёт!",
        "с длинными бородами",
    ]
    split = "«Те, кто проектировал ракетный комплекс», – сказал Путин, – «, будут представлены к наградам»"
    assert [q.text for q in extract_quotes(split)][-1] == "будут представлены к наградам"


@pytest.mark.parametrize(
    "text,lang",
    [
        ("Повітряна тривога в Києві. Прямуйте в укриття!", "uk"),
        ("Генсек НАТО Марк Рютте: на саммите альянса в Анкаре", "ru"),
        ("NATO to unveil the deals in Ankara, Rutte says", "en"),
        ("🔥🔥", None),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang
