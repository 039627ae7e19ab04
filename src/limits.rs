//! Resource limits for loading untrusted model and property files.
//!
//! A model or property file may come from anywhere, and a few bytes can
//! declare a tensor of 10^18 elements, a layer of a billion neurons or an
//! expression nested a million levels deep. Every loader checks what a file
//! *declares* against a [`LoadLimits`] **before** allocating for it, and
//! refuses it with an [`ErrorKind::Limit`] error that names the option
//! raising the limit. The defaults are far above what a MILP-based verifier
//! can handle anyway (the largest VNN-COMP fully connected networks have a
//! few thousand neurons per layer), so they only ever stop broken or hostile
//! files.
//!
//! | field | CLI option | default | what it bounds |
//! |---|---|---|---|
//! | [`max_model_bytes`](LoadLimits::max_model_bytes) | `--max-model-size` | 1 GiB | size of a `.onnx` / `.nnet` file (decompressed, for `.gz`) |
//! | [`max_spec_bytes`](LoadLimits::max_spec_bytes) | `--max-spec-size` | 64 MiB | size of a `.json` / `.vnnlib` file (decompressed, for `.gz`) |
//! | [`max_elements`](LoadLimits::max_elements) | `--max-elements` | 2^24 | elements of one tensor, neurons of one layer, inputs and outputs a property declares, input bounds its regions hold together |
//! | [`max_weights`](LoadLimits::max_weights) | `--max-weights` | 2^27 | values a model loader builds in all: weights of every layer and intermediate map, computed constants (1 GiB of f64) |
//! | [`max_nesting`](LoadLimits::max_nesting) | `--max-nesting` | 256 | list nesting of a VNN-LIB file (at most [`NESTING_CEILING`]) |
//! | [`max_dnf_terms`](LoadLimits::max_dnf_terms) | `--max-dnf-terms` | 10,000 | disjuncts that disjunctive normal form adds beyond those the file writes out, and JSON (box, unsafe disjunct) pairs beyond those listed |
//!
//! JSON nesting is bounded by `serde_json` itself (128 levels). File sizes are
//! enforced while reading, not only from the file's metadata, so a pipe or a
//! device cannot get past them either. A gzip-compressed file (`.onnx.gz`,
//! `.nnet.gz`, `.vnnlib.gz`, `.json.gz`) is decompressed while reading, and
//! the size limits apply to its decompressed contents: a gzip bomb is a
//! limit error, never an allocation beyond the limit.

use std::cell::Cell;
use std::fmt::Display;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// The largest `max_nesting` accepted. The property parsers walk the
/// expression tree recursively, about 1 KiB of stack per level in an
/// optimised build: 1024 levels fit the 2 MiB stack of a spawned thread (a
/// test checks it; the main thread has 8 MiB), so no setting can turn a deep
/// file into a stack overflow.
pub const NESTING_CEILING: usize = 1024;

/// Limits on what a model or property file may declare; see the
/// [module documentation](self) for the table of defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadLimits {
    /// Largest model file (`.onnx`, `.nnet`) read, in bytes; for a `.gz`
    /// file, its decompressed size. Default: 1 GiB.
    pub max_model_bytes: u64,
    /// Largest property file (`.json`, `.vnnlib`) read, in bytes; for a
    /// `.gz` file, its decompressed size. Default: 64 MiB.
    pub max_spec_bytes: u64,
    /// Most elements of one tensor (counting each zero dimension as 1), most
    /// neurons of one layer, highest input or output count a property
    /// declares, and most input bounds its regions hold together (regions x
    /// inputs). Default: 2^24 = 16,777,216.
    pub max_elements: usize,
    /// Most f64 values a model loader builds in all: the weights and biases
    /// of every layer, and for ONNX also of every intermediate affine map
    /// and computed constant of the graph (decoded initializers, bounded by
    /// the file size, are not counted). Each map is checked against what is
    /// left before it is allocated. Default: 2^27 = 134,217,728, which is
    /// 1 GiB of f64; the largest VNN-COMP fully connected networks need
    /// under 10^7.
    pub max_weights: usize,
    /// Deepest list nesting of a VNN-LIB file. Real properties nest three or
    /// four levels. Default: 256; at most [`NESTING_CEILING`].
    pub max_nesting: usize,
    /// Most disjuncts an unsafe set may have (VNN-LIB assertions after DNF
    /// expansion, JSON `any` lists) and most boxes of a JSON `input_boxes`.
    /// Each disjunct is a separate problem to refute. Default: 10,000.
    pub max_dnf_terms: usize,
}

impl Default for LoadLimits {
    fn default() -> LoadLimits {
        LoadLimits {
            max_model_bytes: 1 << 30,
            max_spec_bytes: 64 << 20,
            max_elements: 1 << 24,
            max_weights: 1 << 27,
            max_nesting: 256,
            max_dnf_terms: 10_000,
        }
    }
}

impl LoadLimits {
    /// Check that every limit is positive and `max_nesting` is at most
    /// [`NESTING_CEILING`]; errors are [`ErrorKind::Usage`].
    pub fn validate(&self) -> Result<()> {
        let zero = [
            ("--max-model-size", self.max_model_bytes == 0),
            ("--max-spec-size", self.max_spec_bytes == 0),
            ("--max-elements", self.max_elements == 0),
            ("--max-weights", self.max_weights == 0),
            ("--max-nesting", self.max_nesting == 0),
            ("--max-dnf-terms", self.max_dnf_terms == 0),
        ];
        if let Some((flag, _)) = zero.iter().find(|(_, z)| *z) {
            return Err(Error::new(ErrorKind::Usage, format!("{flag} must be at least 1")));
        }
        if self.max_nesting > NESTING_CEILING {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("--max-nesting is at most {NESTING_CEILING}, got {}", self.max_nesting),
            ));
        }
        Ok(())
    }

    /// `Ok` when `count <= max_elements`; otherwise a [`limit_error`] that
    /// starts with `what`, which says what has `count` (e.g. "layer 2 has
    /// 10^9 neurons").
    pub(crate) fn check_elements(&self, count: usize, what: impl Display) -> Result<()> {
        if count <= self.max_elements {
            return Ok(());
        }
        Err(limit_error(format!("{what}, more than the limit of {}", self.max_elements), "max-elements"))
    }
}

/// An [`ErrorKind::Limit`] error: `message` says what exceeded which limit,
/// and the text tells which option (`--{flag}`) raises it.
pub(crate) fn limit_error(message: impl Display, flag: &str) -> Error {
    Error::new(ErrorKind::Limit, format!("{message}; raise the limit with --{flag} if the file is genuine"))
}

/// The f64 values a loader may still build for one model
/// ([`LoadLimits::max_weights`]): every map is checked against what is left
/// *before* it is allocated, and what was built is charged to it (values
/// stay alive until the model is done). The ONNX interpreter and the
/// lowering to layers (`model::lower`) each have one.
pub(crate) struct Budget<'a> {
    /// The limits of this load.
    pub limits: &'a LoadLimits,
    /// Values charged so far.
    used: Cell<usize>,
}

impl<'a> Budget<'a> {
    /// Nothing spent yet.
    pub fn new(limits: &'a LoadLimits) -> Budget<'a> {
        Budget { limits, used: Cell::new(0) }
    }

    /// Refuse building `count` values (`None`: more than fit in a `usize`),
    /// described by `what`, when they exceed what is left.
    pub fn check(&self, count: Option<usize>, what: impl Display) -> Result<()> {
        let max = self.limits.max_weights;
        let left = max - self.used.get().min(max);
        match count {
            Some(c) if c <= left => Ok(()),
            _ => Err(limit_error(
                format!("{what} needs more than the {left} weights left of the limit of {max} for the whole model"),
                "max-weights",
            )),
        }
    }

    /// Charge `count` values that were built; errors once the total exceeds
    /// the limit.
    pub fn spend(&self, count: usize, what: impl Display) -> Result<()> {
        self.check(Some(count), what)?;
        self.used.set(self.used.get() + count);
        Ok(())
    }
}

/// Whether `path` names a gzip-compressed file: its extension is `.gz`
/// (any case).
pub(crate) fn is_gzip(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The lowercase extension that names the format of `path`, looking under a
/// `.gz` suffix: `net.onnx` and `net.ONNX.gz` both give `onnx`.
pub fn format_extension(path: &Path) -> Option<String> {
    let named = if is_gzip(path) { Path::new(path.file_stem()?) } else { path };
    named.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

/// How much larger than its contents a genuine gzip file can be: deflate
/// stores incompressible data in blocks of at most 65,535 bytes with a
/// 5-byte header, and gzip adds a header (with an optional file name) and an
/// 8-byte trailer. So a file may have `max_bytes + max_bytes / 1024 +
/// GZIP_SLACK` bytes when its contents have at most `max_bytes`; reading
/// more than that cannot be a genuine file (an endless pipe of empty gzip
/// members would otherwise never stop).
const GZIP_SLACK: u64 = 64 << 10;

/// Read the file at `path`, refusing one larger than `max_bytes` without
/// reading past the limit; `flag` names the option that raises it. A `.gz`
/// file (see [`is_gzip`]) is decompressed while reading, and the limit
/// applies to the decompressed bytes, so a small file that inflates beyond
/// it (a gzip bomb) is refused as soon as the limit is passed, without
/// allocating more. Errors carry the path.
pub(crate) fn read_file(path: &Path, max_bytes: u64, flag: &str) -> Result<Vec<u8>> {
    let gzip = is_gzip(path);
    let too_big = |size: Option<u64>| {
        let size = size.map_or_else(|| "larger than".to_string(), |s| format!("{s} bytes, more than"));
        let what = if gzip { "the decompressed file is" } else { "the file is" };
        limit_error(format!("{what} {size} the limit of {max_bytes} bytes"), flag).with_path(path)
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let max_file = if gzip { max_bytes.saturating_add(max_bytes / 1024).saturating_add(GZIP_SLACK) } else { max_bytes };
    // The metadata refuses a large regular file at once; the bounded reads
    // below also cover files that lie about their size (pipes, devices).
    let compressed_too_big = || {
        limit_error(
            format!("the compressed file is larger than a gzip file with at most {max_bytes} bytes of contents can be"),
            flag,
        )
        .with_path(path)
    };
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.len() > max_file {
            return Err(if gzip { compressed_too_big() } else { too_big(Some(meta.len())) });
        }
    }
    let mut bytes = Vec::new();
    if gzip {
        // Several concatenated gzip members are one valid gzip file.
        let compressed = std::io::BufReader::new(file.take(max_file.saturating_add(1)));
        let mut inflate = flate2::read::MultiGzDecoder::new(compressed);
        let read = (&mut inflate).take(max_bytes.saturating_add(1)).read_to_end(&mut bytes);
        if inflate.get_ref().get_ref().limit() == 0 {
            return Err(compressed_too_big());
        }
        read.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("not a valid gzip file ({e}); a file named .gz must be gzip-compressed (check it with `gzip -t`, or rename it without .gz if it is not compressed)"),
            )
            .with_path(path)
        })?;
    } else {
        file.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    }
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(None));
    }
    Ok(bytes)
}

/// `bytes` as UTF-8 text, or a `kind` error at the line and column of the
/// first invalid byte.
pub(crate) fn utf8_text<'a>(bytes: &'a [u8], kind: ErrorKind, format: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = String::from_utf8_lossy(valid.rsplit(|&b| b == b'\n').next().unwrap_or(&[])).chars().count() + 1;
        Error::new(kind, format!("not a text file: a {format} file must be UTF-8 text")).at(line, col)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_do_not() {
        assert!(LoadLimits::default().validate().is_ok());
        let zero = LoadLimits { max_elements: 0, ..LoadLimits::default() };
        assert_eq!(zero.validate().unwrap_err().kind(), ErrorKind::Usage);
        let deep = LoadLimits { max_nesting: NESTING_CEILING + 1, ..LoadLimits::default() };
        assert_eq!(deep.validate().unwrap_err().kind(), ErrorKind::Usage);
    }

    #[test]
    fn read_file_stops_at_the_limit() {
        let dir = std::env::temp_dir().join(format!("reluverify-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ten.bin");
        std::fs::write(&path, [7u8; 10]).unwrap();
        assert_eq!(read_file(&path, 10, "max-model-size").unwrap(), vec![7u8; 10]);
        let err = read_file(&path, 9, "max-model-size").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Limit);
        let text = err.to_string();
        assert!(text.contains("ten.bin") && text.contains("10 bytes") && text.contains("--max-model-size"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
        // A device that never ends is cut off at the limit too.
        let dev_zero = Path::new("/dev/zero");
        if dev_zero.exists() {
            assert_eq!(read_file(dev_zero, 1 << 16, "max-spec-size").unwrap_err().kind(), ErrorKind::Limit);
        }
    }

    /// `.gz` files are read decompressed (several members too); the limit
    /// applies to the decompressed size, so a small file that inflates far
    /// beyond it (a gzip bomb) is a limit error; a corrupt or truncated
    /// stream is an Io error naming the file; a compressed file larger than
    /// any genuine one for the limit is refused too.
    #[test]
    fn gzip_files_are_read_decompressed_within_the_limit() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("reluverify-gzip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let compress = |data: &[u8]| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        };
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let hello = write("hello.onnx.gz", &[compress(b"hel"), compress(b"lo")].concat());
        assert_eq!(read_file(&hello, 5, "max-model-size").unwrap(), b"hello");
        assert_eq!(read_file(&hello, 4, "max-model-size").unwrap_err().kind(), ErrorKind::Limit);
        // 16 MiB of zeros compress to about 16 KiB.
        let bomb_bytes = compress(&vec![0u8; 16 << 20]);
        assert!(bomb_bytes.len() < 64 << 10, "{}", bomb_bytes.len());
        let bomb = write("bomb.vnnlib.GZ", &bomb_bytes);
        let err = read_file(&bomb, 1 << 20, "max-spec-size").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Limit);
        let text = err.to_string();
        assert!(
            text.contains("bomb.vnnlib.GZ") && text.contains("decompressed") && text.contains("--max-spec-size"),
            "{text}"
        );
        let corrupt = write("corrupt.onnx.gz", b"\x1f\x8b\x08\x00 this is not deflate data at all");
        let err = read_file(&corrupt, 1 << 20, "max-model-size").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.to_string().contains("corrupt.onnx.gz") && err.to_string().contains("gzip"), "{err}");
        let truncated = write("truncated.json.gz", &bomb_bytes[..bomb_bytes.len() / 2]);
        assert_eq!(read_file(&truncated, 64 << 20, "max-spec-size").unwrap_err().kind(), ErrorKind::Io);
        let plain = write("plain.onnx.gz", b"not compressed");
        assert_eq!(read_file(&plain, 1 << 20, "max-model-size").unwrap_err().kind(), ErrorKind::Io);
        // Incompressible data: 80 KiB cannot be the gzip file of 1 byte.
        let mut rng = crate::rng::Rng::new(7);
        let noise: Vec<u8> = (0..80 << 10).map(|_| rng.next_u64() as u8).collect();
        let big = write("noise.onnx.gz", &compress(&noise));
        assert_eq!(read_file(&big, 1, "max-model-size").unwrap_err().kind(), ErrorKind::Limit);
        assert_eq!(read_file(&big, 80 << 10, "max-model-size").unwrap(), noise);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn format_extensions_look_under_gz() {
        let ext = |p: &str| format_extension(Path::new(p));
        assert_eq!(ext("a/net.onnx").as_deref(), Some("onnx"));
        assert_eq!(ext("net.ONNX.gz").as_deref(), Some("onnx"));
        assert_eq!(ext("prop.vnnlib.Gz").as_deref(), Some("vnnlib"));
        assert_eq!(ext("net.gz"), None);
        assert_eq!(ext("net"), None);
        assert!(is_gzip(Path::new("x.json.gz")) && !is_gzip(Path::new("x.json")));
    }

    #[test]
    fn utf8_errors_point_at_the_bad_byte() {
        assert_eq!(utf8_text(b"ab\nc\xffd", ErrorKind::Spec, "VNN-LIB").unwrap_err().line_col(), Some((2, 2)));
        assert_eq!(utf8_text("é\n".as_bytes(), ErrorKind::Spec, "VNN-LIB").unwrap(), "é\n");
    }
}
