//! Neuron-wise piecewise-linear activations, each kind defined in one place.
//!
//! A kind is defined here by two things side by side: its exact evaluation
//! ([`Activation::eval`], what forward passes and witness checks use) and its
//! *hinge decomposition* ([`Activation::hinges`]),
//!
//! ```text
//! act_i(z) = c + a z + sum_k w_k relu(z - t_k),      t_1 < t_2 < ...
//! ```
//!
//! * ReLU: `c = 0, a = 0`, one hinge `(t = 0, w = 1)`.
//! * Leaky/PReLU with slope `s`: `a = s`, one hinge `(0, 1 - s)` (for `z >= 0`
//!   this is `s z + (1 - s) z = z`; none when `s = 1`). Any `s`, negative too.
//! * Clip to `[lo, hi]`: `c = lo`, hinges `(lo, 1)` and `(hi, -1)`; with
//!   `lo = -inf` it is `z - relu(z - hi)`, with `hi = +inf` `lo + relu(z - lo)`.
//! * Identity: `a = 1`, no hinge.
//!
//! Everything the rest of the pipeline needs is derived from the
//! decomposition, never by matching on the kind again: the slope on each
//! piece, the kinks (hinge positions), which kinks lie inside an interval
//! (instability; the [`Kink`] geometry the linear relaxations in
//! `bounds::symbolic` are built from), the exact interval image, the
//! Lipschitz constant, and the MILP encoding (`milp::encode`: one exact ReLU
//! gadget per hinge a neuron's bounds straddle). A new kind is its `eval`,
//! its `hinges`, its validation and a line in the ONNX exporter. A test
//! checks that `eval` and the decomposition agree; `eval` stays a direct
//! formula because `lo + (z - lo)` is not always `z` in f64, and witnesses
//! are judged on the function the file defines.

/// A neuron-wise piecewise-linear activation.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// `y = z` (no activation; used on the output layer).
    Identity,
    /// `y = max(z, 0)`.
    Relu,
    /// `y = z` for `z >= 0`, `y = slope_i * z` for `z < 0`, with one slope per
    /// neuron. ONNX `LeakyRelu` has one slope for all neurons, `PRelu` one per
    /// neuron or channel; both land here.
    Leaky {
        /// One slope per neuron of the layer.
        slopes: Vec<f64>,
    },
    /// `y = min(max(z, lo), hi)` with `lo < hi`; either bound may be infinite
    /// (then that kink is absent). ReLU6 is `Clip { lo: 0, hi: 6 }`,
    /// hard-tanh is `Clip { lo: -1, hi: 1 }`.
    Clip {
        /// Lower saturation level.
        lo: f64,
        /// Upper saturation level.
        hi: f64,
    },
}

/// The most hinges one neuron has (a Clip with both levels finite).
const MAX_HINGES: usize = 2;

/// One term `weight * relu(z - at)` of a [`Hinges`] decomposition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hinge {
    /// Where the slope changes.
    pub at: f64,
    /// By how much the slope grows there (negative: it falls).
    pub weight: f64,
}

/// `f(z) = constant + linear z + sum_k weight_k relu(z - at_k)`, hinges in
/// increasing `at`, every weight nonzero (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hinges {
    /// `c`.
    pub constant: f64,
    /// `a`: the slope left of every hinge.
    pub linear: f64,
    hinges: [Hinge; MAX_HINGES],
    len: usize,
}

impl Hinges {
    fn new(constant: f64, linear: f64, terms: &[Hinge]) -> Hinges {
        let mut h = Hinges { constant, linear, hinges: [Hinge { at: 0.0, weight: 0.0 }; MAX_HINGES], len: 0 };
        for &t in terms.iter().filter(|t| t.weight != 0.0 && t.at.is_finite()) {
            h.hinges[h.len] = t;
            h.len += 1;
        }
        h
    }

    /// The hinges, in increasing position.
    pub fn terms(&self) -> &[Hinge] {
        &self.hinges[..self.len]
    }

    /// The value at `z` computed from the decomposition (for tests and
    /// kink values; [`Activation::eval`] is the definition).
    pub fn eval(&self, z: f64) -> f64 {
        self.terms().iter().fold(self.constant + self.linear * z, |y, h| y + h.weight * (z - h.at).max(0.0))
    }

    /// The slope at `z`; at a hinge, the slope of the piece to its right.
    pub fn slope(&self, z: f64) -> f64 {
        self.terms().iter().filter(|h| z >= h.at).fold(self.linear, |s, h| s + h.weight)
    }

    /// The largest `|slope|` over all pieces (the Lipschitz constant).
    pub fn lipschitz(&self) -> f64 {
        let mut s = self.linear;
        let mut max = s.abs();
        for h in self.terms() {
            s += h.weight;
            max = max.max(s.abs());
        }
        max
    }
}

/// One kink of a piecewise-linear function of one variable:
/// `f(z) = value + left (z - at)` for `z <= at`, `value + right (z - at)` for
/// `z >= at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kink {
    /// Where the slope changes.
    pub at: f64,
    /// `f(at)`.
    pub value: f64,
    /// The slope just left of `at`.
    pub left: f64,
    /// The slope just right of `at`.
    pub right: f64,
}

impl Kink {
    /// `f(z)` on the two pieces meeting at this kink.
    pub fn eval(&self, z: f64) -> f64 {
        let s = if z <= self.at { self.left } else { self.right };
        self.value + s * (z - self.at)
    }

    /// `true` when the function is convex at the kink (`left <= right`).
    pub fn convex(&self) -> bool {
        self.left <= self.right
    }
}

impl Activation {
    /// Apply the activation to neuron `i`'s pre-activation `z`.
    pub fn eval(&self, i: usize, z: f64) -> f64 {
        match self {
            Activation::Identity => z,
            Activation::Relu => z.max(0.0),
            Activation::Leaky { slopes } => {
                if z >= 0.0 {
                    z
                } else {
                    slopes[i] * z
                }
            }
            Activation::Clip { lo, hi } => z.max(*lo).min(*hi),
        }
    }

    /// Neuron `i`'s hinge decomposition (see the module doc).
    pub fn hinges(&self, i: usize) -> Hinges {
        let hinge = |at, weight| Hinge { at, weight };
        match self {
            Activation::Identity => Hinges::new(0.0, 1.0, &[]),
            Activation::Relu => Hinges::new(0.0, 0.0, &[hinge(0.0, 1.0)]),
            Activation::Leaky { slopes } => Hinges::new(0.0, slopes[i], &[hinge(0.0, 1.0 - slopes[i])]),
            &Activation::Clip { lo, hi } => match (lo.is_finite(), hi.is_finite()) {
                (true, _) => Hinges::new(lo, 0.0, &[hinge(lo, 1.0), hinge(hi, -1.0)]),
                (false, true) => Hinges::new(0.0, 1.0, &[hinge(hi, -1.0)]),
                (false, false) => Hinges::new(0.0, 1.0, &[]),
            },
        }
    }

    /// The slope of neuron `i`'s activation at `z` (at a kink, the slope of
    /// the piece to its right).
    pub fn slope(&self, i: usize, z: f64) -> f64 {
        self.hinges(i).slope(z)
    }

    /// The least and greatest slope of neuron `i`'s activation on `[l, u]`:
    /// over the slopes at `l` and `u` ([`Activation::slope`]) and on both
    /// sides of every kink strictly inside. One decomposition for all of
    /// them (input splitting asks this of every neuron of every box).
    pub fn slope_range(&self, i: usize, l: f64, u: f64) -> (f64, f64) {
        let h = self.hinges(i);
        let (at_l, at_u) = (h.slope(l), h.slope(u));
        let (mut min, mut max) = (at_l.min(at_u), at_l.max(at_u));
        let mut slope = h.linear;
        for t in h.terms() {
            let right = slope + t.weight;
            if l < t.at && t.at < u {
                min = min.min(slope).min(right);
                max = max.max(slope).max(right);
            }
            slope = right;
        }
        (min, max)
    }

    /// The kinks of neuron `i` strictly inside `(l, u)`, in increasing order.
    /// An infinite bound never makes a kink "inside" by itself: the test is
    /// `l < at < u`.
    pub fn kinks_inside(&self, i: usize, l: f64, u: f64) -> Kinks {
        let h = self.hinges(i);
        let mut kinks = Kinks { kinks: [Kink { at: 0.0, value: 0.0, left: 0.0, right: 0.0 }; MAX_HINGES], len: 0 };
        let mut slope = h.linear;
        for t in h.terms() {
            let right = slope + t.weight;
            if l < t.at && t.at < u {
                kinks.kinks[kinks.len] = Kink { at: t.at, value: self.eval(i, t.at), left: slope, right };
                kinks.len += 1;
            }
            slope = right;
        }
        kinks
    }

    /// `true` when neuron `i`'s activation has a kink strictly inside `(l, u)`
    /// (the MILP needs a binary for it).
    pub fn is_unstable(&self, i: usize, l: f64, u: f64) -> bool {
        self.hinges(i).terms().iter().any(|h| l < h.at && h.at < u)
    }

    /// The exact image `[min, max]` of `[l, u]` under neuron `i`'s activation.
    ///
    /// Each activation is piecewise linear, so its extremes over an interval
    /// lie at the endpoints or at a kink inside; this holds for any Leaky
    /// slope, including negative ones where the activation is not monotone.
    pub fn interval_image(&self, i: usize, l: f64, u: f64) -> (f64, f64) {
        let (fl, fu) = (self.eval(i, l), self.eval(i, u));
        let (mut lo, mut hi) = (fl.min(fu), fl.max(fu));
        for k in self.kinks_inside(i, l, u).iter() {
            lo = lo.min(k.value);
            hi = hi.max(k.value);
        }
        (lo, hi)
    }

    /// A short name for reports (`relu`, `leaky`, `clip`, `identity`).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::Leaky { .. } => "leaky",
            Activation::Clip { .. } => "clip",
        }
    }

    /// Check the parameters for a layer of `neurons` neurons; the message
    /// says what is wrong.
    pub(crate) fn validate(&self, neurons: usize) -> std::result::Result<(), String> {
        match self {
            Activation::Leaky { slopes } => {
                if slopes.len() != neurons {
                    return Err(format!("{} leaky slopes for {neurons} neurons", slopes.len()));
                }
                if slopes.iter().any(|s| !s.is_finite()) {
                    return Err("non-finite leaky slope".into());
                }
            }
            Activation::Clip { lo, hi } => {
                if lo.is_nan() || hi.is_nan() || lo >= hi {
                    return Err(format!("clip needs lo < hi, got [{lo}, {hi}]"));
                }
            }
            Activation::Identity | Activation::Relu => {}
        }
        Ok(())
    }
}

/// The kinks of one neuron inside an interval (at most two), in increasing
/// order; see [`Activation::kinks_inside`].
#[derive(Debug, Clone, Copy)]
pub struct Kinks {
    kinks: [Kink; MAX_HINGES],
    len: usize,
}

impl Kinks {
    /// The kinks as a slice.
    pub fn as_slice(&self) -> &[Kink] {
        &self.kinks[..self.len]
    }

    /// The kinks, in increasing position.
    pub fn iter(&self) -> std::slice::Iter<'_, Kink> {
        self.as_slice().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn kinds() -> Vec<Activation> {
        vec![
            Activation::Identity,
            Activation::Relu,
            Activation::Leaky { slopes: vec![0.1, 2.0, -0.5, 1.0, 0.0] },
            Activation::Clip { lo: 0.0, hi: 6.0 },
            Activation::Clip { lo: -1.0, hi: 1.0 },
            Activation::Clip { lo: f64::NEG_INFINITY, hi: 0.3 },
            Activation::Clip { lo: -0.2, hi: f64::INFINITY },
        ]
    }

    #[test]
    fn activations_eval() {
        let leaky = Activation::Leaky { slopes: vec![0.1, 2.0] };
        assert_eq!(leaky.eval(0, -1.0), -0.1);
        assert_eq!(leaky.eval(1, -1.0), -2.0);
        assert_eq!(leaky.eval(1, 3.0), 3.0);
        let relu6 = Activation::Clip { lo: 0.0, hi: 6.0 };
        assert_eq!(relu6.eval(0, -1.0), 0.0);
        assert_eq!(relu6.eval(0, 7.0), 6.0);
        assert_eq!(relu6.eval(0, 2.5), 2.5);
    }

    /// `slope_range` holds every finite-difference slope sampled inside
    /// `[l, u]`, and each of its ends is the slope of a piece that meets
    /// `[l, u]` (sampled close to it).
    #[test]
    fn slope_range_against_sampled_slopes() {
        let mut rng = Rng::new(11);
        for act in kinds() {
            for i in 0..5 {
                for _ in 0..200 {
                    let (a, b) = (rng.range(-8.0, 8.0), rng.range(-8.0, 8.0));
                    let (l, u) = (a.min(b), a.max(b));
                    let (min, max) = act.slope_range(i, l, u);
                    let d = 1e-7;
                    let mut seen = Vec::new();
                    for k in 0..=400 {
                        let z = l + (u - l) * f64::from(k) / 400.0;
                        let (z0, z1) = ((z - d).max(l), (z + d).min(u));
                        if z1 > z0 {
                            let fd = (act.eval(i, z1) - act.eval(i, z0)) / (z1 - z0);
                            assert!(min - 1e-6 <= fd && fd <= max + 1e-6, "{act:?} [{l}, {u}] at {z}: {fd}");
                            seen.push(fd);
                        }
                    }
                    let near = |s: f64| seen.iter().any(|fd| (fd - s).abs() < 1e-6);
                    // A slope met only at the point u (the piece right of a
                    // kink at u) is not sampled; with u - l > 0.05 both ends
                    // are slopes of pieces that lie inside.
                    if u - l > 0.05 && act.hinges(i).terms().iter().all(|t| (t.at - u).abs() > 1e-3) {
                        assert!(near(min) && near(max), "{act:?} [{l}, {u}]: ({min}, {max})");
                    }
                }
            }
        }
    }

    /// The decomposition is the function: values agree with `eval` and the
    /// slope with a finite difference on each side, everywhere but at kinks.
    #[test]
    fn hinges_agree_with_eval() {
        let mut rng = Rng::new(5);
        for act in kinds() {
            for i in 0..5 {
                let h = act.hinges(i);
                for _ in 0..200 {
                    let z = rng.range(-8.0, 8.0);
                    let y = act.eval(i, z);
                    assert!((h.eval(z) - y).abs() <= 1e-12 * (1.0 + y.abs()), "{act:?} at {z}");
                    let d = 1e-7;
                    if h.terms().iter().all(|t| (t.at - z).abs() > 2.0 * d) {
                        let fd = (act.eval(i, z + d) - act.eval(i, z - d)) / (2.0 * d);
                        assert!((fd - act.slope(i, z)).abs() < 1e-6, "{act:?} slope at {z}");
                    }
                }
            }
        }
    }

    /// The image of an interval contains every sampled value and is attained.
    #[test]
    fn interval_image_is_exact() {
        let mut rng = Rng::new(8);
        for act in kinds() {
            for _ in 0..100 {
                let (a, b) = (rng.range(-8.0, 8.0), rng.range(-8.0, 8.0));
                let (l, u) = (a.min(b), a.max(b));
                let (lo, hi) = act.interval_image(2, l, u);
                let samples: Vec<f64> = (0..=400).map(|k| act.eval(2, l + (u - l) * k as f64 / 400.0)).collect();
                let (smin, smax) =
                    samples.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(m, x), &v| (m.min(v), x.max(v)));
                assert!(lo <= smin + 1e-12 && hi >= smax - 1e-12, "{act:?} on [{l}, {u}]");
                assert!(smin - lo < 0.1 && hi - smax < 0.1, "{act:?} on [{l}, {u}]: not attained");
            }
        }
    }

    #[test]
    fn kinks_inside_and_instability() {
        let relu6 = Activation::Clip { lo: 0.0, hi: 6.0 };
        let both = relu6.kinks_inside(0, -1.0, 8.0);
        assert_eq!(both.as_slice().len(), 2);
        assert_eq!(both.as_slice()[0], Kink { at: 0.0, value: 0.0, left: 0.0, right: 1.0 });
        assert_eq!(both.as_slice()[1], Kink { at: 6.0, value: 6.0, left: 1.0, right: 0.0 });
        assert!(relu6.is_unstable(0, 5.0, 7.0));
        assert!(!relu6.is_unstable(0, 0.0, 6.0), "kinks at the ends are not inside");
        let leaky = Activation::Leaky { slopes: vec![1.0, -0.5] };
        assert!(!leaky.is_unstable(0, -1.0, 1.0), "slope 1 is the identity");
        assert_eq!(leaky.kinks_inside(1, -1.0, 1.0).as_slice()[0].left, -0.5);
        assert!(!Activation::Relu.is_unstable(0, f64::NEG_INFINITY, 0.0));
        assert_eq!(Activation::Leaky { slopes: vec![-3.0] }.hinges(0).lipschitz(), 3.0);
        assert_eq!(relu6.hinges(0).lipschitz(), 1.0);
    }
}
