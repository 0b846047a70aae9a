"""Models of your own: deployers register estimators, the Train page offers them per project beside the
built-in ones, and the worker's `--model` uses the same mechanism.

A registration names a *factory*, `package.module:name`: an estimator class, a function returning an
estimator, or an estimator (copied for each run). Two places register, with one meaning:

* an entry point in the group `labelling.models` of an installed package, named by the entry point:
  `[project.entry-points."labelling.models"]` then `svm = "mypackage.models:make_svm"`;
* the deployer setting `models` (`labelling.settings.Settings.models`): `name=package.module:factory`,
  comma-separated; the setting wins over an entry point of the same name.

A project stores the name (`settings["training"]["model"]`); the worker's `--model` takes a name or a
`package.module:factory` and trains every project with it. The estimator sees items as any estimator of
your own does (`labelling.learning.models`: a DataFrame of dict items, else an array or list) and may have,
as superintendent has them, `preprocess(x, y) -> (x, y)` and `eval_method(model, x, y)`, a score (or
scores, averaged) of the fitted model on the labelled items; either may be an attribute of the estimator
or of the factory. Nothing of the deployer's is imported until a run needs it: `problem` only looks for
the factory's module, so a broken registration is a message on the Train page and a failed run, never a
crash of the app or the worker.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from labelling.errors import ModelUnavailable
from labelling.learning.models import MODELS

__all__ = ["ENTRY_POINTS", "Made", "Registered", "choices", "load", "make", "problem", "registered", "resolve"]

ENTRY_POINTS = "labelling.models"
"""The entry-point group a package registers its models in."""
SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
"""`package.module:name`, as entry points write it."""

Configured = Sequence[tuple[str, str]]
"""The `models` setting: (name, `package.module:factory`) pairs."""


@dataclass(frozen=True)
class Registered:
    """A model of your own: the name projects store, and the factory it is made by."""

    name: str
    spec: str
    """`package.module:name` of the factory."""

    @property
    def words(self) -> str:
        """What the Train page's select box shows."""
        return self.spec if self.name == self.spec else f"{self.name} ({self.spec})"


@dataclass(frozen=True)
class Made:
    """A fresh estimator for one run, with the optional extras its registration gives."""

    estimator: Any
    preprocess: Callable[[Any, Any], tuple[Any, Any]] | None
    eval_method: Callable[[Any, Any, Any], Any] | None
    description: str


def registered(configured: Configured = ()) -> dict[str, Registered]:
    """Models of your own by name: the installed packages' entry points, then the `models` setting.
    A name of a built-in model (MODELS) is left out: the built-in one keeps it."""
    found = {name: Registered(name, spec) for name, spec in _entry_points()}
    found.update((name, Registered(name, spec)) for name, spec in configured)
    return {name: entry for name, entry in found.items() if name not in MODELS}


def choices(configured: Configured = ()) -> dict[str, str]:
    """Every model a project can choose, name -> words: the built-in ones, then yours."""
    return {**MODELS, **{name: entry.words for name, entry in registered(configured).items()}}


def resolve(name: str, configured: Configured = ()) -> Registered:
    """The registration of `name`, or of a `package.module:factory` given directly (the worker's --model)."""
    found = registered(configured)
    if name in found:
        return found[name]
    if SPEC.match(name):
        return Registered(name, name)
    known = ", ".join([*MODELS, *found])
    raise ModelUnavailable(f"no model {name!r}: choose one of {known}, or give a package.module:factory")


def problem(entry: Registered) -> str | None:
    """Why `entry` cannot be made here, as far as can be told without importing the deployer's code
    (a malformed name, a module that is not installed); None when it looks usable."""
    if not SPEC.match(entry.spec):
        return f"{entry.spec!r} is not package.module:factory"
    module = entry.spec.partition(":")[0]
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError as error:  # its package is missing
        return f"no module named {error.name or module!r} is installed"
    except Exception as error:  # a parent package that fails to import
        return f"{module} cannot be imported ({type(error).__name__}: {error})"
    return None if found is not None else f"no module named {module!r} is installed"


def load(spec: str) -> Any:
    """The factory `package.module:name` names; ModelUnavailable, saying why, when it cannot be had."""
    if not SPEC.match(spec):
        raise ModelUnavailable(f"a model is named package.module:factory, not {spec!r}")
    module, _, attribute = spec.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
    except Exception as error:  # the deployer's module: any error it raises on import
        raise ModelUnavailable(f"the model {spec} cannot be loaded: {type(error).__name__}: {error}") from error
    return found


def make(name: str, configured: Configured = ()) -> Made:
    """A fresh estimator of the model `name` (a registered name or a package.module:factory)."""
    entry = resolve(name, configured)
    factory = load(entry.spec)
    if hasattr(factory, "fit") and not isinstance(factory, type):
        estimator = copy.deepcopy(factory)  # an estimator itself: each run fits its own copy
    elif callable(factory):
        try:
            estimator = factory()
        except Exception as error:
            raise ModelUnavailable(f"the model {entry.spec} failed to make an estimator: "
                                   f"{type(error).__name__}: {error}") from error
    else:
        raise ModelUnavailable(f"{entry.spec} is neither an estimator nor a function making one")
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict_proba")):
        raise ModelUnavailable(f"the model {entry.spec} made a {type(estimator).__name__}, which lacks fit or predict_proba")

    def extra(name: str) -> Any:
        return getattr(estimator, name, None) or getattr(factory, name, None)

    return Made(estimator, extra("preprocess"), extra("eval_method"), f"{entry.words}: {type(estimator).__name__}")


@functools.cache
def _entry_points() -> tuple[tuple[str, str], ...]:
    """(name, value) of the installed packages' registrations, read once per process (installing a
    package that registers models needs a restart, as any new code does)."""
    return tuple((point.name, point.value) for point in metadata.entry_points(group=ENTRY_POINTS))
