"""Architecture diagram: stages x block slots, each cell showing kernel and expand ratio."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ofa_dash.space import MAX_DEPTH, N_STAGES, Arch, SearchSpace
from ofa_dash.ui.theme import style


def arch_figure(space: SearchSpace, arch: Arch) -> go.Figure:
    """A grid with one row per stage and one column per block slot.

    Active blocks are coloured by their middle width (expand ratio x input
    channels) and labelled ``k7 e6``; slots the depth switches off are blank.
    """
    space.validate(arch)
    z = np.full((N_STAGES, MAX_DEPTH), np.nan)
    text = [["" for _ in range(MAX_DEPTH)] for _ in range(N_STAGES)]
    hover = [["inactive (depth)" for _ in range(MAX_DEPTH)] for _ in range(N_STAGES)]
    sizes = space.slot_sizes(arch.r)
    for i in arch.active_slots():
        slot = space.slots[i]
        mid = space.mid_channels(slot.in_channels, arch.e[i])
        z[slot.stage, slot.position] = mid
        text[slot.stage][slot.position] = f"k{arch.ks[i]} e{arch.e[i]}"
        hover[slot.stage][slot.position] = (
            f"stage {slot.stage + 1}, block {slot.position + 1}<br>kernel {arch.ks[i]}, expand {arch.e[i]} ({slot.in_channels}->{mid}->{slot.out_channels})"
            f"<br>stride {slot.stride}, {sizes[i][0]}x{sizes[i][0]} -> {sizes[i][1]}x{sizes[i][1]}<br>{slot.act}{', SE' if slot.se else ''}"
        )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"block {j + 1}" for j in range(MAX_DEPTH)],
            y=[f"stage {s + 1} (d={arch.d[s]}, {space.stages[s].channels} ch)" for s in range(N_STAGES)],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 18},
            hovertext=hover,
            hoverinfo="text",
            colorscale="Blues",
            colorbar={"title": "mid ch"},
            xgap=4,
            ygap=4,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=f"{space.name} subnet {arch.id} at {arch.r}x{arch.r}")
    return style(fig, height=380)
