#!/usr/bin/env python3
"""Write a one-input network and a property with thousands of input regions.

The shape of VNN-COMP's learned-index benchmark: a network with one input
(a key) and one output (a position), and a VNN-LIB property that is a flat
disjunction of small input intervals, each with its own output bounds.
Region i contributes two disjuncts,

    (and (>= X_0 a_i) (<= X_0 b_i) (>= Y_0 hi_i))
    (and (>= X_0 a_i) (<= X_0 b_i) (<= Y_0 lo_i))

with hi_i just above the network's maximum on [a_i, b_i] and lo_i just
below its minimum, so the property holds, and only just: every region has to
be bounded tightly enough to separate it from both bounds.

The extremes are taken from the network evaluated on a grid of GRID points
over [0, 1] (and at every interval's ends), widened by the most the
function can move within one grid cell (a piecewise-linear function whose
slope is at most S changes by at most S * h / 2 beyond its values at a
cell's ends, and S is taken as twice the steepest slope seen between grid
points) and by MARGIN of the output's range.

Usage: many-regions.py OUT_DIR [--disjuncts N] [--seed S]
writes OUT_DIR/lindex.nnet and OUT_DIR/lindex_N.vnnlib.
"""

import argparse
import pathlib

import numpy as np

import nnet

# Layer widths: 1 -> 128 -> 128 -> 128 -> 1, about 33k parameters like the
# learned-index networks.
WIDTHS = [1, 128, 128, 128, 1]
# Grid points over the input domain [0, 1] for the extremes.
GRID = 1 << 20
# How far beyond the extremes the output bounds lie, as a fraction of the
# output's range over [0, 1]: a hundred times a verifier's usual 1e-6
# tolerances, so that the property is provable, and small enough that only
# bounds within 1e-4 of exact prove it.
MARGIN = 1e-4


def network(rng):
    """Random weights (He initialisation) and biases."""
    layers = []
    for fan_in, fan_out in zip(WIDTHS, WIDTHS[1:]):
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
        b = rng.normal(0.0, 0.5, size=fan_out)
        layers.append((w, b))
    return layers


def forward(layers, x):
    """Outputs for a column of inputs."""
    h = x.reshape(-1, 1)
    for k, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if k + 1 < len(layers):
            h = np.maximum(h, 0.0)
    return h[:, 0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=pathlib.Path)
    p.add_argument("--disjuncts", type=int, default=60000, help="even: two per region")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    layers = network(rng)
    args.out.mkdir(parents=True, exist_ok=True)
    nnet.write(args.out / "lindex.nnet", layers, 0.0, 1.0, "one-input network written by scripts/many-regions.py")

    regions = args.disjuncts // 2
    width = rng.uniform(1e-4, 1e-2, size=regions)
    a = rng.uniform(0.0, 1.0 - width)
    b = a + width
    xs = np.linspace(0.0, 1.0, GRID)
    ys = np.concatenate([forward(layers, xs[i : i + (1 << 16)]) for i in range(0, GRID, 1 << 16)])
    ya, yb = forward(layers, a), forward(layers, b)
    # S * h / 2 with S twice the steepest grid slope max|dy| / h, plus
    # MARGIN of the output's range.
    slack = np.max(np.abs(np.diff(ys))) + MARGIN * (ys.max() - ys.min())
    lo_idx = np.searchsorted(xs, a, side="left")
    hi_idx = np.searchsorted(xs, b, side="right")
    lines = ["; many small input regions, each with its own output bounds (scripts/many-regions.py)"]
    lines += ["(declare-const X_0 Real)", "(declare-const Y_0 Real)", "(assert (or"]
    for i in range(regions):
        inside = ys[lo_idx[i] : hi_idx[i]]
        top = max(ya[i], yb[i], inside.max(initial=-np.inf)) + slack
        bottom = min(ya[i], yb[i], inside.min(initial=np.inf)) - slack
        box = f"(>= X_0 {float(a[i])!r}) (<= X_0 {float(b[i])!r})"
        lines.append(f"  (and {box} (>= Y_0 {float(top)!r}))")
        lines.append(f"  (and {box} (<= Y_0 {float(bottom)!r}))")
    lines.append("))")
    path = args.out / f"lindex_{2 * regions}.vnnlib"
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'lindex.nnet'} and {path} ({regions} regions, slack {slack:.3g})")


if __name__ == "__main__":
    main()
