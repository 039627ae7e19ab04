//! The values the graph interpreter passes between nodes.
//!
//! A value is either a constant tensor (an initializer, a `Constant`, or
//! folded from those at load time) or a [`Sym`]: a node of the
//! [`Graph`] being built, a value that depends on the network input. Every
//! operator evaluates constant operands itself, so only input-dependent
//! values become graph nodes.

use super::ops::NodeInput;
use super::tensor::{numel, Tensor};
use crate::error::Result;
use crate::model::graph::{Graph, NodeId, Op, Terms};

/// A value flowing along a graph edge.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// Known at load time (initializer, `Constant`, or folded from those).
    Const(Tensor),
    /// Depends on the network input: a node of the graph being built.
    Sym(Sym),
}

/// An input-dependent value: graph node `node`'s elements under `shape`
/// (a reshape changes the shape, not the node).
#[derive(Debug, Clone)]
pub(crate) struct Sym {
    /// The node computing the elements.
    pub node: NodeId,
    /// The value's ONNX shape (batch dimension included).
    pub shape: Vec<usize>,
}

impl Sym {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// `out[i] = scale[i] * self[src[i]] + shift[i]`, a value of `shape`.
    pub fn elementwise(
        &self,
        src: &[usize],
        scale: &[f64],
        shift: &[f64],
        shape: Vec<usize>,
        n: &NodeInput<'_>,
        g: &mut Graph,
    ) -> Result<Sym> {
        let op = Op::Map { x: self.node, src: src.to_vec(), scale: scale.to_vec(), shift: shift.to_vec() };
        n.push(g, op, shape)
    }
}

impl Value {
    /// The value's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::Const(t) => &t.shape,
            Value::Sym(s) => &s.shape,
        }
    }

    /// The f64 values a constant holds, as charged to the budget (a node's
    /// are charged when it is added).
    pub fn stored(&self) -> usize {
        match self {
            Value::Const(t) => t.data.len(),
            Value::Sym(_) => 0,
        }
    }

    /// The same elements under a new shape with the same element count.
    pub fn with_shape(&self, shape: Vec<usize>) -> Value {
        debug_assert_eq!(numel(&shape), numel(self.shape()));
        match self {
            Value::Const(t) => Value::Const(Tensor { shape, data: t.data.clone(), elem: t.elem }),
            Value::Sym(s) => Value::Sym(Sym { node: s.node, shape }),
        }
    }

    /// Element `src[i]` of `self` becomes element `i` of a value of `shape`
    /// (broadcasts, transposes).
    pub fn gather(&self, src: &[usize], shape: Vec<usize>, n: &NodeInput<'_>, g: &mut Graph) -> Result<Value> {
        match self {
            Value::Const(t) => {
                Ok(Value::Const(Tensor { shape, data: src.iter().map(|&j| t.data[j]).collect(), elem: t.elem }))
            }
            Value::Sym(s) => {
                let ones = vec![1.0; src.len()];
                let zeros = vec![0.0; src.len()];
                Ok(Value::Sym(s.elementwise(src, &ones, &zeros, shape, n, g)?))
            }
        }
    }

    /// `out[i] = sum over (j, c) in terms[i] of c * self[j], plus shift[i]`,
    /// a value of `shape`: the general linear operator (matrix products,
    /// convolutions, pooling).
    pub fn linear_combination(
        &self,
        terms: &[Vec<(usize, f64)>],
        shift: &[f64],
        shape: Vec<usize>,
        n: &NodeInput<'_>,
        g: &mut Graph,
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
            Value::Sym(s) => {
                let op = Op::Linear { x: s.node, terms: Terms::from_rows(terms), shift: shift.to_vec() };
                Ok(Value::Sym(n.push(g, op, shape)?))
            }
        }
    }
}
