"""A token tagger for span projects: the text in word and punctuation tokens with their character offsets,
features per token, one BIO tag per token from a logistic regression, and the tags back as spans.

    tagger = SpanTagger().fit(texts, labels)        # labels: one `Spans` per text
    for tagged in tagger.predict(more_texts):
        tagged.spans, tagged.scores, tagged.uncertainty

A token's features are its lowercased word, shape ("Xxxx", "dd"), prefix and suffix and those of its
neighbours one and two away, hashed (`FeatureHasher`: no vocabulary to keep, nothing downloaded). The tags are
IOB2 (`B-X` where a span of class X begins, `I-X` inside it, `O` outside); a span that starts or ends inside
a token widens to the token's edges, and of overlapping spans the earlier is learnt (a token has one tag).
A span's score is the mean probability of its tokens' tags; an item's uncertainty is its least sure token's
(`acquisition.margin`), so one doubtful word puts the whole text early in the queue.

`train_and_suggest` is a span project's training run (called by `labelling.learning.training.train`): the
suggestions labellers see on the Label page, the queue's order and the run's span F1.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from labelling.io import serialisation
from labelling.io import shapes as shapes_io
from labelling.learning import acquisition
from labelling.quality import shapes
from labelling.records import Project, Span, Spans
from labelling.storage.model_data import Labelled
from labelling.storage.store import Store

__all__ = ["CV_FOLDS", "DESCRIPTION", "OUTSIDE", "STRATEGY", "SpanTagger", "Tagged", "bio_tags", "cold_start", "decode",
           "evaluate", "span_scores", "tokenise", "train_and_suggest"]

TOKEN = re.compile(r"\w+|[^\w\s]")
"""A token: a run of letters, digits and underscores, or one other character that is not a space."""
OUTSIDE = "O"
NEIGHBOURS = (-2, -1, 1, 2)
"""A token's features include the word and shape of the tokens this many places away."""
HASHED_FEATURES = 2**17
"""Hashed feature columns: few collisions for a labelling project's vocabulary; 22 MB of weights at 10
classes (21 tags)."""
CV_FOLDS = 3
DESCRIPTION = "Token tagger (BIO, logistic regression on word features)"
"""What a span run records as its model (the Train page shows it)."""
STRATEGY = "margin"
"""What a span run records as its query strategy: the least sure token's margin orders the queue."""

Offsets = list[tuple[int, int]]


def tokenise(text: str) -> Offsets:
    """(start, end) of each token of `text`, in order: text[start:end] is the token."""
    return [m.span() for m in TOKEN.finditer(text)]


def _shape(word: str) -> str:
    """"Paris" -> "Xx", "2024" -> "d", "USA" -> "X", "R2" -> "Xd": runs of one kind collapse."""
    kinds = ("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in word)
    return re.sub(r"(.)\1+", r"\1", "".join(kinds))


@functools.lru_cache(maxsize=2**16)
def _word_features(word: str) -> tuple[tuple[str, ...], dict[int, tuple[str, str]]]:
    """A word's own features, and what it tells a token `step` away (its word and shape); words repeat, so
    they are made once (the features were two thirds of the time to tag 10,000 texts)."""
    lower, shape = word.lower(), _shape(word)
    own = ("bias", f"w={lower}", f"shape={shape}", f"pre={lower[:3]}", f"suf={lower[-3:]}",
           f"title={word.istitle()}", f"upper={word.isupper()}")
    return own, {step: (f"{step}:w={lower}", f"{step}:shape={shape}") for step in NEIGHBOURS}


def _token_features(text: str, tokens: Offsets) -> list[list[str]]:
    """Each token's features as "name=value" strings, for the hasher."""
    words = [_word_features(text[start:end]) for start, end in tokens]
    rows = []
    for i, (own, _) in enumerate(words):
        row = list(own)
        for step in NEIGHBOURS:
            j = i + step
            row.extend(words[j][1][step] if 0 <= j < len(words) else (f"{step}:edge",))
        rows.append(row)
    return rows


def bio_tags(tokens: Offsets, spans: Sequence[Span]) -> list[str]:
    """The IOB2 tag of each token: a token inside a span (sharing a character with it) takes its class."""
    tags = [OUTSIDE] * len(tokens)
    for span in sorted(spans, key=lambda s: (s.start, s.end, s.label)):
        inside = [i for i, (start, end) in enumerate(tokens) if start < span.end and span.start < end]
        if inside and all(tags[i] == OUTSIDE for i in inside):  # overlapping spans: the earlier one is kept
            tags[inside[0]] = f"B-{span.label}"
            tags[inside[0] + 1 : inside[-1] + 1] = [f"I-{span.label}"] * (len(inside) - 1)
    return tags


def decode(tokens: Offsets, tags: Sequence[str], sure: Sequence[float]) -> list[tuple[Span, float]]:
    """Spans from IOB2 tags, each with the mean of its tokens' `sure`. A span runs from a B-X over the I-X
    after it; an I-X that follows O or another class begins a span of its own (a tagger's slip, not lost)."""
    found: list[tuple[Span, float]] = []
    first, label = -1, None

    def close(last: int) -> None:
        if label is not None:
            score = float(sum(sure[first : last + 1]) / (last + 1 - first))
            found.append((Span(tokens[first][0], tokens[last][1], label), score))

    for i, tag in enumerate(tags):
        kind, _, cls = tag.partition("-")
        if tag == OUTSIDE or kind == "B" or cls != label:
            close(i - 1)
            first, label = i, (None if tag == OUTSIDE else cls)
    close(len(tags) - 1)
    return found


@dataclass(frozen=True)
class Tagged:
    """The tagger's reading of one text."""

    spans: Spans
    scores: tuple[float, ...]
    """Each span's score (the mean probability of its tokens' tags), in the order of `spans.spans`."""
    certainty: float
    """How sure the suggestion is as a whole: its spans' mean score; with no span, how sure the tagger is
    that none is there (the mean probability of O). 1.0 for a text without tokens."""
    uncertainty: float
    """The least sure token's margin score (`acquisition.margin`: 1 - gap between its two likeliest tags);
    0.0 for a text without tokens. Higher: label sooner."""


class SpanTagger:
    """Hashed token features and a multinomial logistic regression over the BIO tags (joblib-picklable)."""

    def __init__(self) -> None:
        self.hasher = FeatureHasher(HASHED_FEATURES, input_type="string", alternate_sign=False)
        self.classifier = LogisticRegression(solver="saga", max_iter=1000, random_state=0)  # lbfgs: 10x slower here

    def _x(self, texts: Sequence[str]) -> tuple[list[Offsets], sparse.csr_matrix]:
        """The texts' tokens, and a row of hashed features per token (of every text, in order)."""
        tokens = [tokenise(text) for text in texts]
        rows = [row for text, offsets in zip(texts, tokens) for row in _token_features(text, offsets)]
        return tokens, self.hasher.transform(rows) if rows else sparse.csr_matrix((0, HASHED_FEATURES))

    def fit(self, texts: Sequence[str], labels: Sequence[Spans]) -> SpanTagger:
        """Learn from labelled texts; ValueError when their tokens carry fewer than two tags (no span yet)."""
        tokens, x = self._x(texts)
        y = [tag for offsets, label in zip(tokens, labels) for tag in bio_tags(offsets, label.spans)]
        if len(set(y)) < 2:
            raise ValueError("the labelled texts hold no span to learn from")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # saga's last iterations change little
            self.classifier.fit(x, y)
        return self

    def predict(self, texts: Sequence[str]) -> list[Tagged]:
        """The spans the tagger finds in each text, with their scores and the text's uncertainty."""
        tokens, x = self._x(texts)
        p = self.classifier.predict_proba(x) if x.shape[0] else np.zeros((0, len(self.classifier.classes_)))
        classes = [str(c) for c in self.classifier.classes_]
        outside = classes.index(OUTSIDE) if OUTSIDE in classes else None
        top = p.argmax(axis=1)
        sure, doubt = p[np.arange(len(p)), top], acquisition.margin(p) if len(p) else np.zeros(0)
        found, at = [], 0
        for offsets in tokens:
            rows, first = p[at : at + len(offsets)], at
            at += len(offsets)
            if not len(offsets):
                found.append(Tagged(Spans(), (), 1.0, 0.0))
                continue
            pairs = decode(offsets, [classes[t] for t in top[first:at]], sure[first:at])
            scores = tuple(score for _, score in pairs)
            if scores:
                certainty = float(np.mean(scores))
            else:
                certainty = float(rows[:, outside].mean()) if outside is not None else 0.0
            uncertainty = float(doubt[first:at].max())
            found.append(Tagged(Spans(tuple(span for span, _ in pairs)), scores, certainty, uncertainty))
        return found


def span_scores(truth: Sequence[Spans], guess: Sequence[Spans], labels: Sequence[str]) -> dict[str, object]:
    """Span-level figures of guessed against true labels, spans matched exactly (`quality.shapes.compare`):
    `span_f1` over all spans (None when neither has any), and per class precision, recall and support."""
    counts: dict[str, Counter] = {label: Counter() for label in labels}
    for true, guessed in zip(truth, guess):
        for label, (matched, given, found) in shapes.compare(true, guessed).items():
            counts.setdefault(label, Counter()).update(m=matched, x=given, y=found)
    total = sum(counts.values(), Counter())
    return {
        "span_f1": shapes.f1(total["m"], total["x"], total["y"]),
        "per_class": {
            label: {
                "precision": c["m"] / c["y"] if c["y"] else 0.0,
                "recall": c["m"] / c["x"] if c["x"] else 0.0,
                "support": int(c["x"]),
            }
            for label, c in counts.items()
        },
    }


def evaluate(texts: Sequence[str], labels: Sequence[Spans], classes: Sequence[str], seed: int = 0) -> dict | None:
    """`span_scores` of out-of-fold predictions over CV_FOLDS folds of the labelled texts (each text is
    predicted by a tagger that never saw it), with `cv_folds`; None with too few texts. A fold whose
    training part holds no span is left out."""
    if len(texts) < CV_FOLDS:
        return None
    truth, guess = [], []
    folds = 0
    for fit_rows, test_rows in KFold(CV_FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(texts))):
        if not any(labels[i].spans for i in fit_rows):
            continue
        tagger = SpanTagger().fit([texts[i] for i in fit_rows], [labels[i] for i in fit_rows])
        truth += [labels[i] for i in test_rows]
        guess += [tagged.spans for tagged in tagger.predict([texts[i] for i in test_rows])]
        folds += 1
    return {**span_scores(truth, guess, classes), "cv_folds": folds} if folds else None


def cold_start(project: Project, labelled: Labelled) -> str | None:
    """Why the tagger cannot learn from the labelled texts yet, or None: its regression needs their words to
    carry two different tags, so some words inside spans and some outside (or two kinds of span)."""
    tags = {
        tag
        for value, label in zip(labelled.data, labelled.labels)
        for tag in bio_tags(tokenise(_text(project, value)), label.spans)
    }
    if len(tags) > 1:
        return None
    if tags and OUTSIDE not in tags:
        return "every labelled word is inside a span: mark texts with unmarked words too"
    return "no span of the labelled texts covers a word yet; the tagger needs some to learn from"


def train_and_suggest(
    store: Store,
    project: Project,
    run_id: int,
    labelled: Labelled,
    *,
    shuffle_prop: float,
    rng: np.random.Generator,
    progress: Callable[[float], None],
    between_batches: Callable[[], None],
    evaluate_first: bool = True,
) -> dict[str, object]:
    """A span project's training run after its cold-start checks (`labelling.learning.training`): learn
    from the labelled texts, store each open item's suggested spans (its probability: `Tagged.certainty`)
    and order the queue least sure token first, `shuffle_prop` of the places at random. `progress` is
    called between steps (it checks the run's lease: nothing is written once the lease is lost). Returns
    the run's scores: `evaluate`'s figures (with `evaluate_first`) and `items_scored`."""
    texts = [_text(project, value) for value in labelled.data]
    targets = labelled.labels
    seed = int(rng.integers(2**31))
    scores = evaluate(texts, targets, project.labels, seed) if evaluate_first else None
    progress(0.25)
    tagger = SpanTagger().fit(texts, targets)
    progress(0.45)
    data = store.model_data
    total = max(data.open_item_count(project.id), 1)
    ids: list[int] = []
    tagged: list[Tagged] = []
    for page_ids, page_data in data.open_items(project.id):
        tagged += tagger.predict([_text(project, value) for value in page_data])
        ids += page_ids
        progress(0.45 + 0.4 * min(1.0, len(ids) / total))
    uncertainty = np.asarray([t.uncertainty for t in tagged], dtype=np.float64)
    priorities, random_share = acquisition.shuffled_priorities(uncertainty, shuffle_prop, rng)
    data.write_predictions(
        project.id, run_id, ids, [t.spans for t in tagged], [t.certainty for t in tagged], between_batches,
        random_picks=random_share,
    )
    progress(0.9)
    store.set_priorities(project.id, ids, priorities)
    return {**(scores or {}), "items_scored": len(ids)}


def _text(project: Project, value: str) -> str:
    """The text of a stored item (`io.shapes.item_text`); "" for an item without one."""
    return shapes_io.item_text(project.options, serialisation.decode(value)) or ""
