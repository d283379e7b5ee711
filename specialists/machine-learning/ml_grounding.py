"""Hold a model-written plan to what the task says and what the model store holds.

A small planning model often drops the name the user gave ("save it as churn_rf"), invents a
number of clusters or folds nobody asked for, or plans a new training when the user named a
saved model to use. The container knows the task's words and the saved models, so it corrects
exactly these three things before the plan runs, and says nothing else about the plan.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ground_plan", "needs_inline_values"]

# "save it as X", "call it X", "keep it as X", "name it X", "store as X"; French, Spanish, German
_NAME_GIVEN = re.compile(
    r"(?:\b(?:save|saved|keep|store|call|name|register)\b(?:\s+(?:it|this|that|the|model|them|one)){0,3}"
    r"\s+(?:as|under|to)?\s*|sous le nom(?: de)?\s+|\bcomme\s+|\bcomo\s+|\bals\s+|\bnamens\s+|\bnenne (?:es|ihn)\s+)"
    r"[\"'`]?([A-Za-z0-9][A-Za-z0-9_-]{0,63})",
    re.I,
)
_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "dix": 10,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "diez": 10,
    "zehn": 10,
}
# algorithms as people name them (English, French, Spanish, German): what the task says wins
_ALGORITHMS = (
    ("logistic_regression", r"logisti\w*"),
    (
        "linear_regression",
        r"linear (?:model|regression)|r[ée]gression lin[ée]aire|regresi[oó]n lineal|lineare? regression",
    ),
    ("ridge", r"ridge"),
    ("decision_tree", r"decision tree|tree model|arbre de d[ée]cision|[aá]rbol de decisi[oó]n|entscheidungsbaum"),
    ("random_forest", r"random forest|for[eê]t al[ée]atoire|bosque aleatorio|zufallswald"),
    ("gradient_boosting", r"gradient.?boost\w*"),
    ("knn", r"k.?nearest|nearest neighbou?rs?|\bknn\b|k-nn"),
    ("svm", r"\bsvm\b|support vector"),
    ("naive_bayes", r"naive.?bayes"),
    ("agglomerative", r"hierarchical|agglomerative|hi[ée]rarchique|jer[aá]rquic\w*|hierarchisch\w*"),
    ("kmeans", r"k.?means"),
)
_USES_MODEL = ("predict", "evaluate", "describe_model", "delete_model")
_SCORE_WORDS = re.compile(
    r"\b(accura\w*|score|r²|r2|r-squared|evaluat\w*|how well|précision|genauigkeit|precisión)", re.I
)
_TRAIN_WORDS = re.compile(
    r"\b((?:re)?train|fit|build|entra[iî]ne|entrena|trainier|lerne|cross.?valid|k.?fold)\w*", re.I
)


def _stated(number: int, text: str) -> bool:
    """Whether the task gives ``number`` (in digits or as a word)."""
    if re.search(rf"(?<![\d.]){number}(?![\d.])", text):
        return True
    return any(n == number and re.search(rf"\b{w}\b", text, re.I) for w, n in _WORDS.items())


_CLUSTER_WORDS = re.compile(
    r"\b(cluster\w*|group\w*|segment\w*|k.?means|unsupervised|natural\s+groups|similar|regroup\w*|grupp\w*|agrup\w*)",
    re.I,
)


def _named_column(text: str, columns: list[str]) -> str | None:
    """The one input column the task names as a word ("tells the species apart"), if exactly one."""
    named = [c for c in columns if c and re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text, re.I)]
    return named[0] if len(named) == 1 else None


# "predict the temperature on day 31", "estimate the rent of a 70 m² flat": values a plan cannot carry
_INLINE_PREDICTION = re.compile(
    r"\b(predict\w*|estimat\w*|forecast\w*|what would|how much would|pr[ée]di\w*|vorhers\w*|sch[äa]tz\w*)\b"
    r"[^.?!]{0,60}?(?<![\w.])\d+(?:[.,]\d+)?(?!\s*(?:-?\s*folds?\b|%|percent))",
    re.I,
)


def needs_inline_values(plan: dict[str, Any], text: str) -> bool:
    """Whether the task asks for a prediction at values it states, which no plan action can take."""
    return plan.get("action") in ("train", "cross_validate", "predict") and bool(_INLINE_PREDICTION.search(text))


def ground_plan(plan: dict[str, Any], text: str, saved: list[str], columns: list[str] | None = None) -> dict[str, Any]:
    """``plan`` corrected against the task ``text``, the ``saved`` model names and the input's ``columns``."""
    plan = dict(plan)
    target = _named_column(text, columns or [])
    if plan.get("action") == "cluster" and target is not None and not _CLUSTER_WORDS.search(text):
        # "which measurement tells the species apart": a named label column is learned, not clustered
        plan = {"action": "train", "target": target, **({"file": plan["file"]} if "file" in plan else {})}
    for key in ("k", "folds"):  # a number nobody asked for is the model's guess: let the specialist choose
        if key in plan and not _stated(int(plan[key]), text):
            del plan[key]
    mentioned = [name for name in saved if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I)]
    given = next((m.group(1) for m in _NAME_GIVEN.finditer(text) if m.group(1).lower() not in ("it", "a", "the")), None)
    action = plan.get("action")
    if (
        action in ("train", "cross_validate", "cluster")
        and len(mentioned) == 1
        and given is None
        and not _TRAIN_WORDS.search(text)
    ):
        # "classify these with churn_rf": a saved model named, no training asked for: use it
        action = "evaluate" if _SCORE_WORDS.search(text) else "predict"
        plan = {"action": action, "model_name": mentioned[0], **({"file": plan["file"]} if "file" in plan else {})}
    if action in _USES_MODEL and plan.get("model_name") not in saved and len(mentioned) == 1:
        plan["model_name"] = mentioned[0]
    named = [alg for alg, pattern in _ALGORITHMS if re.search(pattern, text, re.I)]
    if action in ("train", "cross_validate", "cluster") and len(named) == 1:
        clustering = named[0] in ("kmeans", "agglomerative")
        if clustering == (action == "cluster"):
            plan["algorithm"] = named[0]
    if action in ("train", "cluster") and given is not None:
        plan["model_name"] = given.lower()  # the user's name (retraining under it replaces that model)
    return plan
