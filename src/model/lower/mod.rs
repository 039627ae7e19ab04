//! Lowering: a [`Graph`] becomes the chain of layers the engine verifies
//! (a [`Network`]).
//!
//! The nodes are visited in order, each becoming a [`Var`]: an affine map
//! of the *open stage's* input (stage 0 reads the network input). Linear
//! nodes fold into their operand's map, so `Sub`, `Div`, `Flatten`,
//! `MatMul`, `Add` of a constant, `BatchNormalization`, a convolution all
//! end up in one affine map per layer; each activation closes the open
//! stage as a [`Layer`](crate::model::Layer) ([`Stages::push`]) and opens the
//! next. A value of an earlier stage used after later activations (a skip
//! or residual connection, a `Concat` of two paths) is first carried
//! through them by pass-through neurons ([`Stages::lift`]). At the end the
//! output node's map becomes the last layer, with the identity activation.
//!
//! Three node kinds are not one activation per element and become layers
//! of ReLU neurons, each construction exact for every real input:
//!
//! - `|x| = relu(x) + relu(-x)`: one layer of `2n` ReLU neurons.
//! - `max(a, b) = b + relu(a - b)` and `min(a, b) = b - relu(b - a)`, both
//!   `b + s relu(s (a - b))` with `s = +1` for max and `-1` for min: `n`
//!   ReLU neurons on `s (a - b)` and `n` pass-through neurons on `b` (which
//!   the next stage still needs). More than two operands take one such
//!   layer each (`max(a, b, c) = max(max(a, b), c)`), the operands still to
//!   come passed through too; a constant operand `c` takes one last layer,
//!   `c + s relu(s (x - c))`.
//! - `MaxPool`: the maximum of each window as a balanced tree of
//!   `max(a, b)`, one layer per level (a 2x2 window takes two layers, 4x4
//!   four).
//!
//! The chain computes the graph's function (up to rounding: the hinge
//! rewrite of a Clip layer and the ReLU constructions add and subtract in
//! another order than the graph's operators); [`Graph::forward`] stays the
//! reference that witnesses are checked on.

mod map;
mod stages;

use crate::limits::Budget;
use map::Var;

use crate::error::Result;
use crate::limits::LoadLimits;
use crate::model::graph::{Graph, Node, Op, Part, Terms};
use crate::model::Activation;
use stages::Stages;

/// The layers lowered from `graph` and the name of each (the operator of
/// the file that closed it), within `limits`. Errors name the node.
pub(crate) fn lower(graph: &Graph, limits: &LoadLimits) -> Result<(Vec<crate::model::Layer>, Vec<String>)> {
    let budget = Budget::new(limits);
    let mut lowering =
        Lowering { budget: &budget, stages: Stages::new(), vars: Vec::with_capacity(graph.nodes().len()) };
    for node in graph.nodes() {
        let closed = lowering.stages.len();
        let var = lowering.node(node).map_err(|e| e.with_node(node.source.clone()))?;
        let layers: usize =
            lowering.stages.layers()[closed..].iter().map(|l| l.affine.weights.stored() + l.output_dim()).sum();
        budget
            .spend(
                layers + var.map.weights.stored() + var.numel(),
                format_args!("{} (with what came before it)", node.source),
            )
            .map_err(|e| e.with_node(node.source.clone()))?;
        lowering.vars.push(var);
    }
    let out = lowering.vars.swap_remove(graph.output());
    let mut stages = lowering.stages;
    // The output layer, with the identity activation (an output from an
    // earlier stage is carried to the last one first).
    stages.push(&budget, out, Activation::Identity, "output".to_string())?;
    Ok(stages.into_layers())
}

/// The lowering under way: the layers closed so far and each node's map.
struct Lowering<'b> {
    budget: &'b Budget<'b>,
    stages: Stages,
    vars: Vec<Var>,
}

impl Lowering<'_> {
    /// The map of `node`, its operands being lowered already.
    fn node(&mut self, node: &Node) -> Result<Var> {
        let budget = self.budget;
        let shape = node.shape.clone();
        Ok(match &node.op {
            Op::Input => Var::identity(shape, 0, budget)?,
            Op::Map { x, src, scale, shift } => self.vars[*x].elementwise(src, scale, shift, shape, budget)?,
            Op::Sum { a, b } => {
                let va = self.stages.lift(budget, self.vars[a.node].clone())?;
                let vb = self.stages.lift(budget, self.vars[b.node].clone())?;
                Var::combine((&va, &a.src, a.scale), (&vb, &b.src, b.scale), shape, budget)?
            }
            Op::Concat { parts } => {
                let lifted = parts
                    .iter()
                    .filter_map(|p| if let Part::Node(id) = p { Some(self.vars[*id].clone()) } else { None })
                    .map(|v| self.stages.lift(budget, v))
                    .collect::<Result<Vec<Var>>>()?;
                // Constant parts as maps over the same stage input.
                let cols = lifted.iter().map(Var::cols).max().unwrap_or(0);
                let stage = lifted.first().map_or(0, |v| v.stage);
                let mut constants = Vec::new();
                for p in parts {
                    if let Part::Constant(c) = p {
                        constants.push(Var::constant(c, cols, stage, budget)?);
                    }
                }
                let (mut consts, mut vars) = (constants.iter(), lifted.iter());
                let all: Vec<&Var> = parts
                    .iter()
                    .map(|p| match p {
                        Part::Node(_) => vars.next().expect("one lifted map per node part"),
                        Part::Constant(_) => consts.next().expect("one map per constant part"),
                    })
                    .collect();
                Var::stack(&all, budget)?
            }
            Op::Linear { x, terms, shift } => self.vars[*x].linear_combination(terms, shift, shape, budget)?,
            Op::Conv { x, conv } => {
                let (rows, shift): (Vec<_>, Vec<f64>) = (0..node.len()).map(|i| conv.row(i)).unzip();
                self.vars[*x].linear_combination(&Terms::from_rows(&rows), &shift, shape, budget)?
            }
            Op::Activation { x, act } => self.close(self.vars[*x].clone(), act.clone(), node)?,
            Op::Abs { x } => {
                let x = self.vars[*x].clone();
                let len = x.numel();
                let iota: Vec<usize> = (0..len).collect();
                let neg = x.elementwise(&iota, &vec![-1.0; len], &vec![0.0; len], shape.clone(), budget)?;
                // Neurons 0..n carry relu(x), neurons n..2n carry relu(-x).
                let h = self.close(Var::stack(&[&x, &neg], budget)?, Activation::Relu, node)?;
                let second: Vec<usize> = (len..2 * len).collect();
                Var::combine((&h, &iota, 1.0), (&h, &second, 1.0), shape, budget)?
            }
            Op::Extreme { operands, constant, max } => {
                let s = if *max { 1.0 } else { -1.0 };
                self.extreme(operands, constant.as_deref(), s, node)?
            }
            Op::MaxPool { x, candidates } => {
                let len = node.len();
                let (ones, zeros) = (vec![1.0; len], vec![0.0; len]);
                let mut level = candidates
                    .iter()
                    .map(|src| self.vars[*x].elementwise(src, &ones, &zeros, shape.clone(), budget))
                    .collect::<Result<Vec<Var>>>()?;
                while level.len() > 1 {
                    level = self.max_level(level, node)?;
                }
                level.pop().expect("a kernel has a position")
            }
        })
    }

    /// Close the open stage with the layer `act(pre)`, named after `node`;
    /// its output is the identity on the new stage's input, with `pre`'s
    /// shape.
    fn close(&mut self, pre: Var, act: Activation, node: &Node) -> Result<Var> {
        let shape = pre.shape.clone();
        self.stages.push(self.budget, pre, act, node.source.clone())?;
        Var::identity(shape, self.stages.len(), self.budget)
    }

    /// `Max` (`s = 1`) or `Min` (`s = -1`) of the operands and the constant
    /// (module doc).
    fn extreme(&mut self, operands: &[usize], constant: Option<&[f64]>, s: f64, node: &Node) -> Result<Var> {
        let budget = self.budget;
        let (shape, len) = (node.shape.clone(), node.len());
        let iota: Vec<usize> = (0..len).collect();
        let mut rest =
            operands.iter().map(|&o| self.stages.lift(budget, self.vars[o].clone())).collect::<Result<Vec<Var>>>()?;
        let mut acc = rest.remove(0);
        while !rest.is_empty() {
            // Neurons: s (acc - b) with a ReLU, then b and the operands still
            // to come, each passed through (slope 1).
            let diff = Var::combine((&acc, &iota, s), (&rest[0], &iota, -s), shape.clone(), budget)?;
            let mut parts = vec![&diff];
            parts.extend(rest.iter());
            let pre = Var::stack(&parts, budget)?;
            let mut slopes = vec![0.0; len];
            slopes.resize(pre.numel(), 1.0);
            let h = self.close(pre, Activation::Leaky { slopes }, node)?;
            // acc = b + s relu(s (acc - b)): block 1 plus s times block 0.
            let block = |k: usize| (k * len..(k + 1) * len).collect::<Vec<usize>>();
            acc = Var::combine((&h, &block(1), 1.0), (&h, &block(0), s), shape.clone(), budget)?;
            rest = (2..=rest.len()).map(|k| h.slice(k * len, len, shape.clone(), budget)).collect::<Result<_>>()?;
        }
        if let Some(c) = constant {
            // extreme(acc, c) = c + s relu(s (acc - c)).
            let shift: Vec<f64> = c.iter().map(|v| -s * v).collect();
            let pre = acc.elementwise(&iota, &vec![s; len], &shift, shape.clone(), budget)?;
            let h = self.close(pre, Activation::Relu, node)?;
            acc = h.elementwise(&iota, &vec![s; len], c, shape, budget)?;
        }
        Ok(acc)
    }

    /// One level of a tree of maxima: the values (all of one shape, of the
    /// open stage) paired up, `max(a, b) = b + relu(a - b)` for each pair in
    /// one layer: ReLU neurons on `a - b`, pass-through neurons (slope 1) on
    /// `b` and on an odd value left over. Returns the maxima, then the value
    /// left over.
    fn max_level(&mut self, values: Vec<Var>, node: &Node) -> Result<Vec<Var>> {
        let budget = self.budget;
        let shape = values[0].shape.clone();
        let len = values[0].numel();
        let iota: Vec<usize> = (0..len).collect();
        let pairs = values.len() / 2;
        let mut parts = Vec::with_capacity(values.len());
        for p in 0..pairs {
            parts.push(Var::combine(
                (&values[2 * p], &iota, 1.0),
                (&values[2 * p + 1], &iota, -1.0),
                shape.clone(),
                budget,
            )?);
        }
        let carried: Vec<&Var> = (0..pairs).map(|p| &values[2 * p + 1]).chain(values.get(2 * pairs)).collect();
        let all: Vec<&Var> = parts.iter().chain(carried).collect();
        let pre = Var::stack(&all, budget)?;
        let mut slopes = vec![0.0; pairs * len];
        slopes.resize(pre.numel(), 1.0);
        let h = self.close(pre, Activation::Leaky { slopes }, node)?;
        let block = |k: usize| (k * len..(k + 1) * len).collect::<Vec<usize>>();
        let mut out = (0..pairs)
            .map(|p| Var::combine((&h, &block(pairs + p), 1.0), (&h, &block(p), 1.0), shape.clone(), budget))
            .collect::<Result<Vec<Var>>>()?;
        if values.len() % 2 == 1 {
            out.push(h.slice(2 * pairs * len, len, shape, budget)?);
        }
        Ok(out)
    }
}
