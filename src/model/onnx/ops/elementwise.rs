//! Element-wise arithmetic with numpy broadcasting (`Add`, `Sub`, `Mul`,
//! `Div`), `Neg`, and `BatchNormalization`, which at inference time is the
//! element-wise affine map `y = a_c x + b_c` per channel `c`.
//!
//! With one constant operand each of these is `y_i = s_i x_j + t_i` for some
//! source element `j` of the input, so it folds into the affine map row by
//! row (`Var::elementwise`). Adding or subtracting two input-dependent
//! values of the same layer is still affine; multiplying or dividing them is
//! not, and is rejected as unsupported.

use super::NodeInput;
use crate::error::{Error, ErrorKind, Result};
use crate::model::graph::{Graph, Op, Operand};
use crate::model::onnx::tensor::{broadcast_index, broadcast_shapes, numel, Elem, Tensor};
use crate::model::onnx::value::Value;

/// The four broadcasting binary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// `Add`: `a + b`.
pub(super) fn add(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    binary(n, g, BinOp::Add)
}

/// `Sub`: `a - b`.
pub(super) fn sub(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    binary(n, g, BinOp::Sub)
}

/// `Mul`: `a * b`, one side constant.
pub(super) fn mul(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    binary(n, g, BinOp::Mul)
}

/// `Div`: `a / b` with `b` constant and non-zero.
pub(super) fn div(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    binary(n, g, BinOp::Div)
}

/// `Neg`: `-x`.
pub(super) fn neg(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let value = match n.input(0)? {
        Value::Const(t) => Value::Const(Tensor { data: t.data.iter().map(|v| -v).collect(), ..t.clone() }),
        Value::Sym(x) => {
            let len = x.numel();
            let src: Vec<usize> = (0..len).collect();
            Value::Sym(x.elementwise(&src, &vec![-1.0; len], &vec![0.0; len], x.shape.clone(), n, g)?)
        }
    };
    Ok(vec![value])
}

fn binary(n: &NodeInput<'_>, g: &mut Graph, op: BinOp) -> Result<Vec<Value>> {
    let (a, b) = (n.input(0)?, n.input(1)?);
    let shape = broadcast_shapes(a.shape(), b.shape()).ok_or_else(|| {
        n.shape_error(format!("a shape that broadcasts with {:?}", a.shape()), format!("{:?}", b.shape()))
    })?;
    n.check_shape(&shape)?;
    let (ia, ib) = (broadcast_index(a.shape(), &shape), broadcast_index(b.shape(), &shape));
    let div_zero = || Error::new(ErrorKind::Onnx, "Div by a constant that contains 0");
    let value = match (a, b) {
        (Value::Const(x), Value::Const(y)) => {
            // Shape arithmetic (`x.size(1) // 2`) works on integers, and
            // integer division truncates.
            let elem = if x.elem == Elem::Int && y.elem == Elem::Int { Elem::Int } else { Elem::Float };
            let mut data = Vec::with_capacity(ia.len());
            for (&i, &j) in ia.iter().zip(&ib) {
                let (p, q) = (x.data[i], y.data[j]);
                data.push(match op {
                    BinOp::Add => p + q,
                    BinOp::Sub => p - q,
                    BinOp::Mul => p * q,
                    BinOp::Div if q == 0.0 => return Err(div_zero()),
                    BinOp::Div if elem == Elem::Int => (p / q).trunc(),
                    BinOp::Div => p / q,
                });
            }
            Value::Const(Tensor { shape, data, elem })
        }
        (Value::Sym(x), Value::Const(c)) => {
            let cs: Vec<f64> = ib.iter().map(|&j| c.data[j]).collect();
            let (scale, shift) = match op {
                BinOp::Add => (vec![1.0; cs.len()], cs),
                BinOp::Sub => (vec![1.0; cs.len()], cs.iter().map(|v| -v).collect()),
                BinOp::Mul => (cs.clone(), vec![0.0; cs.len()]),
                BinOp::Div if cs.contains(&0.0) => return Err(div_zero()),
                BinOp::Div => (cs.iter().map(|v| 1.0 / v).collect(), vec![0.0; cs.len()]),
            };
            Value::Sym(x.elementwise(&ia, &scale, &shift, shape, n, g)?)
        }
        (Value::Const(c), Value::Sym(x)) => {
            let cs: Vec<f64> = ia.iter().map(|&j| c.data[j]).collect();
            let (scale, shift) = match op {
                BinOp::Add => (vec![1.0; cs.len()], cs),
                BinOp::Sub => (vec![-1.0; cs.len()], cs),
                BinOp::Mul => (cs.clone(), vec![0.0; cs.len()]),
                BinOp::Div => return Err(n.unsupported(
                    "divides a constant by a value that depends on the network input, which is not piecewise linear",
                )),
            };
            Value::Sym(x.elementwise(&ib, &scale, &shift, shape, n, g)?)
        }
        (Value::Sym(x), Value::Sym(y)) => {
            let sign = match op {
                BinOp::Add => 1.0,
                BinOp::Sub => -1.0,
                BinOp::Mul | BinOp::Div => {
                    return Err(n.unsupported(
                        "both operands depend on the network input; their product or quotient is not piecewise linear (one operand must be a constant)",
                    ))
                }
            };
            // A residual connection, or any sum of two input-dependent values.
            let a = Operand { node: x.node, src: ia, scale: 1.0 };
            let b = Operand { node: y.node, src: ib, scale: sign };
            Value::Sym(n.push(g, Op::Sum { a, b }, shape)?)
        }
    };
    Ok(vec![value])
}

/// `BatchNormalization` (inference): per channel `c` (axis 1),
/// `y = scale_c (x - mean_c) / sqrt(var_c + eps) + B_c = a_c x + b_c` with
/// `a_c = scale_c / sqrt(var_c + eps)` and `b_c = B_c - a_c mean_c`.
pub(super) fn batch_normalization(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    if n.attr_flag("training_mode")? {
        return Err(n.unsupported("training_mode = 1 uses batch statistics; export the model in inference mode"));
    }
    if n.attr_int("spatial", 1)? != 1 {
        return Err(n.unsupported("spatial = 0 is not supported"));
    }
    let eps = n.attr_float("epsilon", 1e-5)?;
    let shape = x.shape().to_vec();
    if shape.len() < 2 {
        return Err(n.shape_error("an input of rank >= 2 ([batch, channels, ...])", format!("{shape:?}")));
    }
    let channels = shape[1];
    let params = ["scale", "bias", "mean", "variance"];
    let mut p = Vec::with_capacity(4);
    for (k, what) in params.iter().enumerate() {
        let t = n.const_input(k + 1, what)?;
        if t.data.len() != channels {
            return Err(n.shape_error(format!("{channels} {what} values (one per channel)"), t.data.len()));
        }
        p.push(&t.data);
    }
    let (mut a, mut b) = (Vec::with_capacity(channels), Vec::with_capacity(channels));
    for (c, (((scale, bias), mean), var)) in p[0].iter().zip(p[1]).zip(p[2]).zip(p[3]).enumerate() {
        let denom = (var + eps).sqrt();
        if denom.is_nan() || denom <= 0.0 || denom.is_infinite() {
            return Err(Error::new(
                ErrorKind::Onnx,
                format!("BatchNormalization: variance + epsilon of channel {c} is not positive"),
            ));
        }
        let ac = scale / denom;
        a.push(ac);
        b.push(bias - ac * mean);
    }
    let inner = numel(&shape[2..]);
    let len = numel(&shape);
    let channel = |i: usize| (i / inner) % channels;
    let scale: Vec<f64> = (0..len).map(|i| a[channel(i)]).collect();
    let shift: Vec<f64> = (0..len).map(|i| b[channel(i)]).collect();
    let value = match x {
        Value::Const(t) => Value::Const(Tensor::float(
            shape,
            t.data.iter().enumerate().map(|(i, v)| scale[i] * v + shift[i]).collect(),
        )),
        Value::Sym(v) => {
            let src: Vec<usize> = (0..len).collect();
            Value::Sym(v.elementwise(&src, &scale, &shift, shape, n, g)?)
        }
    };
    Ok(vec![value])
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::model::onnx::test_graph::{assert_close, TestGraph};
    use crate::model::Activation;

    /// Input normalisation `(x - mean) / std` before a `Gemm` folds into the
    /// first layer.
    #[test]
    fn sub_div_normalisation_folds() {
        let net = TestGraph::new(9, &[1, 2])
            .init("mean", &[2], &[1.0, -1.0])
            .init("std", &[1, 2], &[2.0, 4.0])
            .init("W", &[1, 2], &[1.0, 1.0])
            .node("Sub", &["x", "mean"], "c", vec![])
            .node("Div", &["c", "std"], "n", vec![])
            .node("Gemm", &["n", "W"], "z", vec![crate::model::onnx::test_graph::attr_i("transB", 1)])
            .node("Relu", &["z"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_eq!(net.layers().len(), 2);
        assert_eq!(net.layers()[0].activation, Activation::Relu);
        // (3 - 1) / 2 + (3 + 1) / 4 = 2
        assert_close(&net.forward(&[3.0, 3.0]), &[2.0], 1e-12);
        assert_close(&net.forward(&[-3.0, -3.0]), &[0.0], 1e-12);
    }

    /// Constant on the left: `c - x`, `c * x`, and a scalar broadcast.
    #[test]
    fn constant_first_and_scalars() {
        let net = TestGraph::new(13, &[1, 2])
            .init("c", &[2], &[10.0, 20.0])
            .init("two", &[], &[2.0])
            .node("Sub", &["c", "x"], "a", vec![])
            .node("Mul", &["two", "a"], "b", vec![])
            .node("Add", &["b", "two"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_close(&net.forward(&[1.0, 5.0]), &[2.0 * 9.0 + 2.0, 2.0 * 15.0 + 2.0], 1e-12);
    }

    /// Adding two values of the same layer is affine: `x + 3x`.
    #[test]
    fn sum_of_same_layer_values() {
        let net = TestGraph::new(13, &[1, 2])
            .init("three", &[1], &[3.0])
            .node("Mul", &["x", "three"], "t", vec![])
            .node("Add", &["x", "t"], "s", vec![])
            .node("Sub", &["s", "x"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_close(&net.forward(&[1.0, -2.0]), &[3.0, -6.0], 1e-12);
    }

    #[test]
    fn batch_normalization_folds() {
        let net = TestGraph::new(9, &[1, 2])
            .init("scale", &[2], &[2.0, 1.0])
            .init("bias", &[2], &[0.5, 0.0])
            .init("mean", &[2], &[1.0, -1.0])
            .init("var", &[2], &[4.0, 1.0])
            .node(
                "BatchNormalization",
                &["x", "scale", "bias", "mean", "var"],
                "y",
                vec![crate::model::onnx::test_graph::attr_f("epsilon", 0.0)],
            )
            .output("y")
            .load()
            .unwrap();
        // 2 (3 - 1) / 2 + 0.5 = 2.5 ; 1 (3 + 1) / 1 + 0 = 4
        assert_close(&net.forward(&[3.0, 3.0]), &[2.5, 4.0], 1e-12);
    }

    #[test]
    fn nonlinear_and_broken_uses_are_rejected() {
        let mul_vars = TestGraph::new(13, &[1, 2]).node("Mul", &["x", "x"], "y", vec![]).output("y").load();
        assert_eq!(mul_vars.unwrap_err().kind(), ErrorKind::Unsupported);
        let div_by_var = TestGraph::new(13, &[1, 2])
            .init("one", &[], &[1.0])
            .node("Div", &["one", "x"], "y", vec![])
            .output("y")
            .load();
        assert_eq!(div_by_var.unwrap_err().kind(), ErrorKind::Unsupported);
        let div_by_zero = TestGraph::new(13, &[1, 2])
            .init("z", &[2], &[1.0, 0.0])
            .node("Div", &["x", "z"], "y", vec![])
            .output("y")
            .load();
        assert_eq!(div_by_zero.unwrap_err().kind(), ErrorKind::Onnx);
        let no_broadcast = TestGraph::new(13, &[1, 2])
            .init("c", &[3], &[1.0, 2.0, 3.0])
            .node("Add", &["x", "c"], "y", vec![])
            .output("y")
            .load();
        assert_eq!(no_broadcast.unwrap_err().kind(), ErrorKind::Onnx);
        // relu(x) + x: a skip connection, carried by pass-through neurons.
        let skip = TestGraph::new(13, &[1, 2])
            .node("Relu", &["x"], "r", vec![])
            .node("Add", &["r", "x"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        crate::model::onnx::test_graph::assert_agrees(&skip, 2, |x| x.iter().map(|v| v.max(0.0) + v).collect());
        // min(x, 1) + x: across a Clip too, which is rewritten by its
        // hinges (more in `activation.rs`).
        let across_clip = TestGraph::new(6, &[1, 2])
            .node("Clip", &["x"], "r", vec![crate::model::onnx::test_graph::attr_f("max", 1.0)])
            .node("Add", &["r", "x"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        crate::model::onnx::test_graph::assert_agrees(&across_clip, 2, |x| x.iter().map(|v| v.min(1.0) + v).collect());
    }
}
