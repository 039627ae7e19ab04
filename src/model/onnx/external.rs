//! ONNX external data: weights kept in a file beside the model (how
//! `torch.onnx.export` saves by default from PyTorch 2.9, and how any model
//! above 2 GB must be saved).
//!
//! A tensor with `data_location = EXTERNAL` names its bytes by
//! `external_data` entries: `location`, a path relative to the model's
//! folder, and optional `offset` and `length` in bytes. [`inline`] reads
//! those bytes into the tensor's `raw_data` before the graph is translated,
//! so the rest of the loader sees ordinary tensors.
//!
//! A location must stay inside the model's folder (no absolute path, no
//! `..`), as the ONNX checker requires: a model file cannot make the tool
//! read arbitrary files. The bytes read count against the model size limit.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

use super::pb;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{limit_error, LoadLimits};

/// Read the external data of every initializer and constant tensor of
/// `model` from beside it in `dir` into their `raw_data`; `budget` is what
/// the model may still read (the model file's own bytes already spent).
pub(crate) fn inline(model: &mut pb::ModelProto, dir: &Path, limits: &LoadLimits, mut budget: u64) -> Result<()> {
    let Some(graph) = model.graph.as_mut() else { return Ok(()) };
    let attributes = graph.node.iter_mut().flat_map(|n| n.attribute.iter_mut()).filter_map(|a| a.t.as_mut());
    for t in graph.initializer.iter_mut().chain(attributes) {
        if t.data_location == 1 {
            let bytes = read(t, dir, limits, budget).map_err(|e| e.with_node(format!("tensor '{}'", t.name)))?;
            budget -= bytes.len() as u64;
            t.raw_data = bytes;
            t.data_location = 0;
            t.external_data.clear();
        }
    }
    Ok(())
}

/// The bytes of one external tensor, at most `budget` of them.
fn read(t: &pb::TensorProto, dir: &Path, limits: &LoadLimits, budget: u64) -> Result<Vec<u8>> {
    let err = |m: String| Error::new(ErrorKind::Onnx, m);
    let entry = |key: &str| t.external_data.iter().find(|e| e.key == key).map(|e| e.value.as_str());
    let location = entry("location").ok_or_else(|| err("external data without a `location`".into()))?;
    let relative = Path::new(location);
    if relative.is_absolute() || relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(err(format!(
            "external data location '{location}' leaves the model's folder; it must be a path relative to it"
        )));
    }
    let number = |key: &str| -> Result<Option<u64>> {
        entry(key)
            .map(|v| v.parse::<u64>().map_err(|_| err(format!("external data {key} '{v}' is not a number"))))
            .transpose()
    };
    let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
    let path = dir.join(relative);
    let mut file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let length = length.unwrap_or(size.saturating_sub(offset));
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(err(format!(
            "external data of {length} bytes at offset {offset} lies beyond the end of {} ({size} bytes)",
            path.display()
        )));
    }
    if length > budget {
        return Err(limit_error(
            format!(
                "external data of {length} bytes in {} goes past the model size limit of {} bytes",
                path.display(),
                limits.max_model_bytes
            ),
            "max-model-size",
        ));
    }
    file.seek(SeekFrom::Start(offset)).map_err(|e| Error::io(&path, e))?;
    let mut bytes = vec![0; length as usize];
    file.read_exact(&mut bytes).map_err(|e| Error::io(&path, e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::onnx::test_graph::{assert_close, attr_i, TestGraph};

    /// A Gemm model whose weights and bias live in `weights.bin` (the bias
    /// at an offset), written into a fresh folder; returns the model path.
    fn model_with_external_data(name: &str, edit: impl Fn(&mut pb::TensorProto)) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("reluverify-external-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut model = TestGraph::new(13, &[1, 2])
            .init("w", &[2, 2], &[1.0, 2.0, 3.0, 4.0])
            .init("b", &[2], &[0.5, -0.5])
            .node("Gemm", &["x", "w", "b"], "y", vec![attr_i("transB", 1)])
            .output("y")
            .model();
        let mut blob = Vec::new();
        for t in &mut model.graph.as_mut().unwrap().initializer {
            let bytes: Vec<u8> = t.double_data.iter().flat_map(|v| v.to_le_bytes()).collect();
            let entries = [
                ("location", "weights.bin".to_string()),
                ("offset", blob.len().to_string()),
                ("length", bytes.len().to_string()),
            ];
            t.external_data = entries
                .iter()
                .map(|(k, v)| pb::StringStringEntryProto { key: k.to_string(), value: v.clone() })
                .collect();
            t.data_location = 1;
            t.double_data.clear();
            blob.extend(bytes);
            edit(t);
        }
        std::fs::write(dir.join("weights.bin"), blob).unwrap();
        let path = dir.join("model.onnx");
        std::fs::write(&path, prost::Message::encode_to_vec(&model)).unwrap();
        path
    }

    #[test]
    fn weights_beside_the_model_load() {
        let path = model_with_external_data("ok", |_| {});
        let net = crate::model::onnx::load_with(&path, &LoadLimits::default()).unwrap();
        assert_close(&net.forward(&[1.0, -1.0]), &[-0.5, -1.5], 0.0);
        // Held in memory, the model has no folder to read them from.
        let bytes = std::fs::read(&path).unwrap();
        let err = crate::model::onnx::load_bytes_with(&bytes, &LoadLimits::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn bad_locations_and_lengths_are_refused() {
        let set = |key: &'static str, value: &'static str| {
            move |t: &mut pb::TensorProto| {
                t.external_data.iter_mut().filter(|e| e.key == key).for_each(|e| e.value = value.into())
            }
        };
        let load = |path: std::path::PathBuf| crate::model::onnx::load_with(&path, &LoadLimits::default()).unwrap_err();
        assert_eq!(load(model_with_external_data("up", set("location", "../weights.bin"))).kind(), ErrorKind::Onnx);
        assert_eq!(load(model_with_external_data("abs", set("location", "/etc/passwd"))).kind(), ErrorKind::Onnx);
        assert_eq!(load(model_with_external_data("long", set("length", "4096"))).kind(), ErrorKind::Onnx);
        assert_eq!(load(model_with_external_data("nan", set("offset", "x"))).kind(), ErrorKind::Onnx);
        assert_eq!(load(model_with_external_data("gone", set("location", "missing.bin"))).kind(), ErrorKind::Io);
        let path = model_with_external_data("limit", |_| {});
        let small =
            LoadLimits { max_model_bytes: std::fs::metadata(&path).unwrap().len() + 8, ..LoadLimits::default() };
        assert_eq!(crate::model::onnx::load_with(&path, &small).unwrap_err().kind(), ErrorKind::Limit);
    }
}
