//! The values the graph interpreter passes between nodes.
//!
//! A value is either a constant tensor or a [`Var`]: an affine function of
//! the *current stage input*, one row per element of the value. Stage 0's
//! input is the network input; each activation closes a stage (it becomes a
//! [`Layer`](crate::model::Layer) whose affine part is the `Var`'s map) and
//! opens the next one, whose input is the activation's output. Folding every
//! linear operator into the map as it is met is what turns `Sub`, `Div`,
//! `Flatten`, `MatMul`, `Add`, `BatchNormalization`, ... into one `Affine`
//! per layer.

use std::cell::Cell;
use std::fmt::Display;

use super::tensor::{numel, Tensor};
use crate::error::Result;
use crate::limits::{limit_error, LoadLimits};
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
            Value::Var(v) => v.map.weights.rows() * (v.map.weights.cols() + 1),
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

    /// Refuse a map of `rows` neurons over `cols` stage inputs beyond the
    /// layer width or what is left, before allocating it.
    pub fn check_map(&self, rows: usize, cols: usize) -> Result<()> {
        self.limits.check_elements(rows, format_args!("a layer of {rows} neurons"))?;
        self.check(rows.checked_mul(cols), format_args!("a layer of {rows} neurons over {cols} inputs"))
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
    /// A value of `shape` whose map has the row-major `rows x cols` weights
    /// `data` and `bias`.
    fn from_rows(
        shape: Vec<usize>,
        (rows, cols, data): (usize, usize, Vec<f64>),
        bias: Vec<f64>,
        identity: bool,
        stage: usize,
    ) -> Result<Var> {
        Ok(Var { shape, map: Affine { weights: Matrix::new(rows, cols, data)?, bias }, identity, stage })
    }

    /// The identity on a stage input of the given shape.
    pub fn identity(shape: Vec<usize>, stage: usize, budget: &Budget<'_>) -> Result<Var> {
        let n = numel(&shape);
        budget.check_map(n, n)?;
        Ok(Var { shape, map: Affine { weights: Matrix::identity(n), bias: vec![0.0; n] }, identity: true, stage })
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.map.weights.rows()
    }

    /// Width of the stage input.
    fn cols(&self) -> usize {
        self.map.weights.cols()
    }

    /// Add `factor * row i` of the map into `out`.
    fn add_row(&self, i: usize, factor: f64, out: &mut [f64]) {
        if self.identity {
            out[i] += factor;
        } else {
            for (o, w) in out.iter_mut().zip(self.map.weights.row(i)) {
                *o += factor * w;
            }
        }
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
        let rows = src.len();
        let cols = self.cols();
        budget.check_map(rows, cols)?;
        let mut data = vec![0.0; rows * cols];
        let mut bias = Vec::with_capacity(rows);
        for i in 0..rows {
            self.add_row(src[i], scale[i], &mut data[i * cols..(i + 1) * cols]);
            bias.push(scale[i] * self.map.bias[src[i]] + shift[i]);
        }
        let identity = self.identity
            && rows == self.numel()
            && src.iter().enumerate().all(|(i, &j)| i == j)
            && scale.iter().all(|&s| s == 1.0)
            && shift.iter().all(|&s| s == 0.0);
        Var::from_rows(shape, (rows, cols, data), bias, identity, self.stage)
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
        let rows = src_a.len();
        let cols = a.cols();
        budget.check_map(rows, cols)?;
        let mut data = vec![0.0; rows * cols];
        let mut bias = Vec::with_capacity(rows);
        for i in 0..rows {
            let out = &mut data[i * cols..(i + 1) * cols];
            a.add_row(src_a[i], sa, out);
            b.add_row(src_b[i], sb, out);
            bias.push(sa * a.map.bias[src_a[i]] + sb * b.map.bias[src_b[i]]);
        }
        Var::from_rows(shape, (rows, cols, data), bias, false, a.stage)
    }

    /// The constant `t` as a map over a stage input of width `cols`: zero
    /// weights, the values as biases (to join it with input-dependent values).
    pub fn constant(t: &Tensor, cols: usize, stage: usize, budget: &Budget<'_>) -> Result<Var> {
        let rows = t.data.len();
        budget.check_map(rows, cols)?;
        Var::from_rows(t.shape.clone(), (rows, cols, vec![0.0; rows * cols]), t.data.clone(), false, stage)
    }

    /// The rows of every part, one part after the other, as one value of
    /// rank 1 (all parts from the same stage): the pre-activation of a layer
    /// whose neurons serve several operands.
    pub fn stack(parts: &[&Var], budget: &Budget<'_>) -> Result<Var> {
        debug_assert!(parts.windows(2).all(|w| w[0].stage == w[1].stage && w[0].cols() == w[1].cols()));
        let rows = parts.iter().try_fold(0usize, |acc, p| acc.checked_add(p.numel())).unwrap_or(usize::MAX);
        let (cols, stage) = parts.first().map_or((0, 0), |p| (p.cols(), p.stage));
        budget.check_map(rows, cols)?;
        let mut data = vec![0.0; rows * cols];
        let mut bias = Vec::with_capacity(rows);
        let mut row = 0;
        for p in parts {
            for i in 0..p.numel() {
                p.add_row(i, 1.0, &mut data[row * cols..(row + 1) * cols]);
                bias.push(p.map.bias[i]);
                row += 1;
            }
        }
        Var::from_rows(vec![rows], (rows, cols, data), bias, false, stage)
    }

    /// Elements `start..start + len` of `self`, as a value of `shape`.
    pub fn slice(&self, start: usize, len: usize, shape: Vec<usize>, budget: &Budget<'_>) -> Result<Var> {
        let src: Vec<usize> = (start..start + len).collect();
        self.elementwise(&src, &vec![1.0; len], &vec![0.0; len], shape, budget)
    }

    /// `out[i] = sum over (j, c) in terms[i] of c * self[j], plus shift[i]`,
    /// a value of `shape`: the general linear operator (matrix products).
    pub fn linear_combination(
        &self,
        terms: &[Vec<(usize, f64)>],
        shift: &[f64],
        shape: Vec<usize>,
        budget: &Budget<'_>,
    ) -> Result<Var> {
        let rows = terms.len();
        let cols = self.cols();
        budget.check_map(rows, cols)?;
        let mut data = vec![0.0; rows * cols];
        let mut bias = Vec::with_capacity(rows);
        for (i, row_terms) in terms.iter().enumerate() {
            let out = &mut data[i * cols..(i + 1) * cols];
            let mut b = shift[i];
            for &(j, c) in row_terms {
                self.add_row(j, c, out);
                b += c * self.map.bias[j];
            }
            bias.push(b);
        }
        Var::from_rows(shape, (rows, cols, data), bias, false, self.stage)
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
        assert_eq!(Var::identity(vec![1, 1 << 20], 0, &budget).unwrap_err().kind(), ErrorKind::Limit);
        assert_eq!(budget.check_map(usize::MAX, 2).unwrap_err().kind(), ErrorKind::Limit);
        assert_eq!(budget.check_map(2, usize::MAX).unwrap_err().kind(), ErrorKind::Limit);
        // The limits are the configured ones, and the budget is spent: a
        // 3-neuron layer over 3 inputs fits in 9 weights, not in 8, and not
        // in 12 once 4 are spent; a width limit of 2 refuses it too.
        let nine = LoadLimits { max_weights: 9, ..lim.clone() };
        assert!(Budget::new(&nine).check_map(3, 3).is_ok());
        let eight = LoadLimits { max_weights: 8, ..lim.clone() };
        assert_eq!(Budget::new(&eight).check_map(3, 3).unwrap_err().kind(), ErrorKind::Limit);
        let twelve = LoadLimits { max_weights: 12, ..lim.clone() };
        let spent = Budget::new(&twelve);
        spent.spend(4, "test").unwrap();
        assert_eq!(spent.check_map(3, 3).unwrap_err().kind(), ErrorKind::Limit);
        assert_eq!(spent.spend(9, "test").unwrap_err().kind(), ErrorKind::Limit);
        let narrow = LoadLimits { max_elements: 2, ..lim };
        assert_eq!(Budget::new(&narrow).check_map(3, 1).unwrap_err().kind(), ErrorKind::Limit);
    }
}
