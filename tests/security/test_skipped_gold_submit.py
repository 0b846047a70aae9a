"""Finding 9 of issue 15: a submit for a gold item the same labeller skipped earlier returned None (nothing
recorded, nothing said). It must record the label, like a submit after any other skip."""

from __future__ import annotations


class Always:
    """A random source whose every draw hits the gold rate and picks the first gold candidate."""

    def random(self) -> float:
        return 0.0

    def choice(self, options):
        return options[0]


def test_a_label_for_a_skipped_gold_item_is_recorded(store):
    project = store.create_project("gold", ["a", "b"])
    store.add_items(project.id, ["plain", "golden"])
    gold_id = int(store.export(project.id).set_index("data").loc["golden", "item_id"])
    store.set_gold(project.id, [gold_id], ["a"])
    store.set_gold_rate(project.id, 1.0)
    store.rng = Always()
    item = store.next_item(project.id, "alice")
    assert item.id == gold_id
    store.skip(project.id, item.id, "alice")

    recorded = store.submit(project.id, item.id, "alice", "b")

    assert recorded is not None and (recorded.item_id, recorded.label) == (gold_id, "b")
    assert store.submit(project.id, item.id, "alice", "b") == recorded  # a double submit records one
    current = store.annotations(project.id)
    assert list(current.loc[current["current"], "label"]) == ["b"]
    stats = store.labeller_stats(project.id).set_index("labeller")
    assert stats.loc["alice", "gold_items"] == 1
