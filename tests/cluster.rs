//! End-to-end tests of running past one machine on the shipped models and
//! properties: `bench --shard` parts merged by `bench-merge`, and `split`
//! parts run from `commands.txt` (as a job array would) put together by
//! `join`, each agreeing with the single run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{code, run, scratch, stderr};

/// A fresh folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run every line of `DIR/commands.txt` with `sh` from DIR, with the
/// binary's folder first on the PATH (as a job array task would); each line
/// must succeed.
fn run_commands(dir: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_reluverify"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let commands = std::fs::read_to_string(dir.join("commands.txt")).unwrap();
    for line in commands.lines() {
        let o = Command::new("sh").args(["-c", line]).current_dir(dir).env("PATH", &path).output().unwrap();
        assert!(o.status.success(), "{line}: {}", String::from_utf8_lossy(&o.stderr));
    }
}

/// Split into `parts`, run the parts, join: the join's exit code (and so
/// verdict) is the single check's. `commands.txt` has a line per part
/// (fewer parts than asked only where noted).
fn split_agrees(name: &str, model: &str, spec: &str, parts: &str, by: &str) {
    split_into(name, model, spec, parts, by, parts)
}

fn split_into(name: &str, model: &str, spec: &str, parts: &str, by: &str, written: &str) {
    let single = code(&run(&["check", model, spec]));
    let dir = folder(name);
    let out_dir = dir.to_str().unwrap();
    let o = run(&["split", model, spec, "--parts", parts, "--by", by, "--search", "0", "--out", out_dir]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines = std::fs::read_to_string(dir.join("commands.txt")).unwrap().lines().count();
    assert_eq!(lines.to_string(), written);
    if written != parts {
        assert!(stderr(&o).contains(&format!("note: {written} parts, not {parts}")), "{}", stderr(&o));
    }
    run_commands(&dir);
    let o = run(&["join", dir.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), single, "{name}: {out}{}", stderr(&o));
    let word = ["holds:", "violated:"][single as usize];
    assert!(out.lines().any(|l| l.starts_with(word)), "{out}");
}

#[test]
fn split_by_input_boxes_agrees_with_the_single_run() {
    split_agrees("boxes-holds", "models/ACASXU_run2a_1_1_batch_2000.onnx", "specs/acasxu_prop2.vnnlib", "5", "auto");
    split_agrees("boxes-violated", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.json", "4", "auto");
    // Two regions, fewer than the parts: each region's box is cut.
    split_agrees("boxes-regions", "models/ACASXU_run2a_1_1_batch_2000.onnx", "specs/acasxu_prop6.vnnlib", "3", "input");
}

#[test]
fn split_by_phase_sets_agrees_with_the_single_run() {
    split_agrees("phases-mnist", "models/mnist-net_256x2.onnx", "specs/mnistfc_prop_0_0.03.vnnlib", "4", "auto");
    split_agrees("phases-acc", "models/acc.onnx", "specs/acc_limits.json", "3", "phases");
    // No neuron unstable on the region: one part, the whole problem.
    let (tanh, near_wall) = ("tests/data/tanh_controller.onnx", "tests/data/tanh_throttle_near_wall.json");
    split_into("phases-tanh", tanh, near_wall, "2", "phases", "1");
    split_agrees(
        "phases-violated",
        "models/ACASXU_run2a_2_1_batch_2000.onnx",
        "specs/acasxu_prop2.json",
        "2",
        "phases",
    );
}

/// An instance the short search settles is not cut: no parts, an empty
/// `commands.txt`, and `join` gives the single run's verdict (a
/// counterexample re-checked); a doctored counterexample is refused.
#[test]
fn the_short_search_settles_quick_instances_without_parts() {
    let cases = [
        ("settled-holds", "models/acc.onnx", "specs/acc_limits.json"),
        ("settled-violated", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.json"),
    ];
    for (name, model, spec) in cases {
        let single = code(&run(&["check", model, spec]));
        let dir = folder(name);
        let o = run(&["split", model, spec, "--parts", "4", "--out", dir.to_str().unwrap()]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("settled by the short search"), "{name}");
        assert_eq!(std::fs::read_to_string(dir.join("commands.txt")).unwrap(), "");
        assert!(!dir.join("parts/part-000.json").exists() && !dir.join("parts/part-000.vnnlib").exists());
        let o = run(&["join", dir.to_str().unwrap()]);
        assert_eq!(code(&o), single, "{name}: {}", String::from_utf8_lossy(&o.stdout));
        if single == 1 {
            let result = dir.join("results/search.json");
            let text = std::fs::read_to_string(&result).unwrap();
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            // A counterexample with one input too few.
            v["witness"]["input"].as_array_mut().unwrap().pop();
            std::fs::write(&result, v.to_string()).unwrap();
            let o = run(&["join", dir.to_str().unwrap()]);
            assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stdout));
            assert!(stderr(&o).contains("not usable"), "{}", stderr(&o));
        }
    }
}

/// `join` names the parts still open, refuses a folder whose files changed
/// since the split, and `check --phases` refuses a part of another property.
#[test]
fn join_checks_the_manifest_and_names_open_parts() {
    let dir = folder("manifest");
    let (model, spec) = ("models/acc.onnx", "specs/acc_limits.json");
    let o =
        run(&["split", model, spec, "--parts", "4", "--by", "phases", "--search", "0", "--out", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    run_commands(&dir);
    std::fs::remove_file(dir.join("results/part-002.json")).unwrap();
    let o = run(&["join", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 3, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 of 4 parts still open: 2"));
    // A --search that is not a number of seconds is refused before anything is written.
    let fresh = folder("bad-search");
    let out = fresh.join("out");
    let o = run(&["split", model, spec, "--parts", "2", "--search", "nan", "--out", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--search must be a positive number"), "{}", stderr(&o));
    assert!(!out.exists());
    // A second split into the same folder is refused.
    let again = run(&["split", model, spec, "--parts", "2", "--out", dir.to_str().unwrap()]);
    assert_eq!(code(&again), 2);
    let part = dir.join("parts/part-001.json");
    let o = run(&["check", model, "specs/acc_closing.json", "--phases", part.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("cut from a property with hash"), "{}", stderr(&o));
    let text = std::fs::read_to_string(&part).unwrap().replace("\"above\"", "\"below\"");
    std::fs::write(&part, text).unwrap();
    let o = run(&["join", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("changed after the split"), "{}", stderr(&o));
    // A part file of another format version, and a manifest that is not one.
    let text = std::fs::read_to_string(&part).unwrap().replace("reluverify-phases-1", "reluverify-phases-9");
    std::fs::write(&part, text).unwrap();
    let o = run(&["check", model, spec, "--phases", part.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("format `reluverify-phases-9`, expected `reluverify-phases-1`"), "{}", stderr(&o));
    std::fs::write(dir.join("manifest.json"), "[]").unwrap();
    let o = run(&["join", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a manifest of `reluverify split`"), "{}", stderr(&o));
}

/// Three shards of a list merge into the rows of the single run; a missing
/// shard or one merged twice is an error.
#[test]
fn shards_merge_into_the_single_run() {
    let dir = folder("shards");
    let list = scratch(
        "cluster-list.csv",
        b"models/abs.onnx,specs/abs_nonneg.json,10\n\
         models/ACASXU_run2a_2_1_batch_2000.onnx,specs/acasxu_prop2.json,30\n\
         models/ACASXU_run2a_1_1_batch_2000.onnx,specs/acasxu_prop2.vnnlib,30\n\
         models/ACASXU_run2a_1_1_batch_2000.onnx,specs/acasxu_prop1.json,30\n\
         models/mnist-net_256x2.onnx,specs/mnistfc_prop_0_0.03.vnnlib,30\n",
    );
    let (list, root) = (list.to_str().unwrap(), env!("CARGO_MANIFEST_DIR"));
    let single = dir.join("single.csv");
    let o = run(&["bench", list, "--root", root, "--out", single.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut parts = Vec::new();
    for i in 0..3 {
        let out = dir.join(format!("shard-{i}.csv"));
        let shard = format!("{i}/3");
        let o = run(&["bench", list, "--root", root, "--shard", &shard, "--out", out.to_str().unwrap()]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        parts.push(out.to_str().unwrap().to_string());
    }
    // The MNIST instance costs most: it is alone in its shard.
    let rows = |p: &str| std::fs::read_to_string(p).unwrap().lines().count() - 1;
    assert_eq!(parts.iter().map(|p| rows(p)).collect::<Vec<_>>(), vec![1, 2, 2]);
    let merged = dir.join("merged.csv");
    let mut args = vec!["bench-merge", "--instances", list, "--out", merged.to_str().unwrap()];
    args.extend(parts.iter().map(String::as_str));
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("TOTAL"));
    let verdicts = |p: &Path| {
        let mut v: Vec<String> = std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
            .collect();
        v.sort();
        v
    };
    assert_eq!(verdicts(&merged), verdicts(&single));
    let o = run(&["bench-merge", "--instances", list, &parts[0], &parts[1]]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no shard answered"), "{}", stderr(&o));
    let o = run(&["bench-merge", "--instances", list, &parts[0], &parts[1], &parts[2], &parts[2]]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("a second row"), "{}", stderr(&o));
}
