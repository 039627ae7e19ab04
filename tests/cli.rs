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

// Issue 21: the command line as a contract.

/// Run the binary with its standard output a pipe whose reading end is
/// closed at once (as `| true` or `| head -0` do), so every write fails
/// with a broken pipe; the exit code is the binary's own (what a shell with
/// `pipefail` reports).
fn run_with_closed_stdout(args: &[&str]) -> (i32, String) {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_reluverify"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (child.wait().unwrap().code().expect("exit code, not a signal"), err)
}

#[test]
fn a_closed_pipe_keeps_the_verdicts_exit_code() {
    let cases: [(&[&str], i32); 4] = [
        (&["check", "models/abs.onnx", "specs/abs_nonneg.json"], 0),
        (&["check", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.json"], 1),
        (&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--json"], 0),
        (&["bounds", "models/ACASXU_run2a_1_1_batch_2000.onnx", "specs/acasxu_prop1.json", "--method", "interval"], 0),
    ];
    for (args, expected) in cases {
        let (code, err) = run_with_closed_stdout(args);
        assert_eq!(code, expected, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn result_paths_are_checked_before_the_search() {
    for flag in ["--witness", "--results", "--stats-json"] {
        let o = run(&[
            "check",
            "models/ACASXU_run2a_2_1_batch_2000.onnx",
            "specs/acasxu_prop2.json",
            flag,
            "/nonexistent-folder/w.json",
        ]);
        assert_eq!(code(&o), 2, "{flag}");
        assert!(stderr(&o).contains("/nonexistent-folder/w.json"), "{flag}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{flag}: no search ran, so no verdict");
    }
}

#[test]
fn a_stale_witness_is_removed_when_there_is_no_counterexample() {
    let w = scratch("stale_witness.json", b"{\"input\": [42]}");
    let o = run(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--witness", w.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!w.exists(), "a witness file left after `holds` would be read as a counterexample");
    // Also after an error.
    std::fs::write(&w, b"{}").unwrap();
    let o = run(&["check", "models/missing.onnx", "specs/abs_nonneg.json", "--witness", w.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(!w.exists());
}

#[test]
fn json_errors_are_one_object_with_kind_file_and_line() {
    let o = run(&["check", "models/missing.onnx", "specs/abs_nonneg.json", "--json"]);
    assert_eq!(code(&o), 2);
    let v = json(&o);
    assert_eq!(v["verdict"], "error");
    assert_eq!(v["error"]["kind"], "io");
    assert_eq!(v["error"]["file"], "models/missing.onnx");
    assert!(v["reluverify_version"].as_str().unwrap().starts_with(env!("CARGO_PKG_VERSION")));
    assert_eq!(v["schema"], 1);

    let bad = scratch("bad_line.vnnlib", b"(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= Y_1 0))\n");
    let o = run(&["check", "models/abs.onnx", bad.to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 2);
    let v = json(&o);
    assert_eq!((v["error"]["kind"].as_str(), v["error"]["line"].as_u64()), (Some("spec"), Some(3)));

    // A usage error clap reports is an object too.
    let o = run(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--json", "--timeout", "soon"]);
    assert_eq!(code(&o), 2);
    assert_eq!(json(&o)["error"]["kind"], "usage");

    // And a successful run carries the version and schema.
    let o = run(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--json"]);
    assert_eq!((json(&o)["schema"].as_u64(), code(&o)), (Some(1), 0));
}

#[test]
fn neuron_counts_are_per_region_never_summed() {
    let o = run(&["check", "models/abs.onnx", "specs/abs_union.json", "--json", "--strategy", "milp"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let stats = &json(&o)["stats"];
    let (n, s, u) = (stats["neurons"].as_u64(), stats["stable"].as_u64(), stats["unstable"].as_u64());
    assert_eq!(n, Some(2));
    assert_eq!(s.unwrap() + u.unwrap(), 2, "{stats}");
    assert_eq!(stats["regions"].as_array().unwrap().len(), 2, "{stats}");
    // Found by sampling: nothing was bounded, so no counts.
    let o = run(&["check", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.json", "--json"]);
    let stats = &json(&o)["stats"];
    assert!(stats["stable"].is_null() && stats["unstable"].is_null(), "{stats}");
}

#[test]
fn counterexamples_name_the_unsafe_constraint_and_summarise_long_vectors() {
    let o = run(&["check", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.json"]);
    assert_eq!(code(&o), 1);
    let text = String::from_utf8_lossy(&o.stdout);
    // Named as the property file names them.
    assert!(text.contains("unsafe: WL <= COC (met by") && text.contains("input:  rho = 0."), "{text}");
    // A 784-input counterexample is summarised, not a 784-number line.
    let spec = scratch(
        "mnist_any.json",
        format!(
            r#"{{"input_boxes": [[{}]], "unsafe": "y0 >= -1000000"}}"#,
            (0..784).map(|i| format!(r#"{{"index": {i}, "lower": 0, "upper": 1}}"#)).collect::<Vec<_>>().join(",")
        )
        .as_bytes(),
    );
    let o = run(&["check", "models/mnist-net_256x2.onnx", spec.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("784 values") && text.lines().all(|l| l.len() < 400), "{text}");
}

/// A row that fails to load makes `bench` exit 2 (a path typo must not let
/// a run pass), and the error names the file as opened: the list's folder
/// joined with the name in the list. A wrong answer takes precedence (1).
#[test]
fn bench_errors_fail_the_run_and_name_the_resolved_path() {
    let abs = root().join("models/abs.onnx");
    let list = scratch(
        "typo_instances.csv",
        format!("models/nope.onnx,specs/abs_nonneg.json,10\n{},specs/nope.json,10\n", abs.display()).as_bytes(),
    );
    let dir = list.parent().unwrap();
    let o = run(&["bench", list.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    for missing in ["models/nope.onnx", "specs/nope.json"] {
        let resolved = dir.join(missing);
        assert!(stderr(&o).contains(&format!("{}: ", resolved.display())), "{missing}: {}", stderr(&o));
    }
    let total = summary_counts(&o).pop().unwrap();
    assert_eq!(total[..7], ["TOTAL", "2", "0", "0", "0", "2", "0"], "{total:?}");

    let list = scratch(
        "typo_and_wrong.csv",
        b"models/abs.onnx,specs/abs_nonneg.json,10\nmodels/nope.onnx,specs/abs_nonneg.json,10\n",
    );
    let expected =
        scratch("typo_expected.csv", b"onnx,vnnlib,expected\nmodels/abs.onnx,specs/abs_nonneg.json,violated\n");
    let o = run(&["bench", list.to_str().unwrap(), "--root", ".", "--expected", expected.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

/// A first row `onnx,vnnlib,timeout` is a header, not an instance.
#[test]
fn bench_skips_a_header_row() {
    let list = scratch("with_header.csv", b"onnx,vnnlib,timeout\nmodels/abs.onnx,specs/abs_nonneg.json,10\n");
    let out = list.with_file_name("with_header_out.csv");
    let o = run(&["bench", list.to_str().unwrap(), "--root", ".", "--out", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("models/abs.onnx,specs/abs_nonneg.json,holds,"), "{csv}");
}

/// `--resume` continues an `--out` file: without one, or with
/// `--bounds-table`, it is a usage error.
#[test]
fn bench_resume_needs_out() {
    let o = run(&["bench", "tests/data/tiny_instances.csv", "--root", ".", "--resume"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
    let out = scratch("resume_bounds.csv", b"");
    let args = ["bench", "tests/data/tiny_instances.csv", "--resume", "--bounds-table", "--out", out.to_str().unwrap()];
    assert_eq!(code(&run(&args)), 2);
}

/// The summary lines of a `bench` run without their two timing columns.
fn summary_counts(o: &Output) -> Vec<Vec<String>> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let f: Vec<String> = l.split_whitespace().map(String::from).collect();
            f[..f.len() - 2].to_vec()
        })
        .collect()
}

/// An instance list in its own folder that runs for a second or two:
/// three blocks of a holding, a violated and an unknown instance (ACAS Xu
/// property 6 on net 1_1 takes far longer than `KILL_TEST_CAP`), each with
/// its own copy of the property file, and one row naming a missing file.
fn kill_test_list(name: &str) -> std::path::PathBuf {
    let dir = scratch("kill_test_base", b"").with_file_name(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut list = String::new();
    for block in 0..3 {
        for (model, spec) in [
            ("abs.onnx", "abs_nonneg.json"),
            ("ACASXU_run2a_2_1_batch_2000.onnx", "acasxu_prop2.json"),
            ("ACASXU_run2a_1_1_batch_2000.onnx", "acasxu_prop6.json"),
        ] {
            let copy = dir.join(format!("{block}_{spec}"));
            std::fs::copy(root().join("specs").join(spec), &copy).unwrap();
            list += &format!("{},{},30\n", root().join("models").join(model).display(), copy.display());
        }
        if block == 1 {
            list +=
                &format!("{},{},30\n", root().join("models/abs.onnx").display(), dir.join("missing.json").display());
        }
    }
    let path = dir.join("instances.csv");
    std::fs::write(&path, list).unwrap();
    path
}

/// Seconds each instance of [`kill_test_list`] may take.
const KILL_TEST_CAP: &str = "0.2";

/// The rows of a `bench --out` file, checked to be whole: a header line
/// first and every line a complete row ending in a newline.
fn whole_rows(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "a row cut short: {text:?}");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("onnx,vnnlib,verdict,seconds,witness_validated,expected,agrees,falsify_s,bounds_s,search_s")
    );
    let rows: Vec<String> = lines.map(String::from).collect();
    for r in &rows {
        let f: Vec<&str> = r.split(',').collect();
        assert_eq!(f.len(), 10, "{r}");
        assert!(["holds", "violated", "unknown", "error"].contains(&f[2]), "{r}");
        assert!(f[3].parse::<f64>().is_ok() && f[9].parse::<f64>().is_ok(), "{r}");
    }
    rows
}

/// Kill `bench` with `signal` once its `--out` file has a row, check that
/// the rows written are whole, and that `--resume` finishes the rest with
/// the summary and exit code of an uninterrupted run (timings aside).
fn bench_killed_then_resumed(name: &str, signal: i32) {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let list = kill_test_list(name);
    let list_s = list.to_str().unwrap();
    let reference = run(&["bench", list_s, "--timeout-cap", KILL_TEST_CAP]);
    let n = std::fs::read_to_string(&list).unwrap().lines().count();

    let out = list.with_file_name("out.csv");
    let out_s = out.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reluverify"))
        .args(["bench", list_s, "--timeout-cap", KILL_TEST_CAP, "--out", out_s])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(&out).map_or(0, |t| t.lines().count()) < 2 {
        assert!(start.elapsed() < Duration::from_secs(60), "no row written");
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().signal(), Some(signal), "the run ended before it was killed");
    let before = whole_rows(&out);
    assert!(!before.is_empty() && before.len() < n, "{} of {n} rows", before.len());
    if signal == 9 {
        // A write cut short (a full disk, a power loss) leaves a partial last line.
        let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
        std::io::Write::write_all(&mut f, b"/models/abs.onnx,/tmp/x.json,hol").unwrap();
    }

    let resumed = run(&["bench", list_s, "--timeout-cap", KILL_TEST_CAP, "--out", out_s, "--resume"]);
    assert_eq!(code(&resumed), code(&reference), "{}", stderr(&resumed));
    assert!(stderr(&resumed).contains(&format!("{} of {n} instances done", before.len())), "{}", stderr(&resumed));
    assert_eq!(summary_counts(&resumed), summary_counts(&reference));
    let after = whole_rows(&out);
    assert_eq!(after[..before.len()], before[..], "the rows of the killed run are kept as they were");
    let key = |r: &String| r.split(',').take(2).collect::<Vec<_>>().join(",");
    let mut got: Vec<String> = after.iter().map(key).collect();
    let mut want: Vec<String> =
        std::fs::read_to_string(&list).unwrap().lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "one row per instance");
}

#[test]
fn bench_killed_by_sigterm_keeps_whole_rows_and_resumes() {
    bench_killed_then_resumed("kill_term", 15);
}

#[test]
fn bench_killed_by_sigkill_keeps_whole_rows_and_resumes() {
    bench_killed_then_resumed("kill_kill", 9);
}

/// The shell steps of `examples/ci/safety-gate.yml` run locally
/// (`scripts/test-ci-gate.sh`): the install step in this repository and in
/// another one, the verify step on holding and violated properties.
#[test]
fn ci_gate_workflow_steps_work() {
    let o = std::process::Command::new("bash")
        .args(["scripts/test-ci-gate.sh", env!("CARGO_BIN_EXE_reluverify")])
        .current_dir(root())
        .output()
        .unwrap();
    if code(&o) == 77 {
        eprintln!("skipped: {}", stderr(&o));
        return;
    }
    assert_eq!(code(&o), 0, "{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
}

/// The reusable GitHub Action's check script (`action.yml` runs
/// `scripts/action-check.sh`): its verdicts, annotations, outputs and exit
/// precedence on the shipped models (`scripts/test-action.sh`).
#[test]
fn github_action_check_steps_work() {
    let o = std::process::Command::new("bash")
        .arg("scripts/test-action.sh")
        .env("RELUVERIFY", env!("CARGO_BIN_EXE_reluverify"))
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
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

/// `robustness` on the shipped MNIST network around image 0 (label 8) at
/// eps 0.03, with the center as JSON and as .npy, and the one-line JSON
/// property, all answer as the VNN-COMP property of the same ball; a large
/// ball is violated with a witness inside it; a label past the outputs is
/// a usage error.
#[test]
fn robustness_agrees_with_the_vnnlib_property() {
    let model = "models/mnist-net_256x2.onnx";
    let vnnlib = run(&["check", model, "specs/mnistfc_prop_0_0.03.vnnlib", "--json"]);
    assert_eq!(json(&vnnlib)["verdict"], "holds", "{}", stderr(&vnnlib));
    let ball = ["--eps", "0.03", "--label", "8", "--lower", "0", "--upper", "1", "--json"];
    let o = run(&[&["robustness", model, "--center", "specs/mnist_0.json"][..], &ball[..]].concat());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["verdict"], "holds");
    // The same center as a float32 .npy file (NumPy's format, written here).
    let center: Vec<f64> =
        serde_json::from_str(&std::fs::read_to_string(root().join("specs/mnist_0.json")).unwrap()).unwrap();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': (1, {}), }}", center.len());
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend(center.iter().flat_map(|&v| (v as f32).to_le_bytes()));
    let npy_path = scratch("mnist_0.npy", &npy);
    let o = run(&[&["robustness", model, "--center", npy_path.to_str().unwrap()][..], &ball[..]].concat());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["check", model, "specs/mnist_0_robust.json", "--json"]);
    assert_eq!(json(&o)["verdict"], "holds", "{}", stderr(&o));
    // eps 0.2: some input of the ball is classified otherwise.
    let o = run(&[
        "robustness",
        model,
        "--center",
        "specs/mnist_0.json",
        "--eps",
        "0.2",
        "--label",
        "8",
        "--lower",
        "0",
        "--upper",
        "1",
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let w = &json(&o)["witness"];
    let x: Vec<f64> = w["input"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(x.iter().zip(&center).all(|(x, c)| (x - c).abs() <= 0.2 + 1e-12 && (0.0..=1.0).contains(x)));
    let y: Vec<f64> = w["output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(y.iter().enumerate().any(|(j, &v)| j != 8 && v >= y[8]), "{y:?}");
    let o = run(&["robustness", model, "--center", "specs/mnist_0.json", "--eps", "0.03", "--label", "10"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("label 10"), "{}", stderr(&o));
}

/// `bounds` names each layer by the ONNX node that closed it (every level
/// of a max pool by the pool), the last one `output`; a .nnet file has no
/// node names (`null`, and no column in the text).
#[test]
fn bounds_name_each_layer_by_its_node() {
    let o = run(&["bounds", "tests/data/view_flatten_max_abs.onnx", "tests/data/view_flatten_max_abs.json", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let layers = json(&o)["regions"][0]["methods"][0]["layers"].clone();
    let names: Vec<&str> = layers.as_array().unwrap().iter().map(|l| l["node"].as_str().unwrap()).collect();
    assert_eq!(names, ["Abs a", "Max y", "output"]);
    let text = run(&["bounds", "tests/data/view_flatten_max_abs.onnx", "tests/data/view_flatten_max_abs.json"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("unstable  node\n"), "{}", stderr(&text));
    let o = run(&["bounds", "models/acasxu_1_1.nnet", "specs/acasxu_prop1.json", "--method", "interval", "--json"]);
    let layers = json(&o)["regions"][0]["methods"][0]["layers"].clone();
    assert!(layers.as_array().unwrap().iter().all(|l| l["node"].is_null()));
    let text = run(&["bounds", "models/acasxu_1_1.nnet", "specs/acasxu_prop1.json", "--method", "interval"]);
    assert!(!String::from_utf8_lossy(&text.stdout).contains("node"));
}
