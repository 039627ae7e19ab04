//! Intermediate bounds under fixed phases: the split constraints of a
//! phase-splitting domain in the bounds of its neurons (beta-CROWN's
//! multipliers, for intermediate layers).
//!
//! A domain fixes the phases of some neurons, constraints
//! `side (z_c - at_c) >= 0` ([`Constraint`]). [`refine`](super::refine)
//! recomputes its bounds from the clamped intervals of the fixed neurons,
//! which make their own relaxations exact but do not restrict the inputs: a
//! neuron of the same or a later layer is still bounded over the whole box,
//! including the inputs where a fixed neuron is on its other side. For any
//! multipliers `beta_c >= 0`, on the domain
//!
//! ```text
//! z_i  >=  z_i - sum_c beta_c side_c (z_c - at_c)      (every term is <= 0 there)
//! ```
//!
//! and the right-hand side is a linear function of pre-activations, so it is
//! back-substituted like `z_i` alone, each term entering the row at its
//! constraint's layer (the extras of `Below::step`; a constraint on the
//! neuron's own layer `k` enters with the row, as
//! `-beta side (W_k[q] y_{k-1} + b_q - at)`). Every level of the walk is then a
//! lower bound of `z_i` plus the terms entered so far, so of `z_i`, on the
//! domain; `-z_i` (the upper bound) alike, with multipliers of its own. A
//! neuron's rows see the constraints on layers up to its own.
//!
//! Measured on MNIST-FC 256x2 property 1 (eps 0.03), 8 splits deep: bounding
//! every unstable neuron this way made 10 to 70 more of them stable and
//! lifted the unsafe row's bound by 0.1 to 0.4, about what LPs over the
//! triangle relaxation with the split constraints give, and a search tree
//! that took 17 746 domains took 371.
//!
//! The multipliers are chosen by projected gradient ascent (Adam), as in
//! [`optimise`](super::optimise), but amortised over the search tree: each
//! refinement of a domain takes one step from its parent's multipliers and
//! hands the result to its children. The bound of a row is the minimum over
//! the box of a linear function of the input; by the envelope argument of
//! `optimise`, its derivative in `beta_c` is `-side_c (ẑ_c - at_c)`, where
//! `ẑ` are the pre-activations when the minimising input corner goes forward
//! through the lines the row used.
//!
//! Soundness: only `beta >= 0` is ever used (the step projects, and a
//! multiplier that is not finite is reset to 0), and every bound is a level
//! minimum of a complete substitution, as without constraints; the
//! optimisation decides how tight a bound is, never whether it is sound.

use super::kernels::{mul_transposed_f32, select};
use super::optimise::{Adam, Constraint};
use super::{Below, Rows};

/// Step size of the multipliers' Adam steps. Adam's first steps move a
/// parameter by about this much, so a multiplier grows by about this much
/// per pass below its split. Measured on MNIST-FC, domains to close:
/// 256x2 property 1 eps 0.03, third disjunct (2 threads, one pass), 0.02 /
/// 0.05 / 0.1 / 0.2 / 0.4 / 0.8 took 14 877 / 6 311 / 3 303 / 2 483 / 2 471
/// / 4 762; with two passes, 256x4 property 4 eps 0.05, six of its
/// disjuncts' trees (one thread), 0.2 / 0.4 / 0.5 took 10 960 / 9 233 /
/// 7 879 in all (the first disjunct alone 437 / 852 / 1 461, the fourth 2 820
/// / 1 385 / 1 067), and whole instances (2 threads) 256x4 property 10 eps
/// 0.05 14 070 / 11 542 / 9 795, 256x4 property 0 eps 0.03 621 / 447 / 433,
/// property 5 eps 0.03 700 / 576 / 621, 256x2 property 3 eps 0.03 2 276 /
/// 2 143 / 2 143; 0.6 and 1.0 took more than 0.4 on two of the trees.
pub const PHASE_BETA_RATE: f64 = 0.5;

/// Passes over each constrained layer per refinement, each one step of the
/// multipliers. A new split's multipliers start at 0, so with one pass its
/// constraint only enters the bounds of the next domain down; a second pass
/// uses it at once. On MNIST-FC 256x2 property 1 eps 0.03, disjuncts 2 and 7
/// took 1 289 and 14 358 domains (4.0 and 43.0 s, 2 threads) with two
/// passes, 2 483 and 24 999 (4.6 and 48.4 s) with one.
pub const PASSES: usize = 2;

/// The fixed phases of a domain and the multipliers of their constraints
/// in the bounds of every neuron.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FixedPhases {
    constraints: Vec<Constraint>,
    /// `[layer][2 i + s]`: the multipliers of the row bounding neuron `i`
    /// from below (`s = 0`) or above (`s = 1`).
    rows: Vec<Vec<Multipliers>>,
}

/// One row's multipliers, one per constraint in order (missing: 0), and
/// their Adam state.
#[derive(Debug, Clone, PartialEq)]
struct Multipliers {
    beta: Vec<f64>,
    adam: Adam,
}

impl Default for Multipliers {
    fn default() -> Multipliers {
        Multipliers { beta: Vec::new(), adam: Adam::new(0, PHASE_BETA_RATE) }
    }
}

impl FixedPhases {
    /// The constraints, in the order they were fixed.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// Fix one more phase; its multiplier starts at 0 in every row.
    pub fn push(&mut self, c: Constraint) {
        self.constraints.push(c);
    }

    /// `true` when a constraint is on layer `k` or below (and so enters the
    /// bounds of layer `k`).
    pub fn constrains(&self, k: usize) -> bool {
        self.constraints.iter().any(|c| c.layer <= k)
    }

    /// The view of layer `k` (of `width` neurons) that its bounds use, or
    /// `None` when no constraint enters them.
    pub(super) fn layer(&mut self, k: usize, width: usize) -> Option<LayerPhases<'_>> {
        if !self.constrains(k) {
            return None;
        }
        if self.rows.len() <= k {
            self.rows.resize_with(k + 1, Vec::new);
        }
        let rows = &mut self.rows[k];
        if rows.len() < 2 * width {
            rows.resize_with(2 * width, Multipliers::default);
        }
        Some(LayerPhases { k, constraints: &self.constraints, rows })
    }
}

/// The constraints and multipliers for the rows of one layer `k`.
pub(super) struct LayerPhases<'a> {
    k: usize,
    constraints: &'a [Constraint],
    rows: &'a mut [Multipliers],
}

/// Rows as they were before the step through layer `j`: over `y_j`, two
/// per neuron of `live` (in order), `width` wide.
pub(super) struct Level {
    j: usize,
    live: Vec<usize>,
    coeffs: Vec<f64>,
    width: usize,
}

impl LayerPhases<'_> {
    /// The terms `(q, e, at)` that row `row` (`2 i + s`) takes at layer `j`:
    /// `e = -beta side` for each constraint on neuron `q` of layer `j` with a
    /// positive multiplier.
    pub(super) fn terms(&self, row: usize, j: usize) -> Vec<(usize, f64, f64)> {
        let beta = &self.rows[row].beta;
        self.constraints
            .iter()
            .zip(beta)
            .filter(|(c, &b)| c.layer == j && b > 0.0)
            .map(|(c, &b)| (c.neuron, -b * c.side, c.at))
            .collect()
    }

    /// How many layers [`LayerPhases::ascend`]'s forward passes go through:
    /// up to the deepest constrained layer at most `k`.
    fn forward_depth(&self) -> usize {
        self.constraints.iter().filter(|c| c.layer <= self.k).map(|c| c.layer + 1).max().unwrap_or(0)
    }

    /// `true` when [`LayerPhases::ascend`] reads the rows before the step
    /// through layer `j`: only the layers below the last of its forward
    /// passes take the corners through the rows' lines.
    pub(super) fn needs_level(&self, j: usize) -> bool {
        j + 1 < self.forward_depth()
    }

    /// Record `rows` (two per neuron of `live`) before the step through
    /// layer `j`, for [`LayerPhases::ascend`].
    pub(super) fn level(j: usize, live: &[usize], rows: &Rows) -> Level {
        Level { j, live: live.to_vec(), coeffs: rows.coeffs.clone(), width: rows.width }
    }

    /// One Adam step of the multipliers of every row that reached the input
    /// (`rows`, two per neuron of `live`), given the rows at each level on
    /// the way (`levels`) and the rows' own slopes (`slopes[2 i + s][j]`, as
    /// [`NeuronSlopes`](super::NeuronSlopes) keeps them).
    ///
    /// The forward passes of all rows run together, one matrix product per
    /// layer up to the deepest constrained one: on MNIST-FC they cost as
    /// much as the substitution itself, and one product of all rows with a
    /// layer's weights is several times faster than a pass per row. The
    /// products are computed in f32 (`mul_transposed_f32`): the values only
    /// choose the direction of a step, and every bound is computed afresh
    /// in f64 from whatever multipliers result.
    pub(super) fn ascend(
        &mut self,
        below: &Below,
        rows: &Rows,
        live: &[usize],
        levels: &[Level],
        slopes: &[Vec<Vec<f64>>],
    ) {
        let k = self.k;
        let relevant: Vec<usize> = (0..self.constraints.len()).filter(|&c| self.constraints[c].layer <= k).collect();
        let depth = self.forward_depth();
        let n_rows = rows.len();
        // The minimising corner of each row, one row of `y` each.
        let (lx, ux) = below.box_at(0);
        let mut width = rows.width;
        let mut y: Vec<f64> = vec![0.0; rows.coeffs.len()];
        for (y, g) in y.chunks_exact_mut(width).zip(rows.coeffs.chunks_exact(width)) {
            select(y, g, lx, ux);
        }
        // `values[c][r]`: constraint `c`'s pre-activation for row `r`.
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); self.constraints.len()];
        for j in 0..depth {
            let layer = &below.net.layers()[j];
            let n = layer.output_dim();
            let last = j + 1 == depth;
            // Below the last layer, every neuron whose line may have a slope
            // for some row; at the last, the constrained ones.
            let mut cols: Vec<usize> = if last {
                Vec::new()
            } else {
                let lines = &below.lines[j];
                let free: Vec<usize> = below.families[j].iter().map(|f| f.neuron).collect();
                (0..n)
                    .filter(|&q| lines.lower_slope[q] != 0.0 || lines.upper_slope[q] != 0.0 || free.contains(&q))
                    .collect()
            };
            for &c in &relevant {
                let q = self.constraints[c].neuron;
                if self.constraints[c].layer == j && !cols.contains(&q) {
                    cols.push(q);
                }
            }
            let w = &layer.affine.weights;
            let mut z = vec![0.0; n_rows * cols.len()];
            match w.dense() {
                Some(d) => {
                    let w: Vec<f32> = cols.iter().flat_map(|&q| d.row(q).iter().map(|&v| v as f32)).collect();
                    mul_transposed_f32(&y, &w, width, &mut z);
                }
                // Sparse weights: a few entries per row of the product.
                None => {
                    for (yr, zr) in y.chunks_exact(width.max(1)).zip(z.chunks_exact_mut(cols.len().max(1))) {
                        for (v, &q) in zr.iter_mut().zip(&cols) {
                            *v = w.row(q).dot(yr);
                        }
                    }
                }
            }
            for zr in z.chunks_exact_mut(cols.len().max(1)) {
                for (v, &q) in zr.iter_mut().zip(&cols) {
                    *v += layer.affine.bias[q];
                }
            }
            for &c in &relevant {
                let con = &self.constraints[c];
                if con.layer == j {
                    let at = cols.iter().position(|&q| q == con.neuron).expect("constrained neurons are computed");
                    values[c] = (0..n_rows).map(|r| z[r * cols.len() + at]).collect();
                }
            }
            if last {
                break;
            }
            // Through each row's own lines (those of its substitution at this level).
            let level = levels.iter().find(|l| l.j == j).expect("the rows went through every layer below theirs");
            let mut next = vec![0.0; n_rows * n];
            let (mut slope, mut full) = (vec![0.0; n], vec![0.0; n]);
            for (r, out) in next.chunks_exact_mut(n).enumerate() {
                let (p, s) = (r / 2, r % 2);
                let i = live[p];
                let at = level.live.binary_search(&i).expect("a row that reached the input was live at every level");
                let a = &level.coeffs[(2 * at + s) * level.width..(2 * at + s + 1) * level.width];
                let own = slopes.get(2 * i + s).and_then(|l| l.get(j)).map_or(&[][..], Vec::as_slice);
                below.lines_in_use(j, a, own, &mut slope, out);
                // Neurons left out of `cols` have flat lines in every row.
                for (&q, &zq) in cols.iter().zip(&z[r * cols.len()..(r + 1) * cols.len()]) {
                    full[q] = zq;
                }
                for ((o, s), z) in out.iter_mut().zip(&slope).zip(&full) {
                    *o += s * z;
                }
            }
            y = next;
            width = n;
        }
        let mut pre = vec![0.0; self.constraints.len()];
        for (r, &i) in live.iter().flat_map(|i| [i, i]).enumerate() {
            for &c in &relevant {
                pre[c] = values[c][r];
            }
            self.step(2 * i + r % 2, &pre);
        }
    }

    /// One projected Adam step of row `row`'s multipliers, with `pre[c]` the
    /// (estimated) value of constraint `c`'s pre-activation at the minimiser
    /// of its bound.
    fn step(&mut self, row: usize, pre: &[f64]) {
        let n = self.constraints.len();
        let k = self.k;
        let grad: Vec<f64> = self
            .constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let g = if c.layer <= k { -c.side * (pre[i] - c.at) } else { 0.0 };
                if g.is_finite() {
                    g
                } else {
                    0.0
                }
            })
            .collect();
        let m = &mut self.rows[row];
        m.beta.resize(n, 0.0);
        m.adam.grow(n);
        m.adam.step(&mut m.beta, &grad, |_| 0.0, |_| f64::INFINITY);
        for b in &mut m.beta {
            if !b.is_finite() {
                *b = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::symbolic::{compute, refine, NeuronSlopes, Refined};
    use crate::bounds::tests::{deep_network, random_box, sample};
    use crate::bounds::NetworkBounds;
    use crate::rng::Rng;
    use crate::testutil;

    /// Random networks of every activation kind with up to three fixed
    /// phases: refined again and again under the constraints (the
    /// multipliers take a step each time, as down a branch of the search),
    /// the bounds hold at every sampled input that satisfies the
    /// constraints, a domain called empty has no such input, the multipliers
    /// stay nonnegative, and the bounds end up tighter than refining without
    /// the constraints on a good share of the neurons.
    #[test]
    fn bounds_under_fixed_phases_are_sound_on_the_domain_and_tighter() {
        let mut rng = Rng::new(6161);
        let (mut tighter, mut empties, mut domains) = (0, 0, 0);
        for t in 0..120 {
            let net = if t % 2 == 0 { testutil::random_network(&mut rng, 6) } else { deep_network(&mut rng, t) };
            let n_layers = net.layers().len();
            let input = random_box(&mut rng, net.input_dim());
            let mut nb = compute(&net, &input);
            let mut phases = FixedPhases::default();
            for _ in 0..1 + rng.below(3) {
                let unstable: Vec<(usize, usize, f64)> = (0..n_layers - 1)
                    .flat_map(|j| {
                        let (b, act) = (&nb.layers[j], &net.layers()[j].activation);
                        (0..b.len()).filter_map(move |i| {
                            Some((j, i, act.kinks_inside(i, b.lower[i], b.upper[i]).iter().next()?.at))
                        })
                    })
                    .collect();
                if unstable.is_empty() {
                    break;
                }
                let (layer, neuron, at) = unstable[rng.below(unstable.len())];
                let side = if rng.below(2) == 0 { 1.0 } else { -1.0 };
                if side > 0.0 {
                    nb.layers[layer].lower[neuron] = at;
                } else {
                    nb.layers[layer].upper[neuron] = at;
                }
                phases.push(Constraint { layer, neuron, side, at });
            }
            if phases.constraints().is_empty() {
                continue;
            }
            domains += 1;
            let on_domain: Vec<Vec<f64>> = sample(&mut rng, &input, 500)
                .into_iter()
                .filter(|x| {
                    let pre = net.forward_pre_activations(x);
                    phases.constraints().iter().all(|c| c.side * (pre[c.layer][c.neuron] - c.at) >= 0.0)
                })
                .collect();
            // Refining again tightens a little by itself; the comparison
            // refines as often without the constraints.
            let mut plain = Refined { bounds: nb.clone(), empty: false };
            for _ in 0..8 {
                plain = refine(&net, &input, &plain.bounds, 0..n_layers, &NeuronSlopes::default(), None);
            }
            let mut cur: NetworkBounds = nb.clone();
            for _ in 0..8 {
                let r = refine(&net, &input, &cur, 0..n_layers, &NeuronSlopes::default(), Some(&mut phases));
                for row in phases.rows.iter().flatten() {
                    assert!(row.beta.iter().all(|&b| b >= 0.0), "negative multiplier {:?}", row.beta);
                }
                if r.empty {
                    assert!(
                        on_domain.is_empty(),
                        "called empty, but {:?} satisfies {:?}",
                        on_domain[0],
                        phases.constraints()
                    );
                    empties += 1;
                    break;
                }
                for x in &on_domain {
                    for (l, (z, b)) in net.forward_pre_activations(x).iter().zip(&r.bounds.layers).enumerate() {
                        for (q, &v) in z.iter().enumerate() {
                            let tol = 1e-9 * (1.0 + v.abs());
                            assert!(
                                b.lower[q] <= v + tol && v <= b.upper[q] + tol,
                                "layer {l} neuron {q}: {v} outside [{}, {}]",
                                b.lower[q],
                                b.upper[q]
                            );
                        }
                    }
                }
                cur = r.bounds;
            }
            if plain.empty {
                continue;
            }
            for (a, b) in cur.layers.iter().zip(&plain.bounds.layers) {
                for q in 0..a.len() {
                    tighter += usize::from(a.upper[q] - a.lower[q] < b.upper[q] - b.lower[q] - 1e-9);
                }
            }
        }
        assert!(domains > 80, "{domains} domains");
        // The constraints do something.
        assert!(tighter > 100, "{tighter} neurons tighter than without the constraints");
        eprintln!("{domains} domains, {empties} empty, {tighter} neurons tighter");
    }
}
