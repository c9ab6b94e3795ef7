"""Telethon message media, engagement counts and service-message text, as stored in a post."""

from __future__ import annotations

import re
from typing import Any

from ingest.models import INT64_MAX, Metrics
from ingest.normalize.telegram.fields import Bad, integer, peer_channel_or_none

# ---------------------------------------------------------------------------------------------------- media

_DOC_ATTR_TYPES = {
    "DocumentAttributeSticker": "sticker",
    "DocumentAttributeAnimated": "animation",
}


def media_items(media: Any) -> list[dict[str, Any]]:
    if media is None:
        return []
    if not isinstance(media, dict):
        raise Bad(f"media has type {type(media).__name__}, expected a MessageMedia object")
    kind = media.get("_")
    if kind in (None, "MessageMediaEmpty"):
        return []
    if kind == "MessageMediaPhoto":
        photo = media.get("photo")
        if not isinstance(photo, dict):
            photo = {}
        item: dict[str, Any] = {"type": "photo", "id": photo.get("id")}
        big = _largest_size(photo.get("sizes"))
        if big is not None:
            item["width"], item["height"] = big.get("w"), big.get("h")
        if media.get("spoiler"):
            item["spoiler"] = True
        return [item]
    if kind == "MessageMediaDocument":
        return [_document(media.get("document"), media)]
    if kind == "MessageMediaWebPage":
        page = media.get("webpage") if isinstance(media.get("webpage"), dict) else {}
        item = {"type": "webpage", "id": page.get("id"), "url": page.get("url")}
        for key in ("display_url", "site_name", "title", "description"):
            if isinstance(page.get(key), str) and page[key]:
                item[key] = page[key]
        return [item]
    if kind == "MessageMediaPoll":
        poll = media.get("poll") if isinstance(media.get("poll"), dict) else {}
        results = media.get("results") if isinstance(media.get("results"), dict) else {}
        return [{
            "type": "poll", "id": poll.get("id"), "question": _tl_text(poll.get("question")),
            "answers": [_tl_text(a.get("text")) for a in _list(poll.get("answers")) if isinstance(a, dict)],
            "closed": poll.get("closed"), "quiz": poll.get("quiz"), "total_voters": results.get("total_voters"),
        }]  # fmt: skip
    if kind in ("MessageMediaGeo", "MessageMediaGeoLive", "MessageMediaVenue"):
        geo = media.get("geo") if isinstance(media.get("geo"), dict) else {}
        item = {"type": "venue" if kind == "MessageMediaVenue" else "geo",
                "latitude": geo.get("lat"), "longitude": geo.get("long")}  # fmt: skip
        if kind == "MessageMediaGeoLive":
            item["live_period"] = media.get("period")
        if kind == "MessageMediaVenue":
            item["title"], item["address"] = media.get("title"), media.get("address")
        return [item]
    if kind == "MessageMediaContact":
        return [{"type": "contact", "first_name": media.get("first_name"), "last_name": media.get("last_name"),
                 "user_id": media.get("user_id")}]  # fmt: skip
    if kind == "MessageMediaDice":
        return [{"type": "dice", "emoticon": media.get("emoticon"), "value": media.get("value")}]
    if kind == "MessageMediaGame":
        game = media.get("game") if isinstance(media.get("game"), dict) else {}
        return [{"type": "game", "id": game.get("id"), "title": game.get("title")}]
    if kind == "MessageMediaInvoice":
        return [{"type": "invoice", "title": media.get("title"), "currency": media.get("currency"),
                 "amount": media.get("total_amount")}]  # fmt: skip
    if kind == "MessageMediaStory":
        return [{"type": "story", "id": media.get("id"),
                 "channel_id": peer_channel_or_none(media.get("peer"), "media.peer")}]  # fmt: skip
    if kind == "MessageMediaPaidMedia":
        extended = [e for e in media.get("extended_media") or [] if isinstance(e, dict)]
        return [{"type": "paid_media", "stars": media.get("stars_amount"), "count": len(extended)}]
    if kind == "MessageMediaUnsupported":
        return [{"type": "unsupported"}]
    # MessageMediaGiveaway, MessageMediaToDo, ... : keep the kind, the raw payload keeps the rest.
    name = str(kind).removeprefix("MessageMedia") or "unknown"
    return [{"type": re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()}]


def _largest_size(sizes: Any) -> dict[str, Any] | None:
    """The photo size with the most pixels (the first of equals), among those with an integer width."""
    sized = [s for s in _list(sizes) if isinstance(s, dict) and isinstance(s.get("w"), int)]
    return max(sized, key=lambda s: (s.get("w") or 0) * (s.get("h") or 0)) if sized else None


def _document(doc: Any, media: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("_") != "Document":
        return {"type": "document", "id": doc.get("id") if isinstance(doc, dict) else None}
    attrs = [a for a in _list(doc.get("attributes")) if isinstance(a, dict)]
    names = {a.get("_") for a in attrs}
    kind = "document"
    for attr, mapped in _DOC_ATTR_TYPES.items():
        if attr in names:
            kind = mapped
    video = next((a for a in attrs if a.get("_") == "DocumentAttributeVideo"), None)
    audio = next((a for a in attrs if a.get("_") == "DocumentAttributeAudio"), None)
    if kind == "document" and video is not None:
        kind = "video_note" if video.get("round_message") or media.get("round") else "video"
    if kind == "document" and audio is not None:
        kind = "voice" if audio.get("voice") or media.get("voice") else "audio"
    item: dict[str, Any] = {"type": kind, "id": doc.get("id"), "mime_type": doc.get("mime_type")}
    file_name = next((a.get("file_name") for a in attrs if a.get("_") == "DocumentAttributeFilename"), None)
    if file_name:
        item["file_name"] = file_name
    if isinstance(doc.get("size"), int):
        item["size"] = doc["size"]
    timed = video or audio
    if timed is not None and timed.get("duration") is not None:
        item["duration"] = timed.get("duration")
    if audio is not None:
        for key in ("title", "performer"):
            if audio.get(key):
                item[key] = audio[key]
    sticker = next((a for a in attrs if a.get("_") == "DocumentAttributeSticker"), None)
    if sticker is not None and sticker.get("alt"):
        item["emoji"] = sticker["alt"]
    return item


def _tl_text(value: Any) -> str | None:
    """Poll questions and answers are TextWithEntities since layer 178, plain strings before."""
    if isinstance(value, dict):
        value = value.get("text")
    return value if isinstance(value, str) else None


# -------------------------------------------------------------------------------------------------- metrics


def message_metrics(msg: dict[str, Any]) -> Metrics | None:
    views = _opt_count(msg.get("views"), "views")
    forwards = _opt_count(msg.get("forwards"), "forwards")
    rep = msg.get("replies")
    replies = _opt_count(rep.get("replies"), "replies.replies") if isinstance(rep, dict) else None
    reactions = msg.get("reactions")
    reactions = _reactions(reactions) if reactions is not None else None
    if views is None and forwards is None and replies is None and reactions is None:
        return None  # what Metrics(...).is_empty() says, without making one
    return Metrics(views=views, forwards=forwards, replies=replies, reactions=reactions)


def _opt_count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if type(value) is int and 0 <= value <= INT64_MAX:
        return value
    count = integer(value, what)
    if count < 0:
        raise Bad(f"{what} is negative: {count}")
    return count


def _reactions(value: Any) -> dict[str, int] | None:
    """{emoji: count}; custom emoji by their document id, paid (star) reactions under "paid"."""
    if not isinstance(value, dict):
        return None
    out: dict[str, int] = {}
    for rc in _list(value.get("results")):
        # The usual result, an emoji with a count, in as few steps as it takes: plain dicts read by subscript (a
        # third of a `get`, and 20 a message); a missing key or any other shape goes the long way.
        if type(rc) is dict:
            try:
                reaction = rc["reaction"]
                if type(reaction) is dict and reaction["_"] == "ReactionEmoji":
                    key, count = reaction["emoticon"], rc["count"]
                    if type(key) is str and key and type(count) is int and 0 <= count <= INT64_MAX:
                        out[key] = out[key] + count if key in out else count
                        continue
            except KeyError:
                pass
        _add_reaction(out, rc)
    return out


def _list(value: Any) -> list[Any] | tuple[Any, ...]:
    """A list field of a sub-object (photo sizes, document attributes, poll answers, reaction results) as a list:
    another value counts as none, as a malformed sub-object does, so the post keeps its text."""
    return value if isinstance(value, list | tuple) else []


def _add_reaction(out: dict[str, int], rc: Any) -> None:
    if not isinstance(rc, dict):
        return
    reaction = rc.get("reaction")
    if not isinstance(reaction, dict):
        return
    kind = reaction.get("_")
    if kind == "ReactionEmoji":
        key = reaction.get("emoticon")
    elif kind == "ReactionCustomEmoji":
        key = str(reaction.get("document_id"))
    elif kind == "ReactionPaid":
        key = "paid"
    else:
        return
    count = rc.get("count")
    if type(count) is not int or not 0 <= count <= INT64_MAX:  # the usual case costs one test
        count = _opt_count(count, "reactions count")
    if count is not None and type(key) is str and key:
        out[key] = out[key] + count if key in out else count


# -------------------------------------------------------------------------------------------------- service

_ACTION_TEXT = {
    "MessageActionChatDeletePhoto": "Channel photo removed",
    "MessageActionChatEditPhoto": "Channel photo changed",
    "MessageActionHistoryClear": "History cleared",
    "MessageActionScreenshotTaken": "Screenshot taken",
    "MessageActionContactSignUp": "Joined Telegram",
    "MessageActionChatJoinedByRequest": "Joined by request",
    "MessageActionBoostApply": "Boosted the channel",
    "MessageActionGiveawayLaunch": "Giveaway launched",
    "MessageActionGiveawayResults": "Giveaway results",
    "MessageActionEmpty": "Service message",
}


def service_text(action: Any) -> str:
    """A readable description of a service action ("Title changed to «…»", "Message pinned", ...)."""
    if not isinstance(action, dict):
        return "Service message"
    kind = str(action.get("_") or "")
    title = action.get("title") if isinstance(action.get("title"), str) else None
    if kind == "MessageActionChannelCreate":
        return f"Channel created: «{title}»" if title else "Channel created"
    if kind == "MessageActionChatCreate":
        return f"Group created: «{title}»" if title else "Group created"
    if kind == "MessageActionChatEditTitle":
        return f"Title changed to «{title}»" if title else "Title changed"
    if kind == "MessageActionPinMessage":
        return "Message pinned"
    if kind == "MessageActionChatAddUser":
        n = len(action.get("users") or [])
        return f"{n} member{'s' if n != 1 else ''} added"
    if kind == "MessageActionChatDeleteUser":
        return "Member removed"
    if kind == "MessageActionChatJoinedByLink":
        return "Joined by invite link"
    if kind == "MessageActionChannelMigrateFrom":
        return f"Upgraded from the group «{title}»" if title else "Upgraded from a basic group"
    if kind == "MessageActionChatMigrateTo":
        return f"Upgraded to supergroup {action.get('channel_id')}"
    if kind == "MessageActionGroupCall":
        duration = action.get("duration")
        return f"Live stream ended ({duration} s)" if duration is not None else "Live stream started"
    if kind == "MessageActionGroupCallScheduled":
        return f"Live stream scheduled for {action.get('schedule_date')}"
    if kind == "MessageActionSetMessagesTTL":
        period = action.get("period")
        return f"Auto-delete timer set to {period} s" if period else "Auto-delete timer disabled"
    if kind == "MessageActionTopicCreate":
        return f"Topic created: «{title}»" if title else "Topic created"
    if kind == "MessageActionTopicEdit":
        return f"Topic renamed to «{title}»" if title else "Topic edited"
    if kind == "MessageActionCustomAction":
        return str(action.get("message") or "Service message")
    if kind in _ACTION_TEXT:
        return _ACTION_TEXT[kind]
    # Any other action: its name in words, with its title if it has one.
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", kind.removeprefix("MessageAction")).strip().lower()
    text = words.capitalize() if words else "Service message"
    return f"{text}: «{title}»" if title else text
