//! `abs`: two ReLU neurons compute |x| exactly, and the verifier proves it.
//!
//! `relu(x) + relu(-x) = |x|`. A property may only constrain outputs, so to
//! compare the output with |x| the same two neurons also give `x` back
//! (`relu(x) - relu(-x) = x`) as a second output. On `x` in [-2, 2]:
//!
//! * "abs < |x| - eps" is `abs - x <= -eps or abs + x <= -eps`, since |x| is
//!   the larger of `x` and `-x`;
//! * "abs > |x| + eps" is `abs - x >= eps and abs + x >= eps`.
//!
//! Both unsafe sets are proved empty, so the output equals |x| to within
//! `eps` everywhere on the interval. A false claim, "the network is the
//! identity", is refuted with a counterexample.
//!
//! `cargo run --release --example abs`

use reluverify::model::{Activation, Affine, Layer, Matrix, Network};
use reluverify::spec::{json, Property};
use reluverify::{verify, Outcome, Settings, Verdict};

/// How far the output may stray from |x| in the two "equals" claims. It
/// must exceed the verifier's `UNSAFE_RELAX` (1e-6), by which proofs widen
/// the unsafe set: with a smaller value the widened set would touch the
/// exact answer and nothing could be proved.
const EQUAL_TOL: f64 = 1e-4;

/// A claim about the network and whether it is true.
struct Claim {
    /// The claim in words.
    text: String,
    /// Its unsafe set in the JSON property syntax, over outputs `abs` and `x`.
    unsafe_set: String,
    /// `true` when the claim is true (the property holds).
    holds: bool,
}

/// Outputs `[relu(x) + relu(-x), relu(x) - relu(-x)]`, i.e. `[|x|, x]`.
fn abs_network() -> reluverify::Result<Network> {
    Network::new(vec![
        Layer {
            affine: Affine { weights: Matrix::new(2, 1, vec![1.0, -1.0])?, bias: vec![0.0, 0.0] },
            activation: Activation::Relu,
        },
        Layer {
            affine: Affine { weights: Matrix::new(2, 2, vec![1.0, 1.0, 1.0, -1.0])?, bias: vec![0.0, 0.0] },
            activation: Activation::Identity,
        },
    ])
}

fn claims() -> Vec<Claim> {
    let e = EQUAL_TOL;
    vec![
        Claim {
            text: format!("abs >= |x| - {e}"),
            unsafe_set: format!(r#"{{"any": ["abs - x <= -{e}", "abs + x <= -{e}"]}}"#),
            holds: true,
        },
        Claim {
            text: format!("abs <= |x| + {e}"),
            unsafe_set: format!(r#"{{"all": ["abs - x >= {e}", "abs + x >= {e}"]}}"#),
            holds: true,
        },
        Claim {
            text: format!("abs == x (+- {e}), the identity"),
            unsafe_set: format!(r#"{{"any": ["abs - x >= {e}", "abs - x <= -{e}"]}}"#),
            holds: false,
        },
    ]
}

/// The property "no x in [-2, 2] reaches `unsafe_set`".
fn property(unsafe_set: &str) -> reluverify::Result<Property> {
    json::parse(&format!(
        r#"{{"inputs": [{{"name": "x", "lower": -2, "upper": 2}}], "outputs": ["abs", "x"], "unsafe": {unsafe_set}}}"#
    ))
}

/// Verify every claim; returns each with its outcome.
fn run() -> reluverify::Result<Vec<(Claim, Outcome)>> {
    let net = abs_network()?;
    claims()
        .into_iter()
        .map(|claim| {
            let outcome = verify(&net, &property(&claim.unsafe_set)?, &Settings::default())?;
            Ok((claim, outcome))
        })
        .collect()
}

/// One line per verdict: how it was proved, or the counterexample.
fn describe(outcome: &Outcome) -> String {
    match &outcome.verdict {
        Verdict::Holds { proved_by } => format!("holds (proved by {})", proved_by.name()),
        Verdict::Violated { witness } => format!(
            "violated: x = {:.4} gives abs = {:.4} (and x back = {:.4})",
            witness.input()[0],
            witness.output()[0],
            witness.output()[1]
        ),
        Verdict::Unknown { reason } => format!("unknown: {reason}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("network: abs = relu(x) + relu(-x), x = relu(x) - relu(-x); x in [-2, 2]");
    for (claim, outcome) in run()? {
        println!("claim {:<34} {}", claim.text, describe(&outcome));
        let holds = matches!(outcome.verdict, Verdict::Holds { .. });
        if holds != claim.holds {
            return Err(format!("unexpected verdict for \"{}\"", claim.text).into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_claims_hold_and_false_claim_has_a_real_counterexample() {
        for (claim, outcome) in run().unwrap() {
            match outcome.verdict {
                Verdict::Holds { .. } => assert!(claim.holds, "{}", claim.text),
                Verdict::Violated { witness } => {
                    assert!(!claim.holds, "{}", claim.text);
                    // Independently of the network: the identity claim fails exactly where x < 0.
                    let x = witness.input()[0];
                    assert!((-2.0..-EQUAL_TOL / 2.0).contains(&x), "x = {x}");
                    assert!((witness.output()[0] - x.abs()).abs() < 1e-12);
                }
                Verdict::Unknown { reason } => panic!("{}: unknown ({reason})", claim.text),
            }
        }
    }

    #[test]
    fn network_is_abs_and_identity_on_a_grid() {
        let net = abs_network().unwrap();
        for i in 0..=40 {
            let x = -2.0 + 0.1 * i as f64;
            assert_eq!(net.forward(&[x]), vec![x.abs(), x]);
        }
    }
}
