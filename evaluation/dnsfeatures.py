"""The DNS name features the dga analyzer computes in Lua, in Python, for training
and evaluation (evaluation/train_dga.py, evaluation/dga.py).

Everything here mirrors analyzers/dga.lua and mle/lua/lib/domain.lua exactly:

- ``split(name)``: registrable domain, its first label, public suffix, subdomain, by
  the trimmed Public Suffix List that domain.lua carries (read from that file);
- ``lexical(label)``: the eight character features of the registrable label;
- ``ngram_buckets(label, n_buckets)``: the hashed character bigrams and trigrams of
  ``"." + label + "."`` (the dots mark the ends), with the stable hash of
  mle.export / mle.models.hashing, each occurrence weighing 1 / sqrt(number of grams).
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_LUA = ROOT / "mle" / "lua" / "lib" / "domain.lua"

HASH_MODULUS = 2147483647
LEXICAL = ("len", "entropy", "digits", "vowels", "consonant_run", "hyphens", "distinct", "switches")
VOWELS = frozenset("aeiou")
DIGITS = frozenset("0123456789")
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=1)
def _rules() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    text = DOMAIN_LUA.read_text(encoding="utf-8")
    block = re.search(r"local SUFFIXES = \[\[\n(.*?)\n\]\]", text, re.S)
    assert block, f"{DOMAIN_LUA}: no suffix block"
    rules, wild, exc, parent = set(), set(), set(), set()

    def parents(rule: str) -> None:
        parts = rule.split(".")
        for i in range(1, len(parts)):
            parent.add(".".join(parts[i:]))

    for rule in block.group(1).split():
        if rule.startswith("!"):
            exc.add(rule[1:])
            parents(rule[1:])
        elif rule.startswith("*."):
            wild.add(rule[2:])
            parent.add(rule[2:])
            parents(rule[2:])
        else:
            rules.add(rule)
            parents(rule)
    return frozenset(rules), frozenset(wild), frozenset(exc), frozenset(parent)


def split(name: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(registrable, label, suffix, subdomain) as domain.split in Lua."""
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        return None, None, None, None
    rules, wild, exc, parent_set = _rules()
    labels = name.split(".")
    n = len(labels)
    j = n - 1  # 0-based label where the suffix begins
    parent = labels[-1]
    for i in range(n - 2, -1, -1):
        if parent not in parent_set and parent not in wild:
            break
        candidate = ".".join(labels[i:])
        if candidate in exc:
            j = i + 1
            break
        if candidate in rules or parent in wild:
            j = i
        parent = candidate
    suffix = ".".join(labels[j:])
    if j == 0:
        return None, None, suffix, None
    return ".".join(labels[j - 1:]), labels[j - 1], suffix, ".".join(labels[:j - 1])


def entropy(s: str) -> float:
    """Shannon entropy in bits of the characters of s."""
    counts: dict[str, int] = {}
    for c in s:
        counts[c] = counts.get(c, 0) + 1
    n = len(s)
    return -sum(k / n * math.log(k / n, 2) for k in counts.values()) if n else 0.0


def lexical(label: str) -> dict[str, float]:
    """The character features of a label (scaled to about [0, 1])."""
    n = len(label)
    digits = vowels = hyphens = run = longest = switches = 0
    previous = ""
    for c in label:
        if c in DIGITS:
            digits += 1
        elif c == "-":
            hyphens += 1
        if c in VOWELS:
            vowels += 1
        if c in LETTERS and c not in VOWELS:
            run += 1
            longest = max(longest, run)
        else:
            run = 0
        kind = "d" if c in DIGITS else ("l" if c in LETTERS else "o")
        if previous and kind != previous and kind != "o" and previous != "o":
            switches += 1
        previous = kind
    return {
        "len": n / 32,
        "entropy": entropy(label) / 4,
        "digits": digits / n,
        "vowels": vowels / n,
        "consonant_run": longest / 10,
        "hyphens": hyphens / n,
        "distinct": len(set(label)) / n,
        "switches": switches / n,
    }


def ngram_buckets(label: str, n_buckets: int) -> dict[int, float]:
    """Hashed bigrams and trigrams of "." + label + "." -> {bucket: weight}."""
    text = ("." + label + ".").encode()
    grams = 2 * len(text) - 3
    weight = 1 / math.sqrt(grams)
    out: dict[int, float] = {}
    for i in range(len(text) - 1):
        h = (5381 * 1000003 + text[i]) % HASH_MODULUS
        h = (h * 1000003 + text[i + 1]) % HASH_MODULUS
        b = h % n_buckets
        out[b] = out.get(b, 0.0) + weight
        if i + 2 < len(text):
            h = (h * 1000003 + text[i + 2]) % HASH_MODULUS
            b = h % n_buckets
            out[b] = out.get(b, 0.0) + weight
    return out


def scorable(label: str | None, min_length: int) -> bool:
    """Whether the analyzer scores this label (long enough, letters/digits/hyphens)."""
    return label is not None and len(label) >= min_length and re.fullmatch(r"[a-z0-9-]+", label) is not None


def read_pjabes(path: Path) -> Iterator[str]:
    """Domain names of a pjabes CSV (gzip; one column "domain")."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for row in csv.reader(f):
            if row and row[0] and row[0] != "domain":
                yield row[0].strip()


def read_andrewaeva(path: Path) -> Iterator[tuple[str, str, str]]:
    """(class, family, domain) rows of the andrewaeva CSV."""
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield row["class"], row["family"], row["domain"].strip()
