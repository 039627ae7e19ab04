//! The graph interpreter: walks the nodes that the graph output depends on,
//! in dependency order, and builds the [`Graph`] of the model, then the
//! [`Network`] lowered from it (`model::lower`), which carries the graph
//! for witness checks.
//!
//! Each value is a constant or a node of the graph being built (see
//! [`super::value`]): operators evaluate constants at load time, so shape
//! arithmetic folds away and only input-dependent values become nodes.
//!
//! A `Softmax`, `LogSoftmax`, `Tanh` or `Sigmoid` node that computes the
//! graph output becomes the network's [`OutputActivation`] and the
//! interpreter builds the graph up to its input (the logits); the same
//! operators anywhere else are not piecewise linear and stay unsupported.
//!
//! Branches that rejoin (a residual `Add`, a `Concat` of two paths) are
//! nodes with two operands; the lowering carries values across layers as
//! pass-through neurons. Nodes the output does not depend on are never
//! looked at, so a dead branch with exotic operators does no harm.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::ops::{self, NodeInput};
use super::pb;
use super::pb::tensor_shape_proto::dimension::Value as Dim;
use super::pb::type_proto::Value as Type;
use super::tensor::{check_rank, check_shape, Tensor};
use super::value::{Sym, Value};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{Budget, LoadLimits};
use crate::model::graph::{Graph, Op};
use crate::model::{lower, Network, OutputActivation};

/// Translate a decoded model into a [`Network`] within `limits`.
pub(crate) fn translate(model: &pb::ModelProto, limits: &LoadLimits) -> Result<Network> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::new(ErrorKind::Onnx, "the model has no graph (is this an ONNX model file?)"))?;
    let opset = model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .max()
        // Files before IR version 3 have no opset_import: they use opset 1.
        .unwrap_or(1);
    let inits: HashMap<&str, &pb::TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let inputs = network_inputs(graph, &inits)?;
    let is_input = |name: &str| inputs.iter().any(|i| i.name == name);
    let output = match graph.output.as_slice() {
        [one] => one.name.as_str(),
        [] => return Err(Error::new(ErrorKind::Onnx, "the graph declares no output")),
        many => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("the graph has {} outputs; exactly one output is supported", many.len()),
            ))
        }
    };

    let mut producers: HashMap<&str, usize> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            if producers.insert(out.as_str(), i).is_some() || is_input(out) || inits.contains_key(out.as_str()) {
                return Err(Error::new(ErrorKind::Onnx, format!("value '{out}' is defined more than once"))
                    .with_node(node_label(i, node)));
            }
        }
    }
    let (output, final_activation) = match producers.get(output).map(|&i| (i, &graph.node[i])) {
        Some((i, node)) => match output_activation(node) {
            Some(act) => {
                let logits = node.input.first().filter(|n| !n.is_empty()).ok_or_else(|| {
                    Error::new(ErrorKind::Onnx, "the node has no input").with_node(node_label(i, node))
                })?;
                (logits.as_str(), Some((act, i)))
            }
            None => (output, None),
        },
        None => (output, None),
    };
    let needed = needed_nodes(graph, &producers, output);
    for &i in &needed {
        let node = &graph.node[i];
        for name in node.input.iter().filter(|n| !n.is_empty()) {
            if !is_input(name) && !inits.contains_key(name.as_str()) && !producers.contains_key(name.as_str()) {
                return Err(Error::new(
                    ErrorKind::Onnx,
                    format!(
                        "input '{name}' is not a network input, an initializer, or the output of any node (missing initializer?)"
                    ),
                )
                .with_node(node_label(i, node)));
            }
        }
    }
    if !is_input(output) && !inits.contains_key(output) && !producers.contains_key(output) {
        return Err(Error::new(ErrorKind::Onnx, format!("graph output '{output}' is not computed by any node")));
    }

    // Several inputs are one input vector, in the graph's order: each is
    // a slice of the input node.
    let shapes = inputs.iter().map(|i| input_shape(i, limits)).collect::<Result<Vec<_>>>()?;
    let names = inputs.iter().map(|i| i.name.clone());
    let ir = Graph::new(names.zip(shapes.iter().cloned()).collect());
    let mut state = State { opset, budget: Budget::new(limits), inits, values: HashMap::new(), graph: ir };
    let mut start = 0;
    for (info, shape) in inputs.iter().zip(shapes) {
        let len: usize = shape.iter().product();
        let x = if inputs.len() == 1 {
            Sym { node: 0, shape }
        } else {
            let src: Vec<usize> = (start..start + len).collect();
            let op = Op::Map { x: 0, src, scale: vec![1.0; len], shift: vec![0.0; len] };
            state.budget.spend(op.stored(), format_args!("network input '{}'", info.name))?;
            let node = state.graph.push(op, shape.clone(), format!("input {}", info.name))?;
            Sym { node, shape }
        };
        start += len;
        state.values.insert(info.name.clone(), Rc::new(Value::Sym(x)));
    }
    // Graphs should list nodes topologically, but not every writer does:
    // run every node whose inputs are ready, and repeat until all have run.
    let mut pending = needed;
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for i in pending {
            let node = &graph.node[i];
            if node.input.iter().all(|n| n.is_empty() || state.is_available(n)) {
                state.run(node).map_err(|e| e.with_node(node_label(i, node)))?;
            } else {
                waiting.push(i);
            }
        }
        if waiting.len() == before {
            let i = waiting[0];
            let node = &graph.node[i];
            let missing =
                node.input.iter().find(|n| !n.is_empty() && !state.is_available(n)).cloned().unwrap_or_default();
            return Err(Error::new(
                ErrorKind::Onnx,
                format!("input '{missing}' is never computed: the graph has a cycle, or it uses an extra output the loader does not produce"),
            )
            .with_node(node_label(i, node)));
        }
        pending = waiting;
    }

    let out = state.resolve(output)?;
    let mut ir = state.graph;
    match &*out {
        Value::Const(_) => {
            return Err(Error::new(
                ErrorKind::Onnx,
                format!("graph output '{output}' does not depend on the network input"),
            ))
        }
        Value::Sym(s) => ir.set_output(s.node)?,
    }
    if let Some((act, i)) = final_activation {
        check_covers_output(&graph.node[i], act, opset, out.shape())
            .map_err(|e| e.with_node(node_label(i, &graph.node[i])))?;
    }
    let (layers, names) = lower::lower(&ir, limits)?;
    let net = Network::new(layers)
        .map_err(|e| Error::new(ErrorKind::Onnx, format!("the translated network is invalid: {}", e.message())))?
        .with_output_activation(final_activation.map(|(act, _)| act))
        .with_layer_names(names)
        .with_source(ir);
    let input = inputs[0];
    match fixed_batch(input).filter(|_| inputs.len() == 1) {
        Some(batch) if out.shape().len() >= 2 && out.shape()[0] == batch && independent_blocks(&net, batch) => {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "network input '{name}' has shape {shape:?}, a fixed batch of {batch}: the network computes {batch} independent copies of itself, one per batch entry, but a property describes one sample. Export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={{'{name}': {{0: 'batch'}}}})) or with an example input of batch size 1",
                    name = input.name,
                    shape = input_dims(input),
                ),
            ))
        }
        _ => Ok(net),
    }
}

/// The declared dimensions of the network input, symbolic ones as -1 (for
/// messages).
fn input_dims(info: &pb::ValueInfoProto) -> Vec<i64> {
    match info.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => t
            .shape
            .iter()
            .flat_map(|s| &s.dim)
            .map(|d| match d.value {
                Some(Dim::DimValue(v)) => v,
                _ => -1,
            })
            .collect(),
        None => vec![],
    }
}

/// The size of a fixed leading dimension above 1 of a rank >= 2 network
/// input: a batch axis, if the network treats it as one (see
/// [`independent_blocks`]); a column input `[n, 1]` has one too.
fn fixed_batch(info: &pb::ValueInfoProto) -> Option<usize> {
    let dims = input_dims(info);
    match dims.as_slice() {
        [b, _, ..] if *b > 1 => usize::try_from(*b).ok(),
        _ => None,
    }
}

/// Whether `net`, read as `batch` equal blocks of inputs and of outputs,
/// computes `batch` independent copies of one function: no output of block
/// `b` has a path of non-zero weights from an input of another block. That
/// tells a batched export (every operator works per batch entry, so the
/// loader builds exact zeros across entries) from a genuine column input
/// such as `W x` for `x` of shape `[n, 1]`.
fn independent_blocks(net: &Network, batch: usize) -> bool {
    let (k, m) = (net.input_dim() / batch, net.output_dim() / batch);
    if k * batch != net.input_dim() || m * batch != net.output_dim() {
        return false;
    }
    // One bit per block: which input blocks each neuron depends on.
    let words = batch.div_ceil(64);
    let bit = |b: usize| (b / 64, 1u64 << (b % 64));
    let mut masks: Vec<Vec<u64>> = (0..net.input_dim())
        .map(|i| {
            let mut mask = vec![0; words];
            let (w, b) = bit(i / k);
            mask[w] |= b;
            mask
        })
        .collect();
    for layer in net.layers() {
        let weights = &layer.affine.weights;
        masks = (0..weights.rows())
            .map(|r| {
                let mut mask = vec![0u64; words];
                for (c, _) in weights.row(r).iter().filter(|&(_, v)| v != 0.0) {
                    mask.iter_mut().zip(&masks[c]).for_each(|(a, b)| *a |= b);
                }
                mask
            })
            .collect();
    }
    masks.iter().enumerate().all(|(j, mask)| {
        let (own_word, own_bit) = bit(j / m);
        mask.iter().enumerate().all(|(w, &word)| word & !(if w == own_word { own_bit } else { 0 }) == 0)
    })
}

/// The output activation a default-domain node computes, if it is one.
fn output_activation(node: &pb::NodeProto) -> Option<OutputActivation> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return None;
    }
    match node.op_type.as_str() {
        "Softmax" => Some(OutputActivation::Softmax),
        "LogSoftmax" => Some(OutputActivation::LogSoftmax),
        "Tanh" => Some(OutputActivation::Tanh),
        "Sigmoid" => Some(OutputActivation::Sigmoid),
        _ => None,
    }
}

/// A softmax or log-softmax must normalise over all outputs together (the
/// class axis, with a batch of 1): over another axis it would make several
/// independent groups, which [`OutputActivation`] does not represent.
///
/// From opset 13 the operator normalises along `axis` (default -1); before,
/// it flattens the input to 2-D at `axis` (default 1) and normalises the
/// second dimension, i.e. all dimensions from `axis` on.
fn check_covers_output(node: &pb::NodeProto, act: OutputActivation, opset: i64, shape: &[usize]) -> Result<()> {
    if !matches!(act, OutputActivation::Softmax | OutputActivation::LogSoftmax) {
        return Ok(());
    }
    let default = if opset >= 13 { -1 } else { 1 };
    let axis = node.attribute.iter().find(|a| a.name == "axis").map_or(default, |a| a.i);
    let a = ops::normalize_axis(axis, shape.len()).ok_or_else(|| {
        Error::new(ErrorKind::Onnx, format!("axis {axis} is out of range for its input of shape {shape:?}"))
    })?;
    let group: usize = if opset >= 13 { shape[a] } else { shape[a..].iter().product() };
    if group != shape.iter().product::<usize>() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} over axis {axis} of the output of shape {shape:?} normalises groups of {group} outputs \
                 separately; only a {} over all outputs (the last, class axis, with a batch of 1) is supported",
                act.op_name(),
                act.op_name()
            ),
        ));
    }
    Ok(())
}

/// Interpreter state: the values computed so far and the closed layers.
struct State<'g> {
    opset: i64,
    /// Values built so far, against `max_weights`.
    budget: Budget<'g>,
    inits: HashMap<&'g str, &'g pb::TensorProto>,
    values: HashMap<String, Rc<Value>>,
    /// The nodes built so far.
    graph: Graph,
}

impl State<'_> {
    fn is_available(&self, name: &str) -> bool {
        self.values.contains_key(name) || self.inits.contains_key(name)
    }

    /// The value called `name`, decoding initializers on first use.
    fn resolve(&mut self, name: &str) -> Result<Rc<Value>> {
        if let Some(v) = self.values.get(name) {
            return Ok(Rc::clone(v));
        }
        let t = self
            .inits
            .get(name)
            .ok_or_else(|| Error::new(ErrorKind::Onnx, format!("value '{name}' is not defined")))?;
        let v = Rc::new(Value::Const(Tensor::from_proto(t, &format!("initializer '{name}'"), self.budget.limits)?));
        self.values.insert(name.to_string(), Rc::clone(&v));
        Ok(v)
    }

    /// Build one node and record its outputs.
    fn run(&mut self, node: &pb::NodeProto) -> Result<()> {
        let op = node.op_type.as_str();
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "operator {op} of the custom domain '{}' is not supported; supported operators (default domain): {}",
                    node.domain,
                    ops::supported_list()
                ),
            ));
        }
        let build = ops::lookup(op).ok_or_else(|| ops::unsupported_operator(op))?;
        let values = node
            .input
            .iter()
            .map(|name| if name.is_empty() { Ok(None) } else { self.resolve(name).map(Some) })
            .collect::<Result<Vec<_>>>()?;
        let outputs = build(&NodeInput { node, opset: self.opset, budget: &self.budget, values }, &mut self.graph)?;
        let values: usize = outputs.iter().map(Value::stored).sum();
        self.budget.spend(values, format_args!("{op} (with what the graph built before it)"))?;
        for (name, value) in node.output.iter().zip(outputs) {
            if !name.is_empty() {
                self.values.insert(name.clone(), Rc::new(value));
            }
        }
        Ok(())
    }
}

/// How errors name a node: its name if it has one, else its index and output.
fn node_label(i: usize, node: &pb::NodeProto) -> String {
    if node.name.is_empty() {
        let out = node.output.first().map(String::as_str).unwrap_or("");
        format!("#{i} ({}, output '{out}')", node.op_type)
    } else {
        format!("'{}' ({})", node.name, node.op_type)
    }
}

/// The network inputs: the graph inputs without an initializer (old files
/// list every initializer among the inputs too), in the graph's order,
/// which is their order in the network's input vector.
fn network_inputs<'g>(
    graph: &'g pb::GraphProto,
    inits: &HashMap<&str, &pb::TensorProto>,
) -> Result<Vec<&'g pb::ValueInfoProto>> {
    let free: Vec<&pb::ValueInfoProto> = graph.input.iter().filter(|i| !inits.contains_key(i.name.as_str())).collect();
    if free.is_empty() {
        return Err(Error::new(
            ErrorKind::Onnx,
            "the graph has no input without an initializer, so nothing is left for the network to read",
        ));
    }
    Ok(free)
}

/// The network input's shape. A leading batch dimension (of a rank >= 2
/// input) may be symbolic and is then taken as 1; every other dimension must
/// be a number. Fixed sizes are taken literally: the network reads every
/// element of the input, flattened row-major (so a `[3, 1]` column works).
fn input_shape(info: &pb::ValueInfoProto, limits: &LoadLimits) -> Result<Vec<usize>> {
    let name = &info.name;
    let tensor = match info.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => t,
        None => return Err(Error::new(ErrorKind::Onnx, format!("network input '{name}' has no tensor type"))),
    };
    // 0 = unset, 1 = float, 10 = float16, 11 = double, 16 = bfloat16.
    if ![0, 1, 10, 11, 16].contains(&tensor.elem_type) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("network input '{name}' has element type {}; expected a floating-point tensor", tensor.elem_type),
        ));
    }
    let dims = &tensor
        .shape
        .as_ref()
        .ok_or_else(|| {
            Error::new(ErrorKind::Onnx, format!("network input '{name}' has no shape; the loader needs its size"))
        })?
        .dim;
    check_rank(dims.len(), &format!("network input '{name}'"))?;
    let batched = dims.len() >= 2;
    let mut shape = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        let size = match &d.value {
            Some(Dim::DimValue(v)) if *v > 0 => usize::try_from(*v).unwrap_or(usize::MAX),
            _ if i == 0 && batched => 1,
            Some(Dim::DimValue(v)) => {
                return Err(Error::new(ErrorKind::Onnx, format!("network input '{name}' has dimension {i} of size {v}")))
            }
            Some(Dim::DimParam(p)) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("dimension {i} of network input '{name}' is symbolic ('{p}'); only a leading batch dimension may be"),
                ))
            }
            None => {
                return Err(Error::new(ErrorKind::Unsupported, format!("dimension {i} of network input '{name}' has unknown size")))
            }
        };
        shape.push(size);
    }
    check_shape(&shape, limits, &format!("network input '{name}' has shape"))?;
    Ok(shape)
}

/// The nodes the output depends on, in file order.
fn needed_nodes(graph: &pb::GraphProto, producers: &HashMap<&str, usize>, output: &str) -> Vec<usize> {
    let mut needed = HashSet::new();
    let mut stack = vec![output];
    while let Some(name) = stack.pop() {
        if let Some(&i) = producers.get(name) {
            if needed.insert(i) {
                stack.extend(graph.node[i].input.iter().filter(|n| !n.is_empty()).map(String::as_str));
            }
        }
    }
    let mut needed: Vec<usize> = needed.into_iter().collect();
    needed.sort_unstable();
    needed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::onnx::test_graph::{assert_close, attr_i, TestGraph};

    fn gemm_relu(g: TestGraph) -> TestGraph {
        g.init("W", &[2, 2], &[1.0, -1.0, 0.5, 0.5]).init("b", &[2], &[0.0, 1.0]).node(
            "Gemm",
            &["x", "W", "b"],
            "z",
            vec![attr_i("transB", 1)],
        )
    }

    #[test]
    fn unsupported_op_names_node_and_op() {
        let err = gemm_relu(TestGraph::new(13, &[1, 2]))
            .node("TopK", &["z"], "my_topk", vec![])
            .output("my_topk")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        let text = err.to_string();
        assert!(text.contains("my_topk") && text.contains("TopK") && text.contains("Gemm"), "{text}");
    }

    #[test]
    fn custom_domain_is_unsupported() {
        let mut model = gemm_relu(TestGraph::new(13, &[1, 2])).node("Relu", &["z"], "y", vec![]).output("y").model();
        model.graph.as_mut().unwrap().node[1].domain = "com.example".into();
        let err = crate::model::onnx::load_bytes(&prost::Message::encode_to_vec(&model)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn missing_initializer() {
        let err =
            TestGraph::new(13, &[1, 2]).node("Gemm", &["x", "W_missing"], "y", vec![]).output("y").load().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
        // Old style: the weight is declared as a graph input but has no initializer.
        let mut model = TestGraph::new(13, &[1, 2]).node("MatMul", &["x", "W"], "y", vec![]).output("y").model();
        let graph = model.graph.as_mut().unwrap();
        let mut w = graph.input[0].clone();
        w.name = "W".into();
        graph.input.push(w);
        let err = crate::model::onnx::load_bytes(&prost::Message::encode_to_vec(&model)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
    }

    #[test]
    fn nan_weight() {
        let err = TestGraph::new(13, &[1, 2])
            .init("W", &[2, 1], &[1.0, f64::NAN])
            .node("MatMul", &["x", "W"], "y", vec![])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
    }

    #[test]
    fn graph_level_errors() {
        let no_graph = pb::ModelProto { graph: None, ..Default::default() };
        assert_eq!(translate(&no_graph, &LoadLimits::default()).unwrap_err().kind(), ErrorKind::Onnx);
        let two_outputs = TestGraph::new(13, &[1, 2]).node("Relu", &["x"], "y", vec![]).output("y").output("x");
        assert_eq!(two_outputs.load().unwrap_err().kind(), ErrorKind::Unsupported);
        let constant_output = TestGraph::new(13, &[1, 2]).init("c", &[1], &[1.0]).output("c");
        assert_eq!(constant_output.load().unwrap_err().kind(), ErrorKind::Onnx);
        let symbolic_feature = TestGraph::new(13, &[1, -1]).node("Relu", &["x"], "y", vec![]).output("y");
        assert_eq!(symbolic_feature.load().unwrap_err().kind(), ErrorKind::Unsupported);
        let cycle = TestGraph::new(13, &[1, 2])
            .node("Add", &["x", "b"], "a", vec![])
            .node("Relu", &["a"], "b", vec![])
            .output("b");
        assert_eq!(cycle.load().unwrap_err().kind(), ErrorKind::Onnx);
    }

    /// Nodes out of order, a dead branch with an unsupported operator, and
    /// initializers also listed as inputs (as old exporters do) all load.
    #[test]
    fn tolerant_graph_layout() {
        let mut model = gemm_relu(TestGraph::new(8, &[-1, 2]))
            .node("Sigmoid", &["z"], "unused", vec![])
            .node("Relu", &["z"], "y", vec![])
            .output("y")
            .model();
        let graph = model.graph.as_mut().unwrap();
        graph.node.reverse();
        let mut w = graph.input[0].clone();
        w.name = "W".into();
        graph.input.insert(0, w);
        let net = crate::model::onnx::load_bytes(&prost::Message::encode_to_vec(&model)).unwrap();
        // relu([x0 - x1, 0.5 x0 + 0.5 x1 + 1]), then the identity output layer.
        assert_eq!(net.layers().len(), 2);
        assert_close(&net.forward(&[1.0, 3.0]), &[0.0, 3.0], 1e-12);
    }

    /// An empty initializer may not hide huge dimensions behind its zero:
    /// transposed to `[2^40, 2^40, 0]`, its element count overflowed (a
    /// panic with overflow checks, as in fuzzing builds) before the shape
    /// check counted zero dimensions as 1.
    #[test]
    fn empty_tensor_with_huge_dimensions() {
        let model = TestGraph::new(13, &[1, 1])
            .init("e", &[0, 1 << 40, 1 << 40], &[])
            .node("Transpose", &["e"], "t", vec![])
            .node("Add", &["x", "t"], "y", vec![])
            .output("y")
            .model();
        let err = crate::model::onnx::load_bytes(&prost::Message::encode_to_vec(&model)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
    }

    /// Several graph inputs are one input vector, in the graph's order.
    #[test]
    fn several_inputs_are_concatenated_in_order() {
        let mut model =
            TestGraph::new(13, &[1, 2]).node("Concat", &["b", "x"], "y", vec![attr_i("axis", 1)]).output("y").model();
        let graph = model.graph.as_mut().unwrap();
        let mut b = graph.input[0].clone();
        b.name = "b".into();
        if let Some(pb::type_proto::Value::TensorType(t)) = b.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            t.shape.as_mut().unwrap().dim[1].value = Some(Dim::DimValue(1));
        }
        graph.input.push(b);
        let bytes = prost::Message::encode_to_vec(&model);
        let net = crate::model::onnx::load_bytes_with(&bytes, &LoadLimits::default()).unwrap();
        assert_eq!(net.input_dim(), 3);
        assert_eq!(net.forward(&[1.0, 2.0, 3.0]), vec![3.0, 1.0, 2.0]);
    }

    /// Every node the graph builds is charged to `max_weights`: a chain of
    /// `Neg` nodes (each an index map of its input) cannot add up to more
    /// than the limit, however small each node is. (`Identity` builds
    /// nothing: its output is its input's node.)
    #[test]
    fn values_built_add_up_against_the_limit() {
        let mut g = TestGraph::new(13, &[1, 8]);
        for i in 0..5 {
            let input = if i == 0 { "x".to_string() } else { format!("i{}", i - 1) };
            g = g.node("Identity", &[&input], &format!("c{i}"), vec![]);
            g = g.node("Neg", &[&format!("c{i}")], &format!("i{i}"), vec![]);
        }
        let model = g.output("i4").model();
        let bytes = prost::Message::encode_to_vec(&model);
        // Each map holds 8 indices, 8 factors and 8 shifts; the lowering
        // needs less (the input map and each copy: 8 entries and 8 biases).
        let load = |max_weights| {
            crate::model::onnx::load_bytes_with(&bytes, &LoadLimits { max_weights, ..LoadLimits::default() })
        };
        assert!(load(5 * 24).is_ok());
        let err = load(5 * 24 - 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Limit);
        assert!(err.to_string().contains("'i4' (Neg)") && err.to_string().contains("--max-weights"), "{err}");
    }

    /// Softmax, LogSoftmax, Tanh and Sigmoid computing the graph output
    /// become the output activation (softmaxes at opsets before and after
    /// 13, with the default and explicit axes); the whole forward pass
    /// matches a hand evaluation at x = (1, 3): z = (-2, 3), h = relu(z) = (0, 3).
    #[test]
    fn output_activations_at_the_graph_output() {
        let e3 = 3f64.exp();
        // (opset, operator, axis attribute, expected activation, expected output)
        type Case = (i64, &'static str, Option<i64>, OutputActivation, [f64; 2]);
        let cases: [Case; 6] = [
            (13, "Softmax", None, OutputActivation::Softmax, [1.0 / (1.0 + e3), e3 / (1.0 + e3)]),
            (11, "Softmax", Some(1), OutputActivation::Softmax, [1.0 / (1.0 + e3), e3 / (1.0 + e3)]),
            (11, "Softmax", Some(0), OutputActivation::Softmax, [1.0 / (1.0 + e3), e3 / (1.0 + e3)]),
            (13, "LogSoftmax", Some(-1), OutputActivation::LogSoftmax, [-(1.0 + e3).ln(), 3.0 - (1.0 + e3).ln()]),
            (9, "Tanh", None, OutputActivation::Tanh, [0.0, 3f64.tanh()]),
            (13, "Sigmoid", None, OutputActivation::Sigmoid, [0.5, 1.0 / (1.0 + (-3f64).exp())]),
        ];
        for (opset, op, axis, act, want) in cases {
            let attrs = axis.map(|a| vec![attr_i("axis", a)]).unwrap_or_default();
            let net = gemm_relu(TestGraph::new(opset, &[1, 2]))
                .node("Relu", &["z"], "h", vec![])
                .node(op, &["h"], "y", attrs)
                .output("y")
                .load()
                .unwrap();
            assert_eq!(net.output_activation(), Some(act), "{op} opset {opset}");
            assert_close(&net.forward(&[1.0, 3.0]), &[0.0, 3.0], 1e-12);
            assert_close(&net.forward_activated(&[1.0, 3.0]), &want, 1e-12);
        }
    }

    /// A softmax that normalises groups of outputs separately, and one in a
    /// hidden position, are unsupported and named.
    #[test]
    fn softmax_over_other_axes_or_hidden_is_unsupported() {
        let per_row = gemm_relu(TestGraph::new(13, &[1, 2]))
            .node("Softmax", &["z"], "probs", vec![attr_i("axis", 0)])
            .output("probs")
            .load()
            .unwrap_err();
        assert_eq!(per_row.kind(), ErrorKind::Unsupported);
        assert!(per_row.to_string().contains("'probs' (Softmax)"), "{per_row}");
        let hidden = gemm_relu(TestGraph::new(13, &[1, 2]))
            .node("Softmax", &["z"], "probs", vec![])
            .node("Relu", &["probs"], "y", vec![])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(hidden.kind(), ErrorKind::Unsupported);
        assert!(hidden.to_string().contains("'probs' (Softmax)"), "{hidden}");
    }

    /// The identity network: output = input.
    #[test]
    fn input_is_output() {
        let net = TestGraph::new(13, &[3]).output("x").load().unwrap();
        assert_eq!(net.forward(&[1.0, 2.0, 3.0]), vec![1.0, 2.0, 3.0]);
    }
}
