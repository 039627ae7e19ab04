//! Matrix products: `Gemm` and `MatMul`.
//!
//! Exactly one operand may depend on the network input; the other must be a
//! constant. Each output element is then `sum_k c_k x_{j_k}` (+ bias), which
//! [`Value::linear_combination`] folds into the affine map. The index
//! arithmetic below works on the operands' row-major flat indices, so
//! transposition flags and numpy batch broadcasting cost nothing extra.

use super::NodeInput;
use crate::error::Result;
use crate::model::graph::Graph;
use crate::model::onnx::tensor::{broadcast_index, broadcast_shapes, numel};
use crate::model::onnx::value::Value;

/// Refuse products whose term lists (one term per weight) exceed the
/// weights left in the budget, before building them.
fn check_terms(n: &NodeInput<'_>, outputs: usize, k: usize) -> Result<()> {
    let what = format_args!("{}: a product with {outputs} outputs of {k} terms each", n.node.op_type);
    n.budget.check(outputs.checked_mul(k), what)
}

/// `Gemm`: `Y = alpha * A' B' + beta * C`, where `A' = A^T` if `transA` and
/// `B' = B^T` if `transB`; `A` and `B` are 2-D and `C` broadcasts to `Y`.
pub(super) fn gemm(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let (a, b) = (n.input(0)?, n.input(1)?);
    let alpha = n.attr_float("alpha", 1.0)?;
    let beta = n.attr_float("beta", 1.0)?;
    let (ta, tb) = (n.attr_flag("transA")?, n.attr_flag("transB")?);
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    if sa.len() != 2 {
        return Err(n.shape_error("a 2-D input A (flatten it first)", format!("A of shape {sa:?}")));
    }
    if sb.len() != 2 {
        return Err(n.shape_error("a 2-D input B", format!("B of shape {sb:?}")));
    }
    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
    let (kb, cols) = if tb { (sb[1], sb[0]) } else { (sb[0], sb[1]) };
    if k != kb {
        return Err(n.shape_error(
            format!("B{} with {k} rows to match A' = {m}x{k}", if tb { "^T" } else { "" }),
            format!("B of shape {sb:?}{}", if tb { " (transB = 1)" } else { "" }),
        ));
    }
    // Flat indices of A'[i, p] in A and of B'[p, j] in B.
    let ia = |i: usize, p: usize| if ta { p * sa[1] + i } else { i * sa[1] + p };
    let ib = |p: usize, j: usize| if tb { j * sb[1] + p } else { p * sb[1] + j };
    let out_shape = vec![m, cols];
    check_terms(n, n.check_shape(&out_shape)?, k)?;
    let shift: Vec<f64> = match n.opt_const_input(2, "bias C")? {
        None => vec![0.0; m * cols],
        Some(c) => {
            if broadcast_shapes(&c.shape, &out_shape).as_ref() != Some(&out_shape) {
                return Err(n.shape_error(
                    format!("a bias C that broadcasts to [{m}, {cols}]"),
                    format!("C of shape {:?}", c.shape),
                ));
            }
            broadcast_index(&c.shape, &out_shape).iter().map(|&j| beta * c.data[j]).collect()
        }
    };
    let mut terms = Vec::with_capacity(m * cols);
    let value = match (a, b) {
        (Value::Sym(_), Value::Sym(_)) => return Err(both_vars(n)),
        (_, Value::Const(w)) => {
            for i in 0..m {
                for j in 0..cols {
                    terms.push((0..k).map(|p| (ia(i, p), alpha * w.data[ib(p, j)])).collect());
                }
            }
            a.linear_combination(&terms, &shift, out_shape, n, g)?
        }
        (Value::Const(w), Value::Sym(_)) => {
            for i in 0..m {
                for j in 0..cols {
                    terms.push((0..k).map(|p| (ib(p, j), alpha * w.data[ia(i, p)])).collect());
                }
            }
            b.linear_combination(&terms, &shift, out_shape, n, g)?
        }
    };
    Ok(vec![value])
}

/// `MatMul` with numpy semantics: `[..., m, k] x [..., k, n] -> [..., m, n]`
/// with broadcast batch dimensions; a rank-1 operand is a row (left) or
/// column (right) vector whose unit dimension is dropped from the result.
pub(super) fn matmul(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let (a, b) = (n.input(0)?, n.input(1)?);
    if a.shape().is_empty() || b.shape().is_empty() {
        return Err(n.shape_error("operands of rank >= 1", format!("{:?} and {:?}", a.shape(), b.shape())));
    }
    let (a_vec, b_vec) = (a.shape().len() == 1, b.shape().len() == 1);
    let sa = if a_vec { vec![1, a.shape()[0]] } else { a.shape().to_vec() };
    let sb = if b_vec { vec![b.shape()[0], 1] } else { b.shape().to_vec() };
    let (ra, rb) = (sa.len(), sb.len());
    let (m, k) = (sa[ra - 2], sa[ra - 1]);
    let (kb, cols) = (sb[rb - 2], sb[rb - 1]);
    if k != kb {
        return Err(n.shape_error(
            format!("a right operand with {k} rows (left operand {:?})", a.shape()),
            format!("{:?}", b.shape()),
        ));
    }
    let (batch_a, batch_b) = (&sa[..ra - 2], &sb[..rb - 2]);
    let batch = broadcast_shapes(batch_a, batch_b).ok_or_else(|| {
        n.shape_error(format!("batch dimensions that broadcast with {batch_a:?}"), format!("{batch_b:?}"))
    })?;
    let mut out_shape = batch.clone();
    if !a_vec {
        out_shape.push(m);
    }
    if !b_vec {
        out_shape.push(cols);
    }
    let outputs = n.check_shape(&out_shape)?;
    check_terms(n, outputs, k)?;
    let (ga, gb) = (broadcast_index(batch_a, &batch), broadcast_index(batch_b, &batch));
    let ia = |g: usize, i: usize, p: usize| (ga[g] * m + i) * k + p;
    let ib = |g: usize, p: usize, j: usize| (gb[g] * k + p) * cols + j;
    let mut terms = Vec::with_capacity(outputs);
    let value = match (a, b) {
        (Value::Sym(_), Value::Sym(_)) => return Err(both_vars(n)),
        (_, Value::Const(w)) => {
            for g in 0..ga.len() {
                for i in 0..m {
                    for j in 0..cols {
                        terms.push((0..k).map(|p| (ia(g, i, p), w.data[ib(g, p, j)])).collect());
                    }
                }
            }
            a.linear_combination(&terms, &vec![0.0; outputs], out_shape, n, g)?
        }
        (Value::Const(w), Value::Sym(_)) => {
            for g in 0..ga.len() {
                for i in 0..m {
                    for j in 0..cols {
                        terms.push((0..k).map(|p| (ib(g, p, j), w.data[ia(g, i, p)])).collect());
                    }
                }
            }
            b.linear_combination(&terms, &vec![0.0; outputs], out_shape, n, g)?
        }
    };
    debug_assert_eq!(numel(value.shape()), outputs);
    Ok(vec![value])
}

fn both_vars(n: &NodeInput<'_>) -> crate::error::Error {
    n.unsupported(
        "both operands depend on the network input; their product is not piecewise linear (one operand must be a constant weight)",
    )
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::model::onnx::test_graph::{assert_close, attr_f, attr_i, TestGraph};

    /// `MatMul` (x W, W stored [in, out]) then `Add` fold into one layer.
    #[test]
    fn matmul_add() {
        let net = TestGraph::new(13, &[1, 2])
            .init("W", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            .init("b", &[3], &[0.5, -0.5, 1.0])
            .node("MatMul", &["x", "W"], "h", vec![])
            .node("Add", &["h", "b"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_eq!(net.layers().len(), 1);
        // [1, -1] W = [1 - 4, 2 - 5, 3 - 6]
        assert_close(&net.forward(&[1.0, -1.0]), &[-2.5, -3.5, -2.0], 1e-12);
    }

    /// A rank-1 input times W, and a constant matrix times a column input.
    #[test]
    fn matmul_vector_and_constant_left() {
        let net = TestGraph::new(13, &[2])
            .init("W", &[2, 2], &[1.0, 2.0, 3.0, 4.0])
            .node("MatMul", &["x", "W"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_close(&net.forward(&[1.0, 1.0]), &[4.0, 6.0], 1e-12);
        let net = TestGraph::new(13, &[2, 1])
            .init("C", &[3, 2], &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
            .node("MatMul", &["C", "x"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_close(&net.forward(&[2.0, 5.0]), &[2.0, 5.0, 7.0], 1e-12);
    }

    /// `Gemm` with every attribute: x enters as a column [3, 1] with
    /// transA = 1, B is stored [out, in] with transB = 1.
    #[test]
    fn gemm_attributes() {
        let b = [1.0, 0.0, -1.0, 2.0, 1.0, 0.5];
        let net = TestGraph::new(13, &[3, 1])
            .init("B", &[2, 3], &b)
            .init("C", &[2], &[1.0, -2.0])
            .node(
                "Gemm",
                &["x", "B", "C"],
                "y",
                vec![attr_f("alpha", 2.0), attr_f("beta", 0.5), attr_i("transA", 1), attr_i("transB", 1)],
            )
            .output("y")
            .load()
            .unwrap();
        let x = [1.0, 2.0, 3.0];
        // y_j = 2 * sum_k x_k B[j, k] + 0.5 C_j
        let want = [2.0 * (1.0 - 3.0) + 0.5, 2.0 * (2.0 + 2.0 + 1.5) - 1.0];
        assert_close(&net.forward(&x), &want, 1e-12);
    }

    /// `Gemm` with the constant first: Y = A X for a column input X.
    #[test]
    fn gemm_constant_a() {
        let net = TestGraph::new(11, &[2, 1])
            .init("A", &[2, 2], &[0.0, 1.0, 1.0, 1.0])
            .node("Gemm", &["A", "x"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_close(&net.forward(&[3.0, 4.0]), &[4.0, 7.0], 1e-12);
    }

    #[test]
    fn gemm_shape_mismatch_is_an_onnx_error() {
        let err = TestGraph::new(13, &[1, 3])
            .init("W", &[2, 4], &[0.0; 8])
            .node("Gemm", &["x", "W"], "y", vec![attr_i("transB", 1)])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
    }

    #[test]
    fn product_of_two_inputs_is_unsupported() {
        let err = TestGraph::new(13, &[1, 2])
            .node("Transpose", &["x"], "t", vec![])
            .node("MatMul", &["x", "t"], "y", vec![])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}
