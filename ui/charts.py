"""Charts the pages draw with Vega-Lite specs of their own (beyond Streamlit's built-in charts)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

__all__ = ["learning_curve"]


def learning_curve(curve: pd.DataFrame, honest: str, cross_validated: str, title: str = "accuracy") -> None:
    """A score (column `accuracy`, the axis named `title`) against labelled items, one row per run and
    measure (`measure` is `honest` or `cross_validated`): the honest measure's 95% band (`low`, `high`), a line per measure and points of their
    own, the cross-validated ones hollow squares under the honest filled circles, so one run's two points
    never hide each other."""
    x = {"field": "labelled items", "type": "quantitative", "axis": {"format": "d", "tickMinStep": 1}}
    st.vega_lite_chart(
        curve,
        {
            "encoding": {"x": x},
            "layer": [
                {
                    "transform": [{"filter": {"field": "measure", "equal": honest}}],
                    "mark": {"type": "area", "opacity": 0.2},
                    "encoding": {
                        "y": {"field": "low", "type": "quantitative", "scale": {"domain": [0, 1]}},
                        "y2": {"field": "high"},
                    },
                },
                {
                    "mark": {"type": "line"},
                    "encoding": {
                        "y": {"field": "accuracy", "type": "quantitative", "scale": {"domain": [0, 1]}, "title": title},
                        "color": {"field": "measure", "type": "nominal", "title": None, "legend": {"orient": "bottom", "labelLimit": 600}},
                    },
                },
                *(
                    {
                        "transform": [{"filter": {"field": "measure", "equal": measure}}],
                        "mark": {"type": "point", "tooltip": True, "size": 90, "strokeWidth": 2, **mark},
                        "encoding": {"y": {"field": "accuracy", "type": "quantitative"}, "color": {"field": "measure"}},
                    }
                    for measure, mark in (
                        (cross_validated, {"shape": "square", "filled": False}),
                        (honest, {"shape": "circle", "filled": True}),
                    )
                ),
            ],
        },
    )
