//! End-to-end tests of `range`, `radius` and `equiv` (issue 25) on shipped
//! models and properties and on small networks saved from code, against
//! answers known in closed form.

mod common;

use std::process::Output;

use common::{code, run, scratch, stderr};
use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network};

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("--json prints one JSON object")
}

/// `y = (x, -x)` on one input, saved as ONNX under `name`, with `shift`
/// added to output 0: its argmax is 0 exactly where `x >= -shift / 2`.
fn two_outputs(name: &str, shift: f64) -> String {
    let net = Network::new(vec![Layer {
        affine: Affine { weights: Matrix::new(2, 1, vec![1.0, -1.0]).unwrap(), bias: vec![shift, 0.0] },
        activation: Activation::Identity,
    }])
    .unwrap();
    let path = scratch(name, &onnx::to_bytes(&net));
    path.to_str().unwrap().to_string()
}

/// |x| on [-1, 1] ranges over [0, 1] exactly: both certified intervals
/// contain their end and are within the default gap.
#[test]
fn range_of_abs_is_zero_to_one() {
    let o = run(&["range", "models/abs.onnx", "specs/abs_nonneg.json", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["command"], "range");
    let r = &v["ranges"][0];
    for (side, exact) in [("min", 0.0), ("max", 1.0)] {
        let (lo, hi) = (r[side]["lower"].as_f64().unwrap(), r[side]["upper"].as_f64().unwrap());
        assert!(lo <= exact && exact <= hi && hi - lo <= 1e-5, "{side}: [{lo}, {hi}]");
        let x = r[side]["input"][0].as_f64().unwrap();
        assert_eq!(x.abs(), r[side]["found"].as_f64().unwrap());
    }
}

/// The range of an objective on ACAS Xu 1_1 over property 1's region: the
/// found values are the f64 outputs at the reported inputs (the model
/// file's graph, as witnesses are checked), the bracket
/// is within the asked gap, and the maximum of COC lies below property
/// 1's threshold (which holds on this network).
#[test]
fn range_of_an_acasxu_objective() {
    let model = "models/ACASXU_run2a_1_1_batch_2000.onnx";
    let o = run(&["range", model, "specs/acasxu_prop1.json", "--objective", "y0 - y1", "--gap", "1e-3", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let net = onnx::load(&common::root().join(model)).unwrap();
    let r = &json(&o)["ranges"][0];
    assert_eq!(r["objective"], "y0 - y1");
    for side in ["min", "max"] {
        let x: Vec<f64> = r[side]["input"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let y = net.reference_output(&x);
        assert_eq!(y[0] - y[1], r[side]["found"].as_f64().unwrap());
        assert!(r[side]["gap"].as_f64().unwrap() <= 1e-3);
    }
    let o = run(&["range", model, "specs/acasxu_prop1.json", "--output", "0", "--gap", "1e-2", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(json(&o)["ranges"][0]["max"]["upper"].as_f64().unwrap() < 3.991125645861615);
}

#[test]
fn range_refuses_a_missing_output() {
    let o = run(&["range", "models/abs.onnx", "specs/abs_nonneg.json", "--output", "3"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("output 3"), "{}", stderr(&o));
    let o = run(&["range", "models/abs.onnx", "specs/abs_nonneg.json", "--objective", "2*x0"]);
    assert_eq!(code(&o), 2);
}

/// Around 0.3 the argmax of `(x, -x)` stays 0 up to radius 0.3 (the tie at
/// 0 counts as a change); clipped to [0, 1] it never changes.
#[test]
fn radius_of_a_known_boundary() {
    let model = two_outputs("radius_pair.onnx", 0.0);
    let center = scratch("radius_center.json", b"[0.3]");
    let c = center.to_str().unwrap();
    let o = run(&["radius", &model, "--center", c, "--label", "0", "--tolerance", "1e-5", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    let (lo, hi) = (v["proved"].as_f64().unwrap(), v["counterexample_distance"].as_f64().unwrap());
    assert!(lo <= 0.3 && 0.3 <= hi && hi - lo <= 1e-5, "[{lo}, {hi}]");
    let x = v["counterexample"]["input"][0].as_f64().unwrap();
    assert!(x <= 0.0 && (0.3 - x) == hi, "{x}");
    let o = run(&["radius", &model, "--center", c, "--label", "0", "--lower", "0.01", "--upper", "1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("holds on the whole valid range"), "{text}");
}

/// `radius --spec` reads the MNIST robustness box as a ball clipped to
/// [0, 1]: at eps 0.03 the property holds on this network, so the proved
/// radius is at least 0.03 (or the run was cut short, exit 3).
#[test]
fn radius_from_a_vnnlib_ball() {
    let o = run(&[
        "radius",
        "models/mnist-net_256x2.onnx",
        "--spec",
        "specs/mnistfc_prop_0_0.03.vnnlib",
        "--lower",
        "0",
        "--upper",
        "1",
        "--tolerance",
        "0.01",
        "--timeout",
        "60",
        "--json",
    ]);
    assert!([0, 3].contains(&code(&o)), "{}", stderr(&o));
    let v = json(&o);
    if let Some(d) = v["counterexample_distance"].as_f64() {
        assert!(d > 0.03, "a counterexample within the proved 0.03 ball: {d}");
    }
    if code(&o) == 0 {
        assert!(v["proved"].as_f64().unwrap() >= 0.02, "{v}");
    }
}

/// A network against a copy with output 0 shifted by 0.25: equivalent
/// within 0.3 (exit 0), a validated difference within 0.2 (exit 1); the
/// argmax differs where A leads by less than 0.25 (exit 1) and the copy
/// shifted on both outputs equally agrees (exit 0).
#[test]
fn equiv_finds_a_known_difference() {
    let a = two_outputs("equiv_a.onnx", 0.0);
    let b = two_outputs("equiv_b.onnx", 0.25);
    let spec = scratch("equiv_box.json", br#"{"inputs": [{"lower": -1, "upper": 1}], "unsafe": "y0 <= -10"}"#);
    let s = spec.to_str().unwrap();
    let o = run(&["equiv", &a, &b, s, "--tolerance", "0.3", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["result"], "equivalent");
    let o = run(&["equiv", &a, &b, s, "--tolerance", "0.2", "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["counterexample"]["max_difference"].as_f64().unwrap(), 0.25);
    let o = run(&["equiv", &a, &b, s, "--same-argmax", "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let x = json(&o)["counterexample"]["input"][0].as_f64().unwrap();
    assert!((-0.125..0.0).contains(&x), "A says 1 (x < 0) and B says 0 (x >= -0.125): {x}");
    let o = run(&["equiv", &a, &a, s, "--same-argmax"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["equiv", &a, &b, s]);
    assert_eq!(code(&o), 2, "one of --tolerance and --same-argmax is required");
}

/// The ACAS Xu network against its .nnet twin over property 1's region:
/// equivalent within 0.01. (Much tighter tolerances are slow: the bounds
/// relax the two copies' neurons independently, so proving two copies of
/// one network equal takes many input splits.)
#[test]
fn equiv_of_the_onnx_and_nnet_acasxu_files() {
    let o = run(&[
        "equiv",
        "models/ACASXU_run2a_1_1_batch_2000.onnx",
        "models/acasxu_1_1.nnet",
        "specs/acasxu_prop1.json",
        "--tolerance",
        "0.01",
        "--timeout",
        "100",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["result"], "equivalent");
}
