//! The one error type of the library.
//!
//! Verdicts and solver statuses are values, not errors: an [`Error`] means the
//! input could not be used (a file that does not parse, an operator we do not
//! support, a property that names an output the network does not have) or the
//! machinery failed. Every message says what was expected, so the user can fix
//! the input; the CLI prints it once and exits with code 2.

use std::fmt;
use std::path::{Path, PathBuf};

/// What stage an error comes from. Tests match on this, not on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read or written.
    Io,
    /// An ONNX file is malformed: bad protobuf, missing initializer, shape
    /// mismatch, non-finite weights.
    Onnx,
    /// An ONNX operator (or attribute value) this tool does not support.
    Unsupported,
    /// A `.nnet` file is malformed.
    Nnet,
    /// A property file (JSON or VNN-LIB) is malformed or does not fit the network.
    Spec,
    /// A network assembled in code is inconsistent (dimensions, non-finite values).
    Network,
    /// Command-line options or settings are invalid.
    Usage,
    /// The MILP/LP solver failed in a way that is not a verdict.
    Solver,
    /// Two independent methods contradict each other (`check --cross-check`
    /// found a counterexample to `holds`): a bug in reluverify, to report
    /// with the model and property files.
    Disagreement,
    /// A file exceeds a resource limit of [`LoadLimits`](crate::LoadLimits)
    /// (file size, tensor elements, layer weights, nesting, disjuncts); the
    /// message names the option that raises it. Checked before allocating.
    Limit,
}

impl ErrorKind {
    /// The kind's name in machine output (`--json`): `io`, `onnx`,
    /// `unsupported`, `nnet`, `spec`, `network`, `usage`, `solver`,
    /// `disagreement` or `limit`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Onnx => "onnx",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Nnet => "nnet",
            ErrorKind::Spec => "spec",
            ErrorKind::Network => "network",
            ErrorKind::Usage => "usage",
            ErrorKind::Solver => "solver",
            ErrorKind::Disagreement => "disagreement",
            ErrorKind::Limit => "limit",
        }
    }
}

/// An error with enough context to point the user at the problem.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    node: Option<String>,
    line_col: Option<(usize, usize)>,
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message that says what was expected.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), path: None, node: None, line_col: None }
    }

    /// Attach the file the error was found in (kept if one is already set).
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        if self.path.is_none() {
            self.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// Attach the graph node (ONNX node name and operator) the error concerns.
    pub fn with_node(mut self, node: impl Into<String>) -> Error {
        self.node = Some(node.into());
        self
    }

    /// Attach a 1-based line and column in a text file.
    pub fn at(mut self, line: usize, col: usize) -> Error {
        self.line_col = Some((line, col));
        self
    }

    /// The stage the error comes from.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without location context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The file the error was found in, when known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The graph node (ONNX node name and operator), when the error concerns one.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// The 1-based line and column, when the error points into a text file.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        self.line_col
    }

    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("cannot access file: {err}")).with_path(path)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}", path.display())?;
            if let Some((line, col)) = self.line_col {
                write!(f, ":{line}:{col}")?;
            }
            write!(f, ": ")?;
        } else if let Some((line, col)) = self.line_col {
            write!(f, "line {line}, column {col}: ")?;
        }
        if let Some(node) = &self.node {
            write!(f, "node {node}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Error {}
