"""Models of your own (labelling.learning.registry): the `models` setting, entry points, what a name resolves
to, and every way a registration can be broken, each a ModelUnavailable saying why."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelling.errors import InvalidInput, ModelUnavailable
from labelling.learning import registry
from labelling.learning.models import TrainedModel, own_score
from labelling.learning.training_settings import with_training_settings
from labelling.records import Project
from labelling.settings import Settings

FACTORIES = '''
from sklearn.linear_model import LogisticRegression

class Mine(LogisticRegression):
    """An estimator class: each call makes a fresh one."""

def make():
    return LogisticRegression(C=0.5)

def score(model, x, y):
    return [0.5, 1.0]

make.eval_method = score
shared = LogisticRegression(C=2.0)

def broken():
    raise RuntimeError("no licence for the GPU")

def not_an_estimator():
    return "a string"
'''


@pytest.fixture
def factories(tmp_path, monkeypatch):
    """A module of factories, `registered_factories`, importable from a folder on sys.path."""
    (tmp_path / "registered_factories.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "registered_factories"


@pytest.fixture
def entry_point(tmp_path, monkeypatch):
    """An installed distribution (a dist-info folder on sys.path) registering `plugged` in labelling.models."""
    info = tmp_path / "plugin_models-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-models\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(f"""\
            [{registry.ENTRY_POINTS}]
            plugged = registered_factories:make
            logistic_regression = registered_factories:Mine
            """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._entry_points.cache_clear()
    yield
    registry._entry_points.cache_clear()


def test_the_models_setting_names_factories():
    settings = Settings.load(secrets={"models": "svm = pkg.models:make_svm, other.mod:Factory"}, environ={})
    assert settings.models == (("svm", "pkg.models:make_svm"), ("other.mod:Factory", "other.mod:Factory"))
    listed = Settings.load(secrets={"models": ["a=x.y:z", "b=x.y:w"]}, environ={})
    assert listed.models == (("a", "x.y:z"), ("b", "x.y:w"))
    assert Settings.load(secrets={}, environ={"LABELLING_MODELS": "a=x:y"}).models == (("a", "x:y"),)
    assert Settings.load(secrets={}, environ={}).models == ()
    with pytest.raises(InvalidInput, match="name=package.module:factory"):
        Settings.load(secrets={"models": "svm=pkg.models"}, environ={})


def test_entry_points_and_the_setting_are_offered_beside_the_built_in_models(factories, entry_point):
    found = registry.registered([("svm", f"{factories}:Mine")])
    assert {name: entry.spec for name, entry in found.items()} == {
        "plugged": "registered_factories:make",  # an installed package's entry point
        "svm": "registered_factories:Mine",  # the setting
    }  # a registration may not take a built-in model's name
    assert list(registry.choices([("svm", f"{factories}:Mine")])) == ["logistic_regression", "random_forest", "plugged", "svm"]
    assert registry.choices()["plugged"] == "plugged (registered_factories:make)"
    assert registry.registered([("plugged", f"{factories}:Mine")])["plugged"].spec.endswith(":Mine")  # the setting wins


def test_a_name_resolves_to_its_registration_or_is_a_factory_itself():
    configured = [("svm", "pkg.models:make_svm")]
    assert registry.resolve("svm", configured).spec == "pkg.models:make_svm"
    assert registry.resolve("pkg.other:make", configured).spec == "pkg.other:make"
    with pytest.raises(ModelUnavailable, match="no model 'forest': choose one of logistic_regression, random_forest, svm"):
        registry.resolve("forest", configured)


def test_a_factory_makes_a_fresh_estimator_with_its_eval_method(factories):
    first, second = registry.make(f"{factories}:Mine"), registry.make(f"{factories}:Mine")
    assert type(first.estimator).__name__ == "Mine" and first.estimator is not second.estimator
    made = registry.make("mine", [("mine", f"{factories}:make")])
    assert made.estimator.C == 0.5 and made.eval_method.__name__ == "score"
    assert made.description == f"mine ({factories}:make): LogisticRegression"
    shared = registry.make(f"{factories}:shared")
    assert shared.estimator.C == 2.0 and shared.estimator is not registry.load(f"{factories}:shared")  # a copy per run


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("no_such_package.models:make", "cannot be loaded: ModuleNotFoundError: No module named 'no_such_package'"),
        ("registered_factories:missing", "cannot be loaded: AttributeError"),
        ("registered_factories:broken", "failed to make an estimator: RuntimeError: no licence for the GPU"),
        ("registered_factories:not_an_estimator", "made a str, which lacks fit or predict_proba"),
    ],
)
def test_a_broken_registration_says_why(factories, spec, reason):
    with pytest.raises(ModelUnavailable, match=reason):
        registry.make(spec)


def test_problem_finds_a_missing_module_without_importing_the_deployers_code(factories):
    assert registry.problem(registry.Registered("x", "no_such_package.models:make")) == (
        "no module named 'no_such_package' is installed"
    )
    assert registry.problem(registry.Registered("x", f"{factories}_gone:make")) == (
        "no module named 'registered_factories_gone' is installed"
    )
    assert registry.problem(registry.Registered("x", "not a spec")) == "'not a spec' is not package.module:factory"
    assert registry.problem(registry.Registered("x", f"{factories}:broken")) is None


def test_a_project_may_choose_a_registered_model_offered_here():
    project = Project(1, "p", ("a", "b"), False, 1, "", {"training": {"model": "gone"}})
    assert with_training_settings(project, ["logistic_regression", "svm"], model="svm")["training"]["model"] == "svm"
    with pytest.raises(InvalidInput, match="no model 'svm'"):
        with_training_settings(project, model="svm")  # not registered: only the built-in models


def test_own_score_is_the_mean_of_what_eval_method_returns_on_what_the_estimator_sees():
    seen = []

    def eval_method(model, x, y):
        seen.append((model, x.tolist(), y.tolist()))
        return [0.5, 1.0]

    model = TrainedModel(LogisticRegression(), ("a", "b"), False, preprocess=lambda x, y: (np.asarray(x) * 2, y))
    model.fit([[0.0], [1.0]], ["a", "b"])
    assert own_score(model, eval_method, [[0.0], [1.0]], ["a", "b"]) == 0.75
    assert seen == [(model.estimator, [[0.0], [2.0]], ["a", "b"])]
