//! The graph IR: a network as a DAG of operator nodes with shapes, as the
//! model file states it.
//!
//! A loader translates its format into a [`Graph`]: constants and shape
//! arithmetic are folded away, every remaining node depends on the network
//! input, and operators are reduced to the few kinds of [`Op`] below
//! (`Transpose`, `Reshape`, `Slice`, `Gather`, `Pad`, broadcasts and
//! element-wise scaling are all [`Op::Map`]; `Gemm`, `MatMul`, `Conv`, the
//! average pools and reductions are [`Op::Linear`] with sparse rows, a
//! convolution's rows holding only its kernel's entries). Nodes are stored
//! in a topological order (every operand before its user), which is the
//! order the loader met them in.
//!
//! Two things are built from a graph:
//!
//! - [`Graph::forward`], a plain f64 evaluation node by node, independent
//!   of everything the engine does to the graph. Witness checks run it
//!   (`verdict::check_witness`), so a counterexample is judged on the
//!   operators of the file, not on the engine's own rewriting of them.
//! - The chain the engine verifies ([`Network`](crate::model::Network)),
//!   by `model::lower`: linear nodes fold into one affine map per layer,
//!   activations close layers, values that skip layers ride along as
//!   pass-through neurons, and `Abs`, `Max`/`Min` and `MaxPool` become
//!   layers of ReLU neurons.
//!
//! Every index and length in a graph is checked when the node is added
//! ([`Graph::push`]), so evaluation never indexes out of bounds.

use crate::error::{Error, ErrorKind, Result};
use crate::model::Activation;

/// The index of a node in its [`Graph`].
pub type NodeId = usize;

/// Sparse rows in their written order: row `i` is
/// `entries[starts[i]..starts[i + 1]]`, pairs `(column, coefficient)`.
/// Duplicated columns are allowed (their coefficients add up).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Terms {
    starts: Vec<usize>,
    entries: Vec<(usize, f64)>,
}

impl Terms {
    /// The rows of `rows` in order.
    pub fn from_rows(rows: &[Vec<(usize, f64)>]) -> Terms {
        let mut starts = Vec::with_capacity(rows.len() + 1);
        starts.push(0);
        let mut entries = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        for r in rows {
            entries.extend_from_slice(r);
            starts.push(entries.len());
        }
        Terms { starts, entries }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[(usize, f64)] {
        &self.entries[self.starts[i]..self.starts[i + 1]]
    }

    /// Number of stored entries.
    pub fn stored(&self) -> usize {
        self.entries.len()
    }
}

/// One operand of an [`Op::Sum`]: `scale * node[src[i]]` for element `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    /// The node read.
    pub node: NodeId,
    /// For each output element, the element of `node` it reads.
    pub src: Vec<usize>,
    /// The factor on it.
    pub scale: f64,
}

/// One part of an [`Op::Concat`].
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// All elements of a node, in order.
    Node(NodeId),
    /// Constant elements.
    Constant(Vec<f64>),
}

/// The geometry of a sliding window over the spatial axes of an input of
/// shape `[N, C, D1, ..., Dk]`, as the ONNX operators define it: per
/// spatial axis `i`, output position `o` reads input positions
/// `o s - pad_begin + t d` for `t` in `0..k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The input shape.
    pub input: Vec<usize>,
    /// The kernel's size along each spatial axis.
    pub kernel: Vec<usize>,
    /// The stride along each spatial axis.
    pub strides: Vec<usize>,
    /// The dilation along each spatial axis.
    pub dilations: Vec<usize>,
    /// Padding at the beginning of each spatial axis.
    pub begin: Vec<usize>,
    /// Padding at the end of each spatial axis.
    pub end: Vec<usize>,
    /// Output size of each spatial axis.
    pub out: Vec<usize>,
}

impl Window {
    /// The output shape for `channels` output channels.
    pub fn output_shape(&self, channels: usize) -> Vec<usize> {
        [vec![self.input[0], channels], self.out.clone()].concat()
    }

    /// For the output position `o` (a flat index over the spatial output
    /// axes) and the kernel position `t` (a flat index over the kernel),
    /// the flat index of the input position over the spatial axes, or
    /// `None` in the padding.
    pub fn source(&self, o: usize, t: usize) -> Option<usize> {
        let (mut o, mut t) = (o, t);
        let mut flat = 0;
        let mut stride = 1;
        // Axes from the last (fastest) to the first.
        for i in (0..self.kernel.len()).rev() {
            let (oi, ti) = (o % self.out[i], t % self.kernel[i]);
            o /= self.out[i];
            t /= self.kernel[i];
            let at = (oi * self.strides[i] + ti * self.dilations[i]).checked_sub(self.begin[i])?;
            if at >= self.input[2 + i] {
                return None;
            }
            flat += at * stride;
            stride *= self.input[2 + i];
        }
        Some(flat)
    }

    /// Number of spatial input positions per channel.
    pub fn spatial_in(&self) -> usize {
        self.input[2..].iter().product()
    }

    /// Number of spatial output positions per channel.
    pub fn spatial_out(&self) -> usize {
        self.out.iter().product()
    }

    /// Number of kernel positions.
    pub fn taps(&self) -> usize {
        self.kernel.iter().product()
    }
}

/// A convolution: `Y[b, m, o] = bias[m] + sum over c in m's group, t of
/// W[m, c, t] X[b, c, o s - p + t d]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// The geometry over the input.
    pub window: Window,
    /// `W`, of shape `[M, C / group, k1, ..., kk]`, row-major.
    pub weights: Vec<f64>,
    /// One per output channel (`M`).
    pub bias: Vec<f64>,
    /// Number of groups (dividing `C` and `M`).
    pub group: usize,
}

impl Conv {
    /// Number of output channels.
    pub fn channels(&self) -> usize {
        self.bias.len()
    }

    /// Row `i` (flat over `[N, M, spatial out]`): pairs `(flat input
    /// index, weight)` in the order channel, then kernel position, without
    /// padded positions and zero weights; and the bias.
    pub fn row(&self, i: usize) -> (Vec<(usize, f64)>, f64) {
        let mut row = Vec::with_capacity(self.weights.len() / self.channels().max(1));
        let bias = self.for_each_term(i, |j, w| row.push((j, w)));
        (row, bias)
    }

    /// Call `f(j, w)` for each term of row `i` (as [`Conv::row`] lists
    /// them) and return the row's bias.
    fn for_each_term(&self, i: usize, mut f: impl FnMut(usize, f64)) -> f64 {
        let win = &self.window;
        let (channels, m) = (win.input[1], self.channels());
        let (sin, sout, taps) = (win.spatial_in(), win.spatial_out(), win.taps());
        let per_group = channels / self.group;
        let (o, oc, b) = (i % sout, (i / sout) % m, i / (sout * m));
        let g = oc / (m / self.group);
        for ci in 0..per_group {
            let c = g * per_group + ci;
            let weights = &self.weights[(oc * per_group + ci) * taps..][..taps];
            for (t, &wv) in weights.iter().enumerate() {
                if let Some(at) = win.source(o, t).filter(|_| wv != 0.0) {
                    f((b * channels + c) * sin + at, wv);
                }
            }
        }
        self.bias[oc]
    }

    /// Whether the kernel, bias and geometry fit an input of `len` elements
    /// and an output of shape `shape`.
    fn fits(&self, len: usize, shape: &[usize]) -> bool {
        let win = &self.window;
        let k = win.kernel.len();
        let axes = |v: &Vec<usize>| v.len() == k;
        let (m, taps) = (self.channels(), win.taps());
        win.input.len() == k + 2
            && [&win.strides, &win.dilations, &win.begin, &win.end, &win.out].into_iter().all(axes)
            && win.input.iter().product::<usize>() == len
            && self.group > 0
            && win.input[1].is_multiple_of(self.group)
            && m.is_multiple_of(self.group)
            && self.weights.len() == m * (win.input[1] / self.group) * taps
            && shape == win.output_shape(m).as_slice()
    }
}

/// What a node computes from its operands. Element indices are flat
/// (row-major over the node's shape).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The network input: all graph inputs, flattened and concatenated in
    /// the order of [`Graph::inputs`].
    Input,
    /// `out[i] = scale[i] * x[src[i]] + shift[i]`: index maps (transpose,
    /// reshape, slice, gather, pad, broadcast) with element-wise scaling.
    Map {
        /// The operand.
        x: NodeId,
        /// The element of `x` each output reads.
        src: Vec<usize>,
        /// Its factor.
        scale: Vec<f64>,
        /// The constant added.
        shift: Vec<f64>,
    },
    /// `out[i] = a.scale * a.node[a.src[i]] + b.scale * b.node[b.src[i]]`:
    /// the sum or difference of two input-dependent values (a residual `Add`).
    Sum {
        /// The first operand.
        a: Operand,
        /// The second operand.
        b: Operand,
    },
    /// The parts one after another (flat; a `Concat` on another axis is a
    /// [`Op::Map`] after it).
    Concat {
        /// The parts, at least one of them a node.
        parts: Vec<Part>,
    },
    /// `out[i] = sum over (j, c) in terms.row(i) of c * x[j], plus shift[i]`:
    /// `Gemm`, `MatMul`, `Conv`, average pools, reductions.
    Linear {
        /// The operand.
        x: NodeId,
        /// One sparse row per output element.
        terms: Terms,
        /// The bias of each output element.
        shift: Vec<f64>,
    },
    /// A convolution, kept as its kernel (`Conv`).
    Conv {
        /// The operand, of shape `[N, C, D1, ..., Dk]`.
        x: NodeId,
        /// The kernel and its geometry.
        conv: Conv,
    },
    /// `out[i] = act(x[i])` (ReLU, Leaky, PReLU, Clip).
    Activation {
        /// The operand.
        x: NodeId,
        /// The activation, element by element.
        act: Activation,
    },
    /// `out[i] = |x[i]|`.
    Abs {
        /// The operand.
        x: NodeId,
    },
    /// The element-wise maximum (`max`) or minimum of operands of one
    /// shape, and of `constant` if given: `Max`, `Min`.
    Extreme {
        /// The operands, already broadcast to the node's shape.
        operands: Vec<NodeId>,
        /// A constant operand (the constants of the file, combined).
        constant: Option<Vec<f64>>,
        /// Maximum (`true`) or minimum.
        max: bool,
    },
    /// `out[i] = max over t of x[candidates[t][i]]`: `MaxPool`, each
    /// window's elements as candidates (a padded position repeats one of
    /// the window's own elements, which never changes the maximum).
    MaxPool {
        /// The operand.
        x: NodeId,
        /// One list per window position, each with one index per output.
        candidates: Vec<Vec<usize>>,
    },
}

impl Op {
    /// How many numbers (indices and values) the operation holds, which a
    /// loader charges to its budget.
    pub fn stored(&self) -> usize {
        match self {
            Op::Input => 0,
            Op::Map { src, .. } => 3 * src.len(),
            Op::Sum { a, b } => a.src.len() + b.src.len(),
            Op::Concat { parts } => parts.iter().map(|p| if let Part::Constant(c) = p { c.len() } else { 1 }).sum(),
            Op::Linear { terms, shift, .. } => 2 * terms.stored() + terms.rows() + shift.len(),
            Op::Conv { conv, .. } => conv.weights.len() + conv.bias.len(),
            Op::Activation { act, .. } => match act {
                Activation::Leaky { slopes } => slopes.len(),
                _ => 1,
            },
            Op::Abs { .. } => 1,
            Op::Extreme { operands, constant, .. } => operands.len() + constant.as_ref().map_or(0, Vec::len),
            Op::MaxPool { candidates, .. } => candidates.iter().map(Vec::len).sum(),
        }
    }
}

/// A node: its operation, the shape of its value and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// The shape of its value (batch dimension included).
    pub shape: Vec<usize>,
    /// The operator in the model file that made it (`"Relu Relu_3"`), for
    /// reports; empty for the input.
    pub source: String,
}

impl Node {
    /// Number of elements of its value.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether its value has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A network as a DAG of [`Node`]s, node 0 being the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// The graph inputs in order: name and shape.
    inputs: Vec<(String, Vec<usize>)>,
    nodes: Vec<Node>,
    /// The node whose value is the network output.
    output: NodeId,
}

impl Graph {
    /// A graph of the input node alone, over the `inputs` (name and shape
    /// each) read as one vector in this order.
    pub fn new(inputs: Vec<(String, Vec<usize>)>) -> Graph {
        let shape = match inputs.as_slice() {
            [(_, one)] => one.clone(),
            many => vec![many.iter().map(|(_, s)| s.iter().product::<usize>()).sum()],
        };
        let input = Node { op: Op::Input, shape, source: String::new() };
        Graph { inputs, nodes: vec![input], output: 0 }
    }

    /// The graph inputs (name and shape), in the order they are concatenated.
    pub fn inputs(&self) -> &[(String, Vec<usize>)] {
        &self.inputs
    }

    /// The nodes, in topological order; node 0 is the input.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The node whose value is the network output: the last node added,
    /// unless [`Graph::set_output`] chose another.
    pub fn output(&self) -> NodeId {
        self.output
    }

    /// Make node `id` the network output (nodes after it that it does not
    /// read are evaluated but not used).
    pub fn set_output(&mut self, id: NodeId) -> Result<()> {
        if id >= self.nodes.len() {
            return Err(Error::new(ErrorKind::Network, format!("graph output {id} is not a node")));
        }
        self.output = id;
        Ok(())
    }

    /// Number of input elements.
    pub fn input_dim(&self) -> usize {
        self.nodes[0].len()
    }

    /// Add a node computing `op` with a value of `shape`, from the model
    /// file's operator `source`; every operand must be an existing node and
    /// every index and length must fit (an error of kind `Network` says
    /// which does not: a loader bug, never a file's).
    pub fn push(&mut self, op: Op, shape: Vec<usize>, source: String) -> Result<NodeId> {
        let len: usize = shape.iter().product();
        let check = |ok: bool, what: &str| -> Result<()> {
            if ok {
                Ok(())
            } else {
                Err(Error::new(ErrorKind::Network, format!("graph node from '{source}': {what}")))
            }
        };
        let exists = |id: NodeId| id < self.nodes.len();
        let reads = |id: NodeId, src: &[usize]| exists(id) && src.iter().all(|&j| j < self.nodes[id].len());
        match &op {
            Op::Input => check(false, "a second input node")?,
            Op::Map { x, src, scale, shift } => {
                check(src.len() == len && scale.len() == len && shift.len() == len, "map lengths")?;
                check(reads(*x, src), "map index out of range")?;
            }
            Op::Sum { a, b } => {
                check(a.src.len() == len && b.src.len() == len, "sum lengths")?;
                check(reads(a.node, &a.src) && reads(b.node, &b.src), "sum index out of range")?;
            }
            Op::Concat { parts } => {
                let total: usize = parts
                    .iter()
                    .map(|p| match p {
                        Part::Node(id) if exists(*id) => self.nodes[*id].len(),
                        Part::Node(_) => usize::MAX / 2,
                        Part::Constant(c) => c.len(),
                    })
                    .sum();
                check(total == len && parts.iter().any(|p| matches!(p, Part::Node(_))), "concat lengths")?;
            }
            Op::Linear { x, terms, shift } => {
                check(terms.rows() == len && shift.len() == len && exists(*x), "linear lengths")?;
                check(terms.entries.iter().all(|&(j, _)| j < self.nodes[*x].len()), "linear index out of range")?;
            }
            Op::Conv { x, conv } => check(exists(*x) && conv.fits(self.nodes[*x].len(), &shape), "conv geometry")?,
            Op::Activation { x, act } => {
                check(exists(*x) && self.nodes[*x].len() == len, "activation length")?;
                check(act.validate(len).is_ok(), "activation parameters")?;
            }
            Op::Abs { x } => check(exists(*x) && self.nodes[*x].len() == len, "abs length")?,
            Op::Extreme { operands, constant, .. } => {
                check(!operands.is_empty(), "max/min without an operand")?;
                check(operands.iter().all(|&o| exists(o) && self.nodes[o].len() == len), "max/min lengths")?;
                check(constant.as_ref().is_none_or(|c| c.len() == len), "max/min constant length")?;
            }
            Op::MaxPool { x, candidates } => {
                check(!candidates.is_empty(), "max pool without a window")?;
                check(candidates.iter().all(|c| c.len() == len && reads(*x, c)), "max pool index out of range")?;
            }
        }
        self.nodes.push(Node { op, shape, source });
        self.output = self.nodes.len() - 1;
        Ok(self.output)
    }

    /// The output's value at input `x`, evaluated in f64 node by node.
    /// Panics if `x.len() != self.input_dim()`.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(x.len(), self.input_dim(), "graph forward: wrong input length");
        let mut values: Vec<Vec<f64>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let v = match &node.op {
                Op::Input => x.to_vec(),
                Op::Map { x, src, scale, shift } => {
                    let x = &values[*x];
                    (0..src.len()).map(|i| scale[i] * x[src[i]] + shift[i]).collect()
                }
                Op::Sum { a, b } => {
                    let (va, vb) = (&values[a.node], &values[b.node]);
                    (0..a.src.len()).map(|i| a.scale * va[a.src[i]] + b.scale * vb[b.src[i]]).collect()
                }
                Op::Concat { parts } => parts
                    .iter()
                    .flat_map(|p| match p {
                        Part::Node(id) => values[*id].clone(),
                        Part::Constant(c) => c.clone(),
                    })
                    .collect(),
                Op::Linear { x, terms, shift } => {
                    let x = &values[*x];
                    (0..terms.rows())
                        .map(|i| terms.row(i).iter().map(|&(j, c)| c * x[j]).sum::<f64>() + shift[i])
                        .collect()
                }
                Op::Conv { x, conv } => {
                    let x = &values[*x];
                    (0..node.len())
                        .map(|i| {
                            let mut sum = 0.0;
                            let bias = conv.for_each_term(i, |j, w| sum += w * x[j]);
                            sum + bias
                        })
                        .collect()
                }
                Op::Activation { x, act } => values[*x].iter().enumerate().map(|(i, &v)| act.eval(i, v)).collect(),
                Op::Abs { x } => values[*x].iter().map(|v| v.abs()).collect(),
                Op::Extreme { operands, constant, max } => {
                    let pick = |a: f64, b: f64| if *max { a.max(b) } else { a.min(b) };
                    let mut acc = values[operands[0]].clone();
                    for &o in &operands[1..] {
                        acc.iter_mut().zip(&values[o]).for_each(|(a, &b)| *a = pick(*a, b));
                    }
                    if let Some(c) = constant {
                        acc.iter_mut().zip(c).for_each(|(a, &b)| *a = pick(*a, b));
                    }
                    acc
                }
                Op::MaxPool { x, candidates } => {
                    let x = &values[*x];
                    (0..node.len())
                        .map(|i| candidates.iter().map(|c| x[c[i]]).fold(f64::NEG_INFINITY, f64::max))
                        .collect()
                }
            };
            values.push(v);
        }
        values.swap_remove(self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A residual block with every kind of node, evaluated by hand.
    #[test]
    fn forward_evaluates_each_kind() {
        let mut g = Graph::new(vec![("x".into(), vec![1, 2])]);
        let s = |v: &str| v.to_string();
        // l = [x0 + 2 x1 - 1, -x0]
        let l = g
            .push(
                Op::Linear {
                    x: 0,
                    terms: Terms::from_rows(&[vec![(0, 1.0), (1, 2.0)], vec![(0, -1.0)]]),
                    shift: vec![-1.0, 0.0],
                },
                vec![1, 2],
                s("Gemm"),
            )
            .unwrap();
        let r = g.push(Op::Activation { x: l, act: Activation::Relu }, vec![1, 2], s("Relu")).unwrap();
        // sum = relu(l) + 0.5 x (reversed)
        let a = Operand { node: r, src: vec![0, 1], scale: 1.0 };
        let b = Operand { node: 0, src: vec![1, 0], scale: 0.5 };
        let sum = g.push(Op::Sum { a, b }, vec![1, 2], s("Add")).unwrap();
        let abs = g.push(Op::Abs { x: l }, vec![1, 2], s("Abs")).unwrap();
        let cat = g
            .push(
                Op::Concat { parts: vec![Part::Node(sum), Part::Constant(vec![3.0]), Part::Node(abs)] },
                vec![5],
                s("Concat"),
            )
            .unwrap();
        let ext = g
            .push(
                Op::Extreme { operands: vec![sum, abs], constant: Some(vec![0.25, 0.25]), max: false },
                vec![2],
                s("Min"),
            )
            .unwrap();
        let pool =
            g.push(Op::MaxPool { x: cat, candidates: vec![vec![0, 2], vec![4, 3]] }, vec![2], s("MaxPool")).unwrap();
        let map = g
            .push(
                Op::Map { x: pool, src: vec![1, 0, 1], scale: vec![2.0, 1.0, -1.0], shift: vec![0.0, 0.0, 1.0] },
                vec![3],
                s("Mul"),
            )
            .unwrap();
        let last = g.push(Op::Concat { parts: vec![Part::Node(map), Part::Node(ext)] }, vec![5], s("Concat")).unwrap();
        assert_eq!(g.output(), last);
        // x = (1, -3): l = (-6, -1), relu = (0, 0), sum = (-1.5, 0.5),
        // abs = (6, 1), cat = (-1.5, 0.5, 3, 6, 1), pool = (max(-1.5, 1),
        // max(3, 6)) = (1, 6), map = (12, 1, -5), min = (-1.5, 0.25).
        assert_eq!(g.forward(&[1.0, -3.0]), vec![12.0, 1.0, -5.0, -1.5, 0.25]);
    }

    #[test]
    fn push_refuses_bad_indices() {
        let mut g = Graph::new(vec![("x".into(), vec![2])]);
        let map = |src: Vec<usize>| Op::Map { x: 0, src, scale: vec![1.0; 2], shift: vec![0.0; 2] };
        assert!(g.push(map(vec![0, 2]), vec![2], "Gather".into()).is_err());
        assert!(g.push(map(vec![0, 1]), vec![3], "Gather".into()).is_err());
        assert!(g.push(Op::Abs { x: 5 }, vec![2], "Abs".into()).is_err());
        let bad = Op::Linear { x: 0, terms: Terms::from_rows(&[vec![(2, 1.0)]]), shift: vec![0.0] };
        assert!(g.push(bad, vec![1], "Gemm".into()).is_err());
        assert_eq!(g.nodes().len(), 1);
        assert!(g.push(map(vec![1, 0]), vec![2], "Transpose".into()).is_ok());
    }

    /// Several inputs are one vector in the order given.
    #[test]
    fn inputs_concatenate_in_order() {
        let g = Graph::new(vec![("a".into(), vec![1, 2]), ("b".into(), vec![3])]);
        assert_eq!(g.input_dim(), 5);
        assert_eq!(g.forward(&[1.0, 2.0, 3.0, 4.0, 5.0]), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
