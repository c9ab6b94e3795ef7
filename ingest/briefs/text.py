"""What a brief reads from one post's text besides its figures: the lead sentence and the language."""

from __future__ import annotations

import re

from ingest.briefs.figures import detect_language
from ingest.briefs.model import PostInput

LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "uk": "Ukrainian", "es": "Spanish", "it": "Italian",
                  "tl": "Tagalog", "de": "German", "fr": "French", "pl": "Polish", None: "unknown"}  # fmt: skip

_LEAD_PREFIX = re.compile(
    r"^(?:[^\w«“\"„(]+|(?:breaking|just in|update|urgent|срочно|молния|терміново|важливо|блискавка)\s*[:!—-]\s*)+",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«“„]?[A-ZА-ЯЁІЇЄҐ0-9])")
_TRAILING_NOISE = re.compile(r"(?:\s+(?:#\w+|@\w+|https?://\S+))+\s*$")
_RT = re.compile(r"^\s*RT\s+@\w+:\s*", re.I)


def lead_sentence(text: str, limit: int = 200) -> str:
    """The first sentence of the first line that says something, without leading emoji, 'BREAKING:' or
    trailing hashtags and links."""
    text = _RT.sub("", text or "")
    line = ""
    for raw in text.splitlines():
        cand = _TRAILING_NOISE.sub("", raw.strip())
        cand = re.sub(r"^(?:(?:#\w+|@\w+|https?://\S+)\s*)+$", "", cand)
        if len(re.findall(r"[^\W\d_]{2,}", cand)) >= 2:
            line = cand
            break
    line = _LEAD_PREFIX.sub("", line).strip()
    parts = _SENTENCE_END.split(line, maxsplit=1)
    sentence = parts[0].strip() if parts else line
    sentence = re.sub(r"\s+", " ", sentence)
    if len(sentence) > limit:
        # Cut at the last clause boundary that keeps most of the sentence, else at a word boundary.
        cut = sentence[:limit]
        at = max(cut.rfind(", "), cut.rfind(" — "), cut.rfind("; "))
        cut = cut[:at] if at >= limit // 2 else cut.rsplit(" ", 1)[0]
        sentence = cut.rstrip(",;:—- ") + "…"
    return sentence


def language_of(p: PostInput) -> str | None:
    return p.lang or detect_language(p.text)
