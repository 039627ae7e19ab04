#!/usr/bin/env python3
"""A mid-dimensional test set: a 30-input classifier and box properties.

    mid-dim.py OUT_DIR [--points 50] [--eps 0.1 0.15] [--seed 0]

Trains (numpy, Adam, a few seconds) a 30-64-32-2 ReLU network of 4,130
parameters on a smooth synthetic two-class rule over [-1, 1]^30, writes it
as OUT_DIR/mid30.nnet, and for POINTS random points one VNN-LIB property per
eps: every input within eps of the point, unsafe when the other class
scores at least the network's class at the point. OUT_DIR/instances.csv
lists them for `reluverify bench` (20 s timeout column).

Why: networks of 20-50 inputs fall between the two searches (input
splitting is chosen up to 16 inputs, phase splitting above; issue 24). This
set is a stand-in of the size of the text-embedding classifiers people
verify, to compare `--strategy input-split` with `--strategy auto` on the
same instances. It is synthetic: measure real sets where you have them.
"""

import argparse
import os

import numpy as np

import nnet

DIMS = [30, 64, 32, 2]


def train(rng, n=4000, epochs=60, batch=64, lr=0.01):
    d = DIMS[0]
    x = rng.uniform(-1, 1, (n, d))
    a, b = rng.normal(size=d), rng.normal(size=d)
    y = ((np.sin(2 * x @ a / np.sqrt(d)) + (x @ b / np.sqrt(d)) ** 2 - 0.3) > 0).astype(int)
    layers = [[rng.normal(size=(o, i)) * np.sqrt(2 / i), np.zeros(o)] for i, o in zip(DIMS, DIMS[1:])]
    m = [[np.zeros_like(p) for p in layer] for layer in layers]
    v = [[np.zeros_like(p) for p in layer] for layer in layers]
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch):
            xb, yb = x[order[s : s + batch]], y[order[s : s + batch]]
            hs, zs = [xb], []
            for k, (w, c) in enumerate(layers):
                zs.append(hs[-1] @ w.T + c)
                hs.append(np.maximum(zs[-1], 0) if k < len(layers) - 1 else zs[-1])
            p = np.exp(hs[-1] - hs[-1].max(1, keepdims=True))
            g = p / p.sum(1, keepdims=True)
            g[np.arange(len(yb)), yb] -= 1
            g /= len(yb)
            t += 1
            for k in reversed(range(len(layers))):
                w = layers[k][0]
                grads = [g.T @ hs[k], g.sum(0)]
                if k > 0:
                    g = (g @ w) * (zs[k - 1] > 0)
                for j, gr in enumerate(grads):
                    m[k][j] = 0.9 * m[k][j] + 0.1 * gr
                    v[k][j] = 0.999 * v[k][j] + 0.001 * gr * gr
                    step = m[k][j] / (1 - 0.9**t) / (np.sqrt(v[k][j] / (1 - 0.999**t)) + 1e-8)
                    layers[k][j] = layers[k][j] - lr * step
    return layers


def forward(layers, x):
    for k, (w, c) in enumerate(layers):
        x = x @ w.T + c
        if k < len(layers) - 1:
            x = np.maximum(x, 0)
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--eps", type=float, nargs="+", default=[0.1, 0.15])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    layers = train(rng)
    os.makedirs(a.out_dir, exist_ok=True)
    net = os.path.abspath(os.path.join(a.out_dir, "mid30.nnet"))
    nnet.write(net, layers, -10.0, 10.0, "30-input classifier written by scripts/mid-dim.py")
    d, classes = DIMS[0], DIMS[-1]
    rows = []
    for i, x in enumerate(rng.uniform(-1, 1, (a.points, d))):
        label = int(forward(layers, x[None])[0].argmax())
        for eps in a.eps:
            lines = [f"(declare-const X_{j} Real)" for j in range(d)]
            lines += [f"(declare-const Y_{j} Real)" for j in range(classes)]
            for j in range(d):
                lines.append(f"(assert (>= X_{j} {float(x[j] - eps)!r}))")
                lines.append(f"(assert (<= X_{j} {float(x[j] + eps)!r}))")
            other = [f"(and (>= Y_{j} Y_{label}))" for j in range(classes) if j != label]
            lines.append("(assert (or " + " ".join(other) + "))")
            spec = os.path.abspath(os.path.join(a.out_dir, f"prop_{i}_{eps}.vnnlib"))
            with open(spec, "w") as f:
                f.write("\n".join(lines) + "\n")
            rows.append(f"{net},{spec},20")
    with open(os.path.join(a.out_dir, "instances.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"{len(rows)} instances in {a.out_dir}")


if __name__ == "__main__":
    main()
