"""One `.tgme_widget_message` widget: its text, media, reactions, forward and reply, as the page shows them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ingest.models import INT64_MAX
from ingest.normalize.telegram_web import (
    parse_tme_link,
)

_CDN_URL_RE = re.compile(r"url\(['\"]?([^'\")]+)['\"]?\)")
_EMOJI_PNG_RE = re.compile(r"/emoji/\d+/([0-9A-Fa-f]+)\.png")
_BLOCK_TAGS = frozenset({"blockquote", "pre", "div", "p"})


def widget_payload(w: LexborNode) -> dict[str, Any]:
    """Everything one widget shows, as strings the page gave (counts unparsed), plus its outer HTML."""
    classes = (w.attributes.get("class") or "").split()
    bubble = w.css_first(".tgme_widget_message_bubble") or w
    text_node = _own_text_node(bubble)
    text, links, hashtags, mentions = extract_text(text_node) if text_node is not None else ("", [], [], [])
    date_time = w.css_first(".tgme_widget_message_date time[datetime]") or w.css_first(
        ".tgme_widget_message_meta time[datetime]"
    )
    views = w.css_first(".tgme_widget_message_views")
    author = w.css_first(".tgme_widget_message_from_author")
    return {
        "page_kind": "widget",
        "post": w.attributes.get("data-post"),
        "view": w.attributes.get("data-view"),
        "datetime": date_time.attributes.get("datetime") if date_time is not None else None,
        "text": text,
        "links": links,
        "hashtags": hashtags,
        "mentions": mentions,
        "media": extract_media(bubble),
        "views": views.text(strip=True) if views is not None else None,
        "reactions": extract_reactions(w),
        "edited": is_edited(w),
        "service": "service_message" in classes,
        "author": author.text(strip=True) if author is not None else None,
        "forwarded_from": _forwarded_from(bubble),
        "reply_to": _reply_to(bubble),
        "via_bot": _text_of(bubble.css_first(".tgme_widget_message_via_bot")),
        "html": _strip_decoration(w.html),
    }


def _own_text_node(bubble: LexborNode) -> LexborNode | None:
    """The post's own text: not the quoted text of a reply header, not a link preview's description."""
    for node in bubble.css(".tgme_widget_message_text"):
        if _inside(node, ("tgme_widget_message_reply", "tgme_widget_message_link_preview"), stop=bubble):
            continue
        if "js-message_reply_text" in (node.attributes.get("class") or ""):
            continue
        # Some pages nest a text div inside another: the outer one holds everything.
        return node
    return None


def _inside(node: LexborNode, classes: tuple[str, ...], stop: LexborNode) -> bool:
    p = node.parent
    while p is not None and p.mem_id != stop.mem_id:
        own = (p.attributes.get("class") or "").split() if p.is_element_node else []
        if any(c in own for c in classes):
            return True
        p = p.parent
    return False


def extract_text(node: LexborNode) -> tuple[str, list[str], list[str], list[str]]:
    """Visible text with line breaks as "\\n" and emoji as characters; plus links, hashtags, mentions."""
    out: list[str] = []
    links: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []

    def newline() -> None:
        if out and not out[-1].endswith("\n"):
            out.append("\n")

    def walk(n: LexborNode) -> None:
        for child in n.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                out.append(child.text_content or "")
            elif tag == "br":
                out.append("\n")
            elif tag == "tg-emoji" or _has_class(child, "emoji"):
                out.append(emoji_char(child))
            elif tag == "a":
                label = extract_text_simple(child)
                href = _href(child)
                if label.startswith("#") and (href.startswith("?q=%23") or not href):
                    hashtags.append(label[1:])
                elif label.startswith("@") and parse_tme_link(href) is not None:
                    mentions.append(label[1:])
                elif href.startswith(("http://", "https://")):
                    links.append(href)
                walk(child)
            elif tag in _BLOCK_TAGS:
                newline()
                walk(child)
                newline()
            elif tag in ("script", "style"):
                continue
            else:
                walk(child)

    walk(node)
    text = "".join(out).strip()
    return text, list(dict.fromkeys(links)), list(dict.fromkeys(hashtags)), list(dict.fromkeys(mentions))


def extract_text_simple(node: LexborNode) -> str:
    parts: list[str] = []
    for child in node.iter(include_text=True):
        if child.tag == "-text":
            parts.append(child.text_content or "")
        elif child.tag == "tg-emoji" or _has_class(child, "emoji"):
            parts.append(emoji_char(child))
        elif child.tag == "br":
            parts.append("\n")
        else:
            parts.append(extract_text_simple(child))
    return "".join(parts).strip()


def emoji_char(node: LexborNode) -> str:
    """An emoji element's character: the text t.me puts inside it, else its alt, else the PNG file name (the
    emoji's UTF-8 bytes in hex, e.g. F09FA496.png -> 🤖)."""
    inner = node.text(deep=True)
    if inner and inner.strip():
        return inner.strip()
    alt = node.attributes.get("alt")
    if alt:
        return alt
    for n in (node, *node.css("i.emoji, img.emoji")):
        m = _EMOJI_PNG_RE.search(n.attributes.get("style") or n.attributes.get("src") or "")
        if m:
            try:
                return bytes.fromhex(m.group(1)).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                pass
    return ""


def _has_class(node: LexborNode, cls: str) -> bool:
    return node.is_element_node and cls in (node.attributes.get("class") or "").split()


def _href(a: LexborNode) -> str:
    href = a.attributes.get("href") or ""
    if a.attributes.get("onclick") is not None:
        # Since 2024 t.me escapes '&' twice in hyperlinks that carry the "Open this link?" onclick.
        href = href.replace("&amp;", "&")
    return href


def _text_of(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    return extract_text_simple(node) or None


def first_text(tree: LexborHTMLParser | LexborNode, *selectors: str) -> str | None:
    for sel in selectors:
        node = tree.css_first(sel)
        if node is not None:
            text = extract_text_simple(node).replace("\xa0", " ").strip()
            if text:
                return text
    return None


def meta(tree: LexborHTMLParser, prop: str) -> str | None:
    node = tree.css_first(f"meta[property='{prop}']")
    return (node.attributes.get("content") or None) if node is not None else None


def _bg_url(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    m = _CDN_URL_RE.search(node.attributes.get("style") or "")
    if not m:
        return None
    src = m.group(1)
    return "https:" + src if src.startswith("//") else src


def _duration(node: LexborNode | None) -> int | None:
    """ "1:05" / "1:02:03" -> seconds."""
    if node is None:
        return None
    parts = node.text(strip=True).split(":")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    return seconds


def _member(href: str | None) -> tuple[str | None, int | None]:
    """A media link (`https://t.me/chan/85?single`) -> (permalink without the query, message id)."""
    if not href:
        return None, None
    link = parse_tme_link(href)
    clean = href.split("?", 1)[0]
    if link is None or link[1] is None:
        return clean, None
    return clean, link[1]


def _photo(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    photo_id = next((int(c) for c in cls if c.isdigit() and int(c) <= INT64_MAX), None)
    img = node.css_first("img")
    src = _bg_url(node) or (img.attributes.get("src") if img is not None else None)
    return {"type": "photo", "id": photo_id, "url": url, "src": src}


def _video(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    video = node.css_first("video")
    return {
        "type": "video_note" if "tgme_widget_message_roundvideo_player" in cls else "video",
        "url": url,
        "src": video.attributes.get("src") if video is not None else None,
        "thumb": _bg_url(
            node.css_first(".tgme_widget_message_video_thumb, .tgme_widget_message_roundvideo_thumb")
        ),
        "duration": _duration(
            node.css_first(".message_video_duration, .tgme_widget_message_roundvideo_duration")
        ),
    }


def _document(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    audio = node.css_first(".audio") is not None
    return {
        "type": "audio" if audio else "document",
        "url": url,
        "file_name": _text_of(node.css_first(".tgme_widget_message_document_title")),
        "size": _text_of(node.css_first(".tgme_widget_message_document_extra")),
    }


def _voice(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    audio_el = node.css_first("audio")
    return {
        "type": "voice",
        "url": url,
        "src": audio_el.attributes.get("src") if audio_el is not None else None,
        "duration": _duration(node.css_first(".tgme_widget_message_voice_duration")),
    }


def _sticker(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    sticker = node.css_first("[data-webp], img, video")
    src = (sticker.attributes.get("data-webp") or sticker.attributes.get("src")) if sticker else None
    return {"type": "sticker", "url": url, "src": src}


def _poll(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    return {
        "type": "poll",
        "question": _text_of(node.css_first(".tgme_widget_message_poll_question")),
        "answers": [_text_of(o) for o in node.css(".tgme_widget_message_poll_option_text")],
    }


def _geo(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    return {
        "type": "geo",
        "url": node.attributes.get("href"),
        "src": _bg_url(node.css_first(".tgme_widget_message_location")),
    }


def _contact(node: LexborNode, cls: list[str], url: str | None) -> dict[str, Any]:
    return {
        "type": "contact",
        "name": _text_of(node.css_first(".tgme_widget_message_contact_name")),
        "phone": _text_of(node.css_first(".tgme_widget_message_contact_phone")),
    }


# A media node's classes -> its reader, the first class that matches wins; the rows also make the selector.
_MEDIA_READERS: tuple[
    tuple[tuple[str, ...], Callable[[LexborNode, list[str], str | None], dict[str, Any]]], ...
] = (
    (("tgme_widget_message_photo_wrap", "tgme_widget_message_service_photo"), _photo),
    (("tgme_widget_message_video_player", "tgme_widget_message_roundvideo_player"), _video),
    (("tgme_widget_message_document_wrap",), _document),
    (("tgme_widget_message_voice_player",), _voice),
    (("tgme_widget_message_sticker_wrap",), _sticker),
    (("tgme_widget_message_poll",), _poll),
    (("tgme_widget_message_location_wrap",), _geo),
    (("tgme_widget_message_contact_wrap",), _contact),
)
_MEDIA_SELECTOR = ", ".join(f".{c}" for classes, _ in _MEDIA_READERS for c in classes)


def extract_media(bubble: LexborNode) -> list[dict[str, Any]]:
    """Media in display order. CDN addresses (which t.me re-signs over time) go under `src`/`thumb`, outside
    the content hash; `url` is the stable t.me permalink and `id` the photo id t.me puts in the class list."""
    media: list[dict[str, Any]] = []
    grouped = bubble.css_first(".tgme_widget_message_grouped_wrap") is not None
    for node in bubble.css(_MEDIA_SELECTOR):
        if _inside(node, ("tgme_widget_message_reply", "tgme_widget_message_link_preview"), stop=bubble):
            continue
        cls = (node.attributes.get("class") or "").split()
        url, msg_id = _member(node.attributes.get("href"))
        read = next((r for classes, r in _MEDIA_READERS if any(c in cls for c in classes)), _contact)
        item = read(node, cls, url)
        if grouped and msg_id is not None:
            item["msg_id"] = msg_id  # album member: the pipeline counts it as seen in rescans
        media.append({k: v for k, v in item.items() if v is not None and v != []})
    preview = _link_preview(bubble)
    if preview is not None:
        media.append(preview)
    if not media:
        media.extend(_unsupported(bubble))
    return media


def _link_preview(bubble: LexborNode) -> dict[str, Any] | None:
    preview = bubble.css_first("a.tgme_widget_message_link_preview")
    if preview is None:
        return None
    item = {
        "type": "webpage",
        "url": preview.attributes.get("href"),
        "site_name": _text_of(preview.css_first(".link_preview_site_name")),
        "title": _text_of(preview.css_first(".link_preview_title")),
        "description": _text_of(preview.css_first(".link_preview_description")),
        "image": _bg_url(preview.css_first(".link_preview_image, .link_preview_right_image")),
    }
    return {k: v for k, v in item.items() if v is not None}


def _unsupported(bubble: LexborNode) -> list[dict[str, Any]]:
    """A post t.me cannot render at all (some polls, paid media): the visible "not supported" notice is a direct
    child of the bubble; the hidden fallback blocks sit inside media containers."""
    for node in bubble.css(".message_media_not_supported_wrap"):
        if node.parent is not None and node.parent.mem_id == bubble.mem_id:
            label = _text_of(node.css_first(".message_media_not_supported_label"))
            return [{"type": "unsupported", "label": label} if label else {"type": "unsupported"}]
    return []


def extract_reactions(w: LexborNode) -> list[dict[str, Any]]:
    """Reactions as shown: standard emoji, custom emoji (an id, no character on the page), paid Stars."""
    out: list[dict[str, Any]] = []
    for r in w.css(".tgme_reaction, .tgme_widget_message_reaction"):
        cls = (r.attributes.get("class") or "").split()
        item: dict[str, Any] = {}
        if "tgme_reaction_paid" in cls:
            item["paid"] = True
        tg = r.css_first("tg-emoji")
        emoji_el = r.css_first("i.emoji, img.emoji, b")
        char = emoji_char(tg) if tg is not None else (emoji_char(emoji_el) if emoji_el is not None else "")
        if char:
            item["emoji"] = char
        elif tg is not None and tg.attributes.get("emoji-id"):
            item["custom_emoji_id"] = tg.attributes.get("emoji-id")
        # The count is the reaction's own trailing text, after the emoji element.
        count = "".join(c.text_content or "" for c in r.iter(include_text=True) if c.tag == "-text").strip()
        if not count:
            counter = r.css_first(".counter, .tgme_reaction_count, .tgme_widget_message_reaction_count")
            count = counter.text(strip=True) if counter is not None else ""
        item["count"] = count
        out.append(item)
    return out


def is_edited(w: LexborNode) -> bool:
    """t.me writes "edited" in the footer meta (`<span class="tgme_widget_message_meta">edited &nbsp;<a ...>`),
    without a time; some variants use a `.tgme_widget_message_edited` element."""
    if w.css_first(".tgme_widget_message_edited") is not None:
        return True
    meta = w.css_first(".tgme_widget_message_meta")
    if meta is None:
        return False
    own = " ".join(c.text_content or "" for c in meta.iter(include_text=True) if c.tag == "-text")
    return re.search(r"\bedited\b", own, re.IGNORECASE) is not None


def _forwarded_from(bubble: LexborNode) -> dict[str, Any] | None:
    fwd = bubble.css_first(".tgme_widget_message_forwarded_from")
    if fwd is None:
        return None
    name_node = fwd.css_first(".tgme_widget_message_forwarded_from_name")
    url = name_node.attributes.get("href") if name_node is not None else None
    name = _text_of(name_node) if name_node is not None else None
    if name is None:
        label = extract_text_simple(fwd).replace("\xa0", " ")
        name = re.sub(r"^\s*forwarded from\s*", "", label, flags=re.IGNORECASE).strip() or None
    link = parse_tme_link(url)
    return {
        "name": name,
        "url": url,
        "handle": link[0] if link else None,
        "post_id": link[1] if link else None,
        "author": _text_of(fwd.css_first(".tgme_widget_message_forwarded_from_author")),
    }


def _reply_to(bubble: LexborNode) -> dict[str, Any] | None:
    reply = bubble.css_first(".tgme_widget_message_reply")
    if reply is None:
        return None
    return {
        "url": reply.attributes.get("href"),
        "name": _text_of(reply.css_first(".tgme_widget_message_author_name")),
        "text": _text_of(reply.css_first(".tgme_widget_message_text, .tgme_widget_message_metatext")),
    }


_BUBBLE_TAIL = re.compile(r'<i class="tgme_widget_message_bubble_tail">.*?</i>', re.S)


def _strip_decoration(html: str | None) -> str | None:
    """The widget's HTML kept as provenance, minus the identical decorative bubble-tail SVG (~28 % of it)."""
    if not html:
        return html
    return _BUBBLE_TAIL.sub("", html)
