//! Tests: graphs written the way `torch.onnx.export` writes them (float32
//! weights in `raw_data`, int64 shape constants, `Constant` nodes, the
//! opset-dependent spellings), one per export pattern. Each loaded network
//! is compared with the graph's math written out by hand in plain f64 on
//! random inputs ([`assert_agrees`]), and the error patterns check the
//! [`ErrorKind`].
//!
//! It also writes the committed end-to-end model
//! `tests/data/view_flatten_max_abs.onnx` (see [`view_flatten_max_abs`]),
//! and checks that the committed file is what this code writes.

use super::test_graph::{assert_agrees, attr_f, attr_i, attr_ints, attr_t, attr_t_i64, TestGraph};
use crate::error::ErrorKind;
use crate::model::Network;

/// `h.view(h.size(0), -1)` as exported at `opset`: `Shape -> Gather(0) ->
/// Unsqueeze -> Concat(.., [-1]) -> Reshape`, with the axes of `Unsqueeze`
/// an attribute before opset 13 and a `Constant` input from then on.
fn view_flatten(g: TestGraph, opset: i64, input: &str, output: &str) -> TestGraph {
    let g = g
        .node("Shape", &[input], "shape", vec![])
        .node("Constant", &[], "zero", vec![attr_t_i64("value", &[], &[0])])
        .node("Gather", &["shape", "zero"], "batch", vec![attr_i("axis", 0)]);
    let g = if opset >= 13 {
        g.node("Constant", &[], "axes0", vec![attr_t_i64("value", &[1], &[0])]).node(
            "Unsqueeze",
            &["batch", "axes0"],
            "batch1",
            vec![],
        )
    } else {
        g.node("Unsqueeze", &["batch"], "batch1", vec![attr_ints("axes", &[0])])
    };
    g.node("Constant", &[], "minus1", vec![attr_t_i64("value", &[1], &[-1])])
        .node("Concat", &["batch1", "minus1"], "target", vec![attr_i("axis", 0)])
        .node("Reshape", &[input, "target"], output, vec![])
}

/// `W x + b` for `W` stored `[out, in]` (a `Gemm` with `transB = 1`), on the
/// f32-rounded weights the file holds.
fn dense(w: &[f64], b: &[f64], x: &[f64]) -> Vec<f64> {
    let f = |v: f64| f64::from(v as f32);
    b.iter()
        .enumerate()
        .map(|(j, &bj)| x.iter().enumerate().map(|(k, &xk)| f(w[j * x.len() + k]) * xk).sum::<f64>() + f(bj))
        .collect()
}

/// A `[N, 1, 2, 2]` image through `view(size(0), -1)`, `Linear(4, 3)`, ReLU
/// and `Linear(3, 2)`, as exported at opsets 11 and 13.
#[test]
fn view_flatten_then_linear() {
    let w1 = [0.5, -1.0, 0.25, 2.0, -0.75, 0.5, 1.5, -0.5, 1.0, 1.0, -2.0, 0.125];
    let b1 = [0.1, -0.2, 0.3];
    let w2 = [1.0, -1.0, 0.5, 0.25, 2.0, -1.5];
    let b2 = [0.0, 0.5];
    for opset in [11, 13, 17] {
        let g = TestGraph::new(opset, &[-1, 1, 2, 2])
            .init_f32("fc1.weight", &[3, 4], &w1)
            .init_f32("fc1.bias", &[3], &b1)
            .init_f32("fc2.weight", &[2, 3], &w2)
            .init_f32("fc2.bias", &[2], &b2);
        let net = view_flatten(g, opset, "x", "flat")
            .node("Gemm", &["flat", "fc1.weight", "fc1.bias"], "h", vec![attr_f("alpha", 1.0), attr_i("transB", 1)])
            .node("Relu", &["h"], "r", vec![])
            .node("Gemm", &["r", "fc2.weight", "fc2.bias"], "y", vec![attr_i("transB", 1)])
            .output("y")
            .load()
            .unwrap_or_else(|e| panic!("opset {opset}: {e}"));
        assert_eq!(net.layers().len(), 2);
        assert_agrees(&net, 4, |x| {
            let r: Vec<f64> = dense(&w1, &b1, x).iter().map(|v| v.max(0.0)).collect();
            dense(&w2, &b2, &r)
        });
    }
}

/// `torch.flatten(x, 1)` after a float -> float `Cast` (as `x.float()` on a
/// float input exports), `Identity` on a shared weight, `Dropout` with its
/// ratio input (exported in training-preserving mode), and `Neg`.
#[test]
fn cast_identity_dropout_neg_anywhere() {
    let w = [1.0, 2.0, -1.0, 0.5, 0.25, -0.75];
    let net = TestGraph::new(13, &[-1, 3])
        .init_f32("w", &[2, 3], &w)
        .init_f32("ratio", &[], &[0.5])
        .node("Cast", &["x"], "xf", vec![attr_i("to", 1)])
        .node("Dropout", &["xf", "ratio"], "d0", vec![])
        .node("Flatten", &["d0"], "f", vec![attr_i("axis", 1)])
        .node("Identity", &["w"], "w_shared", vec![])
        .node("Gemm", &["f", "w_shared"], "h", vec![attr_i("transB", 1)])
        .node("Dropout", &["h", "ratio"], "d1", vec![])
        .node("Relu", &["d1"], "r", vec![])
        .node("Identity", &["r"], "i", vec![])
        .node("Neg", &["i"], "n", vec![])
        .node("Dropout", &["n"], "y", vec![])
        .output("y")
        .load()
        .unwrap();
    assert_agrees(&net, 3, |x| dense(&w, &[0.0, 0.0], x).iter().map(|v| -v.max(0.0)).collect());
    // Dropout switched on by a constant training_mode is refused.
    let err = TestGraph::new(13, &[1, 3])
        .init_f32("ratio", &[], &[0.5])
        .node("Constant", &[], "train", vec![attr_t_i64("value", &[], &[1])])
        .node("Dropout", &["x", "ratio", "train"], "y", vec![])
        .output("y")
        .load()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

/// `nn.Hardtanh()` exports as `Clip` (bounds as `Constant` inputs from
/// opset 11, attributes before), `nn.Hardsigmoid()` as `HardSigmoid` with
/// `alpha = 1/6`.
#[test]
fn hardtanh_and_hardsigmoid() {
    let w = [2.0, -1.0, 0.5, 1.5];
    let hardtanh = |v: f64| v.clamp(-1.0, 1.0);
    let net = TestGraph::new(13, &[-1, 2])
        .init_f32("w", &[2, 2], &w)
        .node("Gemm", &["x", "w"], "h", vec![attr_i("transB", 1)])
        .node("Constant", &[], "lo", vec![attr_t("value", &[], &[-1.0])])
        .node("Constant", &[], "hi", vec![attr_t("value", &[], &[1.0])])
        .node("Clip", &["h", "lo", "hi"], "y", vec![])
        .output("y")
        .load()
        .unwrap();
    assert_agrees(&net, 2, |x| dense(&w, &[0.0, 0.0], x).into_iter().map(hardtanh).collect());
    let net = TestGraph::new(9, &[-1, 2])
        .init_f32("w", &[2, 2], &w)
        .node("Gemm", &["x", "w"], "h", vec![attr_i("transB", 1)])
        .node("Clip", &["h"], "y", vec![attr_f("min", -1.0), attr_f("max", 1.0)])
        .output("y")
        .load()
        .unwrap();
    assert_agrees(&net, 2, |x| dense(&w, &[0.0, 0.0], x).into_iter().map(hardtanh).collect());
    let alpha = f64::from(1.0f32 / 6.0);
    let net = TestGraph::new(14, &[-1, 2])
        .init_f32("w", &[2, 2], &w)
        .node("Gemm", &["x", "w"], "h", vec![attr_i("transB", 1)])
        .node("HardSigmoid", &["h"], "y", vec![attr_f("alpha", 1.0 / 6.0)])
        .output("y")
        .load()
        .unwrap();
    assert_agrees(&net, 2, |x| dense(&w, &[0.0, 0.0], x).iter().map(|v| (alpha * v + 0.5).clamp(0.0, 1.0)).collect());
}

/// `x.sum(dim=1)` and `x.mean(dim=-1, keepdim=True)` after a linear layer,
/// at opset 13 (sum axes an input, mean axes an attribute).
#[test]
fn sum_and_mean_after_linear() {
    let w = [1.0, 2.0, -1.0, 0.5, 0.25, -0.75];
    let net = TestGraph::new(13, &[-1, 2])
        .init_f32("w", &[3, 2], &w)
        .init_i64("axes", &[1])
        .node("Gemm", &["x", "w"], "h", vec![attr_i("transB", 1)])
        .node("Relu", &["h"], "r", vec![])
        .node("ReduceSum", &["r", "axes"], "s", vec![attr_i("keepdims", 0)])
        .node("ReduceMean", &["r"], "m", vec![attr_ints("axes", &[-1]), attr_i("keepdims", 1)])
        .node("Sub", &["s", "m"], "y", vec![])
        .output("y")
        .load()
        .unwrap();
    assert_agrees(&net, 2, |x| {
        let r: Vec<f64> = dense(&w, &[0.0; 3], x).iter().map(|v| v.max(0.0)).collect();
        let s: f64 = r.iter().sum();
        // [1] - [1, 1] broadcasts to [1, 1].
        vec![s - s / 3.0]
    });
}

/// The committed end-to-end model: a `[N, 1, 2, 2]` image through the
/// opset-13 `view(size(0), -1)`, `Linear(4, 3)`, `torch.abs`, then two
/// `Linear(3, 1)` heads and `torch.maximum` of the two:
///
/// `h = [x0 - x1, x2 + x3, x0 + x2]`, `a = |h|`, `u = a0 + a1 - 1`,
/// `v = a2 - 0.5`, `y = max(u, v)` (without the graph output `y` declared;
/// also a seed of the fuzz target).
///
/// On the box `[-1, 1]^4`: `u <= 2 + 2 - 1 = 3` (at `x = (1, -1, 1, 1)`),
/// `v <= 1.5`, so `max y = 3`; and `v >= -0.5` so `y >= -0.5` (at `x = 0`).
pub(super) fn view_flatten_max_abs() -> TestGraph {
    let g = TestGraph::new(13, &[-1, 1, 2, 2])
        .init_f32("fc.weight", &[3, 4], &[1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0])
        .init_f32("fc.bias", &[3], &[0.0; 3])
        .init_f32("u.weight", &[1, 3], &[1.0, 1.0, 0.0])
        .init_f32("u.bias", &[1], &[-1.0])
        .init_f32("v.weight", &[1, 3], &[0.0, 0.0, 1.0])
        .init_f32("v.bias", &[1], &[-0.5]);
    view_flatten(g, 13, "x", "flat")
        .node("Gemm", &["flat", "fc.weight", "fc.bias"], "h", vec![attr_i("transB", 1)])
        .node("Abs", &["h"], "a", vec![])
        .node("Gemm", &["a", "u.weight", "u.bias"], "u", vec![attr_i("transB", 1)])
        .node("Gemm", &["a", "v.weight", "v.bias"], "v", vec![attr_i("transB", 1)])
        .node("Max", &["u", "v"], "y", vec![])
}

/// The math of [`view_flatten_max_abs`], by hand.
fn view_flatten_max_abs_reference(x: &[f64]) -> Vec<f64> {
    let a = [(x[0] - x[1]).abs(), (x[2] + x[3]).abs(), (x[0] + x[2]).abs()];
    vec![(a[0] + a[1] - 1.0).max(a[2] - 0.5)]
}

/// Path of the committed end-to-end model.
fn committed_model() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/view_flatten_max_abs.onnx")
}

#[test]
fn view_flatten_max_abs_agrees_and_is_committed() {
    let bytes = prost::Message::encode_to_vec(&view_flatten_max_abs().output("y").model());
    let net: Network = super::load_bytes(&bytes).unwrap();
    assert_agrees(&net, 4, view_flatten_max_abs_reference);
    assert_eq!(net.forward(&[1.0, -1.0, 1.0, 1.0]), vec![3.0]);
    let committed = std::fs::read(committed_model()).unwrap();
    assert!(committed == bytes, "tests/data/view_flatten_max_abs.onnx is stale: run write_view_flatten_max_abs");
}

/// Writes `tests/data/view_flatten_max_abs.onnx`. Run by hand after changing
/// [`view_flatten_max_abs`]:
/// `cargo test --lib pytorch_patterns::write_view_flatten_max_abs -- --ignored`.
#[test]
#[ignore]
fn write_view_flatten_max_abs() {
    std::fs::write(committed_model(), prost::Message::encode_to_vec(&view_flatten_max_abs().output("y").model()))
        .unwrap();
}

/// A hidden `Sigmoid` (between two layers) is refused as not piecewise
/// linear, naming the node; so are the other smooth activations.
#[test]
fn hidden_smooth_activations_are_refused() {
    for op in [
        "Sigmoid",
        "Tanh",
        "Elu",
        "Selu",
        "Gelu",
        "Softplus",
        "Softsign",
        "Exp",
        "Log",
        "Erf",
        "Softmax",
        "LogSoftmax",
        "HardSwish",
    ] {
        let err = TestGraph::new(13, &[-1, 2])
            .init_f32("w", &[2, 2], &[1.0, 0.0, 0.0, 1.0])
            .node("Gemm", &["x", "w"], "h", vec![attr_i("transB", 1)])
            .node(op, &["h"], "act", vec![])
            .node("Gemm", &["act", "w"], "y", vec![attr_i("transB", 1)])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{op}");
        let text = err.to_string();
        assert!(text.contains(&format!("'act' ({op})")) && text.contains("not piecewise linear"), "{text}");
    }
}

/// A fixed batch of 4 (exported without `dynamic_axes`) is refused, naming
/// the shape, whether the batch is flattened by `view` or by `Flatten`; a
/// fixed leading size that is not a batch (a column input mixed by a
/// matrix) still loads.
#[test]
fn fixed_batch_of_four_is_refused() {
    let g = TestGraph::new(13, &[4, 1, 2, 2]).init_f32("w", &[1, 4], &[1.0, 2.0, 3.0, 4.0]);
    let err = view_flatten(g, 13, "x", "flat")
        .node("Gemm", &["flat", "w"], "y", vec![attr_i("transB", 1)])
        .output("y")
        .load()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("[4, 1, 2, 2]") && err.to_string().contains("dynamic_axes"), "{err}");
    let err = TestGraph::new(13, &[4, 3])
        .init_f32("w", &[2, 3], &[1.0; 6])
        .node("Gemm", &["x", "w"], "h", vec![attr_i("transB", 1)])
        .node("Relu", &["h"], "y", vec![])
        .output("y")
        .load()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    // [3, 1] column, mixed: y = C x with C 3x3 dense.
    let net = TestGraph::new(13, &[3, 1])
        .init_f32("C", &[3, 3], &[1.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0])
        .node("MatMul", &["C", "x"], "y", vec![])
        .output("y")
        .load()
        .unwrap();
    assert_agrees(&net, 3, |x| vec![x[0] + 2.0 * x[1], x[1] + x[2], x[0] + x[2]]);
}
