//! `acasxu`: ACAS Xu property 1 (holds) and property 2 (violated), with the
//! counterexample printed in the original units.
//!
//! The ACAS Xu networks advise an aircraft how to avoid an intruder. They
//! read five normalised inputs and give five normalised scores, one per
//! advisory (the lowest score wins). The properties in `specs/` are stated on
//! normalised values; the published normalisation, the same for every ACAS
//! Xu network, is kept in `models/acasxu_1_1.nnet`:
//! `raw input = x * range + mean`, `raw score = y * output_range + output_mean`.
//!
//! * Property 1 on network 1_1: for a distant, slow intruder the
//!   clear-of-conflict score stays below 1500. Holds.
//! * Property 2 on network 2_1: in the same situation the clear-of-conflict
//!   score is never the largest. Violated; the counterexample is printed in
//!   feet, degrees and feet per second.
//!
//! `cargo run --release --example acasxu`

use std::path::{Path, PathBuf};

use reluverify::model::nnet::{self, Normalisation};
use reluverify::model::{self, Network};
use reluverify::spec::{self, Property};
use reluverify::{verify, Outcome, Settings, Verdict};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Input names and units, in input order.
const INPUTS: [(&str, &str); 5] = [
    ("rho (distance to intruder)", "ft"),
    ("theta (angle to intruder)", "deg"),
    ("psi (intruder heading)", "deg"),
    ("v_own (ownship speed)", "ft/s"),
    ("v_int (intruder speed)", "ft/s"),
];
/// Advisories, in output order: clear of conflict, weak/strong left/right.
const ADVISORIES: [&str; 5] = ["COC", "WL", "WR", "SL", "SR"];

/// A shipped file, relative to the crate root.
fn shipped(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// One ACAS Xu check: a network, a property and the verifier's outcome.
struct Check {
    network: Network,
    property: Property,
    outcome: Outcome,
}

fn check(model_file: &str, spec_file: &str) -> Result<Check> {
    let network = model::load(&shipped(model_file))?;
    let (property, _) = spec::load(&shipped(spec_file))?;
    let outcome = verify(&network, &property, &Settings::default())?;
    Ok(Check { network, property, outcome })
}

/// The raw input `x * range + mean` of a normalised input (angles in radians).
fn raw_input(norm: &Normalisation, x: &[f64]) -> Vec<f64> {
    x.iter().enumerate().map(|(i, v)| v * norm.ranges[i] + norm.means[i]).collect()
}

/// A raw input value as printed: angles in degrees.
fn display(i: usize, raw: f64) -> f64 {
    if INPUTS[i].1 == "deg" {
        raw.to_degrees()
    } else {
        raw
    }
}

fn run() -> Result<(Normalisation, Check, Check)> {
    let (_, norm) = nnet::load_with_normalisation(&shipped("models/acasxu_1_1.nnet"))?;
    let prop1 = check("models/ACASXU_run2a_1_1_batch_2000.onnx", "specs/acasxu_prop1.json")?;
    let prop2 = check("models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.json")?;
    Ok((norm, prop1, prop2))
}

/// Property 1 holds and property 2 is violated (by `main` and the tests).
fn confirm(prop1: &Check, prop2: &Check) -> Result<()> {
    if !matches!(prop1.outcome.verdict, Verdict::Holds { .. }) {
        return Err(format!("property 1: {}, expected holds", prop1.outcome.verdict.name()).into());
    }
    if !matches!(prop2.outcome.verdict, Verdict::Violated { .. }) {
        return Err(format!("property 2: {}, expected violated", prop2.outcome.verdict.name()).into());
    }
    Ok(())
}

fn print_region(norm: &Normalisation, property: &Property) {
    let region = &property.regions[0].input;
    let (lo, hi) = (raw_input(norm, &region.lower), raw_input(norm, &region.upper));
    for (i, (name, unit)) in INPUTS.iter().enumerate() {
        println!("    {name:<28} {:>9.1} .. {:>9.1} {unit}", display(i, lo[i]), display(i, hi[i]));
    }
}

fn main() -> Result<()> {
    let (norm, prop1, prop2) = run()?;
    println!("property 1 on network 1_1: the COC score stays below 1500 when the intruder is distant and slow");
    print_region(&norm, &prop1.property);
    println!(
        "  {} in {:.3} s ({} boxes, {} MILPs)",
        prop1.outcome.verdict.name(),
        prop1.outcome.stats.elapsed.as_secs_f64(),
        prop1.outcome.stats.boxes,
        prop1.outcome.stats.milps
    );
    println!("property 2 on network 2_1: in the same region the COC score is never the largest");
    println!("  {} in {:.3} s", prop2.outcome.verdict.name(), prop2.outcome.stats.elapsed.as_secs_f64());
    if let Verdict::Violated { witness } = &prop2.outcome.verdict {
        println!("  counterexample (original units):");
        let raw = raw_input(&norm, witness.input());
        for (i, (name, unit)) in INPUTS.iter().enumerate() {
            println!("    {name:<28} {:>12.3} {unit}", display(i, raw[i]));
        }
        // The network with the normalisation folded in, run on the raw input.
        let scores = norm.raw_input_network(&prop2.network)?.forward(&raw);
        let listed: Vec<String> = ADVISORIES.iter().zip(&scores).map(|(a, s)| format!("{a} {s:.3}")).collect();
        println!("    scores: {} (COC is the largest)", listed.join(", "));
    }
    confirm(&prop1, &prop2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_1_holds_and_property_2_has_a_real_counterexample() {
        let (norm, prop1, prop2) = run().unwrap();
        confirm(&prop1, &prop2).unwrap();
        let Verdict::Violated { witness } = &prop2.outcome.verdict else {
            panic!("property 2: {}", prop2.outcome.verdict.name())
        };
        assert!(prop2.property.regions[0].input.contains(witness.input()));
        // The raw-unit network (normalisation folded into the weights) on the
        // unscaled counterexample gives the unscaled scores, and COC is largest.
        let raw_net = norm.raw_input_network(&prop2.network).unwrap();
        let scores = raw_net.forward(&raw_input(&norm, witness.input()));
        for (a, b) in scores.iter().zip(norm.denormalise_output(witness.output())) {
            assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
        assert!(scores[1..].iter().all(|s| *s <= scores[0]));
        // The unscaled region matches the ranges in the spec's descriptions.
        let lo = raw_input(&norm, &prop2.property.regions[0].input.lower);
        assert!((lo[0] - 55947.691).abs() < 0.01 && (lo[3] - 1145.0).abs() < 0.01 && lo[4].abs() < 0.01);
    }
}
