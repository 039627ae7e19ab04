//! Cheap counterexample search before any proof is attempted.
//!
//! Samples the centre, corners and uniform random points of each region's
//! box and keeps the first input whose f64 output is unsafe. Every hit goes
//! through [`check_witness`], so a returned witness is always valid.
//!
//! In a region with linear input constraints every sample and every
//! gradient step is moved into the polytope by [`Region::project`] (clamp to
//! the box, then project onto each violated constraint); a point it cannot
//! bring inside fails the witness check and is skipped.
//! Both searches stop early, finding nothing, once the run's deadline has
//! passed (polled per sample and per descent: on MNIST-FC 256x6 the
//! descents of all restarts take about a second).

use std::time::Instant;

use crate::bounds::past;
use crate::model::Network;
use crate::rng::Rng;
use crate::spec::{Conjunction, InputBox, Property, Region};
use crate::verdict::{check_witness, Witness};

/// Inputs of at most this many dimensions get all `2^dim` corners tried;
/// larger ones get random corners instead.
const MAX_DIM_ALL_CORNERS: usize = 10;

/// `x` projected into `region`'s polytope ([`Region::project`]) when the
/// region has input constraints; otherwise `x` itself, at no cost (the
/// witness check clamps into the box).
pub fn into_region(region: &Region, x: Vec<f64>) -> Vec<f64> {
    if region.input_constraints.is_empty() {
        x
    } else {
        region.project(&x)
    }
}

/// Regions that each get the whole sampling and descent budget. A property
/// with more regions shares this many regions' worth among them (VNN-COMP's
/// learned-index files list tens of thousands of small input intervals,
/// where a full budget each took 15 ms per region, more than the proof):
/// every region still gets its centre, and the input-splitting search,
/// which probes and descends within every box its bounds leave open, finds
/// the counterexamples of the rest. Properties of up to this many regions
/// (ACAS Xu's have one or two) are sampled as before.
pub const FULL_BUDGET_REGIONS: usize = 16;

/// `budget` (samples or restarts for one region) for each of `regions`
/// regions under [`FULL_BUDGET_REGIONS`].
fn per_region(budget: usize, regions: usize) -> usize {
    if regions <= FULL_BUDGET_REGIONS {
        budget
    } else {
        budget * FULL_BUDGET_REGIONS / regions
    }
}

/// Try the centre and up to `samples` more points per region (fewer each
/// when there are many regions, see [`FULL_BUDGET_REGIONS`]), until
/// `deadline`; return the first validated witness.
pub fn sample(net: &Network, prop: &Property, samples: usize, seed: u64, deadline: Option<Instant>) -> Option<Witness> {
    let mut rng = Rng::new(seed);
    let samples = per_region(samples, prop.regions.len());
    for (r, region) in prop.regions.iter().enumerate() {
        if past(deadline) {
            return None;
        }
        let b = &region.input;
        if let Some(w) = check_witness(net, prop, r, &into_region(region, b.center())) {
            return Some(w);
        }
        let dim = b.dim();
        let corners = if dim <= MAX_DIM_ALL_CORNERS { (1usize << dim).min(samples) } else { 0 };
        for c in 0..corners {
            if past(deadline) {
                return None;
            }
            let x: Vec<f64> = (0..dim).map(|i| if c >> i & 1 == 1 { b.upper[i] } else { b.lower[i] }).collect();
            if let Some(w) = check_witness(net, prop, r, &into_region(region, x)) {
                return Some(w);
            }
        }
        for s in corners..samples {
            if past(deadline) {
                return None;
            }
            let x: Vec<f64> = (0..dim)
                .map(|i| match (s % 4, rng.below(2)) {
                    // A quarter of the points are random corners, the rest uniform.
                    (0, 0) => b.lower[i],
                    (0, _) => b.upper[i],
                    _ => rng.range(b.lower[i], b.upper[i]),
                })
                .collect();
            if let Some(w) = check_witness(net, prop, r, &into_region(region, x)) {
                return Some(w);
            }
        }
    }
    None
}

/// Projected gradient descent steps per restart.
const PGD_STEPS: usize = 60;

/// First step of a descent, as a fraction of the box width: from the
/// centre, half the width reaches the corner the gradient points to, and
/// later steps search between corners.
pub const FIRST_STEP: f64 = 0.5;

/// First step of every other restart of [`gradient_descent`]: a whole
/// width takes any start to the gradient's corner (a fast gradient sign
/// step over the whole box), and the search goes on from there. On the 23
/// MNIST-FC instances with a known counterexample (4 restarts), half the
/// width alone found 21 before the proof search, a whole width alone or
/// alternating 22 (256x4 property 1 at eps 0.05 among them, which 128
/// restarts from half the width missed). On ACAS Xu a whole width in every
/// descent, the input split's included, lost net 1_9 property 7, which
/// those descents find; they keep [`FIRST_STEP`].
pub const WIDE_FIRST_STEP: f64 = 1.0;

/// Projected sign-gradient descent on the violation margin
/// `max_j (c_j·y - rhs_j)` of `conj` inside `bx`, from `x`, for `steps`
/// steps whose size shrinks from `first_step` times the box width to a
/// small fraction of it. Returns the first point that [`check_witness`]
/// accepts for `region`. With input constraints every point is projected
/// into the region's polytope ([`into_region`]), which may take it out of
/// `bx` but never out of the region.
#[allow(clippy::too_many_arguments)]
pub fn descend(
    net: &Network,
    prop: &Property,
    region: usize,
    conj: &Conjunction,
    bx: &InputBox,
    mut x: Vec<f64>,
    steps: usize,
    first_step: f64,
) -> Option<Witness> {
    let width: Vec<f64> = bx.lower.iter().zip(&bx.upper).map(|(l, u)| u - l).collect();
    let r = &prop.regions[region];
    x = into_region(r, x);
    for step in 0..steps {
        let pre = net.forward_pre_activations(&x);
        let y = net.output_from(&pre);
        let (row, margin) =
            conj.constraints.iter().map(|c| (c, c.slack_violation(&y))).max_by(|a, b| a.1.total_cmp(&b.1))?;
        if margin <= 0.0 {
            if let Some(w) = check_witness(net, prop, region, &x) {
                return Some(w);
            }
        }
        let g = net.gradient_from(&pre, &row.coeffs);
        let eta = first_step * (1.0 - step as f64 / steps as f64).powi(2) + 0.01;
        for i in 0..x.len() {
            x[i] -= eta * width[i] * g[i].signum();
        }
        x = into_region(r, bx.clamp(&x));
    }
    let y = net.forward(&x);
    (conj.max_violation(&y) <= 0.0).then(|| check_witness(net, prop, region, &x)).flatten()
}

/// Search for a counterexample by [`descend`] on each unsafe disjunct, from
/// the box centre and `restarts - 1` random starts per region (fewer, or
/// none, when there are many regions: [`FULL_BUDGET_REGIONS`]), the first
/// step alternating between [`FIRST_STEP`] and [`WIDE_FIRST_STEP`], until
/// `deadline`. The network is piecewise linear, so the gradient is exact
/// inside each linear region.
pub fn gradient_descent(
    net: &Network,
    prop: &Property,
    restarts: usize,
    seed: u64,
    deadline: Option<Instant>,
) -> Option<Witness> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let restarts = per_region(restarts, prop.regions.len());
    for r in 0..prop.regions.len() {
        for restart in 0..restarts {
            let start = if restart == 0 { Start::Centre } else { Start::Random(&mut rng) };
            let first_step = if restart % 2 == 0 { FIRST_STEP } else { WIDE_FIRST_STEP };
            if let Some(w) = restart_region(net, prop, r, start, first_step, deadline) {
                return Some(w);
            }
        }
    }
    None
}

/// Where a descent starts.
pub(crate) enum Start<'a> {
    /// The centre of the region's box.
    Centre,
    /// A uniform random point of the box.
    Random(&'a mut Rng),
}

/// One [`descend`] of [`PGD_STEPS`] on each unsafe disjunct of region `r`
/// from one start point, with first step `first_step`, until `deadline`.
/// The split search runs these between boxes, so that a counterexample in
/// a small part of a large region is found even while the proof search is
/// busy elsewhere.
pub(crate) fn restart_region(
    net: &Network,
    prop: &Property,
    r: usize,
    start: Start,
    first_step: f64,
    deadline: Option<Instant>,
) -> Option<Witness> {
    let b = &prop.regions[r].input;
    let x = match start {
        Start::Centre => b.center(),
        Start::Random(rng) => (0..b.dim()).map(|i| rng.range(b.lower[i], b.upper[i])).collect(),
    };
    for conj in &prop.regions[r].unsafe_set.disjuncts {
        if past(deadline) {
            return None;
        }
        if conj.constraints.is_empty() {
            return check_witness(net, prop, r, &into_region(&prop.regions[r], x));
        }
        if let Some(w) = descend(net, prop, r, conj, b, x.clone(), PGD_STEPS, first_step) {
            return Some(w);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Activation;
    use crate::testutil::{self, layer};

    /// `y = |x|` on `[-1, 1]`, unsafe where `y >= 0.99`: the corners and a
    /// descent from a random start find it, unless the deadline has passed.
    #[test]
    fn searches_find_nothing_past_their_deadline() {
        let net = Network::new(vec![
            layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Relu),
            layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity),
        ])
        .unwrap();
        let prop = testutil::property(&[-1.0], &[1.0], &[&[(&[(0, -1.0)], -0.99)]]);
        let (now, later) = (Instant::now(), Instant::now() + Duration::from_secs(600));
        assert!(sample(&net, &prop, 16, 0, Some(later)).is_some());
        assert!(sample(&net, &prop, 16, 0, Some(now)).is_none());
        assert!(gradient_descent(&net, &prop, 4, 0, Some(later)).is_some());
        assert!(gradient_descent(&net, &prop, 4, 0, Some(now)).is_none());
    }
}
