"""Parse machine-learning commands into the plan shape of ``plan_schema.json``.

Commands (case-insensitive; words in brackets are optional)::

    train [classifier|regressor] [ALGORITHM] on FILE target COL [features A, B] [save as NAME]
    cross-validate [ALGORITHM] on FILE target COL [folds N]
    cluster FILE [with kmeans|agglomerative] [k=N | into N clusters] [features A, B] [save as NAME]
    predict with model NAME on FILE
    evaluate model NAME on FILE
    list models  |  describe model NAME  |  delete model NAME

The parser removes every token it understands; if words are left over, the text is natural
language and the handler raises :class:`NeedsPlan` instead of guessing.
"""

from __future__ import annotations

import re
from typing import Any

from switchboard_runtime.api import NeedsPlan

__all__ = ["ACTIONS", "ALGORITHMS", "parse_text"]

ACTIONS = ("train", "cross_validate", "cluster", "predict", "evaluate", "list_models", "describe_model", "delete_model")
ALGORITHMS = {
    "random_forest": ("random forest", "random_forest", "rf", "forest"),
    "logistic_regression": ("logistic regression", "logistic_regression", "logistic", "logreg"),
    "linear_regression": ("linear regression", "linear_regression", "linear", "ols"),
    "ridge": ("ridge",),
    "decision_tree": ("decision tree", "decision_tree", "tree"),
    "gradient_boosting": ("gradient boosting", "gradient_boosting", "gbm", "boosting"),
    "knn": ("k-nearest neighbours", "k-nearest neighbors", "nearest neighbours", "knn"),
    "svm": ("svm", "svc", "svr", "support vector machine"),
    "naive_bayes": ("naive bayes", "naive_bayes", "nb"),
    "kmeans": ("k-means", "kmeans"),
    "agglomerative": ("agglomerative", "hierarchical"),
}
_FILLER = {
    "a",
    "an",
    "the",
    "on",
    "with",
    "using",
    "model",
    "data",
    "file",
    "for",
    "and",
    "in",
    "into",
    "from",
    "to",
    "of",
    "by",
    "algorithm",
    "dataset",
    "it",
    "me",
}
_NAME = r"([A-Za-z0-9][A-Za-z0-9_-]{0,63})"
_FILE = r"([\w.-]+\.(?:csv|tsv|txt|parquet))"


def _take(text: str, pattern: str) -> tuple[str, re.Match[str] | None]:
    """Find ``pattern`` once, returning the text with it removed and the match."""
    m = re.search(pattern, text, re.I)
    if not m:
        return text, None
    return text[: m.start()] + " " + text[m.end() :], m


def _columns(raw: str) -> list[str]:
    return [c.strip().strip("'\"`") for c in re.split(r"\s*,\s*|\s+and\s+", raw.strip()) if c.strip()]


def parse_text(text: str) -> dict[str, Any]:
    """Return a plan dict for a typed command or raise :class:`NeedsPlan`."""
    rest = " " + text.strip().rstrip(".") + " "
    plan: dict[str, Any] = {}
    action_patterns = [
        (r"^\s*(?:list|show)\s+(?:all\s+|saved\s+)?models\b", "list_models"),
        (r"^\s*(?:describe|show|inspect)(?=\s+model\b)", "describe_model"),
        (r"^\s*(?:delete|remove|drop)(?=\s+model\b)", "delete_model"),
        (r"^\s*(?:cross-validate|cross validate|crossvalidate|cv)\b", "cross_validate"),
        (r"^\s*(?:evaluate|score|test)\b", "evaluate"),
        (r"^\s*predict\b", "predict"),
        (r"^\s*(?:cluster|clustering)\b", "cluster"),
        (r"^\s*(?:train|fit)\b", "train"),
    ]
    for pattern, action in action_patterns:
        rest, m = _take(rest, pattern)
        if m:
            plan["action"] = action
            break
    else:
        raise NeedsPlan(
            "The text does not start with a machine-learning command "
            "(train, cross-validate, cluster, predict, evaluate, list models)."
        )
    rest, m = _take(rest, rf"\b(?:save|saved|store)\s+(?:it\s+)?as\s+{_NAME}\b|\bnamed?\s+{_NAME}\b")
    if m:
        plan["model_name"] = m.group(1) or m.group(2)
    rest, m = _take(rest, rf"(?:\b(?:on|from|using|with|in)\s+)?{_FILE}")
    if m:
        plan["file"] = m.group(1)
    if plan["action"] in ("predict", "evaluate", "describe_model", "delete_model"):
        rest, m = _take(rest, rf"\bmodel\s+{_NAME}(?![\w.-])")
        if not m and plan["action"] in ("predict", "evaluate"):
            rest, m = _take(rest, rf"\b(?:with|using)\s+{_NAME}(?![\w.-])")
        if m:
            plan["model_name"] = m.group(1)
    rest, m = _take(
        rest,
        r"\b(?:target|label|predicting|to predict)\s*(?:column\s*)?[=:]?\s*"
        r"(\"[^\"]+\"|'[^']+'|[\w.-]+)",
    )
    if m:
        plan["target"] = m.group(1).strip("'\"")
    rest, m = _take(rest, r"\b(?:features|columns)\s*[=:]?\s*((?:[\w.-]+\s*,\s*)*[\w.-]+)")
    if m:
        plan["features"] = _columns(m.group(1))
    rest, m = _take(rest, r"\b(?:folds|cv)\s*[=:]?\s*(\d+)\b|\b(\d+)[- ]fold\b")
    if m:
        plan["folds"] = int(m.group(1) or m.group(2))
    rest, m = _take(rest, r"\bk\s*=\s*(\d+)\b|\b(\d+)\s+clusters\b")
    if m:
        plan["k"] = int(m.group(1) or m.group(2))
    for name, aliases in ALGORITHMS.items():
        for alias in sorted(aliases, key=len, reverse=True):
            rest, m = _take(rest, rf"(?<![\w-]){re.escape(alias)}(?![\w-])")
            if m:
                plan["algorithm"] = name
                break
        if "algorithm" in plan:
            break
    rest, m = _take(rest, r"\b(classifier|classification|classify|regressor|regression)\b")
    if m:
        plan["task_type"] = "classification" if m.group(1).lower().startswith("class") else "regression"
    leftover = [w for w in re.findall(r"[\w'-]+", rest.lower()) if w not in _FILLER]
    if leftover:
        raise NeedsPlan(
            f"Could not read {' '.join(leftover)!r} as part of a machine-learning command; a plan is needed."
        )
    if plan["action"] in ("train", "cross_validate") and "target" not in plan:
        raise NeedsPlan("Training needs 'target COLUMN'; a plan is needed.")
    return plan
