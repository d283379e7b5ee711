"""The machine-learning actions: train, cross-validate, evaluate, predict, cluster, manage models.

Each returns a :class:`Result` whose ``data`` holds the metrics (``value`` = the headline
metric, so golden ``number`` checks can read it) and whose tables hold metrics, importances,
predictions or cluster profiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml_data import (
    CLASSIFIERS,
    CLUSTERERS,
    REGRESSORS,
    SEED,
    load_frame,
    make_estimator,
    make_preprocessor,
    resolve,
    split_features,
)
from ml_store import delete_model, list_models, load_model, model_name, save_model
from switchboard_runtime.api import InputFile, Result, SpecialistError, Table
from switchboard_runtime.exports import safe_cell

__all__ = ["run_action"]


def _bad(message: str) -> SpecialistError:
    return SpecialistError("bad_input", message)


def _input(inputs: list[InputFile], wanted: str | None) -> InputFile:
    if not inputs:
        raise _bad("No data file attached; drop a CSV with the task.")
    if wanted:
        for item in inputs:
            if item.name.lower() == wanted.lower():
                return item
        raise _bad(f"{wanted} is not attached; attached: {', '.join(i.name for i in inputs)}.")
    return inputs[0]


def _task_type(y: Any, requested: str | None) -> str:
    """Classification for text or few distinct whole-number labels, else regression."""
    import pandas as pd

    if requested in ("classification", "regression"):
        return requested
    if not pd.api.types.is_numeric_dtype(y):
        return "classification"
    whole = bool((y.dropna() % 1 == 0).all())
    return "classification" if whole and y.nunique() <= min(15, max(2, len(y) // 5)) else "regression"


def _metrics(task_type: str, y_true: Any, y_pred: Any) -> dict[str, float]:
    from sklearn import metrics

    if task_type == "classification":
        return {
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro")),
        }
    return {
        "r2": float(metrics.r2_score(y_true, y_pred)),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        "rmse": float(metrics.root_mean_squared_error(y_true, y_pred)),
    }


def _prepare(plan: dict[str, Any], inputs: list[InputFile]) -> dict[str, Any]:
    """Load the file, pick target, features, task type and algorithm, build the pipeline."""
    from sklearn.pipeline import Pipeline

    item = _input(inputs, plan.get("file"))
    df = load_frame(item)
    target = resolve(df, str(plan.get("target") or ""), "target", item.name)
    df = df[df[target].notna()]
    numeric, categorical, dropped = split_features(df, target, plan.get("features"), item.name)
    task_type = _task_type(df[target], plan.get("task_type"))
    algorithm = plan.get("algorithm") or "random_forest"
    if algorithm == "linear_regression" and task_type == "classification":
        algorithm = "logistic_regression"
    if algorithm == "logistic_regression" and task_type == "regression":
        algorithm = "linear_regression"
    pipe = Pipeline(
        [("prep", make_preprocessor(numeric, categorical)), ("model", make_estimator(task_type, algorithm))]
    )
    return {
        "item": item,
        "df": df,
        "X": df[numeric + categorical],
        "y": df[target],
        "target": target,
        "numeric": numeric,
        "categorical": categorical,
        "dropped": dropped,
        "task_type": task_type,
        "algorithm": algorithm,
        "pipe": pipe,
    }


def _folds(y: Any, task_type: str, wanted: int | None) -> Any:
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = int(wanted or 5)
    if task_type == "classification":
        folds = min(folds, int(y.value_counts().min()))
        if folds < 2:
            raise _bad(
                f"Every class needs at least 2 rows for cross-validation; class counts: {y.value_counts().to_dict()}."
            )
        return StratifiedKFold(folds, shuffle=True, random_state=SEED)
    folds = min(folds, len(y))
    if folds < 2:
        raise _bad("Cross-validation needs at least 2 rows.")
    return KFold(folds, shuffle=True, random_state=SEED)


def _cross_validate(p: dict[str, Any], folds: int | None) -> tuple[str, list[float]]:
    from sklearn.model_selection import cross_val_score

    scoring = "accuracy" if p["task_type"] == "classification" else "r2"
    scores = cross_val_score(p["pipe"], p["X"], p["y"], scoring=scoring, cv=_folds(p["y"], p["task_type"], folds))
    return scoring, [float(s) for s in scores]


def _importances(pipe: Any) -> list[tuple[str, float]]:
    """Each input feature's share of the model's importance, largest first.

    Trees give ``feature_importances_``; linear models give coefficients on standardised
    numbers, whose sizes compare (averaged over classes). One-hot columns of a categorical
    feature add up to that feature, so a feature is ranked as the user named it.
    """
    model = pipe.named_steps["model"]
    if hasattr(model, "feature_importances_"):
        raw = [float(v) for v in model.feature_importances_]
    elif hasattr(model, "coef_"):
        import numpy as np

        coef = np.abs(np.atleast_2d(model.coef_))
        raw = [float(v) for v in coef.mean(axis=0)]
    else:
        return []
    names = [str(n).split("__", 1)[-1] for n in pipe.named_steps["prep"].get_feature_names_out()]
    if len(names) != len(raw):
        return []
    sources = (
        pipe.named_steps["prep"].feature_names_in_ if hasattr(pipe.named_steps["prep"], "feature_names_in_") else []
    )
    totals: dict[str, float] = {}
    for name, value in zip(names, raw, strict=True):
        owner = next((str(c) for c in sources if name == str(c) or name.startswith(f"{c}_")), name)
        totals[owner] = totals.get(owner, 0.0) + value
    whole = sum(totals.values()) or 1.0
    return sorted(((n, v / whole) for n, v in totals.items()), key=lambda t: -t[1])


def train(plan: dict[str, Any], inputs: list[InputFile], data_dir: Path) -> Result:
    """Hold-out evaluation, k-fold CV, then refit on all rows and save under a name."""
    from sklearn.model_selection import train_test_split

    p = _prepare(plan, inputs)
    if len(p["df"]) < 8:
        raise _bad(f"{p['item'].name} has {len(p['df'])} labelled rows; at least 8 are needed.")
    stratify = p["y"] if (p["task_type"] == "classification" and p["y"].value_counts().min() >= 2) else None
    x_tr, x_te, y_tr, y_te = train_test_split(p["X"], p["y"], test_size=0.25, random_state=SEED, stratify=stratify)
    p["pipe"].fit(x_tr, y_tr)
    holdout = _metrics(p["task_type"], y_te, p["pipe"].predict(x_te))
    scoring, scores = _cross_validate(p, plan.get("folds"))
    p["pipe"].fit(p["X"], p["y"])
    default = f"{Path(p['item'].name).stem}_{p['algorithm']}"
    name = model_name(plan.get("model_name") or default[:64].lower().replace(".", "_"))
    cv = {"scoring": scoring, "mean": sum(scores) / len(scores), "scores": scores}
    meta = {
        "kind": p["task_type"],
        "algorithm": p["algorithm"],
        "target": p["target"],
        "features": p["numeric"] + p["categorical"],
        "numeric": p["numeric"],
        "categorical": p["categorical"],
        "rows": len(p["df"]),
        "metrics": holdout,
        "cv": cv,
        "trained_on": p["item"].name,
    }
    model = p["pipe"].named_steps["model"]
    if hasattr(model, "classes_"):
        meta["classes"] = [str(c) for c in model.classes_]
    replaced = save_model(data_dir, name, p["pipe"], meta)
    headline = next(iter(holdout))
    tables = [
        Table(
            "metrics",
            ["metric", "value"],
            [[k, round(v, 6)] for k, v in holdout.items()] + [[f"cv_{scoring}_mean", round(cv["mean"], 6)]],
        )
    ]
    pairs = _importances(p["pipe"])
    if pairs:
        tables.append(
            Table(
                "feature_importance",
                ["feature", "importance"],
                [[n, round(v, 6)] for n, v in pairs[:20]],
            )
        )
    answer = (
        f"Trained {p['algorithm']} {p['task_type']} '{name}' on {len(p['df'])} rows "
        f"({len(meta['features'])} features) to predict {p['target']}: hold-out "
        f"{headline} {holdout[headline]:.3f}, {len(scores)}-fold CV {scoring} "
        f"{cv['mean']:.3f}. {'Replaced' if replaced else 'Saved'} as model {name}."
    )
    if pairs:
        answer += " Most important features: " + ", ".join(f"{n} ({v:.2f})" for n, v in pairs[:3]) + "."
    if p["dropped"]:
        answer += f" Ignored identifier-like columns: {', '.join(p['dropped'])}."
    return Result(
        answer=answer,
        tables=tables,
        data={
            "value": holdout[headline],
            "metrics": holdout,
            "cv": cv,
            "model_name": name,
            "task_type": p["task_type"],
            "algorithm": p["algorithm"],
            "rows": len(p["df"]),
        },
        operation_kind="scikit-learn",
        operation_text=f"{p['pipe']!r}\ntrain_test_split(test_size=0.25, random_state={SEED}); "
        f"cross_val_score(cv={len(scores)}, scoring={scoring!r}); "
        f"joblib.dump -> /data/models/{name}.joblib",
    )


def cross_validate(plan: dict[str, Any], inputs: list[InputFile]) -> Result:
    """K-fold cross-validation only; nothing is saved."""
    p = _prepare(plan, inputs)
    scoring, scores = _cross_validate(p, plan.get("folds"))
    mean = sum(scores) / len(scores)
    std = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
    return Result(
        answer=f"{len(scores)}-fold cross-validation of {p['algorithm']} ({p['task_type']}) "
        f"predicting {p['target']}: {scoring} {mean:.3f} ± {std:.3f}.",
        data={
            "value": mean,
            "std": std,
            "scores": scores,
            "scoring": scoring,
            "algorithm": p["algorithm"],
            "task_type": p["task_type"],
        },
        tables=[Table("folds", ["fold", scoring], [[i + 1, round(s, 6)] for i, s in enumerate(scores)])],
        operation_kind="scikit-learn",
        operation_text=f"cross_val_score({p['pipe']!r}, cv={len(scores)}, scoring={scoring!r})",
    )


def _model_frame(plan: dict[str, Any], inputs: list[InputFile], data_dir: Path) -> tuple[Any, ...]:
    if not plan.get("model_name"):
        raise _bad("Name the model: 'predict with model NAME on FILE'.")
    pipe, meta = load_model(data_dir, plan["model_name"])
    item = _input(inputs, plan.get("file"))
    df = load_frame(item)
    cols = {str(c).lower(): str(c) for c in df.columns}
    missing = [f for f in meta.get("features", []) if f.lower() not in cols]
    if missing:
        raise _bad(
            f"{item.name} lacks the feature columns model {meta['name']!r} was trained on: {', '.join(missing)}."
        )
    df = df.rename(columns={cols[f.lower()]: f for f in meta.get("features", [])})
    return pipe, meta, item, df


def predict(plan: dict[str, Any], inputs: list[InputFile], data_dir: Path, out_dir: Path) -> Result:
    """Predict every row of a file with a saved model; also writes ``predictions.csv``."""
    pipe, meta, item, df = _model_frame(plan, inputs, data_dir)
    features = meta.get("features") or list(df.columns)
    preds = pipe.predict(df[features])
    out = df.copy()
    out["prediction"] = preds
    out_dir.mkdir(parents=True, exist_ok=True)
    exported = out.copy()  # what a spreadsheet opens: text cells that would run as formulas are quoted
    exported.columns = [safe_cell(str(c)) for c in exported.columns]
    for column in exported.columns:
        if exported[column].dtype == object:
            exported[column] = exported[column].map(safe_cell)
    exported.to_csv(out_dir / "predictions.csv", index=False)
    shown = out[features[:8] + ["prediction"]]
    values = [p.item() if hasattr(p, "item") else p for p in preds]
    counts = out["prediction"].value_counts().to_dict() if meta.get("kind") != "regression" else {}
    answer = f"Predicted {meta.get('target', 'cluster')} for {len(out)} rows of {item.name} with model {meta['name']}"
    answer += (": " + ", ".join(f"{k} x{v}" for k, v in counts.items())) if counts else "."
    return Result(
        answer=answer,
        data={"value": len(out), "predictions": values, "items": sorted({str(v) for v in values})},
        tables=[
            Table(
                "predictions",
                [str(c) for c in shown.columns],
                shown.astype(object).where(shown.notna(), None).values.tolist(),
            )
        ],
        artifacts=[out_dir / "predictions.csv"],
        operation_kind="scikit-learn",
        operation_text=f"joblib.load('/data/models/{meta['name']}.joblib').predict(df)",
    )


def evaluate(plan: dict[str, Any], inputs: list[InputFile], data_dir: Path) -> Result:
    """Score a saved supervised model on a labelled file."""
    pipe, meta, item, df = _model_frame(plan, inputs, data_dir)
    if meta.get("kind") not in ("classification", "regression"):
        raise _bad(f"Model {meta['name']!r} is a {meta.get('kind')} model; only supervised models can be evaluated.")
    target = resolve(df, meta["target"], "target", item.name)
    df = df[df[target].notna()]
    scores = _metrics(meta["kind"], df[target], pipe.predict(df[meta["features"]]))
    headline = next(iter(scores))
    return Result(
        answer=f"Model {meta['name']} on {item.name} ({len(df)} rows): "
        + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
        + ".",
        data={"value": scores[headline], "metrics": scores, "rows": len(df)},
        tables=[Table("metrics", ["metric", "value"], [[k, round(v, 6)] for k, v in scores.items()])],
        operation_kind="scikit-learn",
        operation_text=f"{headline} of model {meta['name']} on {item.name}",
    )


def cluster(plan: dict[str, Any], inputs: list[InputFile], data_dir: Path) -> Result:
    """K-means or agglomerative clustering with a silhouette score and cluster profiles."""
    from sklearn.metrics import silhouette_score
    from sklearn.pipeline import Pipeline

    item = _input(inputs, plan.get("file"))
    df = load_frame(item)
    numeric, categorical, dropped = split_features(df, None, plan.get("features"), item.name)
    algorithm = plan.get("algorithm") or "kmeans"
    if algorithm not in CLUSTERERS:
        raise _bad(f"{algorithm!r} is not a clustering algorithm; use {', '.join(CLUSTERERS)}.")
    if len(df) < 3:
        raise _bad(f"clustering needs at least 3 rows; {item.name} has {len(df)}.")

    def fit(k: int) -> tuple[Any, Any, float]:
        pipe = Pipeline(
            [("prep", make_preprocessor(numeric, categorical)), ("model", make_estimator("clustering", algorithm, k))]
        )
        labels = pipe.fit_predict(df[numeric + categorical])
        return (
            pipe,
            labels,
            float(silhouette_score(pipe.named_steps["prep"].transform(df[numeric + categorical]), labels)),
        )

    if plan.get("k"):
        k = int(plan["k"])
        if not 2 <= k <= min(50, len(df) - 1):
            raise _bad(f"k must be between 2 and {min(50, len(df) - 1)} for {len(df)} rows, got {k}.")
        pipe, labels, score = fit(k)
        how = ""
    else:  # no number of groups asked: the k from 2 to 8 with the best silhouette
        fits = {k: fit(k) for k in range(2, min(8, len(df) - 1) + 1)}
        k = max(fits, key=lambda n: fits[n][2])
        pipe, labels, score = fits[k]
        how = f" (k chosen by the best silhouette over 2 to {max(fits)})"
    profile = df[numeric].assign(cluster=labels).groupby("cluster").mean().round(4)
    sizes = df.assign(cluster=labels).groupby("cluster").size()
    rows = [[int(c), int(sizes[c])] + [float(v) for v in profile.loc[c]] for c in sizes.index]
    data = {
        "value": k,  # the headline: how many groups ("how many segments are there?")
        "silhouette": score,
        "k": k,
        "sizes": [int(s) for s in sizes],
        "items": [str(int(s)) for s in sorted(sizes)],
    }
    answer = (
        f"{algorithm} found {k} clusters{how} in {len(df)} rows of {item.name} (sizes "
        f"{', '.join(str(int(s)) for s in sizes)}); silhouette {score:.3f}."
    )
    if plan.get("model_name") and algorithm == "kmeans":
        name = model_name(plan["model_name"])
        save_model(
            data_dir,
            name,
            pipe,
            {
                "kind": "clustering",
                "algorithm": algorithm,
                "k": k,
                "features": numeric + categorical,
                "rows": len(df),
                "metrics": {"silhouette": score},
                "trained_on": item.name,
            },
        )
        data["model_name"] = name
        answer += f" Saved as model {name}."
    return Result(
        answer=answer,
        data=data,
        tables=[Table("clusters", ["cluster", "size"] + numeric, rows)],
        operation_kind="scikit-learn",
        operation_text=f"{pipe!r}.fit_predict(X)",
    )


def run_action(plan: dict[str, Any], inputs: list[InputFile], data_dir: Path, out_dir: Path) -> Result:
    """Dispatch a validated plan to its action."""
    action = plan["action"]
    algorithm = plan.get("algorithm")
    if algorithm and algorithm not in set(CLASSIFIERS) | set(REGRESSORS) | set(CLUSTERERS):
        raise _bad(f"Unknown algorithm {algorithm!r}.")
    if action == "train":
        return train(plan, inputs, data_dir)
    if action == "cross_validate":
        return cross_validate(plan, inputs)
    if action == "predict":
        return predict(plan, inputs, data_dir, out_dir)
    if action == "evaluate":
        return evaluate(plan, inputs, data_dir)
    if action == "cluster":
        return cluster(plan, inputs, data_dir)
    if action == "list_models":
        models = list_models(data_dir)
        rows = [
            [m.get("name"), m.get("kind"), m.get("algorithm"), m.get("target"), m.get("rows"), m.get("created")]
            for m in models
        ]
        return Result(
            answer=f"{len(models)} saved models" + (": " if models else ".") + ", ".join(str(r[0]) for r in rows),
            data={"items": [str(r[0]) for r in rows], "value": len(models)},
            tables=[Table("models", ["name", "kind", "algorithm", "target", "rows", "created"], rows)],
            operation_kind="models",
            operation_text="ls /data/models",
        )
    if action == "describe_model":
        _, meta = load_model(data_dir, str(plan.get("model_name") or ""))
        return Result(
            answer=f"Model {meta['name']}: {meta.get('algorithm')} {meta.get('kind')}"
            f" on {meta.get('rows')} rows, metrics {meta.get('metrics')}.",
            data=meta,
            operation_kind="models",
            operation_text=f"cat /data/models/{meta['name']}.json",
        )
    delete_model(data_dir, str(plan.get("model_name") or ""))
    return Result(
        answer=f"Deleted model {plan.get('model_name')}.",
        data={"deleted": plan.get("model_name")},
        operation_kind="models",
        operation_text=f"rm /data/models/{plan.get('model_name')}.*",
    )
