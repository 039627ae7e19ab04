//! Numerical stress tests: every answer is right or `unknown`, never wrong.
//!
//! Each case runs under every search configuration ([`configs`]: input
//! splitting with MILP leaves and down to stable boxes, the MILP strategy
//! with interval, symbolic and LP bounds, and the default with sampling),
//! and every `holds` is cross-checked ([`super::cross_check`]). Ground truth
//! comes from the exact enumeration of [`testutil::reference`] on
//! well-scaled networks, from a rescaled twin of the network (the same
//! function with badly scaled weights), or from a closed form.
//!
//! What "right" means at tiny margins follows from the proof rule: a proof
//! shows the unsafe set relaxed by [`UNSAFE_RELAX`] (`1e-6`) empty, and a
//! witness must pass the f64 check exactly. So, for a property
//!
//! * violated by `1e-7` (some input's f64 output is `1e-7` inside the unsafe
//!   set): `holds` is wrong; `violated` (if a search lands in the thin
//!   unsafe part) or `unknown` (a solver point in the relaxed set that no
//!   repair can move inside) are right.
//! * true by `1e-7` (every output at least `1e-7` outside): `violated` is
//!   impossible, since no witness passes the check. `holds` is also
//!   impossible: the relaxed set contains the closest output, `9e-7` inside
//!   it, far beyond the solver's `1e-7` tolerance and the bound paddings, so
//!   a proof of its emptiness would be a proof of something false. The
//!   answer must be `unknown`: properties true by less than `UNSAFE_RELAX`
//!   are beyond what reluverify proves.

use std::time::{Duration, Instant};

use super::cross_check::{cross_check, CrossCheck};
use super::verify;
use crate::bounds::BoundMethod;
use crate::margins::UNSAFE_RELAX;
use crate::model::{Activation, Matrix, Network};
use crate::rng::Rng;
use crate::settings::{Settings, Strategy};
use crate::spec::Property;
use crate::testutil::{self, layer};
use crate::verdict::{check_witness, Verdict};

/// Time each cross-check gets.
const CROSS_CHECK_SECS: u64 = 2;

/// Time limit for properties whose only right answer is `unknown`.
const THIN_TIMEOUT: Duration = Duration::from_millis(300);

/// Every search configuration, named: falsification off (so that proofs,
/// not sampling, decide), plus the defaults with sampling on.
fn configs() -> Vec<(&'static str, Settings)> {
    let quiet = Settings { falsify_samples: 0, falsify_restarts: 0, ..Settings::default() };
    let split = |n| Settings { strategy: Strategy::InputSplit, split_milp_unstable: n, ..quiet.clone() };
    let milp = |bounds| Settings { strategy: Strategy::Milp, bounds, ..quiet.clone() };
    vec![
        ("split, MILP leaves", split(12)),
        ("split to stable boxes", split(0)),
        ("milp, interval bounds", milp(BoundMethod::Interval)),
        ("milp, symbolic bounds", milp(BoundMethod::Symbolic)),
        ("milp, optimised bounds", milp(BoundMethod::Optimised)),
        ("milp, LP bounds", milp(BoundMethod::Lp)),
        ("phase split, optimised root", Settings { strategy: Strategy::PhaseSplit, ..quiet.clone() }),
        (
            "phase split, top-ranked split only",
            Settings { strategy: Strategy::PhaseSplit, phase_candidates: 1, phase_milp_unstable: 0, ..quiet.clone() },
        ),
        (
            "phase split, root MILP after one domain per tree",
            Settings { strategy: Strategy::PhaseSplit, phase_tree_domains: 1, phase_milp_unstable: 0, ..quiet.clone() },
        ),
        (
            "phase split, refined without the fixed phases' constraints",
            Settings { strategy: Strategy::PhaseSplit, phase_constrained: false, ..quiet.clone() },
        ),
        ("defaults", Settings::default()),
    ]
}

/// What is known about a property.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Truth {
    /// Violated: `holds` is wrong.
    Violated,
    /// True: `violated` is wrong (its witness would fail the check).
    Holds,
    /// True by less than [`UNSAFE_RELAX`]: only `unknown` is right.
    ThinlyTrue,
}

/// Verdict counts over the configurations.
#[derive(Debug, Default)]
struct Tally {
    holds: usize,
    violated: usize,
    unknown: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.holds += other.holds;
        self.violated += other.violated;
        self.unknown += other.unknown;
    }

    fn decided(&self) -> usize {
        self.holds + self.violated
    }
}

/// Run every configuration on `(net, prop)` and fail on any wrong answer
/// given `truth`; cross-check every `holds`. Returns the verdict counts.
///
/// A thinly true property (only `unknown` is right) gets
/// [`THIN_TIMEOUT`]: splitting down to stable boxes would otherwise explore
/// boxes to the depth limit around the closest output, for seconds.
fn check_all(what: &str, net: &Network, prop: &Property, truth: Truth) -> Tally {
    let mut tally = Tally::default();
    for (name, mut settings) in configs() {
        if truth == Truth::ThinlyTrue {
            settings.timeout = Some(THIN_TIMEOUT);
        }
        let outcome = verify(net, prop, &settings).unwrap();
        let fail = |why: &str| panic!("{what}, {name}: {why}: {:?}\n{net:?}\n{prop:?}", outcome.verdict);
        match &outcome.verdict {
            Verdict::Holds { .. } => {
                tally.holds += 1;
                if truth != Truth::Holds {
                    fail("wrong holds");
                }
                let deadline = Instant::now() + Duration::from_secs(CROSS_CHECK_SECS);
                if let CrossCheck::Disagrees { .. } =
                    cross_check(net, prop, &outcome.verdict, Some(deadline), 1).unwrap().result
                {
                    fail("the cross-check refutes holds");
                }
            }
            Verdict::Violated { witness } => {
                tally.violated += 1;
                assert!(check_witness(net, prop, witness.region(), witness.input()).is_some(), "{what}, {name}");
                if truth != Truth::Violated {
                    fail("violated, though the property is true");
                }
            }
            Verdict::Unknown { .. } => tally.unknown += 1,
        }
    }
    tally
}

/// `prop` with every right-hand side raised by `delta`: every margin
/// `max_j (c_j·y - rhs_j)` drops by exactly `delta`.
fn shifted(prop: &Property, delta: f64) -> Property {
    let mut p = prop.clone();
    for row in p.regions.iter_mut().flat_map(|r| &mut r.unsafe_set.disjuncts).flat_map(|d| &mut d.constraints) {
        row.rhs += delta;
    }
    p
}

/// The f64 margin of `prop` at `x` in region `region`: the least
/// `max_j (c_j·y - rhs_j)` over the region's disjuncts.
fn margin_at(net: &Network, prop: &Property, region: usize, x: &[f64]) -> f64 {
    let y = net.forward(x);
    prop.regions[region].unsafe_set.disjuncts.iter().map(|d| d.max_violation(&y)).fold(f64::INFINITY, f64::min)
}

/// The same function with badly scaled weights: layer `k`'s affine map
/// (and Clip levels) times `s`, the next layer's weights divided by `s`.
/// Every activation is positively homogeneous once its levels scale, so
/// `act(s z) = s act(z)` and the network output does not change (up to
/// rounding).
fn rescaled(net: &Network, k: usize, s: f64) -> Network {
    let mut layers = net.layers().to_vec();
    let times = |m: &Matrix, f: f64| m.map_entries(|v| v * f);
    let l = &mut layers[k];
    l.affine.weights = times(&l.affine.weights, s);
    l.affine.bias.iter_mut().for_each(|v| *v *= s);
    if let Activation::Clip { lo, hi } = &mut l.activation {
        (*lo, *hi) = (*lo * s, *hi * s);
    }
    let next = &mut layers[k + 1];
    next.affine.weights = times(&next.affine.weights, 1.0 / s);
    Network::new(layers).unwrap()
}

#[test]
fn large_weights_never_give_a_wrong_answer() {
    // Random networks rescaled by 1e3..1e6 at every hidden layer: the same
    // function as the well-scaled original, whose exact reference is the
    // ground truth. Cases near the boundary are left out: rounding in the
    // rescaled network moves its outputs by up to ~1e-10 x scale.
    let mut rng = Rng::new(7);
    let (mut total, mut warned) = (Tally::default(), 0);
    for case in 0..12 {
        let net = testutil::random_network(&mut rng, 4);
        let prop = testutil::random_property(&mut rng, &net);
        let reference = testutil::reference(&net, &prop);
        if reference.margin.abs() < 1e-3 {
            continue;
        }
        let s = [1e3, 1e4, 1e5, 1e6][case % 4];
        let mut big = net.clone();
        for k in 0..net.layers().len() - 1 {
            big = rescaled(&big, k, s);
        }
        let truth = if reference.margin < 0.0 { Truth::Violated } else { Truth::Holds };
        total.add(&check_all(&format!("case {case}, scale {s:e}"), &big, &prop, truth));
        let milp =
            Settings { strategy: Strategy::Milp, falsify_samples: 0, falsify_restarts: 0, ..Settings::default() };
        warned += usize::from(!verify(&big, &prop, &milp).unwrap().stats.warnings.is_empty());
    }
    eprintln!("large weights: {total:?}, runs with scaling warnings {warned}");
    // Most answers are still decided, and the largest scales warn.
    assert!(total.decided() * 10 >= (total.decided() + total.unknown) * 7, "{total:?}");
    assert!(warned >= 2, "{warned}");
}

#[test]
fn steep_steps_are_not_missed() {
    // y = relu(M (x - t)) - relu(M (x - t) - 1): 0 up to t, 1 from t + 1/M on,
    // a step 1/M wide, with M up to 1e6 (the shape of published attacks on
    // MILP verifiers, where the unsafe inputs hide in the step).
    for m in [1e3, 1e6] {
        let t = 0.3;
        let net = Network::new(vec![
            layer(2, 1, &[m, m], &[-m * t, -m * t - 1.0], Activation::Relu),
            layer(1, 2, &[1.0, -1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let what = |s: &str| format!("step of width 1/{m:e}, {s}");
        // y >= 0.5 on [0, 1]: violated for x >= t + 0.5/M.
        let unsafe_half = |hi: f64| testutil::property(&[0.0], &[hi], &[&[(&[(0, -1.0)], -0.5)]]);
        check_all(&what("whole box"), &net, &unsafe_half(1.0), Truth::Violated);
        // ... but not below the step: holds on [0, t] and on [0, t + 0.4/M].
        for hi in [t, t + 0.4 / m] {
            let tally = check_all(&what(&format!("up to {hi}")), &net, &unsafe_half(hi), Truth::Holds);
            assert!(tally.holds > 0, "{tally:?}");
        }
        // y >= 0.05 on [0, t + 1e-1/M]: violated only on the last half of
        // the box's step part, a sliver 0.05/M wide.
        let sliver = testutil::property(&[0.0], &[t + 0.1 / m], &[&[(&[(0, -1.0)], -0.05)]]);
        assert!(check_witness(&net, &sliver, 0, &[t + 0.1 / m]).is_some());
        check_all(&what("sliver"), &net, &sliver, Truth::Violated);
    }
}

/// `|x1 - 0.3| + |x2 + 0.2| + c` on `[-1, 1]^2`: minimum `c`, attained only
/// at `(0.3, -0.2)`, where f64 evaluates it to exactly `c`.
fn two_abs(c: f64) -> Network {
    Network::new(vec![
        layer(4, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0], &[-0.3, 0.3, 0.2, -0.2], Activation::Relu),
        layer(1, 4, &[1.0, 1.0, 1.0, 1.0], &[c], Activation::Identity),
    ])
    .unwrap()
}

#[test]
fn margins_of_1e_7_in_closed_form() {
    for c in [0.0, 5.0, -1e3] {
        let net = two_abs(c);
        assert_eq!(net.forward(&[0.3, -0.2]), vec![c]);
        let below = |d: f64| testutil::property(&[-1.0, -1.0], &[1.0, 1.0], &[&[(&[(0, 1.0)], c + d)]]);
        // y <= c - 1e-7: true by 1e-7; y <= c + 1e-7: violated by 1e-7 near the minimum only.
        let thin = check_all(&format!("min {c}, true by 1e-7"), &net, &below(-1e-7), Truth::ThinlyTrue);
        assert_eq!(thin.unknown, configs().len());
        check_all(&format!("min {c}, violated by 1e-7"), &net, &below(1e-7), Truth::Violated);
        // A margin of 10 x UNSAFE_RELAX is proved by every configuration.
        let clear = check_all(&format!("min {c}, true by 1e-5"), &net, &below(-10.0 * UNSAFE_RELAX), Truth::Holds);
        assert_eq!(clear.holds, configs().len(), "{clear:?}");
    }
}

#[test]
fn margins_of_1e_7_on_random_networks() {
    // Shift each random property so that its reference optimum sits 1e-7
    // inside the unsafe set (violated) or 1e-7 outside (thinly true).
    let mut rng = Rng::new(11);
    let (mut violated, mut thin) = (Tally::default(), Tally::default());
    for case in 0..8 {
        let net = testutil::random_network(&mut rng, 4);
        let prop = testutil::random_property(&mut rng, &net);
        let r = testutil::reference(&net, &prop);
        // The f64 margin at the reference's input; the LP optimum agrees
        // with it to far below 1e-7 on these small problems.
        let v = margin_at(&net, &prop, r.region, &r.input);
        assert!((v - r.margin).abs() < 1e-9, "case {case}: LP {} vs f64 {v}", r.margin);
        let inside = shifted(&prop, v + 1e-7);
        assert!(check_witness(&net, &inside, r.region, &r.input).is_some(), "case {case}");
        violated.add(&check_all(&format!("case {case}, violated by 1e-7"), &net, &inside, Truth::Violated));
        let outside = shifted(&prop, v - 1e-7);
        thin.add(&check_all(&format!("case {case}, true by 1e-7"), &net, &outside, Truth::ThinlyTrue));
    }
    eprintln!("1e-7 margins on random networks: violated {violated:?}, thinly true {thin:?}");
}

#[test]
fn degenerate_neurons_agree_with_the_reference() {
    // Bounds with l = 0 or u = 0 exactly (inputs on [0, 1] or [-1, 0] fed
    // straight into ReLUs), constant and duplicated neurons, identity and
    // slope-1 layers, a difference of identical neurons.
    let mut rng = Rng::new(13);
    let nets = [
        // z = (x1, x2, x1, -x2, 0, 0.25): l = 0 or u = 0 on the boxes below,
        // a duplicated neuron, a zero row and a constant neuron.
        Network::new(vec![
            layer(
                6,
                2,
                &[1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0],
                &[0.0, 0.0, 0.0, 0.0, 0.0, 0.25],
                Activation::Relu,
            ),
            layer(
                3,
                6,
                &(0..18).map(|_| rng.range(-1.0, 1.0)).collect::<Vec<_>>(),
                &[0.1, -0.1, 0.0],
                Activation::Leaky { slopes: vec![1.0, 0.0, -0.5] },
            ),
            layer(2, 3, &(0..6).map(|_| rng.range(-1.0, 1.0)).collect::<Vec<_>>(), &[0.0, 0.0], Activation::Identity),
            layer(2, 2, &[1.0, 1.0, 1.0, -1.0], &[0.0, 0.0], Activation::Clip { lo: 0.0, hi: 0.5 }),
            layer(1, 2, &[1.0, -1.0], &[0.0], Activation::Identity),
        ])
        .unwrap(),
        // h1 = h2 = relu(x1 - x2) exactly: y = h1 - h2 = 0 everywhere.
        Network::new(vec![
            layer(2, 2, &[1.0, -1.0, 1.0, -1.0], &[0.0, 0.0], Activation::Relu),
            layer(1, 2, &[1.0, -1.0], &[0.0], Activation::Identity),
        ])
        .unwrap(),
    ];
    let mut decided = 0;
    for (k, net) in nets.iter().enumerate() {
        for (lo, hi) in
            [([0.0, 0.0], [1.0, 1.0]), ([-1.0, -1.0], [0.0, 0.0]), ([0.0, -1.0], [0.0, 1.0]), ([-1.0, 0.5], [1.0, 0.5])]
        {
            for sign in [1.0, -1.0] {
                // The least `sign y` over the box, from one enumeration: the
                // margin of `sign y <= rhs` is that less rhs.
                let least = testutil::reference(net, &testutil::property(&lo, &hi, &[&[(&[(0, sign)], 0.0)]])).margin;
                for rhs in [-0.2, -1e-3, 0.0, 1e-3, 0.2] {
                    let prop = testutil::property(&lo, &hi, &[&[(&[(0, sign)], rhs)]]);
                    let what = format!("net {k} on [{lo:?}, {hi:?}], {sign} y <= {rhs}");
                    let truth = match least - rhs {
                        m if m < -1e-5 => Truth::Violated,
                        m if m > 1e-5 => Truth::Holds,
                        // At the boundary (y = 0 = rhs on the whole box, say):
                        // any answer but a wrong one.
                        _ => continue,
                    };
                    let t = check_all(&what, net, &prop, truth);
                    decided += t.decided();
                    assert_eq!(t.unknown, 0, "{what}: clear margins are decided");
                }
            }
        }
    }
    assert!(decided > 200, "{decided}");
}

#[test]
fn deep_narrow_networks_agree_with_the_reference() {
    // 20 layers of 2-3 neurons on 1-2 inputs, every activation kind.
    let mut rng = Rng::new(17);
    let mut tally = Tally::default();
    for cases in 0..6 {
        let inputs = 1 + rng.below(2);
        let mut dim = inputs;
        let mut layers = Vec::new();
        for k in 0..=20 {
            let out = if k == 20 { 1 } else { 2 + rng.below(2) };
            let w: Vec<f64> = (0..out * dim).map(|_| rng.range(-1.5, 1.5)).collect();
            let b: Vec<f64> = (0..out).map(|_| rng.range(-0.3, 0.3)).collect();
            let act = match (k == 20, rng.below(4)) {
                (true, _) => Activation::Identity,
                (_, 0) => Activation::Relu,
                (_, 1) => Activation::Leaky { slopes: (0..out).map(|_| rng.range(-0.5, 0.5)).collect() },
                (_, 2) => Activation::Clip { lo: -0.5, hi: 0.5 },
                _ => Activation::Clip { lo: 0.0, hi: 6.0 },
            };
            layers.push(layer(out, dim, &w, &b, act));
            dim = out;
        }
        let net = Network::new(layers).unwrap();
        // Shift the property to a margin of 1e-2, violated in every other case.
        let prop = testutil::random_property(&mut rng, &net);
        let r = testutil::reference(&net, &prop);
        let (prop, truth) = match cases % 2 {
            0 => (shifted(&prop, r.margin - 1e-2), Truth::Holds),
            _ => (shifted(&prop, r.margin + 1e-2), Truth::Violated),
        };
        let t = check_all(&format!("deep case {cases}"), &net, &prop, truth);
        assert_eq!(t.unknown, 0, "deep case {cases}: clear margins are decided");
        tally.add(&t);
    }
    eprintln!("deep narrow: {tally:?}");
}

#[test]
fn weights_too_small_for_the_solver_are_relaxed_and_warned_about() {
    // y0 = x2 + 1e-10 x1, y1 = x2, y2 = x1 on x1 in [0, 1e6]: y0 - y1 =
    // 1e-10 x1 reaches 1e-4. HiGHS drops matrix entries of at most 1e-9, so
    // a MILP passed with the 1e-10 would lose the difference and prove the
    // property below (a wrong holds, before `highs.rs` relaxed such entries
    // into intervals instead).
    let net =
        Network::new(vec![layer(3, 2, &[1e-10, 1.0, 0.0, 1.0, 1.0, 0.0], &[0.0; 3], Activation::Identity)]).unwrap();
    let lo = [0.0, -1.0];
    let hi = [1e6, 1.0];
    // Unsafe: y0 - y1 >= 7e-5 with y2 <= 700001, i.e. x1 in [7e5, 700001]:
    // a slab 1e-6 of the box wide, away from the centre and the corners.
    let prop = testutil::property(&lo, &hi, &[&[(&[(0, -1.0), (1, 1.0)], -7e-5), (&[(2, 1.0)], 700_001.0)]]);
    assert!(check_witness(&net, &prop, 0, &[700_000.5, 0.0]).is_some());
    check_all("tiny weight", &net, &prop, Truth::Violated);
    let milp = Settings { strategy: Strategy::Milp, falsify_samples: 0, falsify_restarts: 0, ..Settings::default() };
    let warnings = verify(&net, &prop, &milp).unwrap().stats.warnings;
    assert!(warnings.iter().any(|w| w.contains("too small")), "{warnings:?}");
}
