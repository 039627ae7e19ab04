//! Operators that only move elements around or introduce constants:
//! `Constant`, `Identity`, `Dropout`, `Flatten`, `Reshape`, `Squeeze`,
//! `Unsqueeze` and `Transpose`. A reshape keeps the row-major element order,
//! so it changes only the recorded shape; a transpose permutes the rows of
//! the affine map.

use super::{normalize_axis, NodeInput};
use crate::error::{Error, ErrorKind, Result};
use crate::model::graph::Graph;
use crate::model::onnx::tensor::{check_rank, numel, transpose_index, Tensor};
use crate::model::onnx::value::Value;

/// `Constant`: the tensor (or scalar/list) held in the node's attribute.
pub(super) fn constant(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let out = n.node.output.first().map(String::as_str).unwrap_or("");
    let what = format!("Constant '{out}'");
    let finite = |vals: Vec<f64>| -> Result<Vec<f64>> {
        match vals.iter().find(|v| !v.is_finite()) {
            Some(v) => Err(Error::new(ErrorKind::Onnx, format!("{what}: value {v} is not finite"))),
            None => Ok(vals),
        }
    };
    let tensor = if let Some(t) = n.attr_tensor("value")? {
        Tensor::from_proto(t, &what, n.limits())?
    } else if let Some(f) = n.attr_float_opt("value_float")? {
        Tensor::scalar(finite(vec![f])?[0])
    } else if let Some(fs) = n.attr_floats("value_floats")? {
        Tensor::vector(finite(fs)?)
    } else if n.has_attr("value_int") {
        Tensor::int(vec![], vec![n.attr_int("value_int", 0)? as f64])
    } else if let Some(is) = n.attr_ints("value_ints")? {
        Tensor::int(vec![is.len()], is.iter().map(|&i| i as f64).collect())
    } else {
        return Err(n.unsupported(
            "needs a 'value', 'value_float(s)' or 'value_int(s)' attribute; sparse and string constants are not supported",
        ));
    };
    Ok(vec![Value::Const(tensor)])
}

/// `Identity`: the input unchanged.
pub(super) fn identity(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    Ok(vec![n.input(0)?.clone()])
}

/// `Dropout` at inference time: the input unchanged, wherever it sits. From
/// opset 12 an optional third input `training_mode` may switch dropout on;
/// a constant true there is refused (the output would be random).
pub(super) fn dropout(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    if n.opset >= 12 && n.opt_const_input(2, "training_mode")?.is_some_and(|t| t.data.iter().any(|&v| v != 0.0)) {
        return Err(n.unsupported("training_mode is true, so the output is random; export the model in eval mode"));
    }
    Ok(vec![n.input(0)?.clone()])
}

/// `Flatten`: `[d0, ..., d(r-1)]` -> `[d0 * ... * d(axis-1), d(axis) * ... ]`.
pub(super) fn flatten(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let rank = x.shape().len();
    let axis = n.attr_int("axis", 1)?;
    let r = rank as i64;
    if !(-r..=r).contains(&axis) {
        return Err(n.shape_error(format!("axis in [{}, {r}]", -r), axis));
    }
    let a = if axis < 0 { axis + r } else { axis } as usize;
    let shape = vec![numel(&x.shape()[..a]), numel(&x.shape()[a..])];
    Ok(vec![x.with_shape(shape)])
}

/// `Reshape`: target shape from input 2 (opset >= 5) or the `shape`
/// attribute; `0` copies the input dimension (unless `allowzero`), `-1` is
/// inferred.
pub(super) fn reshape(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let target = if n.opset >= 5 {
        n.const_input(1, "target shape")?.to_ints("Reshape shape")?
    } else {
        n.attr_ints("shape")?.ok_or_else(|| n.unsupported("needs a 'shape' attribute (opset < 5)"))?
    };
    let allowzero = n.attr_flag("allowzero")?;
    check_rank(target.len(), "Reshape target shape")?;
    let total = numel(x.shape());
    let mut shape = Vec::with_capacity(target.len());
    let mut inferred = None;
    for (i, &d) in target.iter().enumerate() {
        let dim = match d {
            -1 if inferred.is_none() => {
                inferred = Some(i);
                1
            }
            0 if !allowzero => *x.shape().get(i).ok_or_else(|| {
                n.shape_error(format!("a dimension {i} to copy for 0"), format!("input shape {:?}", x.shape()))
            })?,
            d if d >= 0 => usize::try_from(d).map_err(|_| n.shape_error("a dimension that fits in memory", d))?,
            _ => return Err(n.shape_error("entries >= -1 with at most one -1", format!("{target:?}"))),
        };
        shape.push(dim);
    }
    let known = n.check_shape(&shape)?;
    if let Some(i) = inferred {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(n.shape_error(
                format!("a shape whose -1 divides {total} elements"),
                format!("{target:?} for input shape {:?}", x.shape()),
            ));
        }
        shape[i] = total / known;
    }
    if numel(&shape) != total {
        return Err(n.shape_error(
            format!("{total} elements (input shape {:?})", x.shape()),
            format!("target {shape:?} with {} elements", numel(&shape)),
        ));
    }
    Ok(vec![x.with_shape(shape)])
}

/// The `axes` of Squeeze/Unsqueeze: an attribute before opset 13, input 2 after.
fn axes(n: &NodeInput<'_>) -> Result<Option<Vec<i64>>> {
    if n.opset >= 13 {
        n.opt_const_input(1, "axes")?.map(|t| t.to_ints("axes")).transpose()
    } else {
        n.attr_ints("axes")
    }
}

/// `Squeeze`: drop the listed size-1 axes (all size-1 axes when none given).
pub(super) fn squeeze(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let rank = x.shape().len();
    let drop: Vec<usize> = match axes(n)? {
        None => (0..rank).filter(|&i| x.shape()[i] == 1).collect(),
        Some(list) => {
            let mut drop = Vec::with_capacity(list.len());
            for a in list {
                let i = normalize_axis(a, rank)
                    .ok_or_else(|| n.shape_error(format!("an axis of a rank-{rank} value"), a))?;
                if x.shape()[i] != 1 {
                    return Err(n.shape_error(format!("size 1 on axis {i}"), format!("shape {:?}", x.shape())));
                }
                drop.push(i);
            }
            drop
        }
    };
    let shape = (0..rank).filter(|i| !drop.contains(i)).map(|i| x.shape()[i]).collect();
    Ok(vec![x.with_shape(shape)])
}

/// `Unsqueeze`: insert size-1 axes at the listed output positions.
pub(super) fn unsqueeze(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let list = axes(n)?.ok_or_else(|| n.unsupported("needs 'axes'"))?;
    let out_rank = x.shape().len().saturating_add(list.len());
    check_rank(out_rank, "Unsqueeze result")?;
    let mut at = Vec::with_capacity(list.len());
    for a in list {
        let i = normalize_axis(a, out_rank)
            .ok_or_else(|| n.shape_error(format!("an axis of a rank-{out_rank} result"), a))?;
        if at.contains(&i) {
            return Err(n.shape_error("distinct axes", format!("axis {i} twice")));
        }
        at.push(i);
    }
    let mut rest = x.shape().iter();
    let shape = (0..out_rank).map(|i| if at.contains(&i) { 1 } else { rest.next().copied().unwrap_or(1) }).collect();
    Ok(vec![x.with_shape(shape)])
}

/// `Transpose`: permute the axes (reverse them when `perm` is absent).
pub(super) fn transpose(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let rank = x.shape().len();
    let perm: Vec<usize> = match n.attr_ints("perm")? {
        None => (0..rank).rev().collect(),
        Some(p) => {
            let perm: Vec<usize> = p.iter().filter_map(|&a| usize::try_from(a).ok()).filter(|&a| a < rank).collect();
            let mut seen = perm.clone();
            seen.sort_unstable();
            seen.dedup();
            if perm.len() != p.len() || seen.len() != rank || p.len() != rank {
                return Err(n.shape_error(format!("a permutation of 0..{rank}"), format!("{p:?}")));
            }
            perm
        }
    };
    let (shape, index) = transpose_index(x.shape(), &perm);
    Ok(vec![x.gather(&index, shape, n, g)?])
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::model::onnx::test_graph::{assert_close, attr_i, attr_ints, attr_t, TestGraph};

    /// `[1, 2, 2]` -> Flatten -> Reshape `[1, -1, 2]` -> Reshape `[0, 4]`
    /// -> MatMul: the row-major order survives every step.
    #[test]
    fn flatten_and_reshape_keep_row_major_order() {
        let net = TestGraph::new(13, &[-1, 2, 2])
            .init_i64("s1", &[1, -1, 2])
            .init_i64("s2", &[0, 4])
            .init("W", &[4, 1], &[1.0, 10.0, 100.0, 1000.0])
            .node("Flatten", &["x"], "f", vec![attr_i("axis", 1)])
            .node("Reshape", &["f", "s1"], "r1", vec![])
            .node("Reshape", &["r1", "s2"], "r2", vec![])
            .node("MatMul", &["r2", "W"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_eq!(net.input_dim(), 4);
        assert_close(&net.forward(&[1.0, 2.0, 3.0, 4.0]), &[4321.0], 1e-12);
    }

    #[test]
    fn bad_reshape_is_an_onnx_error() {
        let err = TestGraph::new(13, &[1, 4])
            .init_i64("s", &[1, 3])
            .node("Reshape", &["x", "s"], "y", vec![])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
    }

    /// A `Constant` node feeding an `Add`, with `Unsqueeze`/`Squeeze` (opset
    /// 11 attributes) and `Transpose` around it.
    #[test]
    fn constant_unsqueeze_squeeze_transpose() {
        let net = TestGraph::new(11, &[1, 3])
            .node("Constant", &[], "c", vec![attr_t("value", &[3], &[1.0, 2.0, 3.0])])
            .node("Unsqueeze", &["c"], "c2", vec![attr_ints("axes", &[0])])
            .node("Add", &["x", "c2"], "s", vec![])
            .node("Transpose", &["s"], "t", vec![])
            .node("Squeeze", &["t"], "q", vec![attr_ints("axes", &[1])])
            .node("Identity", &["q"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_close(&net.forward(&[1.0, 1.0, 1.0]), &[2.0, 3.0, 4.0], 1e-12);
    }

    /// A real transpose: `[1, 2, 3]` with perm `[0, 2, 1]` reorders elements.
    #[test]
    fn transpose_permutes() {
        let net = TestGraph::new(13, &[1, 2, 3])
            .node("Transpose", &["x"], "y", vec![attr_ints("perm", &[0, 2, 1])])
            .output("y")
            .load()
            .unwrap();
        assert_close(&net.forward(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0], 1e-12);
    }
}
