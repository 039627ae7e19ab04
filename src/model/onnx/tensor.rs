//! Constant tensors: decoding a [`pb::TensorProto`] into f64 values with a
//! shape, and the shape arithmetic (element counts, broadcasting, strides)
//! that both constants and input-dependent values use.
//!
//! Decoding never trusts the declared shape: the rank and element count are
//! checked against [`LoadLimits`] with overflow checks, and the count is
//! compared with the data actually present, *before* anything is allocated,
//! so a hostile file cannot make us allocate more than its own size.
//!
//! Every shape the loader builds passes [`check_shape`], which bounds the
//! product of its dimensions with each zero counted as 1. So every partial
//! product of a shape (element counts of sub-shapes, strides) fits in a
//! `usize`, even for an empty tensor with huge dimensions, and [`numel`] and
//! [`strides`] never overflow.

use super::pb;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{limit_error, LoadLimits};

/// Highest tensor rank accepted. Real models stay below 8; the cap keeps
/// error messages short and the per-element index arithmetic (rank steps per
/// element) and axis lists linear in the file size.
pub(crate) const MAX_RANK: usize = 64;

/// Whether a constant holds real numbers or integers. Integer tensors
/// (shapes, indices, axes: ONNX int64/int32) are held as f64 too, which is
/// exact up to 2^53, far beyond any shape or index a loadable model has;
/// larger values (`INT64_MAX` as "to the end" in `Slice`) keep their
/// magnitude. The kind matters for `Div` (integer division truncates) and
/// for `Cast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    /// float, double (and what arithmetic on them gives).
    Float,
    /// int64, int32 (and what arithmetic on them gives).
    Int,
}

/// A constant tensor: row-major `f64` data and its shape (empty = scalar).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tensor {
    /// The dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `numel(shape)` values, row-major.
    pub data: Vec<f64>,
    /// Real numbers or integers.
    pub elem: Elem,
}

impl Tensor {
    /// A real-valued tensor.
    pub fn float(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
        Tensor { shape, data, elem: Elem::Float }
    }

    /// An integer tensor (`data` holds integral values).
    pub fn int(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
        Tensor { shape, data, elem: Elem::Int }
    }

    /// A real scalar (shape `[]`).
    pub fn scalar(v: f64) -> Tensor {
        Tensor::float(vec![], vec![v])
    }

    /// A real rank-1 tensor.
    pub fn vector(data: Vec<f64>) -> Tensor {
        Tensor::float(vec![data.len()], data)
    }

    /// Decode an ONNX tensor. `what` names it in errors (e.g. `initializer 'W'`).
    ///
    /// Float, double, int32 and int64 tensors are read from `raw_data` (little
    /// endian) or from their typed field. NaN and infinite values are
    /// rejected: the IR requires finite weights, and an infinite constant is
    /// almost always a broken export.
    pub fn from_proto(t: &pb::TensorProto, what: &str, limits: &LoadLimits) -> Result<Tensor> {
        let err = |msg: String| Error::new(ErrorKind::Onnx, format!("{what}: {msg}"));
        if t.data_location == 1 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{what}: data stored in an external file can only be read when the model is loaded from its file (next to that data)"),
            ));
        }
        check_rank(t.dims.len(), what)?;
        let mut shape = Vec::with_capacity(t.dims.len());
        for &d in &t.dims {
            let d = usize::try_from(d).map_err(|_| err(format!("negative dimension {d} in shape {:?}", t.dims)))?;
            shape.push(d);
        }
        let n = check_shape(&shape, limits, &format!("{what} declares shape"))?;
        let elem = if [pb::DATA_INT64, pb::DATA_INT32].contains(&t.data_type) { Elem::Int } else { Elem::Float };
        let data: Vec<f64> = match t.data_type {
            pb::DATA_FLOAT => {
                if t.raw_data.is_empty() {
                    check_count(n, t.float_data.len(), &err)?;
                    t.float_data.iter().map(|&v| f64::from(v)).collect()
                } else {
                    check_count(n, raw_count(&t.raw_data, 4, &err)?, &err)?;
                    t.raw_data.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
                }
            }
            pb::DATA_DOUBLE => {
                if t.raw_data.is_empty() {
                    check_count(n, t.double_data.len(), &err)?;
                    t.double_data.clone()
                } else {
                    check_count(n, raw_count(&t.raw_data, 8, &err)?, &err)?;
                    t.raw_data.chunks_exact(8).map(|c| f64::from_le_bytes(le8(c))).collect()
                }
            }
            pb::DATA_INT64 => {
                if t.raw_data.is_empty() {
                    check_count(n, t.int64_data.len(), &err)?;
                    t.int64_data.iter().map(|&v| v as f64).collect()
                } else {
                    check_count(n, raw_count(&t.raw_data, 8, &err)?, &err)?;
                    t.raw_data.chunks_exact(8).map(|c| i64::from_le_bytes(le8(c)) as f64).collect()
                }
            }
            pb::DATA_INT32 => {
                if t.raw_data.is_empty() {
                    check_count(n, t.int32_data.len(), &err)?;
                    t.int32_data.iter().map(|&v| f64::from(v)).collect()
                } else {
                    check_count(n, raw_count(&t.raw_data, 4, &err)?, &err)?;
                    t.raw_data.chunks_exact(4).map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
                }
            }
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{what}: tensor data type {other} is not supported (expected float=1, double=11, int32=6 or int64=7)"),
                ))
            }
        };
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(err(format!(
                "value {} at flat index {i} is not finite; weights must be finite numbers",
                data[i]
            )));
        }
        Ok(Tensor { shape, data, elem })
    }

    /// The values as integers (for shapes and axes); errors if any is not one.
    pub fn to_ints(&self, what: &str) -> Result<Vec<i64>> {
        self.data
            .iter()
            .map(|&v| {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(v as i64)
                } else {
                    Err(Error::new(ErrorKind::Onnx, format!("{what} must hold integers, found {v}")))
                }
            })
            .collect()
    }

    /// The values as integers, saturating at the `i64` range (for `Slice`
    /// bounds, where exporters write `INT64_MAX` for "to the end").
    pub fn to_ints_saturating(&self, what: &str) -> Result<Vec<i64>> {
        self.data
            .iter()
            .map(|&v| {
                if v.fract() == 0.0 {
                    // `as` saturates at i64::MIN / i64::MAX.
                    Ok(v as i64)
                } else {
                    Err(Error::new(ErrorKind::Onnx, format!("{what} must hold integers, found {v}")))
                }
            })
            .collect()
    }
}

/// Eight little-endian bytes from a chunk of length 8.
fn le8(c: &[u8]) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(c);
    b
}

/// The number of elements in `raw`, whose elements are `width` bytes each.
fn raw_count(raw: &[u8], width: usize, err: &dyn Fn(String) -> Error) -> Result<usize> {
    if !raw.len().is_multiple_of(width) {
        return Err(err(format!("raw_data has {} bytes, not a multiple of the {width}-byte element size", raw.len())));
    }
    Ok(raw.len() / width)
}

/// Check that the declared element count matches the data present.
fn check_count(declared: usize, present: usize, err: &dyn Fn(String) -> Error) -> Result<()> {
    if declared != present {
        return Err(err(format!("shape declares {declared} elements but the data holds {present}")));
    }
    Ok(())
}

/// Refuse a rank above [`MAX_RANK`]; `what` names the tensor.
pub(crate) fn check_rank(rank: usize, what: &str) -> Result<()> {
    if rank > MAX_RANK {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{what}: rank {rank} is above the highest supported rank, {MAX_RANK}"),
        ));
    }
    Ok(())
}

/// Check a shape built from file data and return its element count: rank at
/// most [`MAX_RANK`] and at most `limits.max_elements` elements, counting
/// each zero dimension as 1 (see the module doc). `what` starts the message,
/// e.g. "initializer 'W' declares shape".
pub(crate) fn check_shape(shape: &[usize], limits: &LoadLimits, what: &str) -> Result<usize> {
    check_rank(shape.len(), what)?;
    match shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1))) {
        Some(bound) if bound <= limits.max_elements => Ok(numel(shape)),
        _ => Err(limit_error(
            format!("{what} {shape:?}, more than the limit of {} elements", limits.max_elements),
            "max-elements",
        )),
    }
}

/// The number of elements of a shape that passed [`check_shape`].
pub(crate) fn numel(shape: &[usize]) -> usize {
    if shape.contains(&0) {
        0
    } else {
        shape.iter().product()
    }
}

/// Row-major strides of a shape.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The numpy broadcast of two shapes, or `None` if they do not broadcast.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// For each flat index of `out` (a broadcast of `src`), the flat index of the
/// `src` element it reads. `out` must be a valid broadcast target of `src`.
pub(crate) fn broadcast_index(src: &[usize], out: &[usize]) -> Vec<usize> {
    let rank = out.len();
    let offset = rank - src.len();
    let src_strides = strides(src);
    // Stride of each output axis in the source; 0 where the source is broadcast.
    let eff: Vec<usize> =
        (0..rank).map(|i| if i < offset || src[i - offset] == 1 { 0 } else { src_strides[i - offset] }).collect();
    let out_strides = strides(out);
    (0..numel(out))
        .map(|flat| {
            let mut rem = flat;
            let mut idx = 0;
            for i in 0..rank {
                let coord = rem / out_strides[i];
                rem %= out_strides[i];
                idx += coord * eff[i];
            }
            idx
        })
        .collect()
}

/// For each flat index of the transposed shape, the flat index it reads in
/// the original: output axis `i` is input axis `perm[i]`. `perm` must be a
/// permutation of `0..shape.len()`.
pub(crate) fn transpose_index(shape: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides = strides(shape);
    let out_strides = strides(&out_shape);
    let index = (0..numel(&out_shape))
        .map(|flat| {
            let mut rem = flat;
            let mut idx = 0;
            for (i, &p) in perm.iter().enumerate() {
                let coord = rem / out_strides[i];
                rem %= out_strides[i];
                idx += coord * in_strides[p];
            }
            idx
        })
        .collect();
    (out_shape, index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_tensor(dims: Vec<i64>, vals: &[f32]) -> pb::TensorProto {
        pb::TensorProto {
            dims,
            data_type: pb::DATA_FLOAT,
            raw_data: vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        }
    }

    fn decode(t: &pb::TensorProto) -> Result<Tensor> {
        Tensor::from_proto(t, "t", &LoadLimits::default())
    }

    #[test]
    fn decodes_raw_and_typed_fields() {
        let t = decode(&float_tensor(vec![2], &[1.5, -2.0])).unwrap();
        assert_eq!(t, Tensor::float(vec![2], vec![1.5, -2.0]));
        let d = pb::TensorProto {
            dims: vec![1, 2],
            data_type: pb::DATA_DOUBLE,
            double_data: vec![0.1, 0.2],
            ..Default::default()
        };
        assert_eq!(decode(&d).unwrap().data, vec![0.1, 0.2]);
        let i = pb::TensorProto {
            dims: vec![2],
            data_type: pb::DATA_INT64,
            raw_data: [-1i64, 5].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        };
        assert_eq!(decode(&i).unwrap().to_ints("i").unwrap(), vec![-1, 5]);
        let s = pb::TensorProto { data_type: pb::DATA_INT32, int32_data: vec![7], ..Default::default() };
        assert_eq!(decode(&s).unwrap(), Tensor::int(vec![], vec![7.0]));
    }

    #[test]
    fn rejects_bad_counts_and_values() {
        let kind = |t: &pb::TensorProto| decode(t).unwrap_err().kind();
        assert_eq!(kind(&float_tensor(vec![3], &[1.0, 2.0])), ErrorKind::Onnx);
        assert_eq!(kind(&float_tensor(vec![-1], &[1.0])), ErrorKind::Onnx);
        assert_eq!(kind(&float_tensor(vec![2], &[1.0, f32::NAN])), ErrorKind::Onnx);
        assert_eq!(kind(&float_tensor(vec![1], &[f32::INFINITY])), ErrorKind::Onnx);
        let mut odd = float_tensor(vec![1], &[1.0]);
        odd.raw_data.push(0);
        assert_eq!(kind(&odd), ErrorKind::Onnx);
        let f16 = pb::TensorProto { data_type: 10, ..Default::default() };
        assert_eq!(kind(&f16), ErrorKind::Unsupported);
    }

    /// Declared shapes are checked against the limits before the data: a
    /// huge declaration is a limit error even when its data is missing, and
    /// an empty tensor may not hide huge dimensions behind a zero.
    #[test]
    fn declared_shapes_are_limited_before_decoding() {
        let kind = |t: &pb::TensorProto| decode(t).unwrap_err().kind();
        assert_eq!(kind(&float_tensor(vec![i64::MAX, i64::MAX], &[1.0])), ErrorKind::Limit);
        assert_eq!(kind(&float_tensor(vec![3_000_000_000], &[1.0])), ErrorKind::Limit);
        assert_eq!(kind(&float_tensor(vec![1 << 40, 1 << 40, 0], &[])), ErrorKind::Limit);
        assert_eq!(kind(&float_tensor(vec![1; MAX_RANK + 1], &[1.0])), ErrorKind::Unsupported);
        assert_eq!(decode(&float_tensor(vec![1; MAX_RANK], &[1.0])).unwrap().data, vec![1.0]);
        assert_eq!(decode(&float_tensor(vec![4, 0, 5], &[])).unwrap().data, Vec::<f64>::new());
        let small = LoadLimits { max_elements: 3, ..LoadLimits::default() };
        let four = float_tensor(vec![2, 2], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(Tensor::from_proto(&four, "t", &small).unwrap_err().kind(), ErrorKind::Limit);
        let err = decode(&float_tensor(vec![3_000_000_000], &[1.0])).unwrap_err().to_string();
        assert!(err.contains("3000000000") && err.contains("--max-elements"), "{err}");
    }

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast_shapes(&[1, 5], &[5]), Some(vec![1, 5]));
        assert_eq!(broadcast_shapes(&[2, 1], &[1, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shapes(&[2], &[3]), None);
        assert_eq!(broadcast_index(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(broadcast_index(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(broadcast_index(&[], &[2]), vec![0, 0]);
    }

    #[test]
    fn transposing() {
        // [[0, 1, 2], [3, 4, 5]]^T = [[0, 3], [1, 4], [2, 5]]
        let (shape, idx) = transpose_index(&[2, 3], &[1, 0]);
        assert_eq!(shape, vec![3, 2]);
        assert_eq!(idx, vec![0, 3, 1, 4, 2, 5]);
    }
}
