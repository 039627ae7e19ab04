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

/// The two models of `tests/data` that end in an output activation (made by
/// `examples/make_models.rs`) load with the activation, and their forward
/// pass is the hand-written formula of that file.
#[test]
fn output_activation_models_compute_their_formulas() {
    let relu = |v: f64| v.max(0.0);
    let classifier = onnx::load(&root().join("tests/data/softmax_classifier.onnx")).unwrap();
    let controller = onnx::load(&root().join("tests/data/tanh_controller.onnx")).unwrap();
    for k in 0..50 {
        let x = [(k as f64 * 0.37).sin().abs(), (k as f64 * 0.73).cos().abs()];
        let z = [1.0 - x[0] - x[1], x[0] - x[1], x[1] - x[0]];
        let sum: f64 = z.iter().map(|v| v.exp()).sum();
        let p: Vec<f64> = z.iter().map(|v| v.exp() / sum).collect();
        let got = classifier.forward_activated(&x);
        assert!(got.iter().zip(&p).all(|(a, b)| (a - b).abs() < 1e-6), "{got:?} vs {p:?}");
        let x = [2.0 * x[0] - 1.0, 2.0 * x[1] - 1.0];
        let throttle = (-2.0 * x[0] - x[1] + 0.5 - relu(x[0] + x[1] - 0.5)).tanh();
        let steer = (x[0] - x[1]).tanh();
        let got = controller.forward_activated(&x);
        assert!((got[0] - throttle).abs() < 1e-6 && (got[1] - steer).abs() < 1e-6, "{got:?}");
    }
}

/// `check MODEL SPEC` with no other option on a softmax classifier and a
/// tanh controller answers as hand-worked in the spec files; a
/// counterexample shows the activated outputs, and `-v` says the property
/// was checked on the logits.
#[test]
fn output_activations_end_to_end() {
    let classifier = "tests/data/softmax_classifier.onnx";
    let controller = "tests/data/tanh_controller.onnx";
    for (model, spec, exit, verdict) in [
        (classifier, "tests/data/softmax_origin_robust.vnnlib", 0, "holds"),
        (classifier, "tests/data/softmax_center.json", 1, "violated"),
        (controller, "tests/data/tanh_throttle_near_wall.json", 0, "holds"),
        (controller, "tests/data/tanh_throttle_violated.vnnlib", 1, "violated"),
    ] {
        let o = run(&["check", model, spec]);
        assert_eq!(code(&o), exit, "{spec}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with(verdict), "{spec}");
    }
    let o = run(&["check", classifier, "tests/data/softmax_center.json", "--json", "-v"]);
    assert!(
        stderr(&o).contains("the network ends in Softmax: the property is checked on the logits"),
        "{}",
        stderr(&o)
    );
    let p: Vec<f64> = json(&o)["witness"]["output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12 && p.iter().all(|v| (0.0..1.0).contains(v)), "{p:?}");
    assert!(p[1] >= p[0] || p[2] >= p[0], "{p:?}");
    let o = run(&["check", controller, "tests/data/tanh_throttle_violated.vnnlib", "--json"]);
    let y = json(&o)["witness"]["output"][0].as_f64().unwrap();
    assert!((-0.5..=-0.46).contains(&y), "throttle {y}");
}
