"""Telegram without credentials: the public web preview `https://t.me/s/<channel>`.

Three entry points:

- `parse_page(html)` reads one preview page into `RawRecord`s (one per `.tgme_widget_message` widget), the
  channel header (handle, title, numeric id from `data-view`) and the `?before=` cursor of the older page. It
  recognises the `t.me/<channel>` landing page (no post list) and says so.
- `read_saved_page(path)` is `wirewatch import --format telegram-web`: saved pages become records; an HTML file
  that is not a post list becomes one record the normaliser rejects with the reason.
- `TelegramWebSource` is the live source: it walks pages newest -> older with `?before=<smallest id>`, with a
  polite delay between requests and bounded retries (429/5xx, Retry-After honoured; a long Retry-After defers).

A t.me/s page fetched with `?before=B` lists every existing post with an id below B, twenty at a time, so a
rescan page is a complete listing of its id range: ids missing from it were deleted.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser, LexborNode
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ingest.models import INT64_MAX, ChannelSpec, Cursor, Post, RawRecord
from ingest.normalize.telegram_web import (
    channel_id_from_view,
    normalize_widget,
    parse_data_post,
    parse_tme_link,
    widget_post_id,
    widget_posted_at,
)
from ingest.sources.base import Batch, Deferred, Listed, SourceError

log = logging.getLogger(__name__)

SOURCE = "telegram_web"
BASE_URL = "https://t.me"
DEFAULT_USER_AGENT = "wirewatch/0.1 (+t.me/s public preview reader; one request every few seconds)"
_CDN_URL_RE = re.compile(r"url\(['\"]?([^'\")]+)['\"]?\)")
_HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_EMOJI_PNG_RE = re.compile(r"/emoji/\d+/([0-9A-Fa-f]+)\.png")
_BLOCK_TAGS = frozenset({"blockquote", "pre", "div", "p"})
_MAX_SAVED_HTML = 16 * 1024  # of a rejected page, kept for the reject record


# ------------------------------------------------------------------------------------------------ parsing


@dataclass(frozen=True, slots=True)
class PageResult:
    """One fetched or saved page.

    kind: "channel" (a t.me/s post list, possibly empty), "landing" (the t.me/<channel> page: no post list),
    "other" (not a Telegram page). `before` is the `?before=` value of the older page (None on the oldest page).
    """

    url: str
    kind: str
    records: list[RawRecord] = field(default_factory=list)
    handle: str | None = None
    title: str | None = None
    channel_id: int | None = None
    before: int | None = None
    problem: str | None = None

    @property
    def post_ids(self) -> list[int]:
        return sorted(i for r in self.records if (i := widget_post_id(r.payload)) is not None)

    @property
    def times(self) -> list[datetime]:
        return sorted(t for r in self.records if (t := widget_posted_at(r.payload)) is not None)


def parse_page(
    html: str, *, url: str = "", fetched_at: datetime | None = None, channel_id: int | None = None
) -> PageResult:
    """Parse one t.me/s page. `channel_id`, when known (live runs), is the fallback id for widgets without a
    readable `data-view`; otherwise the page's own (from its first readable widget) is used."""
    tree = LexborHTMLParser(html)
    widgets = [w for w in tree.css(".tgme_widget_message") if w.attributes.get("data-post")]
    has_history = tree.css_first(".tgme_channel_history") is not None
    if not widgets and not has_history:
        return _not_a_post_list(tree, url)

    handle = _page_handle(tree, widgets, url)
    title = _first_text(
        tree,
        ".tgme_channel_info_header_title > span",
        ".tgme_channel_info_header_title",
        ".tgme_header_title",
    ) or _meta(tree, "og:title")
    page_channel_id = None
    for w in widgets:
        try:
            page_channel_id = channel_id_from_view(w.attributes.get("data-view") or "")
            break
        except ValueError:
            continue
    context = {"handle": handle, "title": title, "channel_id": channel_id or page_channel_id, "page_url": url}
    records = []
    for w in widgets:
        payload = widget_payload(w)
        records.append(
            RawRecord(
                source=SOURCE,
                payload=payload,
                origin=f"{url}#{payload.get('post')}",
                fetched_at=fetched_at,
                context=dict(context),
            )  # fmt: skip
        )
    return PageResult(
        url=url, kind="channel", records=records, handle=handle, title=title, channel_id=page_channel_id,
        before=_before_cursor(tree),
    )  # fmt: skip


def _not_a_post_list(tree: LexborHTMLParser, url: str) -> PageResult:
    page_title = _first_text(tree, ".tgme_page_title > span", ".tgme_page_title")  # without the verified mark
    if page_title is not None:
        handle = None
        for a in tree.css("a[href^='tg://resolve?domain=']"):
            handle = parse_qs(urlsplit(a.attributes.get("href") or "").query).get("domain", [None])[0]
            if handle:
                break
        who = f"@{handle}" if handle else repr(page_title)
        preview = tree.css_first("a.tgme_page_context_link[href^='/s/']")
        if preview is not None:
            problem = (
                f"t.me landing page of {who} ({page_title!r}), not its post list: it holds no posts. "
                f"Save or fetch https://t.me{preview.attributes.get('href')} instead"
            )
        else:
            problem = (
                f"t.me landing page of {who} ({page_title!r}) with no post list: the channel has no public "
                "web preview (t.me/s); read it with the telethon source instead"
            )
        return PageResult(url=url, kind="landing", handle=handle, title=page_title, problem=problem)
    title_node = tree.css_first("title")
    doc_title = title_node.text(strip=True) if title_node is not None else ""
    problem = "not a t.me/s channel page: no .tgme_widget_message posts and no channel history" + (
        f" (page title {doc_title[:80]!r})" if doc_title else ""
    )
    return PageResult(url=url, kind="other", title=doc_title or None, problem=problem)


def _page_handle(tree: LexborHTMLParser, widgets: list[LexborNode], url: str) -> str | None:
    text = _first_text(tree, ".tgme_channel_info_header_username")
    if text and _HANDLE_RE.match(text.lstrip("@")):
        return text.lstrip("@")
    for w in widgets:
        try:
            return parse_data_post(w.attributes.get("data-post"))[0]
        except ValueError:
            continue
    main = tree.css_first("main.tgme_main[data-url]")
    if main is not None:
        candidate = (main.attributes.get("data-url") or "").strip("/")
        if _HANDLE_RE.match(candidate):
            return candidate
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "s" and _HANDLE_RE.match(parts[1]):
        return parts[1]
    return None


def _before_cursor(tree: LexborHTMLParser) -> int | None:
    """The id to pass as `?before=` for the older page: `<link rel="prev">`, else the "load more" anchor."""
    link = tree.css_first("link[rel='prev']")
    if link is not None:
        before = parse_qs(urlsplit(link.attributes.get("href") or "").query).get("before", [None])[0]
        if before and before.isdigit():
            return int(before)
    more = tree.css_first(".js-messages_more[data-before]")
    if more is not None:
        before = more.attributes.get("data-before") or ""
        if before.isdigit():
            return int(before)
    return None


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


def _first_text(tree: LexborHTMLParser | LexborNode, *selectors: str) -> str | None:
    for sel in selectors:
        node = tree.css_first(sel)
        if node is not None:
            text = extract_text_simple(node).replace("\xa0", " ").strip()
            if text:
                return text
    return None


def _meta(tree: LexborHTMLParser, prop: str) -> str | None:
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


def extract_media(bubble: LexborNode) -> list[dict[str, Any]]:
    """Media in display order. CDN addresses (which t.me re-signs over time) go under `src`/`thumb`, outside
    the content hash; `url` is the stable t.me permalink and `id` the photo id t.me puts in the class list."""
    media: list[dict[str, Any]] = []
    grouped = bubble.css_first(".tgme_widget_message_grouped_wrap") is not None
    for node in bubble.css(
        ".tgme_widget_message_photo_wrap, .tgme_widget_message_video_player, .tgme_widget_message_roundvideo_player,"
        " .tgme_widget_message_service_photo, .tgme_widget_message_document_wrap, .tgme_widget_message_voice_player,"
        " .tgme_widget_message_sticker_wrap, .tgme_widget_message_poll, .tgme_widget_message_location_wrap,"
        " .tgme_widget_message_contact_wrap"
    ):
        if _inside(node, ("tgme_widget_message_reply", "tgme_widget_message_link_preview"), stop=bubble):
            continue
        cls = (node.attributes.get("class") or "").split()
        url, msg_id = _member(node.attributes.get("href"))
        item: dict[str, Any]
        if "tgme_widget_message_photo_wrap" in cls or "tgme_widget_message_service_photo" in cls:
            photo_id = next((int(c) for c in cls if c.isdigit() and int(c) <= INT64_MAX), None)
            img = node.css_first("img")
            src = _bg_url(node) or (img.attributes.get("src") if img is not None else None)
            item = {"type": "photo", "id": photo_id, "url": url, "src": src}
        elif "tgme_widget_message_video_player" in cls or "tgme_widget_message_roundvideo_player" in cls:
            video = node.css_first("video")
            item = {
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
        elif "tgme_widget_message_document_wrap" in cls:
            audio = node.css_first(".audio") is not None
            item = {
                "type": "audio" if audio else "document",
                "url": url,
                "file_name": _text_of(node.css_first(".tgme_widget_message_document_title")),
                "size": _text_of(node.css_first(".tgme_widget_message_document_extra")),
            }
        elif "tgme_widget_message_voice_player" in cls:
            audio_el = node.css_first("audio")
            item = {
                "type": "voice",
                "url": url,
                "src": audio_el.attributes.get("src") if audio_el is not None else None,
                "duration": _duration(node.css_first(".tgme_widget_message_voice_duration")),
            }
        elif "tgme_widget_message_sticker_wrap" in cls:
            sticker = node.css_first("[data-webp], img, video")
            src = (sticker.attributes.get("data-webp") or sticker.attributes.get("src")) if sticker else None
            item = {"type": "sticker", "url": url, "src": src}
        elif "tgme_widget_message_poll" in cls:
            item = {
                "type": "poll",
                "question": _text_of(node.css_first(".tgme_widget_message_poll_question")),
                "answers": [_text_of(o) for o in node.css(".tgme_widget_message_poll_option_text")],
            }
        elif "tgme_widget_message_location_wrap" in cls:
            item = {
                "type": "geo",
                "url": node.attributes.get("href"),
                "src": _bg_url(node.css_first(".tgme_widget_message_location")),
            }
        else:
            item = {
                "type": "contact",
                "name": _text_of(node.css_first(".tgme_widget_message_contact_name")),
                "phone": _text_of(node.css_first(".tgme_widget_message_contact_phone")),
            }
        if grouped and msg_id is not None:
            item["msg_id"] = msg_id  # album member: the pipeline counts it as seen in rescans
        media.append({k: v for k, v in item.items() if v is not None and v != []})
    preview = bubble.css_first("a.tgme_widget_message_link_preview")
    if preview is not None:
        item = {
            "type": "webpage",
            "url": preview.attributes.get("href"),
            "site_name": _text_of(preview.css_first(".link_preview_site_name")),
            "title": _text_of(preview.css_first(".link_preview_title")),
            "description": _text_of(preview.css_first(".link_preview_description")),
            "image": _bg_url(preview.css_first(".link_preview_image, .link_preview_right_image")),
        }
        media.append({k: v for k, v in item.items() if v is not None})
    if not media:
        # A post t.me cannot render at all (some polls, paid media): the visible "not supported" notice is
        # a direct child of the bubble; the hidden fallback blocks sit inside media containers.
        for node in bubble.css(".message_media_not_supported_wrap"):
            if node.parent is not None and node.parent.mem_id == bubble.mem_id:
                label = _text_of(node.css_first(".message_media_not_supported_label"))
                media.append({"type": "unsupported", "label": label} if label else {"type": "unsupported"})
                break
    return media


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


# -------------------------------------------------------------------------------------------- saved pages


def read_saved_page(path: Path) -> Iterator[RawRecord]:
    """`wirewatch import --format telegram-web`: the widgets of a saved t.me/s page. A page that is not a post
    list (a t.me landing page, any other HTML) becomes one record that the normaliser rejects with the reason."""
    path = Path(path)
    data = path.read_bytes()
    try:
        html = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text (byte {exc.start}): not a saved t.me page") from exc
    page = parse_page(html, url=str(path))
    if page.kind == "channel":
        yield from page.records
        return
    yield RawRecord(
        source=SOURCE,
        payload={
            "page_kind": page.kind,
            "problem": page.problem,
            "handle": page.handle,
            "title": page.title,
            "html": html[:_MAX_SAVED_HTML],
        },  # fmt: skip
        origin=str(path),
    )


# ------------------------------------------------------------------------------------------------ live source


def _normalises(record: RawRecord) -> bool:
    return all(isinstance(item, Post) for item in normalize_widget(record))


class _Transient(Exception):
    """A response worth retrying (429, 5xx, network error)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TelegramWebError(SourceError):
    """t.me kept failing (5xx, network) after every retry, or answered something that is not a preview."""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


class TelegramWebSource:
    """LiveSource over https://t.me/s/<handle>: no credentials, public channels with a web preview only."""

    name = SOURCE
    platform = "telegram"

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str = BASE_URL,
        delay: float = 2.0,
        timeout: float = 20.0,
        user_agent: str = DEFAULT_USER_AGENT,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        backoff_max: float = 60.0,
        max_retry_wait: float = 120.0,
        max_pages: int = 200,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._owns_client = client is None
        self.client = client or httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
        self.base_url = base_url.rstrip("/")
        self.delay = delay
        self.user_agent = user_agent
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_wait = max_retry_wait
        self.max_pages = max(1, max_pages)
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now
        self._last_request: float | None = None
        self.requests = 0  # HTTP requests sent, retries included

    @classmethod
    def from_env(cls, **overrides: Any) -> TelegramWebSource:
        """Settings from the environment: WIREWATCH_WEB_DELAY (seconds between requests, default 2),
        WIREWATCH_WEB_TIMEOUT (default 20), WIREWATCH_WEB_USER_AGENT, WIREWATCH_WEB_MAX_PAGES (default 200),
        WIREWATCH_WEB_MAX_RETRY_WAIT (longest Retry-After slept through before deferring, default 120)."""
        settings: dict[str, Any] = {
            "delay": _env_float("WIREWATCH_WEB_DELAY", 2.0),
            "timeout": _env_float("WIREWATCH_WEB_TIMEOUT", 20.0),
            "max_retry_wait": _env_float("WIREWATCH_WEB_MAX_RETRY_WAIT", 120.0),
            "max_pages": int(_env_float("WIREWATCH_WEB_MAX_PAGES", 200)),
        }
        ua = os.environ.get("WIREWATCH_WEB_USER_AGENT")
        if ua and ua.strip():
            settings["user_agent"] = ua.strip()
        settings.update(overrides)
        return cls(**settings)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> TelegramWebSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP

    def _pause(self) -> None:
        """Keep at least `delay` seconds between two requests to t.me."""
        if self._last_request is not None and self.delay > 0:
            wait = self.delay - (self._monotonic() - self._last_request)
            if wait > 0:
                self._sleep(wait)

    def _backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return exc.retry_after
        return min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))

    def _retry_after(self, resp: httpx.Response) -> float | None:
        raw = resp.headers.get("Retry-After")
        if not raw:
            return None
        raw = raw.strip()
        if raw.isdigit():
            return float(raw)
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self._now()).total_seconds())

    def _get_once(self, url: str) -> httpx.Response:
        self._pause()
        self.requests += 1
        try:
            resp = self.client.get(
                url,
                headers={"User-Agent": self.user_agent, "Accept-Language": "en", "Accept": "text/html"},
                follow_redirects=False,
            )
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._last_request = self._monotonic()
        if resp.status_code == 429 or resp.status_code >= 500:
            wait = self._retry_after(resp)
            if wait is not None and wait > self.max_retry_wait:
                raise Deferred(
                    self._now() + timedelta(seconds=wait),
                    f"t.me answered HTTP {resp.status_code} with Retry-After {int(wait)} s for {url}",
                )
            raise _Transient(f"HTTP {resp.status_code}", resp.status_code, wait)
        return resp

    def get(self, url: str) -> httpx.Response:
        """GET with the polite delay and bounded retries on 429/5xx/network errors (exponential backoff,
        Retry-After honoured). A 429 that outlasts the retries defers the channel; a 5xx fails it."""
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.max_attempts),
                wait=self._backoff,
                retry=retry_if_exception_type(_Transient),
                sleep=self._sleep,
                reraise=True,
                before_sleep=lambda s: log.info(
                    "t.me retry %d for %s: %s",
                    s.attempt_number,
                    url,
                    s.outcome.exception() if s.outcome else None,
                ),  # fmt: skip
            ):
                with attempt:
                    return self._get_once(url)
        except _Transient as exc:
            if exc.status == 429:
                wait = exc.retry_after if exc.retry_after is not None else self.backoff_max
                raise Deferred(
                    self._now() + timedelta(seconds=wait),
                    f"t.me kept answering HTTP 429 (too many requests) for {url} after {self.max_attempts} attempts",
                ) from exc
            raise TelegramWebError(f"{url}: {exc} after {self.max_attempts} attempts") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def page_url(self, handle: str, before: int | None = None) -> str:
        url = f"{self.base_url}/s/{handle}"
        return f"{url}?before={before}" if before is not None else url

    def fetch_page(self, handle: str, before: int | None = None, channel_id: int | None = None) -> PageResult:
        """One t.me/s page. A redirect away from /s/ (no public preview), a landing page, a 4xx -> SourceError."""
        handle = handle.lstrip("@")
        url = self.page_url(handle, before)
        for _ in range(4):
            resp = self.get(url)
            if resp.is_redirect:
                target = urljoin(url, resp.headers.get("Location", ""))
                if urlsplit(target).path.startswith("/s/"):
                    url = target  # canonical spelling of the same preview
                    continue
                raise SourceError(
                    f"https://t.me/s/{handle} redirects to {target}: @{handle} has no public web preview "
                    "(private, restricted or not a channel); read it with the telethon source"
                )
            break
        else:
            raise TelegramWebError(f"https://t.me/s/{handle}: too many redirects")
        if resp.status_code == 404:
            raise SourceError(f"https://t.me/s/{handle}: not found (404): no channel @{handle}")
        if resp.status_code >= 400:
            raise SourceError(f"https://t.me/s/{handle}: HTTP {resp.status_code}")
        page = parse_page(resp.text, url=url, fetched_at=self._now(), channel_id=channel_id)
        if page.kind != "channel":
            raise SourceError(f"{url}: {page.problem}")
        if channel_id is not None and page.channel_id is not None and page.channel_id != channel_id:
            raise SourceError(
                f"{url} now shows channel {page.channel_id}, not {channel_id}: the handle @{handle} changed "
                "hands; resolve the channel again"
            )
        return page

    # -- LiveSource

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        """Fetch t.me/s/<handle> once and read the numeric id from the widgets' data-view."""
        page = self.fetch_page(spec.handle)
        if page.channel_id is None:
            raise SourceError(
                f"https://t.me/s/{spec.handle.lstrip('@')} shows no post with a readable data-view, so its numeric "
                "id is unknown; set channel_id in seeds/channels.toml"
            )
        return page.channel_id, (page.handle or spec.handle).lower(), page.title

    def fetch(
        self,
        spec: ChannelSpec,
        channel_id: int,
        cursor: Cursor | None,
        *,
        since: datetime | None,
        until: datetime | None,
        rescan_since: datetime | None,
    ) -> Iterator[Batch]:
        """Walk newest -> older pages until the cursor (incremental), past `since` (window), or back to
        `rescan_since` (first run: at least the newest page). Yield new posts oldest first, one batch per page,
        each with the cursor it reaches; then the pages back to `rescan_since` as complete listings."""
        handle = spec.handle.lstrip("@")
        windowed = since is not None or until is not None
        last_id = cursor.last_post_id if cursor is not None and not windowed else None
        if windowed:
            # A window advances the cursor only when it reaches the present and starts at or before the cursor:
            # otherwise posts between the cursor and the window would be skipped for good.
            known = cursor.last_posted_at if cursor is not None else None
            advance = until is None and (
                cursor is None or since is None or (known is not None and since <= known)
            )
        else:
            advance = True

        def keep(rec: RawRecord) -> bool:
            pid, at = widget_post_id(rec.payload), widget_posted_at(rec.payload)
            if pid is None or at is None:
                return True  # malformed: let the normaliser reject it with the reason
            if windowed:
                return (since is None or at >= since) and (until is None or at < until)
            return last_id is None or pid > last_id

        def done(page: PageResult) -> bool:
            if not page.records or page.before is None:
                return True  # the channel's first post
            times, ids = page.times, page.post_ids
            if windowed:
                return since is not None and bool(times) and times[0] < since
            if last_id is not None:
                return bool(ids) and ids[0] <= last_id
            return rescan_since is None or (bool(times) and times[0] < rescan_since)

        pages: list[tuple[PageResult, int | None]] = []  # (page, the ?before= it was fetched with)
        notes: dict[str, Any] = {}
        before: int | None = None
        try:
            while True:
                page = self.fetch_page(handle, before, channel_id)
                pages.append((page, before))
                if done(page):
                    break
                if len(pages) >= self.max_pages:
                    oldest = page.post_ids[0] if page.post_ids else page.before
                    notes["backfill_incomplete"] = (
                        f"t.me/s/{handle}: stopped after {len(pages)} pages (WIREWATCH_WEB_MAX_PAGES); posts "
                        f"older than id {oldest}"
                        + (f" and newer than id {last_id}" if last_id else "")
                        + " were not read: run a backfill window over them"
                    )
                    break
                before = page.before
        except (Deferred, SourceError):
            # Keep what was read before the failure, without moving the cursor: the next run reads it again.
            yield from self._new_post_batches(pages, keep, advance=False, notes={})
            raise

        yield from self._new_post_batches(pages, keep, advance=advance, notes=notes)

        if rescan_since is None:
            return
        # Extend the walk back to rescan_since if the incremental walk stopped short of it.
        while (
            pages
            and pages[-1][0].records
            and pages[-1][0].before is not None
            and pages[-1][0].times
            and pages[-1][0].times[0] >= rescan_since
            and len(pages) < self.max_pages
        ):
            before = pages[-1][0].before
            pages.append((self.fetch_page(handle, before, channel_id), before))
        for page, fetched_before in reversed(pages):
            ids, times = page.post_ids, page.times
            if not ids or not times or times[-1] < rescan_since:
                continue
            high = fetched_before - 1 if fetched_before is not None else ids[-1]
            unreadable = [r.origin for r in page.records if not _normalises(r)]
            if unreadable:
                # A widget the normaliser rejects would look deleted: claim no complete listing for this page.
                note = {
                    "rescan_unlisted": f"{page.url}: {len(unreadable)} widget(s) unreadable, e.g. {unreadable[0]}"
                }
                yield Batch(records=list(page.records), rescan=True, notes=note)
                continue
            yield Batch(records=list(page.records), rescan=True, listed=Listed(ids[0], max(high, ids[-1])))

    def _new_post_batches(
        self,
        pages: list[tuple[PageResult, int | None]],
        keep: Callable[[RawRecord], bool],
        *,
        advance: bool,
        notes: dict[str, Any],
    ) -> Iterator[Batch]:
        first = True
        for page, _ in reversed(pages):  # oldest page first; widgets within a page are oldest first
            records = sorted(
                (r for r in page.records if keep(r)),
                key=lambda r: (widget_post_id(r.payload) is None, widget_post_id(r.payload) or 0),
            )
            if not records:
                continue
            reached = None
            dated = [(widget_post_id(r.payload), widget_posted_at(r.payload)) for r in records]
            dated = [(i, t) for i, t in dated if i is not None and t is not None]
            if advance and dated:
                top_id, top_at = max(dated, key=lambda x: x[0])
                reached = Cursor(last_post_id=top_id, last_posted_at=top_at)
            yield Batch(records=records, cursor=reached, notes=notes if first else {})
            first = False
        if first and notes:
            yield Batch(records=[], notes=notes)


_BUBBLE_TAIL = re.compile(r'<i class="tgme_widget_message_bubble_tail">.*?</i>', re.S)


def _strip_decoration(html: str | None) -> str | None:
    """The widget's HTML kept as provenance, minus the identical decorative bubble-tail SVG (~28 % of it)."""
    if not html:
        return html
    return _BUBBLE_TAIL.sub("", html)
