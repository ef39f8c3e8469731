"""Pictures of a spatial run: the tissue's cells coloured by state over a cytokine field, and the disease
course as an animation (matplotlib's Pillow writer, GIF)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

#: (label, colour, marker, size) of each drawn cell state.
STYLES = {
    "microglia surveillant": ("#9e9e9e", "o", 9),
    "microglia pro-inflammatory (M1)": ("#d62728", "o", 22),
    "microglia protective (M2)": ("#1f77b4", "o", 22),
    "astrocyte (reactivity)": ("#8e44ad", "*", 20),
    "motor neuron, connected": ("#2ca02c", "^", 80),
    "motor neuron, no axon on muscle": ("#ff7f0e", "^", 80),
    "motor neuron, dead": ("black", "x", 60),
}


def _classes(cells):
    """Boolean masks of the drawn cell classes of one snapshot's cell table."""
    t = cells["type"].astype(str).to_numpy()
    alive = cells["alive"].to_numpy()
    state = cells["microglia_state"].to_numpy()
    mn = t == "motor_neuron"
    return {
        "microglia surveillant": (t == "microglia") & alive & (state == 0),
        "microglia pro-inflammatory (M1)": (t == "microglia") & alive & (state == 1),
        "microglia protective (M2)": (t == "microglia") & alive & (state == 2),
        "astrocyte (reactivity)": (t == "astrocyte") & alive,
        "motor neuron, connected": mn & alive & cells["axon_connected"].to_numpy(),
        "motor neuron, no axon on muscle": mn & alive & ~cells["axon_connected"].to_numpy(),
        "motor neuron, dead": mn & ~alive,
    }


def draw_snapshot(ax, record, k: int, field: str = "tnf", vmax: float | None = None):
    """Draw snapshot ``k`` of a ``TissueRecord`` on ``ax``: ``field`` (its middle z layer) as an image,
    cells on top by state; astrocytes shaded by reactivity. Returns the image."""
    f = record.fields[k, record.field_names.index(field)]
    layer = f[f.shape[0] // 2]
    ny, nx = layer.shape
    extent = (0, nx * record.dx_um, 0, ny * record.dx_um)
    im = ax.imshow(layer, origin="lower", extent=extent, cmap="magma", vmin=float(layer.min()) if vmax is None else 0,
                   vmax=vmax)
    region = record.region[record.region.shape[0] // 2]
    ax.contour(region, levels=[1.5], origin="lower", extent=extent, colors="white", linewidths=0.6, alpha=0.6)
    cells = record.cells[record.cells["age_d"] == record.times[k]]
    for name, mask in _classes(cells).items():
        colour, marker, size = STYLES[name]
        sel = cells[mask]
        if sel.empty:  # e.g. a conditioned-medium well has no glia
            continue
        kw = {"edgecolors": "white"} if marker == "^" else {}
        if name.startswith("astrocyte"):
            kw["alpha"] = np.clip(0.15 + 0.85 * sel["astrocyte_reactivity"].to_numpy() / 0.5, 0.15, 1.0)
        ax.scatter(sel["x_um"], sel["y_um"], s=size, c=colour, marker=marker, linewidths=0.8, **kw)
    if record.focus is not None:
        ax.plot(record.focus[0], record.focus[1], "+", color="cyan", ms=12, mew=2)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    well = bool((record.region == 3).any())  # tissue.WELL: a patch of culture-well floor
    ax.set_xlabel("x (µm)" if well else "mediolateral (µm)")
    ax.set_ylabel("y (µm)" if well else "ventral → dorsal (µm)")
    what, unit = ("well", "day in vitro") if well else ("animal", "day")
    ax.set_title(f"{record.group}, {what} {record.animal}: {unit} {record.times[k]:.0f}")
    return im


def _legend(fig):
    handles = [Line2D([], [], ls="", marker=m, color=c, ms=7 if m != "o" else 5, label=n)
               for n, (c, m, _) in STYLES.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=7, frameon=False)


def _colour_scale(record, field: str) -> tuple[float, str]:
    """Top of the colour scale of ``field`` over the whole course (its 99.9th percentile) and the
    colour bar's label; a field that stays zero (no cell makes it, e.g. TNF-α in a well without
    glia) gets the scale 0-1 and says so."""
    vmax = float(np.percentile(record.fields[:, record.field_names.index(field)], 99.9))
    if vmax > 0:
        return vmax, f"{field} (model units)"
    return 1.0, f"{field} (model units): none in this tissue"


def snapshot_figure(record, k: int, field: str = "tnf"):
    """One snapshot as a figure with its colour bar and legend."""
    fig, ax = plt.subplots(figsize=(7.5, 7.2))
    vmax, label = _colour_scale(record, field)
    im = draw_snapshot(ax, record, k, field, vmax)
    fig.colorbar(im, ax=ax, shrink=0.7, label=label)
    _legend(fig)
    fig.subplots_adjust(bottom=0.18)
    return fig


def write_animation(record, path: Path, field: str = "tnf", fps: int = 4) -> Path:
    """The disease course of one tissue as an animated GIF (one frame per snapshot)."""
    fig, ax = plt.subplots(figsize=(6.4, 6.2), dpi=80)
    vmax, label = _colour_scale(record, field)
    im = draw_snapshot(ax, record, 0, field, vmax)
    fig.colorbar(im, ax=ax, shrink=0.7, label=label)
    _legend(fig)
    fig.subplots_adjust(bottom=0.18)

    def frame(k):
        for artist in list(ax.collections) + list(ax.images) + list(ax.lines):
            artist.remove()
        draw_snapshot(ax, record, k, field, vmax)

    anim = FuncAnimation(fig, frame, frames=len(record.times), interval=1000 // fps)
    anim.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path


def write_tissue_pictures(records, folder: Path, field: str = "tnf", per_group: int = 1) -> list[Path]:
    """PNG snapshots (start, middle, last) and an animation for the first ``per_group`` animals of each group."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, seen = [], {}
    for rec in records:
        if seen.get(rec.group, 0) >= per_group:
            continue
        seen[rec.group] = seen.get(rec.group, 0) + 1
        stem = f"animal{rec.animal}"
        for k in sorted({0, len(rec.times) // 2, len(rec.times) - 1}):
            fig = snapshot_figure(rec, k, field)
            path = folder / f"{stem}-day{rec.times[k]:03.0f}.png"
            fig.savefig(path, dpi=90)
            plt.close(fig)
            written.append(path)
        written.append(write_animation(rec, folder / f"{stem}-course.gif", field))
    return written
