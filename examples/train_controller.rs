//! `train_controller`: train a small ReLU network to imitate an adaptive
//! cruise control (ACC) law with actuator saturation, save it as
//! `models/acc.onnx`, and verify its safety properties.
//!
//! The law is the constant time-gap policy: keep a gap of
//! `d_des = GAP_STANDSTILL + TIME_GAP * v` to the car ahead and command
//!
//! ```text
//! a = clamp(K_GAP * (d - d_des) + K_SPEED * dv, A_MIN, A_MAX)     (m/s^2)
//! ```
//!
//! from the gap `d` (m), the relative speed `dv = v_lead - v` (m/s, negative
//! when closing in) and the own speed `v` (m/s), with the engine and brakes
//! saturating at `A_MAX` and `A_MIN`. A 3 -> 8 -> 8 -> 1 ReLU network is
//! trained on random samples of the operating envelope: He initialisation,
//! Adam on minibatches of a mean squared error, a fixed seed, nothing but
//! f64 arithmetic, so every run writes the same file. Inputs and output are
//! scaled to about [-1, 1] for training; the scaling is folded into the first
//! and last layers before export, so the ONNX model reads and writes
//! physical units.
//!
//! The shipped properties (checked by `reluverify check` in
//! `examples/ci/safety-gate.yml`):
//!
//! * `specs/acc_limits.json`: over the whole envelope the command stays
//!   within what the actuators can do, [-4, 2.5] m/s^2;
//! * `specs/acc_closing.json`: when the gap is short and closing fast the
//!   controller never asks for acceleration (`a < 0`).
//!
//! `cargo run --release --example train_controller`

use std::path::{Path, PathBuf};

use reluverify::model::nnet::Normalisation;
use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network};
use reluverify::{spec, verify, Outcome, Rng, Settings};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Standstill gap of the time-gap policy, m.
const GAP_STANDSTILL: f64 = 5.0;
/// Time gap, s.
const TIME_GAP: f64 = 1.5;
/// Gain on the gap error, 1/s^2.
const K_GAP: f64 = 0.2;
/// Gain on the relative speed, 1/s.
const K_SPEED: f64 = 0.6;
/// Brake saturation of the law, m/s^2.
const A_MIN: f64 = -3.5;
/// Engine saturation of the law, m/s^2.
const A_MAX: f64 = 2.0;

/// The operating envelope, `(lower, upper)` per input: gap (m), relative
/// speed (m/s), own speed (m/s).
const ENVELOPE: [(f64, f64); 3] = [(5.0, 100.0), (-10.0, 10.0), (0.0, 35.0)];
/// Outputs are divided by this for training, so targets lie in [-1, 1].
const OUTPUT_SCALE: f64 = 4.0;
/// Layer sizes of the network.
const SIZES: [usize; 4] = [3, 8, 8, 1];

/// The trained model, relative to the crate root.
const MODEL: &str = "models/acc.onnx";
/// Its safety properties, relative to the crate root.
const SPECS: [&str; 2] = ["specs/acc_limits.json", "specs/acc_closing.json"];

/// Hyper-parameters of one training run.
#[derive(Debug, Clone, Copy)]
struct TrainConfig {
    /// Training samples drawn uniformly from the envelope.
    samples: usize,
    /// Passes over the samples.
    epochs: usize,
    /// Samples per Adam step.
    batch: usize,
    /// Adam step size at the start; it decays linearly to a hundredth.
    learning_rate: f64,
    /// Seed of initialisation, sampling and shuffling.
    seed: u64,
}

/// The run that produced `models/acc.onnx`.
const FULL: TrainConfig = TrainConfig { samples: 4096, epochs: 300, batch: 32, learning_rate: 3e-3, seed: 7 };

/// Adam's decay rate of the gradient mean (the usual default).
const ADAM_BETA1: f64 = 0.9;
/// Adam's decay rate of the squared gradient mean (the usual default).
const ADAM_BETA2: f64 = 0.999;
/// Keeps Adam's step finite where the squared gradient mean is ~0 (the usual default).
const ADAM_EPS: f64 = 1e-8;

/// The ACC law the network imitates; `x = [gap, relative speed, speed]`.
fn acc_law(x: &[f64]) -> f64 {
    let desired_gap = GAP_STANDSTILL + TIME_GAP * x[2];
    (K_GAP * (x[0] - desired_gap) + K_SPEED * x[1]).clamp(A_MIN, A_MAX)
}

/// The scaling used for training: each input's envelope onto [-1, 1], the
/// output divided by [`OUTPUT_SCALE`].
fn scaling() -> Normalisation {
    Normalisation {
        mins: ENVELOPE.iter().map(|e| e.0).collect(),
        maxs: ENVELOPE.iter().map(|e| e.1).collect(),
        means: ENVELOPE.iter().map(|e| 0.5 * (e.0 + e.1)).collect(),
        ranges: ENVELOPE.iter().map(|e| 0.5 * (e.1 - e.0)).collect(),
        output_mean: 0.0,
        output_range: OUTPUT_SCALE,
    }
}

/// A fully connected ReLU network being trained: every layer's weights
/// (row-major, `out x in`) and then its bias, all in one vector so that the
/// optimiser treats them alike. The last layer is linear.
struct Mlp {
    sizes: Vec<usize>,
    params: Vec<f64>,
}

impl Mlp {
    /// He initialisation (uniform form): weights from `U(-s, s)` with
    /// `s = sqrt(6 / fan_in)`, variance `2 / fan_in`; biases zero.
    fn he(sizes: &[usize], rng: &mut Rng) -> Mlp {
        let mut params = Vec::new();
        for w in sizes.windows(2) {
            let s = (6.0 / w[0] as f64).sqrt();
            params.extend((0..w[0] * w[1]).map(|_| rng.range(-s, s)));
            params.extend(std::iter::repeat_n(0.0, w[1]));
        }
        Mlp { sizes: sizes.to_vec(), params }
    }

    /// Offsets of each layer's weights and bias in `params`.
    fn offsets(&self) -> Vec<(usize, usize)> {
        let mut at = 0;
        self.sizes
            .windows(2)
            .map(|w| {
                let o = (at, at + w[0] * w[1]);
                at += w[0] * w[1] + w[1];
                o
            })
            .collect()
    }

    /// Every layer's output for input `x` (index 0 is `x` itself).
    fn forward(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let offsets = self.offsets();
        let mut acts = vec![x.to_vec()];
        for (k, w) in self.sizes.windows(2).enumerate() {
            let (wo, bo) = offsets[k];
            let last = k + 2 == self.sizes.len();
            let input = &acts[k];
            let out = (0..w[1])
                .map(|i| {
                    let row = &self.params[wo + i * w[0]..wo + (i + 1) * w[0]];
                    let z = self.params[bo + i] + row.iter().zip(input).map(|(a, b)| a * b).sum::<f64>();
                    if last {
                        z
                    } else {
                        z.max(0.0)
                    }
                })
                .collect();
            acts.push(out);
        }
        acts
    }

    /// Add the gradient of `0.5 * (output - target)^2` for one sample to `grad`.
    fn backward(&self, acts: &[Vec<f64>], target: f64, grad: &mut [f64]) {
        let offsets = self.offsets();
        // d loss / d pre-activation of the current layer.
        let mut delta = vec![acts[acts.len() - 1][0] - target];
        for k in (0..self.sizes.len() - 1).rev() {
            let (n_in, n_out) = (self.sizes[k], self.sizes[k + 1]);
            let (wo, bo) = offsets[k];
            let input = &acts[k];
            let mut back = vec![0.0; n_in];
            for i in 0..n_out {
                grad[bo + i] += delta[i];
                for j in 0..n_in {
                    grad[wo + i * n_in + j] += delta[i] * input[j];
                    back[j] += delta[i] * self.params[wo + i * n_in + j];
                }
            }
            // Through the ReLU of layer k - 1 (its output is `input`).
            delta = back.iter().zip(input).map(|(d, a)| if *a > 0.0 { *d } else { 0.0 }).collect();
        }
    }

    /// The network in the library's IR.
    fn to_network(&self) -> reluverify::Result<Network> {
        let offsets = self.offsets();
        let count = self.sizes.len() - 1;
        let layers = self
            .sizes
            .windows(2)
            .enumerate()
            .map(|(k, w)| {
                let (wo, bo) = offsets[k];
                let weights = Matrix::new(w[1], w[0], self.params[wo..bo].to_vec())?;
                let bias = self.params[bo..bo + w[1]].to_vec();
                let activation = if k + 1 == count { Activation::Identity } else { Activation::Relu };
                Ok(Layer { affine: Affine { weights, bias }, activation })
            })
            .collect::<reluverify::Result<Vec<_>>>()?;
        Network::new(layers)
    }
}

/// Adam: per-parameter step sizes from running moments of the gradient.
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    /// `ADAM_BETA1^t` and `ADAM_BETA2^t` after `t` steps, kept as running
    /// products (plain multiplications round the same way on every
    /// platform and optimisation level, so training is reproducible bit for bit).
    beta1_t: f64,
    beta2_t: f64,
}

impl Adam {
    fn new(n: usize) -> Adam {
        Adam { m: vec![0.0; n], v: vec![0.0; n], beta1_t: 1.0, beta2_t: 1.0 }
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64], lr: f64) {
        self.beta1_t *= ADAM_BETA1;
        self.beta2_t *= ADAM_BETA2;
        let (c1, c2) = (1.0 - self.beta1_t, 1.0 - self.beta2_t);
        for (((p, g), m), v) in params.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
            *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + ADAM_EPS);
        }
    }
}

/// Scaled training pairs drawn uniformly from the envelope.
fn samples(count: usize, rng: &mut Rng) -> Vec<(Vec<f64>, f64)> {
    let scale = scaling();
    (0..count)
        .map(|_| {
            let raw: Vec<f64> = ENVELOPE.iter().map(|&(lo, hi)| rng.range(lo, hi)).collect();
            (scale.normalise_input(&raw), scale.normalise_output(acc_law(&raw)))
        })
        .collect()
}

/// Mean squared error on scaled data.
fn mse(mlp: &Mlp, data: &[(Vec<f64>, f64)]) -> f64 {
    let squared = |e: f64| e * e;
    data.iter().map(|(x, t)| squared(mlp.forward(x).last().unwrap()[0] - t)).sum::<f64>() / data.len() as f64
}

/// What a training run produced.
struct Trained {
    mlp: Mlp,
    /// Scaled mean squared error on the training data, before training and after each epoch.
    losses: Vec<f64>,
}

fn train(config: &TrainConfig) -> Trained {
    let mut rng = Rng::new(config.seed);
    let mut mlp = Mlp::he(&SIZES, &mut rng);
    let data = samples(config.samples, &mut rng);
    let mut adam = Adam::new(mlp.params.len());
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut losses = vec![mse(&mlp, &data)];
    let mut grad = vec![0.0; mlp.params.len()];
    for epoch in 0..config.epochs {
        let lr = config.learning_rate * (1.0 - 0.99 * epoch as f64 / config.epochs as f64);
        // Fisher-Yates shuffle.
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for batch in order.chunks(config.batch) {
            grad.iter_mut().for_each(|g| *g = 0.0);
            for &i in batch {
                let (x, t) = &data[i];
                mlp.backward(&mlp.forward(x), *t, &mut grad);
            }
            grad.iter_mut().for_each(|g| *g /= batch.len() as f64);
            adam.step(&mut mlp.params, &grad, lr);
        }
        losses.push(mse(&mlp, &data));
    }
    Trained { mlp, losses }
}

/// The trained network in physical units: the training scaling folded into
/// its first and last layers.
fn physical_network(mlp: &Mlp) -> reluverify::Result<Network> {
    scaling().raw_input_network(&mlp.to_network()?)
}

/// The largest deviation from the ACC law (m/s^2) on a grid of `n + 1`
/// points per input over the envelope.
fn max_error(net: &Network, n: usize) -> f64 {
    let at = |i: usize, k: usize| ENVELOPE[k].0 + (ENVELOPE[k].1 - ENVELOPE[k].0) * i as f64 / n as f64;
    let mut worst: f64 = 0.0;
    for i in 0..=n {
        for j in 0..=n {
            for l in 0..=n {
                let x = [at(i, 0), at(j, 1), at(l, 2)];
                worst = worst.max((net.forward(&x)[0] - acc_law(&x)).abs());
            }
        }
    }
    worst
}

fn shipped(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Verify every shipped property on the model at `model`.
fn check_properties(model: &Path) -> Result<Vec<(&'static str, Outcome)>> {
    let net = onnx::load(model)?;
    SPECS
        .iter()
        .map(|s| {
            let (prop, _) = spec::load(&shipped(s))?;
            Ok((*s, verify(&net, &prop, &Settings::default())?))
        })
        .collect()
}

fn main() -> Result<()> {
    let trained = train(&FULL);
    for (epoch, loss) in trained.losses.iter().enumerate().step_by(50) {
        println!("epoch {epoch:>3}: rmse {:.4} m/s^2", loss.sqrt() * OUTPUT_SCALE);
    }
    let net = physical_network(&trained.mlp)?;
    let final_rmse = trained.losses.last().unwrap().sqrt() * OUTPUT_SCALE;
    println!("final rmse {final_rmse:.4} m/s^2, max error on a 21^3 grid {:.4} m/s^2", max_error(&net, 20));
    let path = shipped(MODEL);
    onnx::save(&net, &path)?;
    println!("wrote {MODEL}");
    for (spec, outcome) in check_properties(&path)? {
        println!(
            "{spec}: {} in {:.3} s ({} boxes, {} MILPs)",
            outcome.verdict.name(),
            outcome.stats.elapsed.as_secs_f64(),
            outcome.stats.boxes,
            outcome.stats.milps
        );
        if !matches!(outcome.verdict, reluverify::Verdict::Holds { .. }) {
            return Err(format!("{spec} does not hold for the trained model").into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reluverify::Verdict;

    #[test]
    fn a_short_run_reduces_the_loss() {
        let trained = train(&TrainConfig { samples: 256, epochs: 5, ..FULL });
        let (first, last) = (trained.losses[0], *trained.losses.last().unwrap());
        assert!(last < 0.5 * first, "loss {first} -> {last}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = Rng::new(1);
        let mut mlp = Mlp::he(&SIZES, &mut rng);
        // Non-zero biases so that no ReLU sits exactly at its kink.
        mlp.params.iter_mut().for_each(|p| *p += rng.range(-0.1, 0.1));
        let (x, t) = ([0.3, -0.7, 0.1], 0.25);
        let mut grad = vec![0.0; mlp.params.len()];
        mlp.backward(&mlp.forward(&x), t, &mut grad);
        let loss = |m: &Mlp| 0.5 * (m.forward(&x).last().unwrap()[0] - t).powi(2);
        let h = 1e-6;
        for p in (0..mlp.params.len()).step_by(7) {
            let saved = mlp.params[p];
            mlp.params[p] = saved + h;
            let up = loss(&mlp);
            mlp.params[p] = saved - h;
            let down = loss(&mlp);
            mlp.params[p] = saved;
            assert!(((up - down) / (2.0 * h) - grad[p]).abs() < 1e-6, "parameter {p}");
        }
    }

    #[test]
    fn ir_and_physical_networks_match_the_trainer() {
        let trained = train(&TrainConfig { samples: 64, epochs: 1, ..FULL });
        let (ir, physical) = (trained.mlp.to_network().unwrap(), physical_network(&trained.mlp).unwrap());
        let scale = scaling();
        for x in [[10.0, -5.0, 20.0], [80.0, 3.0, 5.0], [50.0, 0.0, 30.0]] {
            let xs = scale.normalise_input(&x);
            let y = trained.mlp.forward(&xs).last().unwrap()[0];
            assert!((ir.forward(&xs)[0] - y).abs() < 1e-12);
            assert!((physical.forward(&x)[0] - y * OUTPUT_SCALE).abs() < 1e-9);
        }
    }

    #[test]
    fn training_reproduces_the_shipped_model() {
        // Compared as loaded networks (weights rounded to f32 as in the file),
        // so a change of the exporter's graph layout alone does not matter.
        let trained = onnx::load_bytes(&onnx::to_bytes(&physical_network(&train(&FULL).mlp).unwrap())).unwrap();
        let shipped = onnx::load(&shipped(MODEL)).unwrap();
        assert!(trained == shipped, "{MODEL} differs from what the trainer writes: rerun the example");
    }

    #[test]
    fn shipped_model_imitates_the_law_and_meets_its_properties() {
        let path = shipped(MODEL);
        let net = onnx::load(&path).unwrap();
        // Independent of the verifier: the model follows the law on a grid.
        assert!(max_error(&net, 10) < 0.25);
        for (spec, outcome) in check_properties(&path).unwrap() {
            assert!(matches!(outcome.verdict, Verdict::Holds { .. }), "{spec}: {}", outcome.verdict.name());
        }
    }
}
