"""ingest/events/clean.py: the text grouping and briefs see (markup, emoji and boilerplate removed)."""

from __future__ import annotations

import pytest

from ingest.events.clean import Boilerplate, clean, is_matching_link, segment_key, segments, strip_markup

TOPOR = (
    "⚡️**Доллар поднялся выше 106 рублей**, **евро - 112**, — данные торгов.\n\n"
    "[👉 Топор Live. Подписаться](https://t.me/+HWFlcuXhzKdhYWY6)"
)


def test_markdown_links_become_their_labels_and_decoration_goes():
    text, links = strip_markup("🔴 **Срочно:** [сообщает](https://ria.ru/x/1) __ТАСС__ ❗️")
    assert " ".join(text.split()) == "Срочно: сообщает ТАСС"
    assert links == ["https://ria.ru/x/1"]


def test_invites_bots_and_channel_pages_are_never_evidence_but_posts_are():
    assert not is_matching_link("https://t.me/+HWFlcuXhzKdhYWY6")
    assert not is_matching_link("https://t.me/joinchat/AAAAAE")
    assert not is_matching_link("https://t.me/moscowtop02_bot")
    assert not is_matching_link("https://t.me/moscowtoplive")
    assert not is_matching_link("t.me/boost/mashmoyka")
    assert is_matching_link("https://t.me/shot_shot/74499")
    assert is_matching_link("https://www.gazeta.ru/science/news/2024/10/09/24112609.shtml")


def test_a_learned_signature_line_is_removed_and_its_links_with_it():
    sig = segment_key("👉 Топор Live. Подписаться".replace("👉", ""))
    assert sig in segments(TOPOR)
    out = clean(TOPOR, Boilerplate({sig: 0.0}))
    assert out.text == "Доллар поднялся выше 106 рублей, евро - 112, — данные торгов."
    assert out.links == ()


def test_boilerplate_applies_only_from_the_time_it_was_learned():
    sig = next(iter(segments("Подписаться на Москву - новостную")))
    b = Boilerplate({sig: 1000.0})
    text = "Новость дня\n\nПодписаться на Москву - новостную"
    assert "Подписаться" in clean(text, b, at=999.0).text
    assert "Подписаться" not in clean(text, b, at=1000.0).text
    assert "Подписаться" not in clean(text, b).text  # no time: everything learned so far


@pytest.mark.parametrize(
    "news",
    [
        "Курс евро превысил 115 рублей впервые с марта 2022 года.",
        # Channels also sign with their handle glued to the news, without a full stop.
        "Юань поднялся выше 15 рублей впервые с 29 марта 2022 года",
    ],
)
def test_a_signature_glued_to_the_last_line_is_cut_as_a_trailing_segment(news):
    tail = segment_key("@banksta")
    text = f"{news} @banksta"
    assert tail in segments(text)
    assert clean(text, Boilerplate({tail: 0.0})).text == news


def test_a_handle_inside_the_text_is_no_segment():
    tail = segment_key("@banksta")
    inside = "Пишите @banksta о том, что видели на улицах города сегодня"
    assert tail not in segments(inside)
    assert clean(inside, Boilerplate({tail: 0.0})).text == inside


def test_the_cheap_decoration_test_lets_through_every_line_the_class_would_change():
    from ingest.events.clean import _EMOJI, _MAYBE_DECORATION

    removed = [chr(c) for c in range(0x110000) if _EMOJI.fullmatch(chr(c))]
    assert len(removed) > 4000 and all(_MAYBE_DECORATION.fullmatch(c) for c in removed)
    # and the test passes Cyrillic, dashes, quotes and currency signs by
    assert not _MAYBE_DECORATION.search("Курс — «115 ₽» № 5…")


def test_copies_with_different_decoration_clean_to_the_same_text():
    a = "⚡️**Путин подписал закон** о запрете пропаганды чайлдфри\n\n😄[— Подписаться](https://t.me/+MudQsy2gMds3MmVi)"
    b = "❗️Путин подписал закон о запрете пропаганды чайлдфри"
    sig = segment_key("— Подписаться")
    assert clean(a, Boilerplate({sig: 0.0})).text == clean(b).text


def test_the_links_of_a_removed_sponsor_line_are_no_evidence_but_the_news_links_are():
    """A sponsor line's link points to a real site, not to Telegram: only knowing which line it came from keeps
    it out of the features once the line is boilerplate."""
    text = (
        "Суд арестовал блогера по делу о хранении оружия, [сообщает](https://chernovik.net/news/1) издание\n\n"
        "🛒 [Кухни со скидкой до 70%](https://mrqz.me/6319de6921718a004403d1b1/?utm_source=telegram)"
    )
    sponsor = segment_key("Кухни со скидкой до 70%")
    assert sponsor in segments(text)
    out = clean(text, Boilerplate({sponsor: 0.0}))
    assert out.links == ("https://chernovik.net/news/1",)
    assert "Кухни" not in out.text
    assert clean(text).links == (
        "https://chernovik.net/news/1",
        "https://mrqz.me/6319de6921718a004403d1b1/?utm_source=telegram",
    )


def test_a_link_whose_label_ends_in_a_line_break_is_still_a_link():
    # Telethon's Markdown keeps an entity's trailing line break inside the link (a real post of
    # ../shared/data/telegram_news_ru/1259695380.jsonl's kind): the label stays text, the URL a link, lines apart.
    text = (
        "[🍯](https://t.me/moscowmap) 80% мёда в России [фальсифицируют \n](https://www.pnp.ru/economics/m.html)\n"
        "Его заменяют сахарным сиропом."
    )
    c = clean(text)
    assert c.text == "80% мёда в России фальсифицируют\nЕго заменяют сахарным сиропом."
    assert "https://www.pnp.ru/economics/m.html" in c.links
    assert strip_markup(text)[1] == ["https://t.me/moscowmap", "https://www.pnp.ru/economics/m.html"]
    # A bracket that opens a line and a link that closes the next are not one link: only a break at the label's
    # end is mended.
    assert (
        clean("[draft\nnotes](https://example.com/a) end").text == "[draft\nnotes](https://example.com/a) end"
    )
