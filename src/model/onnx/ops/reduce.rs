//! Reductions over fixed axes: `ReduceSum` and `ReduceMean`. Both are
//! linear (output element = sum, or mean, of the input elements that share
//! its coordinates on the kept axes), so they fold into the affine map.
//!
//! Opset notes: the axes are an attribute until `ReduceSum` opset 13 and
//! `ReduceMean` opset 18, and an optional input from then on. No axes means
//! every axis, unless `noop_with_empty_axes = 1` (then the input passes
//! unchanged). `keepdims` (default 1) keeps the reduced axes with size 1.

use super::{normalize_axis, NodeInput};
use crate::error::Result;
use crate::model::graph::Graph;
use crate::model::onnx::tensor::{numel, strides};
use crate::model::onnx::value::Value;

/// `ReduceSum` (axes an input from opset 13).
pub(super) fn reduce_sum(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    reduce(n, g, 13, false)
}

/// `ReduceMean` (axes an input from opset 18).
pub(super) fn reduce_mean(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    reduce(n, g, 18, true)
}

/// Reduce input 1 over its axes; `axes_input_from` is the first opset that
/// takes the axes as an input; `mean` divides by the reduced count.
fn reduce(n: &NodeInput<'_>, g: &mut Graph, axes_input_from: i64, mean: bool) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let shape = x.shape().to_vec();
    let rank = shape.len();
    let axes = if n.opset >= axes_input_from {
        n.opt_const_input(1, "axes")?.map(|t| t.to_ints("axes")).transpose()?
    } else {
        n.attr_ints("axes")?
    };
    let keepdims = match n.attr_int("keepdims", 1)? {
        0 => false,
        1 => true,
        v => return Err(n.shape_error("keepdims 0 or 1", v)),
    };
    let mut reduced = vec![false; rank];
    match axes {
        Some(list) if !list.is_empty() => {
            for a in list {
                let i = normalize_axis(a, rank)
                    .ok_or_else(|| n.shape_error(format!("an axis of a rank-{rank} value"), a))?;
                if reduced[i] {
                    return Err(n.shape_error("distinct axes", format!("axis {i} twice")));
                }
                reduced[i] = true;
            }
        }
        _ if n.attr_flag("noop_with_empty_axes")? => return Ok(vec![x.clone()]),
        _ => reduced.fill(true),
    }
    let kept: Vec<usize> = (0..rank).map(|i| if reduced[i] { 1 } else { shape[i] }).collect();
    let count: usize = (0..rank).filter(|&i| reduced[i]).map(|i| shape[i]).product();
    if mean && count == 0 {
        return Err(n.shape_error("a non-empty set of elements to average", format!("shape {shape:?}")));
    }
    let coeff = if mean { 1.0 / count as f64 } else { 1.0 };
    // Input element -> output element: drop the reduced coordinates.
    let (in_strides, out_strides) = (strides(&shape), strides(&kept));
    let mut terms = vec![Vec::with_capacity(count); numel(&kept)];
    for flat in 0..numel(&shape) {
        let out: usize =
            (0..rank).filter(|&i| !reduced[i]).map(|i| (flat / in_strides[i]) % shape[i] * out_strides[i]).sum();
        terms[out].push((flat, coeff));
    }
    let out_shape = if keepdims { kept } else { (0..rank).filter(|&i| !reduced[i]).map(|i| shape[i]).collect() };
    let shift = vec![0.0; terms.len()];
    Ok(vec![x.linear_combination(&terms, &shift, out_shape, n, g)?])
}

#[cfg(test)]
mod tests {
    use crate::model::onnx::test_graph::{assert_agrees, attr_i, attr_ints, TestGraph};

    /// `x.sum(dim=2)` / `x.mean(dim=1, keepdim=True)` on a `[1, 2, 3]` input,
    /// in the opset spellings before and after the axes moved to an input.
    #[test]
    fn reduce_over_axes_in_every_opset() {
        // x[0, i, j] is element 3 i + j.
        let sum_last = |x: &[f64]| (0..2).map(|i| (0..3).map(|j| x[3 * i + j]).sum()).collect::<Vec<f64>>();
        let mean_mid = |x: &[f64]| (0..3).map(|j| (x[j] + x[3 + j]) / 2.0).collect::<Vec<f64>>();
        let net = TestGraph::new(11, &[1, 2, 3])
            .node("ReduceSum", &["x"], "y", vec![attr_ints("axes", &[2]), attr_i("keepdims", 0)])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, sum_last);
        let net = TestGraph::new(13, &[1, 2, 3])
            .init_i64("axes", &[-1])
            .node("ReduceSum", &["x", "axes"], "y", vec![attr_i("keepdims", 0)])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, sum_last);
        let net = TestGraph::new(17, &[1, 2, 3])
            .node("ReduceMean", &["x"], "y", vec![attr_ints("axes", &[1])])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, mean_mid);
        let net = TestGraph::new(18, &[1, 2, 3])
            .init_i64("axes", &[1])
            .node("ReduceMean", &["x", "axes"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, mean_mid);
        // No axes: everything, or nothing with noop_with_empty_axes.
        let net = TestGraph::new(13, &[1, 2, 3]).node("ReduceSum", &["x"], "y", vec![]).output("y").load().unwrap();
        assert_agrees(&net, 6, |x| vec![x.iter().sum()]);
        let net = TestGraph::new(13, &[1, 2, 3])
            .node("ReduceSum", &["x"], "y", vec![attr_i("noop_with_empty_axes", 1)])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, |x| x.to_vec());
    }
}
