//! `controller`: a cruise controller with a ReLU actuator and with a Leaky
//! ReLU actuator; the verifier shows that only the leaky one ever brakes.
//!
//! The controller tracks a speed set-point. Its input is the tracking error
//! `e = v_set - v` (m/s), its output the commanded force `F` (N):
//!
//! ```text
//! f = act(KP * e)                     the actuator: ReLU (engine only) or Leaky ReLU (engine and brakes)
//! F = min(f, F_MAX)                   engine saturation, as relu(f) - relu(-f) - relu(f - F_MAX)
//! ```
//!
//! Verified over the operating envelope `e` in [-15, 15] m/s:
//!
//! 1. both respect the actuator limits, `-F_LIMIT <= F <= F_LIMIT`;
//! 2. ReLU: on every overshoot (`e <= 0`) the bounds give `F` in [0, 0], so
//!    the command is exactly zero: no braking force, whatever the overshoot;
//! 3. Leaky: on every overshoot of at least [`MIN_OVERSHOOT`] the property
//!    "F >= 0" is unsafe and holds, so it always brakes; the same property on
//!    the ReLU controller is violated, with a counterexample.
//!
//! A closed-loop run down a long hill shows what that means: the ReLU car
//! settles where drag balances gravity, far above the set-point.
//!
//! `cargo run --release --example controller`

use reluverify::bounds;
use reluverify::model::{Activation, Affine, Layer, Matrix, Network};
use reluverify::spec::{json, InputBox, Property};
use reluverify::{verify, Outcome, Settings, Verdict};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Proportional gain, N per m/s of tracking error.
const KP: f64 = 800.0;
/// Slope of the leaky actuator below zero: braking is a quarter as strong
/// as driving for the same error.
const LEAK: f64 = 0.25;
/// Engine saturation, N.
const F_MAX: f64 = 4000.0;
/// Actuator limit in both directions (engine and brakes), N.
const F_LIMIT: f64 = 4000.0;
/// The operating envelope: tracking errors up to this size, m/s.
const E_MAX: f64 = 15.0;
/// "Always brakes" is checked for overshoots of at least this much (m/s):
/// at zero error no controller brakes, and the leaky force `LEAK * KP * e`
/// here (-0.2 N) is far from the verifier's `UNSAFE_RELAX` (1e-6).
const MIN_OVERSHOOT: f64 = 1e-3;
/// Slack on the limit property, N: the saturation reaches `F_MAX` exactly,
/// so "F >= F_LIMIT" itself is touched; the slack must exceed
/// `UNSAFE_RELAX` (1e-6) plus f64 rounding of forces of size 1e4 (~1e-12).
const FORCE_TOL: f64 = 1e-3;

/// Vehicle mass for the closed-loop run, kg.
const MASS: f64 = 1500.0;
/// Aerodynamic drag coefficient, N per (m/s)^2.
const DRAG: f64 = 0.4;
/// Force pushing the car downhill, N (about a 4 % grade).
const DOWNHILL: f64 = 600.0;
/// Speed set-point of the run, m/s.
const SET_POINT: f64 = 25.0;
/// Time step of the simulation, s.
const DT: f64 = 0.1;
/// Length of the run, s.
const DURATION: f64 = 400.0;

/// The two actuators compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actuator {
    /// `relu`: the engine can only push.
    Relu,
    /// `leaky relu`: negative commands brake, at slope [`LEAK`].
    Leaky,
}

impl Actuator {
    fn name(self) -> &'static str {
        match self {
            Actuator::Relu => "ReLU",
            Actuator::Leaky => "Leaky ReLU",
        }
    }

    fn activation(self) -> Activation {
        match self {
            Actuator::Relu => Activation::Relu,
            Actuator::Leaky => Activation::Leaky { slopes: vec![LEAK] },
        }
    }
}

/// `F = min(act(KP * e), F_MAX)`.
fn controller(actuator: Actuator) -> reluverify::Result<Network> {
    Network::new(vec![
        Layer {
            affine: Affine { weights: Matrix::new(1, 1, vec![KP])?, bias: vec![0.0] },
            activation: actuator.activation(),
        },
        // relu(f), relu(-f), relu(f - F_MAX): f = relu(f) - relu(-f) for either sign of f.
        Layer {
            affine: Affine { weights: Matrix::new(3, 1, vec![1.0, -1.0, 1.0])?, bias: vec![0.0, 0.0, -F_MAX] },
            activation: Activation::Relu,
        },
        Layer {
            affine: Affine { weights: Matrix::new(1, 3, vec![1.0, -1.0, -1.0])?, bias: vec![0.0] },
            activation: Activation::Identity,
        },
    ])
}

/// The property "no error `e` in [lower, upper] gives a force in `unsafe_set`".
fn property(lower: f64, upper: f64, unsafe_set: &str) -> reluverify::Result<Property> {
    json::parse(&format!(
        r#"{{"inputs": [{{"name": "e", "lower": {lower}, "upper": {upper}}}], "outputs": ["F"], "unsafe": {unsafe_set}}}"#
    ))
}

fn limit_property() -> reluverify::Result<Property> {
    let hi = F_LIMIT + FORCE_TOL;
    property(-E_MAX, E_MAX, &format!(r#"{{"any": ["F >= {hi}", "F <= -{hi}"]}}"#))
}

/// "On every overshoot of at least [`MIN_OVERSHOOT`], F < 0": unsafe F >= 0.
fn brakes_property() -> reluverify::Result<Property> {
    property(-E_MAX, -MIN_OVERSHOOT, r#""F >= 0""#)
}

/// The verdicts and bounds for one actuator.
struct Report {
    actuator: Actuator,
    /// "The force stays within the actuator limits."
    limits: Outcome,
    /// Bounds on `F` over every overshoot, `e` in [-E_MAX, 0].
    overshoot_bounds: (f64, f64),
    /// "The controller brakes on every overshoot."
    brakes: Outcome,
    /// Speed at the end of the downhill run, m/s.
    final_speed: f64,
}

fn analyse(actuator: Actuator) -> Result<Report> {
    let net = controller(actuator)?;
    let settings = Settings::default();
    let overshoot = InputBox::new(vec![-E_MAX], vec![0.0])?;
    let out = bounds::symbolic::compute(&net, &overshoot).output().clone();
    Ok(Report {
        actuator,
        limits: verify(&net, &limit_property()?, &settings)?,
        overshoot_bounds: (out.lower[0], out.upper[0]),
        brakes: verify(&net, &brakes_property()?, &settings)?,
        final_speed: downhill_run(&net),
    })
}

/// Drive down a long hill at the set-point: `m dv/dt = F + DOWNHILL - DRAG v^2`
/// (explicit Euler); returns the final speed.
fn downhill_run(net: &Network) -> f64 {
    let mut v = SET_POINT;
    for _ in 0..(DURATION / DT) as usize {
        let force = net.forward(&[SET_POINT - v])[0];
        v += DT * (force + DOWNHILL - DRAG * v * v) / MASS;
    }
    v
}

/// Where the downhill run settles: drag plus braking balance the hill,
/// `DOWNHILL - DRAG v^2 + b KP (SET_POINT - v) = 0` with braking slope `b`
/// (0 for ReLU, LEAK for Leaky), solved as a quadratic in `v`.
fn equilibrium(actuator: Actuator) -> f64 {
    let b = if actuator == Actuator::Leaky { LEAK * KP } else { 0.0 };
    // DRAG v^2 + b v - (DOWNHILL + b SET_POINT) = 0, positive root.
    let c = DOWNHILL + b * SET_POINT;
    (-b + (b * b + 4.0 * DRAG * c).sqrt()) / (2.0 * DRAG)
}

fn run() -> Result<Vec<Report>> {
    [Actuator::Relu, Actuator::Leaky].into_iter().map(analyse).collect()
}

fn describe(outcome: &Outcome) -> String {
    match &outcome.verdict {
        Verdict::Holds { proved_by } => format!("holds (proved by {})", proved_by.name()),
        Verdict::Violated { witness } => {
            format!("violated: e = {:.3} m/s gives F = {} N", witness.input()[0], witness.output()[0])
        }
        Verdict::Unknown { reason } => format!("unknown: {reason}"),
    }
}

/// The claims of the module doc, checked on the verdicts (by `main` and the tests).
fn confirm(reports: &[Report]) -> Result<()> {
    let [relu, leaky] = reports else { return Err("expected a ReLU and a Leaky report".into()) };
    let holds = |o: &Outcome| matches!(o.verdict, Verdict::Holds { .. });
    if !holds(&relu.limits) || !holds(&leaky.limits) {
        return Err("an actuator limit was not proved".into());
    }
    if relu.overshoot_bounds != (0.0, 0.0) {
        return Err("the ReLU controller's force on overshoots is not bounded to exactly 0".into());
    }
    match &relu.brakes.verdict {
        Verdict::Violated { witness } if witness.output()[0] == 0.0 && witness.input()[0] <= -MIN_OVERSHOOT => {}
        _ => return Err("the ReLU controller should have an overshoot without braking".into()),
    }
    if !holds(&leaky.brakes) {
        return Err("the Leaky controller was not proved to brake on every overshoot".into());
    }
    Ok(())
}

fn main() -> Result<()> {
    println!("cruise controller F = min(act({KP} * e), {F_MAX}) N, tracking error e = v_set - v in m/s");
    let reports = run()?;
    for r in &reports {
        let (lo, hi) = r.overshoot_bounds;
        let lines = [
            (format!("|F| <= {F_LIMIT} N for e in [-{E_MAX}, {E_MAX}]"), describe(&r.limits)),
            (format!("F bounds on overshoots, e in [-{E_MAX}, 0]"), format!("[{lo}, {hi}] N (symbolic bounds)")),
            (format!("brakes (F < 0) for e in [-{E_MAX}, -{MIN_OVERSHOOT}]"), describe(&r.brakes)),
            (
                format!("{DURATION} s downhill from {SET_POINT} m/s"),
                format!("ends at {:.2} m/s (forces balance at {:.2})", r.final_speed, equilibrium(r.actuator)),
            ),
        ];
        println!("{} actuator:", r.actuator.name());
        for (what, result) in lines {
            println!("  {what:<40} {result}");
        }
    }
    confirm(&reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_never_brakes_and_leaky_always_does() {
        let reports = run().unwrap();
        confirm(&reports).unwrap();
        // Leaky: the bounds on overshoots reach down to -LEAK * KP * E_MAX.
        let leaky = &reports[1];
        assert!(leaky.overshoot_bounds.0 <= -LEAK * KP * E_MAX + 1e-6 && leaky.overshoot_bounds.1 >= 0.0);
    }

    #[test]
    fn downhill_runs_settle_where_the_forces_balance() {
        for r in run().unwrap() {
            assert!((r.final_speed - equilibrium(r.actuator)).abs() < 0.05, "{:?}: {}", r.actuator, r.final_speed);
        }
        assert!(equilibrium(Actuator::Relu) - SET_POINT > 10.0);
        assert!(equilibrium(Actuator::Leaky) - SET_POINT < 2.0);
    }

    #[test]
    fn forward_pass_is_saturated_actuator_law() {
        for actuator in [Actuator::Relu, Actuator::Leaky] {
            let net = controller(actuator).unwrap();
            for i in 0..=60 {
                let e = -E_MAX + 0.5 * i as f64;
                let expected = actuator.activation().eval(0, KP * e).min(F_MAX);
                assert!((net.forward(&[e])[0] - expected).abs() < 1e-9, "{actuator:?} e = {e}");
            }
        }
    }
}
