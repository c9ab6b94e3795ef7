"""The words figures are made of, in English, Russian and Ukrainian, and their look-ups.

Tables only and the functions that read them; the scanner that puts words together is in `amounts` and `dates`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

_V = TypeVar("_V")

# Month names: English words and abbreviations exactly; Russian and Ukrainian by stem (every case form), matched
# only beside a day number ("7–8 июля", "26 червня"), so "липкий" or "март" in another sense cannot misfire alone.
MONTH_EXACT = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH_STEMS: tuple[tuple[str, int], ...] = (
    ("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("мая", 5), ("май", 5), ("июн", 6), ("июл", 7),
    ("август", 8), ("сентябр", 9), ("октябр", 10), ("ноябр", 11), ("декабр", 12),
    ("січ", 1), ("лют", 2), ("берез", 3), ("квіт", 4), ("трав", 5), ("черв", 6), ("лип", 7), ("серп", 8),
    ("верес", 9), ("жовт", 10), ("листопад", 11), ("груд", 12),
)  # fmt: skip
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")  # fmt: skip

_SCALES: dict[str, float] = {
    "thousand": 1e3, "thousands": 1e3, "k": 1e3, "тыс": 1e3, "тис": 1e3,
    "million": 1e6, "millions": 1e6, "mn": 1e6, "mln": 1e6, "m": 1e6, "млн": 1e6,
    "billion": 1e9, "billions": 1e9, "bn": 1e9, "bln": 1e9, "b": 1e9, "млрд": 1e9,
    "trillion": 1e12, "trillions": 1e12, "tn": 1e12, "trn": 1e12, "трлн": 1e12,
}  # fmt: skip
# Inflected scale words by stem: тысяча/тысяч/тысячи, миллион/миллионов, мільярд/мільярдів, ...
_SCALE_STEMS = (
    ("тысяч", 1e3),
    ("тисяч", 1e3),
    ("миллион", 1e6),
    ("мільйон", 1e6),
    ("милион", 1e6),
    ("миллиард", 1e9),
    ("мільярд", 1e9),
    ("милиард", 1e9),
    ("триллион", 1e12),
    ("трильйон", 1e12),
)
SCALE_NAMES = {1e3: "thousand", 1e6: "million", 1e9: "billion", 1e12: "trillion"}

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB", "₴": "UAH"}
_CURRENCY_WORDS = {"usd": "USD", "us$": "USD", "eur": "EUR", "gbp": "GBP", "rub": "RUB", "uah": "UAH",
                   "грн": "UAH", "руб": "RUB"}  # fmt: skip
_CURRENCY_STEMS = (("dollar", "USD"), ("доллар", "USD"), ("долар", "USD"), ("euro", "EUR"), ("евро", "EUR"),
                   ("євро", "EUR"), ("pound", "GBP"), ("фунт", "GBP"), ("ruble", "RUB"), ("rouble", "RUB"),
                   ("рубл", "RUB"), ("рубл", "RUB"), ("hryvn", "UAH"), ("гривн", "UAH"), ("гривен", "UAH"),
                   ("гривень", "UAH"), ("гривн", "UAH"))  # fmt: skip
CURRENCY_NAMES = {"USD": "dollars", "EUR": "euros", "GBP": "pounds", "RUB": "roubles", "UAH": "hryvnias"}

PERCENT_STEMS = ("percent", "процент", "відсот", "pct")

# Number words (the ones news writes out); Russian and Ukrainian in their common case forms.
NUMBER_WORDS: dict[str, float] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "hundred": 100, "a hundred": 100, "dozen": 12, "a dozen": 12,
    "один": 1, "одна": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "дві": 2, "двох": 2, "три": 3, "трех": 3,
    "трёх": 3, "трьох": 3, "четыре": 4, "четырех": 4, "чотири": 4, "пять": 5, "пяти": 5, "п'ять": 5, "п’ять": 5,
    "шесть": 6, "шість": 6, "семь": 7, "сім": 7, "восемь": 8, "вісім": 8, "девять": 9, "дев'ять": 9,
    "дев’ять": 9, "десять": 10, "десяти": 10, "двадцать": 20, "двадцять": 20, "тридцать": 30, "тридцять": 30,
    "сорок": 40, "пятьдесят": 50, "п'ятдесят": 50, "сто": 100, "сотня": 100, "дюжина": 12,
}  # fmt: skip
# Vague multipliers: "tens of billions" = [1e10, 1e11). (lo, hi) with hi exclusive.
VAGUE: dict[str, tuple[float, float, str]] = {
    "tens of": (10, 100, "tens of"), "dozens of": (10, 100, "dozens of"), "hundreds of": (100, 1000, "hundreds of"),
    "thousands of": (1e3, 1e4, "thousands of"), "several": (2, 10, "several"), "a few": (2, 10, "a few"),
    "десятки": (10, 100, "tens of"), "десятков": (10, 100, "tens of"), "десятках": (10, 100, "tens of"),
    "десятків": (10, 100, "tens of"), "сотни": (100, 1000, "hundreds of"), "сотен": (100, 1000, "hundreds of"),
    "сотні": (100, 1000, "hundreds of"), "сотень": (100, 1000, "hundreds of"),
    "тысячи": (1e3, 1e4, "thousands of"), "тысяч": (1e3, 1e4, "thousands of"), "тисячі": (1e3, 1e4, "thousands of"),
    "тисяч": (1e3, 1e4, "thousands of"),
    "несколько": (2, 10, "several"), "нескольких": (2, 10, "several"), "кілька": (2, 10, "several"),
    "декілька": (2, 10, "several"), "кількох": (2, 10, "several"),
}  # fmt: skip
# Words that say a figure is approximate or a bound; kept in the surface, flagged `approx`, and said in the label
# as what they mean: "более 100 человек" is more than 100 people, not about 100.
_APPROX = {
    "about": "about", "around": "about", "approximately": "about", "roughly": "about", "some": "about",
    "около": "about", "примерно": "about", "приблизительно": "about", "порядка": "about", "близько": "about",
    "приблизно": "about",
    "nearly": "nearly", "almost": "nearly", "почти": "nearly", "майже": "nearly",
    "over": "more than", "more than": "more than", "более": "more than", "свыше": "more than",
    "понад": "more than", "більше": "more than",
    "at least": "at least", "не менее": "at least", "щонайменше": "at least",
    "less than": "less than", "under": "less than", "менее": "less than",
    "up to": "up to", "до": "up to",
}  # fmt: skip
APPROX_TABLE = _APPROX

# Units for counts and measures: stem -> (unit key, English name). Stems cover RU/UK inflections.
_UNITS: tuple[tuple[str, str, str], ...] = (
    ("firefight", "firefighter", "firefighters"), ("fire fighter", "firefighter", "firefighters"),
    ("пожарн", "firefighter", "firefighters"), ("пожежн", "firefighter", "firefighters"),
    ("rescuer", "firefighter", "firefighters"), ("спасател", "firefighter", "firefighters"),
    ("рятувальн", "firefighter", "firefighters"),
    ("drone", "drone", "drones"), ("uav", "drone", "drones"), ("бпла", "drone", "drones"),
    ("беспилотник", "drone", "drones"), ("безпілотник", "drone", "drones"), ("дрон", "drone", "drones"),
    ("missile", "missile", "missiles"), ("ракет", "missile", "missiles"),
    ("people", "person", "people"), ("person", "person", "people"), ("человек", "person", "people"),
    ("людей", "person", "people"), ("осіб", "person", "people"), ("особи", "person", "people"),
    ("dead", "killed", "killed"), ("killed", "killed", "killed"), ("погиб", "killed", "killed"),
    ("загинул", "killed", "killed"), ("загибл", "killed", "killed"), ("убит", "killed", "killed"),
    ("injur", "injured", "injured"), ("wounded", "injured", "injured"), ("ранен", "injured", "injured"),
    ("поранен", "injured", "injured"), ("пострадав", "injured", "injured"), ("постраждал", "injured", "injured"),
    ("soldier", "soldier", "soldiers"), ("troop", "soldier", "soldiers"), ("военнослужащ", "soldier", "soldiers"),
    ("солдат", "soldier", "soldiers"), ("військовослужбов", "soldier", "soldiers"),
    ("tank", "tank", "tanks"), ("танк", "tank", "tanks"),
    ("aircraft", "aircraft", "aircraft"), ("plane", "aircraft", "aircraft"), ("самолет", "aircraft", "aircraft"),
    ("самолёт", "aircraft", "aircraft"), ("літак", "aircraft", "aircraft"),
    ("countr", "country", "countries"), ("стран", "country", "countries"), ("країн", "country", "countries"),
    ("member", "member", "members"), ("ally", "ally", "allies"), ("allies", "ally", "allies"),
    ("союзник", "ally", "allies"),
    ("contract", "contract", "contracts"), ("контракт", "contract", "contracts"),
    ("home", "home", "homes"), ("house", "home", "homes"), ("дом", "home", "homes"), ("будин", "home", "homes"),
    ("settlement", "settlement", "settlements"), ("населенн", "settlement", "settlements"),
    ("населен", "settlement", "settlements"),
    ("km", "km", "km"), ("kilomet", "km", "km"), ("км", "km", "km"), ("кілометр", "km", "km"),
    ("километр", "km", "km"),
    ("hectare", "ha", "hectares"), ("гектар", "ha", "hectares"), ("га", "ha", "hectares"),
    ("tonne", "t", "tonnes"), ("ton", "t", "tonnes"), ("тонн", "t", "tonnes"),
    ("year", "year", "years"), ("лет", "year", "years"), ("год", "year", "years"), ("рок", "year", "years"),
    ("day", "day", "days"), ("дн", "day", "days"), ("сут", "day", "days"),
    ("hour", "hour", "hours"), ("час", "hour", "hours"), ("годин", "hour", "hours"),
)  # fmt: skip
AREA = re.compile(
    r"(?:кв\.?\s*(?:м|метр\w*)\b|м²|m²|m2\b|sq\.?\s*m\b|square\s+met(?:re|er)s?\b|квадратн\w*\s+метр\w*)",
    re.I,
)

# Words after a percentage or a date that say which quantity it is (so "5% of GDP" and "2% of GDP" are one
# quantity, "7-8 July" for the summit another than "26 June" the report date).
CONTEXTS: tuple[tuple[str, str], ...] = (
    ("gdp", "gdp"), ("ввп", "gdp"), ("summit", "summit"), ("саммит", "summit"), ("саміт", "summit"),
    ("talks", "talks"), ("переговор", "talks"), ("election", "election"), ("выбор", "election"),
    ("вибор", "election"), ("vote", "vote"), ("голосован", "vote"), ("голосуван", "vote"),
    ("inflation", "inflation"), ("инфляц", "inflation"), ("інфляц", "inflation"), ("rate", "rate"),
    ("ставк", "rate"), ("turnout", "turnout"), ("явк", "turnout"), ("meeting", "meeting"), ("встреч", "meeting"),
    ("зустріч", "meeting"), ("visit", "visit"), ("визит", "visit"), ("візит", "visit"),
)  # fmt: skip

# First words of everything that can start a figure: the scanner tries no other word.
# A range written in words: "от 5 до 7 человек", "від 2 до 3 млн", "from 10 to 12 drones", "between 3 and 4%".
RANGE_WORDS = {"от": "до", "від": "до", "from": "to", "between": "and"}
# A range of days in words: the first word -> the words that close it ("с 20 по 28 ноября", "from 7 to 8 July").
DATE_RANGE_WORDS = {
    "с": ("по", "до"), "со": ("по", "до"), "з": ("по", "до"), "від": ("до",), "from": ("to", "until"),
    "between": ("and",),
}  # fmt: skip
STARTERS = frozenset(
    k.split()[0]
    for k in (*_APPROX, *VAGUE, *NUMBER_WORDS, *MONTH_EXACT, *RANGE_WORDS, *DATE_RANGE_WORDS, "us", "usd")
)


def unit_name(unit: str) -> str:
    for _, key, name in _UNITS:
        if key == unit:
            return name
    return unit


def _lookup(word: str, exact: Mapping[str, _V], stems: Iterable[tuple[str, _V]]) -> _V | None:
    """The value of `word` in `exact`, else of the first stem it starts with (an inflected form)."""
    if word in exact:
        return exact[word]
    for stem, value in stems:
        if word.startswith(stem):
            return value
    return None


def scale_of(low: str) -> float | None:
    return _lookup(low.rstrip("."), _SCALES, _SCALE_STEMS)


def currency_word(low: str) -> str | None:
    return _lookup(low, _CURRENCY_WORDS, _CURRENCY_STEMS)


def month_of(low: str) -> int | None:
    return _lookup(low, MONTH_EXACT, _MONTH_STEMS)


def unit_of(low: str) -> str | None:
    for stem, key, _ in _UNITS:
        if len(stem) <= 3:
            if low == stem:
                return key
        elif low.startswith(stem):
            return key
    return None
