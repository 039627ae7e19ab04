//! Regenerate the small hand-built models shipped in `models/` and
//! `tests/data/`: `cargo run --example make_models`.
//!
//! * `models/abs.onnx`: |x| = relu(x) + relu(-x), two ReLU neurons.
//! * `tests/data/softmax_classifier.onnx`: three classes of points `x` in
//!   `[0, 1]^2`, ending in `Softmax`. Hidden `h = relu(x0 - x1, x1 - x0,
//!   x0 + x1)`, logits `z0 = 1 - h2` (near the origin), `z1 = h0 - h1`
//!   (below the diagonal), `z2 = h1 - h0` (above it).
//! * `tests/data/tanh_controller.onnx`: a controller of inputs (position,
//!   velocity) in `[-1, 1]^2` whose two actions are squashed by `Tanh`.
//!   Hidden `h = relu(x0, -x0, x1, -x1, x0 + x1 - 0.5)`, logits
//!   `z0 = -2 x0 - x1 + 0.5 - relu(x0 + x1 - 0.5)` (throttle) and
//!   `z1 = x0 - x1` (steering).
//!
//! The weights are small integers and halves, exact in the float32 the
//! exporter writes, so the hand-worked answers of the tests hold exactly.

use std::path::Path;

use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network, OutputActivation};

/// A layer `W x + b` (`W` row-major, `rows x cols`) with `activation`.
fn layer(rows: usize, cols: usize, w: &[f64], b: &[f64], activation: Activation) -> reluverify::Result<Layer> {
    Ok(Layer { affine: Affine { weights: Matrix::new(rows, cols, w.to_vec())?, bias: b.to_vec() }, activation })
}

fn main() -> Result<(), reluverify::Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let abs = Network::new(vec![
        layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Relu)?,
        layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity)?,
    ])?;
    let classifier = Network::new(vec![
        layer(3, 2, &[1.0, -1.0, -1.0, 1.0, 1.0, 1.0], &[0.0; 3], Activation::Relu)?,
        layer(3, 3, &[0.0, 0.0, -1.0, 1.0, -1.0, 0.0, -1.0, 1.0, 0.0], &[1.0, 0.0, 0.0], Activation::Identity)?,
    ])?
    .with_output_activation(Some(OutputActivation::Softmax));
    #[rustfmt::skip]
    let hidden = [
        1.0, 0.0,
        -1.0, 0.0,
        0.0, 1.0,
        0.0, -1.0,
        1.0, 1.0,
    ];
    let controller = Network::new(vec![
        layer(5, 2, &hidden, &[0.0, 0.0, 0.0, 0.0, -0.5], Activation::Relu)?,
        layer(2, 5, &[-2.0, 2.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 0.0], &[0.5, 0.0], Activation::Identity)?,
    ])?
    .with_output_activation(Some(OutputActivation::Tanh));
    for (net, path) in [
        (&abs, "models/abs.onnx"),
        (&classifier, "tests/data/softmax_classifier.onnx"),
        (&controller, "tests/data/tanh_controller.onnx"),
    ] {
        onnx::save(net, &root.join(path))?;
        println!("wrote {path}");
    }
    Ok(())
}
