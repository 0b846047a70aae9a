"""The Export page's versions through AppTest: save one by name, refuse a second of the same name, download
it in three formats, and compare it with a later version or the current labels."""

from __future__ import annotations


def export_page(app):
    return app().run().switch_page("pages/export.py").run()


def save(at, name: str):
    at.text_input(key="version-name").input(name)
    return next(b for b in at.button if b.label == "Save a version").click().run()


def test_save_compare_and_download_versions(app, store):
    project = store.create_project("p", ["a", "b"], settings={"display": "text"})
    store.add_items(project.id, ["one", "two", "three"])
    first = store.next_item(project.id, "alice")
    store.submit(project.id, first.id, "alice", "a")
    second = store.next_item(project.id, "alice")
    store.submit(project.id, second.id, "alice", "b")

    at = export_page(app)
    assert not at.exception
    assert [i.value for i in at.info] == ["No version saved yet."]
    at = save(at, "friday")
    assert not at.exception
    assert [s.value for s in at.success] == ["Saved version **friday**: 2 labelled items."]
    assert at.text_input(key="version-name").value == ""
    versions = at.dataframe[0].value
    assert versions["Version"].tolist() == ["friday"] and versions["By"].tolist() == ["admin"]
    assert [b.label for b in at.download_button][-3:] == ["Download CSV", "Download JSONL", "Download Parquet"]
    assert not any("changed ·" in m.value for m in at.markdown)  # compared only when asked
    at.session_state["version-compare"] = True  # the admin opens "Compare two versions"
    at.run()
    assert "**0** changed · **0** added · **0** removed" in [m.value for m in at.markdown]

    at = save(at, "friday")
    assert [e.value for e in at.error] == ["project 'p' already has a version named 'friday': choose another name"]

    store.adjudicate(project.id, second.id, "admin", "a")
    at = save(at, "monday")
    at.selectbox(key="version-old").select("friday")
    at.selectbox(key="version-new").select("monday").run()
    assert not at.exception
    assert "**1** changed · **0** added · **0** removed" in [m.value for m in at.markdown]
    counts, changes = at.dataframe[1].value, at.dataframe[2].value
    assert counts.set_index("Label")["Change"].to_dict() == {"a": 1, "b": -1}
    assert changes.values.tolist() == [[second.id, "b", "a"]]
