//! Piecewise-linear activations: `Relu`, `LeakyRelu`, `PRelu`, `Clip`
//! (which is also how `HardTanh` and `ReLU6` are exported) and
//! `HardSigmoid` (a clip of an affine map).
//!
//! An activation applied to an input-dependent value closes the current
//! stage: the value's affine map becomes a [`Layer`] with this activation,
//! and the activation's output is the identity on the next stage's input.
//! That is how consecutive activations get an identity affine layer between
//! them. Applied to a constant, the activation is simply evaluated.

use super::NodeInput;
use crate::error::{Error, ErrorKind, Result};
use crate::model::onnx::tensor::{broadcast_index, broadcast_shapes, numel, Tensor};
use crate::model::onnx::value::{Budget, Value, Var};
use crate::model::{Activation, Affine, Layer};

/// `Relu`: `max(x, 0)`.
pub(super) fn relu(n: &NodeInput<'_>, layers: &mut Vec<Layer>) -> Result<Vec<Value>> {
    activate(n, layers, Activation::Relu)
}

/// `LeakyRelu`: slope `alpha` (default 0.01) below zero, shared by all neurons.
pub(super) fn leaky_relu(n: &NodeInput<'_>, layers: &mut Vec<Layer>) -> Result<Vec<Value>> {
    let alpha = n.attr_float("alpha", 0.01)?;
    let len = numel(n.input(0)?.shape());
    activate(n, layers, Activation::Leaky { slopes: vec![alpha; len] })
}

/// `PRelu`: a constant slope tensor that broadcasts to the input's shape
/// (one slope per neuron, per channel, or a scalar).
pub(super) fn prelu(n: &NodeInput<'_>, layers: &mut Vec<Layer>) -> Result<Vec<Value>> {
    let shape = n.input(0)?.shape().to_vec();
    let slope = n.const_input(1, "slope")?;
    if broadcast_shapes(&slope.shape, &shape).as_ref() != Some(&shape) {
        return Err(n.shape_error(
            format!("a slope that broadcasts to the input shape {shape:?}"),
            format!("{:?}", slope.shape),
        ));
    }
    let slopes = broadcast_index(&slope.shape, &shape).iter().map(|&j| slope.data[j]).collect();
    activate(n, layers, Activation::Leaky { slopes })
}

/// Clip bounds at or beyond the largest f32 are the "no bound" defaults of
/// exporters (`numeric_limits<float>::lowest()` / `max()`), so treat them as
/// infinite rather than adding a kink no input can reach.
const NO_BOUND: f64 = f32::MAX as f64;

/// `Clip`: `min(max(x, lo), hi)`; bounds are attributes before opset 11 and
/// optional scalar inputs 2 and 3 from opset 11 on; a missing bound is
/// infinite. `Clip(0, inf)` becomes `Relu`, `Clip(-inf, inf)` the identity.
pub(super) fn clip(n: &NodeInput<'_>, layers: &mut Vec<Layer>) -> Result<Vec<Value>> {
    let (lo, hi) = if n.opset >= 11 {
        let bound = |i: usize, what: &str| -> Result<Option<f64>> {
            match n.opt_const_input(i, what)? {
                None => Ok(None),
                Some(t) if t.data.len() == 1 => Ok(Some(t.data[0])),
                Some(t) => Err(n.shape_error(format!("a scalar {what}"), format!("shape {:?}", t.shape))),
            }
        };
        (bound(1, "min")?, bound(2, "max")?)
    } else {
        (n.attr_float_opt("min")?, n.attr_float_opt("max")?)
    };
    if lo.is_some_and(f64::is_nan) || hi.is_some_and(f64::is_nan) {
        return Err(Error::new(ErrorKind::Onnx, "Clip min or max is NaN"));
    }
    let lo = lo.filter(|&v| v > -NO_BOUND).unwrap_or(f64::NEG_INFINITY);
    let hi = hi.filter(|&v| v < NO_BOUND).unwrap_or(f64::INFINITY);
    if lo >= hi {
        return Err(n.unsupported(format!("min {lo} must be below max {hi}; a clip to a single value is a constant")));
    }
    let act = if lo == 0.0 && hi == f64::INFINITY {
        Activation::Relu
    } else if lo == f64::NEG_INFINITY && hi == f64::INFINITY {
        Activation::Identity
    } else {
        Activation::Clip { lo, hi }
    };
    activate(n, layers, act)
}

/// `HardSigmoid`: `max(0, min(1, alpha x + beta))` (defaults `alpha = 0.2`,
/// `beta = 0.5`), which is `Clip { lo: 0, hi: 1 }` of the affine map
/// `alpha x + beta`: the affine part folds into the layer, the clip closes it.
pub(super) fn hard_sigmoid(n: &NodeInput<'_>, layers: &mut Vec<Layer>) -> Result<Vec<Value>> {
    let alpha = n.attr_float("alpha", 0.2)?;
    let beta = n.attr_float("beta", 0.5)?;
    let x = n.input(0)?;
    let len = numel(x.shape());
    let iota: Vec<usize> = (0..len).collect();
    let pre = match x {
        Value::Const(t) => {
            Value::Const(Tensor::float(t.shape.clone(), t.data.iter().map(|v| alpha * v + beta).collect()))
        }
        Value::Var(v) => {
            Value::Var(v.elementwise(&iota, &vec![alpha; len], &vec![beta; len], v.shape.clone(), n.budget)?)
        }
    };
    Ok(vec![apply(n, layers, &pre, Activation::Clip { lo: 0.0, hi: 1.0 })?])
}

/// Apply `act` to input 1: evaluate it on a constant, or close the layer.
fn activate(n: &NodeInput<'_>, layers: &mut Vec<Layer>, act: Activation) -> Result<Vec<Value>> {
    Ok(vec![apply(n, layers, n.input(0)?, act)?])
}

/// `act` applied to `x`: evaluated on a constant, a closed layer otherwise.
fn apply(n: &NodeInput<'_>, layers: &mut Vec<Layer>, x: &Value, act: Activation) -> Result<Value> {
    Ok(match x {
        _ if act == Activation::Identity => x.clone(),
        Value::Const(t) => Value::Const(Tensor {
            shape: t.shape.clone(),
            data: t.data.iter().enumerate().map(|(i, &v)| act.eval(i, v)).collect(),
            elem: t.elem,
        }),
        Value::Var(v) => Value::Var(close_layer(n, layers, v.clone(), act)?),
    })
}

/// Close the open stage: `pre` becomes the affine part of a new layer with
/// activation `act`. Returns the layer's output: the identity on the new
/// stage's input, with `pre`'s shape. A `pre` of an earlier stage is first
/// carried into the open one ([`lift`]).
pub(super) fn close_layer(n: &NodeInput<'_>, layers: &mut Vec<Layer>, pre: Var, act: Activation) -> Result<Var> {
    let shape = pre.shape.clone();
    push_layer(n.budget, layers, pre, act)?;
    Var::identity(shape, layers.len(), n.budget)
}

/// The output layer: `out` (carried to the open stage if it is from an
/// earlier one) with the identity activation.
pub(crate) fn close_output(budget: &Budget<'_>, layers: &mut Vec<Layer>, out: Var) -> Result<()> {
    push_layer(budget, layers, out, Activation::Identity)
}

/// Push the layer `act(pre)`, `pre` carried into the open stage first and
/// its map widened to the stage input.
fn push_layer(budget: &Budget<'_>, layers: &mut Vec<Layer>, pre: Var, act: Activation) -> Result<()> {
    let pre = lift(budget, layers, pre)?;
    let extra = stage_width(layers, pre.cols()) - pre.cols();
    let affine = Affine { weights: pre.map.weights.widen(extra), bias: pre.map.bias };
    layers.push(Layer { affine, activation: act });
    Ok(())
}

/// The width of the open stage's input: the last layer's neurons, or (with
/// no layer yet) `input`, the network input's width.
pub(super) fn stage_width(layers: &[Layer], input: usize) -> usize {
    layers.last().map_or(input, Layer::output_dim)
}

/// `v`, a value of an earlier stage, as a value of the open stage: a skip
/// or residual connection. Each layer from `v`'s stage on gets
/// pass-through neurons computing `v` (slope 1: the identity, never a
/// kink), so the open stage's input ends with a copy of `v`, and `v`
/// becomes the selection of that copy. A value of the open stage is
/// returned as it is.
///
/// Appending neurons to layer `k` widens layer `k + 1`'s input: its
/// weights get zero columns. Values of the open stage built before the
/// lift keep their narrower maps, whose missing columns are zero (see
/// `value::MapBuilder`).
///
/// A pass-through neuron needs a layer whose activation can be the
/// identity per neuron: `Relu` becomes `Leaky` with slope 0 on its own
/// neurons (the same function), `Leaky` takes slope 1; a `Clip` layer
/// cannot, which is an error.
pub(super) fn lift(budget: &Budget<'_>, layers: &mut [Layer], v: Var) -> Result<Var> {
    let mut cur = v;
    for k in cur.stage..layers.len() {
        let layer = &mut layers[k];
        let (before, added) = (layer.output_dim(), cur.numel());
        let activation = match &layer.activation {
            Activation::Identity => Activation::Identity,
            Activation::Relu => Activation::Leaky { slopes: [vec![0.0; before], vec![1.0; added]].concat() },
            Activation::Leaky { slopes } => Activation::Leaky { slopes: [slopes.clone(), vec![1.0; added]].concat() },
            Activation::Clip { .. } => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "a value computed before a Clip activation is used after it (a skip connection across a \
                     clipped activation such as ReLU6); skip connections are supported across Relu, LeakyRelu \
                     and PRelu",
                ))
            }
        };
        let extra = layer.input_dim() - cur.cols();
        let carried = cur.map.weights.widen(extra);
        layer.affine.weights =
            std::mem::replace(&mut layer.affine.weights, crate::model::Matrix::identity(0)).append_rows(&carried);
        layer.affine.bias.extend_from_slice(&cur.map.bias);
        layer.activation = activation;
        budget.spend(carried.stored() + added, "pass-through neurons of a skip connection")?;
        if let Some(next) = layers.get_mut(k + 1) {
            next.affine.weights =
                std::mem::replace(&mut next.affine.weights, crate::model::Matrix::identity(0)).widen(added);
        }
        let src: Vec<usize> = (before..before + added).collect();
        let out = Var::identity(vec![before + added], k + 1, budget)?;
        cur = out.elementwise(&src, &vec![1.0; added], &vec![0.0; added], cur.shape.clone(), budget)?;
    }
    Ok(cur)
}

/// Every value of `vars` as a value of the open stage ([`lift`]).
pub(super) fn lift_all(n: &NodeInput<'_>, layers: &mut [Layer], vars: Vec<Var>) -> Result<Vec<Var>> {
    vars.into_iter().map(|v| lift(n.budget, layers, v)).collect()
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::model::onnx::test_graph::{assert_close, attr_f, TestGraph};
    use crate::model::Activation;

    /// Scale by 2, then `act`; returns the loaded network.
    fn scaled(
        opset: i64,
        act: &str,
        extra: &[&str],
        attrs: Vec<crate::model::onnx::pb::AttributeProto>,
        g: TestGraph,
    ) -> crate::model::Network {
        let mut inputs = vec!["h"];
        inputs.extend_from_slice(extra);
        g.init("two", &[], &[2.0])
            .node("Mul", &["x", "two"], "h", vec![])
            .node(act, &inputs, "y", attrs)
            .output("y")
            .load()
            .unwrap_or_else(|e| panic!("opset {opset} {act}: {e}"))
    }

    #[test]
    fn clip_attributes_before_opset_11() {
        let net = scaled(6, "Clip", &[], vec![attr_f("min", -1.0), attr_f("max", 3.0)], TestGraph::new(6, &[1, 3]));
        assert_eq!(net.layers()[0].activation, Activation::Clip { lo: -1.0, hi: 3.0 });
        // Ends with an activation: an identity affine layer follows.
        assert_eq!(net.layers().len(), 2);
        assert_eq!(net.layers()[1].activation, Activation::Identity);
        assert_close(&net.forward(&[-5.0, 0.25, 5.0]), &[-1.0, 0.5, 3.0], 1e-12);
    }

    #[test]
    fn clip_inputs_from_opset_11() {
        let g = TestGraph::new(13, &[1, 3]).init("lo", &[], &[-1.0]).init("hi", &[], &[3.0]);
        let net = scaled(13, "Clip", &["lo", "hi"], vec![], g);
        assert_eq!(net.layers()[0].activation, Activation::Clip { lo: -1.0, hi: 3.0 });
        assert_close(&net.forward(&[-5.0, 0.25, 5.0]), &[-1.0, 0.5, 3.0], 1e-12);
        // Only a lower bound of 0: that is a ReLU.
        let g = TestGraph::new(13, &[1, 3]).init("zero", &[], &[0.0]);
        let net = scaled(13, "Clip", &["zero"], vec![], g);
        assert_eq!(net.layers()[0].activation, Activation::Relu);
        // Only an upper bound (min left empty).
        let g = TestGraph::new(13, &[1, 3]).init("hi", &[], &[1.0]);
        let net = scaled(13, "Clip", &["", "hi"], vec![], g);
        assert_eq!(net.layers()[0].activation, Activation::Clip { lo: f64::NEG_INFINITY, hi: 1.0 });
        // min >= max is a constant function.
        let g = TestGraph::new(13, &[1, 3]).init("lo", &[], &[1.0]).init("hi", &[], &[1.0]);
        let err = g.node("Clip", &["x", "lo", "hi"], "y", vec![]).output("y").load().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn prelu_per_neuron_and_leaky_default() {
        let g = TestGraph::new(13, &[1, 3]).init("slope", &[3], &[0.1, 0.2, -1.0]);
        let net = scaled(13, "PRelu", &["slope"], vec![], g);
        assert_eq!(net.layers()[0].activation, Activation::Leaky { slopes: vec![0.1, 0.2, -1.0] });
        assert_close(&net.forward(&[-1.0, -1.0, -1.0]), &[-0.2, -0.4, 2.0], 1e-12);
        let net = scaled(13, "LeakyRelu", &[], vec![], TestGraph::new(13, &[1, 3]));
        assert_close(&net.forward(&[-1.0, 1.0, 0.0]), &[-0.02, 2.0, 0.0], 1e-12);
        let g = TestGraph::new(13, &[1, 3]).init("slope", &[2], &[0.1, 0.2]);
        let err = g.node("PRelu", &["x", "slope"], "y", vec![]).output("y").load().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
    }

    /// Two activations in a row get an identity affine layer between them.
    #[test]
    fn consecutive_activations() {
        let net = TestGraph::new(13, &[1, 2])
            .node("Relu", &["x"], "a", vec![])
            .node("LeakyRelu", &["a"], "y", vec![attr_f("alpha", 0.5)])
            .output("y")
            .load()
            .unwrap();
        assert_eq!(net.layers().len(), 3);
        assert!(net.layers().iter().all(|l| l.affine.weights == crate::model::Matrix::identity(2)));
        assert_close(&net.forward(&[-1.0, 2.0]), &[0.0, 2.0], 1e-12);
    }
}
