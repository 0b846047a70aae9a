"""The span tagger (`labelling.learning.spans`): tokens and their offsets, BIO tags and their decoding on the
edge cases, span F1, and that it learns a known pattern (cities as LOC) well on held-out sentences."""

from __future__ import annotations

import pytest
from _city_sentences import city_sentences

from labelling.io.serialisation import encode
from labelling.io.shapes import parse_spans
from labelling.learning import spans
from labelling.records import Project, Span, Spans
from labelling.storage.model_data import Labelled

F1_BAR = 0.9


def labelled(n: int, seed: int) -> tuple[list[str], list[Spans]]:
    found = city_sentences(n, seed)
    return [text for text, _ in found], [parse_spans(marked, ["LOC"], text) for text, marked in found]


def test_tokens_are_words_and_single_punctuation_marks_with_their_offsets():
    text = "Hi, New-York's 2024  café!"
    tokens = spans.tokenise(text)
    assert [text[a:b] for a, b in tokens] == ["Hi", ",", "New", "-", "York", "'", "s", "2024", "café", "!"]
    assert tokens[-2] == (21, 25) and spans.tokenise("  ") == []


def test_bio_tags_widen_a_span_to_its_tokens_and_keep_the_earlier_of_overlapping_spans():
    text = "Ann saw New York City today"
    tokens = spans.tokenise(text)
    marked = [Span(9, 21, "LOC"), Span(0, 2, "PER"), Span(13, 27, "ORG")]  # "ew York City" (mid-token), "An"
    assert spans.bio_tags(tokens, marked) == ["B-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O"]
    assert spans.bio_tags(tokens, []) == ["O"] * 6


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["O", "O", "O", "O"], []),
        (["B-X", "I-X", "O", "B-X"], [(0, 2, "X", 0.6), (3, 4, "X", 0.4)]),
        (["O", "I-X", "I-X", "O"], [(1, 3, "X", 0.55)]),  # I- after O begins a span
        (["B-X", "I-Y", "I-Y", "I-X"], [(0, 1, "X", 0.8), (1, 3, "Y", 0.55), (3, 4, "X", 0.4)]),  # class changes
        (["B-X", "B-X", "I-X", "I-X"], [(0, 1, "X", 0.8), (1, 4, "X", 0.5)]),  # B- after B- is a new span
        (["I-X", "I-X", "I-X", "I-X"], [(0, 4, "X", 0.575)]),  # to the last token
    ],
)
def test_decoding_bio_tags(tags, expected):
    tokens = [(0, 1), (2, 3), (4, 5), (6, 7)]  # "a b c d"
    sure = [0.8, 0.4, 0.7, 0.4]
    found = spans.decode(tokens, tags, sure)
    spans_found = [(s.start, s.end, s.label) for s, _ in found]
    assert spans_found == [(tokens[a][0], tokens[b - 1][1], c) for a, b, c, _ in expected]
    assert [score for _, score in found] == pytest.approx([score for *_, score in expected])


def test_span_scores_match_spans_exactly_per_class():
    truth = [Spans((Span(0, 4, "LOC"), Span(6, 9, "PER"))), Spans()]
    guess = [Spans((Span(0, 4, "LOC"), Span(6, 8, "PER"))), Spans((Span(1, 2, "LOC"),))]
    found = spans.span_scores(truth, guess, ["LOC", "PER", "ORG"])
    assert found["span_f1"] == pytest.approx(2 * 1 / (2 + 3))
    assert found["per_class"]["LOC"] == {"precision": 0.5, "recall": 1.0, "support": 1}
    assert found["per_class"]["PER"] == {"precision": 0.0, "recall": 0.0, "support": 1}
    assert found["per_class"]["ORG"] == {"precision": 0.0, "recall": 0.0, "support": 0}
    assert spans.span_scores([Spans()], [Spans()], ["LOC"])["span_f1"] is None


def test_the_tagger_learns_cities_as_loc_on_held_out_sentences():
    texts, labels = labelled(80, seed=1)
    tagger = spans.SpanTagger().fit(texts, labels)
    test_texts, test_labels = labelled(200, seed=2)
    tagged = tagger.predict(test_texts)
    figures = spans.span_scores(test_labels, [t.spans for t in tagged], ["LOC"])
    assert figures["span_f1"] > F1_BAR
    assert all(len(t.scores) == len(t.spans.spans) and 0.0 < t.certainty <= 1.0 for t in tagged)
    assert all(0.0 <= t.uncertainty <= 1.0 for t in tagged)
    first = next(t for t, truth in zip(tagged, test_labels) if truth.spans and t.spans == truth)
    assert first.certainty == pytest.approx(sum(first.scores) / len(first.scores))


def test_cross_validated_span_f1_and_its_limits():
    texts, labels = labelled(60, seed=3)
    figures = spans.evaluate(texts, labels, ["LOC"], seed=0)
    assert figures["cv_folds"] == 3 and figures["span_f1"] > F1_BAR
    assert figures["per_class"]["LOC"]["support"] == sum(len(label.spans) for label in labels)
    assert spans.evaluate(texts[:2], labels[:2], ["LOC"]) is None


def test_texts_without_tokens_and_labels_without_spans():
    texts, labels = labelled(20, seed=4)
    tagger = spans.SpanTagger().fit(texts, labels)
    (empty,) = tagger.predict([" "])
    assert empty == spans.Tagged(Spans(), (), 1.0, 0.0)
    with pytest.raises(ValueError, match="no span to learn from"):
        spans.SpanTagger().fit(["Nothing here."], [Spans()])


def test_the_cold_start_needs_words_inside_and_outside_spans():
    project = Project(1, "places", ("LOC",), False, 1, "", {"task": "spans", "text_column": "text"})

    def check(texts: list[str], marked: list[Spans]) -> str | None:
        return spans.cold_start(project, Labelled(list(range(len(texts))), [encode({"text": t}) for t in texts], marked))

    every = check(["Paris", "Rome"], [Spans((Span(0, 5, "LOC"),)), Spans((Span(0, 4, "LOC"),))])
    assert every == "every labelled word is inside a span: mark texts with unmarked words too"
    with pytest.raises(ValueError, match="no span to learn from"):  # what the run would have failed with
        spans.SpanTagger().fit(["Paris", "Rome"], [Spans((Span(0, 5, "LOC"),)), Spans((Span(0, 4, "LOC"),))])
    assert check(["Paris", "Rome"], [Spans((Span(0, 5, "LOC"),)), Spans()]) is None
    assert "no span of the labelled texts covers a word" in check(["Paris ", "Rome"], [Spans((Span(5, 6, "LOC"),)), Spans()])
