//! The maps of a lowering: each graph node becomes a [`Var`], an affine
//! function of the *current stage input*, one row per element of the
//! node's value. Stage 0's input is the network input; each activation
//! closes a stage (it becomes a [`Layer`](crate::model::Layer) whose affine
//! part is the `Var`'s map) and opens the next one, whose input is the
//! activation's output (its logical outputs, which stay the clipped values
//! when a Clip layer is later rewritten by its hinges: see `stages`).
//! Folding every linear node into the map as it is met is what turns a
//! run of `Sub`, `Div`, `Flatten`, `MatMul`, `Add`, `BatchNormalization`,
//! ... into one `Affine` per layer.

use crate::error::Result;
use crate::limits::Budget;
use crate::model::graph::Terms;
use crate::model::matrix::SparseBuilder;
use crate::model::{Affine, Matrix};

/// An affine function of the current stage input, one row per element.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    /// The node's shape (batch dimension included).
    pub(crate) shape: Vec<usize>,
    /// Row `i` computes flat element `i` from the stage input.
    pub(crate) map: Affine,
    /// `map` is the identity; composing with it can skip a matrix product.
    pub(crate) identity: bool,
    /// How many layers were complete when this stage began. An activation may
    /// close the stage only if no other branch closed it first.
    pub(crate) stage: usize,
}

impl Var {
    /// The identity on a stage input of the given shape.
    pub(crate) fn identity(shape: Vec<usize>, stage: usize, budget: &Budget<'_>) -> Result<Var> {
        let n: usize = shape.iter().product();
        budget.limits.check_elements(n, format_args!("a layer of {n} neurons"))?;
        budget.check(n.checked_mul(2), format_args!("the identity on {n} values"))?;
        Ok(Var { shape, map: Affine { weights: Matrix::identity(n), bias: vec![0.0; n] }, identity: true, stage })
    }

    /// Number of elements.
    pub(crate) fn numel(&self) -> usize {
        self.map.weights.rows()
    }

    /// Width of the stage input.
    pub(crate) fn cols(&self) -> usize {
        self.map.weights.cols()
    }

    /// `out[i] = scale[i] * self[src[i]] + shift[i]`, a value of `shape`.
    pub(crate) fn elementwise(
        &self,
        src: &[usize],
        scale: &[f64],
        shift: &[f64],
        shape: Vec<usize>,
        budget: &Budget<'_>,
    ) -> Result<Var> {
        let mut rows = MapBuilder::new(src.len(), self.cols(), budget)?;
        for i in 0..src.len() {
            rows.add(self, src[i], scale[i]);
            rows.end_row(shift[i])?;
        }
        let identity = self.identity
            && src.len() == self.numel()
            && src.iter().enumerate().all(|(i, &j)| i == j)
            && scale.iter().all(|&s| s == 1.0)
            && shift.iter().all(|&s| s == 0.0);
        Ok(Var { shape, map: rows.finish(), identity, stage: self.stage })
    }

    /// `out[i] = sa * a[src_a[i]] + sb * b[src_b[i]]` for the operands
    /// `(a, src_a, sa)` and `(b, src_b, sb)`, both from the same stage.
    pub(crate) fn combine(
        (a, src_a, sa): (&Var, &[usize], f64),
        (b, src_b, sb): (&Var, &[usize], f64),
        shape: Vec<usize>,
        budget: &Budget<'_>,
    ) -> Result<Var> {
        debug_assert_eq!(a.stage, b.stage);
        let mut rows = MapBuilder::new(src_a.len(), a.cols().max(b.cols()), budget)?;
        for i in 0..src_a.len() {
            rows.add(a, src_a[i], sa);
            rows.add(b, src_b[i], sb);
            rows.end_row(0.0)?;
        }
        Ok(Var { shape, map: rows.finish(), identity: false, stage: a.stage })
    }

    /// The constant `data` as a map over a stage input of width `cols`: zero
    /// weights, the values as biases (to join it with input-dependent values).
    pub(crate) fn constant(data: &[f64], cols: usize, stage: usize, budget: &Budget<'_>) -> Result<Var> {
        let mut rows = MapBuilder::new(data.len(), cols, budget)?;
        for &v in data {
            rows.end_row(v)?;
        }
        Ok(Var { shape: vec![data.len()], map: rows.finish(), identity: false, stage })
    }

    /// The rows of every part, one part after the other, as one value of
    /// rank 1 (all parts from the same stage): the pre-activation of a layer
    /// whose neurons serve several operands.
    pub(crate) fn stack(parts: &[&Var], budget: &Budget<'_>) -> Result<Var> {
        debug_assert!(parts.windows(2).all(|w| w[0].stage == w[1].stage));
        let n = parts.iter().try_fold(0usize, |acc, p| acc.checked_add(p.numel())).unwrap_or(usize::MAX);
        let cols = parts.iter().map(|p| p.cols()).max().unwrap_or(0);
        let stage = parts.first().map_or(0, |p| p.stage);
        let mut rows = MapBuilder::new(n, cols, budget)?;
        for p in parts {
            for i in 0..p.numel() {
                rows.add(p, i, 1.0);
                rows.end_row(0.0)?;
            }
        }
        Ok(Var { shape: vec![n], map: rows.finish(), identity: false, stage })
    }

    /// Elements `start..start + len` of `self`, as a value of `shape`.
    pub(crate) fn slice(&self, start: usize, len: usize, shape: Vec<usize>, budget: &Budget<'_>) -> Result<Var> {
        let src: Vec<usize> = (start..start + len).collect();
        self.elementwise(&src, &vec![1.0; len], &vec![0.0; len], shape, budget)
    }

    /// `out[i] = sum over (j, c) in terms.row(i) of c * self[j], plus shift[i]`,
    /// a value of `shape`: the general linear operator (matrix products,
    /// convolutions, pooling).
    pub(crate) fn linear_combination(
        &self,
        terms: &Terms,
        shift: &[f64],
        shape: Vec<usize>,
        budget: &Budget<'_>,
    ) -> Result<Var> {
        let mut rows = MapBuilder::new(terms.rows(), self.cols(), budget)?;
        for (i, &s) in shift.iter().enumerate() {
            for &(j, c) in terms.row(i) {
                rows.add(self, j, c);
            }
            rows.end_row(s)?;
        }
        Ok(Var { shape, map: rows.finish(), identity: false, stage: self.stage })
    }
}

/// Builds the map of a new value row by row as a sum of scaled rows of
/// existing maps, touching only their stored entries: a convolution over a
/// wide stage input costs its kernel's entries per row, not the width.
///
/// A map may have fewer columns than its stage input is wide (an input that
/// grew by pass-through neurons after the map was built, see
/// `stages::Stages::lift`): the missing columns are zero.
struct MapBuilder<'b> {
    budget: &'b Budget<'b>,
    /// The row being built, by column; `seen` marks the columns in `touched`.
    acc: Vec<f64>,
    seen: Vec<bool>,
    touched: Vec<usize>,
    bias: Vec<f64>,
    /// The bias of the row being built.
    constant: f64,
    rows: SparseBuilder,
}

impl<'b> MapBuilder<'b> {
    /// A builder for `rows` rows over `cols` columns, refused beyond the
    /// layer width.
    fn new(rows: usize, cols: usize, budget: &'b Budget<'b>) -> Result<MapBuilder<'b>> {
        budget.limits.check_elements(rows, format_args!("a layer of {rows} neurons"))?;
        budget.limits.check_elements(cols, format_args!("a layer over {cols} inputs"))?;
        Ok(MapBuilder {
            budget,
            acc: vec![0.0; cols],
            seen: vec![false; cols],
            touched: Vec::new(),
            bias: Vec::with_capacity(rows),
            constant: 0.0,
            rows: SparseBuilder::new(cols),
        })
    }

    /// Add `factor` times element `i` of `v` to the row being built.
    fn add(&mut self, v: &Var, i: usize, factor: f64) {
        if factor == 0.0 {
            return;
        }
        self.constant += factor * v.map.bias[i];
        for (j, w) in v.map.weights.row(i).iter() {
            if !self.seen[j] {
                self.seen[j] = true;
                self.touched.push(j);
            }
            self.acc[j] += factor * w;
        }
    }

    /// Finish the row being built with `shift` added to its bias; errors
    /// once the map outgrows what is left of the budget.
    fn end_row(&mut self, shift: f64) -> Result<()> {
        self.touched.sort_unstable();
        let entries: Vec<(usize, f64)> = self
            .touched
            .drain(..)
            .map(|j| {
                self.seen[j] = false;
                (j, std::mem::take(&mut self.acc[j]))
            })
            .filter(|&(_, w)| w != 0.0)
            .collect();
        self.rows.push_row(&entries)?;
        self.bias.push(self.constant + shift);
        self.constant = 0.0;
        let built = self.rows.stored() + self.bias.len();
        self.budget.check(Some(built), format_args!("a map of {built} weights so far"))
    }

    /// The map of the rows built, stored as its density suits.
    fn finish(self) -> Affine {
        Affine { weights: self.rows.finish().compact(), bias: self.bias }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::ErrorKind;
    use crate::limits::LoadLimits;

    #[test]
    fn elementwise_and_combine_match_pointwise_evaluation() {
        let lim = LoadLimits::default();
        let lim = Budget::new(&lim);
        let x = Var::identity(vec![1, 2], 0, &lim).unwrap();
        // y = [2 x1 + 1, -x0 + 3]
        let y = x.elementwise(&[1, 0], &[2.0, -1.0], &[1.0, 3.0], vec![2], &lim).unwrap();
        let w = y.linear_combination(&Terms::from_rows(&[vec![(0, 1.0), (1, 2.0)]]), &[0.5], vec![1], &lim).unwrap();
        assert_eq!(w.map.apply(&[5.0, 7.0]), vec![15.0 - 4.0 + 0.5]);
        assert!(!y.identity);
        assert_eq!(y.map.apply(&[5.0, 7.0]), vec![15.0, -2.0]);
        // z = y + 0.5 x (elementwise)
        let z = Var::combine((&y, &[0, 1], 1.0), (&x, &[0, 1], 0.5), vec![2], &lim).unwrap();
        assert_eq!(z.map.apply(&[5.0, 7.0]), vec![17.5, 1.5]);
        let same = x.elementwise(&[0, 1], &[1.0, 1.0], &[0.0, 0.0], vec![2], &lim).unwrap();
        assert!(same.identity);
    }

    #[test]
    fn refuses_huge_maps() {
        let lim = LoadLimits::default();
        let budget = Budget::new(&lim);
        assert_eq!(Var::identity(vec![1, 1 << 25], 0, &budget).unwrap_err().kind(), ErrorKind::Limit);
        // The limits are the configured ones, and the budget is spent: a
        // dense 3x3 map needs 9 weights and 3 biases, which fit in 12 but
        // not in 11, and not in 12 once 4 are spent; a width limit of 2
        // refuses 3 neurons.
        let dense = |budget: &Budget<'_>| {
            let x = Var::identity(vec![3], 0, budget)?;
            x.linear_combination(
                &Terms::from_rows(&vec![vec![(0, 1.0), (1, 2.0), (2, 3.0)]; 3]),
                &[0.0; 3],
                vec![3],
                budget,
            )
        };
        let twelve = LoadLimits { max_weights: 12, ..lim.clone() };
        assert!(dense(&Budget::new(&twelve)).is_ok());
        let eleven = LoadLimits { max_weights: 11, ..lim.clone() };
        assert_eq!(dense(&Budget::new(&eleven)).unwrap_err().kind(), ErrorKind::Limit);
        let spent = Budget::new(&twelve);
        spent.spend(4, "test").unwrap();
        assert_eq!(dense(&spent).unwrap_err().kind(), ErrorKind::Limit);
        assert_eq!(spent.spend(9, "test").unwrap_err().kind(), ErrorKind::Limit);
        let narrow = LoadLimits { max_elements: 2, ..lim };
        assert_eq!(dense(&Budget::new(&narrow)).unwrap_err().kind(), ErrorKind::Limit);
    }
}
