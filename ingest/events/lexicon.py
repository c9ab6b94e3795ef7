"""The word tables of grouping's text features: transliteration, stopwords, month names and the small concept
lexicon that bridges words transliteration cannot (EN/RU/UK, with Spanish, Italian and Tagalog where tweets need
them). Data only; `ingest.events.text` turns them into features."""

from __future__ import annotations

TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
        "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
        "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
        "á": "a", "à": "a", "â": "a", "ä": "a", "ã": "a", "é": "e", "è": "e", "ê": "e", "ë": "e", "í": "i",
        "ì": "i", "î": "i", "ï": "i", "ó": "o", "ò": "o", "ô": "o", "ö": "o", "õ": "o", "ú": "u", "ù": "u",
        "û": "u", "ü": "u", "ñ": "n", "ç": "c", "ß": "ss",
    }
)  # fmt: skip

# Skeleton: letters that sound alike across scripts collapse; vowels and doubled letters go.
SKEL_MAP = str.maketrans({"c": "k", "q": "k", "w": "v", "x": "k", "j": "y", "h": ""})
VOWELS = set("aeiouy")

STOPWORDS_RAW = """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
our out over own same she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your yours
via says said say new news breaking update today yesterday tomorrow one two three http https amp rt
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня
еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж вам ведь там
потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже
себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас
были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот через эти нас про всего
них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более
всегда конечно всю между это также заявил заявила сообщил сообщает сообщили которые который которая которое
і в на з що не до та як у за це від по для про але його її ми ви вони він вона це цей ця ці був була було були
також має мають щоб коли який яка яке які бо чи вже ще тому тут там де хто тільки навіть після через між над під
заявив повідомив повідомляє
el la los las de del y en un una que por con para es se al lo como más pero sus su le ya o este esta son
il di che e un una per non sono da del della dei delle nel nella con su gli le ma come anche
ang mga sa ng na at si ay ni kay para may mga ito hindi
"""
STOPWORDS = frozenset(STOPWORDS_RAW.split())

# Months in EN/RU/UK/ES/IT: the stem of each name (transliterated) -> month number.
MONTHS = {
    "januar": 1, "yanvar": 1, "sichn": 1, "enero": 1, "gennai": 1,
    "februa": 2, "fevral": 2, "lyut": 2, "febrer": 2, "febbra": 2,
    "march": 3, "mart": 3, "berez": 3, "marzo": 3,
    "april": 4, "aprel": 4, "kviti": 4, "abril": 4, "aprile": 4,
    "may": 5, "maya": 5, "mai": 5, "trav": 5, "mayo": 5, "maggio": 5,
    "june": 6, "iyun": 6, "cherv": 6, "junio": 6, "giugno": 6,
    "july": 7, "iyul": 7, "lyp": 7, "lip": 7, "julio": 7, "luglio": 7,
    "august": 8, "avgust": 8, "serp": 8, "agosto": 8,
    "septem": 9, "sentya": 9, "veres": 9, "septie": 9, "settem": 9,
    "octobe": 10, "oktyab": 10, "zhovt": 10, "octubr": 10, "ottobr": 10,
    "novemb": 11, "noyabr": 11, "lystop": 11, "listop": 11, "noviem": 11,
    "decemb": 12, "dekabr": 12, "grud": 12, "hrud": 12, "diciem": 12, "dicemb": 12,
}  # fmt: skip
MONTH_LENS = sorted({len(p) for p in MONTHS}, reverse=True)
MONTH_GUARD = {"mayor", "marti", "marto", "mayb", "lipsk", "mayak"}

# Concepts that transliteration cannot bridge: stems (transliterated, lower-case) -> concept.
CONCEPTS_RAW = {
    "billion": "billion bln bn milliard mlrd mil'yard milyard",
    "million": "million mln mill milyon mil'yon",
    "thousand": "thousand tysyach tysyach tisyach",
    "dollar": "dollar usd dolar",
    "defence": "defens defenc oboron",
    "contract": "contrac kontrak zakaz",
    "summit": "summit sammit samit vstrech zustrich",
    "army": "army armii armiy army vojsk voysk viysk",
    "attack": "attack ataka atak napad udar",
    "drone": "drone dron bpla bespil",
    "missile": "missil raket rocket",
    "killed": "killed kill dead death pogib ubit zagin zagib vbyt",
    "wounded": "wounde injur ranen poranen",
    "explosion": "explos blast vzryv vybukh bomb",
    "president": "presid prezid",
    "minister": "minist",
    "sanction": "sancti sanktsi",
    "war": "war voyna voyny viyna viyny",
    "peace": "peace mir mirn myr myrn",
    "talks": "talks negoti peregov perehov",
    "ceasefire": "ceasef truce peremir",
    "election": "electi vybor vybory",
    "weapon": "weapon weapons oruzh zbroy",
    "aid": "aid pomoshch dopomoh",
    "support": "suppor podderzh pidtrym",
    "threat": "threat ugroz zagroz",
    "combat": "combat boev boyov",
    "experience": "experi opyt dosvid",
    "secretary": "secret gensek",
    "general": "genera",
    "alliance": "allian alyans soyuz soyuzn",
    "flood": "flood navodn povin inondaz baha",
    "fire": "fire wildfi pozhar pozhezh incend sunog",
    "earthquake": "earthq zemletr terrem lindol sismo",
    "shooting": "shooti shoot strelb strilyan tirote spara",
    "hostage": "hostag zalozh zaruch",
    "arrest": "arrest arest zaderzh zatrym",
    "court": "court sud",
    "gas": "gas gaz",
    "oil": "oil neft nafta",
    "nuclear": "nuclea yadern yadern atomn",
    "strike": "strike udar",
    "border": "border granits kordon",
    "soldier": "soldie soldat voenn viyskov",
    "troops": "troops voyska viyska",
}  # fmt: skip
CONCEPTS: dict[str, str] = {}
for _name, _stems in CONCEPTS_RAW.items():
    for _s in _stems.split():
        CONCEPTS[_s] = _name
CONCEPT_LENS = sorted({len(s) for s in CONCEPTS if len(s) > 3}, reverse=True)
CONCEPT_MIN = min(len(s) for s in CONCEPTS)
# Short concept stems match only whole words ("mir" must not fire on "mirror").
CONCEPT_EXACT = {s for s in CONCEPTS if len(s) <= 3}
