//! Differential tests on random small convolutional graphs: convolutions
//! with strides and padding, residual blocks, max and average pools and
//! channel concatenations, written as ONNX models and loaded.
//!
//! Each case checks the two halves of the loader against each other and
//! the verdicts against an independent method: the [`Graph`] (the file's
//! operators, evaluated one by one) and the chain lowered from it agree on
//! dense samples of the input box, and the verifier's verdict on a random
//! property of the chain agrees with exhaustive enumeration of its
//! activation patterns (`testutil::soak_case`, with an LP per pattern).
//! Witnesses are checked on the graph (`verdict::check_witness`).
//!
//! [`Graph`]: crate::model::graph::Graph

use super::test_graph::{assert_close, attr_i, attr_ints, TestGraph};
use crate::model::{Activation, Network};
use crate::rng::Rng;

/// Most neurons with a kink a case may have: enumeration visits up to
/// `2^KINKS` activation patterns with an LP each.
const KINKS: usize = 14;

/// Uniform values in `[-scale, scale]`.
fn uniform(rng: &mut Rng, len: usize, scale: f64) -> Vec<f64> {
    (0..len).map(|_| rng.range(-scale, scale)).collect()
}

/// A random graph: its model, the name of its last value and that value's
/// shape `[1, C, H, W]`, built block by block.
struct Builder {
    graph: TestGraph,
    value: String,
    shape: [usize; 3],
    count: usize,
}

impl Builder {
    /// A fresh name for a value.
    fn name(&mut self, what: &str) -> String {
        self.count += 1;
        format!("{what}{}", self.count)
    }

    /// `Conv` of `m` output channels, kernel `k`, stride `s`, padding `p`
    /// on every side, from `input` of shape `shape`; returns its output name
    /// and shape.
    fn conv(
        &mut self,
        rng: &mut Rng,
        input: &str,
        shape: [usize; 3],
        (m, k, s, p): (usize, usize, usize, usize),
    ) -> (String, [usize; 3]) {
        let [c, h, w] = shape;
        let (wn, bn, out) = (self.name("W"), self.name("B"), self.name("conv"));
        let graph = std::mem::replace(&mut self.graph, TestGraph::new(13, &[1]));
        self.graph = graph
            .init(&wn, &[m as i64, c as i64, k as i64, k as i64], &uniform(rng, m * c * k * k, 1.0))
            .init(&bn, &[m as i64], &uniform(rng, m, 0.3))
            .node(
                "Conv",
                &[input, &wn, &bn],
                &out,
                vec![attr_ints("strides", &[s as i64; 2]), attr_ints("pads", &[p as i64; 4])],
            );
        let size = |d: usize| (d + 2 * p - k) / s + 1;
        (out, [m, size(h), size(w)])
    }

    /// A one-input node on the current value.
    fn unary(&mut self, op: &str, attrs: Vec<crate::model::onnx::pb::AttributeProto>) {
        let out = self.name(op);
        let graph = std::mem::replace(&mut self.graph, TestGraph::new(13, &[1]));
        self.graph = graph.node(op, &[&self.value.clone()], &out, attrs);
        self.value = out;
    }

    /// A two-input node.
    fn binary(&mut self, op: &str, a: &str, b: &str, attrs: Vec<crate::model::onnx::pb::AttributeProto>) -> String {
        let out = self.name(op);
        let graph = std::mem::replace(&mut self.graph, TestGraph::new(13, &[1]));
        self.graph = graph.node(op, &[a, b], &out, attrs);
        out
    }

    /// One random block on the current value.
    fn block(&mut self, rng: &mut Rng) {
        let [c, h, w] = self.shape;
        match rng.below(4) {
            // Conv + Relu, any stride and padding that leave an output.
            0 => {
                let k = 1 + rng.below(2.min(h).min(w));
                let (m, s, p) = (1 + rng.below(2), 1 + rng.below(2), rng.below(2));
                let x = self.value.clone();
                let (out, shape) = self.conv(rng, &x, self.shape, (m, k, s, p));
                self.value = out;
                self.shape = shape;
                self.unary("Relu", vec![]);
            }
            // A residual block: x + relu(conv(x)), same shape.
            1 => {
                let k = if rng.below(2) == 0 { 1 } else { 3 };
                let x = self.value.clone();
                let (out, _) = self.conv(rng, &x, self.shape, (c, k, 1, k / 2));
                self.value = out;
                self.unary("Relu", vec![]);
                let inner = self.value.clone();
                self.value = self.binary("Add", &x, &inner, vec![]);
                if rng.below(2) == 0 {
                    self.unary("Relu", vec![]);
                }
            }
            // A 2x2 max or average pool, stride 1 or 2, padded or not.
            2 if h >= 2 && w >= 2 => {
                let (s, p) = (1 + rng.below(2), rng.below(2));
                let mut attrs = vec![
                    attr_ints("kernel_shape", &[2, 2]),
                    attr_ints("strides", &[s as i64; 2]),
                    attr_ints("pads", &[p as i64; 4]),
                ];
                let op = if rng.below(2) == 0 { "MaxPool" } else { "AveragePool" };
                if op == "AveragePool" {
                    attrs.push(attr_i("count_include_pad", rng.below(2) as i64));
                }
                self.unary(op, attrs);
                let size = |d: usize| (d + 2 * p - 2) / s + 1;
                self.shape = [c, size(h), size(w)];
            }
            // A channel concatenation: [relu(conv1x1(x)), x].
            _ => {
                let x = self.value.clone();
                let (out, _) = self.conv(rng, &x, self.shape, (1, 1, 1, 0));
                self.value = out;
                self.unary("Relu", vec![]);
                let branch = self.value.clone();
                self.value = self.binary("Concat", &branch, &x, vec![attr_i("axis", 1)]);
                self.shape = [c + 1, h, w];
            }
        }
    }
}

/// Neurons whose activation has a kink (pass-through neurons have none).
fn kinks(net: &Network) -> usize {
    net.layers()
        .iter()
        .map(|l| match &l.activation {
            Activation::Identity => 0,
            Activation::Leaky { slopes } => slopes.iter().filter(|&&s| s != 1.0).count(),
            Activation::Clip { .. } => 2 * l.output_dim(),
            _ => l.output_dim(),
        })
        .sum()
}

/// A random graph of one or two blocks on a `[1, C, H, W]` input, then
/// `Flatten` and a `Gemm` to two outputs, with at most [`KINKS`] kinks.
fn random_graph(rng: &mut Rng) -> Network {
    loop {
        let shape = [1 + rng.below(2), 2 + rng.below(2), 2 + rng.below(2)];
        let dims: Vec<i64> = [1].into_iter().chain(shape.iter().map(|&d| d as i64)).collect();
        let mut b = Builder { graph: TestGraph::new(13, &dims), value: "x".into(), shape, count: 0 };
        for _ in 0..1 + rng.below(2) {
            b.block(rng);
        }
        b.unary("Flatten", vec![attr_i("axis", 1)]);
        let width = b.shape.iter().product::<usize>();
        let graph = b.graph.init("G", &[2, width as i64], &uniform(rng, 2 * width, 1.0)).init("g", &[2], &[0.1, -0.1]);
        let net = graph.node("Gemm", &[&b.value, "G", "g"], "y", vec![attr_i("transB", 1)]).output("y").load().unwrap();
        if kinks(&net) <= KINKS {
            return net;
        }
    }
}

#[test]
fn random_conv_graphs_lower_exactly_and_verify_against_enumeration() {
    let mut report = crate::testutil::SoakReport::default();
    let mut ops = std::collections::BTreeSet::new();
    for case in 0..40u64 {
        let mut rng = Rng::new(7000 + case);
        let net = random_graph(&mut rng);
        let graph = net.source().expect("an ONNX network keeps its graph");
        for node in graph.nodes() {
            ops.insert(node.source.split(' ').next().unwrap_or("").to_string());
        }
        for _ in 0..50 {
            let x: Vec<f64> = (0..net.input_dim()).map(|_| rng.range(-1.0, 1.0)).collect();
            assert_close(&net.forward(&x), &graph.forward(&x), 1e-9);
        }
        let prop = crate::testutil::random_property(&mut rng, &net);
        crate::testutil::soak_case(case, &net, &prop, &mut report);
    }
    assert!(report.holds >= 5 && report.violated >= 5, "{report:?}");
    for op in ["Conv", "Relu", "Add", "MaxPool", "AveragePool", "Concat"] {
        assert!(ops.contains(op), "no case has {op}: {ops:?}");
    }
}
