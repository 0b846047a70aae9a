"""Synthetic text with a known span pattern for the span tagger's tests (unit, integration and app): the
capitalised names of cities from a fixed list are LOC; people's names, also capitalised, are not."""

from __future__ import annotations

import numpy as np

CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Rome", "Vienna", "Oslo", "Lisbon", "Prague", "Dublin", "Warsaw", "Athens"]
PEOPLE = ["Anna", "Marc", "Julia", "Tom", "Sara", "Ben", "Nina", "Omar"]
VERBS = ["visited", "left", "loved", "moved to", "flew to", "wrote about", "dreamt of"]
WORDS = ["the", "old", "market", "yesterday", "with", "friends", "on", "Monday", "a", "museum", "again", "twice"]


def city_sentences(n: int, seed: int) -> list[tuple[str, list[dict]]]:
    """`n` sentences with their LOC spans ({"start", "end", "label"}), the same for the same seed. A city
    comes first or after a person and a verb, maybe a second one after "and"; some sentences have none."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(n):
        city, person, other = str(rng.choice(CITIES)), str(rng.choice(PEOPLE)), str(rng.choice(PEOPLE))
        shape = int(rng.integers(3))
        words = [
            [("In", None), (city, "LOC"), (",", None), (person, None), ("smiled", None)],
            [(person, None), (str(rng.choice(VERBS)), None), (city, "LOC")],
            [(person, None), ("met", None), (other, None)],
        ][shape]
        words += [(str(word), None) for word in rng.choice(WORDS, rng.integers(0, 4))]
        if shape < 2 and rng.random() < 0.4:
            words += [("and", None), (str(rng.choice(CITIES)), "LOC")]
        text, spans = "", []
        for word, label in words:
            text += " " if text else ""
            if label:
                spans.append({"start": len(text), "end": len(text) + len(word), "label": label})
            text += word
        found.append((text + ".", spans))
    return found
