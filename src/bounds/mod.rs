//! Bounds on every neuron's pre-activation over an input box.
//!
//! The MILP's big-M constants and its number of binaries come from these
//! bounds: a neuron whose pre-activation interval `[l, u]` does not contain a
//! kink is *stable* and needs no binary, and a tight `[l, u]` gives a tight
//! LP relaxation. Each method lives in its own file and returns the same
//! [`NetworkBounds`]; all are sound over-approximations (tests sample inputs
//! and check that every neuron's value lies inside).

pub mod interval;

use crate::model::Network;
use crate::spec::InputBox;

/// Lower and upper bounds for the neurons of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Lower bounds, one per neuron.
    pub lower: Vec<f64>,
    /// Upper bounds, one per neuron.
    pub upper: Vec<f64>,
}

impl Bounds {
    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// `true` for a layer of zero neurons.
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// The intersection with `other`, neuron by neuron (both must be sound).
    pub fn intersect(&self, other: &Bounds) -> Bounds {
        Bounds {
            lower: self.lower.iter().zip(&other.lower).map(|(a, b)| a.max(*b)).collect(),
            upper: self.upper.iter().zip(&other.upper).map(|(a, b)| a.min(*b)).collect(),
        }
    }
}

/// Pre-activation bounds for every layer of a network, in layer order. The
/// last entry bounds the network output (its activation is the identity).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkBounds {
    /// One [`Bounds`] per layer.
    pub layers: Vec<Bounds>,
}

impl NetworkBounds {
    /// Bounds on the network output.
    pub fn output(&self) -> &Bounds {
        self.layers.last().expect("bounds of a network with no layer")
    }

    /// Count neurons with a kink strictly inside `(l, u)`: the ones a MILP
    /// must branch on.
    pub fn unstable_count(&self, net: &Network) -> usize {
        net.layers()
            .iter()
            .zip(&self.layers)
            .map(|(layer, b)| (0..b.len()).filter(|&i| is_unstable(&layer.activation, i, b.lower[i], b.upper[i])).count())
            .sum()
    }
}

/// `true` when neuron `i`'s activation has a kink strictly inside `(l, u)`.
pub fn is_unstable(act: &crate::model::Activation, i: usize, l: f64, u: f64) -> bool {
    act.kinks(i).into_iter().any(|k| l < k && k < u)
}

/// Which bounding method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundMethod {
    /// Interval arithmetic, layer by layer.
    Interval,
}

/// Compute bounds with `method`.
pub fn compute(net: &Network, input: &InputBox, method: BoundMethod) -> NetworkBounds {
    match method {
        BoundMethod::Interval => interval::compute(net, input),
    }
}
