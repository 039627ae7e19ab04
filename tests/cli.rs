//! End-to-end tests of the `reluverify` binary on the models and properties
//! shipped in `models/` and `specs/`: verdicts, exit codes and output
//! formats. The errors users get for bad input are in `bad_inputs.rs`.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use common::{code, root, run, scratch, stderr};
use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network};
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

/// A random ReLU network, `inputs` wide in, `width` wide through `depth`
/// hidden layers, 2 outputs; weights uniform with variance `2 / fan_in`
/// (so values neither vanish nor explode), from a fixed xorshift seed.
fn random_relu_network(inputs: usize, width: usize, depth: usize) -> Network {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut layers = Vec::new();
    let mut fan_in = inputs;
    for k in 0..=depth {
        let (out, activation) = if k == depth { (2, Activation::Identity) } else { (width, Activation::Relu) };
        let scale = (6.0 / fan_in as f64).sqrt();
        let w: Vec<f64> = (0..out * fan_in).map(|_| scale * uniform()).collect();
        let b: Vec<f64> = (0..out).map(|_| 0.1 * uniform()).collect();
        layers.push(Layer { affine: Affine { weights: Matrix::new(out, fan_in, w).unwrap(), bias: b }, activation });
        fan_in = out;
    }
    Network::new(layers).unwrap()
}

/// Issue 21: `--timeout` is kept when the root bounds alone take longer. On
/// a wide, deep random network with 64 inputs (phase splitting, whose root
/// bounds are the optimised ones), `bounds --method optimised` shows that
/// computing them takes longer than the timeout; `check` with that timeout
/// answers unknown (exit 3, time limit) within half a second of it,
/// start-up and loading included.
#[test]
fn timeout_is_kept_when_the_root_bounds_take_longer() {
    const TIMEOUT: f64 = 0.4;
    let inputs = 64;
    let model = scratch("deadline.onnx", &onnx::to_bytes(&random_relu_network(inputs, 128, 6)));
    let boxes: Vec<String> = (0..inputs).map(|_| r#"{"lower": -1, "upper": 1}"#.to_string()).collect();
    // Far above anything the network outputs on the box: no sample finds it.
    let spec = format!(r#"{{"inputs": [{}], "unsafe": "y0 >= 1000"}}"#, boxes.join(", "));
    let spec = scratch("deadline.json", spec.as_bytes());
    let (model, spec) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let o = run(&["bounds", model, spec, "--method", "optimised", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let seconds = json(&o)["regions"][0]["methods"][0]["seconds"].as_f64().unwrap();
    assert!(seconds > TIMEOUT, "the root bounds take {seconds} s, no more than the timeout");
    let start = Instant::now();
    let o = run(&["check", model, spec, "--timeout", &TIMEOUT.to_string(), "--json"]);
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["verdict"], "unknown");
    assert!(wall <= TIMEOUT + 0.5, "ended {wall} s after start with a {TIMEOUT} s timeout");
}
