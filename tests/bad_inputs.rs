//! Every kind of bad input the README's "Bad input" table lists, run through
//! the `reluverify` binary: each must exit with code 2 and a message that
//! names the file (with line and column for text files, or the ONNX node)
//! and the problem. Small text files live in `tests/data/bad/`; ONNX files
//! are built here with the protobuf messages of `reluverify::model::onnx::pb`.

mod common;

use common::{code, run, scratch, stderr};
use reluverify::model::onnx::{pb, value_info};

/// Run `reluverify ARGS`, assert exit code 2 and that stderr contains every
/// needle; returns stderr.
fn fails_with(args: &[&str], needles: &[&str]) -> String {
    let o = run(args);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{args:?}: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: stderr lacks {needle:?}: {err}");
    }
    err
}

/// `check MODEL SPEC` must fail with the needles in the message.
fn check_fails(model: &str, spec: &str, needles: &[&str]) -> String {
    fails_with(&["check", model, spec], needles)
}

/// A float32 tensor.
fn tensor(name: &str, dims: &[i64], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::DATA_FLOAT,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A node named `name` computing `output`.
fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: name.into(),
        op_type: op.into(),
        ..Default::default()
    }
}

/// An opset-13 model with input `x` of width `inputs` and output `y`, saved
/// as a scratch file `file`; returns its path.
fn onnx_file(file: &str, inputs: usize, nodes: Vec<pb::NodeProto>, initializer: Vec<pb::TensorProto>) -> String {
    let model = pb::ModelProto {
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(pb::GraphProto {
            name: "g".into(),
            node: nodes,
            initializer,
            input: vec![value_info("x", inputs)],
            output: vec![value_info("y", 1)],
            ..Default::default()
        }),
        ..Default::default()
    };
    scratch(file, &prost::Message::encode_to_vec(&model)).display().to_string()
}

/// The node `dense`: `x [1, 1] -> MatMul W -> output`.
fn dense(output: &str) -> pb::NodeProto {
    node("MatMul", "dense", &["x", "W"], output)
}

/// The weight `W [1, 1]` of `dense`.
fn unit_weight() -> pb::TensorProto {
    tensor("W", &[1, 1], &[1.0])
}

#[test]
fn truncated_file() {
    let acas = std::fs::read(common::root().join("models/ACASXU_run2a_1_1_batch_2000.onnx")).unwrap();
    let path = scratch("truncated.onnx", &acas[..acas.len() / 2]);
    check_fails(path.to_str().unwrap(), "specs/acasxu_prop1.json", &["truncated.onnx: not an ONNX model"]);
}

#[test]
fn garbage_bytes() {
    let path = scratch("picture.onnx", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!");
    check_fails(path.to_str().unwrap(), "specs/abs_nonneg.json", &["picture.onnx: not an ONNX model"]);
}

#[test]
fn missing_file() {
    check_fails("models/missing.onnx", "specs/abs_nonneg.json", &["models/missing.onnx: cannot access file"]);
}

#[test]
fn unsupported_operator() {
    let nodes = vec![dense("z"), node("TopK", "top", &["z"], "y")];
    let path = onnx_file("topk.onnx", 1, nodes, vec![unit_weight()]);
    check_fails(
        &path,
        "specs/abs_nonneg.json",
        &["topk.onnx: node 'top' (TopK): operator TopK is not supported; supported operators: Abs, Add,"],
    );
}

/// A softmax classifier's property may compare classes, not threshold a
/// probability (not linear in the logits).
#[test]
fn softmax_with_a_threshold_constraint() {
    check_fails(
        "tests/data/softmax_classifier.onnx",
        "tests/data/bad/softmax_threshold.json",
        &[
            "softmax_threshold.json: constraint `y0 <= 0.9` (region 0, unsafe disjunct 0) is not linear in the \
             logits: the network ends in Softmax",
            "write `y_i <= y_j`",
            "cut the model before the Softmax",
        ],
    );
}

/// A property declaring more or fewer inputs or outputs than the network
/// has was written for another model (issue 20: it used to pass).
#[test]
fn counts_that_do_not_match_the_model() {
    let model = "tests/data/tanh_controller.onnx";
    for (spec, needle) in [
        ("outputs_for_another_model.json", "the property declares 3 outputs but the network has 2"),
        ("outputs_for_another_model.vnnlib", "the property declares 3 outputs but the network has 2"),
        ("inputs_for_another_model.json", "the property declares 3 inputs but the network has 2"),
    ] {
        let path = format!("tests/data/bad/{spec}");
        check_fails(model, &path, &[&format!("{spec}: {needle}")]);
        // The same for every command that reads a property.
        fails_with(&["bounds", model, &path], &[needle]);
    }
}

#[test]
fn sigmoid_network() {
    let nodes = vec![dense("z"), node("Sigmoid", "squash", &["z"], "h"), node("MatMul", "out", &["h", "V"], "y")];
    let path = onnx_file("sigmoid.onnx", 1, nodes, vec![unit_weight(), tensor("V", &[1, 1], &[2.0])]);
    check_fails(&path, "specs/abs_nonneg.json", &["sigmoid.onnx: node 'squash' (Sigmoid): operator Sigmoid"]);
}

#[test]
fn nan_weight() {
    let path = onnx_file("nan.onnx", 1, vec![dense("y")], vec![tensor("W", &[1, 1], &[f32::NAN])]);
    check_fails(
        &path,
        "specs/abs_nonneg.json",
        &["nan.onnx: node 'dense' (MatMul): initializer 'W': value NaN at flat index 0 is not finite"],
    );
}

#[test]
fn huge_declared_tensor() {
    // 3 * 10^9 elements declared, 4 bytes present: refused before any allocation.
    let path = onnx_file("huge.onnx", 1, vec![dense("y")], vec![tensor("W", &[1, 3_000_000_000], &[1.0])]);
    check_fails(
        &path,
        "specs/abs_nonneg.json",
        &["huge.onnx: node 'dense' (MatMul): initializer 'W' declares shape [1, 3000000000]", "--max-elements"],
    );
}

#[test]
fn huge_declared_nnet_layer() {
    check_fails(
        "tests/data/bad/huge_layer.nnet",
        "specs/abs_nonneg.json",
        &["huge_layer.nnet:3:3: layer 1 has 1000000000 neurons, more than the limit of 16777216", "--max-elements"],
    );
}

#[test]
fn dimension_mismatch() {
    check_fails(
        "models/ACASXU_run2a_1_1_batch_2000.onnx",
        "specs/abs_nonneg.json",
        &["specs/abs_nonneg.json: the property declares 1 input but the network has 5"],
    );
}

#[test]
fn empty_input_box() {
    check_fails("models/abs.onnx", "tests/data/bad/empty_box.json", &["empty_box.json: inputs: no inputs listed"]);
}

#[test]
fn lower_above_upper() {
    check_fails(
        "models/abs.onnx",
        "tests/data/bad/lower_above_upper.json",
        &["lower_above_upper.json: inputs[0] (input `x`): lower bound 1 is above upper bound 0"],
    );
}

#[test]
fn unknown_variable() {
    check_fails(
        "models/abs.onnx",
        "tests/data/bad/unknown_variable.vnnlib",
        &["unknown_variable.vnnlib:6:13: undeclared variable `Y_1`"],
    );
}

#[test]
fn output_index_out_of_range() {
    check_fails(
        "models/abs.onnx",
        "tests/data/bad/output_out_of_range.json",
        &["output_out_of_range.json: the property refers to output 3 but the network has 1 outputs"],
    );
}

#[test]
fn non_linear_term() {
    check_fails(
        "models/abs.onnx",
        "tests/data/bad/nonlinear.vnnlib",
        &["nonlinear.vnnlib:6:13: non-linear term: a product of two variables"],
    );
}

#[test]
fn input_and_output_in_one_constraint() {
    check_fails(
        "models/abs.onnx",
        "tests/data/bad/mixed_input_output.vnnlib",
        &["mixed_input_output.vnnlib:6:9: this comparison mixes inputs (X_0) and outputs (Y_0)"],
    );
}

#[test]
fn malformed_json() {
    check_fails(
        "models/abs.onnx",
        "tests/data/bad/malformed.json",
        &["malformed.json:2:15: invalid JSON property: key must be a string"],
    );
}

#[test]
fn too_deep_nesting() {
    let depth = 300;
    let term = "(+ ".repeat(depth) + "Y_0" + &")".repeat(depth);
    let text = format!("(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= {term} 0))\n");
    let path = scratch("deep.vnnlib", text.as_bytes());
    let err = check_fails(
        "models/abs.onnx",
        path.to_str().unwrap(),
        &["deep.vnnlib:3:", "lists are nested more than 256 levels deep", "--max-nesting"],
    );
    // The limit is configurable: with room for the depth, the next problem
    // (X_0 has no bounds) is reported instead.
    let roomy = fails_with(
        &["check", "models/abs.onnx", path.to_str().unwrap(), "--max-nesting", "400"],
        &["deep.vnnlib:1:16: input X_0 has no bounds"],
    );
    assert_ne!(err, roomy);
}

#[test]
fn file_too_large() {
    fails_with(
        &["check", "models/mnist-net_256x2.onnx", "specs/mnistfc_prop_0_0.03.vnnlib", "--max-model-size", "100K"],
        &["mnist-net_256x2.onnx: the file is 1077894 bytes, more than the limit of 102400 bytes", "--max-model-size"],
    );
    fails_with(
        &["check", "models/abs.onnx", "specs/acasxu_prop1.vnnlib", "--max-spec-size", "512"],
        &["acasxu_prop1.vnnlib: the file is 888 bytes, more than the limit of 512 bytes", "--max-spec-size"],
    );
}

#[test]
fn bad_option() {
    fails_with(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--timeout", "0"], &["--timeout"]);
    fails_with(&["check", "models/abs.onnx", "specs/abs_nonneg.json", "--max-nesting", "2000"], &["--max-nesting"]);
}

/// A hidden `Sigmoid` says why it is refused and what would work instead.
#[test]
fn hidden_sigmoid_says_what_to_do() {
    let nodes = vec![dense("z"), node("Sigmoid", "squash", &["z"], "h"), node("MatMul", "out", &["h", "V"], "y")];
    let path = onnx_file("hidden_sigmoid.onnx", 1, nodes, vec![unit_weight(), tensor("V", &[1, 1], &[2.0])]);
    check_fails(
        &path,
        "specs/abs_nonneg.json",
        &[
            "hidden_sigmoid.onnx: node 'squash' (Sigmoid): operator Sigmoid is not piecewise linear",
            "retrain with a piecewise-linear activation",
            "cut the network before this node",
        ],
    );
}

/// A model exported with a fixed batch of 4 names the shape and the fix.
#[test]
fn fixed_batch_of_four() {
    let mut input = value_info("x", 1);
    if let Some(pb::type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) {
        t.shape.as_mut().unwrap().dim[0].value = Some(pb::tensor_shape_proto::dimension::Value::DimValue(4));
    }
    let model = pb::ModelProto {
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(pb::GraphProto {
            node: vec![dense("y")],
            initializer: vec![unit_weight()],
            input: vec![input],
            output: vec![value_info("y", 1)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let path = scratch("batch4.onnx", &prost::Message::encode_to_vec(&model));
    check_fails(
        path.to_str().unwrap(),
        "specs/abs_nonneg.json",
        &["batch4.onnx: network input 'x' has shape [4, 1], a fixed batch of 4", "dynamic_axes", "batch size 1"],
    );
}

/// A `.gz` file that is not valid gzip data is an error naming the file.
#[test]
fn corrupt_gzip() {
    let path = scratch("corrupt.onnx.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not deflate data");
    check_fails(path.to_str().unwrap(), "specs/abs_nonneg.json", &["corrupt.onnx.gz: not a valid gzip file"]);
}

/// A small `.gz` file that decompresses beyond `--max-model-size` (a gzip
/// bomb: 8 MiB of zeros in about 8 KiB) is a limit error, and the same for
/// a property beyond `--max-spec-size`.
#[test]
fn gzip_bomb() {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 8 << 20]).unwrap();
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 16 << 10, "{}", bomb.len());
    let model = scratch("bomb.onnx.gz", &bomb);
    fails_with(
        &["check", model.to_str().unwrap(), "specs/abs_nonneg.json", "--max-model-size", "1M"],
        &["bomb.onnx.gz: the decompressed file is larger than the limit of 1048576 bytes", "--max-model-size"],
    );
    let spec = scratch("bomb.vnnlib.gz", &bomb);
    fails_with(
        &["check", "models/abs.onnx", spec.to_str().unwrap(), "--max-spec-size", "1M"],
        &["bomb.vnnlib.gz: the decompressed file is larger than the limit of 1048576 bytes", "--max-spec-size"],
    );
}
