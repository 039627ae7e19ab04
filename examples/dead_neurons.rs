//! `dead_neurons`: neurons that never fire on the input domain ("dying
//! ReLU") are proved dead by the bounds, pruned, and the pruned network is
//! verified equivalent to the original on that domain.
//!
//! A ReLU neuron whose pre-activation upper bound over the domain is `<= 0`
//! outputs 0 for every input there, so removing it (its row, and its column
//! in the next layer) changes nothing on the domain. More generally any
//! neuron whose output the bounds pin to one value `c` can be removed after
//! adding `c` times its outgoing weights to the next layer's bias.
//!
//! Equivalence is itself a property: a two-copy network runs the original
//! and the pruned network side by side on the same input and outputs their
//! difference, and "|difference| >= EQUIV_TOL" is proved unreachable. On a
//! larger box, where some of the pruned neurons do fire, the same property
//! is violated and the verifier shows where.
//!
//! Interval bounds see some dead neurons; symbolic bounds see one more,
//! whose inputs cancel (`2 relu(x0 + 0.5) - relu(2 x0 + 1) - 0.1 = -0.1`).
//!
//! `cargo run --release --example dead_neurons`

use reluverify::bounds::{self, BoundMethod, NetworkBounds};
use reluverify::model::matrix::Row;
use reluverify::model::{Activation, Affine, Layer, Matrix, Network};
use reluverify::spec::{json, InputBox, Property};
use reluverify::{verify, Outcome, Settings, Verdict};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The equivalence claim allows the two networks to differ by this much.
/// The true difference on the domain is 0 (or f64 rounding, ~1e-16); the
/// tolerance must exceed the verifier's `UNSAFE_RELAX` (1e-6) and leave
/// room for the MILP solver's feasibility tolerance times the big-M
/// constants (bounds here are below 10).
const EQUIV_TOL: f64 = 1e-4;

fn layer(rows: usize, cols: usize, w: Vec<f64>, b: Vec<f64>, activation: Activation) -> reluverify::Result<Layer> {
    Ok(Layer { affine: Affine { weights: Matrix::new(rows, cols, w)?, bias: b }, activation })
}

/// A 2 -> 6 -> 4 -> 1 ReLU network meant for inputs in [0, 1]^2, where
/// neurons 2 and 4 of layer 0 and neurons 1 and 2 of layer 1 never fire.
fn network() -> reluverify::Result<Network> {
    #[rustfmt::skip]
    let first = layer(6, 2, vec![
        1.0, 1.0,    // x0 + x1 - 0.5
        1.0, -1.0,   // x0 - x1
        -1.0, -1.0,  // -x0 - x1 - 0.2 <= -0.2: dead
        1.0, 0.0,    // x0 + 0.5 >= 0.5: always active
        0.5, 0.0,    // 0.5 x0 - 2 <= -1.5: dead
        2.0, 0.0,    // 2 x0 + 1 >= 1: always active
    ], vec![-0.5, 0.0, -0.2, 0.5, -2.0, 1.0], Activation::Relu)?;
    #[rustfmt::skip]
    let second = layer(4, 6, vec![
        1.0, 1.0, 0.0, 0.0, 0.0, 0.0,     // h0 + h1 - 0.3
        0.0, 0.0, 0.0, 2.0, 0.0, -1.0,    // 2 h3 - h5 - 0.1 = -0.1: dead (symbolic bounds)
        -1.0, 0.0, 0.0, -1.0, 0.0, 0.0,   // -h0 - h3 - 0.1 <= -0.6: dead
        1.0, -1.0, 0.5, 0.0, 1.0, 0.0,    // h0 - h1 + 0.5 h2 + h4 + 0.2
    ], vec![-0.3, -0.1, -0.1, 0.2], Activation::Relu)?;
    let output = layer(1, 4, vec![1.0, 3.0, -1.0, 1.0], vec![0.0], Activation::Identity)?;
    Network::new(vec![first, second, output])
}

/// The domain [0, 1]^2 on which the network is pruned.
fn domain() -> reluverify::Result<InputBox> {
    InputBox::new(vec![0.0; 2], vec![1.0; 2])
}

/// Per hidden layer, each neuron's constant output on the box, or `None`
/// when the bounds do not pin it to one value.
fn constant_neurons(net: &Network, nb: &NetworkBounds) -> Vec<Vec<Option<f64>>> {
    let hidden = net.layers().len() - 1;
    net.layers()[..hidden]
        .iter()
        .zip(&nb.layers)
        .map(|(layer, b)| {
            (0..layer.output_dim())
                .map(|i| {
                    let (lo, hi) = layer.activation.interval_image(i, b.lower[i], b.upper[i]);
                    (lo == hi).then_some(lo)
                })
                .collect()
        })
        .collect()
}

/// `act` restricted to the neurons `keep` (only Leaky carries per-neuron data).
fn keep_activation(act: &Activation, keep: &[usize]) -> Activation {
    match act {
        Activation::Leaky { slopes } => Activation::Leaky { slopes: keep.iter().map(|&i| slopes[i]).collect() },
        other => other.clone(),
    }
}

/// Remove every neuron with a constant output, folding the constant into
/// the next layer's bias.
fn prune(net: &Network, constants: &[Vec<Option<f64>>]) -> reluverify::Result<Network> {
    let mut layers = Vec::with_capacity(net.layers().len());
    // Neurons of the previous layer that stay, and what the removed ones output.
    let mut prev_keep: Vec<usize> = (0..net.input_dim()).collect();
    let mut prev_const: Vec<(usize, f64)> = Vec::new();
    for (k, layer) in net.layers().iter().enumerate() {
        let keep: Vec<usize> = match constants.get(k) {
            Some(c) => (0..layer.output_dim()).filter(|&i| c[i].is_none()).collect(),
            None => (0..layer.output_dim()).collect(),
        };
        let w = &layer.affine.weights;
        let data = keep.iter().flat_map(|&i| prev_keep.iter().map(move |&j| w.get(i, j))).collect();
        let bias = keep
            .iter()
            .map(|&i| layer.affine.bias[i] + prev_const.iter().map(|&(j, c)| w.get(i, j) * c).sum::<f64>())
            .collect();
        layers.push(Layer {
            affine: Affine { weights: Matrix::new(keep.len(), prev_keep.len(), data)?, bias },
            activation: keep_activation(&layer.activation, &keep),
        });
        prev_const = constants
            .get(k)
            .map_or(Vec::new(), |c| c.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect());
        prev_keep = keep;
    }
    Network::new(layers)
}

/// The activations of two layers side by side.
fn stack_activations(a: &Activation, b: &Activation) -> Result<Activation> {
    match (a, b) {
        (Activation::Leaky { slopes: sa }, Activation::Leaky { slopes: sb }) => {
            Ok(Activation::Leaky { slopes: [sa.clone(), sb.clone()].concat() })
        }
        _ if a == b => Ok(a.clone()),
        _ => Err(format!("cannot put a {} layer beside a {} layer", a.name(), b.name()).into()),
    }
}

/// A network computing `a(x) - b(x)`: both networks run side by side on the
/// same input (first layers stacked, later layers block-diagonal) and the
/// last layer subtracts their outputs. Both must have the same depth and
/// output size.
fn difference_network(a: &Network, b: &Network) -> Result<Network> {
    if a.layers().len() != b.layers().len() || a.output_dim() != b.output_dim() {
        return Err("the two networks need the same depth and output size".into());
    }
    let last = a.layers().len() - 1;
    let mut layers = Vec::new();
    for (k, (la, lb)) in a.layers().iter().zip(b.layers()).enumerate() {
        let (wa, wb) = (&la.affine.weights, &lb.affine.weights);
        // The first layer reads the shared input; later ones read a's neurons, then b's.
        let (cols, b_offset) = if k == 0 { (wa.cols(), 0) } else { (wa.cols() + wb.cols(), wa.cols()) };
        let place = |row: Row<'_>, offset: usize, sign: f64, out: &mut [f64]| {
            for (j, v) in row.iter() {
                out[offset + j] += sign * v;
            }
        };
        let layer = if k == last {
            let mut data = vec![0.0; wa.rows() * cols];
            for (i, out) in data.chunks_mut(cols).enumerate() {
                place(wa.row(i), 0, 1.0, out);
                place(wb.row(i), b_offset, -1.0, out);
            }
            let bias = la.affine.bias.iter().zip(&lb.affine.bias).map(|(x, y)| x - y).collect();
            Layer {
                affine: Affine { weights: Matrix::new(wa.rows(), cols, data)?, bias },
                activation: Activation::Identity,
            }
        } else {
            let rows = wa.rows() + wb.rows();
            let mut data = vec![0.0; rows * cols];
            for (i, out) in data.chunks_mut(cols).enumerate() {
                if i < wa.rows() {
                    place(wa.row(i), 0, 1.0, out);
                } else {
                    place(wb.row(i - wa.rows()), b_offset, 1.0, out);
                }
            }
            let bias = [la.affine.bias.clone(), lb.affine.bias.clone()].concat();
            let activation = stack_activations(&la.activation, &lb.activation)?;
            Layer { affine: Affine { weights: Matrix::new(rows, cols, data)?, bias }, activation }
        };
        layers.push(layer);
    }
    Ok(Network::new(layers)?)
}

/// "On `input`, |original - pruned| < EQUIV_TOL" as a property of the difference network.
fn equivalence(input: &InputBox) -> reluverify::Result<Property> {
    let inputs: Vec<String> =
        input.lower.iter().zip(&input.upper).map(|(l, u)| format!(r#"{{"lower": {l}, "upper": {u}}}"#)).collect();
    json::parse(&format!(
        r#"{{"inputs": [{}], "outputs": ["diff"], "unsafe": {{"any": ["diff >= {EQUIV_TOL}", "diff <= -{EQUIV_TOL}"]}}}}"#,
        inputs.join(", ")
    ))
}

/// What the example finds.
struct Report {
    /// Per bound method, the dead (constant) neurons of each hidden layer,
    /// and the library's count of inactive neurons per hidden layer
    /// (`bounds::layer_report`, what `reluverify bounds` prints).
    dead: Vec<(BoundMethod, Vec<Vec<usize>>, Vec<usize>)>,
    /// The pruned network (pruned with symbolic bounds).
    pruned: Network,
    /// Equivalence on the domain.
    on_domain: Outcome,
    /// Equivalence on the larger box [-1, 1]^2.
    outside: Outcome,
}

fn run() -> Result<Report> {
    let net = network()?;
    let domain = domain()?;
    let mut dead = Vec::new();
    let mut constants = Vec::new();
    for method in [BoundMethod::Interval, BoundMethod::Symbolic] {
        let nb = reluverify::search::neuron_bounds::compute(&net, &domain, method);
        let c = constant_neurons(&net, &nb);
        let ids = c.iter().map(|l| (0..l.len()).filter(|&i| l[i].is_some()).collect()).collect();
        let inactive = bounds::layer_report(&net, &nb)[..c.len()].iter().map(|r| r.inactive).collect();
        dead.push((method, ids, inactive));
        constants = c;
    }
    let pruned = prune(&net, &constants)?;
    let diff = difference_network(&net, &pruned)?;
    let settings = Settings::default();
    let on_domain = verify(&diff, &equivalence(&domain)?, &settings)?;
    let outside = verify(&diff, &equivalence(&InputBox::new(vec![-1.0; 2], vec![1.0; 2])?)?, &settings)?;
    Ok(Report { dead, pruned, on_domain, outside })
}

/// Equivalence holds on the domain and fails outside it (by `main` and the tests).
fn confirm(report: &Report) -> Result<()> {
    if !matches!(report.on_domain.verdict, Verdict::Holds { .. }) {
        return Err("the pruned network was not proved equivalent on the domain".into());
    }
    if !matches!(report.outside.verdict, Verdict::Violated { .. }) {
        return Err("outside the domain the pruned network should differ".into());
    }
    Ok(())
}

fn sizes(net: &Network) -> String {
    let mut s = net.input_dim().to_string();
    for l in net.layers() {
        s += &format!(" -> {}", l.output_dim());
    }
    s
}

fn describe(outcome: &Outcome, original: &Network, pruned: &Network) -> String {
    match &outcome.verdict {
        Verdict::Holds { proved_by } => format!("holds (proved by {})", proved_by.name()),
        Verdict::Violated { witness } => {
            let x = witness.input();
            format!(
                "violated: x = ({:.3}, {:.3}) gives original {:.4}, pruned {:.4}",
                x[0],
                x[1],
                original.forward(x)[0],
                pruned.forward(x)[0]
            )
        }
        Verdict::Unknown { reason } => format!("unknown: {reason}"),
    }
}

fn main() -> Result<()> {
    let net = network()?;
    let report = run()?;
    println!("network {} (ReLU), domain [0, 1]^2", sizes(&net));
    for (method, dead, inactive) in &report.dead {
        let layers: Vec<String> = dead.iter().enumerate().map(|(k, ids)| format!("layer {k} {ids:?}")).collect();
        let method = format!("{method:?}").to_lowercase();
        println!("dead by {method} bounds: {} (inactive per layer: {inactive:?})", layers.join(", "));
    }
    println!("pruned network {}", sizes(&report.pruned));
    println!("|original - pruned| < {EQUIV_TOL} on [0, 1]^2:  {}", describe(&report.on_domain, &net, &report.pruned));
    println!("|original - pruned| < {EQUIV_TOL} on [-1, 1]^2: {}", describe(&report.outside, &net, &report.pruned));
    confirm(&report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_neurons_are_found_pruned_and_the_pruned_network_is_equivalent() {
        let report = run().unwrap();
        assert_eq!(report.dead[0].1, vec![vec![2, 4], vec![2]], "interval");
        assert_eq!(report.dead[1].1, vec![vec![2, 4], vec![1, 2]], "symbolic");
        for (method, dead, inactive) in &report.dead {
            let counts: Vec<usize> = dead.iter().map(Vec::len).collect();
            assert_eq!(&counts, inactive, "{method:?}: the bounds report agrees");
        }
        assert_eq!(sizes(&report.pruned), "2 -> 4 -> 2 -> 1");
        confirm(&report).unwrap();
        // Outside the domain a pruned neuron fires: the counterexample is real for both networks.
        let net = network().unwrap();
        match &report.outside.verdict {
            Verdict::Violated { witness } => {
                let x = witness.input();
                assert!((net.forward(x)[0] - report.pruned.forward(x)[0]).abs() >= EQUIV_TOL);
                assert!(!domain().unwrap().contains(x));
            }
            v => panic!("outside the domain: {}", v.name()),
        }
    }

    #[test]
    fn pruned_and_difference_networks_agree_with_forward_passes_on_a_grid() {
        let net = network().unwrap();
        let pruned = run().unwrap().pruned;
        let diff = difference_network(&net, &pruned).unwrap();
        let n = 50;
        for i in 0..=n {
            for j in 0..=n {
                // The grid covers [-1, 1]^2; on the domain the two networks agree exactly.
                let x = [-1.0 + 2.0 * i as f64 / n as f64, -1.0 + 2.0 * j as f64 / n as f64];
                let (a, b) = (net.forward(&x)[0], pruned.forward(&x)[0]);
                assert!((diff.forward(&x)[0] - (a - b)).abs() < 1e-12);
                if domain().unwrap().contains(&x) {
                    assert_eq!(a, b, "{x:?}");
                }
            }
        }
    }
}
