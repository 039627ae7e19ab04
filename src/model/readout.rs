//! Readouts: a layer's values re-expressed over the neurons of a rewritten
//! layer, and the hinge rewrite of a neuron that makes one necessary.
//!
//! All neurons of a layer share one [`Activation`](crate::model::Activation).
//! ReLU, Leaky, PReLU, identity and pass-through neurons are all Leaky
//! neurons (slopes 0, `s`, `s_i`, 1, 1), so they can share a layer; a Clip
//! neuron cannot share one with them. Two constructions still need it to:
//! `pair::side_by_side` (networks whose layer `k` mixes Clip and other
//! kinds) and the ONNX loader (a skip connection carried across a Clip
//! layer by pass-through neurons, `lower::stages`). Both rewrite each Clip
//! neuron `clip(z)`, `z = row · v + bias`, by its hinge decomposition
//! ([`Activation::hinges`](crate::model::Activation::hinges)):
//!
//! ```text
//! clip(z) = c + a z + sum_k w_k relu(z - t_k)
//!         = lo + relu(z - lo) - relu(z - hi)     (both levels finite: ReLU6, hard-tanh, HardSigmoid)
//!         = z - relu(z - hi)                     (no lower level)
//! ```
//!
//! as Leaky neurons on the same row ([`Readout::push_hinges`]): one
//! pass-through neuron (slope 1) computing `z` when `a != 0`, and one ReLU
//! neuron (slope 0) computing `relu(z - t_k)` per hinge (bias shifted by
//! `-t_k`). The [`Readout`] records the recombination `c + a v_0 + sum_k
//! w_k v_k` in place of the clipped value, and [`Readout::compose`] folds it
//! into the layer that reads the value: a weight `w` on the clipped value
//! becomes `+w` and `-w` on its two hinges and `w lo` joins the bias (with
//! no lower level: `+w` on the pass-through, `-w` on the hinge).
//!
//! The rewrite is the same real function with one binary per kink, as many
//! as the Clip neuron has (two, or one with a level infinite: one per
//! hinge). In f64 it may round differently (`lo + (z - lo)` is not always
//! `z`), by an ulp or so of the values involved.

use crate::model::activation::Hinges;

/// Each value of a layer as `constant + sum coeff * v[column]` over the
/// values `v` of the layer that replaced it (see the module doc), in the
/// order of the values.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Readout {
    values: Vec<(f64, Vec<(usize, f64)>)>,
}

impl Readout {
    /// `n` values read as they are: value `i` is column `i`.
    pub fn identity(n: usize) -> Readout {
        Readout { values: (0..n).map(|i| (0.0, vec![(i, 1.0)])).collect() }
    }

    /// How many values it reads out.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The next value is `column` as it is.
    pub fn push_column(&mut self, column: usize) {
        self.values.push((0.0, vec![(column, 1.0)]));
    }

    /// The next value is `f(z)` of a neuron with pre-activation `z` and
    /// hinge decomposition `f`, rewritten as Leaky neurons on the same row:
    /// `neuron(shift, slope)` adds one computing `slope_act(z + shift)`
    /// (slope 1: `z` itself; slope 0: `relu(z + shift)`) and returns its
    /// column. See the module doc.
    pub fn push_hinges(&mut self, f: Hinges, mut neuron: impl FnMut(f64, f64) -> usize) {
        let mut terms = Vec::new();
        if f.linear != 0.0 {
            terms.push((neuron(0.0, 1.0), f.linear));
        }
        for t in f.terms() {
            terms.push((neuron(-t.at, 0.0), t.weight));
        }
        self.values.push((f.constant, terms));
    }

    /// `true` when every value is one column as it is (no constant, a
    /// coefficient of 1).
    pub fn is_plain(&self) -> bool {
        self.values.iter().all(|(c, terms)| *c == 0.0 && terms.len() == 1 && terms[0].1 == 1.0)
    }

    /// The affine row `sum w_j value_j + bias` over the values, rewritten
    /// over the columns: entries in ascending column order (duplicates
    /// summed, zero weights skipped) and the new bias.
    pub fn compose(&self, row: impl IntoIterator<Item = (usize, f64)>, bias: f64) -> (Vec<(usize, f64)>, f64) {
        let mut entries = Vec::new();
        let mut b = bias;
        for (j, w) in row.into_iter().filter(|&(_, w)| w != 0.0) {
            let (c, terms) = &self.values[j];
            if *c != 0.0 {
                b += w * c;
            }
            entries.extend(terms.iter().map(|&(col, m)| (col, w * m)));
        }
        entries.sort_by_key(|e| e.0);
        let mut out: Vec<(usize, f64)> = Vec::with_capacity(entries.len());
        for (j, w) in entries {
            match out.last_mut() {
                Some(last) if last.0 == j => last.1 += w,
                _ => out.push((j, w)),
            }
        }
        (out, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation;
    use crate::rng::Rng;

    /// Every Clip kind rewritten by `push_hinges` and read back through
    /// `compose` is the clip: `row · v + bias` with `v` the clipped values
    /// equals the composed row on the hinge neurons' outputs.
    #[test]
    fn hinge_rewrite_reads_back_the_clip() {
        let mut rng = Rng::new(3);
        let clips = [(0.0, 6.0), (-1.0, 1.0), (f64::NEG_INFINITY, 0.5), (-0.25, f64::INFINITY), (0.0, 1.0)];
        for (lo, hi) in clips {
            let act = Activation::Clip { lo, hi };
            for _ in 0..200 {
                // Two clipped neurons with pre-activations z, read by one row.
                let z = [rng.range(-8.0, 8.0), rng.range(-8.0, 8.0)];
                let mut outputs = Vec::new();
                let mut readout = Readout::default();
                for &zi in &z {
                    readout.push_hinges(act.hinges(0), |shift, slope| {
                        let pre = zi + shift;
                        outputs.push(if pre >= 0.0 { pre } else { slope * pre });
                        outputs.len() - 1
                    });
                }
                let (row, bias) = readout.compose([(0, 0.5), (1, -2.0)], 0.25);
                let got = row.iter().map(|&(j, w)| w * outputs[j]).sum::<f64>() + bias;
                let want = 0.5 * act.eval(0, z[0]) - 2.0 * act.eval(0, z[1]) + 0.25;
                assert!(
                    (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "clip [{lo}, {hi}] at {z:?}: {got} vs {want}"
                );
                assert!(row.windows(2).all(|w| w[0].0 < w[1].0));
            }
        }
        assert!(Readout::identity(3).is_plain());
    }
}
