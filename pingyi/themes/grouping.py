"""Which themes an opinion falls in: a pure function over texts and rules.

A keyword that jieba keeps as one word matches only a whole word of the opinion (``坚持`` is
not found in ``坚持不懈``); a keyword jieba splits into several words (``形式单一``, ``报送不及时``)
is a phrase and matches as a substring. A theme matches when one of its keywords does and none
of its exclusion words; an opinion may fall in several themes, one in none goes to ``OTHER``.

jieba is set up lazily and quietly (its log only from warnings up; its dictionary cache goes to
the temp directory, never to the home directory, and a cache it cannot write is only slower)."""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from typing import TypeVar

from .rules import OTHER, Theme

K = TypeVar("K", bound=Hashable)

_lock = threading.Lock()
_ready = False


def _jieba():
    """The jieba module, initialised once (quietly) on first use."""
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.CRITICAL)  # a cache it cannot write is not an error here
                jieba.initialize()
                _ready = True
    return jieba


def normalize(text: str) -> str:
    """Full-width letters and digits folded (NFKC), lower case, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text or "").lower().split())


def words(text: str) -> list[str]:
    """The opinion's words as jieba cuts them (after ``normalize``)."""
    return [w for w in _jieba().lcut(normalize(text)) if w.strip()]


@lru_cache(maxsize=4096)
def _is_word(keyword: str) -> bool:
    """True when jieba keeps the keyword as one word (matched on word boundaries)."""
    return len(words(keyword)) == 1


def _hits(keywords: Sequence[str], text: str, tokens: set[str]) -> bool:
    for kw in keywords:
        kw = normalize(kw)
        if not kw:
            continue
        if (kw in tokens) if _is_word(kw) else (kw in text):
            return True
    return False


def themes_of(text: str, rules: Sequence[Theme]) -> list[str]:
    """The names of the themes ``text`` falls in (rule order), or ``[OTHER]``."""
    norm = normalize(text)
    tokens = set(words(norm))
    out = [t.name for t in rules if _hits(t.keywords, norm, tokens) and not _hits(t.excludes, norm, tokens)]
    return out or [OTHER]


def group(opinions: Iterable[tuple[K, str]], rules: Sequence[Theme]) -> dict[str, list[K]]:
    """Theme name → the ids of the opinions in it, for every theme of ``rules`` (in order, empty
    ones too) and ``OTHER`` last; ``opinions`` are (id, text) pairs. Equal texts are cut once."""
    out: dict[str, list[K]] = {t.name: [] for t in rules}
    out[OTHER] = []
    seen: dict[str, list[str]] = {}
    for key, text in opinions:
        names = seen.get(text)
        if names is None:
            names = seen[text] = themes_of(text, rules)
        for name in names:
            out[name].append(key)
    return out
