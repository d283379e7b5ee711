"""Regenerate the golden input files (needs numpy, pandas and scikit-learn).

Iris comes from scikit-learn's bundled copy (Fisher 1936, public domain); the housing and blob
tables are synthetic with fixed seeds, so every run writes identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris, make_blobs

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Write every golden input next to this script."""
    iris = load_iris(as_frame=True)
    df = iris.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    df["species"] = [iris.target_names[t] for t in df.pop("target")]
    df.to_csv(HERE / "iris.csv", index=False)
    new = pd.DataFrame([[5.1, 3.5, 1.4, 0.2], [5.9, 2.8, 4.3, 1.3], [6.7, 3.0, 5.6, 2.3]], columns=df.columns[:4])
    new.to_csv(HERE / "iris_new.csv", index=False)

    rng = np.random.default_rng(42)
    n = 200
    size = rng.uniform(40, 200, n).round(1)
    age = rng.integers(0, 60, n)
    district = rng.choice(["north", "south", "centre"], n)
    bonus = pd.Series(district).map({"centre": 50_000, "north": 10_000, "south": 0}).to_numpy()
    price = (3000 * size - 500 * age + bonus + rng.normal(0, 10_000, n)).round(0)
    house = pd.DataFrame({"size_m2": size, "age": age, "district": district, "price": price})
    house.to_csv(HERE / "housing.csv", index=False)
    house.drop(columns="price").head(3).to_csv(HERE / "housing_new.csv", index=False)

    points, _ = make_blobs(n_samples=120, centers=[[0, 0], [10, 10], [0, 10]], cluster_std=1.0, random_state=7)
    pd.DataFrame(points.round(4), columns=["x", "y"]).to_csv(HERE / "blobs.csv", index=False)
    (HERE / "ragged.csv").write_text("a,b,target\n1,2,x\n3,4\n", encoding="utf-8")


if __name__ == "__main__":
    main()
