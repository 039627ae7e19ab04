//! The operator table: ONNX `op_type` -> a builder that turns one node's
//! input [`Value`]s into its output values.
//!
//! A builder evaluates constant inputs itself and adds a node of the
//! [`Graph`] for an input-dependent result (index maps, linear maps,
//! convolutions, activations, ...). Operators
//! are grouped one file per family: [`linear`] (`Gemm`, `MatMul`),
//! [`elementwise`] (`Add`, `Sub`, `Mul`, `Div`, `Neg`,
//! `BatchNormalization`), [`reduce`] (`ReduceSum`, `ReduceMean`), [`shape`]
//! (`Flatten`, `Reshape`, `Transpose`, `Squeeze`, `Unsqueeze`, `Identity`,
//! `Dropout`, `Constant`), [`select`] (`Gather`, `Slice`, `Concat`,
//! `Expand`), [`fold`] (`Shape`, `ConstantOfShape`, `Range`, `Cast`: shape
//! arithmetic evaluated at load time), [`activation`] (`Relu`, `LeakyRelu`,
//! `PRelu`, `Clip`, `HardSigmoid`), [`spatial`] (`Conv`, `AveragePool`,
//! `GlobalAveragePool`, `MaxPool`, `Pad`) and [`gadgets`] (`Abs`, `Max`,
//! `Min`). Since every builder evaluates constant inputs, any subgraph that
//! depends only on constants and shapes folds at load time.
//!
//! An operator missing from [`OPS`] is rejected at load time with an error
//! naming the node, never turned into a placeholder that fails later: one
//! of [`NOT_PIECEWISE_LINEAR`] with a message saying why and what to do
//! instead, any other with the list of what is supported
//! ([`unsupported_operator`]).

mod activation;
mod elementwise;
mod fold;
mod gadgets;
mod linear;
mod reduce;
mod select;
mod shape;
mod spatial;

use std::rc::Rc;

use super::pb;
use super::tensor::Tensor;
use super::value::{Sym, Value};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{Budget, LoadLimits};
use crate::model::graph::{Graph, Op};

/// A builder: the node with its resolved inputs, and the graph built so far
/// (input-dependent results are added to it). Returns the node's outputs in
/// order.
pub(crate) type Build = fn(&NodeInput<'_>, &mut Graph) -> Result<Vec<Value>>;

/// Every supported operator of the default ONNX domain, sorted by name.
pub(crate) const OPS: &[(&str, Build)] = &[
    ("Abs", gadgets::abs),
    ("Add", elementwise::add),
    ("AveragePool", spatial::average_pool),
    ("BatchNormalization", elementwise::batch_normalization),
    ("Cast", fold::cast),
    ("Clip", activation::clip),
    ("Concat", select::concat),
    ("Constant", shape::constant),
    ("ConstantOfShape", fold::constant_of_shape),
    ("Conv", spatial::conv),
    ("Div", elementwise::div),
    ("Dropout", shape::dropout),
    ("Expand", select::expand),
    ("Flatten", shape::flatten),
    ("Gather", select::gather),
    ("Gemm", linear::gemm),
    ("GlobalAveragePool", spatial::global_average_pool),
    ("HardSigmoid", activation::hard_sigmoid),
    ("Identity", shape::identity),
    ("LeakyRelu", activation::leaky_relu),
    ("MatMul", linear::matmul),
    ("Max", gadgets::max),
    ("MaxPool", spatial::max_pool),
    ("Min", gadgets::min),
    ("Mul", elementwise::mul),
    ("Neg", elementwise::neg),
    ("PRelu", activation::prelu),
    ("Pad", spatial::pad),
    ("Range", fold::range),
    ("ReduceMean", reduce::reduce_mean),
    ("ReduceSum", reduce::reduce_sum),
    ("Relu", activation::relu),
    ("Reshape", shape::reshape),
    ("Shape", fold::shape),
    ("Slice", select::slice),
    ("Split", select::split),
    ("Squeeze", shape::squeeze),
    ("Sub", elementwise::sub),
    ("Transpose", shape::transpose),
    ("Unsqueeze", shape::unsqueeze),
];

/// Operators of the default domain that are smooth (or otherwise not
/// piecewise linear): no chain of affine layers and kinks computes them, so
/// no exact MILP encoding exists. Sorted by name.
pub(crate) const NOT_PIECEWISE_LINEAR: &[&str] = &[
    "Acos",
    "Asin",
    "Atan",
    "Celu",
    "Cos",
    "Cosh",
    "Elu",
    "Erf",
    "Exp",
    "Gelu",
    "HardSwish",
    "Log",
    "LogSoftmax",
    "Mish",
    "Pow",
    "Reciprocal",
    "Selu",
    "Sigmoid",
    "Sin",
    "Sinh",
    "Softmax",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Tan",
    "Tanh",
];

/// The error for a default-domain operator missing from [`OPS`]. For the
/// [`NOT_PIECEWISE_LINEAR`] ones (activations such as `Sigmoid`) it says why
/// and what would work instead; for others it lists what is supported.
pub(crate) fn unsupported_operator(op: &str) -> Error {
    if NOT_PIECEWISE_LINEAR.contains(&op) {
        return Error::new(
            ErrorKind::Unsupported,
            format!(
                "operator {op} is not piecewise linear, so no network of affine layers and ReLU-like kinks computes it and the verifier cannot encode it exactly; retrain with a piecewise-linear activation in its place (Relu, LeakyRelu, PRelu, HardTanh/Clip or HardSigmoid), or cut the network before this node and verify the part up to it"
            ),
        );
    }
    Error::new(
        ErrorKind::Unsupported,
        format!("operator {op} is not supported; supported operators: {}", supported_list()),
    )
}

/// The builder for `op_type`, if supported.
pub(crate) fn lookup(op_type: &str) -> Option<Build> {
    OPS.iter().find(|(name, _)| *name == op_type).map(|&(_, build)| build)
}

/// The supported operator names, comma separated, for error messages.
pub(crate) fn supported_list() -> String {
    OPS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

/// One node ready to build: its proto, the model's opset version, the
/// budget of values left to build, and its input values (`None` for an
/// optional input left empty).
pub(crate) struct NodeInput<'a> {
    /// The node.
    pub node: &'a pb::NodeProto,
    /// The version of the default-domain operator set the model imports.
    pub opset: i64,
    /// What the shapes and maps built here may declare and allocate.
    pub budget: &'a Budget<'a>,
    /// One entry per `node.input`.
    pub values: Vec<Option<Rc<Value>>>,
}

impl NodeInput<'_> {
    /// The operator name, for messages.
    fn op(&self) -> &str {
        &self.node.op_type
    }

    /// Input `i`, which the operator requires.
    pub fn input(&self, i: usize) -> Result<&Value> {
        self.opt_input(i).ok_or_else(|| {
            Error::new(ErrorKind::Onnx, format!("{} needs input {} but the node has none", self.op(), i + 1))
        })
    }

    /// Input `i` if present and not left empty.
    pub fn opt_input(&self, i: usize) -> Option<&Value> {
        self.values.get(i).and_then(|v| v.as_deref())
    }

    /// Input `i` as a constant; `what` says what the operator uses it for.
    pub fn const_input(&self, i: usize, what: &str) -> Result<&Tensor> {
        match self.input(i)? {
            Value::Const(t) => Ok(t),
            Value::Sym(_) => Err(self.needs_const(i, what)),
        }
    }

    /// Optional input `i` as a constant.
    pub fn opt_const_input(&self, i: usize, what: &str) -> Result<Option<&Tensor>> {
        match self.opt_input(i) {
            None => Ok(None),
            Some(Value::Const(t)) => Ok(Some(t)),
            Some(Value::Sym(_)) => Err(self.needs_const(i, what)),
        }
    }

    fn needs_const(&self, i: usize, what: &str) -> Error {
        let name = self.node.input.get(i).map(String::as_str).unwrap_or("");
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} input {} ('{name}', the {what}) depends on the network input; only constants (initializers or Constant nodes) are supported there",
                self.op(),
                i + 1
            ),
        )
    }

    /// The attribute `name`, checking that it has the `expected` type.
    fn attr(&self, name: &str, expected: i32) -> Result<Option<&pb::AttributeProto>> {
        match self.node.attribute.iter().find(|a| a.name == name) {
            None => Ok(None),
            // Type 0 only appears in IR version 1 files, which had no type field.
            Some(a) if a.r#type == expected || a.r#type == 0 => Ok(Some(a)),
            Some(a) => Err(Error::new(
                ErrorKind::Onnx,
                format!(
                    "{} attribute '{name}' has type {}, expected {} ({})",
                    self.op(),
                    a.r#type,
                    expected,
                    attr_type_name(expected)
                ),
            )),
        }
    }

    /// A float attribute, or `default` when absent.
    pub fn attr_float(&self, name: &str, default: f64) -> Result<f64> {
        Ok(self.attr(name, pb::ATTR_FLOAT)?.map(|a| f64::from(a.f)).unwrap_or(default))
    }

    /// An optional float attribute.
    pub fn attr_float_opt(&self, name: &str) -> Result<Option<f64>> {
        Ok(self.attr(name, pb::ATTR_FLOAT)?.map(|a| f64::from(a.f)))
    }

    /// An integer attribute, or `default` when absent.
    pub fn attr_int(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.attr(name, pb::ATTR_INT)?.map(|a| a.i).unwrap_or(default))
    }

    /// An optional list-of-integers attribute.
    pub fn attr_ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        Ok(self.attr(name, pb::ATTR_INTS)?.map(|a| a.ints.clone()))
    }

    /// An optional string attribute (UTF-8).
    pub fn attr_string(&self, name: &str) -> Result<Option<String>> {
        self.attr(name, pb::ATTR_STRING)?
            .map(|a| {
                String::from_utf8(a.s.clone()).map_err(|_| {
                    Error::new(ErrorKind::Onnx, format!("{} attribute '{name}' is not UTF-8 text", self.op()))
                })
            })
            .transpose()
    }

    /// An optional list-of-floats attribute.
    pub fn attr_floats(&self, name: &str) -> Result<Option<Vec<f64>>> {
        Ok(self.attr(name, pb::ATTR_FLOATS)?.map(|a| a.floats.iter().map(|&v| f64::from(v)).collect()))
    }

    /// An optional tensor attribute.
    pub fn attr_tensor(&self, name: &str) -> Result<Option<&pb::TensorProto>> {
        Ok(self.attr(name, pb::ATTR_TENSOR)?.and_then(|a| a.t.as_ref()))
    }

    /// A 0/1 flag attribute.
    pub fn attr_flag(&self, name: &str) -> Result<bool> {
        match self.attr_int(name, 0)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(Error::new(ErrorKind::Onnx, format!("{} attribute '{name}' must be 0 or 1, got {v}", self.op()))),
        }
    }

    /// Whether the node sets attribute `name` at all.
    pub fn has_attr(&self, name: &str) -> bool {
        self.node.attribute.iter().any(|a| a.name == name)
    }

    /// A shape-mismatch error: what the operator expected against what it got.
    pub fn shape_error(&self, expected: impl std::fmt::Display, got: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::Onnx, format!("{} shape mismatch: expected {expected}, got {got}", self.op()))
    }

    /// Check a result shape the operator computed from its inputs (see
    /// [`check_shape`](super::tensor::check_shape)) and return its element count.
    pub fn check_shape(&self, shape: &[usize]) -> Result<usize> {
        super::tensor::check_shape(shape, self.limits(), &format!("{} result has shape", self.op()))
    }

    /// The limits of this load.
    pub fn limits(&self) -> &LoadLimits {
        self.budget.limits
    }

    /// The operator and its name (`"Relu Relu_3"`), as graph nodes and
    /// the layers lowered from them name their source.
    pub fn source(&self) -> String {
        match self.node.name.as_str() {
            "" => self.node.op_type.clone(),
            named => format!("{} {named}", self.node.op_type),
        }
    }

    /// Add the node `op` with a value of `shape` to the graph, charged to
    /// the budget first; returns its value.
    pub fn push(&self, g: &mut Graph, op: Op, shape: Vec<usize>) -> Result<Sym> {
        self.budget.spend(op.stored(), format_args!("{} (the graph built so far)", self.op()))?;
        let node = g.push(op, shape.clone(), self.source())?;
        Ok(Sym { node, shape })
    }

    /// An error for a valid ONNX use this loader does not support.
    pub fn unsupported(&self, why: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::Unsupported, format!("{}: {why}", self.op()))
    }
}

/// The name of an attribute type code, for messages.
fn attr_type_name(t: i32) -> &'static str {
    match t {
        pb::ATTR_FLOAT => "float",
        pb::ATTR_INT => "int",
        pb::ATTR_STRING => "string",
        pb::ATTR_TENSOR => "tensor",
        pb::ATTR_FLOATS => "floats",
        pb::ATTR_INTS => "ints",
        _ => "other",
    }
}

/// Resolve a possibly negative `axis` (valid: `-rank..rank`) against `rank`.
pub(crate) fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        usize::try_from(a).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in OPS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for pair in NOT_PIECEWISE_LINEAR.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        assert!(NOT_PIECEWISE_LINEAR.iter().all(|op| lookup(op).is_none()));
        assert!(lookup("Gemm").is_some());
        assert!(lookup("Sigmoid").is_none());
        assert!(supported_list().contains("BatchNormalization"));
    }

    #[test]
    fn axes() {
        assert_eq!(normalize_axis(-1, 3), Some(2));
        assert_eq!(normalize_axis(0, 3), Some(0));
        assert_eq!(normalize_axis(3, 3), None);
        assert_eq!(normalize_axis(-4, 3), None);
    }
}
