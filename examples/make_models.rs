//! Regenerate the small hand-built models shipped in `models/`:
//! `cargo run --example make_models`.
//!
//! * `abs.onnx`: |x| = relu(x) + relu(-x), two ReLU neurons.

use std::path::Path;

use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network};

fn main() -> Result<(), reluverify::Error> {
    let abs = Network::new(vec![
        Layer {
            affine: Affine { weights: Matrix::new(2, 1, vec![1.0, -1.0])?, bias: vec![0.0, 0.0] },
            activation: Activation::Relu,
        },
        Layer {
            affine: Affine { weights: Matrix::new(1, 2, vec![1.0, 1.0])?, bias: vec![0.0] },
            activation: Activation::Identity,
        },
    ])?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    onnx::save(&abs, &dir.join("abs.onnx"))?;
    println!("wrote {}", dir.join("abs.onnx").display());
    Ok(())
}
