"""A model-written machine-learning plan is held to the task's words and the saved models."""

from __future__ import annotations

import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[2] / "specialists" / "machine-learning"
if str(FOLDER) not in sys.path:
    sys.path.insert(0, str(FOLDER))

from ml_grounding import ground_plan  # noqa: E402


def test_the_name_the_user_gave_is_the_name_saved() -> None:
    plan = {"action": "train", "target": "fruit", "model_name": "fruit_rf"}
    assert (
        ground_plan(plan, "Train a classifier on fruit.csv and save it as nat_fruit.", [])["model_name"] == "nat_fruit"
    )
    assert ground_plan(plan, "entrena un árbol y guárdalo como churn_tree", [])["model_name"] == "churn_tree"
    assert ground_plan(plan, "Entraîne une régression et garde-la sous le nom flats_lr", [])["model_name"] == "flats_lr"
    assert ground_plan(plan, "train a forest on fruit.csv", [])["model_name"] == "fruit_rf"  # none given: kept


def test_numbers_nobody_asked_for_are_dropped() -> None:
    plan = {"action": "cluster", "k": 4, "folds": 5}
    assert ground_plan(plan, "how many natural groups are in points.csv?", []) == {"action": "cluster"}
    assert ground_plan(plan, "segment the shoppers into four groups", [])["k"] == 4
    assert ground_plan({"action": "cross_validate", "target": "y", "folds": 10}, "use 10 folds", [])["folds"] == 10


def test_a_named_saved_model_is_used_rather_than_trained_again() -> None:
    saved = ["nat_fruit", "churn_rf"]
    plan = {"action": "train", "target": "fruit", "k": 4}
    assert ground_plan(plan, "Classify the fruit in batch.csv with nat_fruit, please.", saved) == {
        "action": "predict",
        "model_name": "nat_fruit",
    }
    assert ground_plan(plan, "How accurate is nat_fruit on test.csv?", saved)["action"] == "evaluate"
    wrong = {"action": "predict", "model_name": "fruit_model"}
    assert ground_plan(wrong, "what fruit is this? use my nat_fruit model", saved)["model_name"] == "nat_fruit"
    retrain = {"action": "train", "target": "fruit"}
    assert ground_plan(retrain, "retrain nat_fruit on the new fruit.csv", saved)["action"] == "train"


def test_the_algorithm_the_task_names_is_the_one_used() -> None:
    plan = {"action": "train", "target": "price_k", "algorithm": "random_forest"}
    assert ground_plan(plan, "Entraîne une régression linéaire sur flats.csv", [])["algorithm"] == "linear_regression"
    assert ground_plan(plan, "Entrena un árbol de decisión con churn.csv", [])["algorithm"] == "decision_tree"
    assert ground_plan(plan, "train something on flats.csv", [])["algorithm"] == "random_forest"  # none named
    cluster = {"action": "cluster", "algorithm": "kmeans", "k": 3}
    assert ground_plan(cluster, "hierarchical clustering into 3 groups", [])["algorithm"] == "agglomerative"


def test_a_named_label_column_is_learned_not_clustered() -> None:
    columns = ["height_cm", "leaf_width_cm", "sun_hours", "species"]
    clustered = {"action": "cluster", "file": "plants.csv"}
    text = "In plants.csv, which measurement tells the species apart best?"
    assert ground_plan(clustered, text, [], columns) == {"action": "train", "target": "species", "file": "plants.csv"}
    asked = "group the plants in plants.csv into natural clusters; do they match the species?"
    assert ground_plan(clustered, asked, [], columns)["action"] == "cluster", "clustering asked for stays"
    assert ground_plan(clustered, "which measurement matters most?", [], columns)["action"] == "cluster"


def test_a_prediction_at_stated_values_is_not_a_plan() -> None:
    from ml_grounding import needs_inline_values

    train = {"action": "train", "target": "temp_c"}
    assert needs_inline_values(train, "Fit a linear trend to spring_temps.csv and predict the temperature on day 31.")
    assert needs_inline_values(train, "estimate the rent of a 70 m² flat with 2 rooms using rents.csv")
    assert not needs_inline_values(train, "train a model to predict churn with 5-fold cross-validation")
    assert not needs_inline_values(train, "predict churned for the customers in churn_new.csv")
    assert not needs_inline_values({"action": "cluster"}, "predict 3 groups")
