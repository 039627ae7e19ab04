//! The network IRs: a model as a [`Graph`] of operator nodes with shapes
//! (as its file states it), and the feed-forward chain of f64 affine
//! layers, each followed by a piecewise-linear activation, that the engine
//! verifies ([`Network`]).
//!
//! The ONNX loader builds the graph and lowers it to the chain
//! (`lower`); the `.nnet` format is a chain already. Every later stage
//! (bounds, MILP encoding, search) reads only the chain: it is exactly the
//! class of functions that a MILP with one binary per kink encodes
//! exactly. The network keeps its graph ([`Network::source`]), and witness
//! checks run the graph's forward pass ([`Network::reference_output`]), so
//! a counterexample is judged on the file's operators, independently of
//! the lowering.
//!
//! Layer `k` computes `z = W x + b` (the *pre-activation*) and then
//! `y = act(z)` neuron by neuron. `W` is stored densely or as sparse rows
//! ([`matrix`]): a convolution is a layer whose rows hold only its
//! kernel's entries. A graph whose branches rejoin (residual blocks) is a
//! chain too: the lowering carries a value past later activations by
//! pass-through neurons (a [`Activation::Leaky`] neuron of slope 1), first
//! rewriting a Clip layer on the way by its hinges (`readout`). The last
//! layer's activation is normally [`Activation::Identity`], so its
//! pre-activation is the network output.
//!
//! A classifier or controller may end in a smooth [`OutputActivation`]
//! (softmax, log-softmax, tanh, sigmoid) after its last layer. It is not
//! part of the piecewise-linear chain: [`Network::forward`] and everything
//! built on the layers (bounds, MILP encodings, searches) work on the
//! *logits* before it, and [`Network::forward_activated`] applies it. The
//! property on the activated outputs is turned into an exact one on the
//! logits by `spec::logits`, and witnesses are checked on the activated
//! outputs (`verdict::check_witness`).

pub mod activation;
pub mod graph;
pub(crate) mod lower;
pub mod matrix;
pub mod nnet;
pub mod onnx;
pub mod pair;
pub(crate) mod readout;

pub use activation::Activation;
pub use graph::Graph;
pub use matrix::{dot, Matrix};

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::LoadLimits;

/// Load a network file, choosing the loader by extension (`.onnx`, `.nnet`,
/// either gzip-compressed as `.onnx.gz`, `.nnet.gz`), within the default
/// [`LoadLimits`].
pub fn load(path: &Path) -> Result<Network> {
    load_with(path, &LoadLimits::default())
}

/// Load a network file, choosing the loader by extension (`.onnx`, `.nnet`,
/// either gzip-compressed as `.onnx.gz`, `.nnet.gz`), and refuse a file,
/// tensor or layer beyond `limits` before allocating it.
pub fn load_with(path: &Path, limits: &LoadLimits) -> Result<Network> {
    match crate::limits::format_extension(path).as_deref() {
        Some("onnx") => onnx::load_with(path, limits),
        Some("nnet") => nnet::load_with(path, limits).map(|(net, _)| net),
        _ => Err(Error::new(
            ErrorKind::Usage,
            "unknown model format: expected a .onnx or .nnet file (or .onnx.gz, .nnet.gz)",
        )
        .with_path(path)),
    }
}

/// An affine map `x -> W x + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    /// Weights, `out x in`.
    pub weights: Matrix,
    /// Bias, one per output.
    pub bias: Vec<f64>,
}

impl Affine {
    /// Apply the map.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        let mut z = self.weights.mul_vec(x);
        for (zi, bi) in z.iter_mut().zip(&self.bias) {
            *zi += bi;
        }
        z
    }

    /// The composition `other ∘ self` (first `self`, then `other`).
    pub fn then(&self, other: &Affine) -> Affine {
        let weights = other.weights.matmul(&self.weights);
        let mut bias = other.weights.mul_vec(&self.bias);
        for (b, ob) in bias.iter_mut().zip(&other.bias) {
            *b += ob;
        }
        Affine { weights, bias }
    }
}

/// A smooth activation after the last layer, applied to the whole output
/// vector (softmax, log-softmax) or element by element (tanh, sigmoid).
///
/// It is monotone, which is what lets `spec::logits` restate a property on
/// the activated outputs exactly on the logits before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputActivation {
    /// `p_i = exp(z_i) / sum_j exp(z_j)` over all outputs.
    Softmax,
    /// `y_i = z_i - ln(sum_j exp(z_j))` over all outputs.
    LogSoftmax,
    /// `y_i = tanh(z_i)`, in `(-1, 1)`.
    Tanh,
    /// `y_i = 1 / (1 + exp(-z_i))`, in `(0, 1)`.
    Sigmoid,
}

impl OutputActivation {
    /// The activated outputs of the logits `z`, evaluated stably in f64
    /// (softmax and log-softmax shift by `max z` first, the sigmoid never
    /// exponentiates a positive number).
    pub fn apply(&self, z: &[f64]) -> Vec<f64> {
        let log_sum_exp = || {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (m, z.iter().map(|v| (v - m).exp()).sum::<f64>())
        };
        match self {
            OutputActivation::Softmax => {
                let (m, sum) = log_sum_exp();
                z.iter().map(|v| (v - m).exp() / sum).collect()
            }
            OutputActivation::LogSoftmax => {
                let (m, sum) = log_sum_exp();
                let shift = m + sum.ln();
                z.iter().map(|v| v - shift).collect()
            }
            OutputActivation::Tanh => z.iter().map(|v| v.tanh()).collect(),
            OutputActivation::Sigmoid => z
                .iter()
                .map(|&v| {
                    if v >= 0.0 {
                        1.0 / (1.0 + (-v).exp())
                    } else {
                        let e = v.exp();
                        e / (1.0 + e)
                    }
                })
                .collect(),
        }
    }

    /// The ONNX operator name (`Softmax`, `LogSoftmax`, `Tanh`, `Sigmoid`).
    pub fn op_name(&self) -> &'static str {
        match self {
            OutputActivation::Softmax => "Softmax",
            OutputActivation::LogSoftmax => "LogSoftmax",
            OutputActivation::Tanh => "Tanh",
            OutputActivation::Sigmoid => "Sigmoid",
        }
    }
}

/// One layer: an affine map followed by an activation.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The affine part, computing the pre-activation.
    pub affine: Affine,
    /// The activation applied neuron by neuron.
    pub activation: Activation,
}

impl Layer {
    /// Number of inputs.
    pub fn input_dim(&self) -> usize {
        self.affine.weights.cols()
    }

    /// Number of neurons (outputs).
    pub fn output_dim(&self) -> usize {
        self.affine.weights.rows()
    }
}

/// A validated feed-forward network: dimensions chain and every value is
/// finite; optionally followed by an [`OutputActivation`].
#[derive(Debug, Clone)]
pub struct Network {
    layers: Vec<Layer>,
    output_activation: Option<OutputActivation>,
    /// Where each layer comes from in the model file (the ONNX node whose
    /// activation closed it), for reports; empty when the loader does not
    /// say. Not part of the function: [`PartialEq`] ignores it.
    layer_names: Vec<String>,
    /// The graph the layers were lowered from (ONNX models), whose forward
    /// pass is the reference a witness is checked on
    /// ([`Network::reference_output`]). [`PartialEq`] ignores it.
    source: Option<Arc<Graph>>,
}

/// Two networks are equal when they compute the same way: same layers and
/// output activation, whatever their layers are named.
impl PartialEq for Network {
    fn eq(&self, other: &Network) -> bool {
        self.layers == other.layers && self.output_activation == other.output_activation
    }
}

impl Network {
    /// Build a network, checking that dimensions chain, biases have the right
    /// length, every weight and bias is finite, Leaky slopes are finite and one
    /// per neuron, and Clip has `lo < hi`.
    pub fn new(layers: Vec<Layer>) -> Result<Network> {
        let err = |msg: String| Err(Error::new(ErrorKind::Network, msg));
        if layers.is_empty() {
            return err("a network needs at least one layer".into());
        }
        for (k, layer) in layers.iter().enumerate() {
            if layer.input_dim() == 0 || layer.output_dim() == 0 {
                return err(format!("layer {k} has an empty dimension"));
            }
            if layer.affine.bias.len() != layer.output_dim() {
                return err(format!(
                    "layer {k}: bias has {} entries, weights have {} rows",
                    layer.affine.bias.len(),
                    layer.output_dim()
                ));
            }
            if k > 0 && layers[k - 1].output_dim() != layer.input_dim() {
                return err(format!(
                    "layer {k} takes {} inputs but layer {} has {} outputs",
                    layer.input_dim(),
                    k - 1,
                    layers[k - 1].output_dim()
                ));
            }
            if let Some(v) = layer.affine.weights.values().iter().chain(&layer.affine.bias).find(|v| !v.is_finite()) {
                return err(format!("layer {k} has a non-finite weight or bias ({v})"));
            }
            if let Err(msg) = layer.activation.validate(layer.output_dim()) {
                return err(format!("layer {k}: {msg}"));
            }
        }
        Ok(Network { layers, output_activation: None, layer_names: Vec::new(), source: None })
    }

    /// The same network with a name for each layer (its source in the model
    /// file, shown by reports); names of another count than the layers are
    /// dropped.
    pub fn with_layer_names(self, names: Vec<String>) -> Network {
        let layer_names = if names.len() == self.layers.len() { names } else { Vec::new() };
        Network { layer_names, ..self }
    }

    /// Layer `k`'s name, if the loader gave one ([`Network::with_layer_names`]).
    pub fn layer_name(&self, k: usize) -> Option<&str> {
        self.layer_names.get(k).map(String::as_str)
    }

    /// The same network with the graph it was lowered from, which must
    /// compute the same function as the layers (before the output
    /// activation) on the same inputs.
    pub fn with_source(self, graph: Graph) -> Network {
        debug_assert_eq!(graph.input_dim(), self.input_dim());
        Network { source: Some(Arc::new(graph)), ..self }
    }

    /// The graph the layers were lowered from, if the loader kept it.
    pub fn source(&self) -> Option<&Graph> {
        self.source.as_deref()
    }

    /// The same network followed by `act` (`None`: the logits are the output).
    pub fn with_output_activation(self, act: Option<OutputActivation>) -> Network {
        Network { output_activation: act, ..self }
    }

    /// The activation after the last layer, if any.
    pub fn output_activation(&self) -> Option<OutputActivation> {
        self.output_activation
    }

    /// The layers in order.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Number of network inputs.
    pub fn input_dim(&self) -> usize {
        self.layers[0].input_dim()
    }

    /// Number of network outputs.
    pub fn output_dim(&self) -> usize {
        self.layers.last().map(Layer::output_dim).unwrap_or(0)
    }

    /// Number of neurons that carry a non-identity activation.
    pub fn activation_neurons(&self) -> usize {
        self.layers.iter().filter(|l| l.activation != Activation::Identity).map(Layer::output_dim).sum()
    }

    /// The f64 forward pass through the layers: the logits, before any
    /// [`OutputActivation`] (see [`Network::forward_activated`]). Panics if
    /// `x.len() != self.input_dim()`.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(x.len(), self.input_dim(), "forward: wrong input length");
        let mut v = x.to_vec();
        for layer in &self.layers {
            let z = layer.affine.apply(&v);
            v = z.iter().enumerate().map(|(i, &zi)| layer.activation.eval(i, zi)).collect();
        }
        v
    }

    /// The network's function: [`Network::forward`], then the output
    /// activation if there is one.
    pub fn forward_activated(&self, x: &[f64]) -> Vec<f64> {
        self.activated(self.forward(x))
    }

    /// The model's function at `x` as its file states it: the forward pass
    /// of the graph the layers were lowered from when the loader kept it
    /// (independent of the lowering: pass-through neurons, hinge rewrites
    /// and ReLU constructions), of the layers otherwise; then the output
    /// activation. Witnesses are checked on it. Panics if
    /// `x.len() != self.input_dim()`.
    pub fn reference_output(&self, x: &[f64]) -> Vec<f64> {
        match &self.source {
            Some(graph) => {
                assert_eq!(x.len(), self.input_dim(), "reference_output: wrong input length");
                self.activated(graph.forward(x))
            }
            None => self.forward_activated(x),
        }
    }

    /// The output activation, if any, applied to the logits `z`.
    fn activated(&self, z: Vec<f64>) -> Vec<f64> {
        match self.output_activation {
            Some(act) => act.apply(&z),
            None => z,
        }
    }

    /// The gradient of `sum_k c_k y_k` with respect to the input at `x`, with
    /// `c` given as sparse `(output, coefficient)` pairs.
    ///
    /// The network is piecewise linear, so this is exact inside the linear
    /// region of `x`; at a kink the right-hand piece (`z >= kink`) is used.
    pub fn gradient(&self, x: &[f64], c: &[(usize, f64)]) -> Vec<f64> {
        self.gradient_from(&self.forward_pre_activations(x), c)
    }

    /// [`Network::gradient`] at the point whose pre-activations `pre`
    /// ([`Network::forward_pre_activations`]) are already known.
    pub fn gradient_from(&self, pre: &[Vec<f64>], c: &[(usize, f64)]) -> Vec<f64> {
        let mut g = vec![0.0; self.output_dim()];
        for &(k, v) in c {
            g[k] += v;
        }
        for (layer, z) in self.layers.iter().zip(pre).rev() {
            for (i, gi) in g.iter_mut().enumerate() {
                *gi *= layer.activation.slope(i, z[i]);
            }
            let w = &layer.affine.weights;
            let mut prev = vec![0.0; w.cols()];
            for (i, &gi) in g.iter().enumerate().filter(|(_, gi)| **gi != 0.0) {
                w.row(i).add_scaled(gi, &mut prev);
            }
            g = prev;
        }
        g
    }

    /// The network output for the pre-activations `pre` of
    /// [`Network::forward_pre_activations`].
    pub fn output_from(&self, pre: &[Vec<f64>]) -> Vec<f64> {
        let (layer, z) = (self.layers.last().expect("a network has a layer"), pre.last().expect("one per layer"));
        z.iter().enumerate().map(|(i, &zi)| layer.activation.eval(i, zi)).collect()
    }

    /// The forward pass keeping every layer's pre-activation `z` (one vector
    /// per layer); the network output is the activation of the last one.
    pub fn forward_pre_activations(&self, x: &[f64]) -> Vec<Vec<f64>> {
        assert_eq!(x.len(), self.input_dim(), "forward: wrong input length");
        let mut v = x.to_vec();
        let mut all = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let z = layer.affine.apply(&v);
            v = z.iter().enumerate().map(|(i, &zi)| layer.activation.eval(i, zi)).collect();
            all.push(z);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |x| = relu(x) + relu(-x).
    fn abs_net() -> Network {
        Network::new(vec![
            Layer {
                affine: Affine { weights: Matrix::new(2, 1, vec![1.0, -1.0]).unwrap(), bias: vec![0.0, 0.0] },
                activation: Activation::Relu,
            },
            Layer {
                affine: Affine { weights: Matrix::new(1, 2, vec![1.0, 1.0]).unwrap(), bias: vec![0.0] },
                activation: Activation::Identity,
            },
        ])
        .unwrap()
    }

    #[test]
    fn forward_computes_abs() {
        let net = abs_net();
        for x in [-2.0, -0.5, 0.0, 0.25, 3.0] {
            assert_eq!(net.forward(&[x]), vec![f64::abs(x)]);
        }
    }

    #[test]
    fn rejects_mismatched_dims_and_nan() {
        let l1 = Layer {
            affine: Affine { weights: Matrix::new(2, 1, vec![1.0, 1.0]).unwrap(), bias: vec![0.0, 0.0] },
            activation: Activation::Relu,
        };
        let l2 = Layer {
            affine: Affine { weights: Matrix::new(1, 3, vec![1.0; 3]).unwrap(), bias: vec![0.0] },
            activation: Activation::Identity,
        };
        assert_eq!(Network::new(vec![l1.clone(), l2]).unwrap_err().kind(), ErrorKind::Network);
        let mut bad = l1;
        bad.affine.bias[0] = f64::NAN;
        assert_eq!(Network::new(vec![bad]).unwrap_err().kind(), ErrorKind::Network);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let net = Network::new(vec![
            Layer {
                affine: Affine {
                    weights: Matrix::new(3, 2, vec![1.0, -2.0, 0.5, 1.5, -1.0, 0.3]).unwrap(),
                    bias: vec![0.1, -0.2, 0.3],
                },
                activation: Activation::Leaky { slopes: vec![0.1, -0.3, 0.5] },
            },
            Layer {
                affine: Affine {
                    weights: Matrix::new(2, 3, vec![1.0, 2.0, -1.0, 0.5, -0.5, 1.0]).unwrap(),
                    bias: vec![0.0, 0.1],
                },
                activation: Activation::Clip { lo: -0.5, hi: 0.7 },
            },
            Layer {
                affine: Affine { weights: Matrix::new(2, 2, vec![1.0, -1.0, 2.0, 0.5]).unwrap(), bias: vec![0.0, 0.0] },
                activation: Activation::Identity,
            },
        ])
        .unwrap();
        let c = [(0, 1.0), (1, -0.7)];
        let f = |x: &[f64]| {
            let y = net.forward(x);
            y[0] - 0.7 * y[1]
        };
        for x in [[0.31, 0.17], [-0.4, 0.1], [0.05, -0.6], [0.9, 0.4]] {
            let g = net.gradient(&x, &c);
            for j in 0..2 {
                let h = 1e-7;
                let mut xp = x;
                xp[j] += h;
                let fd = (f(&xp) - f(&x)) / h;
                assert!((fd - g[j]).abs() < 1e-5, "x {x:?} dim {j}: {fd} vs {}", g[j]);
            }
        }
    }

    #[test]
    fn affine_composition() {
        let a = Affine { weights: Matrix::new(2, 1, vec![1.0, 2.0]).unwrap(), bias: vec![1.0, 0.0] };
        let b = Affine { weights: Matrix::new(1, 2, vec![3.0, -1.0]).unwrap(), bias: vec![0.5] };
        let c = a.then(&b);
        for x in [-1.0, 0.0, 2.0] {
            assert_eq!(c.apply(&[x]), b.apply(&a.apply(&[x])));
        }
    }
}
