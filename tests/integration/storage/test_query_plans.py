"""The plans PostgreSQL gives the click's statements: each finds its rows through an index probe, however
stale the statistics, so a click costs the same after a labeller's thousandth label as after their first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from _helpers import new_project, write

from labelling.storage import statements
from labelling.storage.queue import find_labeller

LABELS = 6
"""Labels one labeller gives before the plans are read: about when a prepared statement may settle on its
generic plan (after its fifth run), which it then keeps for every later click on that connection, planned
with the statistics of then (here: from before any label). The plans these tests refused read all of the
labeller's tasks and skips on every click: at 100,000 items, next+submit p50 2.0, 2.8, 3.9, 4.6 ms after
2,000, 4,000, 6,000 and 8,000 labels."""


@pytest.fixture
def labelled(postgresql_url, open_store):
    """A store whose statistics are from before alice labelled (ANALYZE right after the import, and no
    autovacuum to refresh them), after her LABELS labels and one skip; bob had skipped every item, so the
    skips are many but alice's few."""
    store = open_store(postgresql_url)
    project = new_project(store)
    store.add_items(project.id, [f"item {i}" for i in range(20_000)])
    store.next_item(project.id, "bob")
    with write(store.engine) as connection:
        bob = find_labeller(connection, "bob").id
        connection.exec_driver_sql(
            "INSERT INTO skips (project_id, item_id, labeller_id, created_at) "
            f"SELECT project_id, id, {bob}, 0 FROM items WHERE project_id = {project.id}"
        )
        connection.exec_driver_sql("ALTER TABLE tasks SET (autovacuum_enabled = false)")
        connection.exec_driver_sql("ALTER TABLE skips SET (autovacuum_enabled = false)")
        connection.exec_driver_sql("ANALYZE tasks")
        connection.exec_driver_sql("ANALYZE skips")
    item = store.next_item(project.id, "alice")
    for _ in range(LABELS):
        _, item = store.submit_and_next(project.id, item.id, "alice", "a")
    store.skip(project.id, item.id, "alice")
    store.next_item(project.id, "alice")
    return store, project


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _generic_plan(store, project, statement) -> list[dict[str, Any]]:
    """The nodes of the plan a long-lived connection runs `statement` with (its generic plan)."""
    with write(store.engine) as connection:
        me = find_labeller(connection, "alice")
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        params = {"project": project.id, "me": me.id, "lease": 600.0, "item": 0, "label_json": '"a"', "labels": '["a"]'}
        plan = statement.plan(connection, params)
    return list(_nodes(plan))


def test_the_lease_refresh_reads_the_lease_index_not_the_labellers_tasks(labelled):
    nodes = _generic_plan(*labelled, statements.REFRESH_MY_LEASE)
    scans = [node for node in nodes if node.get("Relation Name") == "tasks" and "Scan" in node["Node Type"]]
    # An index scan names its index; a bitmap heap scan's child does.
    used = [node.get("Index Name") or [child.get("Index Name") for child in node.get("Plans", [])] for node in scans]
    assert used in (["ix_tasks_lease"], [["ix_tasks_lease"]]), scans


@pytest.mark.parametrize(
    "claim",
    [statements.CLAIM_NEXT, statements.CLAIM_SKIPPED, statements.SUBMIT_AND_CLAIM],
    ids=["next", "skipped", "submit-and-claim"],
)
def test_the_claim_probes_the_candidates_item_not_everything_the_labeller_did(labelled, claim):
    nodes = _generic_plan(*labelled, claim)
    mine = [node for node in nodes if node.get("Alias") == "other" or node.get("Relation Name") == "skips"]
    assert mine, nodes
    for node in mine:  # an index condition on the candidate's item: one probe, not a read of all my rows
        condition = node.get("Index Cond", node.get("Recheck Cond", ""))  # an index scan, or a bitmap scan
        assert re.search(r"item_id = tasks(_\d+)?\.item_id", condition), node  # tasks_1 where tasks is aliased


@pytest.mark.parametrize(
    "statement",
    [statements.CLAIM_NEXT, statements.CLAIM_SKIPPED, statements.SUBMIT_AND_CLAIM],
    ids=["next", "skipped", "submit-and-claim"],
)
def test_a_generic_plan_knows_the_claim_takes_one_row(labelled, statement):
    """With LIMIT as a parameter, a generic plan guessed a tenth of the queue: at 2,000,000 tasks a cost of
    1.4 million, past `jit_above_cost`, so every click JIT-compiled its statement (0.34 s a click)."""
    limits = [node for node in _generic_plan(*labelled, statement) if node["Node Type"] == "Limit"]
    assert limits and all(node["Plan Rows"] == 1 for node in limits), limits
