//! `xor`: two hidden ReLUs implement XOR, and bisection over `verify` calls
//! finds how far each corner's answer is robust.
//!
//! `y = relu(x1 + x2) - 2 relu(x1 + x2 - 1)` is 0 at (0, 0) and (1, 1) and 1
//! at (1, 0) and (0, 1); the class is 1 when `y > 0.5`. For a corner `c`
//! and radius `r`, the property "every input of the box `[c - r, c + r]^2`
//! gets the corner's class" is unsafe when `y >= 0.5` (class 0) or
//! `y <= 0.5` (class 1). It holds for small `r`, and once it fails it fails
//! for every larger box, so the largest robust radius can be bisected.
//!
//! By hand: `y` depends on `s = x1 + x2` only, which moves by `2r` in the
//! box, and `y` has slope +-1 in `s`, so every corner is robust exactly for
//! `r < 1/4`. The bisection finds that with nothing but verifier calls.
//!
//! `cargo run --release --example xor`

use reluverify::model::{Activation, Affine, Layer, Matrix, Network};
use reluverify::spec::{Conjunction, Dnf, InputBox, LinearConstraint, Property, Region};
use reluverify::verdict::Witness;
use reluverify::{verify, Settings, Verdict};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Outputs above this are class 1.
const THRESHOLD: f64 = 0.5;
/// Bisection stops when the robust and the non-robust radius are this close.
/// It is far above the verifier's `UNSAFE_RELAX` (1e-6), so every radius
/// tried is either clearly robust or has a clear counterexample.
const RADIUS_TOL: f64 = 1e-4;
/// The bisection starts from [0, this]; a box of radius 1/2 around any
/// corner reaches the middle of the square, where the class must change.
const RADIUS_MAX: f64 = 0.5;

/// The four corners of the unit square with their XOR.
const CORNERS: [([f64; 2], u8); 4] = [([0.0, 0.0], 0), ([1.0, 0.0], 1), ([0.0, 1.0], 1), ([1.0, 1.0], 0)];

fn xor_network() -> reluverify::Result<Network> {
    Network::new(vec![
        Layer {
            affine: Affine { weights: Matrix::new(2, 2, vec![1.0, 1.0, 1.0, 1.0])?, bias: vec![0.0, -1.0] },
            activation: Activation::Relu,
        },
        Layer {
            affine: Affine { weights: Matrix::new(1, 2, vec![1.0, -2.0])?, bias: vec![0.0] },
            activation: Activation::Identity,
        },
    ])
}

/// "Every input within `radius` of `corner` gets class `class`."
fn robustness(corner: [f64; 2], class: u8, radius: f64) -> reluverify::Result<Property> {
    // Class 0 is unsafe when y >= 0.5, i.e. -y <= -0.5; class 1 when y <= 0.5.
    let (coeff, rhs) = if class == 0 { (-1.0, -THRESHOLD) } else { (1.0, THRESHOLD) };
    Ok(Property::new(vec![Region {
        input: InputBox::new(corner.iter().map(|c| c - radius).collect(), corner.iter().map(|c| c + radius).collect())?,
        input_constraints: Vec::new(),
        unsafe_set: Dnf {
            disjuncts: vec![Conjunction { constraints: vec![LinearConstraint { coeffs: vec![(0, coeff)], rhs }] }],
        },
    }]))
}

/// The result of bisecting one corner.
struct Robustness {
    /// The largest radius proved robust.
    robust: f64,
    /// A radius at most [`RADIUS_TOL`] larger where robustness fails.
    broken: f64,
    /// The counterexample found at `broken`, if the verifier found one
    /// there (rather than answering unknown).
    witness: Option<Witness>,
    /// Verifier calls made.
    calls: usize,
}

/// Bisect the largest robust radius of `corner`.
fn bisect(net: &Network, corner: [f64; 2], class: u8) -> Result<Robustness> {
    let settings = Settings::default();
    let check = |r: f64| -> Result<Verdict> { Ok(verify(net, &robustness(corner, class, r)?, &settings)?.verdict) };
    let mut calls = 1;
    let mut witness = match check(RADIUS_MAX)? {
        Verdict::Violated { witness } => Some(witness),
        v => return Err(format!("radius {RADIUS_MAX} should break robustness, got {}", v.name()).into()),
    };
    let (mut robust, mut broken) = (0.0, RADIUS_MAX);
    while broken - robust > RADIUS_TOL {
        let mid = 0.5 * (robust + broken);
        calls += 1;
        match check(mid)? {
            Verdict::Holds { .. } => robust = mid,
            Verdict::Violated { witness: w } => {
                broken = mid;
                witness = Some(w);
            }
            // Not proved: treat as not robust, but there is no counterexample to show.
            Verdict::Unknown { .. } => {
                broken = mid;
                witness = None;
            }
        }
    }
    Ok(Robustness { robust, broken, witness, calls })
}

fn run() -> Result<Vec<Robustness>> {
    let net = xor_network()?;
    CORNERS.iter().map(|&(corner, class)| bisect(&net, corner, class)).collect()
}

/// The radius worked out by hand in the module doc.
const ANALYTIC_RADIUS: f64 = 0.25;

/// Every corner's bisection brackets the analytic radius, within
/// [`RADIUS_TOL`], and ends on a counterexample (by `main` and the tests).
fn confirm(results: &[Robustness]) -> Result<()> {
    for r in results {
        if !(r.robust <= ANALYTIC_RADIUS && ANALYTIC_RADIUS <= r.broken && r.broken - r.robust <= RADIUS_TOL) {
            return Err(format!("bisection gave [{}, {}], not around {ANALYTIC_RADIUS}", r.robust, r.broken).into());
        }
        if r.witness.is_none() {
            return Err(format!("no counterexample at radius {}", r.broken).into());
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    println!("XOR: y = relu(x1 + x2) - 2 relu(x1 + x2 - 1), class 1 iff y > {THRESHOLD}");
    let net = xor_network()?;
    let results = run()?;
    for ((corner, class), r) in CORNERS.iter().zip(&results) {
        let y = net.forward(corner)[0];
        print!(
            "corner ({}, {}): y = {y}, class {class}; robust up to radius {:.5} ({} verify calls)",
            corner[0], corner[1], r.robust, r.calls
        );
        match &r.witness {
            Some(w) => println!(
                "; broken at {:.5}: x = ({:.5}, {:.5}) gives y = {:.5}",
                r.broken,
                w.input()[0],
                w.input()[1],
                w.output()[0]
            ),
            None => println!("; unknown at {:.5}", r.broken),
        }
    }
    confirm(&results)?;
    println!("every corner: robust exactly for radius < {ANALYTIC_RADIUS}, as worked out by hand");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_finds_the_analytic_radius_at_every_corner() {
        let results = run().unwrap();
        confirm(&results).unwrap();
        for ((corner, class), r) in CORNERS.iter().zip(results) {
            // The counterexample lies in the box and really gets the other class.
            let w = r.witness.unwrap();
            assert!(w.input().iter().zip(corner).all(|(x, c)| (x - c).abs() <= r.broken));
            let y = w.output()[0];
            assert!(if *class == 0 { y >= THRESHOLD } else { y <= THRESHOLD }, "{corner:?}: y = {y}");
        }
    }
}
