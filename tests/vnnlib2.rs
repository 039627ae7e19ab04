//! End-to-end tests of the VNN-LIB 2.0 solver interface (`verify`,
//! `supports`) and of `check` on 2.0 queries, on the shipped models and the
//! `specs/*_v2.vnnlib` queries. Answers are compared with the VNN-LIB 1.0
//! twins of the queries, and every printed counterexample is re-run through
//! the model here.

mod common;

use std::process::Output;

use common::{code, run, scratch, stderr};
use reluverify::model;

const ACAS_1_1: &str = "acasxu=models/ACASXU_run2a_1_1_batch_2000.onnx";
const ACAS_2_1: &str = "acasxu=models/ACASXU_run2a_2_1_batch_2000.onnx";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The assignment block of a `sat` answer: (header, values) per variable.
fn assignment(text: &str) -> Vec<(String, Vec<f64>)> {
    let mut vars: Vec<(String, Vec<f64>)> = Vec::new();
    for line in text.lines().skip(1) {
        match line.parse::<f64>() {
            Ok(v) => vars.last_mut().expect("a header first").1.push(v),
            Err(_) => vars.push((line.to_string(), vec![])),
        }
    }
    vars
}

#[test]
fn verify_answers_like_check_on_the_1_0_twins() {
    let o = run(&["verify", "specs/acasxu_prop1_v2.vnnlib", "--network", ACAS_1_1, "--timeout", "60"]);
    assert_eq!((code(&o), stdout(&o).as_str()), (0, "unsat\n"), "{}", stderr(&o));
    let twin = run(&["check", "models/ACASXU_run2a_1_1_batch_2000.onnx", "specs/acasxu_prop1.vnnlib"]);
    assert_eq!(code(&twin), 0);

    let o = run(&["verify", "specs/acasxu_prop2_v2.vnnlib", "--network", ACAS_2_1]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let twin = run(&["check", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.vnnlib"]);
    assert_eq!(code(&twin), 1);
    let text = stdout(&o);
    assert!(text.starts_with("sat\n"), "{text}");
    let vars = assignment(&text);
    assert_eq!(vars.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(), ["X real [1,5]", "Y real [1,5]"]);
    let (x, y) = (&vars[0].1, &vars[1].1);
    // The printed values read back to the f64s the model computes, and they
    // meet property 2: the input in its box, output 0 the largest.
    let net = model::load(std::path::Path::new("models/ACASXU_run2a_2_1_batch_2000.onnx")).unwrap();
    assert_eq!(&net.reference_output(x), y);
    let bounds = [(0.6, 0.679857769), (-0.5, 0.5), (-0.5, 0.5), (0.45, 0.5), (-0.5, -0.45)];
    assert!(x.iter().zip(bounds).all(|(v, (lo, hi))| lo <= *v && *v <= hi), "{x:?}");
    assert!(y[1..].iter().all(|v| *v <= y[0]), "{y:?}");
}

#[test]
fn check_reads_a_2_0_query() {
    let o = run(&["check", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2_v2.vnnlib", "--json", "-v"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("Vnnlib2 format"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "violated");
    let o = run(&["check", "models/abs.onnx", "specs/abs_v2.vnnlib"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("unsafe: y[0] >= 0.9"), "names as the query writes them: {}", stdout(&o));
}

#[test]
fn verify_json_carries_the_result_and_the_assignment() {
    let o = run(&["verify", "specs/abs_v2.vnnlib", "--network", "abs=models/abs.onnx", "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((&v["result"], &v["verdict"]), (&"sat".into(), &"violated".into()));
    let a = &v["assignment"];
    assert_eq!((&a[0]["name"], &a[0]["type"], &a[0]["shape"]), (&"x".into(), &"real".into(), &serde_json::json!([1])));
    let (x, y) = (a[0]["values"][0].as_f64().unwrap(), a[1]["values"][0].as_f64().unwrap());
    assert!((-1.0..=1.0).contains(&x) && y == x.abs() && y >= 0.9, "{x} {y}");
}

#[test]
fn a_tiny_timeout_is_timed_out() {
    let o = run(&["verify", "specs/acasxu_prop1_v2.vnnlib", "--network", ACAS_1_1, "--timeout", "0.000001"]);
    assert_eq!((code(&o), stdout(&o).as_str()), (3, "timed-out\n"), "{}", stderr(&o));
}

#[test]
fn verify_errors_say_what_to_pass() {
    let float32 = scratch(
        "abs_f32.vnnlib",
        std::fs::read_to_string(common::root().join("specs/abs_v2.vnnlib"))
            .unwrap()
            .replace("real", "float32")
            .as_bytes(),
    );
    let f32_path = float32.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["verify", "specs/abs_v2.vnnlib"], "no model for network `abs`"),
        (
            &["verify", "specs/abs_v2.vnnlib", "--network", "abs=models/abs.onnx", "--network", "g=x.onnx"],
            "does not declare",
        ),
        (&["verify", "specs/abs_v2.vnnlib", "--network", "models/abs.onnx"], "NAME=FILE"),
        (&["verify", "specs/abs_v2.vnnlib", "--network", ACAS_1_1], "does not declare"),
        (&["verify", "specs/acasxu_prop2_v2.vnnlib", "--network", "acasxu=models/abs.onnx"], "the model has 1 inputs"),
        (&["verify", "specs/acasxu_prop2.vnnlib", "--network", ACAS_2_1], "reluverify check"),
        (&["verify", f32_path, "--network", "abs=models/abs.onnx"], "--assume-real"),
    ];
    for (args, message) in cases {
        let o = run(args);
        assert_eq!((code(&o), stdout(&o).as_str()), (2, ""), "{args:?}");
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
    let o = run(&["verify", f32_path, "--network", "abs=models/abs.onnx", "--assume-real"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("\nx float32 [1]\n"), "the declared type is printed: {}", stdout(&o));
}

#[test]
fn supports_answers_every_capability() {
    let answers = [
        ("--onnx-opset-versions", "7\n21\n"),
        ("--onnx-element-types", "real\n"),
        ("--vnnlib-versions", "2.0\n2.0\n"),
        ("--hidden-node-theories", "NH\n"),
        ("--multiple-input-output-theories", "SIO\n"),
        ("--multiple-inputs-output-theories", "SIO\n"),
        ("--multiple-network-theories", "SNET\n"),
        ("--multiple-node-comparison-theories", "SNC\n"),
        ("--arithmetic-complexity-theories", "BND\nOUTC\nLIN\n"),
        ("--optimised-disjunctive-reasoning", "false\n"),
        ("--serialise-assignments", "false\n"),
        ("--unsat-proofs", "false\n"),
    ];
    for (flag, answer) in answers {
        let o = run(&["supports", flag]);
        assert_eq!((code(&o), stdout(&o).as_str()), (0, answer), "{flag}");
    }
    let o = run(&["supports", "--onnx-operators"]);
    let ops = stdout(&o);
    assert!(ops.lines().any(|l| l == "Relu") && ops.lines().any(|l| l == "Gemm"), "{ops}");
    assert!(!ops.lines().any(|l| l == "Sigmoid"), "{ops}");
    for bad in [&["supports"][..], &["supports", "--vnnlib-versions", "--unsat-proofs"], &["supports", "--colour"]] {
        assert_eq!(code(&run(bad)), 2, "{bad:?}");
    }
}

/// `relu(x)` as an ONNX file in the scratch folder.
fn relu_model() -> std::path::PathBuf {
    use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network};
    let net = Network::new(vec![Layer {
        affine: Affine { weights: Matrix::new(1, 1, vec![1.0]).unwrap(), bias: vec![0.0] },
        activation: Activation::Relu,
    }])
    .unwrap();
    scratch("relu.onnx", &onnx::to_bytes(&net))
}

/// `|x|` (models/abs.onnx), `relu(x)` and a copy of the first on one tied
/// input `x` in [-1, 1], with `asserts` on their outputs `a`, `r`, `c`.
fn three_networks(name: &str, asserts: &str) -> std::path::PathBuf {
    let text = format!(
        "(vnnlib-version <2.0>)
(declare-network f (declare-input x real [1]) (declare-output a real [1]))
(declare-network g (declare-input u real [1]) (declare-output r real [1]))
(declare-network h (equal-to f) (declare-input v real [1]) (declare-output c real [1]))
(assert (and (>= x[0] -1) (<= x[0] 1) (== u[0] x[0])))
(assert (== v[0] u[0]))
{asserts}"
    );
    scratch(name, text.as_bytes())
}

#[test]
fn several_networks_on_one_input() {
    let relu = relu_model();
    let g = format!("g={}", relu.display());
    // |x| - relu(x) = relu(-x) reaches 0.5 (for x <= -0.5), never goes below 0,
    // and the copy of |x| never differs from it.
    let cases = [
        ("pair_sat.vnnlib", "(assert (>= (- a[0] r[0]) 0.5))", 1, "sat"),
        ("pair_unsat.vnnlib", "(assert (<= (- a[0] r[0]) -0.001))", 0, "unsat"),
        ("pair_copy.vnnlib", "(assert (or (>= (- a[0] c[0]) 0.001) (<= (- a[0] c[0]) -0.001)))", 0, "unsat"),
    ];
    for (name, asserts, exit, answer) in cases {
        let query = three_networks(name, asserts);
        let o = run(&["verify", query.to_str().unwrap(), "--network", "f=models/abs.onnx", "--network", &g]);
        assert_eq!(code(&o), exit, "{name}: {}{}", stdout(&o), stderr(&o));
        let text = stdout(&o);
        assert_eq!(text.lines().next(), Some(answer), "{name}");
        if answer == "sat" {
            let vars = assignment(&text);
            let heads: Vec<&str> = vars.iter().map(|v| v.0.as_str()).collect();
            assert_eq!(heads, ["x real [1]", "a real [1]", "u real [1]", "r real [1]", "v real [1]", "c real [1]"]);
            let x = vars[0].1[0];
            assert!((-1.0..=-0.5).contains(&x), "{x}");
            assert_eq!([vars[1].1[0], vars[3].1[0], vars[5].1[0]], [x.abs(), x.max(0.0), x.abs()]);
            assert_eq!((vars[2].1[0], vars[4].1[0]), (x, x), "the tied inputs");
        }
    }
    // The copy takes no model of its own, and untied inputs are refused.
    let query = three_networks("pair_bind.vnnlib", "(assert (>= a[0] 0.5))");
    let o = run(&[
        "verify",
        query.to_str().unwrap(),
        "--network",
        "f=models/abs.onnx",
        "--network",
        &g,
        "--network",
        "h=models/abs.onnx",
    ]);
    assert!(code(&o) == 2 && stderr(&o).contains("declares equal to `f`"), "{}", stderr(&o));
    let untied = scratch(
        "pair_untied.vnnlib",
        std::fs::read_to_string(&query).unwrap().replace("(assert (== v[0] u[0]))", "").as_bytes(),
    );
    let o = run(&["verify", untied.to_str().unwrap(), "--network", "f=models/abs.onnx", "--network", &g]);
    assert!(code(&o) == 2 && stderr(&o).contains("(assert (== v[0] x[0]))"), "{}", stderr(&o));
}
