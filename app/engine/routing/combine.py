"""How the fast router, what the files say and the routing model are combined into one route.

Three sources, one rule (the parameters are tuned by ``bench/routing.py --tune`` on
``tests/data/routing.jsonl`` only; see ``docs/routing.md``):

1. **Fast router** probabilities ``p`` over the catalogue ids and ``none``.
2. **File evidence**: an attached ``.db``/``.sqlite``/``.sql`` is strong evidence for the
   database specialist, ``.pkl``/``.joblib`` for machine learning, ``.html``/``.htm`` for web
   scraping, ``.py`` for code execution; ``.csv``/``.xlsx``/``.json`` weaker evidence for data
   analytics. Evidence is a log-prior, never an override: ``p'_k ∝ (p_k + ε) · exp(e_k)``, so
   explicit wording ("train a classifier on this csv") still wins over a weak prior. Any
   attachment also lowers ``none`` (people do not attach a file to ask for a joke). A file
   name mentioned in the text counts at ``mention`` × the attachment weight.
3. **Routing model**, asked only when the combined confidence is below ``threshold``: its
   answer adds ``llm_weight`` to that label's log-score, so it wins unless the other sources
   are much surer of something else (``exp(llm_weight)`` times).

Only ids present in the catalogue receive evidence, so a catalogue without (say) a database
specialist is unaffected by ``.sqlite`` files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

__all__ = [
    "DEFAULT_PARAMS",
    "EXTENSION_EVIDENCE",
    "PARAMS_BY_BACKEND",
    "STRONG",
    "WEAK",
    "CombineParams",
    "apply_evidence",
    "file_evidence",
    "mentioned_files",
    "with_model",
]

NONE = "none"
STRONG = "strong"
WEAK = "weak"

# Extension -> (specialist id, strength). Generic file-type knowledge, as a user would state it.
EXTENSION_EVIDENCE: dict[str, tuple[str, str]] = {
    ".db": ("database", STRONG),
    ".sqlite": ("database", STRONG),
    ".sqlite3": ("database", STRONG),
    ".sql": ("database", STRONG),
    ".pkl": ("machine-learning", STRONG),
    ".pickle": ("machine-learning", STRONG),
    ".joblib": ("machine-learning", STRONG),
    ".html": ("web-scraping", STRONG),
    ".htm": ("web-scraping", STRONG),
    ".py": ("code-execution", STRONG),
    ".csv": ("data-analytics", WEAK),
    ".tsv": ("data-analytics", WEAK),
    ".xlsx": ("data-analytics", WEAK),
    ".xlsm": ("data-analytics", WEAK),
    ".xls": ("data-analytics", WEAK),
    ".json": ("data-analytics", WEAK),
    ".jsonl": ("data-analytics", WEAK),
    ".ndjson": ("data-analytics", WEAK),
    ".parquet": ("data-analytics", WEAK),
}
_MENTION = re.compile(
    r"(?<![\w/.-])[\w-]+(" + "|".join(re.escape(e) for e in sorted(EXTENSION_EVIDENCE, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_SMOOTH = 0.01  # lets evidence lift a label the text gave ~0 (a files-only task with unknown words)


@dataclass(frozen=True)
class CombineParams:
    """Weights of the combination rule (log-space) and the model threshold.

    Attributes
    ----------
    strong, weak
        Log-prior added to a specialist for one attached file of a strong / weak type.
    mention
        Multiplier of those weights for a file name that is only mentioned in the text.
    none_with_files
        Log-penalty on ``none`` when anything is attached.
    threshold
        Combined confidence below which the routing model is asked.
    llm_weight
        Log-bonus of the model's answer.
    """

    strong: float = 2.0
    weak: float = 0.0
    mention: float = 0.0
    none_with_files: float = 3.0
    threshold: float = 0.85
    llm_weight: float = 2.0


# Tuned by `bench/routing.py --tune` on tests/data/routing.jsonl only (docs/routing.md), 2026-12-02:
# stage 1 (no model) chose strong 2, weak 0 (the fast router already learned what .csv means),
# mention 0, none_with_files 3; stage 2 with Qwen2.5-Coder-1.5B on llama.cpp chose threshold 0.85,
# weight 2 (tuning set 0.972 -> 0.989, 13.6 % of tasks ask the model).
DEFAULT_PARAMS = CombineParams(strong=2.0, weak=0.0, mention=0.0, none_with_files=3.0, threshold=0.85, llm_weight=2.0)
# Stage 2 with SmolLM2-135M on Ollama (right on 26 of the 53 unsure tuning cases): threshold 0.7,
# weight 1 (+1 case on the tuning set; measured with the earlier description-based prompt).
PARAMS_BY_BACKEND: dict[str, CombineParams] = {
    "llamacpp": DEFAULT_PARAMS,
    "ollama": CombineParams(strong=2.0, weak=0.0, mention=0.0, none_with_files=3.0, threshold=0.7, llm_weight=1.0),
}


def mentioned_files(text: str) -> list[str]:
    """File names with a known extension written in the text (URLs ignored)."""
    return [m.group(0) for m in _MENTION.finditer(_URL.sub(" ", text))]


def file_evidence(
    files: Sequence[str], text: str, labels: Collection[str], params: CombineParams = DEFAULT_PARAMS
) -> dict[str, float]:
    """Log-prior per label from attached and mentioned file types (empty when there is none).

    Each specialist counts a file type once (ten CSVs are no surer than one); attachments
    outrank mentions.
    """
    out: dict[str, float] = {}
    for names, scale in ((files, 1.0), (mentioned_files(text), params.mention)):
        for name in names:
            hit = EXTENSION_EVIDENCE.get(PurePath(name.strip()).suffix.lower())
            if hit is None or hit[0] not in labels:
                continue
            sid, strength = hit
            weight = scale * (params.strong if strength == STRONG else params.weak)
            if weight > 0:
                out[sid] = max(out.get(sid, 0.0), weight)
    if files and NONE in labels and params.none_with_files:
        out[NONE] = -params.none_with_files
    return out


def apply_evidence(probs: Mapping[str, float], evidence: Mapping[str, float]) -> dict[str, float]:
    """``p'_k ∝ (p_k + ε) exp(e_k)``; ``probs`` unchanged when there is no evidence."""
    if not evidence:
        return dict(probs)
    raw = {k: (p + _SMOOTH) * math.exp(evidence.get(k, 0.0)) for k, p in probs.items()}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


def with_model(probs: Mapping[str, float], model_route: str | None, llm_weight: float) -> str:
    """The label with the best log-score once the model's answer gets ``llm_weight``.

    ``model_route`` ``None`` (no answer) leaves the argmax of ``probs``. Ties go to the
    model's answer, then to the label order of ``probs``.
    """

    def score(label: str) -> tuple[float, int]:
        base = math.log(max(probs[label], 1e-9))
        return (base + (llm_weight if label == model_route else 0.0), int(label == model_route))

    return max(probs, key=score)
