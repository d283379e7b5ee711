"""Load a training or prediction table and build scikit-learn pipelines for it.

CSV parsing goes through the runtime's shared ``read_csv`` (encoding and delimiter sniffing,
row-width check naming the row), so a broken file gives the same ``bad_input`` message here
as in every other specialist.
"""

from __future__ import annotations

from typing import Any

from switchboard_runtime.api import InputFile, SpecialistError
from switchboard_runtime.files import check_input, read_csv

__all__ = [
    "CLASSIFIERS",
    "CLUSTERERS",
    "REGRESSORS",
    "load_frame",
    "make_estimator",
    "make_preprocessor",
    "split_features",
]

SEED = 0
CLASSIFIERS = (
    "random_forest",
    "logistic_regression",
    "decision_tree",
    "gradient_boosting",
    "knn",
    "svm",
    "naive_bayes",
)
REGRESSORS = ("random_forest", "linear_regression", "ridge", "decision_tree", "gradient_boosting", "knn", "svm")
CLUSTERERS = ("kmeans", "agglomerative")


def _bad(message: str) -> SpecialistError:
    return SpecialistError("bad_input", message)


def load_frame(item: InputFile) -> Any:
    """Read a CSV/TSV (or Parquet) input into a frame, converting numeric-looking columns."""
    import pandas as pd

    path = check_input(item, [".csv", ".tsv", ".txt", ".parquet"])
    if path.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow has no single error base class
            raise _bad(f"{item.name} is not a readable Parquet file: {exc}.") from exc
    data = read_csv(item)
    if not data.rows:
        raise _bad(f"{item.name} has a header but no data rows.")
    df = pd.DataFrame(data.rows, columns=data.columns)
    for col in df.columns:
        text = df[col].str.strip()
        blank = text.eq("")
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        if numbers.notna().sum() == (~blank).sum() and (~blank).any():
            df[col] = numbers
        else:
            df[col] = text.where(~blank)
    return df


def resolve(df: Any, name: str, what: str, file_name: str) -> str:
    """Find column ``name`` case-insensitively, or say which columns exist."""
    for col in df.columns:
        if str(col).strip().lower() == name.strip().lower():
            return str(col)
    raise _bad(f"{file_name} has no {what} column {name!r}; columns: {', '.join(map(str, df.columns))}.")


def split_features(
    df: Any, target: str | None, features: list[str] | None, file_name: str
) -> tuple[list[str], list[str], list[str]]:
    """Choose feature columns; returns ``(numeric, categorical, dropped)``.

    Free-text or identifier columns (non-numeric, mostly unique) are dropped unless named,
    because one-hot encoding them only memorises rows.
    """
    import pandas as pd

    if features:
        cols = [resolve(df, f, "feature", file_name) for f in features]
    else:
        cols = [c for c in df.columns if c != target]
    numeric, categorical, dropped = [], [], []
    for col in cols:
        series = df[col]
        if pd.api.types.is_numeric_dtype(series):
            numeric.append(col)
        elif not features and len(df) > 20 and series.nunique() > 0.5 * len(df):
            dropped.append(col)
        else:
            categorical.append(col)
    if not numeric and not categorical:
        raise _bad(f"{file_name} has no usable feature columns besides {target!r}.")
    return numeric, categorical, dropped


def make_preprocessor(numeric: list[str], categorical: list[str]) -> Any:
    """Impute, scale numbers and one-hot encode categories (unknown categories ignored)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        parts.append(
            (
                "cat",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                categorical,
            )
        )
    return ColumnTransformer(parts)


def make_estimator(task_type: str, algorithm: str, k: int = 3) -> Any:
    """The estimator for ``algorithm``; every random one is seeded so results repeat."""
    from sklearn import cluster, ensemble, linear_model, naive_bayes, neighbors, svm, tree

    if task_type == "classification":
        table = {
            "random_forest": lambda: ensemble.RandomForestClassifier(n_estimators=200, random_state=SEED),
            "logistic_regression": lambda: linear_model.LogisticRegression(max_iter=2000),
            "decision_tree": lambda: tree.DecisionTreeClassifier(random_state=SEED),
            "gradient_boosting": lambda: ensemble.GradientBoostingClassifier(random_state=SEED),
            "knn": lambda: neighbors.KNeighborsClassifier(),
            "svm": lambda: svm.SVC(random_state=SEED),
            "naive_bayes": lambda: naive_bayes.GaussianNB(),
        }
    elif task_type == "regression":
        table = {
            "random_forest": lambda: ensemble.RandomForestRegressor(n_estimators=200, random_state=SEED),
            "linear_regression": lambda: linear_model.LinearRegression(),
            "ridge": lambda: linear_model.Ridge(random_state=SEED),
            "decision_tree": lambda: tree.DecisionTreeRegressor(random_state=SEED),
            "gradient_boosting": lambda: ensemble.GradientBoostingRegressor(random_state=SEED),
            "knn": lambda: neighbors.KNeighborsRegressor(),
            "svm": lambda: svm.SVR(),
        }
    else:
        table = {
            "kmeans": lambda: cluster.KMeans(n_clusters=k, n_init=10, random_state=SEED),
            "agglomerative": lambda: cluster.AgglomerativeClustering(n_clusters=k),
        }
    if algorithm not in table:
        raise SpecialistError(
            "bad_input", f"{algorithm!r} is not available for {task_type}; use one of {', '.join(table)}."
        )
    return table[algorithm]()
