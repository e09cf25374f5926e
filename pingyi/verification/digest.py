"""The seal's arithmetic: a ballot's canonical row, its leaf hash and the Merkle root.

The tree is RFC 6962's (Certificate Transparency): a leaf is SHA-256(0x00 ‖ data), a node
SHA-256(0x01 ‖ left ‖ right), the split at the largest power of two below n, the empty tree
SHA-256(""). Anyone can recompute it from the export with a few lines in any language
(docs/verification.md shows them). A row carries no time and no order but its ballot id (random,
given by the mixer), so the digest says nothing about when or in what order anyone voted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    """A ballot as the export shows it: its unit and category after coarsening (``category_id``
    None: merged), and per rated item the label of the choice made."""
    ballot_id: str
    category_id: int | None
    unit_id: int
    answers: tuple[tuple[int, int, str], ...]  # (subject_id, item_id, choice label), sorted


def canonical(row: Row) -> bytes:
    """UTF-8 JSON without spaces: ``["<ballot id>",<category id|null>,<unit id>,[[s,i,"label"],…]]``."""
    return json.dumps([row.ballot_id, row.category_id, row.unit_id, [list(a) for a in sorted(row.answers)]],
                      ensure_ascii=False, separators=(",", ":")).encode()


def leaf(row: Row) -> str:
    return hashlib.sha256(b"\x00" + canonical(row)).hexdigest()


def root(leaves: Sequence[str]) -> str:
    """The Merkle root over leaves (hex) in ballot id order."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = [bytes.fromhex(x) for x in leaves]
    return _root(level, 0, len(level)).hex()


def _root(level: list[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return level[lo]
    split = 1 << ((hi - lo - 1).bit_length() - 1)  # the largest power of two below n
    return hashlib.sha256(b"\x01" + _root(level, lo, lo + split) + _root(level, lo + split, hi)).digest()
