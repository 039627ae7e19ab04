//! Operators that compute constants at load time: `Shape`,
//! `ConstantOfShape`, `Range`, and `Cast`.
//!
//! Shapes are known at load time (a symbolic batch dimension is taken as 1,
//! see the module doc of `onnx`), so `Shape` of any value is a constant, and
//! with it every subgraph that only computes shapes (`Shape -> Gather ->
//! Unsqueeze -> Concat -> Reshape` of `x.view(x.size(0), -1)`) folds away:
//! the other operators evaluate constants as they are met.
//!
//! `Cast` on an input-dependent value is only accepted between
//! floating-point types, where it is the identity on the real-valued network
//! (the verifier works in f64 throughout); a cast to an integer or boolean
//! type is not piecewise linear (or not continuous) and is rejected.

use super::NodeInput;
use crate::error::{Error, ErrorKind, Result};
use crate::model::graph::Graph;
use crate::model::onnx::pb;
use crate::model::onnx::tensor::{Elem, Tensor};
use crate::model::onnx::value::Value;

/// `Shape`: the input's dimensions as an int64 vector; from opset 15 the
/// optional `start` / `end` attributes pick a range of them (negative
/// values count from the end, and both are clamped to the rank).
pub(super) fn shape(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let dims = n.input(0)?.shape();
    let rank = dims.len() as i64;
    let bound = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = bound(n.attr_int("start", 0)?);
    let end = bound(n.attr_int("end", rank)?).max(start);
    let data: Vec<f64> = dims[start..end].iter().map(|&d| d as f64).collect();
    Ok(vec![Value::Const(Tensor::int(vec![data.len()], data))])
}

/// `ConstantOfShape`: a tensor of the constant shape given by input 1,
/// filled with the one-element `value` attribute (default float 0).
pub(super) fn constant_of_shape(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let dims = n.const_input(0, "shape")?.to_ints("ConstantOfShape shape")?;
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| n.shape_error("non-negative dimensions", format!("{dims:?}"))))
        .collect::<Result<Vec<_>>>()?;
    let count = n.check_shape(&shape)?;
    let fill = match n.attr_tensor("value")? {
        None => Tensor::scalar(0.0),
        Some(t) => Tensor::from_proto(t, "ConstantOfShape value", n.limits())?,
    };
    if fill.data.len() != 1 {
        return Err(n.shape_error("a one-element 'value'", format!("shape {:?}", fill.shape)));
    }
    n.budget.check(Some(count), "ConstantOfShape")?;
    Ok(vec![Value::Const(Tensor { shape, data: vec![fill.data[0]; count], elem: fill.elem })])
}

/// `Range`: `start, start + delta, ...` below `limit` (above it for a
/// negative `delta`): `max(ceil((limit - start) / delta), 0)` elements.
pub(super) fn range(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    let scalar = |i: usize, what: &str| -> Result<&Tensor> {
        let t = n.const_input(i, what)?;
        match t.data.len() {
            1 => Ok(t),
            _ => Err(n.shape_error(format!("a scalar {what}"), format!("shape {:?}", t.shape))),
        }
    };
    let (start, limit, delta) = (scalar(0, "start")?, scalar(1, "limit")?, scalar(2, "delta")?);
    let (s, l, d) = (start.data[0], limit.data[0], delta.data[0]);
    if d == 0.0 {
        return Err(n.shape_error("a non-zero delta", d));
    }
    // `as usize` saturates, so a huge count becomes a limit error below.
    let count = ((l - s) / d).ceil().max(0.0) as usize;
    n.check_shape(&[count])?;
    n.budget.check(Some(count), "Range")?;
    let int = [start, limit, delta].iter().all(|t| t.elem == Elem::Int);
    let data = (0..count).map(|i| s + i as f64 * d).collect();
    Ok(vec![Value::Const(Tensor { shape: vec![count], data, elem: if int { Elem::Int } else { Elem::Float } })])
}

/// ONNX element types (`TensorProto.DataType`) that are floating point:
/// float, float16, double, bfloat16.
const FLOAT_TYPES: [i64; 4] = [pb::DATA_FLOAT as i64, 10, pb::DATA_DOUBLE as i64, 16];

/// ONNX integer element types: uint8, int8, uint16, int16, int32, int64,
/// uint32, uint64.
const INT_TYPES: [i64; 8] = [2, 3, 4, 5, pb::DATA_INT32 as i64, pb::DATA_INT64 as i64, 12, 13];

/// ONNX `BOOL`.
const BOOL_TYPE: i64 = 9;

/// `Cast` to the type `to`. Constants convert (to an integer type:
/// truncation toward zero; to bool: 0 or 1; floating-point values keep
/// their f64 precision); an input-dependent value only casts between
/// floating-point types, where it passes unchanged.
pub(super) fn cast(n: &NodeInput<'_>, _: &mut Graph) -> Result<Vec<Value>> {
    if !n.has_attr("to") {
        return Err(Error::new(ErrorKind::Onnx, "Cast needs a 'to' attribute"));
    }
    let to = n.attr_int("to", 0)?;
    let x = n.input(0)?;
    let value = match x {
        Value::Sym(_) if FLOAT_TYPES.contains(&to) => x.clone(),
        Value::Sym(_) => {
            return Err(n.unsupported(format!(
                "casts a value that depends on the network input to element type {to} ({}); only casts between floating-point types (float, double, float16, bfloat16) are supported on the data path, where they change nothing",
                type_name(to)
            )))
        }
        Value::Const(t) if FLOAT_TYPES.contains(&to) => Value::Const(Tensor { elem: Elem::Float, ..t.clone() }),
        Value::Const(t) if INT_TYPES.contains(&to) => {
            Value::Const(Tensor::int(t.shape.clone(), t.data.iter().map(|v| v.trunc()).collect()))
        }
        Value::Const(t) if to == BOOL_TYPE => {
            Value::Const(Tensor::int(t.shape.clone(), t.data.iter().map(|&v| f64::from(u8::from(v != 0.0))).collect()))
        }
        Value::Const(_) => return Err(n.unsupported(format!("casting to element type {to} ({}) is not supported", type_name(to)))),
    };
    Ok(vec![value])
}

/// The name of an ONNX element type, for messages.
fn type_name(t: i64) -> &'static str {
    match t {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => "not a numeric type",
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::model::onnx::test_graph::{assert_agrees, attr_i, attr_t_i64, TestGraph};

    /// `Shape` with opset-15 `start`, `ConstantOfShape` and `Range` on
    /// shapes, used to build a `Reshape` target and an addend.
    #[test]
    fn shape_constant_of_shape_range() {
        // Shape(x)[1:] = [2, 3]; ConstantOfShape -> 2x3 ones (int64 value 1,
        // cast to float); Range(0, 6, 1) reshaped to [2, 3].
        let net = TestGraph::new(15, &[1, 2, 3])
            .init_i64_shaped("zero", &[], &[0])
            .init_i64_shaped("six", &[], &[6])
            .init_i64_shaped("one", &[], &[1])
            .node("Shape", &["x"], "s", vec![attr_i("start", 1)])
            .node("ConstantOfShape", &["s"], "ones", vec![attr_t_i64("value", &[1], &[1])])
            .node("Cast", &["ones"], "onesf", vec![attr_i("to", 1)])
            .node("Range", &["zero", "six", "one"], "r", vec![])
            .node("Reshape", &["r", "s"], "r2", vec![])
            .node("Cast", &["r2"], "r2f", vec![attr_i("to", 1)])
            .node("Add", &["onesf", "r2f"], "c", vec![])
            .node("Add", &["x", "c"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 6, |x| x.iter().enumerate().map(|(i, v)| v + 1.0 + i as f64).collect());
    }

    /// Integer shape arithmetic, `x.view(-1, x.size(2) // 2)`: the int64
    /// `Div` truncates 5 / 2 to 2 (a float 2.5 would not be a valid
    /// `Reshape` target), and the `[5, 2]` view keeps the element order.
    #[test]
    fn integer_division_truncates() {
        let net = TestGraph::new(13, &[1, 2, 5])
            .init_i64_shaped("two", &[], &[2])
            .init_i64_shaped("i2", &[], &[2])
            .init_i64("m1", &[-1])
            .init_i64("ax", &[0])
            .node("Shape", &["x"], "s", vec![])
            .node("Gather", &["s", "i2"], "d", vec![])
            .node("Div", &["d", "two"], "h", vec![])
            .node("Unsqueeze", &["h", "ax"], "hu", vec![])
            .node("Concat", &["m1", "hu"], "target", vec![attr_i("axis", 0)])
            .node("Reshape", &["x", "target"], "r", vec![])
            .init("w", &[2], &[1.0, 10.0])
            .node("Mul", &["r", "w"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 10, |x| {
            x.iter().enumerate().map(|(i, v)| if i % 2 == 0 { *v } else { 10.0 * v }).collect()
        });
    }

    /// `Cast` float -> double on the data path is the identity; to int64 it
    /// is rejected, naming the type.
    #[test]
    fn cast_on_the_data_path() {
        let net = TestGraph::new(13, &[1, 2])
            .node("Cast", &["x"], "d", vec![attr_i("to", 11)])
            .node("Cast", &["d"], "h", vec![attr_i("to", 10)])
            .node("Relu", &["h"], "y", vec![])
            .output("y")
            .load()
            .unwrap();
        assert_agrees(&net, 2, |x| x.iter().map(|v| v.max(0.0)).collect());
        let err = TestGraph::new(13, &[1, 2])
            .node("Cast", &["x"], "y", vec![attr_i("to", 7)])
            .output("y")
            .load()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("'y' (Cast)") && err.to_string().contains("int64"), "{err}");
    }
}
