//! End-to-end tests of the `reluverify` binary on the models and properties
//! shipped in `models/` and `specs/`: verdicts, exit codes and output
//! formats. The errors users get for bad input are in `bad_inputs.rs`.

mod common;

use std::path::Path;
use std::process::Output;

use common::{code, root, run, scratch, stderr};
use reluverify::model::onnx;
use reluverify::spec;

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("--json prints one JSON object")
}

#[test]
fn abs_nonnegative_holds() {
    let o = run(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["verdict"], "holds");
}

#[test]
fn abs_above_point_nine_is_violated_with_validated_witness() {
    let spec = scratch("abs_09.json", br#"{"inputs": [{"lower": -1, "upper": 1}], "unsafe": "y0 >= 0.9"}"#);
    let witness = spec.with_file_name("abs_09_witness.json");
    let o = run(&["check", "models/abs.onnx", spec.to_str().unwrap(), "--witness", witness.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let w: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&witness).unwrap()).unwrap();
    let x = w["input"][0].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&x) && x.abs() >= 0.9, "witness {x}");
}

#[test]
fn acasxu_prop1_holds_on_net_1_1() {
    let o = run(&[
        "check",
        "models/ACASXU_run2a_1_1_batch_2000.onnx",
        "specs/acasxu_prop1.json",
        "--json",
        "--threads",
        "2",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(json(&o)["verdict"], "holds");
}

#[test]
fn stats_json_reports_the_search_and_its_phases() {
    let out = scratch("p1_stats.json", b"");
    let model = "models/ACASXU_run2a_1_1_batch_2000.onnx";
    let o = run(&["check", model, "specs/acasxu_prop1.json", "--stats-json", out.to_str().unwrap(), "-v"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("phases: falsify"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["verdict"], "holds");
    let stats = &v["stats"];
    assert_eq!(stats["strategy"], "input-split");
    // Property 1 on net 1_1 needs splitting: dozens of boxes, half proved by bounds.
    assert!(stats["boxes"].as_u64().unwrap() > 10, "{stats}");
    assert!(stats["proved_by_bounds"].as_u64().unwrap() > 5, "{stats}");
    let phase = |k: &str| stats["phases"][k].as_f64().unwrap();
    let sum = phase("falsify_seconds") + phase("bounds_seconds") + phase("search_seconds");
    let total = v["seconds"].as_f64().unwrap();
    assert!(phase("search_seconds") > 0.0 && (sum - total).abs() <= 1e-3 * (1.0 + total), "{sum} vs {total}");
}

#[test]
fn acasxu_prop2_violated_on_net_2_1() {
    let results = scratch("prop2_results.txt", b"");
    let o = run(&[
        "check",
        "models/ACASXU_run2a_2_1_batch_2000.onnx",
        "specs/acasxu_prop2.json",
        "--json",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["verdict"], "violated");
    // Re-check the witness independently of the binary.
    let net = onnx::load(&root().join("models/ACASXU_run2a_2_1_batch_2000.onnx")).unwrap();
    let (prop, _) = spec::load(&root().join("specs/acasxu_prop2.json")).unwrap();
    let x: Vec<f64> = v["witness"]["input"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let y = net.forward(&x);
    assert!(prop.regions[0].input.contains(&x));
    assert!(prop.regions[0].unsafe_set.satisfied_by(&y).is_some(), "output {y:?}");
    // The VNN-COMP result file starts with sat and lists X_0..X_4, Y_0..Y_4.
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(text.starts_with("sat\n(("), "{text}");
    assert_eq!(text.matches("(X_").count(), 5);
    assert_eq!(text.matches("(Y_").count(), 5);
}

#[test]
fn bench_runs_a_tiny_instance_list() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench_tiny.csv");
    let o = run(&[
        "bench",
        "tests/data/tiny_instances.csv",
        "--root",
        ".",
        "--expected",
        "tests/data/tiny_expected.csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains("abs.onnx,specs/abs_nonneg.json,holds"), "{csv}");
    assert!(csv.contains(",violated,"), "{csv}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("TOTAL"), "{stdout}");
}

/// A wrong answer against `--expected` is printed per instance even when
/// stderr is not a terminal (the progress bar is hidden then), and exits 1.
#[test]
fn bench_reports_wrong_answers_loudly() {
    let expected =
        scratch("wrong_expected.csv", b"onnx,vnnlib,expected\nmodels/abs.onnx,specs/abs_nonneg.json,violated\n");
    let o = run(&["bench", "tests/data/tiny_instances.csv", "--root", ".", "--expected", expected.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("WRONG ANSWER: models/abs.onnx specs/abs_nonneg.json"), "{}", stderr(&o));
}

/// `--cross-check` confirms a proof by independent input splitting and a
/// counterexample by re-checking it, and appears in the JSON output; a bad
/// `--cross-check-timeout` is a usage error.
#[test]
fn cross_check_confirms_both_verdicts() {
    let o = run(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--cross-check", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["cross_check"]["result"], "confirmed");
    assert!(v["cross_check"]["boxes"].as_u64().unwrap() >= 1);
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(0));
    let spec = scratch("abs_09_cc.json", br#"{"inputs": [{"lower": -1, "upper": 1}], "unsafe": "y0 >= 0.9"}"#);
    let o = run(&["check", "models/abs.onnx", spec.to_str().unwrap(), "--cross-check"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("cross-check: the witness passes the f64 check again"));
    let o = run(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--cross-check", "--cross-check-timeout", "0"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--cross-check-timeout"), "{}", stderr(&o));
}

/// A gzip-compressed copy of the file at `path` (relative to the crate
/// root), as a scratch file `name`.
fn gzipped(path: &str, name: &str) -> String {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&std::fs::read(root().join(path)).unwrap()).unwrap();
    scratch(name, &enc.finish().unwrap()).display().to_string()
}

/// The PyTorch-style export of `tests/data/view_flatten_max_abs.onnx`
/// (`view(size(0), -1)` shape code, `Abs`, `Max` of two layers; written by
/// `pytorch_patterns::write_view_flatten_max_abs`) loads as it is and gets
/// the verdicts its hand-worked range gives, also from `.gz` files: y ranges
/// over [-0.5, 3] on the box, so y >= 3.01 and y <= -0.51 hold and y >= 2.9
/// is violated (at x near (1, -1, 1, 1)).
#[test]
fn pytorch_view_flatten_max_abs_export() {
    let model = "tests/data/view_flatten_max_abs.onnx";
    let json_spec = "tests/data/view_flatten_max_abs.json";
    let vnnlib_spec = "tests/data/view_flatten_max_abs.vnnlib";
    for (m, s) in [(model, json_spec), (model, vnnlib_spec)] {
        let o = run(&["check", m, s]);
        assert_eq!(code(&o), 0, "{m} {s}: {}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    }
    let gz_model = gzipped(model, "view_flatten_max_abs.onnx.gz");
    let gz_json = gzipped(json_spec, "view_flatten_max_abs.json.gz");
    let gz_vnnlib = gzipped(vnnlib_spec, "view_flatten_max_abs.vnnlib.gz");
    for (m, s) in [(&gz_model, &gz_json), (&gz_model, &gz_vnnlib), (&model.to_string(), &gz_vnnlib)] {
        let o = run(&["check", m, s]);
        assert_eq!(code(&o), 0, "{m} {s}: {}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    }
    let text = std::fs::read_to_string(root().join(json_spec)).unwrap().replace("y0 >= 3.01", "y0 >= 2.9");
    let violated = scratch("view_flatten_max_abs_29.json", text.as_bytes());
    let o = run(&["check", &gz_model, violated.to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let witness = &json(&o)["witness"];
    let x: Vec<f64> = witness["input"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let a = [(x[0] - x[1]).abs(), (x[2] + x[3]).abs(), (x[0] + x[2]).abs()];
    assert!((a[0] + a[1] - 1.0).max(a[2] - 0.5) >= 2.9 - 1e-6, "witness {x:?}");
}

/// `bounds` and `encode` read `.gz` models too (all commands load through
/// `model::load_with`).
#[test]
fn gzipped_model_for_bounds_and_encode() {
    let gz_model = gzipped("models/abs.onnx", "abs.onnx.gz");
    let o = run(&["bounds", &gz_model, "specs/abs_nonneg.json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abs_gz.lp");
    let o = run(&["encode", &gz_model, "specs/abs_nonneg.json", "--out", lp.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
