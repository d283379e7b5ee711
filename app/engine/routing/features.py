"""Text and file features shared by the routers.

Everything here is catalogue-agnostic: file extensions become tokens (``ext_sqlite``) whose
meaning the fast router *learns* from the manifests' ``accepted_inputs``; nothing maps an
extension to a specialist by hand. The injection check looks for generic steering phrases,
never for specialist ids.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Complexity",
    "estimate_complexity",
    "extract_features",
    "file_tokens",
    "looks_like_injection",
    "normalise",
    "word_tokens",
]

_WORD = re.compile(r"[a-z0-9]+(?:[._'][a-z0-9]+)*|[=<>*/^+%(){}\[\]$#|-]")
_SPACE = re.compile(r"\s+")
_STOP = frozenset(
    "a an the of to in on for and or with from by at as is are be this that these those it its "
    "me my i we our you your please can could would will do does".split()
)

# Generic phrases with which a text tries to steer a router or reveal its instructions.
_INJECTION = [
    r"\bignore (?:all |any |the )?(?:previous|prior|above|earlier|your|these|those)\b",
    r"\bdisregard (?:all |any |the )?(?:previous|prior|above|earlier|your)\b",
    r"\bforget (?:all |everything|your|previous)\b",
    r"\b(?:system|developer) (?:prompt|message|instructions?)\b",
    r"\byou are now\b",
    r"\bnew instructions?\b",
    r"\bact as (?:an? )?(?:admin|root|dan|jailbroken)\b",
    r"\b(?:route|send|forward|dispatch) (?:this |it |me )?(?:to|into) (?:the )?(?:host|root|admin|sudo|shell)\b",
    r"\bhost (?:shell|machine|system)\b",
    r"\bdocker\.sock\b|/var/run/docker",
    r"[\"']route[\"']\s*:",
    r"\bjailbreak\b",
    r"\boverride (?:the )?(?:router|routing|rules|policy)\b",
    r"\bignorez? (?:les|toutes les) instructions\b",
    r"\bignoriere (?:alle |die )?(?:vorherigen|bisherigen)\b",
    r"\bignora (?:las|todas las) instrucciones\b",
]
_INJECTION_RE = re.compile("|".join(_INJECTION))


def normalise(text: str) -> str:
    """Lower-case, strip accents and collapse whitespace, so 'Régression' matches 'regression'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", stripped.lower()).strip()


def word_tokens(norm: str) -> list[str]:
    """Words (keeping dotted names such as ``sales.csv``) and operator symbols, minus stop words."""
    return [t for t in _WORD.findall(norm) if t not in _STOP]


def file_tokens(files: list[str] | tuple[str, ...]) -> list[str]:
    """``ext_<suffix>`` tokens (last and double suffix) plus the stem's words.

    The router learns what each extension means from the manifests; a file name such as
    ``customers_2024.sqlite`` also contributes ``customers``.
    """
    out: list[str] = []
    for name in files:
        path = Path(name.strip())
        suffixes = [s.lower().lstrip(".") for s in path.suffixes if 1 < len(s) <= 8]
        if suffixes:
            out.append("ext_" + suffixes[-1])
            if len(suffixes) >= 2:
                out.append("ext_" + "".join(suffixes[-2:]).replace(".", ""))
        else:
            out.append("ext_none")
        stem = normalise(path.name.split(".")[0])
        out.extend(t for t in re.split(r"[^a-z0-9]+", stem) if len(t) > 2 and not t.isdigit())
    return out


def extract_features(text: str, files: list[str] | tuple[str, ...] = ()) -> dict[str, float]:
    """Sparse raw counts: word unigrams, bigrams, char 3-5 grams inside words, file tokens.

    Char n-grams carry morphology (``régressions``, ``Integral``) and some cross-language
    overlap; bigrams carry phrases ("linear regression"); prefixes keep the spaces apart.
    """
    norm = normalise(text)
    words = word_tokens(norm)
    feats: dict[str, float] = {}

    def add(key: str, weight: float = 1.0) -> None:
        feats[key] = feats.get(key, 0.0) + weight

    for w in words:
        add("w:" + w)
    for a, b in zip(words, words[1:], strict=False):
        add("b:" + a + "_" + b)
    for w in words:
        if len(w) < 3 or not w[0].isalpha():
            continue
        padded = f"<{w}>"
        for n in (3, 4, 5):
            for i in range(len(padded) - n + 1):
                add("c:" + padded[i : i + n], 0.5)
    for tok in file_tokens(files):
        # Extensions are strong evidence: counted twice so a files-only task is never empty.
        add("f:" + tok, 2.0 if tok.startswith("ext_") else 1.0)
    return feats


def looks_like_injection(text: str) -> bool:
    """True when the text tries to steer the router rather than describe a task."""
    return bool(_INJECTION_RE.search(normalise(text)))


@dataclass(frozen=True)
class Complexity:
    """A rough size of the task: scales the timeout and says whether to reserve more memory."""

    level: str  # low | medium | high
    timeout_factor: float
    reason: str


def estimate_complexity(text: str, file_sizes: list[int] | tuple[int, ...] = ()) -> Complexity:
    """Estimate from the text length, the number and total size of inputs and a few cues.

    Why: a 2 GB CSV or a "train a model" request needs a longer timeout than "2+2"; the
    dispatcher multiplies the specialist's timeout by ``timeout_factor``.
    """
    norm = normalise(text)
    total = sum(max(0, s) for s in file_sizes)
    score = 0
    reasons = []
    if len(norm) > 400:
        score += 1
        reasons.append("long text")
    if len(file_sizes) > 3:
        score += 1
        reasons.append(f"{len(file_sizes)} files")
    if total > 50 * 1024 * 1024:
        score += 2
        reasons.append(f"{total / 1048576:.0f} MB of input")
    elif total > 5 * 1024 * 1024:
        score += 1
        reasons.append(f"{total / 1048576:.0f} MB of input")
    if re.search(r"\b(train|fit|cross.?validat|grid search|crawl|every page|all pages|simulat|monte carlo)", norm):
        score += 1
        reasons.append("iterative work")
    if score >= 3:
        return Complexity("high", 3.0, ", ".join(reasons))
    if score >= 1:
        return Complexity("medium", 1.5, ", ".join(reasons))
    return Complexity("low", 1.0, "short text, small inputs")
