//! End-to-end tests of the `reluverify` binary on the models and properties
//! shipped in `models/` and `specs/`: verdicts, exit codes, output formats and
//! the errors users get for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reluverify::model::onnx;
use reluverify::spec;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reluverify")).args(args).current_dir(root()).output().expect("binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch file unique to this test process.
fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reluverify-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

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

/// Each kind of bad input exits with code 2 and a message naming the problem.
#[test]
fn bad_inputs_exit_2_with_clear_messages() {
    let acas = std::fs::read(root().join("models/ACASXU_run2a_1_1_batch_2000.onnx")).unwrap();
    let truncated = scratch("truncated.onnx", &acas[..acas.len() / 2]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["check".into(), truncated.display().to_string(), "specs/acasxu_prop1.json".into()], "truncated.onnx"),
        (vec!["check".into(), "models/missing.onnx".into(), "specs/acasxu_prop1.json".into()], "missing.onnx"),
        (
            vec![
                "check".into(),
                "models/ACASXU_run2a_1_1_batch_2000.onnx".into(),
                scratch("out7.json", br#"{"inputs": [{"lower": 0, "upper": 1},{"lower": 0, "upper": 1},{"lower": 0, "upper": 1},{"lower": 0, "upper": 1},{"lower": 0, "upper": 1}], "unsafe": "y7 >= 1"}"#)
                    .display()
                    .to_string(),
            ],
            "output 7",
        ),
        (
            vec![
                "check".into(),
                "models/abs.onnx".into(),
                scratch("malformed.json", b"{\"inputs\": [\n  {\"lower\": 0,, \"upper\": 1}]}").display().to_string(),
            ],
            "malformed.json:2:",
        ),
        (
            vec![
                "check".into(),
                "models/ACASXU_run2a_1_1_batch_2000.onnx".into(),
                "specs/abs_nonneg.json".into(),
            ],
            "inputs",
        ),
        (vec!["check".into(), "models/abs.onnx".into(), "specs/abs_nonneg.json".into(), "--timeout".into(), "0".into()], "timeout"),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: stderr lacks {needle:?}: {}", stderr(&o));
    }
}

#[test]
fn unsupported_operator_names_op_and_node() {
    use reluverify::model::onnx::pb;
    // A one-node graph: Sigmoid.
    let model = pb::ModelProto {
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(pb::GraphProto {
            name: "g".into(),
            node: vec![pb::NodeProto {
                input: vec!["x".into()],
                output: vec!["y".into()],
                name: "squash".into(),
                op_type: "Sigmoid".into(),
                ..Default::default()
            }],
            input: vec![value_info("x", 3)],
            output: vec![value_info("y", 3)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let path = scratch("sigmoid.onnx", &prost::Message::encode_to_vec(&model));
    let o = run(&["check", path.to_str().unwrap(), "specs/abs_nonneg.json"]);
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(e.contains("Sigmoid") && e.contains("squash"), "{e}");
}

fn value_info(name: &str, n: i64) -> reluverify::model::onnx::pb::ValueInfoProto {
    use reluverify::model::onnx::pb;
    let dim =
        |v| pb::tensor_shape_proto::Dimension { value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) };
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto { dim: vec![dim(1), dim(n)] }),
            })),
        }),
    }
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
