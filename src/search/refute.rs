//! Reasoning about the inputs of a box that could still be unsafe, from the
//! linear lower bounds of an unsafe conjunction's rows.
//!
//! For each row `c_j·y <= rhs_j` of a conjunction, symbolic bounds give a
//! linear function with `c_j·f(x) >= g_j·x + h_j` for every `x` in the box
//! `B` ([`LinearBound`]). An input that is unsafe (with the proof relaxation
//! `r`, see [`UNSAFE_RELAX`](super::UNSAFE_RELAX)) has `c_j·f(x) <= rhs_j + r`
//! for every `j`, so it satisfies every [`Cut`] `g_j·x <= b_j` with
//! `b_j = rhs_j + r - h_j`: all unsafe inputs of `B` lie in the polytope
//! `P = {x in B : g_j·x <= b_j for all j}`. Two cheap consequences:
//!
//! * **Emptiness by combination.** For `t` in `[0, 1]`, every `x` in `P`
//!   satisfies `(t g_a + (1 - t) g_b)·x <= t b_a + (1 - t) b_b`. If the
//!   minimum of the left side over `B` exceeds the right side, `P` is empty
//!   (a Farkas certificate restricted to two rows), even though neither row
//!   alone excludes the box. This is what conjunctions such as "output 0 is
//!   the largest" need where two outputs trade places inside the box.
//! * **Box tightening** (feasibility-based bound tightening): from
//!   `g_j·x <= b_j`, `g_ji x_i <= b_j - min_B sum_{k != i} g_jk x_k`, which
//!   bounds `x_i` after a division by `g_ji`. Every unsafe input of `B` lies
//!   in the tightened box, so the search may continue on it alone, with
//!   tighter neuron bounds.

use crate::bounds::symbolic::LinearBound;
use crate::margins::REFUTE_PAD;
use crate::spec::InputBox;

/// A half-space `a·x <= b` that contains every unsafe input of a box.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// One coefficient per input.
    pub a: Vec<f64>,
    /// The right-hand side.
    pub b: f64,
}

impl Cut {
    /// The cut implied by `c·f(x) >= bound` on the box together with the
    /// (already relaxed) unsafe row `c·f(x) <= rhs`.
    pub fn new(bound: &LinearBound, rhs: f64) -> Cut {
        Cut { a: bound.coeffs.clone(), b: rhs - bound.constant }
    }

    /// `t self + (1 - t) other`.
    fn blend(&self, other: &Cut, t: f64) -> Cut {
        Cut {
            a: self.a.iter().zip(&other.a).map(|(p, q)| t * p + (1.0 - t) * q).collect(),
            b: t * self.b + (1.0 - t) * other.b,
        }
    }

    /// `min_B a·x - b`, less its rounding padding: positive only if no point
    /// of the box satisfies the cut.
    pub fn excess(&self, bx: &InputBox) -> f64 {
        let (mut value, mut scale) = (-self.b, self.b.abs());
        for (a, (l, u)) in self.a.iter().zip(bx.lower.iter().zip(&bx.upper)) {
            value += if *a > 0.0 { a * l } else { a * u };
            scale += a.abs() * l.abs().max(u.abs());
        }
        value - REFUTE_PAD * (1.0 + scale)
    }
}

/// The pair of cuts `(a, b)` and weight `t` whose blend
/// `t cuts[a] + (1 - t) cuts[b]` has the largest [`Cut::excess`] on `bx`,
/// with that excess; `None` for fewer than two cuts. The box is empty of
/// unsafe inputs when the excess is positive.
///
/// For one pair the excess is concave and piecewise linear in `t` (a minimum
/// over the box's corners of functions linear in `t`), with kinks only where
/// a coefficient of the blend changes sign, so its maximum lies at `t = 0`,
/// `t = 1` or one of those kinks, and we evaluate exactly those.
pub fn best_pair(cuts: &[Cut], bx: &InputBox) -> Option<(usize, usize, f64, f64)> {
    let mut best: Option<(usize, usize, f64, f64)> = None;
    for a in 0..cuts.len() {
        for b in a + 1..cuts.len() {
            let (p, q) = (&cuts[a], &cuts[b]);
            let kinks = p.a.iter().zip(&q.a).filter_map(|(pi, qi)| {
                // t pi + (1 - t) qi = 0  <=>  t = qi / (qi - pi).
                let t = qi / (qi - pi);
                (t > 0.0 && t < 1.0).then_some(t)
            });
            for t in [0.0, 1.0].into_iter().chain(kinks) {
                let excess = p.blend(q, t).excess(bx);
                if best.is_none_or(|(_, _, _, e)| excess > e) {
                    best = Some((a, b, t, excess));
                }
            }
        }
    }
    best
}

/// The smallest box this method finds that holds every point of `bx`
/// satisfying all `cuts`, after `rounds` passes over the cuts; `None` when
/// the cuts leave no point of `bx`.
///
/// A cut `a·x <= b` with `a_i != 0` gives `a_i x_i <= b - m_i`, where
/// `m_i = min_B sum_{k != i} a_k x_k`: an upper bound on `x_i` when
/// `a_i > 0`, a lower one when `a_i < 0`. New ends move outwards by
/// [`REFUTE_PAD`] relative to the terms involved, so rounding cannot cut off
/// a point of the true polytope.
pub fn tighten(bx: &InputBox, cuts: &[Cut], rounds: usize) -> Option<InputBox> {
    let mut out = bx.clone();
    for _ in 0..rounds {
        let mut changed = false;
        for cut in cuts {
            // min_B a·x and the magnitude of its terms, then each m_i by
            // removing term i.
            let (mut total, mut scale) = (0.0, cut.b.abs());
            let terms: Vec<f64> = (0..cut.a.len())
                .map(|i| {
                    let a = cut.a[i];
                    let t = if a > 0.0 { a * out.lower[i] } else { a * out.upper[i] };
                    total += t;
                    scale += a.abs() * out.lower[i].abs().max(out.upper[i].abs());
                    t
                })
                .collect();
            for (i, &a) in cut.a.iter().enumerate() {
                if a == 0.0 {
                    continue;
                }
                let rest = cut.b - (total - terms[i]);
                let pad = REFUTE_PAD * (1.0 + scale) / a.abs();
                let end = rest / a;
                if !end.is_finite() || !pad.is_finite() {
                    continue;
                }
                if a > 0.0 && end + pad < out.upper[i] {
                    out.upper[i] = end + pad;
                    changed = true;
                } else if a < 0.0 && end - pad > out.lower[i] {
                    out.lower[i] = end - pad;
                    changed = true;
                }
                if out.lower[i] > out.upper[i] {
                    return None;
                }
            }
        }
        if !changed {
            break;
        }
    }
    Some(out)
}

/// The smallest box holding both `a` and `b`.
pub fn hull(a: &InputBox, b: &InputBox) -> InputBox {
    let mut out = a.clone();
    for i in 0..out.dim() {
        out.lower[i] = out.lower[i].min(b.lower[i]);
        out.upper[i] = out.upper[i].max(b.upper[i]);
    }
    out
}

/// The largest fraction of its width that any dimension of `outer` loses in
/// `inner` (0 when nothing shrank).
pub fn shrinkage(outer: &InputBox, inner: &InputBox) -> f64 {
    (0..outer.dim())
        .map(|i| {
            let w = outer.upper[i] - outer.lower[i];
            if w > 0.0 {
                1.0 - (inner.upper[i] - inner.lower[i]) / w
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn unit_box(n: usize) -> InputBox {
        InputBox::new(vec![-1.0; n], vec![1.0; n]).unwrap()
    }

    fn random_cut(rng: &mut Rng, n: usize) -> Cut {
        Cut { a: (0..n).map(|_| rng.range(-1.0, 1.0)).collect(), b: rng.range(-1.5, 0.5) }
    }

    fn satisfies(cuts: &[Cut], x: &[f64]) -> bool {
        cuts.iter().all(|c| c.a.iter().zip(x).map(|(a, v)| a * v).sum::<f64>() <= c.b)
    }

    /// Independent check: dense random points of the box that satisfy every
    /// cut must lie in the tightened box, and none may exist when a pair is
    /// declared to exclude the box.
    #[test]
    fn tightening_and_pairs_keep_every_feasible_point() {
        let mut rng = Rng::new(11);
        let (mut emptied, mut shrunk) = (0, 0);
        for _ in 0..300 {
            let n = 2 + rng.below(3);
            let bx = unit_box(n);
            let cuts: Vec<Cut> = (0..2 + rng.below(3)).map(|_| random_cut(&mut rng, n)).collect();
            let tight = tighten(&bx, &cuts, 3);
            let excluded = best_pair(&cuts, &bx).is_some_and(|(.., e)| e > 0.0);
            emptied += usize::from(excluded || tight.is_none());
            if let Some(t) = &tight {
                shrunk += usize::from(shrinkage(&bx, t) > 0.0);
            }
            for _ in 0..400 {
                let x: Vec<f64> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
                if satisfies(&cuts, &x) {
                    assert!(!excluded, "pair exclusion of a box with feasible point {x:?}: {cuts:?}");
                    let t = tight.as_ref().expect("tightening emptied a box with a feasible point");
                    assert!(t.contains(&x), "{x:?} outside tightened {t:?}");
                }
            }
        }
        // The methods must actually do something on these cases.
        assert!(emptied > 30 && shrunk > 30, "emptied {emptied}, shrunk {shrunk}");
    }

    #[test]
    fn a_pair_excludes_what_neither_cut_does() {
        // x0 <= -0.2 and -x0 <= -0.2 (x0 >= 0.2): each alone is satisfiable
        // on [-1, 1]; their average 0 <= -0.2 is not.
        let bx = unit_box(1);
        let cuts = [Cut { a: vec![1.0], b: -0.2 }, Cut { a: vec![-1.0], b: -0.2 }];
        assert!(cuts.iter().all(|c| c.excess(&bx) < 0.0));
        let (_, _, t, e) = best_pair(&cuts, &bx).unwrap();
        assert!((t - 0.5).abs() < 1e-12 && (e - 0.2).abs() < 1e-6, "t {t}, e {e}");
    }
}
