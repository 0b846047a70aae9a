"""The final label of an item from its labellers' labels: majority vote, ties flagged rather than guessed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from labelling.records import Label


def majority(votes: Sequence[Label]) -> tuple[Label | None, bool]:
    """(final label, tie). Single-label: the most common label. Multi-label: each label kept by more than
    half of the labellers. A tie gives (None, True) so that nobody mistakes a coin toss for agreement."""
    if not votes:
        return None, False
    if isinstance(votes[0], tuple):
        counts = Counter(label for vote in votes for label in set(vote))
        half = len(votes) / 2
        ordered = list(dict.fromkeys(label for vote in votes for label in vote))
        if any(count == half for count in counts.values()):
            return None, True
        return tuple(label for label in ordered if counts[label] > half), False
    ranked = Counter(votes).most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None, True
    return ranked[0][0], False
