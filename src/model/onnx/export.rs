//! Writing a [`Network`] as a plain opset-13 ONNX graph.
//!
//! Input `input` of shape `[1, n]` (float), then per layer a `Gemm` with
//! `transB = 1` (weights stored `out x in`, as in the IR) followed by its
//! activation: `Relu`; `LeakyRelu` when all slopes are equal, else `PRelu`
//! with a slope initializer; `Clip` with its finite bounds as scalar inputs.
//! An [`OutputActivation`](crate::model::OutputActivation) becomes a last
//! `Softmax`, `LogSoftmax`, `Tanh` or `Sigmoid` node (softmaxes over the
//! default axis -1, the outputs). The last node's output is `output`, of
//! shape `[1, m]`.
//!
//! Weights are written as float32 because that is what ONNX runtimes accept
//! for a float input; loading the file back gives the network up to f32
//! rounding of every weight, bias, slope and bound.

use prost::Message;

use super::pb;
use crate::model::{Activation, Network};

/// The operator set the exported graph declares.
const OPSET: i64 = 13;
/// IR version 7 is the one that introduced opset 13.
const IR_VERSION: i64 = 7;

/// The serialized ONNX model.
pub(crate) fn to_bytes(net: &Network) -> Vec<u8> {
    to_model(net).encode_to_vec()
}

/// The network as an ONNX model message.
pub(crate) fn to_model(net: &Network) -> pb::ModelProto {
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut current = "input".to_string();
    let last = net.layers().len() - 1;
    // The node that computes `output`: the output activation if there is
    // one, else the last layer's activation or Gemm.
    let out =
        |k: usize, name: String| if k == last && net.output_activation().is_none() { "output".into() } else { name };
    for (k, layer) in net.layers().iter().enumerate() {
        let (rows, cols) = (layer.output_dim(), layer.input_dim());
        let w = format!("layer{k}.weight");
        let b = format!("layer{k}.bias");
        inits.push(float_tensor(&w, &[rows, cols], &layer.affine.weights.to_dense_data()));
        inits.push(float_tensor(&b, &[rows], &layer.affine.bias));
        let activated = layer.activation != Activation::Identity;
        let z = if activated { format!("layer{k}.gemm") } else { out(k, format!("layer{k}.gemm")) };
        nodes.push(node("Gemm", &z, vec![current, w, b], &z, vec![int_attr("transB", 1)]));
        current = z;
        if !activated {
            continue;
        }
        let y = out(k, format!("layer{k}.{}", layer.activation.name()));
        let name = format!("layer{k}.{}", layer.activation.name());
        let act = match &layer.activation {
            Activation::Identity => continue,
            Activation::Relu => node("Relu", &name, vec![current], &y, vec![]),
            Activation::Leaky { slopes } if slopes.iter().all(|&s| s == slopes[0]) => {
                node("LeakyRelu", &name, vec![current], &y, vec![float_attr("alpha", slopes[0])])
            }
            Activation::Leaky { slopes } => {
                let s = format!("layer{k}.slope");
                inits.push(float_tensor(&s, &[rows], slopes));
                node("PRelu", &name, vec![current, s], &y, vec![])
            }
            Activation::Clip { lo, hi } => {
                let mut inputs = vec![current];
                for (bound, which) in [(*lo, "min"), (*hi, "max")] {
                    if bound.is_finite() {
                        let t = format!("layer{k}.{which}");
                        inits.push(float_tensor(&t, &[], &[bound]));
                        inputs.push(t);
                    } else {
                        inputs.push(String::new());
                    }
                }
                while inputs.last().is_some_and(String::is_empty) {
                    inputs.pop();
                }
                node("Clip", &name, inputs, &y, vec![])
            }
        };
        nodes.push(act);
        current = y;
    }
    if let Some(act) = net.output_activation() {
        nodes.push(node(act.op_name(), "output_activation", vec![current], "output", vec![]));
    }
    pb::ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: "reluverify".into(),
        graph: Some(pb::GraphProto {
            node: nodes,
            name: "reluverify".into(),
            initializer: inits,
            input: vec![value_info("input", net.input_dim())],
            output: vec![value_info("output", net.output_dim())],
            value_info: vec![],
        }),
    }
}

fn node(op: &str, name: &str, input: Vec<String>, output: &str, attribute: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        input,
        output: vec![output.to_string()],
        name: name.to_string(),
        op_type: op.to_string(),
        attribute,
        domain: String::new(),
    }
}

fn int_attr(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), i, r#type: pb::ATTR_INT, ..Default::default() }
}

fn float_attr(name: &str, f: f64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), f: f as f32, r#type: pb::ATTR_FLOAT, ..Default::default() }
}

/// A float32 tensor with its data in `raw_data` (little endian).
fn float_tensor(name: &str, dims: &[usize], data: &[f64]) -> pb::TensorProto {
    pb::TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: pb::DATA_FLOAT,
        name: name.into(),
        raw_data: data.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A float tensor graph input or output `name` of shape `[1, n]`, the
/// shape the loader expects; public for building test graphs by hand.
pub fn value_info(name: &str, n: usize) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
    let dim = |v: usize| Dimension { value: Some(Dim::DimValue(v as i64)) };
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::DATA_FLOAT,
                shape: Some(pb::TensorShapeProto { dim: vec![dim(1), dim(n)] }),
            })),
        }),
    }
}
