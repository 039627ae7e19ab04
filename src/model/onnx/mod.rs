//! ONNX in and out: [`load`] translates an ONNX model into a [`Network`],
//! [`save`] / [`to_bytes`] write a network as a plain ONNX graph.
//!
//! # Loading
//!
//! Loading runs in three steps, each adding its own error context: bytes ->
//! protobuf messages ([`pb`], declared by hand with prost derives so builds
//! need no `protoc`), messages -> [`Graph`](crate::model::graph::Graph) (the
//! model's operators as a DAG of nodes with shapes), graph -> the chain of
//! layers the engine verifies (`model::lower`). The second step is a small
//! interpreter over the ONNX graph (in `graph.rs`): every value is either a
//! constant, evaluated at load time, or a node of the graph being built;
//! operators are looked up in a table (`ops/mod.rs`, one file per operator
//! family). The third folds linear nodes into one
//! [`Affine`](crate::model::Affine) per layer (so `Sub`/`Div`
//! normalisation, `Flatten`, `MatMul` + `Add`, `BatchNormalization`, a
//! convolution end up in one map), and each activation closes a
//! [`Layer`](crate::model::Layer). The loaded [`Network`] keeps the graph:
//! witnesses are checked on its forward pass.
//!
//! Supported operators (default domain): `Abs`, `Add`,
//! `BatchNormalization`, `Cast`, `Clip`, `Concat`, `Constant`,
//! `ConstantOfShape`, `Div`, `Dropout`, `Expand`, `Flatten`, `Gather`,
//! `Gemm`, `HardSigmoid`, `Identity`, `LeakyRelu`, `MatMul`, `Max`, `Min`,
//! `Mul`, `Neg`, `PRelu`, `Range`, `ReduceMean`, `ReduceSum`, `Relu`,
//! `Reshape`, `Shape`, `Slice`, `Squeeze`, `Sub`, `Transpose`, `Unsqueeze`.
//! Every operator evaluates constant inputs, and shapes are known at load
//! time, so subgraphs that only compute shapes or constants (the `Shape ->
//! Gather -> Unsqueeze -> Concat -> Reshape` of `x.view(x.size(0), -1)`)
//! fold away. `Abs`, `Max` and `Min` become layers of ReLU and pass-through
//! neurons (derivations in `model/lower/mod.rs`).
//!
//! The graph has one output and one or more inputs (graph inputs without an
//! initializer, read as one input vector). Branches may rejoin (residual
//! `Add`, `Concat`, `Max` of values from different layers): a value used
//! after later activations is carried through them by pass-through neurons,
//! and a `Clip` layer on the way (ReLU6, hard-tanh, HardSigmoid) is
//! rewritten by its hinges, `lo + relu(z - lo) - relu(z - hi)`, so that it
//! can hold them (`model/lower/stages.rs`). A symbolic leading batch
//! dimension is taken as 1, and the network works on the flattened,
//! row-major input (all its elements). A fixed leading dimension above 1
//! that the network treats as a batch (independent copies per entry) is
//! refused, suggesting a dynamic or size-1 batch axis.
//!
//! Activations that are not piecewise linear (`Sigmoid`, `Tanh`, `Softmax`,
//! `Gelu`, ...) are refused with an error saying so and what would work
//! instead (a piecewise-linear activation, or cutting the network before
//! them).
//!
//! `Softmax`, `LogSoftmax`, `Tanh` and `Sigmoid` are accepted as the node
//! that computes the graph output (softmaxes over all outputs): they become
//! the network's [`OutputActivation`](crate::model::OutputActivation), and
//! properties on such outputs are restated on the logits (`spec::logits`).
//!
//! Anything else is refused at load time, never papered over:
//! [`ErrorKind::Onnx`] for a malformed file (bad protobuf, missing
//! initializer, shape mismatch, non-finite weights) and
//! [`ErrorKind::Unsupported`] for a valid model this tool cannot represent
//! (an unknown operator, the product of two input-dependent values). Errors
//! name the offending node. A file is untrusted: declared shapes (rank,
//! element count with overflow checks) and every map the interpreter builds
//! are checked against the [`LoadLimits`] before anything is allocated for
//! them ([`ErrorKind::Limit`]), and no byte string makes the loader panic
//! (the `onnx` fuzz target in `fuzz/` checks it).
//!
//! # Saving
//!
//! The exporter writes opset 13: `Gemm` (`transB = 1`) per layer followed by
//! `Relu`, `LeakyRelu`, `PRelu` or `Clip`, and the output activation last. Weights are stored as float32,
//! which is what ONNX runtimes accept with a float input, so
//! `load_bytes(&to_bytes(&net))` equals `net` only up to f32 rounding (and
//! values beyond the f32 range do not survive). Hidden layers with the
//! identity activation are folded into the next layer on loading, so the
//! layer count may shrink while the function stays the same.
//!
//! # Example
//!
//! ```
//! use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network};
//!
//! let net = Network::new(vec![
//!     Layer {
//!         affine: Affine { weights: Matrix::new(2, 1, vec![1.0, -1.0])?, bias: vec![0.0, 0.5] },
//!         activation: Activation::Relu,
//!     },
//!     Layer {
//!         affine: Affine { weights: Matrix::new(1, 2, vec![1.0, 1.0])?, bias: vec![0.0] },
//!         activation: Activation::Identity,
//!     },
//! ])?;
//! let back = onnx::load_bytes(&onnx::to_bytes(&net))?;
//! assert_eq!(back.forward(&[-2.0]), net.forward(&[-2.0]));
//! # Ok::<(), reluverify::Error>(())
//! ```

mod export;
mod external;
mod graph;
pub use export::value_info;
mod ops;
pub mod pb;
#[cfg(test)]
mod pytorch_patterns;
#[cfg(test)]
mod random_graphs;
mod tensor;
#[cfg(test)]
mod test_graph;
mod value;

use std::path::Path;

use prost::Message;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::{self, LoadLimits};
use crate::model::Network;

/// The operators of the default domain the loader translates, sorted by
/// name (`Softmax` and the other output activations, accepted only as the
/// node producing the graph output, are not among them).
pub fn supported_operators() -> impl Iterator<Item = &'static str> {
    ops::OPS.iter().map(|&(name, _)| name)
}

/// Read and translate the ONNX model at `path` within the default
/// [`LoadLimits`]; errors carry the path.
pub fn load(path: &Path) -> Result<Network> {
    load_with(path, &LoadLimits::default())
}

/// Read and translate the ONNX model at `path` (decompressing a `.gz` file
/// while reading), refusing a file or a declared tensor or layer beyond
/// `limits`; errors carry the path.
///
/// Weights saved as external data (beside the model, as `torch.onnx.export`
/// does by default from PyTorch 2.9) are read from the model's folder, and
/// count against the same size limit.
pub fn load_with(path: &Path, limits: &LoadLimits) -> Result<Network> {
    let bytes = limits::read_file(path, limits.max_model_bytes, "max-model-size")?;
    let load = || {
        let mut model = decode(&bytes)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        external::inline(&mut model, dir, limits, limits.max_model_bytes.saturating_sub(bytes.len() as u64))?;
        graph::translate(&model, limits)
    };
    load().map_err(|e| e.with_path(path))
}

/// The model message of ONNX bytes.
fn decode(bytes: &[u8]) -> Result<pb::ModelProto> {
    pb::ModelProto::decode(bytes).map_err(|e| Error::new(ErrorKind::Onnx, format!("not an ONNX model: {e}")))
}

/// Translate an ONNX model held in memory within the default [`LoadLimits`].
pub fn load_bytes(bytes: &[u8]) -> Result<Network> {
    load_bytes_with(bytes, &LoadLimits::default())
}

/// Translate an ONNX model held in memory within `limits` (all but the file
/// size apply). Any byte string gives a network or an error, never a panic.
/// A model with external data can only be loaded from its file
/// ([`load_with`]).
pub fn load_bytes_with(bytes: &[u8], limits: &LoadLimits) -> Result<Network> {
    graph::translate(&decode(bytes)?, limits)
}

/// The network as a serialized opset-13 ONNX model (float32 weights).
pub fn to_bytes(net: &Network) -> Vec<u8> {
    export::to_bytes(net)
}

/// Write the network to `path` as an ONNX model (see [`to_bytes`]).
pub fn save(net: &Network, path: &Path) -> Result<()> {
    std::fs::write(path, to_bytes(net)).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::test_graph::assert_close;
    use super::*;
    use crate::model::{Activation, Affine, Layer, Matrix};
    use std::path::PathBuf;

    fn model_path(file: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(file)
    }

    /// The MNIST test images of `tests/data/onnx_io.json` (see its comment).
    fn mnist_image(f: &serde_json::Value) -> Vec<f64> {
        let num = |k: &str| f[k].as_f64().unwrap();
        let pair = |k: &str| (f[k][0].as_f64().unwrap(), f[k][1].as_f64().unwrap());
        (0..784)
            .map(|i| {
                let (r, c) = ((i / 28) as f64, (i % 28) as f64);
                let inside = match f["shape"].as_str().unwrap() {
                    "ring" => {
                        let d2 = (r - num("cy")).powi(2) + (c - num("cx")).powi(2);
                        num("r0").powi(2) <= d2 && d2 <= num("r1").powi(2)
                    }
                    "rect" => {
                        let ((r0, r1), (c0, c1)) = (pair("rows"), pair("cols"));
                        r0 <= r && r <= r1 && c0 <= c && c <= c1
                    }
                    other => panic!("unknown image shape {other}"),
                };
                if inside {
                    0.5 + ((7 * i) % 16) as f64 / 32.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Our forward pass on the benchmark models matches onnxruntime's
    /// (float32) outputs, recorded once in `tests/data/onnx_io.json`.
    #[test]
    fn benchmark_models_match_onnxruntime() {
        let json_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx_io.json");
        let data: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
        let models = data["models"].as_array().unwrap();
        assert_eq!(models.len(), 3);
        for m in models {
            let file = m["file"].as_str().unwrap();
            let net = load(&model_path(file)).unwrap();
            for case in m["cases"].as_array().unwrap() {
                let x: Vec<f64> = match case.get("input") {
                    Some(v) => v.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect(),
                    None => mnist_image(&case["image"]),
                };
                let want: Vec<f64> = case["output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                assert_close(&net.forward(&x), &want, 1e-5);
            }
        }
    }

    #[test]
    fn benchmark_model_structure() {
        let acas = load(&model_path("ACASXU_run2a_1_1_batch_2000.onnx")).unwrap();
        assert_eq!((acas.input_dim(), acas.output_dim(), acas.layers().len()), (5, 5, 7));
        assert_eq!(acas.activation_neurons(), 300);
        let mnist = load(&model_path("mnist-net_256x2.onnx")).unwrap();
        assert_eq!((mnist.input_dim(), mnist.output_dim(), mnist.layers().len()), (784, 10, 3));
    }

    #[test]
    fn truncated_and_garbage_files() {
        let bytes = std::fs::read(model_path("ACASXU_run2a_1_1_batch_2000.onnx")).unwrap();
        assert_eq!(load_bytes(&bytes[..bytes.len() / 2]).unwrap_err().kind(), ErrorKind::Onnx);
        // A fixed pseudo-random byte string (64-bit LCG).
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        let garbage: Vec<u8> = (0..4096)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (s >> 56) as u8
            })
            .collect();
        assert_eq!(load_bytes(&garbage).unwrap_err().kind(), ErrorKind::Onnx);
        assert_eq!(load_bytes(&[]).unwrap_err().kind(), ErrorKind::Onnx);
    }

    #[test]
    fn load_errors_carry_the_path() {
        let missing = model_path("no_such_model.onnx");
        assert_eq!(load(&missing).unwrap_err().kind(), ErrorKind::Io);
        let dir = std::env::temp_dir().join(format!("reluverify-onnx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.onnx");
        std::fs::write(&bad, b"\xff\xff\xff").unwrap();
        let err = load(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
        assert!(err.to_string().contains("bad.onnx"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn layer(rows: usize, cols: usize, seed: f64, activation: Activation) -> Layer {
        let data = (0..rows * cols).map(|i| ((i as f64 + seed) * 0.7).sin()).collect();
        let bias = (0..rows).map(|i| ((i as f64 - seed) * 0.3).cos() * 0.1).collect();
        Layer { affine: Affine { weights: Matrix::new(rows, cols, data).unwrap(), bias }, activation }
    }

    /// Every activation kind survives `to_bytes` -> `load_bytes` up to f32
    /// rounding, including a network that ends with an activation.
    #[test]
    fn export_round_trip_every_activation() {
        let nets = [
            vec![layer(4, 3, 1.0, Activation::Relu), layer(2, 4, 2.0, Activation::Identity)],
            vec![layer(4, 3, 1.0, Activation::Leaky { slopes: vec![0.1; 4] }), layer(2, 4, 2.0, Activation::Identity)],
            vec![
                layer(3, 3, 3.0, Activation::Leaky { slopes: vec![0.1, -0.5, 2.0] }),
                layer(1, 3, 4.0, Activation::Identity),
            ],
            vec![layer(4, 3, 5.0, Activation::Clip { lo: -0.25, hi: 0.5 }), layer(2, 4, 6.0, Activation::Identity)],
            vec![
                layer(4, 3, 7.0, Activation::Clip { lo: f64::NEG_INFINITY, hi: 0.2 }),
                layer(2, 4, 8.0, Activation::Relu),
            ],
            vec![
                layer(4, 3, 9.0, Activation::Clip { lo: 0.0, hi: f64::INFINITY }),
                layer(2, 4, 1.5, Activation::Identity),
            ],
            vec![
                layer(3, 2, 2.5, Activation::Relu),
                layer(3, 3, 3.5, Activation::Relu),
                layer(1, 3, 4.5, Activation::Identity),
            ],
        ];
        for layers in nets {
            let net = Network::new(layers).unwrap();
            let back = load_bytes(&to_bytes(&net)).unwrap();
            assert_eq!(
                back.layers().len(),
                net.layers().len() + usize::from(net.layers().last().unwrap().activation != Activation::Identity)
            );
            for k in 0..20 {
                let x: Vec<f64> = (0..net.input_dim()).map(|i| ((k * 7 + i * 3) as f64 * 0.37).sin() * 2.0).collect();
                assert_close(&back.forward(&x), &net.forward(&x), 1e-5);
            }
        }
    }

    /// The output activation is written as the last node and read back,
    /// after a ReLU last layer too.
    #[test]
    fn export_round_trip_output_activations() {
        use crate::model::OutputActivation::*;
        for (act, last) in [
            (Softmax, Activation::Identity),
            (LogSoftmax, Activation::Relu),
            (Tanh, Activation::Identity),
            (Sigmoid, Activation::Relu),
        ] {
            let net = Network::new(vec![layer(4, 3, 1.0, Activation::Relu), layer(3, 4, 2.0, last)])
                .unwrap()
                .with_output_activation(Some(act));
            let back = load_bytes(&to_bytes(&net)).unwrap();
            assert_eq!(back.output_activation(), Some(act));
            for k in 0..20 {
                let x: Vec<f64> = (0..3).map(|i| ((k * 7 + i * 3) as f64 * 0.37).sin() * 2.0).collect();
                assert_close(&back.forward_activated(&x), &net.forward_activated(&x), 1e-5);
            }
        }
    }

    /// An identity hidden layer is folded into the next one on loading.
    #[test]
    fn export_identity_hidden_layer_folds() {
        let net = Network::new(vec![
            layer(3, 2, 1.0, Activation::Identity),
            layer(2, 3, 2.0, Activation::Relu),
            layer(1, 2, 3.0, Activation::Identity),
        ])
        .unwrap();
        let back = load_bytes(&to_bytes(&net)).unwrap();
        assert_eq!(back.layers().len(), 2);
        assert_close(&back.forward(&[0.3, -0.8]), &net.forward(&[0.3, -0.8]), 1e-5);
    }

    /// Writes the ONNX seed corpus of the fuzz target (`fuzz/seeds/onnx/`):
    /// small graphs that together use every supported operator, each checked
    /// to load first. Run by hand after changing the operator table:
    /// `cargo test --lib model::onnx::tests::write_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore]
    fn write_fuzz_seeds() {
        use super::test_graph::{attr_f, attr_i, attr_ints, attr_t, TestGraph};
        let seeds = [
            (
                "normalise_gemm_relu",
                TestGraph::new(13, &[-1, 2])
                    .init("mean", &[2], &[0.5, -0.5])
                    .init("std", &[2], &[2.0, 4.0])
                    .init("W", &[3, 2], &[1.0, -1.0, 0.5, 0.25, 2.0, 0.0])
                    .init("b", &[3], &[0.0, 1.0, -1.0])
                    .node("Sub", &["x", "mean"], "c", vec![])
                    .node("Div", &["c", "std"], "n", vec![])
                    .node("Gemm", &["n", "W", "b"], "z", vec![attr_i("transB", 1), attr_f("alpha", 0.5)])
                    .node("Relu", &["z"], "y", vec![]),
            ),
            (
                "flatten_reshape_matmul_add",
                TestGraph::new(13, &[1, 2, 2])
                    .init_i64("s", &[1, -1])
                    .init("W", &[4, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
                    .init("b", &[2], &[0.5, -0.5])
                    .node("Flatten", &["x"], "f", vec![attr_i("axis", 1)])
                    .node("Reshape", &["f", "s"], "r", vec![])
                    .node("MatMul", &["r", "W"], "m", vec![])
                    .node("Add", &["m", "b"], "a", vec![])
                    .node("LeakyRelu", &["a"], "y", vec![attr_f("alpha", 0.1)]),
            ),
            (
                "constant_squeeze_transpose_mul",
                TestGraph::new(11, &[1, 3])
                    .node("Constant", &[], "c", vec![attr_t("value", &[3], &[1.0, 2.0, 3.0])])
                    .node("Unsqueeze", &["c"], "c2", vec![attr_ints("axes", &[0])])
                    .node("Mul", &["x", "c2"], "p", vec![])
                    .node("Transpose", &["p"], "t", vec![attr_ints("perm", &[1, 0])])
                    .node("Squeeze", &["t"], "q", vec![attr_ints("axes", &[1])])
                    .node("Identity", &["q"], "i", vec![])
                    .node("Dropout", &["i"], "d", vec![])
                    .node("Clip", &["d"], "y", vec![attr_f("min", -1.0), attr_f("max", 1.0)]),
            ),
            (
                "batchnorm_prelu_clip",
                TestGraph::new(13, &[1, 2])
                    .init("scale", &[2], &[1.0, 2.0])
                    .init("bias", &[2], &[0.0, 0.5])
                    .init("mean", &[2], &[0.1, 0.2])
                    .init("var", &[2], &[1.0, 4.0])
                    .init("slope", &[2], &[0.1, 0.2])
                    .init("lo", &[], &[0.0])
                    .init("hi", &[], &[6.0])
                    .node("BatchNormalization", &["x", "scale", "bias", "mean", "var"], "n", vec![])
                    .node("PRelu", &["n", "slope"], "p", vec![])
                    .node("Clip", &["p", "lo", "hi"], "y", vec![]),
            ),
            ("view_flatten_abs_max", super::pytorch_patterns::view_flatten_max_abs()),
        ];
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/onnx");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, graph) in seeds {
            let bytes = prost::Message::encode_to_vec(&graph.output("y").model());
            load_bytes(&bytes).unwrap_or_else(|e| panic!("seed {name}: {e}"));
            std::fs::write(dir.join(format!("{name}.onnx")), bytes).unwrap();
        }
    }

    #[test]
    fn save_then_load() {
        let net =
            Network::new(vec![layer(2, 2, 1.0, Activation::Relu), layer(1, 2, 2.0, Activation::Identity)]).unwrap();
        let path = std::env::temp_dir().join(format!("reluverify-save-{}.onnx", std::process::id()));
        save(&net, &path).unwrap();
        let back = load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_close(&back.forward(&[1.0, -1.0]), &net.forward(&[1.0, -1.0]), 1e-5);
    }
}
