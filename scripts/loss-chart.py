#!/usr/bin/env python3
"""Draws cards/nlp/img/loss.png, the sample deck's chart of training loss against
iterations for a small and a large batch.

The background is transparent and every line, label and tick is a mid-tone that reads
on Anki's white card and on its dark night-mode page alike, so the chart neither glares
as a white rectangle at night nor loses black axes against a dark page.

Needs matplotlib and numpy (not dependencies of ankideck):
    python3 scripts/loss-chart.py cards/nlp/img/loss.png
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

GREY = "#8a8a8a"
SMALL = "#e8842c"  # orange
LARGE = "#3d8bf0"  # blue


def main(out: str) -> None:
    rng = np.random.default_rng(16)
    x = np.arange(400)
    trend = 0.25 + 0.75 * np.exp(-x / 70)
    small = trend + rng.normal(0, 0.05, x.size) * (0.6 + trend)
    large = trend + np.convolve(rng.normal(0, 0.01, x.size), np.ones(9) / 9, "same")

    plt.rcParams.update({"font.family": "DejaVu Sans Mono", "font.size": 11})
    fig, ax = plt.subplots(figsize=(4.8, 2.9), dpi=100)
    fig.patch.set_alpha(0)
    ax.patch.set_alpha(0)
    ax.plot(x, small, color=SMALL, linewidth=0.8, label="b=16 (small)")
    ax.plot(x, large, color=LARGE, linewidth=2.2, label="b=512 (large)")
    ax.set_xlim(0, x.size - 1)
    ax.set_ylim(0, 1.12)
    ax.set_xlabel("iteration", color=GREY)
    ax.set_ylabel("loss", color=GREY)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.grid(color=GREY, alpha=0.3, linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("bottom", "left"):
        ax.spines[side].set_color(GREY)
    ax.tick_params(colors=GREY)
    legend = ax.legend(loc="upper right", frameon=False)
    for text in legend.get_texts():
        text.set_color(GREY)
    fig.tight_layout()
    fig.savefig(out, transparent=True, metadata={"Software": None})


if __name__ == "__main__":
    main(sys.argv[1])
