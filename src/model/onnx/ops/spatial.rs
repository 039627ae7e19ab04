//! Operators over sliding windows of an `[N, C, D1, ..., Dk]` tensor:
//! `Conv`, `AveragePool`, `GlobalAveragePool`, `MaxPool` and `Pad`.
//!
//! `Conv` becomes an [`Op::Conv`] node holding its kernel; the average pools
//! and `Pad` are linear nodes whose rows hold a few input elements each
//! ([`Value::linear_combination`], [`Value::gather`]), so a convolution over a
//! wide image costs its kernel's entries per neuron, not the image's width.
//!
//! `MaxPool` becomes an [`Op::MaxPool`] node: each window's elements are its
//! candidates (the lowering builds the maximum as a tree of ReLU layers).
//! Padding never wins a maximum (ONNX pads MaxPool with minus infinity), so
//! a window position in the padding repeats one of the window's own
//! elements instead: `max(a, a) = a` exactly, and in the lowered tree the
//! ReLU neuron of `a - a = 0` is stable, never a binary.
//!
//! Window geometry follows the ONNX operator definitions: per spatial axis
//! `i`, the output size is `floor((D + pad_begin + pad_end - ((k - 1) d + 1)) / s) + 1`
//! (`ceil` with `ceil_mode`), and output position `o` reads input
//! positions `o s - pad_begin + t d` for `t` in `0..k`. `auto_pad` `SAME_*`
//! chooses pads so that the output size is `ceil(D / s)`, the odd pad at
//! the end (`SAME_UPPER`) or the beginning (`SAME_LOWER`).

use super::NodeInput;
use crate::error::Result;
use crate::model::graph::{Conv, Graph, Op, Window};
use crate::model::onnx::tensor::{numel, strides, Tensor};
use crate::model::onnx::value::Value;

/// The window an operator node describes for an input of shape
/// `input`, its kernel being `kernel` (an attribute, or the weights'
/// trailing dimensions for `Conv`); `ceil_mode` rounds the output size
/// up (pools only).
fn window(n: &NodeInput<'_>, input: &[usize], kernel: Vec<usize>, ceil_mode: bool) -> Result<Window> {
    let k = kernel.len();
    if input.len() != k + 2 || k == 0 {
        return Err(n.shape_error(
            format!("an input of rank {} ([N, C] then the {k} spatial axes of the kernel)", k + 2),
            format!("{input:?}"),
        ));
    }
    let spatial = &input[2..];
    let list = |name: &str, default: usize| -> Result<Vec<usize>> {
        match n.attr_ints(name)? {
            None => Ok(vec![default; k]),
            Some(v) if v.len() == k && v.iter().all(|&x| x >= 1) => Ok(v.iter().map(|&x| x as usize).collect()),
            Some(v) => Err(n.shape_error(format!("'{name}' with {k} values of at least 1"), format!("{v:?}"))),
        }
    };
    let strides = list("strides", 1)?;
    let dilations = list("dilations", 1)?;
    if kernel.contains(&0) {
        return Err(n.shape_error("a kernel of positive sizes", format!("{kernel:?}")));
    }
    let extent: Vec<usize> = (0..k).map(|i| (kernel[i] - 1) * dilations[i] + 1).collect();
    let auto_pad = n.attr_string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
    let (begin, end): (Vec<usize>, Vec<usize>) = match auto_pad.as_str() {
        "NOTSET" => match n.attr_ints("pads")? {
            None => (vec![0; k], vec![0; k]),
            Some(p) if p.len() == 2 * k && p.iter().all(|&x| x >= 0) => {
                (p[..k].iter().map(|&x| x as usize).collect(), p[k..].iter().map(|&x| x as usize).collect())
            }
            Some(p) => {
                return Err(n.shape_error(format!("'pads' with {} non-negative values", 2 * k), format!("{p:?}")))
            }
        },
        "VALID" => (vec![0; k], vec![0; k]),
        "SAME_UPPER" | "SAME_LOWER" => (0..k)
            .map(|i| {
                let out = spatial[i].div_ceil(strides[i]);
                let total = ((out - 1) * strides[i] + extent[i]).saturating_sub(spatial[i]);
                let small = total / 2;
                if auto_pad == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                }
            })
            .unzip(),
        other => {
            return Err(n.unsupported(format!("auto_pad '{other}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")))
        }
    };
    let mut out = Vec::with_capacity(k);
    for i in 0..k {
        let padded = spatial[i] + begin[i] + end[i];
        if padded < extent[i] {
            return Err(n.shape_error(
                format!("spatial axis {i} of at least {} (the dilated kernel) after padding", extent[i]),
                format!("{padded}"),
            ));
        }
        let span = padded - extent[i];
        out.push(if ceil_mode { span.div_ceil(strides[i]) } else { span / strides[i] } + 1);
    }
    Ok(Window { input: input.to_vec(), kernel, strides, dilations, begin, end, out })
}

/// `Conv`: `Y[b, m, o] = B[m] + sum over c in m's group, t of W[m, c, t] X[b, c, o s - p + t d]`.
pub(super) fn conv(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let w = n.const_input(1, "weights")?;
    if w.shape.len() < 3 {
        return Err(n.shape_error("weights of shape [M, C / group, k1, ...]", format!("{:?}", w.shape)));
    }
    let kernel = w.shape[2..].to_vec();
    if let Some(ks) = n.attr_ints("kernel_shape")? {
        if ks.iter().map(|&v| v as usize).ne(kernel.iter().copied()) {
            return Err(n.shape_error(format!("kernel_shape equal to the weights' {kernel:?}"), format!("{ks:?}")));
        }
    }
    let win = window(n, x.shape(), kernel, false)?;
    let channels = win.input[1];
    let (m, per_group) = (w.shape[0], w.shape[1]);
    let group = usize::try_from(n.attr_int("group", 1)?).unwrap_or(0);
    if group == 0 || channels % group != 0 || m % group != 0 || channels / group != per_group {
        return Err(n.shape_error(
            format!("weights [M, C / group, ...] with group {group} dividing both C = {channels} and M"),
            format!("{:?}", w.shape),
        ));
    }
    let bias = match n.opt_const_input(2, "bias")? {
        None => vec![0.0; m],
        Some(b) if b.data.len() == m => b.data.clone(),
        Some(b) => return Err(n.shape_error(format!("a bias of {m} values"), format!("{:?}", b.shape))),
    };
    let shape = win.output_shape(m);
    let len = n.check_shape(&shape)?;
    // The lowering builds one row per output of up to C / group x taps
    // entries: refuse more than the budget holds.
    n.budget.check(len.checked_mul(per_group * win.taps()), "Conv (one entry per output and kernel weight)")?;
    let conv = Conv { window: win, weights: w.data.clone(), bias, group };
    let value = match x {
        Value::Const(_) => {
            let (rows, shift): (Vec<_>, Vec<f64>) = (0..len).map(|i| conv.row(i)).unzip();
            x.linear_combination(&rows, &shift, shape, n, g)?
        }
        Value::Sym(s) => Value::Sym(n.push(g, Op::Conv { x: s.node, conv }, shape)?),
    };
    Ok(vec![value])
}

/// `AveragePool`: the mean of each window; positions in the padding count
/// as zeros with `count_include_pad`, and are left out otherwise.
pub(super) fn average_pool(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let kernel = pool_kernel(n)?;
    let win = window(n, x.shape(), kernel, n.attr_flag("ceil_mode")?)?;
    let include_pad = n.attr_flag("count_include_pad")?;
    let shape = win.output_shape(win.input[1]);
    n.check_shape(&shape)?;
    let (sin, sout, taps) = (win.spatial_in(), win.spatial_out(), win.taps());
    n.budget.check(numel(&shape).checked_mul(taps), "AveragePool (one entry per output and window position)")?;
    let mut terms = Vec::with_capacity(numel(&shape));
    for bc in 0..win.input[0] * win.input[1] {
        for o in 0..sout {
            let inside: Vec<usize> = (0..taps).filter_map(|t| win.source(o, t)).collect();
            // With ceil_mode a window may reach past the padding; the
            // divisor counts the padded window only (as onnxruntime does).
            let count = if include_pad { padded_taps(&win, o) } else { inside.len() };
            if count == 0 {
                return Err(n.unsupported("a pooling window lies entirely in the padding"));
            }
            terms.push(inside.iter().map(|&at| (bc * sin + at, 1.0 / count as f64)).collect());
        }
    }
    let shift = vec![0.0; terms.len()];
    Ok(vec![x.linear_combination(&terms, &shift, shape, n, g)?])
}

/// Number of kernel positions of output position `o` inside the padded
/// input (the input with its explicit padding; with `ceil_mode` a window
/// may reach beyond it).
fn padded_taps(win: &Window, o: usize) -> usize {
    let mut count = 1;
    let mut rest = o;
    for i in (0..win.kernel.len()).rev() {
        let oi = rest % win.out[i];
        rest /= win.out[i];
        let padded = win.input[2 + i] + win.begin[i] + win.end[i];
        count *= (0..win.kernel[i]).filter(|&t| oi * win.strides[i] + t * win.dilations[i] < padded).count();
    }
    count
}

/// `GlobalAveragePool`: the mean over all spatial positions of each channel.
pub(super) fn global_average_pool(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let s = x.shape();
    if s.len() < 3 {
        return Err(n.shape_error("an input of shape [N, C, D1, ...]", format!("{s:?}")));
    }
    let sin = numel(&s[2..]);
    let shape: Vec<usize> = [vec![s[0], s[1]], vec![1; s.len() - 2]].concat();
    let terms: Vec<Vec<(usize, f64)>> =
        (0..s[0] * s[1]).map(|bc| (0..sin).map(|at| (bc * sin + at, 1.0 / sin as f64)).collect()).collect();
    let shift = vec![0.0; terms.len()];
    Ok(vec![x.linear_combination(&terms, &shift, shape, n, g)?])
}

/// The `kernel_shape` attribute a pool requires.
fn pool_kernel(n: &NodeInput<'_>) -> Result<Vec<usize>> {
    match n.attr_ints("kernel_shape")? {
        Some(k) if !k.is_empty() && k.iter().all(|&v| v >= 1) => Ok(k.iter().map(|&v| v as usize).collect()),
        Some(k) => Err(n.shape_error("a kernel_shape of positive sizes", format!("{k:?}"))),
        None => Err(n.unsupported("needs a 'kernel_shape' attribute")),
    }
}

/// `MaxPool`: the maximum of each window (see the module doc for the
/// construction). The optional second output (the indices of the maxima)
/// is not piecewise linear in the input and is refused when used.
pub(super) fn max_pool(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    if n.node.output.get(1).is_some_and(|o| !o.is_empty()) {
        return Err(n.unsupported("its second output (the indices of the maxima) is not supported"));
    }
    let x = n.input(0)?;
    let kernel = pool_kernel(n)?;
    let win = window(n, x.shape(), kernel, n.attr_flag("ceil_mode")?)?;
    let shape = win.output_shape(win.input[1]);
    let len = n.check_shape(&shape)?;
    let (sin, sout, taps) = (win.spatial_in(), win.spatial_out(), win.taps());
    // Candidate t of every window: the input index it reads (the window's
    // first element in place of a padded position).
    n.budget.check(len.checked_mul(taps), "MaxPool (one candidate per output and window position)")?;
    let mut candidates = vec![Vec::with_capacity(len); taps];
    for bc in 0..win.input[0] * win.input[1] {
        for o in 0..sout {
            let first = (0..taps)
                .find_map(|t| win.source(o, t))
                .ok_or_else(|| n.unsupported("a pooling window lies entirely in the padding"))?;
            for (t, c) in candidates.iter_mut().enumerate() {
                c.push(bc * sin + win.source(o, t).unwrap_or(first));
            }
        }
    }
    let value = match x {
        Value::Const(t) => Value::Const(Tensor::float(
            shape,
            (0..len).map(|i| candidates.iter().map(|c| t.data[c[i]]).fold(f64::NEG_INFINITY, f64::max)).collect(),
        )),
        Value::Sym(s) => Value::Sym(n.push(g, Op::MaxPool { x: s.node, candidates }, shape)?),
    };
    Ok(vec![value])
}

/// `Pad`: modes `constant` (the value, default 0), `edge` (the nearest
/// element) and `reflect` (mirrored without repeating the edge). Pads come
/// from the `pads` input (opset 11 on) or attribute; negative pads crop.
pub(super) fn pad(n: &NodeInput<'_>, g: &mut Graph) -> Result<Vec<Value>> {
    let x = n.input(0)?;
    let s = x.shape().to_vec();
    let r = s.len();
    let pads: Vec<i64> = if n.opset >= 11 {
        n.const_input(1, "pads")?.to_ints("Pad pads")?
    } else {
        n.attr_ints("pads")?.unwrap_or_default()
    };
    if n.opset >= 18 && n.opt_input(3).is_some() {
        return Err(n.unsupported("the 'axes' input is not supported; give pads for every axis"));
    }
    if pads.len() != 2 * r {
        return Err(n.shape_error(format!("{} pads (begin and end of each of {r} axes)", 2 * r), pads.len()));
    }
    let value = if n.opset >= 11 {
        match n.opt_const_input(2, "constant_value")? {
            None => 0.0,
            Some(t) if t.data.len() == 1 => t.data[0],
            Some(t) => return Err(n.shape_error("a scalar constant_value", format!("{:?}", t.shape))),
        }
    } else {
        n.attr_float("value", 0.0)?
    };
    let mode = n.attr_string("mode")?.unwrap_or_else(|| "constant".into());
    let mut shape = Vec::with_capacity(r);
    for i in 0..r {
        let size = s[i] as i64 + pads[i] + pads[r + i];
        if size < 0 {
            return Err(
                n.shape_error(format!("pads that leave axis {i} of size {} non-negative", s[i]), format!("{pads:?}"))
            );
        }
        shape.push(size as usize);
    }
    let len = n.check_shape(&shape)?;
    let (in_strides, out_strides) = (strides(&s), strides(&shape));
    // For each output element: its input element, or None (the value).
    let mut src = Vec::with_capacity(len);
    for flat in 0..len {
        let mut at = Some(0usize);
        for i in 0..r {
            let pos = (flat / out_strides[i]) % shape[i].max(1);
            let p = pos as i64 - pads[i];
            let d = s[i] as i64;
            let q = match mode.as_str() {
                "constant" => (0..d).contains(&p).then_some(p),
                "edge" if d > 0 => Some(p.clamp(0, d - 1)),
                "reflect" if d > 1 => {
                    let period = 2 * (d - 1);
                    let m = p.rem_euclid(period);
                    Some(if m < d { m } else { period - m })
                }
                "reflect" if d == 1 => Some(0),
                "edge" | "reflect" => None,
                other => return Err(n.unsupported(format!("mode '{other}' is not one of constant, edge, reflect"))),
            };
            at = match (at, q) {
                (Some(a), Some(q)) => Some(a + q as usize * in_strides[i]),
                _ => None,
            };
        }
        src.push(at);
    }
    let terms: Vec<Vec<(usize, f64)>> = src.iter().map(|a| a.map(|j| vec![(j, 1.0)]).unwrap_or_default()).collect();
    let shift: Vec<f64> = src.iter().map(|a| if a.is_some() { 0.0 } else { value }).collect();
    Ok(vec![x.linear_combination(&terms, &shift, shape, n, g)?])
}

#[cfg(test)]
mod tests {
    use crate::model::onnx::test_graph::{assert_close, attr_i, attr_ints, attr_s, TestGraph};
    use crate::rng::Rng;

    /// A direct evaluation of a 2-D convolution (batch 1), the reference.
    #[allow(clippy::too_many_arguments)]
    fn conv_ref(
        x: &[f64],
        (c, h, w): (usize, usize, usize),
        k: &[f64],
        (m, kh, kw): (usize, usize, usize),
        bias: &[f64],
        stride: usize,
        pad: usize,
        group: usize,
    ) -> Vec<f64> {
        let oh = (h + 2 * pad - kh) / stride + 1;
        let ow = (w + 2 * pad - kw) / stride + 1;
        let cg = c / group;
        let mut out = vec![0.0; m * oh * ow];
        for oc in 0..m {
            let g = oc / (m / group);
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = bias[oc];
                    for ci in 0..cg {
                        for a in 0..kh {
                            for b in 0..kw {
                                let (iy, ix) =
                                    ((y * stride + a) as i64 - pad as i64, (xo * stride + b) as i64 - pad as i64);
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    let cin = g * cg + ci;
                                    acc += k[((oc * cg + ci) * kh + a) * kw + b]
                                        * x[(cin * h + iy as usize) * w + ix as usize];
                                }
                            }
                        }
                    }
                    out[(oc * oh + y) * ow + xo] = acc;
                }
            }
        }
        out
    }

    #[test]
    fn conv_matches_direct_evaluation() {
        let mut rng = Rng::new(11);
        for (c, m, group, stride, pad) in [(2, 3, 1, 1, 0), (2, 4, 2, 2, 1), (3, 2, 1, 2, 1)] {
            let (h, w, kh, kw) = (5, 4, 3, 2);
            let k: Vec<f64> = (0..m * (c / group) * kh * kw).map(|_| rng.range(-1.0, 1.0)).collect();
            let bias: Vec<f64> = (0..m).map(|_| rng.range(-1.0, 1.0)).collect();
            let net = TestGraph::new(13, &[1, c as i64, h as i64, w as i64])
                .init("k", &[m as i64, (c / group) as i64, kh as i64, kw as i64], &k)
                .init("b", &[m as i64], &bias)
                .node(
                    "Conv",
                    &["x", "k", "b"],
                    "y",
                    vec![
                        attr_i("group", group as i64),
                        attr_ints("strides", &[stride as i64; 2]),
                        attr_ints("pads", &[pad as i64; 4]),
                    ],
                )
                .output("y")
                .load()
                .unwrap();
            for _ in 0..5 {
                let x: Vec<f64> = (0..c * h * w).map(|_| rng.range(-1.0, 1.0)).collect();
                let want = conv_ref(&x, (c, h, w), &k, (m, kh, kw), &bias, stride, pad, group);
                assert_close(&net.forward(&x), &want, 1e-12);
            }
        }
    }

    #[test]
    fn pools_match_direct_evaluation() {
        let mut rng = Rng::new(12);
        let (c, h, w) = (2, 5, 5);
        // A 3x3 window, stride 2, padding 1: windows at the border are cut.
        let pool = |op: &str| {
            let attrs = vec![
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("strides", &[2, 2]),
                attr_ints("pads", &[1, 1, 1, 1]),
            ];
            TestGraph::new(13, &[1, c as i64, h as i64, w as i64])
                .node(op, &["x"], "y", attrs)
                .output("y")
                .load()
                .unwrap()
        };
        let (max, avg) = (pool("MaxPool"), pool("AveragePool"));
        let global = TestGraph::new(13, &[1, c as i64, h as i64, w as i64])
            .node("GlobalAveragePool", &["x"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        for _ in 0..10 {
            let x: Vec<f64> = (0..c * h * w).map(|_| rng.range(-1.0, 1.0)).collect();
            let (mut want_max, mut want_avg) = (Vec::new(), Vec::new());
            for ch in 0..c {
                for oy in 0..3 {
                    for ox in 0..3 {
                        let mut vals = Vec::new();
                        for a in 0..3 {
                            for b in 0..3 {
                                let (iy, ix) = ((oy * 2 + a) as i64 - 1, (ox * 2 + b) as i64 - 1);
                                if (0..h as i64).contains(&iy) && (0..w as i64).contains(&ix) {
                                    vals.push(x[(ch * h + iy as usize) * w + ix as usize]);
                                }
                            }
                        }
                        want_max.push(vals.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                        want_avg.push(vals.iter().sum::<f64>() / vals.len() as f64);
                    }
                }
            }
            assert_close(&max.forward(&x), &want_max, 1e-12);
            assert_close(&avg.forward(&x), &want_avg, 1e-12);
            let want_global: Vec<f64> =
                (0..c).map(|ch| x[ch * h * w..(ch + 1) * h * w].iter().sum::<f64>() / (h * w) as f64).collect();
            assert_close(&global.forward(&x), &want_global, 1e-12);
        }
        // A 3x3 window is a tree of two levels (9 -> 5 -> 3 -> 2 -> 1: four layers), then the output layer.
        assert_eq!(max.layers().len(), 5);
    }

    /// Verdicts on small loaded graphs with convolutions, padding, both
    /// pools and a residual block, with random weights and properties,
    /// against exhaustive activation-pattern enumeration (each verdict
    /// judged and cross-checked as the soak does, with the settings the
    /// case number picks).
    #[test]
    fn verdicts_on_loaded_graphs_match_enumeration() {
        let mut report = crate::testutil::SoakReport::default();
        for case in 0..36u64 {
            let mut rng = Rng::new(700 + case);
            let mut w = |len: usize| -> Vec<f64> { (0..len).map(|_| rng.range(-1.0, 1.0)).collect() };
            let g = match case % 3 {
                // Conv 1 -> 2 channels, ReLU, 1x2 max pools, Gemm: 6 + 4 kinks.
                0 => TestGraph::new(13, &[1, 1, 1, 4])
                    .init("k", &[2, 1, 1, 2], &w(4))
                    .init("b", &[2], &w(2))
                    .init("g", &[2, 4], &w(8))
                    .node("Conv", &["x", "k", "b"], "c", vec![])
                    .node("Relu", &["c"], "r", vec![])
                    .node("MaxPool", &["r"], "m", vec![attr_ints("kernel_shape", &[1, 2])])
                    .node("Flatten", &["m"], "f", vec![])
                    .node("Gemm", &["f", "g"], "y", vec![attr_i("transB", 1)]),
                // A residual block: relu(conv2(relu(conv1 x)) + x), Gemm.
                1 => TestGraph::new(13, &[1, 1, 1, 3])
                    .init("k1", &[2, 1, 1, 1], &w(2))
                    .init("b1", &[2], &w(2))
                    .init("k2", &[1, 2, 1, 1], &w(2))
                    .init("g", &[2, 3], &w(6))
                    .node("Conv", &["x", "k1", "b1"], "c1", vec![])
                    .node("Relu", &["c1"], "r1", vec![])
                    .node("Conv", &["r1", "k2"], "c2", vec![])
                    .node("Add", &["c2", "x"], "s", vec![])
                    .node("Relu", &["s"], "r2", vec![])
                    .node("Flatten", &["r2"], "f", vec![])
                    .node("Gemm", &["f", "g"], "y", vec![attr_i("transB", 1)]),
                // Pad, a strided conv, ReLU, average pool, Gemm.
                _ => TestGraph::new(13, &[1, 1, 1, 3])
                    .init("pads", &[8], &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
                    .init("k", &[2, 1, 1, 2], &w(4))
                    .init("b", &[2], &w(2))
                    .init("g", &[2, 2], &w(4))
                    .node("Pad", &["x", "pads"], "p", vec![])
                    .node("Conv", &["p", "k", "b"], "c", vec![attr_ints("strides", &[1, 2])])
                    .node("Relu", &["c"], "r", vec![])
                    .node("AveragePool", &["r"], "a", vec![attr_ints("kernel_shape", &[1, 2])])
                    .node("Flatten", &["a"], "f", vec![])
                    .node("Gemm", &["f", "g"], "y", vec![attr_i("transB", 1)]),
            };
            let net = g.output("y").load().unwrap();
            let prop = crate::testutil::random_property(&mut rng, &net);
            crate::testutil::soak_case(case, &net, &prop, &mut report);
        }
        assert!(report.holds > 3 && report.violated > 3, "{report:?}");
    }

    /// A convolution whose rows would outgrow the weight budget is refused
    /// before its terms are built.
    #[test]
    fn huge_convolutions_are_refused_before_allocation() {
        let g = TestGraph::new(13, &[1, 1, 64, 64]).init("k", &[64, 1, 3, 3], &[0.5; 576]);
        let model = g.node("Conv", &["x", "k"], "y", vec![]).output("y").model();
        let bytes = prost::Message::encode_to_vec(&model);
        let small = crate::limits::LoadLimits { max_weights: 100_000, ..Default::default() };
        let err = crate::model::onnx::load_bytes_with(&bytes, &small).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Limit, "{err}");
        assert!(
            err.to_string().contains("one entry per output and kernel weight"),
            "refused by the map instead: {err}"
        );
    }

    #[test]
    fn pad_modes() {
        let x = [1.0, 2.0, 3.0];
        let load = |mode: &str| {
            TestGraph::new(13, &[1, 3])
                .init("pads", &[4], &[0.0, 2.0, 0.0, 1.0])
                .init("v", &[], &[9.0])
                .node("Pad", &["x", "pads", "v"], "y", vec![attr_s("mode", mode)])
                .output("y")
                .load()
                .unwrap()
        };
        assert_close(&load("constant").forward(&x), &[9.0, 9.0, 1.0, 2.0, 3.0, 9.0], 0.0);
        assert_close(&load("edge").forward(&x), &[1.0, 1.0, 1.0, 2.0, 3.0, 3.0], 0.0);
        assert_close(&load("reflect").forward(&x), &[3.0, 2.0, 1.0, 2.0, 3.0, 2.0], 0.0);
    }
}
