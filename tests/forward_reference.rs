//! The forward pass of benchmark models against onnxruntime: each fixture
//! `tests/data/forward/<model>.json` holds random inputs and onnxruntime's
//! (CPU, float32) outputs for `models/<model>.onnx`, written by
//! `scripts/onnx-reference.py --write` (its comment says how the inputs were
//! drawn). The models are copies of VNN-COMP 2021 benchmark networks:
//! `Convnet_avgpool`, `Convnet_maxpool` (verivital: Conv, Pad, AveragePool,
//! MaxPool, Gemm) and `cifar10_small` (marabou-cifar10: NHWC input,
//! Transpose, strided Conv, MatMul + Add). `make check-forward` runs the same
//! comparison on every model of the five sets, which needs Python and
//! `../shared`; this test needs neither.

use std::path::PathBuf;

use reluverify::model::onnx;

/// Largest accepted `|ours - onnxruntime|` on an output, as a fraction of
/// `1 + max |output|` of that input: `TOLERANCE` of
/// `scripts/onnx-reference.py`, which gives the measurements behind it
/// (onnxruntime's float32 rounding stays below 2e-5 of that scale, below
/// 6e-7 inside the benchmarks' spec boxes; a layout bug moves the outputs by
/// more than 0.1 of it). Each fixture records the value it was written
/// with, and the test insists they agree.
const TOLERANCE: f64 = 1e-4;

/// The crate root (models/ and tests/data/ are relative to it).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture's numbers are float32 values in their shortest decimal form:
/// read as f32, they are exactly what onnxruntime saw and gave.
fn f32_vector(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().expect("a JSON array").iter().map(|x| x.as_f64().expect("a number") as f32 as f64).collect()
}

/// Check `models/<name>.onnx` against its fixture; return the number of
/// inputs compared.
fn check_model(name: &str) -> usize {
    let fixture = root().join("tests/data/forward").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let data: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(data["model"], format!("{name}.onnx"), "{}: fixture of another model", fixture.display());
    assert_eq!(data["tolerance"].as_f64(), Some(TOLERANCE), "{}: written with another tolerance", fixture.display());
    let net = onnx::load(&root().join("models").join(format!("{name}.onnx"))).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(!cases.is_empty(), "{}: no cases", fixture.display());
    for (k, case) in cases.iter().enumerate() {
        let x = f32_vector(&case["input"]);
        let want = f32_vector(&case["output"]);
        assert_eq!(x.len(), net.input_dim(), "{name} case {k}: input length");
        // The layers the engine verifies, and the graph witnesses are
        // checked on.
        for (what, got) in [("layers", net.forward_activated(&x)), ("graph", net.reference_output(&x))] {
            assert_eq!(got.len(), want.len(), "{name} case {k}: output length");
            let scale = 1.0 + want.iter().fold(0.0_f64, |m, w| m.max(w.abs()));
            for (j, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= TOLERANCE * scale,
                    "{name} case {k} output {j}: reluverify ({what}) {g}, onnxruntime {w} (|diff| {:.3e} > {TOLERANCE} * {scale:.3})\n\
                     reluverify  {got:?}\nonnxruntime {want:?}",
                    (g - w).abs()
                );
            }
        }
    }
    cases.len()
}

#[test]
fn convnet_avgpool_matches_onnxruntime() {
    assert!(check_model("Convnet_avgpool") >= 4);
}

#[test]
fn convnet_maxpool_matches_onnxruntime() {
    assert!(check_model("Convnet_maxpool") >= 4);
}

#[test]
fn cifar10_small_nhwc_matches_onnxruntime() {
    assert!(check_model("cifar10_small") >= 4);
}

/// Every fixture has its test above (a fixture added without one would
/// never be checked).
#[test]
fn every_fixture_is_checked() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/data/forward"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Convnet_avgpool", "Convnet_maxpool", "cifar10_small"]);
}
