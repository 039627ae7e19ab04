//! Reading one input point (the center of `robustness`) from the files
//! people have at hand: a NumPy `.npy` array, a JSON array of numbers
//! (nested arrays are read flat, row-major) or a CSV/text file of numbers.
//!
//! `.npy` is read directly (version 1-3 headers; little-endian `f8`, `f4`
//! or `u1` data in C order), so no Python is needed to hand a saved image to
//! the CLI: `np.save("x.npy", image)`.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::{self, LoadLimits};

/// The numbers of the point file at `path`, flat, by extension: `.npy`,
/// `.json`, anything else as CSV/text. Refuses files beyond
/// `limits.max_spec_bytes` and points beyond `limits.max_elements`.
pub fn read(path: &Path, limits: &LoadLimits) -> Result<Vec<f64>> {
    let bytes = limits::read_file(path, limits.max_spec_bytes, "max-spec-size")?;
    let ext = limits::format_extension(path);
    let values = match ext.as_deref() {
        Some("npy") => npy(&bytes),
        Some("json") => json(&bytes),
        _ => text(&bytes),
    }
    .map_err(|e| e.with_path(path))?;
    limits.check_elements(values.len(), format_args!("a point of {} values", values.len()))?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(point_error(format!("value {i} is {}, not a finite number", values[i])).with_path(path));
    }
    Ok(values)
}

fn point_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// A `.npy` file: magic, version, header length, a Python dict literal
/// with `descr`, `fortran_order` and `shape`, then the data.
fn npy(bytes: &[u8]) -> Result<Vec<f64>> {
    let bad = |why: &str| point_error(format!("not a readable .npy file: {why}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("it does not start with the .npy magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(bad(&format!("version {v} is not 1, 2 or 3"))),
    };
    let header = bytes.get(start..start + len).ok_or_else(|| bad("the header is cut short"))?;
    let header = String::from_utf8_lossy(header);
    let field = |key: &str| -> Option<String> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        Some(rest.to_string())
    };
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(bad("Fortran order; save a C-ordered array (np.ascontiguousarray)"));
    }
    let descr = field("descr").and_then(|v| v.split('\'').nth(1).map(str::to_string)).ok_or_else(|| bad("no descr"))?;
    let data = &bytes[start + len..];
    let values: Vec<f64> = match descr.as_str() {
        "<f8" => data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
        "<f4" => data.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes")))).collect(),
        "|u1" | "<u1" => data.iter().map(|&b| f64::from(b)).collect(),
        other => return Err(bad(&format!("element type '{other}'; expected float64, float32 or uint8"))),
    };
    // The shape's product must match the data (a truncated file is an error).
    let shape = field("shape").ok_or_else(|| bad("no shape"))?;
    let dims = shape.trim_start_matches('(').split(')').next().unwrap_or("");
    let count = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .try_fold(1usize, |acc, d| d.parse::<usize>().ok().and_then(|d| acc.checked_mul(d)))
        .ok_or_else(|| bad("an unreadable shape"))?;
    if count != values.len() {
        return Err(bad(&format!("the shape holds {count} values but the data {}", values.len())));
    }
    Ok(values)
}

/// A JSON array of numbers, nested arrays read flat.
fn json(bytes: &[u8]) -> Result<Vec<f64>> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| point_error(format!("invalid JSON at line {} column {}: {e}", e.line(), e.column())))?;
    let mut out = Vec::new();
    fn flatten(v: &serde_json::Value, out: &mut Vec<f64>) -> Result<()> {
        match v {
            serde_json::Value::Array(items) => items.iter().try_for_each(|i| flatten(i, out)),
            serde_json::Value::Number(n) => {
                out.push(n.as_f64().ok_or_else(|| point_error(format!("{n} is not a number")))?);
                Ok(())
            }
            other => Err(point_error(format!("expected an array of numbers, found {other}"))),
        }
    }
    flatten(&v, &mut out)?;
    Ok(out)
}

/// Numbers separated by commas, semicolons or white space.
fn text(bytes: &[u8]) -> Result<Vec<f64>> {
    let text = std::str::from_utf8(bytes).map_err(|_| point_error("the point file is not UTF-8 text"))?;
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .enumerate()
        .map(|(i, t)| t.parse::<f64>().map_err(|_| point_error(format!("value {i} ('{t}') is not a number"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 `.npy` file of `descr` and `shape` around `data`.
    fn npy_file(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_every_form() {
        let f8: Vec<u8> = [0.5f64, -1.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(npy(&npy_file("<f8", "(2,)", &f8)).unwrap(), vec![0.5, -1.0]);
        let f4: Vec<u8> = [0.25f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(npy(&npy_file("<f4", "(1, 2, 2)", &f4)).unwrap(), vec![0.25, 2.0, 3.0, 4.0]);
        assert_eq!(npy(&npy_file("|u1", "(3,)", &[0, 7, 255])).unwrap(), vec![0.0, 7.0, 255.0]);
        assert_eq!(json(b"[[0.5, 1], [2, -3e-1]]").unwrap(), vec![0.5, 1.0, 2.0, -0.3]);
        assert_eq!(text(b"0.5, 1\n2;-0.3\n").unwrap(), vec![0.5, 1.0, 2.0, -0.3]);
    }

    #[test]
    fn refuses_broken_files() {
        let f8: Vec<u8> = [0.5f64].iter().flat_map(|v| v.to_le_bytes()).collect();
        for bad in [
            npy(&npy_file("<f8", "(2,)", &f8)),
            npy(&npy_file("<i8", "(1,)", &f8)),
            npy(b"not numpy at all"),
            json(b"[1, \"a\"]"),
            json(b"[1,"),
            text(b"1, two"),
        ] {
            assert_eq!(bad.unwrap_err().kind(), ErrorKind::Usage);
        }
    }
}
