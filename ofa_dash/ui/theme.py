"""How the dashboard looks: one colour per algorithm and per device, figure styling, page CSS, presentation mode.

Presentation mode (the sidebar toggle, ``?present=1`` in a link) is for a
projector: the page loses Streamlit's toolbar and menu, text grows and
captions turn from pale grey to ink, and every figure gets larger, darker
axis titles and ticks (:func:`for_audience`). Nothing here reads session
state: the sidebar passes the flag in.
"""

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
INK = "#111111"  # axis titles and ticks: Streamlit's own chart theme draws them pale grey
AXIS_LINE = "#444444"
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
    _ink_axes(fig, title_size=FONT_SIZE + 1, tick_size=FONT_SIZE - 2)
    return fig


def _axis_style(title_size: int, tick_size: int, width: int = 1) -> dict:
    return {
        "title_font": {"size": title_size, "color": INK},
        "tickfont": {"size": tick_size, "color": INK},
        "linecolor": AXIS_LINE,
        "linewidth": width,
    }


def _ink_axes(fig: go.Figure, title_size: int, tick_size: int, width: int = 1) -> None:
    """Axis titles and ticks in ink on 2D axes and 3D scenes alike (explicit values win over any chart theme)."""
    axis = _axis_style(title_size, tick_size, width)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_scenes(xaxis=axis, yaxis=axis, zaxis=axis)


# --------------------------------------------------------------------------- presentation mode
PROJECTOR_FONT_SIZE = 22


def for_projector(fig: go.Figure) -> go.Figure:
    """``fig`` restyled for a projector: larger text everywhere, axis titles and ticks larger and in ink, thicker axis lines."""
    fig.update_layout(
        font={"size": PROJECTOR_FONT_SIZE, "color": INK},
        title_font={"size": PROJECTOR_FONT_SIZE + 2, "color": INK},
        legend_font={"size": PROJECTOR_FONT_SIZE - 2, "color": INK},
        hoverlabel={"font_size": PROJECTOR_FONT_SIZE - 4},
    )
    _ink_axes(fig, title_size=PROJECTOR_FONT_SIZE + 2, tick_size=PROJECTOR_FONT_SIZE - 2, width=2)
    margin = fig.layout.margin
    if margin.l is not None and margin.l > 0:  # room for the larger tick labels (3D scenes keep their zero margins)
        fig.update_layout(margin={"l": margin.l + 30, "b": (margin.b or 0) + 30})
    legend_y = fig.layout.legend.y
    if legend_y is not None and legend_y < 0:  # a legend under the plot moves below the larger axis title
        fig.update_layout(legend_y=legend_y - 0.1, margin_b=(fig.layout.margin.b or 0) + 40)
    return fig


def for_audience(fig: go.Figure, present: bool) -> go.Figure:
    """The figure as this session shows it: restyled for a projector in presentation mode, else unchanged."""
    return for_projector(fig) if present else fig


# Always: less empty space above the page title (Streamlit leaves 6rem); run/device chips that wrap instead of
# ending in "..."; the run pickers' option lists as wide as their labels (the sidebar is narrower than a run's
# label; the list's rows have a fixed height, so they widen rather than wrap).
BASE_CSS = """
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
[data-testid="stSidebar"] div:has(> [data-testid="stMultiSelectTagsContainer"]), [data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] { max-height: none !important; }
[data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] > span, [data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] > span span { height: auto !important; max-height: none !important; }
[data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] > span { max-width: 100%; padding-top: 0.2rem; padding-bottom: 0.2rem; }
[data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] > span span { white-space: normal !important; text-overflow: clip !important; overflow: visible !important; }
[data-testid="stMultiSelectDropdown"]:has([role="listbox"][aria-label^="runs"]) { min-width: min(44rem, 90vw) !important; }
[data-testid="stMultiSelectDropdown"]:has([role="listbox"][aria-label^="runs"]) [role="listbox"] { width: 100% !important; max-width: none !important; }
"""
# Presentation mode: no toolbar, menu or deploy button; larger text; captions and labels in ink, not pale grey.
PRESENTATION_CSS = """
[data-testid="stToolbar"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"], [data-testid="stDecoration"] { display: none !important; }
html { font-size: 19px; }
[data-testid="stMainBlockContainer"] { color: #000000; }
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"], [data-testid="stMetricLabel"] { color: #111111 !important; opacity: 1 !important; }
"""


def page_css(present: bool) -> str:
    """The ``<style>`` block every page injects (``st.html`` sends a style-only block without taking space)."""
    return "<style>" + BASE_CSS + (PRESENTATION_CSS if present else "") + "</style>"
