//! `clipped`: a clipped-ReLU (ReLU6) network, and how many binaries each kind
//! of neuron costs the MILP.
//!
//! ReLU6 is `clip(z, 0, 6) = relu(z) - relu(z - 6)`: two kinks. Over a
//! neuron's pre-activation bounds `[l, u]` it is of one of four kinds:
//!
//! * stable (no kink strictly inside): linear, constant 0 or constant 6;
//!   no binary;
//! * only the lower kink inside (`l < 0 < u <= 6`): one binary;
//! * only the upper kink inside (`0 <= l < 6 < u`): one binary;
//! * both kinks inside (`l < 0` and `6 < u`): two binaries, plus the cut
//!   `d_hi <= d_lo`.
//!
//! A plain ReLU neuron costs one binary when unstable. The example builds a
//! network with a ReLU6 layer designed to hold every kind, a second ReLU6
//! layer and a ReLU layer, computes bounds with each method, classifies
//! every neuron from its bounds, counts the binaries the encoding
//! (`reluverify::milp::encode`) actually creates per neuron, and then
//! verifies an output bound.
//!
//! `cargo run --release --example clipped`

use reluverify::bounds::{BoundMethod, NetworkBounds};
use reluverify::milp::encode::encode;
use reluverify::model::{Activation, Affine, Layer, Matrix, Network};
use reluverify::spec::{json, InputBox};
use reluverify::{verify, Outcome, Settings};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Every input ranges over [-1, 1].
const INPUT_RADIUS: f64 = 1.0;

/// The ReLU6 activation.
const RELU6: Activation = Activation::Clip { lo: 0.0, hi: 6.0 };

/// What the bounds say about one neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    /// No kink strictly inside its bounds.
    Stable,
    /// ReLU with 0 inside, or ReLU6 with only its lower kink inside.
    LowerKink,
    /// ReLU6 with only its upper kink inside.
    UpperKink,
    /// ReLU6 with both kinks inside.
    BothKinks,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Stable, Kind::LowerKink, Kind::UpperKink, Kind::BothKinks];

    fn name(self) -> &'static str {
        match self {
            Kind::Stable => "stable",
            Kind::LowerKink => "lower kink",
            Kind::UpperKink => "upper kink",
            Kind::BothKinks => "both kinks",
        }
    }

    /// Binaries the encoding needs for a neuron of this kind.
    fn binaries(self) -> usize {
        match self {
            Kind::Stable => 0,
            Kind::LowerKink | Kind::UpperKink => 1,
            Kind::BothKinks => 2,
        }
    }

    /// The kind of neuron `i` with activation `act` and bounds `[l, u]`.
    fn of(act: &Activation, i: usize, l: f64, u: f64) -> Kind {
        let hinges = act.hinges(i);
        let inside: Vec<bool> = hinges.terms().iter().map(|h| l < h.at && h.at < u).collect();
        match inside[..] {
            [true] | [true, false] => Kind::LowerKink,
            [false, true] => Kind::UpperKink,
            [true, true] => Kind::BothKinks,
            _ => Kind::Stable,
        }
    }
}

fn layer(rows: usize, cols: usize, w: Vec<f64>, b: Vec<f64>, activation: Activation) -> reluverify::Result<Layer> {
    Ok(Layer { affine: Affine { weights: Matrix::new(rows, cols, w)?, bias: b }, activation })
}

/// Two inputs, a ReLU6 layer whose neurons are of every kind on [-1, 1]^2,
/// a second ReLU6 layer, a ReLU layer and one output. No bias puts a kink
/// exactly on a bound, where padding would make the count ambiguous.
fn clipped_network() -> reluverify::Result<Network> {
    #[rustfmt::skip]
    let first = layer(6, 2, vec![
        5.0, 0.0,   // 5 x0 + 3 in [-2, 8]: both kinks
        2.0, 0.0,   // 2 x0 + 1 in [-1, 3]: lower kink
        0.0, 2.0,   // 2 x1 + 6 in [4, 8]: upper kink
        1.0, 0.0,   // x0 + 3 in [2, 4]: linear
        0.0, 1.0,   // x1 - 3 in [-4, -2]: constant 0
        1.0, 0.0,   // x0 + 9 in [8, 10]: constant 6
    ], vec![3.0, 1.0, 6.0, 3.0, -3.0, 9.0], RELU6)?;
    #[rustfmt::skip]
    let second = layer(4, 6, vec![
        1.0, -1.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 1.0, 1.0, 0.0, 0.0,
        1.0, 0.0, 0.0, 1.0, 0.0, 0.0,
        0.0, 1.0, 0.0, 0.0, 1.0, 0.5,
    ], vec![0.3, -3.3, -3.3, -4.3], RELU6)?;
    #[rustfmt::skip]
    let third = layer(2, 4, vec![
        1.0, -1.0, 0.5, 0.0,
        -0.5, 0.0, 1.0, -1.0,
    ], vec![0.7, 0.2], Activation::Relu)?;
    let output = layer(1, 2, vec![1.0, -1.0], vec![0.0], Activation::Identity)?;
    Network::new(vec![first, second, third, output])
}

/// Neuron counts and binaries per layer and kind, under one bound method.
struct Census {
    method: BoundMethod,
    /// `counts[layer][kind]`: neurons of that kind, from the bounds.
    counts: Vec<[usize; 4]>,
    /// `encoded[layer][kind]`: binaries the encoding created for those neurons.
    encoded: Vec<[usize; 4]>,
    /// Total binaries reported by the encoding.
    total_binaries: usize,
}

/// Classify every hidden neuron and count the binaries `encode` gives it,
/// read from the names of the binary variables (`d_L_i`, `d_L_i_lo`, `d_L_i_hi`).
fn census(net: &Network, input: &InputBox, method: BoundMethod) -> Census {
    let nb: NetworkBounds = reluverify::search::neuron_bounds::compute(net, input, method);
    let enc = encode(net, input, &nb);
    let hidden = net.layers().len() - 1;
    let mut per_neuron: Vec<Vec<usize>> = net.layers()[..hidden].iter().map(|l| vec![0; l.output_dim()]).collect();
    for var in enc.milp.vars.iter().filter(|v| v.integer) {
        let mut parts = var.name.trim_start_matches("d_").split('_');
        let k: usize = parts.next().and_then(|s| s.parse().ok()).expect("binary named d_L_i");
        let i: usize = parts.next().and_then(|s| s.parse().ok()).expect("binary named d_L_i");
        per_neuron[k][i] += 1;
    }
    let mut counts = vec![[0; 4]; hidden];
    let mut encoded = vec![[0; 4]; hidden];
    for (k, layer) in net.layers()[..hidden].iter().enumerate() {
        for (i, binaries) in per_neuron[k].iter().enumerate() {
            let kind = Kind::of(&layer.activation, i, nb.layers[k].lower[i], nb.layers[k].upper[i]);
            counts[k][kind as usize] += 1;
            encoded[k][kind as usize] += binaries;
        }
    }
    Census { method, counts, encoded, total_binaries: enc.stats.binaries }
}

fn input_box() -> reluverify::Result<InputBox> {
    InputBox::new(vec![-INPUT_RADIUS; 2], vec![INPUT_RADIUS; 2])
}

/// The output stays below this on [-1, 1]^2 (its maximum is 0.25, at
/// `x = (0.6, -1)` among others).
const OUTPUT_BOUND: f64 = 0.3;

/// Prove `y < OUTPUT_BOUND` on [-1, 1]^2.
fn verify_output_bound(net: &Network) -> reluverify::Result<Outcome> {
    let prop = json::parse(&format!(
        r#"{{"inputs": [{{"lower": -1, "upper": 1}}, {{"lower": -1, "upper": 1}}], "unsafe": "y0 >= {OUTPUT_BOUND}"}}"#
    ))?;
    verify(net, &prop, &Settings::default())
}

fn run() -> Result<(Vec<Census>, Outcome)> {
    let net = clipped_network()?;
    let input = input_box()?;
    let censuses = [BoundMethod::Interval, BoundMethod::Symbolic, BoundMethod::Lp]
        .into_iter()
        .map(|m| census(&net, &input, m))
        .collect();
    Ok((censuses, verify_output_bound(&net)?))
}

fn main() -> Result<()> {
    let net = clipped_network()?;
    let (censuses, outcome) = run()?;
    println!("network 2 -> 6 ReLU6 -> 4 ReLU6 -> 2 ReLU -> 1 on [-1, 1]^2");
    let kinds: Vec<String> = Kind::ALL.iter().map(|k| format!("{} {}", k.name(), k.binaries())).collect();
    println!("binaries per neuron: {}", kinds.join(", "));
    println!(
        "{:<9} {:<5} {:<6} {:>6} {:>6} {:>6} {:>6} {:>9}",
        "bounds", "layer", "act", "stable", "lower", "upper", "both", "binaries"
    );
    for c in &censuses {
        for (k, (counts, encoded)) in c.counts.iter().zip(&c.encoded).enumerate() {
            let act = &net.layers()[k].activation;
            let name = if *act == RELU6 { "relu6" } else { act.name() };
            let binaries: usize = Kind::ALL.iter().map(|kind| counts[*kind as usize] * kind.binaries()).sum();
            let [stable, lower, upper, both] = counts;
            let method = format!("{:?}", c.method).to_lowercase();
            println!("{method:<9} {k:<5} {name:<6} {stable:>6} {lower:>6} {upper:>6} {both:>6} {binaries:>9}");
            if encoded.iter().sum::<usize>() != binaries {
                return Err(format!("layer {k}: the encoding has {encoded:?} binaries per kind").into());
            }
        }
        println!("{:<9} total binaries in the encoding: {}", "", c.total_binaries);
    }
    println!("verify y < {OUTPUT_BOUND} on [-1, 1]^2: {}", outcome.verdict.name());
    println!(
        "  {} boxes, {} MILPs, largest MILP {} binaries",
        outcome.stats.boxes, outcome.stats.milps, outcome.stats.binaries
    );
    match outcome.verdict {
        reluverify::Verdict::Holds { .. } => Ok(()),
        _ => Err("the output bound should hold".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reluverify::Verdict;

    #[test]
    fn encoding_spends_binaries_per_kind() {
        let (censuses, outcome) = run().unwrap();
        for c in &censuses {
            let mut total = 0;
            for (counts, encoded) in c.counts.iter().zip(&c.encoded) {
                for kind in Kind::ALL {
                    assert_eq!(encoded[kind as usize], counts[kind as usize] * kind.binaries(), "{:?}", c.method);
                    total += encoded[kind as usize];
                }
            }
            assert_eq!(total, c.total_binaries);
            // The first layer is exact under every method, one neuron of each ReLU6 kind plus two
            // more stable ones, as designed by hand.
            assert_eq!(c.counts[0], [3, 1, 1, 1], "{:?}", c.method);
        }
        // Tighter bounds never cost more binaries.
        assert!(censuses.windows(2).all(|w| w[1].total_binaries <= w[0].total_binaries));
        assert!(matches!(outcome.verdict, Verdict::Holds { .. }));
    }

    #[test]
    fn output_bound_agrees_with_a_dense_grid() {
        // Independent of the verifier: the maximum over a fine grid is 0.25, below the bound.
        let net = clipped_network().unwrap();
        let n = 200;
        let max = (0..=n)
            .flat_map(|i| (0..=n).map(move |j| (i, j)))
            .map(|(i, j)| net.forward(&[-1.0 + 2.0 * i as f64 / n as f64, -1.0 + 2.0 * j as f64 / n as f64])[0])
            .fold(f64::NEG_INFINITY, f64::max);
        assert!((0.25..OUTPUT_BOUND).contains(&max), "{max}");
    }
}
