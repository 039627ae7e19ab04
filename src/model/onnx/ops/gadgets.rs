//! Piecewise-linear operators that are not one activation per element:
//! `Abs`, `Max` and `Min`. On input-dependent values they become
//! [`Op::Abs`] and [`Op::Extreme`] nodes, which the lowering builds from
//! layers of ReLU neurons (the constructions are derived in
//! `model::lower`). Constant operands are first combined into one constant
//! (their element-wise max or min); with only constants the result is
//! simply evaluated.

use super::NodeInput;
use crate::error::{Error, ErrorKind, Result};
use crate::model::graph::{Graph, Op};
use crate::model::onnx::tensor::{broadcast_index, broadcast_shapes, Elem, Tensor};
use crate::model::onnx::value::{Sym, Value};

/// `Abs`: `relu(x) + relu(-x)`.
pub(super) fn abs(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let value = match n.input(0)? {
        Value::Const(t) => Value::Const(Tensor { data: t.data.iter().map(|v| v.abs()).collect(), ..t.clone() }),
        Value::Sym(x) => Value::Sym(n.push(g, Op::Abs { x: x.node }, x.shape.clone())?),
    };
    Ok(vec![value])
}

/// `Max`: the element-wise maximum of its (broadcast) inputs.
pub(super) fn max(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    extreme(n, g, Extreme::Max)
}

/// `Min`: the element-wise minimum of its (broadcast) inputs.
pub(super) fn min(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    extreme(n, g, Extreme::Min)
}

/// Which of the two variadic operators.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Extreme {
    Max,
    Min,
}

impl Extreme {
    /// The operator on two numbers.
    fn pick(self, a: f64, b: f64) -> f64 {
        match self {
            Extreme::Max => a.max(b),
            Extreme::Min => a.min(b),
        }
    }
}

fn extreme(n: &NodeInput<'_>, g: &mut Graph, which: Extreme) -> Result<Vec<Value>> {
    let values = (0..n.node.input.len()).map(|i| n.input(i)).collect::<Result<Vec<_>>>()?;
    let Some(first) = values.first() else {
        return Err(Error::new(ErrorKind::Onnx, format!("{} needs at least one input", n.node.op_type)));
    };
    let mut shape = first.shape().to_vec();
    for v in &values[1..] {
        shape = broadcast_shapes(&shape, v.shape()).ok_or_else(|| {
            n.shape_error(format!("a shape that broadcasts with {shape:?}"), format!("{:?}", v.shape()))
        })?;
    }
    let len = n.check_shape(&shape)?;
    let (ones, zeros) = (vec![1.0; len], vec![0.0; len]);
    // Every operand broadcast to the result shape; the constants combined.
    let mut constant: Option<Tensor> = None;
    let mut operands: Vec<Sym> = Vec::new();
    for v in values {
        let src = broadcast_index(v.shape(), &shape);
        match v {
            Value::Const(t) => {
                let data: Vec<f64> = src.iter().map(|&j| t.data[j]).collect();
                constant = Some(match constant {
                    None => Tensor { shape: shape.clone(), data, elem: t.elem },
                    Some(c) => Tensor {
                        data: c.data.iter().zip(&data).map(|(&a, &b)| which.pick(a, b)).collect(),
                        elem: if c.elem == Elem::Int && t.elem == Elem::Int { Elem::Int } else { Elem::Float },
                        ..c
                    },
                });
            }
            Value::Sym(x) => operands.push(x.elementwise(&src, &ones, &zeros, shape.clone(), n, g)?),
        }
    }
    if operands.is_empty() {
        return Ok(constant.map(Value::Const).into_iter().collect());
    }
    let op = Op::Extreme {
        operands: operands.iter().map(|o| o.node).collect(),
        constant: constant.map(|c| c.data),
        max: which == Extreme::Max,
    };
    Ok(vec![Value::Sym(n.push(g, op, shape)?)])
}

#[cfg(test)]
mod tests {
    use crate::model::onnx::test_graph::{assert_agrees, TestGraph};
    use crate::model::Activation;

    /// `Abs` after a `Gemm`, as `torch.abs(fc(x))` exports: one layer of
    /// `2n` ReLUs, then the sum.
    #[test]
    fn abs_after_gemm() {
        let w = [1.0, -2.0, 0.5, 0.25, -1.0, 3.0];
        let b = [0.1, -0.2];
        let net = TestGraph::new(13, &[-1, 3])
            .init("W", &[2, 3], &w)
            .init("b", &[2], &b)
            .node("Gemm", &["x", "W", "b"], "z", vec![crate::model::onnx::test_graph::attr_i("transB", 1)])
            .node("Abs", &["z"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_eq!(net.layers()[0].activation, Activation::Relu);
        assert_eq!(net.layers()[0].affine.weights.rows(), 4);
        assert_agrees(&net, 3, |x| {
            (0..2).map(|j| ((0..3).map(|k| w[j * 3 + k] * x[k]).sum::<f64>() + b[j]).abs()).collect()
        });
    }

    /// `Max(x, 0)` is `Relu`; `Min` against a per-element constant; and a
    /// constant broadcast against the input.
    #[test]
    fn max_min_against_constants() {
        let net = TestGraph::new(13, &[1, 3])
            .init("zero", &[], &[0.0])
            .node("Max", &["x", "zero"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_eq!(net.layers().len(), 2);
        assert_eq!(net.layers()[0].activation, Activation::Relu);
        assert_agrees(&net, 3, |x| x.iter().map(|v| v.max(0.0)).collect());
        let c = [0.5, -0.25, 0.0];
        let net = TestGraph::new(13, &[1, 3])
            .init("c", &[3], &c)
            .init("d", &[1], &[0.3])
            .node("Min", &["c", "x", "d"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 3, |x| x.iter().zip(&c).map(|(v, c)| v.min(*c).min(0.3)).collect());
        // [1, 3] against [2, 1]: the result is [2, 3].
        let net = TestGraph::new(13, &[1, 3])
            .init("c", &[2, 1], &[-0.5, 0.5])
            .node("Max", &["x", "c"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 3, |x| [-0.5, 0.5].iter().flat_map(|c| x.iter().map(move |v| v.max(*c))).collect());
    }

    /// `Max` and `Min` of two and three input-dependent values (linear maps
    /// of the same layer): pass-through neurons carry the other operands.
    #[test]
    fn max_min_between_inputs() {
        let g = || {
            TestGraph::new(13, &[1, 2])
                .init("A", &[2, 2], &[1.0, -1.0, 2.0, 0.5])
                .init("B", &[2, 2], &[-1.0, 1.0, 0.25, 1.0])
                .init("b", &[2], &[0.5, -0.5])
                .node("MatMul", &["x", "A"], "a", vec![])
                .node("MatMul", &["x", "B"], "bb", vec![])
                .node("Add", &["bb", "b"], "c", vec![])
        };
        // a = x A (A stored [in, out]), c = x B + b.
        let a = |x: &[f64]| [x[0] + 2.0 * x[1], -x[0] + 0.5 * x[1]];
        let c = |x: &[f64]| [-x[0] + 0.25 * x[1] + 0.5, x[0] + x[1] - 0.5];
        let net = g().node("Max", &["a", "c"], "y", vec![]).output("y").load().unwrap();
        assert_eq!(net.layers()[0].activation, Activation::Leaky { slopes: vec![0.0, 0.0, 1.0, 1.0] });
        assert_agrees(&net, 2, |x| (0..2).map(|i| a(x)[i].max(c(x)[i])).collect());
        let net = g().node("Min", &["a", "c"], "y", vec![]).output("y").load().unwrap();
        assert_agrees(&net, 2, |x| (0..2).map(|i| a(x)[i].min(c(x)[i])).collect());
        let net =
            g().init("k", &[], &[0.1]).node("Max", &["a", "c", "x", "k"], "y", vec![]).output("y").load().unwrap();
        assert_eq!(net.layers().len(), 4);
        assert_agrees(&net, 2, |x| (0..2).map(|i| a(x)[i].max(c(x)[i]).max(x[i]).max(0.1)).collect());
    }

    /// Constants only: evaluated; operands of different layers: a branch.
    #[test]
    fn constant_and_branching_operands() {
        let net = TestGraph::new(13, &[1, 2])
            .init("c", &[2], &[-3.0, 4.0])
            .node("Abs", &["c"], "a", vec![])
            .node("Max", &["a", "c"], "m", vec![])
            .node("Add", &["x", "m"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 2, |x| vec![x[0] + 3.0, x[1] + 4.0]);
        // max(relu(x), x) = relu(x): x is carried past the ReLU.
        let net = TestGraph::new(13, &[1, 2])
            .node("Relu", &["x"], "r", vec![])
            .node("Max", &["r", "x"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 2, |x| x.iter().map(|v| v.max(0.0)).collect());
    }
}
