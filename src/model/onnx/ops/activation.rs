//! Piecewise-linear activations: `Relu`, `LeakyRelu`, `PRelu`, `Clip`
//! (which is also how `HardTanh` and `ReLU6` are exported) and
//! `HardSigmoid` (a clip of an affine map).
//!
//! An activation applied to an input-dependent value becomes an
//! [`Op::Activation`] node; the lowering closes a layer with it (and
//! rewrites a Clip layer by its hinges when a skip connection crosses it,
//! see `model::lower`). Applied to a constant, the activation is simply
//! evaluated.

use super::NodeInput;
use crate::error::{Error, ErrorKind, Result};
use crate::model::graph::{Graph, Op};
use crate::model::onnx::tensor::{broadcast_index, broadcast_shapes, numel, Tensor};
use crate::model::onnx::value::Value;
use crate::model::Activation;

/// `Relu`: `max(x, 0)`.
pub(super) fn relu(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    activate(n, g, Activation::Relu)
}

/// `LeakyRelu`: slope `alpha` (default 0.01) below zero, shared by all neurons.
pub(super) fn leaky_relu(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let alpha = n.attr_float("alpha", 0.01)?;
    let len = numel(n.input(0)?.shape());
    activate(n, g, Activation::Leaky { slopes: vec![alpha; len] })
}

/// `PRelu`: a constant slope tensor that broadcasts to the input's shape
/// (one slope per neuron, per channel, or a scalar).
pub(super) fn prelu(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let shape = n.input(0)?.shape().to_vec();
    let slope = n.const_input(1, "slope")?;
    if broadcast_shapes(&slope.shape, &shape).as_ref() != Some(&shape) {
        return Err(n.shape_error(
            format!("a slope that broadcasts to the input shape {shape:?}"),
            format!("{:?}", slope.shape),
        ));
    }
    let slopes = broadcast_index(&slope.shape, &shape).iter().map(|&j| slope.data[j]).collect();
    activate(n, g, Activation::Leaky { slopes })
}

/// Clip bounds at or beyond the largest f32 are the "no bound" defaults of
/// exporters (`numeric_limits<float>::lowest()` / `max()`), so treat them as
/// infinite rather than adding a kink no input can reach.
const NO_BOUND: f64 = f32::MAX as f64;

/// `Clip`: `min(max(x, lo), hi)`; bounds are attributes before opset 11 and
/// optional scalar inputs 2 and 3 from opset 11 on; a missing bound is
/// infinite. `Clip(0, inf)` becomes `Relu`, `Clip(-inf, inf)` the identity.
pub(super) fn clip(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
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
    activate(n, g, act)
}

/// `HardSigmoid`: `max(0, min(1, alpha x + beta))` (defaults `alpha = 0.2`,
/// `beta = 0.5`), which is `Clip { lo: 0, hi: 1 }` of the affine map
/// `alpha x + beta`: the affine part folds into the layer, the clip closes it.
pub(super) fn hard_sigmoid(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let alpha = n.attr_float("alpha", 0.2)?;
    let beta = n.attr_float("beta", 0.5)?;
    let x = n.input(0)?;
    let len = numel(x.shape());
    let iota: Vec<usize> = (0..len).collect();
    let pre = match x {
        Value::Const(t) => {
            Value::Const(Tensor::float(t.shape.clone(), t.data.iter().map(|v| alpha * v + beta).collect()))
        }
        Value::Sym(v) => {
            Value::Sym(v.elementwise(&iota, &vec![alpha; len], &vec![beta; len], v.shape.clone(), n, g)?)
        }
    };
    Ok(vec![apply(n, g, &pre, Activation::Clip { lo: 0.0, hi: 1.0 })?])
}

/// Apply `act` to input 1: evaluate it on a constant, or add its node.
fn activate(n: &NodeInput<'_>, g: &mut Graph, act: Activation) -> Result<Vec<Value>> {
    Ok(vec![apply(n, g, n.input(0)?, act)?])
}

/// `act` applied to `x`: evaluated on a constant, a node otherwise.
fn apply(n: &NodeInput<'_>, g: &mut Graph, x: &Value, act: Activation) -> Result<Value> {
    Ok(match x {
        _ if act == Activation::Identity => x.clone(),
        Value::Const(t) => Value::Const(Tensor {
            shape: t.shape.clone(),
            data: t.data.iter().enumerate().map(|(i, &v)| act.eval(i, v)).collect(),
            elem: t.elem,
        }),
        Value::Sym(v) => Value::Sym(n.push(g, Op::Activation { x: v.node, act }, v.shape.clone())?),
    })
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::model::onnx::test_graph::{assert_agrees, assert_close, attr_f, attr_i, TestGraph};
    use crate::model::{Activation, Affine, Layer, Matrix, Network};
    use crate::rng::Rng;

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

    /// A clipping node under test: `clip(alpha z + beta; lo, hi)`, written
    /// as `Clip` (bounds as attributes before opset 11, inputs after; an
    /// infinite bound left out) or, with `alpha != 1`, as `HardSigmoid`.
    struct ClipKind {
        lo: f64,
        hi: f64,
        alpha: f64,
        beta: f64,
    }

    /// ReLU6, hard-tanh, an upper bound only, and a HardSigmoid (its
    /// parameters exact in f32, as attributes store them).
    const KINDS: [ClipKind; 4] = [
        ClipKind { lo: 0.0, hi: 6.0, alpha: 1.0, beta: 0.0 },
        ClipKind { lo: -1.0, hi: 1.0, alpha: 1.0, beta: 0.0 },
        ClipKind { lo: f64::NEG_INFINITY, hi: 0.5, alpha: 1.0, beta: 0.0 },
        ClipKind { lo: 0.0, hi: 1.0, alpha: 0.25, beta: 0.375 },
    ];

    impl ClipKind {
        /// `g` with the node `output = self(input)` for a graph of `opset`.
        fn node(&self, g: TestGraph, opset: i64, input: &str, output: &str) -> TestGraph {
            if self.alpha != 1.0 {
                let attrs = vec![attr_f("alpha", self.alpha as f32), attr_f("beta", self.beta as f32)];
                return g.node("HardSigmoid", &[input], output, attrs);
            }
            if opset < 11 {
                let mut attrs = vec![attr_f("max", self.hi as f32)];
                if self.lo.is_finite() {
                    attrs.push(attr_f("min", self.lo as f32));
                }
                return g.node("Clip", &[input], output, attrs);
            }
            let (lo, hi) = (format!("{output}_lo"), format!("{output}_hi"));
            let g = g.init(&hi, &[], &[self.hi]);
            match self.lo.is_finite() {
                true => g.init(&lo, &[], &[self.lo]).node("Clip", &[input, &lo, &hi], output, vec![]),
                false => g.node("Clip", &[input, "", &hi], output, vec![]),
            }
        }

        /// The function, evaluated directly.
        fn eval(&self, z: f64) -> f64 {
            (self.alpha * z + self.beta).max(self.lo).min(self.hi)
        }

        /// Binaries (kinks) per clipped neuron.
        fn kinks(&self) -> usize {
            1 + usize::from(self.lo.is_finite())
        }
    }

    /// `w x + b` for row-major `w` with `b.len()` rows.
    fn affine(w: &[f64], b: &[f64], x: &[f64]) -> Vec<f64> {
        b.iter()
            .enumerate()
            .map(|(i, bi)| bi + x.iter().enumerate().map(|(j, xj)| w[i * x.len() + j] * xj).sum::<f64>())
            .collect()
    }

    /// `len` values uniform in `[-scale, scale]`.
    fn uniform(rng: &mut Rng, len: usize, scale: f64) -> Vec<f64> {
        (0..len).map(|_| rng.range(-scale, scale)).collect()
    }

    /// The kinks of a network: one binary each in its MILP.
    fn kinks(net: &Network) -> usize {
        let layer = |l: &Layer| (0..l.output_dim()).map(|i| l.activation.hinges(i).terms().len()).sum::<usize>();
        net.layers().iter().map(layer).sum()
    }

    /// A residual block across each clip kind, `y = x + clip(W x + b)`,
    /// at opsets with the bounds as attributes and as inputs, against the
    /// graph evaluated directly: the Clip layer is rewritten by its hinges
    /// into a Leaky layer, with as many kinks as the clip had.
    #[test]
    fn residual_across_clip_matches_reference() {
        let mut rng = Rng::new(31);
        for (k, kind) in KINDS.iter().enumerate() {
            for opset in [9, 13] {
                // Weights large enough that both levels are reached on [-2, 2]^3.
                let (w, b) = (uniform(&mut rng, 9, 2.5), uniform(&mut rng, 3, 1.0));
                let g = TestGraph::new(opset, &[1, 3]).init("W", &[3, 3], &w).init("b", &[3], &b).node(
                    "Gemm",
                    &["x", "W", "b"],
                    "z",
                    vec![attr_i("transB", 1)],
                );
                let net = kind.node(g, opset, "z", "a").node("Add", &["x", "a"], "y", vec![]).output("y").load();
                let net = net.unwrap_or_else(|e| panic!("kind {k} opset {opset}: {e}"));
                assert!(matches!(net.layers()[0].activation, Activation::Leaky { .. }), "kind {k} opset {opset}");
                assert_eq!(kinks(&net), 3 * kind.kinks(), "kind {k} opset {opset}");
                assert_agrees(&net, 3, |x| {
                    let z = affine(&w, &b, x);
                    x.iter().zip(z).map(|(xi, zi)| xi + kind.eval(zi)).collect()
                });
            }
        }
    }

    /// Skips across Clip layers that are already read by other values:
    /// by the layer closed after the Clip (`relu(V relu6(W x)) + x`), by a
    /// value of the stage after the Clip built before the rewrite and used
    /// after it (`concat(V c, c + x)`), and across two Clip layers with a
    /// value of the stage between them carried across the second
    /// (`clip2(V c1) + x + U c1`).
    #[test]
    fn skips_across_clip_layers_read_by_other_values() {
        let mut rng = Rng::new(32);
        let gemm = |g: TestGraph, input: &str, w: &str, b: Option<&str>, out: &str| {
            let inputs: Vec<&str> = [input, w].into_iter().chain(b).collect();
            g.node("Gemm", &inputs, out, vec![attr_i("transB", 1)])
        };
        let (relu6, hardtanh, upper, hardsigmoid) = (&KINDS[0], &KINDS[1], &KINDS[2], &KINDS[3]);
        for _ in 0..3 {
            let (w, b, v, c, u) = (
                uniform(&mut rng, 9, 3.0),
                uniform(&mut rng, 3, 1.0),
                uniform(&mut rng, 9, 2.0),
                uniform(&mut rng, 3, 1.0),
                uniform(&mut rng, 9, 1.0),
            );
            let base = || {
                TestGraph::new(13, &[1, 3])
                    .init("W", &[3, 3], &w)
                    .init("b", &[3], &b)
                    .init("V", &[3, 3], &v)
                    .init("c", &[3], &c)
                    .init("U", &[3, 3], &u)
            };

            let g = relu6.node(gemm(base(), "x", "W", Some("b"), "z"), 13, "z", "h");
            let g = gemm(g, "h", "V", Some("c"), "q").node("Relu", &["q"], "r", vec![]);
            let net = g.node("Add", &["r", "x"], "y", vec![]).output("y").load().unwrap();
            assert_eq!(kinks(&net), 3 * 2 + 3);
            assert_agrees(&net, 3, |x| {
                let h: Vec<f64> = affine(&w, &b, x).into_iter().map(|z| relu6.eval(z)).collect();
                affine(&v, &c, &h).iter().zip(x).map(|(q, xi)| q.max(0.0) + xi).collect()
            });

            let g = hardtanh.node(gemm(base(), "x", "W", Some("b"), "z"), 13, "z", "h");
            let g = gemm(g, "h", "V", None, "d").node("Add", &["h", "x"], "s", vec![]);
            let net = g.node("Concat", &["d", "s"], "y", vec![attr_i("axis", 1)]).output("y").load().unwrap();
            assert_agrees(&net, 3, |x| {
                let h: Vec<f64> = affine(&w, &b, x).into_iter().map(|z| hardtanh.eval(z)).collect();
                let d = affine(&v, &[0.0; 3], &h);
                d.into_iter().chain(h.iter().zip(x).map(|(hi, xi)| hi + xi)).collect()
            });

            let g = hardsigmoid.node(gemm(base(), "x", "W", Some("b"), "z"), 13, "z", "h1");
            let g = upper.node(gemm(g, "h1", "V", Some("c"), "q"), 13, "q", "h2");
            let g = gemm(g, "h1", "U", None, "d").node("Add", &["h2", "x"], "s", vec![]);
            let net = g.node("Add", &["s", "d"], "y", vec![]).output("y").load().unwrap();
            assert_eq!(kinks(&net), 3 * 2 + 3);
            assert_agrees(&net, 3, |x| {
                let h1: Vec<f64> = affine(&w, &b, x).into_iter().map(|z| hardsigmoid.eval(z)).collect();
                let h2 = affine(&v, &c, &h1).into_iter().map(|q| upper.eval(q));
                let d = affine(&u, &[0.0; 3], &h1);
                h2.zip(x).zip(d).map(|((a, xi), di)| a + xi + di).collect()
            });
        }
    }

    /// Verdicts on `y = G r + c` with `r = x + clip(W x + b)` or `r =
    /// relu(x + clip(W x + b))`, every clip kind, random weights and
    /// properties, judged against exhaustive activation-pattern
    /// enumeration of the loaded network (as the soak does). That network's
    /// exact margin must equal the one of a network built independently of
    /// the loader, with the Clip kept as a Clip layer and `x` carried
    /// through it by Clip neurons `s x + t` that stay inside `(lo, hi)` on
    /// the property's box (within `[-1, 1]^n`), undone by the next layer.
    #[test]
    fn verdicts_on_skips_across_clip_match_enumeration() {
        let mut report = crate::testutil::SoakReport::default();
        let n = 2;
        for case in 0..48u64 {
            let mut rng = Rng::new(900 + case);
            let kind = &KINDS[case as usize % KINDS.len()];
            let relu = case / KINDS.len() as u64 % 2 == 1;
            let scale = if kind.hi == 6.0 { 4.0 } else { 1.5 };
            let (w, b, g, c) = (
                uniform(&mut rng, n * n, scale),
                uniform(&mut rng, n, 0.5),
                uniform(&mut rng, 2 * n, 1.0),
                uniform(&mut rng, 2, 0.5),
            );
            let graph = TestGraph::new(13, &[1, n as i64])
                .init("W", &[n as i64, n as i64], &w)
                .init("b", &[n as i64], &b)
                .init("G", &[2, n as i64], &g)
                .init("c", &[2], &c)
                .node("Gemm", &["x", "W", "b"], "z", vec![attr_i("transB", 1)]);
            let graph = kind.node(graph, 13, "z", "a").node("Add", &["x", "a"], "s", vec![]);
            let graph = if relu {
                graph.node("Relu", &["s"], "r", vec![])
            } else {
                graph.node("Identity", &["s"], "r", vec![])
            };
            let net = graph.node("Gemm", &["r", "G", "c"], "y", vec![attr_i("transB", 1)]).output("y").load().unwrap();

            // The independent network: layer 0 clips [alpha W x + alpha b + beta; s x + t].
            let (s, t) = match kind.lo.is_finite() {
                true => ((kind.hi - kind.lo) / 4.0, (kind.lo + kind.hi) / 2.0),
                false => (1.0, kind.hi - 2.0),
            };
            let dense = |rows: usize, cols: usize, data: Vec<f64>, bias: Vec<f64>, activation| Layer {
                affine: Affine { weights: Matrix::new(rows, cols, data).unwrap(), bias },
                activation,
            };
            let mut first = w.iter().map(|v| kind.alpha * v).collect::<Vec<f64>>();
            let mut first_bias: Vec<f64> = b.iter().map(|v| kind.alpha * v + kind.beta).collect();
            for i in 0..n {
                first.extend((0..n).map(|j| if i == j { s } else { 0.0 }));
                first_bias.push(t);
            }
            // r = [I, I / s] h - t / s, then G r + c.
            let mut mid = Vec::new();
            for i in 0..n {
                mid.extend((0..2 * n).map(|j| {
                    if j == i {
                        1.0
                    } else if j == n + i {
                        1.0 / s
                    } else {
                        0.0
                    }
                }));
            }
            let clip = Activation::Clip { lo: kind.lo, hi: kind.hi };
            let hand = Network::new(vec![
                dense(2 * n, n, first, first_bias, clip),
                dense(n, 2 * n, mid, vec![-t / s; n], if relu { Activation::Relu } else { Activation::Identity }),
                dense(2, n, g.clone(), c.clone(), Activation::Identity),
            ])
            .unwrap();

            let prop = crate::testutil::random_property(&mut rng, &net);
            let (mine, theirs) = (crate::testutil::reference(&net, &prop), crate::testutil::reference(&hand, &prop));
            let m = theirs.margin;
            assert!((mine.margin - m).abs() <= 1e-9 * (1.0 + m.abs()), "case {case}: margin {} vs {m}", mine.margin);
            assert_close(&net.forward(&theirs.input), &hand.forward(&theirs.input), 1e-9);
            crate::testutil::soak_case(case, &net, &prop, &mut report);
        }
        assert!(report.holds > 3 && report.violated > 3, "{report:?}");
    }
}
