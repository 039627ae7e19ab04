//! Test support: build small ONNX models by hand with the [`pb`] messages,
//! and compare forward passes.

use super::pb;
use super::pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
use crate::error::Result;
use crate::model::Network;
use prost::Message;

/// A model under construction: one input `x`, nodes, initializers, outputs.
pub(crate) struct TestGraph {
    model: pb::ModelProto,
}

impl TestGraph {
    /// A graph importing default-domain `opset` whose input `x` has `dims`
    /// (a negative entry becomes the symbolic dimension `N`).
    pub fn new(opset: i64, dims: &[i64]) -> TestGraph {
        let dim = dims
            .iter()
            .map(|&d| Dimension { value: Some(if d < 0 { Dim::DimParam("N".into()) } else { Dim::DimValue(d) }) })
            .collect();
        let input = pb::ValueInfoProto {
            name: "x".into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: pb::DATA_FLOAT,
                    shape: Some(pb::TensorShapeProto { dim }),
                })),
            }),
        };
        TestGraph {
            model: pb::ModelProto {
                ir_version: 7,
                opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: opset }],
                producer_name: "test".into(),
                graph: Some(pb::GraphProto { input: vec![input], ..Default::default() }),
            },
        }
    }

    fn graph(&mut self) -> &mut pb::GraphProto {
        self.model.graph.get_or_insert_with(Default::default)
    }

    /// A double initializer (exact, so hand-computed expectations are exact).
    pub fn init(mut self, name: &str, dims: &[i64], data: &[f64]) -> TestGraph {
        let t = pb::TensorProto {
            dims: dims.to_vec(),
            data_type: pb::DATA_DOUBLE,
            name: name.into(),
            double_data: data.to_vec(),
            ..Default::default()
        };
        self.graph().initializer.push(t);
        self
    }

    /// A rank-1 int64 initializer (shapes, axes), stored in `int64_data`.
    pub fn init_i64(mut self, name: &str, data: &[i64]) -> TestGraph {
        let t = pb::TensorProto {
            dims: vec![data.len() as i64],
            data_type: pb::DATA_INT64,
            name: name.into(),
            int64_data: data.to_vec(),
            ..Default::default()
        };
        self.graph().initializer.push(t);
        self
    }

    /// An int64 initializer of any shape (`&[]` for a scalar), stored in
    /// `raw_data` as the PyTorch exporter writes it.
    pub fn init_i64_shaped(mut self, name: &str, dims: &[i64], data: &[i64]) -> TestGraph {
        let t = pb::TensorProto {
            dims: dims.to_vec(),
            data_type: pb::DATA_INT64,
            name: name.into(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        };
        self.graph().initializer.push(t);
        self
    }

    /// A float32 initializer in `raw_data`, as the PyTorch exporter writes
    /// weights (values are rounded to f32).
    pub fn init_f32(mut self, name: &str, dims: &[i64], data: &[f64]) -> TestGraph {
        let t = pb::TensorProto {
            dims: dims.to_vec(),
            data_type: pb::DATA_FLOAT,
            name: name.into(),
            raw_data: data.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect(),
            ..Default::default()
        };
        self.graph().initializer.push(t);
        self
    }

    /// A default-domain node named after its (single) output.
    pub fn node(mut self, op: &str, inputs: &[&str], output: &str, attribute: Vec<pb::AttributeProto>) -> TestGraph {
        let node = pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: output.into(),
            op_type: op.into(),
            attribute,
            domain: String::new(),
        };
        self.graph().node.push(node);
        self
    }

    /// Declare a graph output (its type is not needed by the loader).
    pub fn output(mut self, name: &str) -> TestGraph {
        self.graph().output.push(pb::ValueInfoProto { name: name.into(), r#type: None });
        self
    }

    /// The model message, for tests that tamper with it.
    pub fn model(self) -> pb::ModelProto {
        self.model
    }

    /// Serialize and load through the public entry point.
    pub fn load(self) -> Result<Network> {
        super::load_bytes(&self.model.encode_to_vec())
    }
}

/// A float attribute.
pub(crate) fn attr_f(name: &str, f: f32) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), f, r#type: pb::ATTR_FLOAT, ..Default::default() }
}

/// An integer attribute.
pub(crate) fn attr_i(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), i, r#type: pb::ATTR_INT, ..Default::default() }
}

/// A string attribute.
pub(crate) fn attr_s(name: &str, s: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), s: s.as_bytes().to_vec(), r#type: pb::ATTR_STRING, ..Default::default() }
}

/// A list-of-integers attribute.
pub(crate) fn attr_ints(name: &str, ints: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), ints: ints.to_vec(), r#type: pb::ATTR_INTS, ..Default::default() }
}

/// A tensor attribute holding doubles.
pub(crate) fn attr_t(name: &str, dims: &[i64], data: &[f64]) -> pb::AttributeProto {
    let t = pb::TensorProto {
        dims: dims.to_vec(),
        data_type: pb::DATA_DOUBLE,
        double_data: data.to_vec(),
        ..Default::default()
    };
    pb::AttributeProto { name: name.into(), t: Some(t), r#type: pb::ATTR_TENSOR, ..Default::default() }
}

/// A tensor attribute holding int64 values (as `Constant` nodes of shape
/// arithmetic carry them).
pub(crate) fn attr_t_i64(name: &str, dims: &[i64], data: &[i64]) -> pb::AttributeProto {
    let t = pb::TensorProto {
        dims: dims.to_vec(),
        data_type: pb::DATA_INT64,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    };
    pb::AttributeProto { name: name.into(), t: Some(t), r#type: pb::ATTR_TENSOR, ..Default::default() }
}

/// Relative agreement required between a loaded network and a reference
/// evaluation written out by hand: both compute the same sums in f64, in
/// different orders, so only rounding separates them.
pub(crate) const REFERENCE_TOL: f64 = 1e-9;

/// Assert that `net` (with `inputs` inputs) and the graph it was lowered
/// from both agree with `reference`, the graph's math written out
/// independently, on 200 pseudo-random inputs in `[-2, 2]` (to
/// [`REFERENCE_TOL`], relative).
pub(crate) fn assert_agrees(net: &Network, inputs: usize, reference: impl Fn(&[f64]) -> Vec<f64>) {
    assert_eq!(net.input_dim(), inputs, "input width");
    let graph = net.source().expect("an ONNX network keeps the graph it was lowered from");
    let mut rng = crate::rng::Rng::new(20);
    for _ in 0..200 {
        let x: Vec<f64> = (0..inputs).map(|_| rng.range(-2.0, 2.0)).collect();
        let want = reference(&x);
        assert_close(&net.forward(&x), &want, REFERENCE_TOL);
        assert_close(&graph.forward(&x), &want, REFERENCE_TOL);
    }
}

/// Assert two vectors agree to `tol` (absolute, scaled up for large values).
pub(crate) fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "length: got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * w.abs().max(1.0), "element {i}: got {g}, want {w} (got {got:?}, want {want:?})");
    }
}
