//! Several networks on one shared input, as one [`Network`] whose outputs
//! are theirs concatenated in order ([`side_by_side`]).
//!
//! Questions about two models at once (are they equivalent? does a property
//! over both outputs hold?) become ordinary questions about one network, so
//! the whole engine (bounds, search, MILP) answers them unchanged.
//!
//! # Construction
//!
//! Stage `k` of the result holds layer `k` of every network, one block of
//! neurons each, in network order:
//!
//! * the affine part of network `n`'s block reads network `n`'s previous
//!   block only: the first stage stacks the first layers' rows on the shared
//!   input, later stages are block-diagonal (sparse rows stay sparse; the
//!   stored form is chosen by density, [`Matrix::compact`]);
//! * a network shallower than the deepest is padded, after its last layer,
//!   with pass-through layers: identity weights and a neuron that is the
//!   identity (a [`Activation::Leaky`] neuron of slope 1, never a kink);
//! * the activations of one stage must be one [`Activation`]. ReLU, Leaky,
//!   PReLU, identity and pass-through neurons are all Leaky neurons (slope
//!   0, `s`, `s_i`, 1, 1), so they merge into one Leaky layer (or stay
//!   `Relu` / `Identity` when every neuron is). A stage whose neurons are
//!   all the same [`Activation::Clip`] stays that Clip. A Clip neuron in a
//!   stage with other kinds is rewritten by its hinge decomposition, as
//!   Leaky neurons (`lo + relu(z - lo) - relu(z - hi)`: two ReLU neurons,
//!   or a pass-through and a ReLU with no lower level), and the next stage
//!   reads the clipped value back from them through a readout (the
//!   rewrite and its rounding are derived in `model::readout`).
//!   When the last stage is rewritten so, an identity layer reads the
//!   outputs out.
//!
//! Every other neuron keeps its weights, bias and activation bit for bit;
//! its dot product may still round differently (a row's storage, and with
//! it the order of the sum, follows the combined layer's density), so the
//! forward pass of the result is the concatenation of the networks' forward
//! passes up to rounding.
//!
//! Output activations: the result may end in one only when every network
//! ends in the same element-wise one (tanh, sigmoid), which commutes with
//! concatenation. Softmax and log-softmax normalise over one network's
//! outputs, and the concatenation has no such activation: a caller asking
//! about argmax strips them first
//! (`net.clone().with_output_activation(None)`), since the argmax of the
//! logits is the argmax of the softmax.

use crate::error::{Error, ErrorKind, Result};
use crate::model::readout::Readout;
use crate::model::{Activation, Affine, Layer, Matrix, Network, OutputActivation};

/// The activation of one neuron of a stage, before the stage is merged.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `z` for `z >= 0`, `slope z` below: ReLU (0), Leaky, identity (1).
    Slope(f64),
    /// `min(max(z, lo), hi)`.
    Clip(f64, f64),
}

/// One neuron of a stage: its pre-activation row over the previous stage's
/// values, bias and activation.
struct Neuron {
    row: Vec<(usize, f64)>,
    bias: f64,
    kind: Kind,
}

/// One network computing the networks in `nets` side by side on their
/// shared input: its output is their outputs concatenated in order (see
/// the module doc for the construction).
///
/// Errors ([`ErrorKind::Network`]) when `nets` is empty, the networks take
/// different numbers of inputs, or their output activations differ or
/// normalise over the outputs (softmax, log-softmax).
pub fn side_by_side(nets: &[&Network]) -> Result<Network> {
    let err = |msg: String| Error::new(ErrorKind::Network, msg);
    let first = nets.first().ok_or_else(|| err("side_by_side needs at least one network".into()))?;
    let inputs = first.input_dim();
    for (n, net) in nets.iter().enumerate() {
        if net.input_dim() != inputs {
            return Err(err(format!(
                "network {n} takes {} inputs, network 0 takes {inputs}: networks run side by side share their input",
                net.input_dim()
            )));
        }
    }
    let output_activation = shared_output_activation(nets)?;
    let depth = nets.iter().map(|n| n.layers().len()).max().unwrap_or(0);
    // Before the first stage every network reads the shared input directly.
    let mut readouts: Vec<Readout> = nets.iter().map(|_| Readout::identity(inputs)).collect();
    let mut width = inputs;
    let mut layers = Vec::with_capacity(depth + 1);
    for k in 0..depth {
        let blocks: Vec<Vec<Neuron>> = nets.iter().zip(&readouts).map(|(net, r)| stage_neurons(net, k, r)).collect();
        let (layer, next) = merge_stage(width, blocks)?;
        width = layer.output_dim();
        layers.push(layer);
        readouts = next;
    }
    // An identity layer reads the outputs out when a rewritten Clip left
    // the last stage's values other than the outputs themselves.
    if !readouts.iter().all(Readout::is_plain) {
        let mut rows = Vec::new();
        let mut bias = Vec::new();
        for r in &readouts {
            for i in 0..r.len() {
                let (row, b) = r.compose([(i, 1.0)], 0.0);
                rows.push(row);
                bias.push(b);
            }
        }
        let weights = Matrix::from_sparse_rows(width, &rows)?.compact();
        layers.push(Layer { affine: Affine { weights, bias }, activation: Activation::Identity });
    }
    Ok(Network::new(layers)?.with_output_activation(output_activation))
}

/// The output activation the combined network can carry (see the module
/// doc), or an error saying why there is none.
fn shared_output_activation(nets: &[&Network]) -> Result<Option<OutputActivation>> {
    let first = nets[0].output_activation();
    let name = |a: Option<OutputActivation>| a.map_or("none", |a| a.op_name());
    for (n, net) in nets.iter().enumerate() {
        if net.output_activation() != first {
            return Err(Error::new(
                ErrorKind::Network,
                format!(
                    "network {n} ends in output activation {}, network 0 in {}: networks run side by side need the \
                     same one (compare logits: strip it from both)",
                    name(net.output_activation()),
                    name(first)
                ),
            ));
        }
    }
    match first {
        Some(act @ (OutputActivation::Softmax | OutputActivation::LogSoftmax)) => Err(Error::new(
            ErrorKind::Network,
            format!(
                "the networks end in {}, which normalises over one network's outputs and so has no side-by-side \
                 form: compare their logits (strip it from both)",
                act.op_name()
            ),
        )),
        other => Ok(other),
    }
}

/// The neurons of `net`'s stage `k` (layer `k`, or a pass-through layer
/// past its last), their rows read through `readout` onto the previous
/// stage's values.
fn stage_neurons(net: &Network, k: usize, readout: &Readout) -> Vec<Neuron> {
    match net.layers().get(k) {
        Some(layer) => (0..layer.output_dim())
            .map(|i| {
                let (row, bias) = readout.compose(layer.affine.weights.row(i).iter(), layer.affine.bias[i]);
                let kind = match &layer.activation {
                    Activation::Identity => Kind::Slope(1.0),
                    Activation::Relu => Kind::Slope(0.0),
                    Activation::Leaky { slopes } => Kind::Slope(slopes[i]),
                    &Activation::Clip { lo, hi } => Kind::Clip(lo, hi),
                };
                Neuron { row, bias, kind }
            })
            .collect(),
        None => (0..readout.len())
            .map(|i| {
                let (row, bias) = readout.compose([(i, 1.0)], 0.0);
                Neuron { row, bias, kind: Kind::Slope(1.0) }
            })
            .collect(),
    }
}

/// One layer of every network's neurons of a stage (`blocks`, in network
/// order) on `width` previous values, and each network's readout of its
/// layer outputs from the new layer's values.
fn merge_stage(width: usize, blocks: Vec<Vec<Neuron>>) -> Result<(Layer, Vec<Readout>)> {
    let kinds = || blocks.iter().flatten().map(|n| n.kind);
    let first = kinds().next().expect("a layer has neurons");
    let one_clip = matches!(first, Kind::Clip(..)) && kinds().all(|k| k == first);
    let mut rows = Vec::new();
    let mut bias = Vec::new();
    let mut slopes = Vec::new();
    let mut readouts = Vec::with_capacity(blocks.len());
    for block in blocks {
        let mut readout = Readout::default();
        for neuron in block {
            let mut push = |row: Vec<(usize, f64)>, b: f64, slope: f64| {
                rows.push(row);
                bias.push(b);
                slopes.push(slope);
                rows.len() - 1
            };
            match neuron.kind {
                // The hinge rewrite (module doc).
                Kind::Clip(lo, hi) if !one_clip => readout
                    .push_hinges(Activation::Clip { lo, hi }.hinges(0), |shift, slope| {
                        push(neuron.row.clone(), neuron.bias + shift, slope)
                    }),
                // One Clip for the whole stage: `slopes` goes unused.
                Kind::Clip(..) => readout.push_column(push(neuron.row, neuron.bias, 0.0)),
                Kind::Slope(s) => readout.push_column(push(neuron.row, neuron.bias, s)),
            }
        }
        readouts.push(readout);
    }
    let activation = match first {
        Kind::Clip(lo, hi) if one_clip => Activation::Clip { lo, hi },
        _ if slopes.iter().all(|&s| s == 0.0) => Activation::Relu,
        _ if slopes.iter().all(|&s| s == 1.0) => Activation::Identity,
        _ => Activation::Leaky { slopes },
    };
    let weights = Matrix::from_sparse_rows(width, &rows)?.compact();
    Ok((Layer { affine: Affine { weights, bias }, activation }, readouts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::testutil::{layer, random_network_on, soak_network};

    /// `side_by_side` computes every network's outputs, concatenated: on
    /// random networks of different depths and every activation kind
    /// (Clip stages merged with other kinds included), against each
    /// network's own forward pass.
    #[test]
    fn forward_is_the_concatenation() {
        let mut rng = Rng::new(25);
        let mut rewritten = 0;
        for case in 0..300 {
            let a = soak_network(&mut rng);
            let inputs = a.input_dim();
            let count = 2 + rng.below(2);
            let mut nets = vec![a];
            while nets.len() < count {
                let net =
                    if rng.below(2) == 0 { random_network_on(&mut rng, inputs, 5) } else { soak_network(&mut rng) };
                if net.input_dim() == inputs {
                    nets.push(net);
                }
            }
            let refs: Vec<&Network> = nets.iter().collect();
            let pair = side_by_side(&refs).unwrap();
            let is_clip = |a: &Activation| matches!(a, Activation::Clip { .. });
            let clip_at = |k: usize| nets.iter().any(|n| n.layers().get(k).is_some_and(|l| is_clip(&l.activation)));
            if (0..pair.layers().len()).any(|k| clip_at(k) && !is_clip(&pair.layers()[k].activation)) {
                rewritten += 1;
            }
            for _ in 0..20 {
                let x: Vec<f64> = (0..inputs).map(|_| rng.range(-1.5, 1.5)).collect();
                let want: Vec<f64> = nets.iter().flat_map(|n| n.forward(&x)).collect();
                let got = pair.forward(&x);
                assert_eq!(got.len(), want.len(), "case {case}");
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "case {case} at {x:?}: {g} vs {w}");
                }
            }
        }
        assert!(rewritten > 20, "the Clip rewrite ran in only {rewritten} cases");
    }

    /// Two networks clipping by the same levels in the same layer keep the
    /// Clip (no rewrite, no extra neurons); a shallower one is padded.
    #[test]
    fn same_clip_stays_and_padding_is_identity() {
        let clip = Activation::Clip { lo: 0.0, hi: 1.0 };
        let a = Network::new(vec![
            layer(2, 1, &[1.0, -1.0], &[0.0, 0.5], clip.clone()),
            layer(1, 2, &[1.0, 2.0], &[0.1], Activation::Identity),
        ])
        .unwrap();
        let b = Network::new(vec![
            layer(1, 1, &[3.0], &[0.0], clip.clone()),
            layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Relu),
            layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let pair = side_by_side(&[&a, &b]).unwrap();
        assert_eq!(pair.layers().len(), 3);
        assert_eq!(pair.layers()[0].activation, clip);
        assert_eq!(pair.layers()[0].output_dim(), 3);
        // Stage 1: a's identity output layer (slope 1) beside b's ReLU.
        assert_eq!(pair.layers()[1].activation, Activation::Leaky { slopes: vec![1.0, 0.0, 0.0] });
        for x in [-1.0, -0.2, 0.0, 0.3, 0.9, 2.0] {
            let want: Vec<f64> = a.forward(&[x]).into_iter().chain(b.forward(&[x])).collect();
            assert_eq!(pair.forward(&[x]), want);
        }
    }

    #[test]
    fn refuses_mismatched_inputs_and_softmax() {
        let one = Network::new(vec![layer(1, 1, &[1.0], &[0.0], Activation::Identity)]).unwrap();
        let two = Network::new(vec![layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity)]).unwrap();
        assert_eq!(side_by_side(&[&one, &two]).unwrap_err().kind(), ErrorKind::Network);
        assert_eq!(side_by_side(&[]).unwrap_err().kind(), ErrorKind::Network);
        let soft = one.clone().with_output_activation(Some(OutputActivation::Softmax));
        assert_eq!(side_by_side(&[&soft, &soft]).unwrap_err().kind(), ErrorKind::Network);
        assert_eq!(side_by_side(&[&soft, &one]).unwrap_err().kind(), ErrorKind::Network);
        let tanh = one.clone().with_output_activation(Some(OutputActivation::Tanh));
        let pair = side_by_side(&[&tanh, &tanh]).unwrap();
        assert_eq!(pair.output_activation(), Some(OutputActivation::Tanh));
        assert_eq!(pair.forward_activated(&[0.5]), vec![0.5f64.tanh(); 2]);
    }
}
