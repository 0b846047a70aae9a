"""Progress: how far the project is, how fast labels come in, who labels what. Labellers see only their own."""

import pandas as pd
import streamlit as st

import ui

store = ui.store()
me = ui.page_user(store)
project = ui.project_picker(store)

if project is None:
    st.title("Progress")
    st.info("There is no project yet.")
    st.stop()

st.sidebar.button("Refresh figures", key="refresh", on_click=ui.refresh_figures, icon=":material/refresh:")
counts = ui.progress(store, project.id)
history = ui.annotations(store, project.id)
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


def distribution(frame: pd.DataFrame) -> pd.DataFrame:
    given = frame["label"].explode() if project.multi_label else frame["label"]
    tally = given.value_counts()
    return pd.DataFrame({"label": list(project.labels), "items": [int(tally.get(l, 0)) for l in project.labels]})


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
            st.bar_chart(tally, x="label", y="items", horizontal=True, sort=False, x_label="", y_label="")


if not me.is_admin:
    st.title("My stats")
    st.caption(project.name)
    mine = counts.per_labeller.get(me.name)
    a, b, c = st.columns(3)
    a.metric("Items I labelled", f"{mine.labels if mine else 0:,}")
    b.metric("Median seconds per item", f"{mine.median_seconds:.1f}" if mine and mine.median_seconds else "–")
    c.metric("Items I skipped", f"{mine.skips if mine else 0:,}")
    charts(labelled[labelled["labeller"] == me.name], current[current["labeller"] == me.name], "you")
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
st.caption(f"Figures are at most {ui.STATS_TTL_SECONDS} seconds old.")
