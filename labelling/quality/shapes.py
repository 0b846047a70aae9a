"""Agreement and consensus for boxes and spans: pure functions of the labels.

Matching. Two labellers' boxes on one image match one to one when they have the same class and their
intersection over union (IoU) is at least the project's `iou_threshold`; pairs are taken greedily, highest
IoU first (ties: earlier boxes first). Spans match *exactly* (same start, end and class) or, the looser
measure, by *overlap* (same class, at least one character in common; greedily, longest overlap first).

F1 between two labellers is 2 * matched / (their boxes or spans together), summed over the items both
labelled (per class: over that class's boxes or spans). It is symmetric; it is not defined (None) when
neither drew anything, and an item where both drew nothing counts as full agreement in `similarity`.

Consensus (`merge`, the final label when no reviewer or gold label decides): a box that more than half of
the item's labellers drew, matched across them as above, is kept with the mean of their coordinates; a
span is kept when more than half of the labellers marked exactly that span. With one labeller their
version is the final one unchanged; with two, what both agree on. Merged spans never overlap when no
labeller's do (two spans each kept by a majority would need one labeller to have marked both), and a mean
of boxes inside the image stays inside it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from labelling.records import Box, Boxes, Span, Spans

__all__ = [
    "ShapeAgreement",
    "compare",
    "f1",
    "iou",
    "item_agreement",
    "match_boxes",
    "match_spans",
    "merge",
    "report",
    "similarity",
]

Shapes = Boxes | Spans
Counts = dict[str, tuple[int, int, int]]
"""Per class: (matched, how many the first labeller drew, how many the second drew)."""


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch)."""
    across = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    down = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if across <= 0 or down <= 0:
        return 0.0
    both = across * down
    return both / (a.w * a.h + b.w * b.h - both)


def match_boxes(first: Sequence[Box], second: Sequence[Box], threshold: float) -> list[tuple[int, int]]:
    """One-to-one matches (index in first, index in second): same class, IoU >= threshold, best first."""
    scored = [
        (-iou(a, b), i, j)
        for (i, a), (j, b) in itertools.product(enumerate(first), enumerate(second))
        if a.label == b.label
    ]
    return _greedy(sorted(s for s in scored if -s[0] >= threshold))


def match_spans(first: Sequence[Span], second: Sequence[Span], overlap: bool = False) -> list[tuple[int, int]]:
    """One-to-one matches of spans: the same span exactly, or (`overlap`) of one class with characters in
    common, longest overlap first."""
    scored = []
    for (i, a), (j, b) in itertools.product(enumerate(first), enumerate(second)):
        common = min(a.end, b.end) - max(a.start, b.start)
        if a.label == b.label and (common > 0 if overlap else (a.start, a.end) == (b.start, b.end)):
            scored.append((-common, i, j))
    return _greedy(sorted(scored))


def _greedy(scored: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    used_first: set[int] = set()
    used_second: set[int] = set()
    matches = []
    for _, i, j in scored:
        if i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            matches.append((i, j))
    return matches


def compare(first: Shapes, second: Shapes, *, iou_threshold: float = 0.5, overlap: bool = False) -> Counts:
    """Per class: (matched, drawn by first, drawn by second) for two labels of one item."""
    a, b = _parts(first), _parts(second)
    if isinstance(first, Boxes):
        matches = match_boxes(a, b, iou_threshold)
    else:
        matches = match_spans(a, b, overlap)
    counts: dict[str, list[int]] = {}
    for part in a:
        counts.setdefault(part.label, [0, 0, 0])[1] += 1
    for part in b:
        counts.setdefault(part.label, [0, 0, 0])[2] += 1
    for i, _ in matches:
        counts[a[i].label][0] += 1
    return {label: (m, x, y) for label, (m, x, y) in counts.items()}


def f1(matched: int, first: int, second: int) -> float | None:
    """2 * matched / (first + second); None when neither drew anything."""
    return 2 * matched / (first + second) if first + second else None


def similarity(first: Shapes, second: Shapes, *, iou_threshold: float = 0.5, overlap: bool = False) -> float:
    """F1 of two labels of one item over all classes; 1.0 when both are empty (they agree: nothing there)."""
    counts = compare(first, second, iou_threshold=iou_threshold, overlap=overlap).values()
    value = f1(*(sum(c[k] for c in counts) for k in range(3)))
    return 1.0 if value is None else value


def item_agreement(votes: Sequence[Shapes], *, iou_threshold: float = 0.5) -> float:
    """The mean `similarity` over every pair of an item's labels (exact match for spans); 1.0 for one label."""
    pairs = list(itertools.combinations(votes, 2))
    if not pairs:
        return 1.0
    return sum(similarity(a, b, iou_threshold=iou_threshold) for a, b in pairs) / len(pairs)


def merge(votes: Sequence[Shapes], *, iou_threshold: float = 0.5) -> Shapes | None:
    """The consensus of an item's labels (see the module docstring); None when there are none."""
    if not votes:
        return None
    if isinstance(votes[0], Spans):
        counts = Counter(span for vote in votes for span in set(vote.spans))
        return Spans(tuple(sorted((s for s, n in counts.items() if n > len(votes) / 2), key=_span_order)))
    clusters: list[list[Box]] = []
    for vote in votes:
        heads = [cluster[0] for cluster in clusters]
        matched = dict(match_boxes(vote.boxes, heads, iou_threshold))
        for i, box in enumerate(vote.boxes):
            if i in matched:
                clusters[matched[i]].append(box)
            else:
                clusters.append([box])
    kept = tuple(_mean(cluster) for cluster in clusters if len(cluster) > len(votes) / 2)
    return Boxes(votes[0].width, votes[0].height, kept)


def _mean(boxes: list[Box]) -> Box:
    n = len(boxes)
    if n == 1:
        return boxes[0]
    x, y = sum(b.x for b in boxes) / n, sum(b.y for b in boxes) / n
    right, bottom = sum(b.x + b.w for b in boxes) / n, sum(b.y + b.h for b in boxes) / n
    return Box(x, y, right - x, bottom - y, boxes[0].label)


def _span_order(span: Span) -> tuple[int, int, str]:
    return span.start, span.end, span.label


def _parts(label: Shapes) -> tuple:
    return label.boxes if isinstance(label, Boxes) else label.spans


# The report


@dataclass(frozen=True)
class ShapeAgreement:
    """Agreement of a box or span project, over items two or more people labelled (gold items left out).

    - `f1`: F1 over every pair of labellers and their shared items (micro: matches summed), and the items.
    - `per_class`: columns label, f1, items: the same, for one class's boxes or spans.
    - `pairs`: columns labeller_a, labeller_b, f1, items (each pair once, a < b); span projects also
      `f1_overlap`, with spans matched by overlap instead of exactly.
    """

    f1: float | None
    items: int
    per_class: pd.DataFrame
    pairs: pd.DataFrame


def report(classes: Sequence[str], by_item: Mapping[int, Mapping[str, Shapes]], *, iou_threshold: float = 0.5) -> ShapeAgreement:
    """The agreement figures from each item's labels by labeller ({item: {labeller: label}})."""
    spans = any(isinstance(v, Spans) for votes in by_item.values() for v in votes.values())
    total: Counter = Counter()
    per_class: dict[str, Counter] = {name: Counter() for name in classes}
    class_items: Counter = Counter()
    pairs: dict[tuple[str, str], list] = {}
    items = 0
    for votes in by_item.values():
        if len(votes) < 2:
            continue
        items += 1
        seen: set[str] = set()
        for a, b in itertools.combinations(sorted(votes), 2):
            counts = compare(votes[a], votes[b], iou_threshold=iou_threshold)
            pair = pairs.setdefault((a, b), [Counter(), Counter(), 0])
            pair[2] += 1
            for label, triple in counts.items():
                total.update(dict(zip("mxy", triple)))
                pair[0].update(dict(zip("mxy", triple)))
                per_class.setdefault(label, Counter()).update(dict(zip("mxy", triple)))
                seen.add(label)
            if spans:
                for triple in compare(votes[a], votes[b], overlap=True).values():
                    pair[1].update(dict(zip("mxy", triple)))
        class_items.update(seen)
    rows = []
    for (a, b), (exact, loose, shared) in sorted(pairs.items()):
        row = {"labeller_a": a, "labeller_b": b, "f1": _f1(exact)}
        if spans:
            row["f1_overlap"] = _f1(loose)
        rows.append(row | {"items": shared})
    columns = ["labeller_a", "labeller_b", "f1", *(["f1_overlap"] if spans else []), "items"]
    return ShapeAgreement(
        _f1(total),
        items,
        pd.DataFrame(
            [{"label": name, "f1": _f1(c), "items": class_items[name]} for name, c in per_class.items()],
            columns=["label", "f1", "items"],
        ).astype({"f1": float, "items": int}),
        pd.DataFrame(rows, columns=columns).astype({c: float for c in columns if c.startswith("f1")} | {"items": int}),
    )


def _f1(counts: Counter) -> float | None:
    return f1(counts["m"], counts["x"], counts["y"])
