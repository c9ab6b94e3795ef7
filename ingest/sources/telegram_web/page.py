"""One t.me/s preview page: its widgets as `RawRecord`s, the channel header and the `?before=` cursor."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ingest.models import RawRecord
from ingest.normalize.telegram_web import (
    channel_id_from_view,
    parse_data_post,
    widget_post_id,
    widget_posted_at,
)
from ingest.sources.telegram_web.widget import first_text, meta, widget_payload

SOURCE = "telegram_web"
_HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


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
    title = first_text(
        tree,
        ".tgme_channel_info_header_title > span",
        ".tgme_channel_info_header_title",
        ".tgme_header_title",
    ) or meta(tree, "og:title")
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
    page_title = first_text(tree, ".tgme_page_title > span", ".tgme_page_title")  # without the verified mark
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
    text = first_text(tree, ".tgme_channel_info_header_username")
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
