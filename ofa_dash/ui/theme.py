"""One colour per algorithm and per device, everywhere (plots, tables, legends)."""

from __future__ import annotations

import plotly.graph_objects as go

# Okabe-Ito, readable on a projector and for colour-blind viewers
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
ALGORITHM_COLOURS = {
    "nsga2": "#0072B2",
    "smsemoa": "#E69F00",
    "spea2": "#009E73",
    "nsga3": "#D55E00",
    "agemoea": "#CC79A7",
    "moead": "#56B4E9",
    "rnsga2": "#8C564B",
    "random": "#7F7F7F",
    "ofa-evolution": "#000000",
}
FONT_SIZE = 16
FADED = "rgba(150,150,150,0.35)"
HIGHLIGHT = "#D62728"


def colour_for(name: str, mapping: dict[str, str] | None = None) -> str:
    """Stable colour for any label: the fixed mapping first, else a hash into the palette."""
    mapping = ALGORITHM_COLOURS if mapping is None else mapping
    if name in mapping:
        return mapping[name]
    return PALETTE[sum(map(ord, name)) % len(PALETTE)]


def style(fig: go.Figure, height: int = 520) -> go.Figure:
    """Presentation defaults: large fonts, white background, legend on top."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        font={"size": FONT_SIZE},
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font_size": 14},
    )
    return fig
