//! Operators that pick, repeat, split or join elements: `Gather`, `Slice`,
//! `Split`, `Concat` and `Expand`. Every output element is a copy of one input
//! element, so they work on constants (the shape arithmetic of
//! `x.view(x.size(0), -1)`: `Shape -> Gather -> Unsqueeze -> Concat`) and on
//! input-dependent values alike (rows of the affine map are copied).
//!
//! Opset notes: `Slice` takes `starts`/`ends`/`axes` attributes before
//! opset 10 and inputs (plus `steps`) from then on; bounds are clamped as
//! the ONNX spec says, so `INT64_MAX` means "to the end".

use super::{normalize_axis, NodeInput};
use crate::error::Result;
use crate::model::graph::{Graph, Op, Part};
use crate::model::onnx::tensor::{broadcast_index, broadcast_shapes, check_rank, numel, strides, Elem, Tensor};
use crate::model::onnx::value::Value;

/// The flat source index of every element of the selection that takes, on
/// each axis `a` of `shape`, the coordinates `picks[a]` (in that order):
/// the output is row-major over the picks. The caller checks the output
/// shape (the pick counts) against the limits first.
fn select(shape: &[usize], picks: &[Vec<usize>]) -> Vec<usize> {
    let st = strides(shape);
    let mut index = vec![0];
    for (axis, pick) in picks.iter().enumerate() {
        let stride = st[axis];
        index = index.iter().flat_map(|&base| pick.iter().map(move |&p| base + p * stride)).collect();
    }
    index
}

/// Every coordinate of every axis: the identity selection.
fn all_of(shape: &[usize]) -> Vec<Vec<usize>> {
    shape.iter().map(|&d| (0..d).collect()).collect()
}

/// `Split`: consecutive parts along `axis` (default 0), of the sizes given
/// by the constant `split` (an input from opset 13, an attribute before),
/// else `num_outputs` (opset 18) or one per output: equal parts, the last
/// one smaller when the axis does not divide evenly.
pub(super) fn split(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let shape = x.shape().to_vec();
    let rank = shape.len();
    let a = n.attr_int("axis", 0)?;
    let axis = normalize_axis(a, rank).ok_or_else(|| n.shape_error(format!("an axis of a rank-{rank} value"), a))?;
    let dim = shape[axis];
    let outputs = n.node.output.len();
    let given = if n.opset >= 13 {
        n.opt_const_input(1, "split")?.map(|t| t.to_ints("Split split")).transpose()?
    } else {
        n.attr_ints("split")?
    };
    let sizes: Vec<usize> = match given {
        Some(v) => {
            if v.len() != outputs || v.iter().any(|&s| s < 0) || v.iter().sum::<i64>() != dim as i64 {
                return Err(n.shape_error(
                    format!("{outputs} non-negative sizes adding up to axis {axis}'s {dim}"),
                    format!("{v:?}"),
                ));
            }
            v.iter().map(|&s| s as usize).collect()
        }
        None => {
            let parts = usize::try_from(n.attr_int("num_outputs", outputs as i64)?).unwrap_or(0);
            if parts == 0 || parts != outputs {
                return Err(n.shape_error(format!("num_outputs equal to the {outputs} outputs"), parts));
            }
            let each = dim.div_ceil(parts);
            (0..parts).map(|p| each.min(dim.saturating_sub(p * each))).collect()
        }
    };
    let mut start = 0;
    let mut values = Vec::with_capacity(outputs);
    for size in sizes {
        let mut picks = all_of(&shape);
        picks[axis] = (start..start + size).collect();
        let mut out_shape = shape.clone();
        out_shape[axis] = size;
        values.push(x.gather(&select(&shape, &picks), out_shape, n, g)?);
        start += size;
    }
    Ok(values)
}

/// `Gather`: along `axis` (default 0), the slices named by the constant
/// `indices` (negative ones count from the end); the indices' shape takes
/// the place of the axis.
pub(super) fn gather(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let indices = n.const_input(1, "indices")?;
    let shape = x.shape().to_vec();
    let rank = shape.len();
    let a = n.attr_int("axis", 0)?;
    let axis = normalize_axis(a, rank).ok_or_else(|| n.shape_error(format!("an axis of a rank-{rank} value"), a))?;
    let dim = shape[axis];
    let mut out_shape = shape[..axis].to_vec();
    out_shape.extend(&indices.shape);
    out_shape.extend(&shape[axis + 1..]);
    n.check_shape(&out_shape)?;
    let mut picks = all_of(&shape);
    picks[axis] = indices
        .to_ints("Gather indices")?
        .into_iter()
        .map(|i| {
            let d = dim as i64;
            let j = if i < 0 { i + d } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| j < dim)
                .ok_or_else(|| n.shape_error(format!("indices in [-{d}, {d})"), i))
        })
        .collect::<Result<_>>()?;
    Ok(vec![x.gather(&select(&shape, &picks), out_shape, n, g)?])
}

/// `Slice`: on each listed axis, the coordinates `start, start + step, ...`
/// before `end`, with negative bounds counting from the end and bounds
/// clamped to the axis as the ONNX spec says.
pub(super) fn slice(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let shape = x.shape().to_vec();
    let rank = shape.len();
    let ints = |i: usize, what: &str| -> Result<Option<Vec<i64>>> {
        n.opt_const_input(i, what)?.map(|t| t.to_ints_saturating(&format!("Slice {what}"))).transpose()
    };
    let (starts, ends, axes, steps) = if n.opset >= 10 {
        let starts = ints(1, "starts")?.ok_or_else(|| n.unsupported("needs a 'starts' input"))?;
        let ends = ints(2, "ends")?.ok_or_else(|| n.unsupported("needs an 'ends' input"))?;
        (starts, ends, ints(3, "axes")?, ints(4, "steps")?)
    } else {
        let starts = n.attr_ints("starts")?.ok_or_else(|| n.unsupported("needs a 'starts' attribute (opset < 10)"))?;
        let ends = n.attr_ints("ends")?.ok_or_else(|| n.unsupported("needs an 'ends' attribute (opset < 10)"))?;
        (starts, ends, n.attr_ints("axes")?, None)
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(n.shape_error(
            "as many ends, axes and steps as starts",
            format!("starts {starts:?}, ends {ends:?}, axes {axes:?}, steps {steps:?}"),
        ));
    }
    check_rank(starts.len(), "Slice starts")?;
    let mut picks = all_of(&shape);
    let mut seen = vec![false; rank];
    for k in 0..starts.len() {
        let axis = normalize_axis(axes[k], rank)
            .ok_or_else(|| n.shape_error(format!("an axis of a rank-{rank} value"), axes[k]))?;
        if std::mem::replace(&mut seen[axis], true) {
            return Err(n.shape_error("distinct axes", format!("axis {axis} twice")));
        }
        let (dim, step) = (shape[axis] as i64, steps[k]);
        let from_end = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
        let (start, end) = (from_end(starts[k]), from_end(ends[k]));
        let (start, end) = match step {
            0 => return Err(n.shape_error("non-zero steps", format!("{steps:?}"))),
            s if s > 0 => (start.clamp(0, dim), end.clamp(0, dim)),
            _ => (start.clamp(0, dim - 1), end.clamp(-1, dim - 1)),
        };
        let mut pick = Vec::new();
        let mut i = start;
        while (step > 0 && i < end) || (step < 0 && i > end) {
            pick.push(i as usize);
            i = i.saturating_add(step);
        }
        picks[axis] = pick;
    }
    let out_shape: Vec<usize> = picks.iter().map(Vec::len).collect();
    n.check_shape(&out_shape)?;
    Ok(vec![x.gather(&select(&shape, &picks), out_shape, n, g)?])
}

/// `Concat`: join the inputs along `axis`; all other dimensions must agree.
/// Constants join constants; once one input depends on the network input,
/// the inputs become an [`Op::Concat`] node (constants as constant parts),
/// reordered for the axis by a map after it.
pub(super) fn concat(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let parts = (0..n.node.input.len()).map(|i| n.input(i)).collect::<Result<Vec<_>>>()?;
    let Some(first) = parts.first() else { return Err(n.unsupported("needs at least one input")) };
    if !n.has_attr("axis") {
        return Err(n.unsupported("needs an 'axis' attribute"));
    }
    let rank = first.shape().len();
    let a = n.attr_int("axis", 0)?;
    let axis = normalize_axis(a, rank).ok_or_else(|| n.shape_error(format!("an axis of a rank-{rank} value"), a))?;
    let mut out_shape = first.shape().to_vec();
    out_shape[axis] = 0;
    for p in &parts {
        let s = p.shape();
        if s.len() != rank || (0..rank).any(|i| i != axis && s[i] != out_shape[i]) {
            return Err(n.shape_error(
                format!("inputs that agree with {:?} except on axis {axis}", first.shape()),
                format!("{s:?}"),
            ));
        }
        out_shape[axis] = out_shape[axis].saturating_add(s[axis]);
    }
    n.check_shape(&out_shape)?;
    // The inputs one after another, then the interleaving: for each outer
    // index, each input's block of (its axis length x inner) elements.
    let outer = numel(&out_shape[..axis]);
    let inner = numel(&out_shape[axis + 1..]);
    let mut offsets = Vec::with_capacity(parts.len());
    let mut total = 0;
    for p in &parts {
        offsets.push(total);
        total += numel(p.shape());
    }
    let mut src = Vec::with_capacity(numel(&out_shape));
    for o in 0..outer {
        for (p, &off) in parts.iter().zip(&offsets) {
            let block = p.shape()[axis] * inner;
            src.extend(off + o * block..off + (o + 1) * block);
        }
    }
    let joined = if parts.iter().all(|p| matches!(p, Value::Const(_))) {
        let int = parts.iter().all(|p| matches!(p, Value::Const(t) if t.elem == Elem::Int));
        let data = parts.iter().flat_map(|p| if let Value::Const(t) = p { t.data.clone() } else { vec![] }).collect();
        Value::Const(Tensor { shape: vec![total], data, elem: if int { Elem::Int } else { Elem::Float } })
    } else {
        let parts = parts
            .iter()
            .map(|p| match p {
                Value::Const(t) => Part::Constant(t.data.clone()),
                Value::Sym(s) => Part::Node(s.node),
            })
            .collect();
        Value::Sym(n.push(g, Op::Concat { parts }, vec![total])?)
    };
    Ok(vec![joined.gather(&src, out_shape, n, g)?])
}

/// `Expand`: broadcast the input against the constant shape (numpy rules,
/// in both directions, as ONNX says).
pub(super) fn expand(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let target = n.const_input(1, "shape")?.to_ints("Expand shape")?;
    check_rank(target.len(), "Expand shape")?;
    let target = target
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| n.shape_error("non-negative dimensions", format!("{target:?}"))))
        .collect::<Result<Vec<_>>>()?;
    let out_shape = broadcast_shapes(x.shape(), &target)
        .ok_or_else(|| n.shape_error(format!("a shape that broadcasts with {:?}", x.shape()), format!("{target:?}")))?;
    n.check_shape(&out_shape)?;
    Ok(vec![x.gather(&broadcast_index(x.shape(), &out_shape), out_shape, n, g)?])
}

#[cfg(test)]
mod tests {
    /// Split into given sizes (an input from opset 13), joined back in the
    /// other order; and into one part (the number of outputs, opset 18).
    #[test]
    fn split_parts() {
        use crate::model::onnx::test_graph::{assert_agrees, attr_i, TestGraph};
        let mut model = TestGraph::new(13, &[1, 5])
            .init_i64("sizes", &[2, 3])
            .node("Split", &["x", "sizes"], "a", vec![attr_i("axis", 1)])
            .node("Concat", &["b", "a"], "y", vec![attr_i("axis", 1)])
            .output("y")
            .model();
        model.graph.as_mut().unwrap().node[0].output.push("b".into());
        let bytes = prost::Message::encode_to_vec(&model);
        let net = crate::model::onnx::load_bytes_with(&bytes, &crate::limits::LoadLimits::default()).unwrap();
        assert_agrees(&net, 5, |x| vec![x[2], x[3], x[4], x[0], x[1]]);
        let net = TestGraph::new(18, &[1, 4])
            .node("Split", &["x"], "p", vec![attr_i("axis", 1), attr_i("num_outputs", 1)])
            .output("p")
            .load()
            .unwrap();
        assert_agrees(&net, 4, |x| x.to_vec());
    }

    use crate::error::ErrorKind;
    use crate::model::onnx::test_graph::{assert_agrees, attr_i, attr_ints, TestGraph};

    /// Gather rows and columns of an input-dependent `[1, 2, 3]` value, with
    /// scalar, negative and rank-2 indices.
    #[test]
    fn gather_on_inputs() {
        // x[0, i, j] is element 3 i + j.
        let net = TestGraph::new(13, &[1, 2, 3])
            .init_i64("i", &[2, 0, -1])
            .node("Gather", &["x", "i"], "y", vec![attr_i("axis", 2)])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, |x| vec![x[2], x[0], x[2], x[5], x[3], x[5]]);
        let net = TestGraph::new(13, &[1, 2, 3])
            .init_i64_shaped("i", &[], &[1])
            .node("Gather", &["x", "i"], "y", vec![attr_i("axis", 1)])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, |x| x[3..6].to_vec());
        let err = TestGraph::new(13, &[1, 2, 3])
            .init_i64("i", &[3])
            .node("Gather", &["x", "i"], "y", vec![attr_i("axis", 2)])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
    }

    /// `x[:, 1:]`, `x[:, ::-2]` and the opset-1 attribute form.
    #[test]
    fn slice_inputs_and_attributes() {
        let net = TestGraph::new(13, &[1, 5])
            .init_i64("s", &[1])
            .init_i64("e", &[i64::MAX])
            .init_i64("a", &[1])
            .node("Slice", &["x", "s", "e", "a"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 5, |x| x[1..].to_vec());
        let net = TestGraph::new(13, &[1, 5])
            .init_i64("s", &[-1])
            .init_i64("e", &[i64::MIN])
            .init_i64("a", &[-1])
            .init_i64("k", &[-2])
            .node("Slice", &["x", "s", "e", "a", "k"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 5, |x| vec![x[4], x[2], x[0]]);
        let net = TestGraph::new(9, &[2, 3])
            .node(
                "Slice",
                &["x"],
                "y",
                vec![attr_ints("starts", &[1, 0]), attr_ints("ends", &[2, 2]), attr_ints("axes", &[0, 1])],
            )
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, |x| vec![x[3], x[4]]);
    }

    /// Concat of an input-dependent value with a constant, along axis 1 and
    /// axis 0; Expand of a `[1, 2]` input to `[3, 2]`.
    #[test]
    fn concat_and_expand_on_inputs() {
        let net = TestGraph::new(13, &[1, 2])
            .init("c", &[1, 1], &[7.0])
            .node("Concat", &["c", "x", "x"], "y", vec![attr_i("axis", 1)])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 2, |x| vec![7.0, x[0], x[1], x[0], x[1]]);
        let net = TestGraph::new(13, &[2, 2])
            .init("c", &[1, 2], &[7.0, 8.0])
            .node("Concat", &["x", "c"], "t", vec![attr_i("axis", 0)])
            .node("Transpose", &["t"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 4, |x| vec![x[0], x[2], 7.0, x[1], x[3], 8.0]);
        let net = TestGraph::new(13, &[1, 2])
            .init_i64("s", &[3, 1])
            .node("Expand", &["x", "s"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 2, |x| vec![x[0], x[1], x[0], x[1], x[0], x[1]]);
        let err = TestGraph::new(13, &[1, 2])
            .init("c", &[1, 3], &[7.0, 8.0, 9.0])
            .node("Concat", &["x", "c"], "y", vec![attr_i("axis", 0)])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Onnx);
    }
}
