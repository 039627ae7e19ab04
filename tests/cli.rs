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

/// `y = relu(x0 - x1)`: 2 inputs, 1 ReLU neuron, 1 output, no normalisation.
const DIFFERENCE_NNET: &[u8] = b"2,2,1,2,\n2,1,1,\n0,\n-10,-10,\n10,10,\n0,0,0,\n1,1,1,\n1,-1,\n0,\n1,\n0,\n";

/// `DIFFERENCE_NNET` on `[0, 1]^2` with the VNN-LIB input assertions
/// `extra`, unsafe when `y >= 0.5`: on the box alone it is violated at
/// `(1, 0)`. Returns the exit code and the `--json` output.
fn difference_check(name: &str, extra: &str) -> (i32, serde_json::Value) {
    let model = scratch("difference.nnet", DIFFERENCE_NNET);
    let text = format!(
        "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n\
         (assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 1))\n{extra}\n\
         (assert (>= Y_0 0.5))\n"
    );
    let spec = scratch(name, text.as_bytes());
    let o = run(&["check", model.to_str().unwrap(), spec.to_str().unwrap(), "--json"]);
    (code(&o), json(&o))
}

/// Input constraints (issue 20), against hand-worked answers:
/// `x0 - x1 <= 0` keeps `y = 0`, so the property holds although the box
/// alone violates it; `x0 + x1 <= 0.8` still allows `y = 0.8` at
/// `(0.8, 0)`, and the witness must satisfy the constraint; `x0 + x1 <=
/// -0.5` leaves no input at all.
#[test]
fn vnnlib_input_constraints_change_the_verdict() {
    let (c, v) = difference_check("diff_box.vnnlib", "");
    assert_eq!((c, &v["verdict"]), (1, &serde_json::json!("violated")), "{v}");
    let (c, v) = difference_check("diff_order.vnnlib", "(assert (<= (+ X_0 (* -1 X_1)) 0))");
    assert_eq!((c, &v["verdict"]), (0, &serde_json::json!("holds")), "{v}");
    let (c, v) = difference_check("diff_sum.vnnlib", "(assert (<= (+ X_0 X_1) 0.8))");
    assert_eq!(c, 1, "{v}");
    let x: Vec<f64> = v["witness"]["input"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!(x[0] + x[1] <= 0.8 && x[0] - x[1] >= 0.5, "witness {x:?}");
    let (c, v) = difference_check("diff_empty.vnnlib", "(assert (<= (+ X_0 X_1) -0.5))");
    assert_eq!((c, &v["verdict"]), (0, &serde_json::json!("holds")), "{v}");
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(1), "{v}");
}

#[test]
fn json_input_constraints_hold_like_vnnlib() {
    let model = scratch("difference_json.nnet", DIFFERENCE_NNET);
    let spec = scratch(
        "diff_order.json",
        br#"{"inputs": [{"name": "a", "lower": 0, "upper": 1}, {"name": "b", "lower": 0, "upper": 1}],
             "input_constraints": ["a <= b"], "unsafe": "y0 >= 0.5"}"#,
    );
    let o = run(&["check", model.to_str().unwrap(), spec.to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
