"""Review: reported and unreadable items (exclude, fix, dismiss, delete), items whose labellers disagree,
labels the model doubts (labels to check, found by the latest training run even when each item has one
labeller), and a search over all items. A reviewer sets the final label or sends the item back for new labels,
or accepts the majority in bulk where enough labellers agree."""

import streamlit as st

import ui
from ui import annotate
from labelling import LabellingError, people
from labelling.quality.consensus import GOLD, REVIEW
from labelling.storage.assessment import LabelCheck
from labelling.storage.review import ReviewItem
from labelling.text import counted

PAGE_SIZE = 20
NOTICE = "review_notice"
PASSED = "review_passed"
ANY = "(any)"
WAITING, REVIEWED, TO_CHECK, SEARCH = "Waiting for review", "Already reviewed", "Labels to check", "Search items"
ANY_COLUMN = "(any column)"

store = ui.store()
me = ui.page_user(store)
if me.role not in people.REVIEW_ROLES:
    st.error("This page is for reviewers and admins.", icon=":material/block:")
    st.stop()
project = ui.page_project(store, "Review")
drawing = annotate.is_annotation(project.options)


def shown(label) -> str:
    if label is None:
        return "–"
    return annotate.summary(label) or "none of the labels"


def _act(action, item_id: int, *args) -> None:
    """Run a review call from a button callback; what happened is shown above the list."""
    try:
        action(project.id, item_id, me.name, *args)
    except LabellingError as error:
        st.session_state[NOTICE] = ("error", f"Item {item_id}: {ui.refusal(error)}")
        return
    ui.refresh_figures()
    if action == store.send_back:
        st.session_state[NOTICE] = ("success", f"Item {item_id} was sent back to the queue for new labels.")
    else:
        st.session_state[NOTICE] = ("success", f"Item {item_id}: final label set to **{ui.literal(shown(args[0]))}**.")


@ui.guarded
def _adjudicate(item_id: int, drawn: tuple | None = None) -> None:
    """`drawn`: the editor's key and starting value, for a box or span project's edited final version."""
    chosen = annotate.edited(*drawn) if drawn else st.session_state.get(f"final-{item_id}")
    if project.multi_label:
        chosen = list(chosen or [])
    _act(store.adjudicate, item_id, chosen)


@ui.guarded
def _send_back(item_id: int) -> None:
    _act(store.send_back, item_id)


@ui.guarded
def _accept_majority(min_agreement: float, min_labels: int) -> None:
    try:
        accepted = store.curation.accept_majority(project.id, me.name, min_agreement, min_labels)
    except LabellingError as error:
        st.session_state[NOTICE] = ("error", ui.refusal(error))
        return
    ui.refresh_figures()
    st.session_state[NOTICE] = ("success", f"The majority label became the final label of {counted(accepted, 'item')}.")


def accept_majority() -> None:
    """Settle in one go the items where enough labellers agree: their majority becomes a reviewed final label.
    Counted only while open: the count reads every label of the project."""
    bulk = st.expander("Accept the majority in bulk", icon=":material/done_all:", key="bulk", on_change="rerun")
    if not bulk.open:
        return
    with bulk:
        row = st.container(horizontal=True)
        least = row.slider("Agreement at least", 50, 100, 80, step=5, format="%d%%", key="bulk-agreement")
        labels = row.number_input("Labels at least", 1, 100, 2, key="bulk-labels")
        with ui.database_guard():
            count = store.curation.majority_to_accept(project.id, least / 100, labels)
        st.caption(
            f"{counted(count, 'item')} not reviewed yet (gold and tied items left out) "
            f"{'have' if count != 1 else 'has'} at least {counted(labels, 'label')} of which at least {least}% agree. "
            "Accepting records their majority as a review, which you can still change item by item."
        )
        st.button(
            f"Accept the majority for {counted(count, 'item')}",
            key="bulk-accept",
            type="primary",
            icon=":material/done_all:",
            disabled=not count,
            on_click=_accept_majority,
            args=(least / 100, labels),
        )


def search() -> None:
    """Any item, found by its text or one column's value, as a card: set its final label or send it back."""
    with ui.database_guard():
        columns = store.curation.columns(project.id)
    row = st.container(horizontal=True)
    text = row.text_input("Search items", key="search-text", placeholder="words or a value")
    column = row.selectbox("In column", [ANY_COLUMN, *columns], key="search-column") if columns else ANY_COLUMN
    if not text.strip():
        st.caption("Finds items whose text, or one column's value, contains what you type (any case).")
        return
    try:
        with ui.database_guard():
            hits, more = store.curation.search(project.id, text, None if column == ANY_COLUMN else column, PAGE_SIZE)
    except LabellingError as error:
        st.error(ui.refusal(error))
        return
    if not hits:
        st.info("No item matches.")
        return
    st.caption(f"The first {PAGE_SIZE} matching items, oldest first." if more else f"{len(hits)} matching items.")
    for item in later_passed(hits):
        card(item, first=False)


@ui.guarded
def _keep(item_id: int, label) -> None:
    _act(store.adjudicate, item_id, list(label) if project.multi_label else label)


def _pass(item_id: int) -> None:
    """Next: leave this item for later in this session (it moves to the end of the list)."""
    passed = st.session_state.setdefault(PASSED, [])
    if item_id in passed:
        passed.remove(item_id)
    passed.append(item_id)


def later_passed(items: list) -> list:
    """The items in their order, those passed over with Next at the end, the longest passed first."""
    passed = st.session_state.get(PASSED, [])
    return sorted(items, key=lambda item: passed.index(item.item_id) if item.item_id in passed else -1)


def final_label_choice(item_id: int, start, data, first: bool) -> st.delta_generator.DeltaGenerator:
    """The final label's picker, starting at `start`, and its "Set final label" button; returns the row of
    buttons for the card's other action. Buttons, not radio or multi-select inputs: a focused input swallows
    the shortcut keys, which the first card's buttons have (`first`). Boxes and spans: an editor over the
    item (`data`) instead."""
    if drawing:
        return final_version(item_id, start, data, first)
    if project.multi_label:
        start = [label for label in project.labels if label in (start or ())]
        st.pills("Final labels", project.labels, selection_mode="multi", default=start, key=f"final-{item_id}")
    else:
        start = start if start in project.labels else None
        st.segmented_control("Final label", project.labels, default=start, key=f"final-{item_id}")
    row = st.container(horizontal=True)
    row.button(
        "Set final label",
        key=f"adjudicate-{item_id}",
        type="primary",
        icon=":material/gavel:",
        shortcut="A" if first else None,  # not Enter: a focused label choice takes Enter as its own press
        on_click=_adjudicate,
        args=(item_id,),
    )
    return row


def next_button(row, item_id: int, first: bool) -> None:
    row.button(
        "Next",
        key=f"next-{item_id}",
        icon=":material/skip_next:",
        shortcut="N" if first else None,
        on_click=_pass,
        args=(item_id,),
        help="Leave this item for later: it moves to the end of the list.",
    )


def final_version(item_id: int, start, data, first: bool) -> st.delta_generator.DeltaGenerator:
    """A box or span project's final version, edited over the item in a form (sent with "Set final label",
    no rerun per edit) and starting at `start`; returns the row for the card's other actions."""
    begin = annotate.as_json(start)
    key = annotate.editor_key(item_id, begin)
    with st.form(f"final-version-{item_id}", border=False):
        st.caption("Final version: edit it here and set it, or accept one labeller's version.")
        drawn = (key, annotate.draw(project.options, project.labels, data, key, begin))
        st.form_submit_button(
            "Set final label",
            key=f"adjudicate-{item_id}",
            type="primary",
            icon=":material/gavel:",
            shortcut="A" if first else None,
            on_click=_adjudicate,
            args=(item_id, drawn),
        )
    return st.container(horizontal=True)


def check_card(check: LabelCheck, first: bool) -> None:
    """A label the model doubts: keep it (the reviewer confirms it) or set another."""
    with st.container(border=True, key=f"check-{check.item_id}"):
        st.caption(f"Item {check.item_id} · found by training run {check.run_id}")
        ui.show_item(check.data, project.options)
        st.markdown(
            f"Labelled **{ui.literal(shown(check.given))}**, which the model gives {check.given_probability:.0%}; "
            f"it says **{ui.literal(shown(check.alternative))}** ({check.alternative_probability:.0%})."
        )
        row = final_label_choice(check.item_id, check.alternative, check.data, first)
        row.button(
            f"Keep {shown(check.given)}",
            key=f"keep-{check.item_id}",
            icon=":material/check:",
            shortcut="K" if first else None,
            on_click=_keep,
            args=(check.item_id, check.given),
            help="The label is right: it becomes the final label and leaves this list.",
        )
        next_button(row, check.item_id, first)


def card(item: ReviewItem, first: bool) -> None:
    """An item's labels and its final label's picker; a gold item (only found by a search) shows its known
    label instead, which reviews may not change."""
    gold = item.final.source == GOLD
    with st.container(border=True, key=f"card-{item.item_id}"):
        st.caption(
            f"Item {item.item_id} · {counted(len(item.votes), 'label')} · {item.agreement:.0%} agree"
            + (" · tie" if item.final.tie else "")
            + (" · gold" if gold else "")
        )
        if drawing:
            versions = {name: annotate.as_json(label) for name, label in sorted(item.votes.items())}
            annotate.versions(project, item.data, f"versions-{item.item_id}", versions)
        else:
            ui.show_item(item.data, project.options)
        lines = [f"- **{ui.literal(name)}**: {ui.literal(shown(label))}" for name, label in sorted(item.votes.items())]
        st.markdown("\n".join(lines))
        if item.suggestion is not None:
            st.markdown(
                f"Model suggests **{ui.literal(shown(item.suggestion))}** ({item.suggestion_probability:.0%})"
            )
        else:
            st.caption("No model suggestion for this item.")
        if gold:
            st.markdown(f"Gold item: its known label **{ui.literal(shown(item.final.label))}** is final (change it on Setup).")
            next_button(st.container(horizontal=True), item.item_id, first)
            return
        if item.final.source == REVIEW:
            st.markdown(
                f"Final label **{ui.literal(shown(item.final.label))}**, set by {ui.literal(item.final.reviewer)}"
            )
        # Start from the final label as it stands (`labelling.quality.consensus`: a reviewer's,
        # else the majority, for boxes and spans the merge of those most labellers drew; none on a tie), else
        # the model's suggestion.
        start = item.final.label if item.final.label is not None else item.suggestion
        row = final_label_choice(item.item_id, start, item.data, first)
        if drawing:
            for name, label in sorted(item.votes.items()):
                row.button(
                    f"Accept {ui.literal(name)}'s version",
                    key=f"accept-{item.item_id}-{name}",
                    icon=":material/check:",
                    on_click=_keep,
                    args=(item.item_id, annotate.as_json(label)),
                )
        row.button(
            "Send back to the queue",
            key=f"send-back-{item.item_id}",
            icon=":material/replay:",
            shortcut="B" if first else None,
            on_click=_send_back,
            args=(item.item_id,),
            help="Its labels stop counting (they stay in the history) and it is labelled again.",
        )
        next_button(row, item.item_id, first)


ui.problem_list(store, project, me.name)
st.subheader("Disagreements")
if notice := st.session_state.pop(NOTICE, None):
    (st.success if notice[0] == "success" else st.error)(notice[1])

with ui.database_guard():
    names = [p.name for p in store.people.all()]
filters = st.container(horizontal=True, key="filters")
which = (
    filters.segmented_control("Show", [WAITING, REVIEWED, TO_CHECK, SEARCH], default=WAITING, key="review-which")
    or WAITING
)
if which == SEARCH:
    search()
    st.stop()
if which == TO_CHECK:
    with ui.database_guard():
        checks = store.assessment.labels_to_check(project.id, limit=PAGE_SIZE)
    if not checks:
        st.success("No labels to check: the latest model doubts none of the labels given (or none is trained yet).")
        st.stop()
    st.caption(
        "Labels the latest model finds unlikely, from predictions of models that did not learn from them "
        "(confident learning), likeliest errors first. Setting a final label, or keeping the one given, "
        "takes an item off the list."
    )
    st.caption("Keys, on the first item: **A** set final label · **K** keep the label · **N** next")
    for i, check in enumerate(later_passed(checks)):
        check_card(check, first=i == 0)
    st.stop()
label = ANY if drawing else filters.selectbox("Someone labelled it", [ANY, *project.labels], key="review-label")
labeller = filters.selectbox("Labelled by", [ANY, *names], key="review-labeller")
most = st.slider(
    "Agreement at most",
    min_value=0,
    max_value=100,
    value=100,
    step=5,
    format="%d%%",
    key="review-agreement",
    help="The share of an item's labellers who gave its most common label.",
)
if which == WAITING:
    accept_majority()

with ui.database_guard():
    listed, total = store.review_items(
        project.id,
        label=None if label == ANY else label,
        labeller=None if labeller == ANY else labeller,
        max_agreement=most / 100,
        reviewed=which == REVIEWED,
        limit=PAGE_SIZE,
    )
if not listed:
    if which == REVIEWED:
        st.info("No reviewed items match.")
    else:
        st.success("Nothing to review: no item matching these filters has labellers who disagree.")
        st.caption(f"**{TO_CHECK}** lists labels the model doubts, also when each item has one labeller.")
    st.stop()
st.caption(
    counted(total, "item")
    + (f", the {PAGE_SIZE} with the least agreement shown" if total > PAGE_SIZE else "")
    + ". Gold items are not listed: their label is known."
)
st.caption("Keys, on the first item: **A** set final label · **B** send back · **N** next")
for i, item in enumerate(later_passed(listed)):
    card(item, first=i == 0)
