"""A project's training settings (`settings["training"]`, the Train page's form): model, query strategy,
shuffle share, retraining schedule and how text is read, typed and checked."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from typing import Any

from labelling.errors import InvalidInput
from labelling.learning import acquisition, embeddings, models
from labelling.learning.strategies import DEFAULT_STRATEGY, STRATEGIES
from labelling.records import Project

__all__ = ["DEFAULT_EVERY_LABELS", "DEFAULT_EVERY_SECONDS", "MAX_MODEL_NAME", "TEXT_FEATURES", "TrainingSettings",
           "check_strategy", "training_settings", "with_training_settings"]

DEFAULT_EVERY_LABELS = 20
DEFAULT_EVERY_SECONDS = 300.0
TEXT_FEATURES = {
    "auto": "Automatic: embeddings when installed and ready",
    "embeddings": "Sentence embeddings, once ready",
    "tfidf": "TF-IDF (words and word pairs)",
}
"""How text columns are read (`text_features`) -> words for the Train page. "auto" and "embeddings" differ
only without the extra: "auto" quietly reads TF-IDF, "embeddings" says in each run's note what is missing."""
MAX_MODEL_NAME = 200
"""An embedding model's name is stored with each vector (`storage.schema.embeddings.model`)."""


@dataclass(frozen=True)
class TrainingSettings:
    """A project's `settings["training"]`, edited on the Train page."""

    model: str = "logistic_regression"
    """A name in `models.MODELS` or a registered model's (`labelling.learning.registry`)."""
    strategy: str = DEFAULT_STRATEGY
    """A name in `labelling.learning.strategies.STRATEGIES`."""
    shuffle_prop: float = acquisition.DEFAULT_SHUFFLE_PROP
    every_labels: int = DEFAULT_EVERY_LABELS
    """Retrain once this many labels arrived since the last run started."""
    every_seconds: float = DEFAULT_EVERY_SECONDS
    """...or once this long passed since then, if any label arrived meanwhile."""
    text_features: str = "auto"
    """A key of TEXT_FEATURES."""
    embedding_model: str = embeddings.DEFAULT_MODEL
    """The sentence-embedding model: the packaged default, or any sentence-transformers model the deployer
    has installed (a directory or a cached model id; see `labelling.learning.embeddings`)."""


def training_settings(project: Project) -> TrainingSettings:
    """The project's training settings; anything missing or unusable is the default. A model name is kept
    as stored: whether this process can make it is for the run to find out (and say, if not)."""
    stored = project.options.training
    try:
        known = {k: v for k, v in stored.items() if k in TrainingSettings.__dataclass_fields__}
        return _checked(TrainingSettings(**known))
    except (InvalidInput, TypeError):
        return TrainingSettings()


def with_training_settings(
    project: Project, known_models: Collection[str] = tuple(models.MODELS), **changes: Any
) -> dict[str, Any]:
    """The project's settings with its training settings changed (checked), for `Store.update_project`.
    `known_models`: the model names one may choose here (`registry.choices`; default: the built-in ones)."""
    updated = _checked(replace(training_settings(project), **changes))
    if updated.model not in known_models:
        raise InvalidInput(f"no model {updated.model!r}: choose one of {', '.join(known_models)}")
    return {**project.settings, "training": asdict(updated)}


def check_strategy(name: str) -> str:
    """The name of a known query strategy, else InvalidInput naming the choices."""
    if name not in STRATEGIES:
        raise InvalidInput(f"no strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    return name


def _checked(settings: TrainingSettings) -> TrainingSettings:
    if not isinstance(settings.model, str) or not settings.model:
        raise InvalidInput("a model is named by a non-empty string")
    check_strategy(settings.strategy)
    if not 0.0 <= float(settings.shuffle_prop) <= 1.0:
        raise InvalidInput("shuffle_prop is a fraction between 0 and 1")
    if int(settings.every_labels) < 1 or float(settings.every_seconds) <= 0:
        raise InvalidInput("retrain every 1 or more labels and a positive number of seconds")
    if settings.text_features not in TEXT_FEATURES:
        raise InvalidInput(f"text_features is one of {', '.join(TEXT_FEATURES)}, not {settings.text_features!r}")
    model = settings.embedding_model
    if not isinstance(model, str) or not model.strip() or len(model.strip()) > MAX_MODEL_NAME:
        raise InvalidInput(f"the embedding model is a name or directory of 1 to {MAX_MODEL_NAME} characters")
    return replace(
        settings,
        shuffle_prop=float(settings.shuffle_prop),
        every_labels=int(settings.every_labels),
        every_seconds=float(settings.every_seconds),
        embedding_model=model.strip(),
    )
