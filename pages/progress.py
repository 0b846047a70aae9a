"""Progress: how far the project is, how fast labels come in, who labels what. Labellers see only their own."""

import altair as alt
import pandas as pd
import streamlit as st

import ui
from labelling.quality.agreement import Agreement
from labelling.quality.shapes import ShapeAgreement
from labelling.records import Task, label_classes
from labelling.text import counted

store = ui.store()
me = ui.page_user(store)
project = ui.project_picker(store)

if project is None:
    st.title("Progress")
    st.info("There is no project yet.")
    st.stop()


st.sidebar.button("Refresh figures", key="refresh", on_click=ui.refresh_figures, icon=":material/refresh:")
with ui.database_guard():
    counts = ui.progress(store, project.id)
    history = ui.annotations(store, project.id, labeller=None if me.is_admin else me.name)
    figures = ui.agreement(store, project.id) if me.is_admin else None
labelled = history[history["source"] == "label"]
current = history[history["current"]]


# Bin width (seconds), its axis format and name: the narrowest that keeps the chart to MAX_BARS bars.
BINS = [
    (60, "%H:%M", "minute"),
    (600, "%H:%M", "10 minutes"),
    (3600, "%m-%d %H:00", "hour"),
    (86400, "%Y-%m-%d", "day"),
]
MAX_BARS = 48


def per_hour(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Labels per hour over time, counted in bins wide enough for the time the labels span."""
    times = frame["created_at"]
    span = (times.max() - times.min()).total_seconds()
    seconds, shape, name = next((b for b in BINS if span / b[0] <= MAX_BARS), BINS[-1])
    counts = frame.set_index("created_at").resample(f"{seconds}s").size()
    rates = pd.DataFrame({"time": counts.index.strftime(shape), "labels per hour": counts.to_numpy() * 3600 / seconds})
    return rates, name


# What the label distribution counts per class (a comment: Streamlit would draw a bare string).
COUNTED = {Task.CLASSIFY: "items", Task.BOXES: "boxes", Task.SPANS: "spans"}


def distribution(frame: pd.DataFrame) -> pd.DataFrame:
    """Per class, the labels that give it (a box or span project: its boxes or spans)."""
    tally = frame["label"].map(label_classes).explode().value_counts()
    counted = COUNTED[project.options.task]
    return pd.DataFrame({"label": list(project.labels), counted: [int(tally.get(l, 0)) for l in project.labels]})


def charts(frame: pd.DataFrame, labels_of: pd.DataFrame, who: str) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Labels per hour")
        if frame.empty:
            st.caption(f"No labels from {who} yet.")
        else:
            rates, width = per_hour(frame)
            st.bar_chart(rates, x="time", y="labels per hour", x_label="", sort=False)
            st.caption(f"Counted per {width} (UTC).")
    with right:
        st.subheader("Label distribution")
        if labels_of.empty:
            st.caption("No labels yet.")
        else:
            tally = distribution(labels_of)
            st.bar_chart(tally, x="label", y=COUNTED[project.options.task], horizontal=True, sort=False, x_label="", y_label="")


def kappa_heatmap(pairs: pd.DataFrame) -> alt.Chart:
    """Cohen's kappa of every pair of labellers, both ways round, with the items each figure rests on."""
    both = pd.concat([pairs, pairs.rename(columns={"labeller_a": "labeller_b", "labeller_b": "labeller_a"})])
    both["text"] = [
        ("–" if pd.isna(k) else f"{k:.2f}") + f" ({n})" for k, n in zip(both["kappa"], both["items"])
    ]
    base = alt.Chart(both).encode(
        x=alt.X("labeller_a:N", title=None, axis=alt.Axis(labelAngle=0)), y=alt.Y("labeller_b:N", title=None)
    )
    cells = base.mark_rect().encode(
        color=alt.Color("kappa:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue"), title="kappa"),
        tooltip=["labeller_a", "labeller_b", alt.Tooltip("kappa:Q", format=".2f"), "items"],
    )
    return (cells + base.mark_text(fontSize=12).encode(text="text:N")).properties(
        height=max(160, 50 * both["labeller_a"].nunique())
    )


def share_chart(frame: pd.DataFrame, column: str, items: str) -> None:
    shown = frame[frame[items] > 0]
    height = max(160, 40 * len(shown))
    st.bar_chart(shown, x="labeller", y=column, horizontal=True, x_label="", y_label="", height=height)
    st.caption(
        " · ".join(f"{ui.literal(n)}: {counted(c, 'item')}" for n, c in zip(shown["labeller"], shown[items]))
    )


def headline(measure: str, value: float | None, explained: str, items: int) -> None:
    """The agreement figure over all items labelled by two or more, beside how many there are."""
    a, b = st.columns(2)
    a.metric(measure, "–" if value is None else f"{value:.2f}", help=explained)
    b.metric("Items labelled by two or more", f"{items:,}")


def per_class_chart(title: str, frame: pd.DataFrame, column: str, none_yet: str) -> None:
    """One bar per label where the figure is defined (`frame`: columns label, `column`)."""
    st.markdown(f"**{title}**")
    shown = frame.dropna(subset=[column])
    if shown.empty:
        st.caption(none_yet)
    else:
        st.bar_chart(shown, x="label", y=column, horizontal=True, x_label="", y_label="", sort=False)


def shape_section(shapes: ShapeAgreement) -> None:
    """A box or span project's agreement: F1 between labellers over the items both labelled."""
    matched = (
        f"boxes matched by class and IoU ≥ {project.options.iou_threshold:g}"
        if project.options.task is Task.BOXES
        else "spans matched exactly (same characters and class; by overlap in the pairs' table)"
    )
    headline("F1 between labellers", shapes.f1, f"1 = the same {matched}.", shapes.items)
    left, right = st.columns(2)
    with left:
        per_class_chart("F1 per class", shapes.per_class, "f1", "No class was drawn or marked by two people on one item yet.")
    with right:
        st.markdown("**F1 per pair of labellers** (items both labelled)")
        st.dataframe(
            shapes.pairs,
            hide_index=True,
            column_config={
                "labeller_a": "labeller",
                "labeller_b": "with",
                "f1": st.column_config.NumberColumn("F1", format="%.2f"),
                "f1_overlap": st.column_config.NumberColumn("F1, spans overlapping", format="%.2f"),
            },
        )


def quality_section(figures: Agreement) -> None:
    """Agreement between labellers and accuracy on gold items, each figure with the items it rests on."""
    stats = figures.labellers
    st.subheader("Agreement")
    if figures.shapes is not None and figures.shapes.items:
        shape_section(figures.shapes)
    elif figures.alpha.items == 0:
        st.caption(
            "Agreement needs items labelled by two or more people: set more than one labeller per item on "
            "the Setup page (Quality control)."
        )
    else:
        headline(
            "Krippendorff's alpha",
            figures.alpha.value,
            "1 = perfect agreement, 0 = no better than chance; nominal, over items with two or more labels.",
            figures.alpha.items,
        )
        left, right = st.columns(2)
        with left:
            per_class_chart(
                "Alpha per label", figures.per_label, "alpha", "Not defined yet: every label was given by everyone or no one."
            )
        with right:
            st.markdown(
                "**Agreement with the final label**",
                help="The share of each person's labels, on items with two or more labels (gold items left out), "
                "that equal the item's final label. A tie has no final label and counts as not agreeing.",
            )
            share_chart(stats, "agreement", "agreement_items")  # the items alpha counts: two or more labels
        if not figures.kappa.empty:
            st.markdown("**Cohen's kappa per pair of labellers** (items both labelled)")
            st.altair_chart(kappa_heatmap(figures.kappa), width="stretch")
    if stats["gold_items"].any():
        st.subheader("Gold items")
        st.markdown("**Accuracy on gold items**")
        share_chart(stats, "gold_accuracy", "gold_items")
    paired = figures.alpha.items or (figures.shapes is not None and figures.shapes.items)
    if paired or stats["gold_items"].any():
        unused = [] if paired else ["agreement", "agreement_items"]
        unused += [] if stats["gold_items"].any() else ["gold_accuracy", "gold_items"]
        st.dataframe(
            stats.drop(columns=unused),
            hide_index=True,
            column_config={
                "median_seconds": st.column_config.NumberColumn("median seconds", format="%.1f"),
                "skip_rate": st.column_config.NumberColumn("skip rate", format="percent"),
                "agreement": st.column_config.NumberColumn("agreement", format="percent"),
                "agreement_items": "items (agreement)",
                "gold_accuracy": st.column_config.NumberColumn("gold accuracy", format="percent"),
                "gold_items": "gold items",
            },
        )


if not me.is_admin:
    st.title("My stats")
    st.caption(project.name)
    mine = counts.per_labeller.get(me.name)
    a, b, c = st.columns(3)
    a.metric("Items I labelled", f"{mine.labels if mine else 0:,}")
    b.metric("Median seconds per item", f"{mine.median_seconds:.1f}" if mine and mine.median_seconds else "–")
    c.metric("Items I skipped", f"{mine.skips if mine else 0:,}")
    charts(labelled, current, "you")
    st.stop()

st.title("Progress")
st.caption(project.name)
st.progress(counts.fraction, text=f"{counts.fraction:.0%} of items have all the labels they need")
a, b, c, d = st.columns(4)
a.metric("Items", f"{counts.total:,}")
b.metric("Done", f"{counts.complete:,}")
c.metric("Being labelled now", f"{counts.in_progress:,}")
d.metric("Left", f"{counts.remaining:,}")

charts(labelled, current, "anyone")

st.subheader("Labellers")
if not counts.per_labeller:
    st.caption("Nobody has labelled yet.")
else:
    people = pd.DataFrame(
        [
            {"labeller": name, "labels": p.labels, "skips": p.skips, "median seconds": p.median_seconds or 0.0}
            for name, p in counts.per_labeller.items()
        ]
    )
    titles = {"labels": "Labels", "median seconds": "Median seconds per item", "skips": "Skips"}
    for box, (column, title) in zip(st.columns(3), titles.items()):
        with box:
            st.markdown(f"**{title}**")
            if people[column].any():
                height = max(160, 40 * len(people))
                st.bar_chart(people, x="labeller", y=column, horizontal=True, x_label="", y_label="", height=height)
            else:
                st.caption("None yet.")
quality_section(figures)
st.caption(f"Figures are at most {ui.STATS_TTL_SECONDS} seconds old.")
