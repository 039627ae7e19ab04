#!/usr/bin/env python3
"""Compare reluverify's forward pass with onnxruntime on random inputs.

For each ONNX model, draw K random inputs (seeded), evaluate them with
onnxruntime (CPU, float32: the models' own type) and with reluverify's f64
forward pass (`reluverify.load_model(path).forward`), and report per model the
largest absolute difference and the largest difference scaled by the output
size (see TOLERANCE). Exit 1 if any model is beyond the tolerance, 2 on a
usage or load error.

Inputs: uniform in the input box of a VNN-LIB spec when one is given (the
first instance of the model in an instance list, or --spec), otherwise
uniform in [-1, 1]: negative values matter (a ReLU's sign, the padding value
of a MaxPool), and [0, 1] would never exercise them. Every input is rounded
to float32 before either side sees it, so both evaluate exactly the same
point; reluverify reads the float32 weights exactly into f64, so the
difference is onnxruntime's float32 rounding and nothing else.

The input vector is the graph inputs (the ones onnxruntime asks for; ACAS Xu
also lists its initializers as inputs, onnxruntime does not ask for those)
flattened row-major and concatenated in graph order, a dynamic dimension
(a batch) taken as 1. The output compared is the graph's first output.

usage:
  onnx-reference.py MODEL.onnx... [--spec SPEC.vnnlib] [-k K] [--seed S]
  onnx-reference.py --instances SET_instances.csv... [-k K] [--seed S]
  onnx-reference.py MODEL.onnx [--spec SPEC.vnnlib] -k 4 --write FIXTURE.json

--instances takes every distinct model of a VNN-COMP instance list
(onnx,vnnlib,timeout; paths relative to the list's folder) with the spec of
its first instance, and prints a summary per list. --write exports the
inputs and onnxruntime's outputs of the (single) model as JSON, a fixture for
tests/forward_reference.rs; it still runs the comparison.

Needs numpy, onnxruntime and the reluverify package (`make check-forward`
installs them into target/python-venv).
"""

import argparse
import csv
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

# Largest accepted |reluverify - onnxruntime| on an output, as a fraction of
# 1 + max |output| of that input. onnxruntime computes in float32 (unit
# roundoff 6e-8) with dot products of up to a few thousand terms (784 and
# 3072 inputs, 3x3xC convolutions, 1152- and 1024-wide Gemms) and partial
# sums that can be far larger than the result. Measured (2026-12, 16 to 200
# inputs a model): at most 5.5e-7 inside the benchmarks' spec boxes, 4e-6 on
# [-1, 1] except ACAS Xu, and up to 1.9e-5 on ACAS Xu over [-1, 1] (10,000
# inputs; far outside its normalised input range, hidden values cancel;
# reluverify agrees with a float64 NumPy evaluation there to 1e-14). Bugs
# planted in the ONNX files (a spatially transposed kernel, padding moved to
# the other side, NHWC read with H and W swapped, one channel's bias lost)
# move the outputs by 0.14 to 0.94 of that scale on every input tried; even
# one corner pixel of a CIFAR image read as 0.5 instead of 0.95 moves them by
# 9e-4. 1e-4 catches all of these and stays 5x above the worst rounding seen
# (180x inside the spec boxes, which `make check-forward` and the test
# fixtures use). tests/forward_reference.rs uses the same constant.
TOLERANCE = 1e-4

# Inputs per model unless -k says otherwise.
DEFAULT_SAMPLES = 16

# The sampling range without a spec.
DEFAULT_RANGE = (-1.0, 1.0)

_BOUND = re.compile(r"\(\s*assert\s*\(\s*(<=|>=)\s+X_(\d+)\s+(\S+?)\s*\)\s*\)")


def spec_box(path, n):
    """The input box of a VNN-LIB file with `n` inputs: the per-variable
    bounds `(assert (<= X_i c))` / `(assert (>= X_i c))`; a side the file
    leaves open falls back to DEFAULT_RANGE. (Only the sampling range comes
    from the spec; a box read wrong would not hide a wrong forward pass.)"""
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    for op, i, c in _BOUND.findall(Path(path).read_text()):
        i = int(i)
        if i >= n:
            raise ValueError(f"{path}: X_{i} but the model has {n} inputs")
        if op == "<=":
            hi[i] = float(c) if np.isnan(hi[i]) else min(hi[i], float(c))
        else:
            lo[i] = float(c) if np.isnan(lo[i]) else max(lo[i], float(c))
    lo = np.where(np.isnan(lo), np.minimum(DEFAULT_RANGE[0], np.nan_to_num(hi, nan=np.inf)), lo)
    hi = np.where(np.isnan(hi), np.maximum(DEFAULT_RANGE[1], lo), hi)
    if np.any(lo > hi):
        raise ValueError(f"{path}: empty input box (X_{int(np.argmax(lo > hi))})")
    return lo, hi


class Reference:
    """One model under onnxruntime, its input shapes fixed."""

    def __init__(self, path):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.inputs = []
        for i in self.session.get_inputs():
            if i.type != "tensor(float)":
                raise ValueError(f"{path}: input {i.name!r} is {i.type}, expected tensor(float)")
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
            self.inputs.append((i.name, shape))
        self.input_dim = sum(int(np.prod(s)) for _, s in self.inputs)
        self.output = self.session.get_outputs()[0].name

    def __call__(self, x):
        feed, at = {}, 0
        for name, shape in self.inputs:
            size = int(np.prod(shape))
            feed[name] = x[at : at + size].astype(np.float32).reshape(shape)
            at += size
        return self.session.run([self.output], feed)[0].reshape(-1)


def sample(box, k, rng):
    """`k` points uniform in the box, rounded to float32 (and kept inside)."""
    lo, hi = box
    x = lo + (hi - lo) * rng.random((k, lo.size))
    x32 = x.astype(np.float32)
    return np.clip(x32, lo.astype(np.float32), hi.astype(np.float32)).astype(np.float64)


def compare(model, spec, k, seed):
    """Evaluate `model` both ways on `k` inputs; return a result dict."""
    import reluverify

    ref = Reference(model)
    ours = reluverify.load_model(str(model))
    if ours.input_dim != ref.input_dim:
        raise ValueError(f"{model}: reluverify has {ours.input_dim} inputs, onnxruntime {ref.input_dim}")
    if spec is not None:
        box = spec_box(spec, ref.input_dim)
    else:
        box = (np.full(ref.input_dim, DEFAULT_RANGE[0]), np.full(ref.input_dim, DEFAULT_RANGE[1]))
    xs = sample(box, k, np.random.default_rng(seed))
    cases, worst_abs, worst_scaled, worst = [], 0.0, 0.0, None
    for j, x in enumerate(xs):
        want = ref(x)
        got = np.asarray(ours.forward(x.tolist()), dtype=np.float64)
        if got.shape != want.shape:
            raise ValueError(f"{model}: reluverify gives {got.size} outputs, onnxruntime {want.size}")
        diff = np.abs(got - want.astype(np.float64))
        scale = 1.0 + float(np.max(np.abs(want)))
        scaled = float(np.max(diff)) / scale
        if scaled >= worst_scaled:
            worst_scaled, worst = scaled, (j, x, want, got)
        worst_abs = max(worst_abs, float(np.max(diff)))
        cases.append((x, want))
    return {
        "model": str(model),
        "spec": None if spec is None else str(spec),
        "max_abs": worst_abs,
        "max_scaled": worst_scaled,
        "ok": worst_scaled <= TOLERANCE,
        "worst": worst,
        "cases": cases,
    }


def f32(v):
    """The shortest decimal that reads back as the float32 `v`."""
    return float(np.format_float_positional(np.float32(v), unique=True, trim="-"))


def write_fixture(path, result, seed):
    model = Path(result["model"])
    spec = result["spec"]
    doc = {
        "comment": (
            "Inputs and onnxruntime (CPU, float32) outputs of the model, written by "
            "scripts/onnx-reference.py --write. Inputs are uniform in "
            + ("the input box of the spec" if spec else f"[{DEFAULT_RANGE[0]}, {DEFAULT_RANGE[1]}]")
            + "; every number is a float32 in its shortest form: read it as f32. "
            "The input is the graph input flattened row-major."
        ),
        "model": model.name,
        "spec": None if spec is None else Path(spec).name,
        "seed": seed,
        "tolerance": TOLERANCE,
        "cases": [{"input": [f32(v) for v in x], "output": [f32(v) for v in y]} for x, y in result["cases"]],
    }
    text = json.dumps(doc, indent=1)
    # One line per vector: the fixtures stay small and diffable.
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text + "\n")


def instance_models(csv_path):
    """(model, first spec) for each distinct model of an instance list."""
    root = Path(csv_path).parent
    seen = {}
    with open(csv_path, newline="") as f:
        for row in csv.reader(f):
            if not row or row[0].strip() in ("", "onnx"):
                continue
            model = os.path.normpath(root / row[0].strip())
            if model not in seen:
                seen[model] = os.path.normpath(root / row[1].strip()) if len(row) > 1 and row[1].strip() else None
    return list(seen.items())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL.onnx")
    p.add_argument("--spec", help="VNN-LIB file whose input box the inputs of MODEL.onnx are drawn from")
    p.add_argument("--instances", action="append", default=[], metavar="CSV", help="every model of an instance list")
    p.add_argument("-k", type=int, default=DEFAULT_SAMPLES, help=f"inputs per model (default {DEFAULT_SAMPLES})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--write", metavar="FILE.json", help="export inputs and onnxruntime outputs of one model")
    a = p.parse_args()
    groups = []
    if a.models:
        groups.append(("(given)", [(m, a.spec) for m in a.models]))
    for c in a.instances:
        groups.append((Path(c).parent.name, instance_models(c)))
    if not groups or (a.write and sum(len(g) for _, g in groups) != 1):
        p.error("give models or --instances (--write takes exactly one model)")
    if a.k < 1:
        p.error("-k must be at least 1")

    failures, summary = [], []
    for name, jobs in groups:
        set_abs = set_scaled = 0.0
        for model, spec in jobs:
            try:
                r = compare(model, spec, a.k, a.seed)
            except Exception as e:  # a load or shape error: report it, not a traceback
                print(f"error: {model}: {e}", file=sys.stderr)
                return 2
            status = "ok" if r["ok"] else "MISMATCH"
            print(f"{status:8} {model}: max abs {r['max_abs']:.3e}, max scaled {r['max_scaled']:.3e} ({a.k} inputs)")
            sys.stdout.flush()
            set_abs, set_scaled = max(set_abs, r["max_abs"]), max(set_scaled, r["max_scaled"])
            if not r["ok"]:
                failures.append(r)
            if a.write:
                write_fixture(a.write, r, a.seed)
                print(f"wrote {a.write}")
        summary.append((name, len(jobs), set_abs, set_scaled))
    print(f"\nscaled error: |reluverify - onnxruntime| / (1 + max|output|), tolerance {TOLERANCE:g}")
    for name, n, ab, sc in summary:
        print(f"  {name:20} {n:3} models  max abs {ab:.3e}  max scaled {sc:.3e}")
    for r in failures:
        j, x, want, got = r["worst"]
        np.set_printoptions(precision=9, threshold=20, linewidth=160)
        print(f"\nMISMATCH {r['model']} (spec {r['spec']}, seed {a.seed}, input #{j}):", file=sys.stderr)
        print(f"  input       {x}", file=sys.stderr)
        print(f"  onnxruntime {want}", file=sys.stderr)
        print(f"  reluverify  {got}", file=sys.stderr)
    if failures:
        print(
            f"error: {len(failures)} model(s) disagree with onnxruntime beyond {TOLERANCE:g} of the output scale",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
