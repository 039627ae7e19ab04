//! The layers the lowering has closed so far ([`Stages`]), and how
//! the values of a stage read them.
//!
//! Each activation closes a layer ([`Stages::push`]). The network stays a
//! chain even where branches rejoin: a value of an earlier stage used after
//! later activations (a skip or residual connection) is carried through
//! them by pass-through neurons ([`Stages::lift`]), Leaky neurons of slope 1
//! that are never a kink. A `Relu` layer that receives them becomes Leaky
//! with slope 0 on its own neurons (the same function); a Leaky layer gives
//! them slope 1.
//!
//! A `Clip` layer (ReLU6, hard-tanh, HardSigmoid, one-sided clips) has no
//! neuron that passes a value through, so before pass-through neurons join
//! it, it is rewritten by its hinge decomposition (`model::readout`, shared
//! with `pair::side_by_side`): each clipped neuron `clip(z; lo, hi)`
//! becomes Leaky neurons on its row,
//!
//! ```text
//! clip(z; lo, hi) = lo + relu(z - lo) - relu(z - hi)     two ReLU neurons (slope 0)
//! clip(z; -inf, hi) = z - relu(z - hi)                   a pass-through and a ReLU neuron
//! ```
//!
//! and the layer becomes a Leaky layer. The function is the same, and so
//! is the count of binaries: a clipped neuron needs two (one with a level
//! infinite), each ReLU hinge one and a pass-through none. (The MILP
//! encodes the two hinges of a neuron as separate ReLUs, without the cut
//! `d_hi <= d_lo` it adds between the binaries of a Clip neuron; a Clip
//! layer that no skip connection crosses is left as it is.)
//!
//! # Maps read the layers' logical outputs
//!
//! A [`Var`] of stage `k + 1` is an affine map over layer `k`'s outputs.
//! Such maps exist wherever a node was lowered before the rewrite: among
//! the lowering's maps of earlier nodes, and in the hands of the node at
//! work (a sum holds its other operand while it lifts this one). Rather than finding
//! and rewriting all of them, every map reads the layer's *logical*
//! outputs: the clipped values in their original order, then the
//! pass-through values in the order they were added. Logical columns are
//! only ever appended, so a map built when the layer was narrower reads
//! zeros in the columns it lacks, as with any lift.
//!
//! A rewritten layer keeps a [`Readout`] from its logical outputs to its
//! neurons, and a map is read through it only where it becomes weights
//! ([`Stages::weights_of`]): appended to a layer as pass-through rows, or
//! closing the open stage. A weight `w` on a clipped value becomes `+w` and
//! `-w` on its two hinges (`w` on the pass-through and `-w` on the hinge
//! with no lower level) and `w lo` joins the bias. A layer already closed
//! after the rewritten one is read through the readout once, at the
//! rewrite.
//!
//! Rounding: the rewritten network computes the same real function as the
//! graph; in f64 `lo + (z - lo)` is not always `z`, so its forward pass may
//! differ from the graph's by an ulp or so of the values involved. The
//! network verified and every witness checked is the rewritten one.

use super::map::Var;
use crate::error::Result;
use crate::limits::Budget;
use crate::model::readout::Readout;
use crate::model::{Activation, Affine, Layer, Matrix};

/// The closed layers of the network being built, in order, with a readout
/// for each Clip layer rewritten by its hinges (see the module doc).
pub(crate) struct Stages {
    layers: Vec<Layer>,
    /// One per layer: the node that closed it, for reports.
    names: Vec<String>,
    /// One per layer: `Some` for a rewritten Clip layer, its logical
    /// outputs read from its neurons; `None` when output `i` is neuron `i`.
    readouts: Vec<Option<Readout>>,
}

impl Stages {
    /// No layer closed yet: the open stage reads the network input.
    pub fn new() -> Stages {
        Stages { layers: Vec::new(), names: Vec::new(), readouts: Vec::new() }
    }

    /// How many layers are closed (the open stage's number).
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// The closed layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The layers and their names, once the graph is done.
    pub fn into_layers(self) -> (Vec<Layer>, Vec<String>) {
        (self.layers, self.names)
    }

    /// Close the open stage with the layer `act(pre)`, `pre` carried into
    /// the open stage first ([`Stages::lift`]), named `name` (the node that
    /// closes it). The new layer's outputs are its neurons, `pre`'s
    /// elements in order.
    pub fn push(&mut self, budget: &Budget<'_>, pre: Var, act: Activation, name: String) -> Result<()> {
        let pre = self.lift(budget, pre)?;
        let affine = self.weights_of(budget, self.layers.len(), pre.map)?;
        self.layers.push(Layer { affine, activation: act });
        self.names.push(name);
        self.readouts.push(None);
        Ok(())
    }

    /// `v`, a value of an earlier stage, as a value of the open stage: a
    /// skip or residual connection. Each layer from `v`'s stage on gets
    /// pass-through neurons computing `v` (slope 1: the identity, never a
    /// kink), so the open stage's input ends with a copy of `v`, and `v`
    /// becomes the selection of that copy. A value of the open stage is
    /// returned as it is.
    ///
    /// Appending neurons to layer `k` widens layer `k + 1`'s input: its
    /// weights get zero columns. A `Relu` layer becomes Leaky with slope 0
    /// on its own neurons, a `Leaky` one takes slope 1 for the new ones, and
    /// a `Clip` layer is first rewritten by its hinges (module doc).
    pub fn lift(&mut self, budget: &Budget<'_>, v: Var) -> Result<Var> {
        let mut cur = v;
        for k in cur.stage..self.layers.len() {
            let (logical, added) = (self.outputs(k), cur.numel());
            let own_slopes = match self.layers[k].activation.clone() {
                Activation::Identity => None,
                Activation::Relu => Some(vec![0.0; self.layers[k].output_dim()]),
                Activation::Leaky { slopes } => Some(slopes),
                Activation::Clip { .. } => Some(self.split_clip(budget, k)?),
            };
            let carried = self.weights_of(budget, k, cur.map)?;
            let layer = &mut self.layers[k];
            let neurons = layer.output_dim();
            layer.affine.weights =
                std::mem::replace(&mut layer.affine.weights, Matrix::identity(0)).append_rows(&carried.weights);
            layer.affine.bias.extend_from_slice(&carried.bias);
            if let Some(slopes) = own_slopes {
                layer.activation = Activation::Leaky { slopes: [slopes, vec![1.0; added]].concat() };
            }
            budget.spend(carried.weights.stored() + added, "pass-through neurons of a skip connection")?;
            if let Some(next) = self.layers.get_mut(k + 1) {
                next.affine.weights = std::mem::replace(&mut next.affine.weights, Matrix::identity(0)).widen(added);
            }
            if let Some(readout) = &mut self.readouts[k] {
                (neurons..neurons + added).for_each(|n| readout.push_column(n));
            }
            let src: Vec<usize> = (logical..logical + added).collect();
            let out = Var::identity(vec![logical + added], k + 1, budget)?;
            cur = out.elementwise(&src, &vec![1.0; added], &vec![0.0; added], cur.shape.clone(), budget)?;
        }
        Ok(cur)
    }

    /// The number of layer `k`'s logical outputs: what stage `k + 1`'s maps
    /// read (module doc).
    fn outputs(&self, k: usize) -> usize {
        self.readouts[k].as_ref().map_or(self.layers[k].output_dim(), Readout::len)
    }

    /// `map`, a map over stage `k`'s logical input, as weights over layer
    /// `k`'s inputs: read through the readout of layer `k - 1` if that is a
    /// rewritten Clip layer, and widened to all its inputs.
    fn weights_of(&self, budget: &Budget<'_>, k: usize, map: Affine) -> Result<Affine> {
        let Some(previous) = k.checked_sub(1) else {
            return Ok(map);
        };
        let width = self.layers[previous].output_dim();
        match &self.readouts[previous] {
            None => {
                let extra = width - map.weights.cols();
                Ok(Affine { weights: map.weights.widen(extra), bias: map.bias })
            }
            Some(readout) => read_through(budget, readout, &map, width),
        }
    }

    /// Rewrite Clip layer `k` by its hinges (module doc), reading the layer
    /// after it (if closed) through the new readout. Returns the slopes of
    /// its new neurons (0 for a hinge, 1 for a pass-through).
    fn split_clip(&mut self, budget: &Budget<'_>, k: usize) -> Result<Vec<f64>> {
        let layer = &self.layers[k];
        let inputs = layer.input_dim();
        // At most two neurons per clipped neuron, each a copy of its row.
        let what = "the hinge neurons of a Clip layer crossed by a skip connection";
        let most = layer.affine.weights.stored().checked_add(layer.output_dim()).and_then(|n| n.checked_mul(2));
        budget.check(most, what)?;
        let (mut rows, mut bias, mut slopes) = (Vec::new(), Vec::new(), Vec::new());
        let mut readout = Readout::default();
        for i in 0..layer.output_dim() {
            let row: Vec<(usize, f64)> = layer.affine.weights.row(i).iter().filter(|&(_, w)| w != 0.0).collect();
            let b = layer.affine.bias[i];
            readout.push_hinges(layer.activation.hinges(i), |shift, slope| {
                rows.push(row.clone());
                bias.push(b + shift);
                slopes.push(slope);
                rows.len() - 1
            });
        }
        let stored: usize = rows.iter().map(Vec::len).sum();
        budget.spend(stored + rows.len(), what)?;
        let weights = Matrix::from_sparse_rows(inputs, &rows)?.compact();
        if let Some(next) = self.layers.get(k + 1) {
            let read = read_through(budget, &readout, &next.affine, rows.len())?;
            budget.spend(read.weights.stored(), "the layer after a Clip layer crossed by a skip connection")?;
            self.layers[k + 1].affine = read;
        }
        self.layers[k] =
            Layer { affine: Affine { weights, bias }, activation: Activation::Leaky { slopes: slopes.clone() } };
        self.readouts[k] = Some(readout);
        Ok(slopes)
    }
}

/// `map`, over the logical outputs `readout` reads, as weights over the
/// `width` neurons they are read from (see [`Readout::compose`]). Each
/// logical output is at most two neurons, which bounds the weights built.
fn read_through(budget: &Budget<'_>, readout: &Readout, map: &Affine, width: usize) -> Result<Affine> {
    let rows = map.weights.rows();
    let most = map.weights.stored().checked_mul(2).and_then(|w| w.checked_add(rows));
    budget.check(most, format_args!("a map of {rows} rows read from the hinges of a Clip layer"))?;
    let mut entries = Vec::with_capacity(rows);
    let mut bias = Vec::with_capacity(rows);
    for i in 0..rows {
        let (row, b) = readout.compose(map.weights.row(i).iter(), map.bias[i]);
        entries.push(row);
        bias.push(b);
    }
    Ok(Affine { weights: Matrix::from_sparse_rows(width, &entries)?.compact(), bias })
}
