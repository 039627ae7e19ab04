//! `queries`: the three questions beyond holds/violated on one small
//! network, each checked against its answer in closed form.
//!
//! The network computes `y = (|x|, x)` on one input (two ReLUs and an
//! identity output layer). On `x` in [-1, 1]:
//!
//! * `range`: `|x|` ranges over exactly [0, 1], and `y0 - y1 = |x| - x`
//!   over [0, 2];
//! * `radius` (argmax stays 0): around `x = 0.5` the outputs tie (`|x| = x`
//!   for `x >= 0`) and a tie counts as a change, so the radius is 0 with the
//!   centre as counterexample; around `x = -0.5` output 0 leads until `x`
//!   reaches 0, so the radius is 0.5;
//! * `equiv`: the network against a copy whose output 0 is 0.1 higher
//!   differs by exactly 0.1: equivalent within 0.11, not within 0.09.
//!
//! `cargo run --release --example queries`

use reluverify::model::{Activation, Affine, Layer, Matrix, Network};
use reluverify::query::equiv::{equiv, Agreement, Equivalence};
use reluverify::query::radius::{radius, Ball};
use reluverify::query::range::range;
use reluverify::spec::{robustness, Dnf, InputBox, Property, Region};
use reluverify::Settings;

/// `(|x|, x)`, with `shift` added to output 0.
fn network(shift: f64) -> reluverify::Result<Network> {
    Network::new(vec![
        Layer {
            affine: Affine { weights: Matrix::new(2, 1, vec![1.0, -1.0])?, bias: vec![0.0, 0.0] },
            activation: Activation::Relu,
        },
        Layer {
            affine: Affine { weights: Matrix::new(2, 2, vec![1.0, 1.0, 1.0, -1.0])?, bias: vec![shift, 0.0] },
            activation: Activation::Identity,
        },
    ])
}

fn main() -> reluverify::Result<()> {
    let net = network(0.0)?;
    let settings = Settings::default();
    let region = Property::new(vec![Region::boxed(InputBox::new(vec![-1.0], vec![1.0])?, Dnf { disjuncts: vec![] })]);

    for (objective, name, exact) in
        [(vec![(0, 1.0)], "|x|", (0.0, 1.0)), (vec![(0, 1.0), (1, -1.0)], "|x| - x", (0.0, 2.0))]
    {
        let r = range(&net, &region, &objective, None, &settings)?;
        let (min_found, max_found) = (r.min.found.unwrap().value, r.max.found.unwrap().value);
        println!("range of {name}: min in [{}, {min_found}], max in [{max_found}, {}]", r.min.proved, r.max.proved);
        assert!(r.min.proved <= exact.0 && exact.0 <= min_found && max_found <= exact.1 && exact.1 <= r.max.proved);
    }

    for (center, exact) in [(0.5, 0.0), (-0.5, 0.5)] {
        let c = [center];
        let ball = Ball { center: &c, lower: None, upper: None, unsafe_set: robustness::argmax_changes(0, 2)? };
        let r = radius(&net, &ball, Some(1e-6), &settings)?;
        let hi = r.counterexample.as_ref().map(|c| c.0).unwrap();
        println!("radius around {center}: proved {:?}, counterexample at distance {hi}", r.proved);
        assert!(r.proved.unwrap_or(0.0) <= exact && exact <= hi && hi - r.proved.unwrap_or(0.0) <= 1e-6);
    }

    let copy = network(0.1)?;
    for (t, want) in [(0.11, true), (0.09, false)] {
        let (answer, _) = equiv(&net, &copy, &region, Agreement::Tolerance(t), &settings)?;
        println!("equivalent within {t}: {answer:?}");
        assert_eq!(matches!(answer, Equivalence::Equivalent), want);
    }
    Ok(())
}
