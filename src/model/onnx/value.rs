//! The values the graph interpreter passes between nodes.
//!
//! A value is either a constant tensor or a [`Var`]: an affine function of
//! the *current stage input*, one row per element of the value. Stage 0's
//! input is the network input; each activation closes a stage (it becomes a
//! [`Layer`](crate::model::Layer) whose affine part is the `Var`'s map) and
//! opens the next one, whose input is the activation's output (its logical
//! outputs, which stay the clipped values when a Clip layer is later
//! rewritten by its hinges: see `stages`). Folding every
//! linear operator into the map as it is met is what turns `Sub`, `Div`,
//! `Flatten`, `MatMul`, `Add`, `BatchNormalization`, ... into one `Affine`
//! per layer.

use std::cell::Cell;
use std::fmt::Display;

use super::tensor::{numel, Tensor};
use crate::error::Result;
use crate::limits::{limit_error, LoadLimits};
use crate::model::matrix::SparseBuilder;
use crate::model::{Affine, Matrix};

/// A value flowing along a graph edge.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// Known at load time (initializer, `Constant`, or folded from those).
    Const(Tensor),
    /// Depends on the network input.
    Var(Var),
}

impl Value {
    /// The value's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::Const(t) => &t.shape,
            Value::Var(v) => &v.shape,
        }
    }

    /// The f64 values the value holds (its map's weights and biases, or its
    /// data), as charged to the [`Budget`].
    pub fn stored(&self) -> usize {
        match self {
            Value::Const(t) => t.data.len(),
            Value::Var(v) => v.map.weights.stored() + v.numel(),
        }
    }

    /// The same elements under a new shape with the same element count.
    pub fn with_shape(&self, shape: Vec<usize>) -> Value {
        debug_assert_eq!(numel(&shape), numel(self.shape()));
        match self {
            Value::Const(t) => Value::Const(Tensor { shape, data: t.data.clone(), elem: t.elem }),
            Value::Var(v) => Value::Var(Var { shape, ..v.clone() }),
        }
    }

    /// Element `src[i]` of `self` becomes element `i` of a value of `shape`
    /// (broadcasts, transposes).
    pub fn gather(&self, src: &[usize], shape: Vec<usize>, budget: &Budget<'_>) -> Result<Value> {
        match self {
            Value::Const(t) => {
                Ok(Value::Const(Tensor { shape, data: src.iter().map(|&j| t.data[j]).collect(), elem: t.elem }))
            }
            Value::Var(v) => {
                let ones = vec![1.0; src.len()];
                let zeros = vec![0.0; src.len()];
                Ok(Value::Var(v.elementwise(src, &ones, &zeros, shape, budget)?))
            }
        }
    }
}

/// An affine function of the current stage input, one row per element.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    /// The value's ONNX shape (batch dimension included).
    pub shape: Vec<usize>,
    /// Row `i` computes flat element `i` from the stage input.
    pub map: Affine,
    /// `map` is the identity; composing with it can skip a matrix product.
    pub identity: bool,
    /// How many layers were complete when this stage began. An activation may
    /// close the stage only if no other branch closed it first.
    pub stage: usize,
}

/// The f64 values the loader may still build for one model
/// ([`LoadLimits::max_weights`]): every map is checked against what is left
/// *before* it is allocated, and every node's outputs and closed layers are
/// charged to it once built (values stay alive until the graph is done).
pub(crate) struct Budget<'a> {
    /// The limits of this load.
    pub limits: &'a LoadLimits,
    /// Values charged so far.
    used: Cell<usize>,
}

impl<'a> Budget<'a> {
    /// Nothing spent yet.
    pub fn new(limits: &'a LoadLimits) -> Budget<'a> {
        Budget { limits, used: Cell::new(0) }
    }

    /// Refuse building `count` values (`None`: more than fit in a `usize`),
    /// described by `what`, when they exceed what is left.
    pub fn check(&self, count: Option<usize>, what: impl Display) -> Result<()> {
        let max = self.limits.max_weights;
        let left = max - self.used.get().min(max);
        match count {
            Some(c) if c <= left => Ok(()),
            _ => Err(limit_error(
                format!("{what} needs more than the {left} weights left of the limit of {max} for the whole model"),
                "max-weights",
            )),
        }
    }

    /// Charge `count` values that were built; errors once the total exceeds
    /// the limit.
    pub fn spend(&self, count: usize, what: impl Display) -> Result<()> {
        self.check(Some(count), what)?;
        self.used.set(self.used.get() + count);
        Ok(())
    }
}

impl Var {
    /// The identity on a stage input of the given shape.
    pub fn identity(shape: Vec<usize>, stage: usize, budget: &Budget<'_>) -> Result<Var> {
        let n = numel(&shape);
        budget.limits.check_elements(n, format_args!("a layer of {n} neurons"))?;
        budget.check(n.checked_mul(2), format_args!("the identity on {n} values"))?;
        Ok(Var { shape, map: Affine { weights: Matrix::identity(n), bias: vec![0.0; n] }, identity: true, stage })
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.map.weights.rows()
    }

    /// Width of the stage input.
    pub fn cols(&self) -> usize {
        self.map.weights.cols()
    }

    /// `out[i] = scale[i] * self[src[i]] + shift[i]`, a value of `shape`.
    pub fn elementwise(
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
    pub fn combine(
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

    /// The constant `t` as a map over a stage input of width `cols`: zero
    /// weights, the values as biases (to join it with input-dependent values).
    pub fn constant(t: &Tensor, cols: usize, stage: usize, budget: &Budget<'_>) -> Result<Var> {
        let mut rows = MapBuilder::new(t.data.len(), cols, budget)?;
        for &v in &t.data {
            rows.end_row(v)?;
        }
        Ok(Var { shape: t.shape.clone(), map: rows.finish(), identity: false, stage })
    }

    /// The rows of every part, one part after the other, as one value of
    /// rank 1 (all parts from the same stage): the pre-activation of a layer
    /// whose neurons serve several operands.
    pub fn stack(parts: &[&Var], budget: &Budget<'_>) -> Result<Var> {
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
    pub fn slice(&self, start: usize, len: usize, shape: Vec<usize>, budget: &Budget<'_>) -> Result<Var> {
        let src: Vec<usize> = (start..start + len).collect();
        self.elementwise(&src, &vec![1.0; len], &vec![0.0; len], shape, budget)
    }

    /// `out[i] = sum over (j, c) in terms[i] of c * self[j], plus shift[i]`,
    /// a value of `shape`: the general linear operator (matrix products,
    /// convolutions, pooling).
    pub fn linear_combination(
        &self,
        terms: &[Vec<(usize, f64)>],
        shift: &[f64],
        shape: Vec<usize>,
        budget: &Budget<'_>,
    ) -> Result<Var> {
        let mut rows = MapBuilder::new(terms.len(), self.cols(), budget)?;
        for (row_terms, &s) in terms.iter().zip(shift) {
            for &(j, c) in row_terms {
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

impl Value {
    /// [`Var::linear_combination`] for either kind of value.
    pub fn linear_combination(
        &self,
        terms: &[Vec<(usize, f64)>],
        shift: &[f64],
        shape: Vec<usize>,
        budget: &Budget<'_>,
    ) -> Result<Value> {
        match self {
            Value::Const(t) => {
                let data = terms
                    .iter()
                    .zip(shift)
                    .map(|(row, s)| row.iter().map(|&(j, c)| c * t.data[j]).sum::<f64>() + s)
                    .collect();
                Ok(Value::Const(Tensor::float(shape, data)))
            }
            Value::Var(v) => Ok(Value::Var(v.linear_combination(terms, shift, shape, budget)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::ErrorKind;

    #[test]
    fn elementwise_and_combine_match_pointwise_evaluation() {
        let lim = LoadLimits::default();
        let lim = Budget::new(&lim);
        let x = Var::identity(vec![1, 2], 0, &lim).unwrap();
        // y = [2 x1 + 1, -x0 + 3]
        let y = x.elementwise(&[1, 0], &[2.0, -1.0], &[1.0, 3.0], vec![2], &lim).unwrap();
        let w = y.linear_combination(&[vec![(0, 1.0), (1, 2.0)]], &[0.5], vec![1], &lim).unwrap();
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
            x.linear_combination(&vec![vec![(0, 1.0), (1, 2.0), (2, 3.0)]; 3], &[0.0; 3], vec![3], budget)
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
