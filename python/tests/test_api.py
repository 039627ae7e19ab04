"""The Python package against the shipped models and properties: verdicts,
witnesses re-evaluated with NumPy, robustness properties against the
VNN-LIB files of the same balls, errors as exception classes, Ctrl-C."""

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import reluverify

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
SPECS = ROOT / "specs"
SHARED_MNIST = ROOT.parent / "shared" / "benchmarks" / "mnistfc"


def nnet_forward(path, x):
    """An independent f64 forward pass of a .nnet file in NumPy, on
    normalised values as `load_model` reads the file (the network in the
    file: ReLU hidden layers, a linear last layer)."""
    lines = [l for l in Path(path).read_text().splitlines() if l.strip() and not l.startswith("//")]
    rows = [[float(v) for v in l.split(",") if v.strip()] for l in lines]
    n_layers = int(rows[0][0])
    sizes = [int(v) for v in rows[1]]
    at = 7
    v = np.asarray(x, dtype=np.float64)
    for k in range(n_layers):
        w = np.asarray(rows[at : at + sizes[k + 1]])
        at += sizes[k + 1]
        b = np.asarray([r[0] for r in rows[at : at + sizes[k + 1]]])
        at += sizes[k + 1]
        v = w @ v + b
        if k < n_layers - 1:
            v = np.maximum(v, 0.0)
    return v


def test_abs_holds():
    r = reluverify.check(str(MODELS / "abs.onnx"), str(SPECS / "abs_nonneg.json"))
    assert r.verdict == "holds" and r and r.proved_by is not None and r.witness is None


def test_violated_witness_checks_out_in_numpy():
    model = MODELS / "acasxu_1_1.nnet"
    box = json.loads((SPECS / "acasxu_prop1.json").read_text())["inputs"]
    lo = np.array([b["lower"] for b in box])
    hi = np.array([b["upper"] for b in box])
    # Unsafe: the clear-of-conflict score at least its value in the middle
    # of the box (so some input, the middle at least, is unsafe).
    y_mid = nnet_forward(model, (lo + hi) / 2)
    prop = {"inputs": [{"lower": l, "upper": h} for l, h in zip(lo, hi)], "unsafe": f"y0 >= {float(y_mid[0])!r}"}
    r = reluverify.check(model, prop, timeout=60)
    assert r.verdict == "violated", r
    w = r.witness
    assert w.input.shape == (5,) and w.output.shape == (5,)
    want = nnet_forward(model, w.input)
    np.testing.assert_allclose(w.output, want, rtol=1e-9, atol=1e-12)
    assert want[0] >= y_mid[0] - 1e-9
    assert np.all(w.input >= lo) and np.all(w.input <= hi)


def test_model_forward_and_bounds_contain_samples():
    m = reluverify.load_model(MODELS / "acasxu_1_1.nnet")
    assert (m.input_dim, m.output_dim) == (5, 5)
    prop = reluverify.load_property(SPECS / "acasxu_prop1.json")
    lo, hi = (np.asarray(v) for v in prop.input_box(0))
    layers = reluverify.bounds(m, prop, method="optimised")
    assert len(layers) == m.layers and layers[-1].activation == "identity"
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = lo + rng.random(5) * (hi - lo)
        y = np.asarray(m.forward(x.tolist()))
        np.testing.assert_allclose(y, nnet_forward(MODELS / "acasxu_1_1.nnet", x), rtol=1e-9, atol=1e-9)
        assert np.all(y >= layers[-1].lower - 1e-9) and np.all(y <= layers[-1].upper + 1e-9)


def mnist_ball(vnnlib):
    """The center, radius and label of a VNN-COMP MNIST property: a box of
    x +- eps clipped to [0, 1], and 'some Y_j >= Y_label'."""
    text = Path(vnnlib).read_text()
    lo, hi = {}, {}
    for op, i, v in re.findall(r"\(assert \((<=|>=) X_(\d+) ([-\d.e]+)\)\)", text):
        (hi if op == "<=" else lo)[int(i)] = float(v)
    n = len(lo)
    lo = np.array([lo[i] for i in range(n)])
    hi = np.array([hi[i] for i in range(n)])
    eps = float(re.search(r"_([\d.]+)\.vnnlib$", str(vnnlib)).group(1))
    center = np.where(lo <= 0.0, np.maximum(hi - eps, 0.0), np.where(hi >= 1.0, np.minimum(lo + eps, 1.0), (lo + hi) / 2))
    label = int(re.search(r"label: (\d+)", text).group(1))
    return center, eps, label


def test_robustness_agrees_with_the_shipped_vnnlib():
    model = reluverify.load_model(MODELS / "mnist-net_256x2.onnx")
    vnnlib = SPECS / "mnistfc_prop_0_0.03.vnnlib"
    center, eps, label = mnist_ball(vnnlib)
    ball = reluverify.robustness(center.reshape(1, 28, 28), eps, label, lower=0.0, upper=1.0)
    assert ball.argmax == label and ball.input_dim == 784
    assert reluverify.check(model, ball).verdict == reluverify.check(model, vnnlib).verdict == "holds"
    wide = reluverify.check(model, reluverify.robustness(center, 0.2, label, 0.0, 1.0))
    assert wide.verdict == "violated"
    assert np.max(np.abs(wide.witness.input - center)) <= 0.2 + 1e-12
    assert np.argmax(wide.witness.output) != label or np.sum(wide.witness.output == wide.witness.output[label]) > 1


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="needs ../shared/benchmarks/mnistfc (the VNN-COMP 2021 set)")
@pytest.mark.parametrize(
    "net,prop",
    [
        ("mnist-net_256x2.onnx", "prop_11_0.03.vnnlib"),
        ("mnist-net_256x2.onnx", "prop_2_0.05.vnnlib"),
        ("mnist-net_256x2.onnx", "prop_7_0.05.vnnlib"),
        ("mnist-net_256x4.onnx", "prop_3_0.05.vnnlib"),
    ],
)
def test_robustness_agrees_with_vnncomp(net, prop):
    expected = {}
    for line in (SHARED_MNIST / "expected.csv").read_text().splitlines()[1:]:
        f = line.split(",")
        expected[(f[0], f[1])] = f[2]
    center, eps, label = mnist_ball(SHARED_MNIST / prop)
    r = reluverify.check(SHARED_MNIST / net, reluverify.robustness(center, eps, label, 0.0, 1.0), timeout=60)
    assert r.verdict == expected[(net, prop)], (r, expected[(net, prop)])


def test_errors_are_exceptions_by_kind(tmp_path):
    with pytest.raises(reluverify.IoError):
        reluverify.load_model(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(reluverify.OnnxError):
        reluverify.load_model(bad)
    with pytest.raises(reluverify.SpecError, match="unsafe"):
        reluverify.load_property({"inputs": [{"lower": 0, "upper": 1}], "unsafe": "y0 <= "})
    broken = tmp_path / "broken.json"
    broken.write_text('{"inputs": [{"lower": 0, "upper": 1}],\n "unsafe": }')
    with pytest.raises(reluverify.SpecError, match=r"broken.json:2:"):
        reluverify.load_property(broken)
    # A property written for another model.
    with pytest.raises(reluverify.SpecError, match="declares 5 inputs"):
        reluverify.check(MODELS / "abs.onnx", SPECS / "acasxu_prop1.json")
    with pytest.raises(reluverify.SpecError):
        reluverify.robustness([0.5], -1.0, 0)
    with pytest.raises(reluverify.UsageError):
        reluverify.check(MODELS / "abs.onnx", SPECS / "abs_nonneg.json", timeout=-1)
    assert issubclass(reluverify.LimitError, reluverify.ReluverifyError)


def test_ctrl_c_stops_a_long_check():
    model = reluverify.load_model(MODELS / "mnist-net_256x2.onnx")
    # Every image: all 512 neurons unstable, and a bound no sample reaches;
    # without a time limit this runs for minutes.
    prop = {"inputs": [{"lower": 0, "upper": 1}] * 784, "unsafe": "y0 >= 40"}
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            r = reluverify.check(model, prop)
            pytest.fail(f"finished before the interrupt: {r}")
    finally:
        timer.cancel()
    assert time.monotonic() - start < 15.0
    # The next check runs normally.
    assert reluverify.check(MODELS / "abs.onnx", SPECS / "abs_nonneg.json").verdict == "holds"
