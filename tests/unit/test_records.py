"""ProjectSettings: the typed view of a project's stored settings."""

from __future__ import annotations

from labelling import Project, ProjectSettings


def test_stored_settings_read_typed():
    stored = {
        "display": "table",
        "table_columns": ["sepal", "petal"],
        "feature_columns": ["sepal"],
        "label_column": "species",
        "gold_rate": 0.05,
        "training": {"model": "forest"},
        "source": "iris.csv",  # a key the class does not name is kept in the stored dict, not lost
    }
    project = Project(1, "iris", ("a", "b"), False, 1, "", settings=stored)
    assert project.options == ProjectSettings(
        display="table",
        table_columns=("sepal", "petal"),
        feature_columns=("sepal",),
        label_column="species",
        gold_rate=0.05,
        training={"model": "forest"},
    )
    assert project.options.shown_columns == ["sepal", "petal"]
    assert project.settings["source"] == "iris.csv"


def test_values_of_the_wrong_type_read_as_unset():
    odd = {"display": 3, "text_column": "", "table_columns": "a,b", "gold_rate": True, "training": ["x"]}
    assert ProjectSettings.of(odd) == ProjectSettings()
    assert ProjectSettings.of({}).shown_columns == []
