//! `reluverify._native`: the native half of the `reluverify` Python package.
//!
//! It calls the same library as the command-line tool (no subprocess) and
//! keeps its own surface small: models and properties as opaque handles,
//! checks and bounds returning plain lists and JSON, errors as one
//! exception class per [`ErrorKind`]. The Python half
//! (`python/reluverify/__init__.py`) turns lists into NumPy arrays and JSON
//! into typed results, and documents the API.
//!
//! Long calls release the GIL and run on a worker thread; the calling
//! thread wakes every [`SIGNAL_POLL`] to let Python handle signals, and on
//! Ctrl-C cancels the check ([`reluverify::cancel`]), waits for the worker
//! to stop at its next deadline poll and raises `KeyboardInterrupt`.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use reluverify::bounds::BoundMethod;
use reluverify::limits::LoadLimits;
use reluverify::model::{self, Network};
use reluverify::spec::{self, json};
use reluverify::{cancel, Error, ErrorKind, Settings};

create_exception!(_native, ReluverifyError, PyException, "Base class of every reluverify error.");
create_exception!(_native, IoError, ReluverifyError, "A file could not be read or written.");
create_exception!(_native, OnnxError, ReluverifyError, "A malformed ONNX model.");
create_exception!(
    _native,
    UnsupportedError,
    ReluverifyError,
    "A valid model reluverify cannot verify (an operator that is not piecewise linear, ...)."
);
create_exception!(_native, NnetError, ReluverifyError, "A malformed .nnet model.");
create_exception!(_native, SpecError, ReluverifyError, "A malformed property, or one that does not fit the model.");
create_exception!(_native, NetworkError, ReluverifyError, "An invalid network (dimensions, non-finite weights).");
create_exception!(_native, UsageError, ReluverifyError, "Bad arguments.");
create_exception!(_native, SolverError, ReluverifyError, "The MILP/LP solver failed.");
create_exception!(_native, DisagreementError, ReluverifyError, "The independent cross-check refuted an answer.");
create_exception!(_native, LimitError, ReluverifyError, "An input beyond the configured size limits.");

/// How often a waiting call lets Python run its signal handlers.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The deadline of a check without a time limit: far enough never to be
/// reached, and still a deadline, so that Ctrl-C can cancel the check (see
/// `reluverify::cancel`). 100 years.
const NO_TIME_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The Python exception for a library error: the class of its kind, the
/// message the command-line tool prints.
fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Io => IoError::new_err(message),
        ErrorKind::Onnx => OnnxError::new_err(message),
        ErrorKind::Unsupported => UnsupportedError::new_err(message),
        ErrorKind::Nnet => NnetError::new_err(message),
        ErrorKind::Spec => SpecError::new_err(message),
        ErrorKind::Network => NetworkError::new_err(message),
        ErrorKind::Usage => UsageError::new_err(message),
        ErrorKind::Solver => SolverError::new_err(message),
        ErrorKind::Disagreement => DisagreementError::new_err(message),
        ErrorKind::Limit => LimitError::new_err(message),
        _ => ReluverifyError::new_err(message),
    }
}

/// A loaded network.
#[pyclass(frozen, module = "reluverify._native")]
struct Model {
    net: Network,
}

#[pymethods]
impl Model {
    /// Number of inputs.
    #[getter]
    fn input_dim(&self) -> usize {
        self.net.input_dim()
    }

    /// Number of outputs.
    #[getter]
    fn output_dim(&self) -> usize {
        self.net.output_dim()
    }

    /// Number of layers (affine map and activation each).
    #[getter]
    fn layers(&self) -> usize {
        self.net.layers().len()
    }

    /// The network's f64 output at `x` (after its output activation, if any).
    fn forward(&self, x: Vec<f64>) -> PyResult<Vec<f64>> {
        if x.len() != self.net.input_dim() {
            return Err(UsageError::new_err(format!(
                "the input has {} values but the network has {} inputs",
                x.len(),
                self.net.input_dim()
            )));
        }
        Ok(self.net.forward_activated(&x))
    }

    fn __repr__(&self) -> String {
        format!(
            "Model({} inputs, {} outputs, {} layers)",
            self.net.input_dim(),
            self.net.output_dim(),
            self.net.layers().len()
        )
    }
}

/// A property: input regions and an unsafe output set.
#[pyclass(frozen, module = "reluverify._native")]
struct Property {
    prop: spec::Property,
}

#[pymethods]
impl Property {
    /// Number of input regions.
    #[getter]
    fn regions(&self) -> usize {
        self.prop.regions.len()
    }

    /// The inputs the property declares (`None`: it declares none).
    #[getter]
    fn input_dim(&self) -> Option<usize> {
        self.prop.declared_inputs
    }

    /// The label of an argmax property not yet expanded for a network.
    #[getter]
    fn argmax(&self) -> Option<usize> {
        self.prop.argmax
    }

    /// The lower and upper ends of region `region`'s input box.
    fn input_box(&self, region: usize) -> PyResult<(Vec<f64>, Vec<f64>)> {
        let r = self.prop.regions.get(region).ok_or_else(|| {
            UsageError::new_err(format!("region {region} does not exist ({} regions)", self.prop.regions.len()))
        })?;
        Ok((r.input.lower.clone(), r.input.upper.clone()))
    }

    fn __repr__(&self) -> String {
        match self.prop.argmax {
            Some(k) => format!("Property({} region(s), argmax {k})", self.prop.regions.len()),
            None => format!("Property({} region(s))", self.prop.regions.len()),
        }
    }
}

/// Load a network (.onnx, .nnet, either gzip-compressed).
#[pyfunction]
fn load_model(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    let net = py.detach(|| model::load(&path)).map_err(to_py)?;
    Ok(Model { net })
}

/// Load a property file (.json or .vnnlib, either gzip-compressed).
#[pyfunction]
fn load_property(py: Python<'_>, path: PathBuf) -> PyResult<Property> {
    let (prop, _) = py.detach(|| spec::load(&path)).map_err(to_py)?;
    Ok(Property { prop })
}

/// Parse a JSON property from its text.
#[pyfunction]
fn parse_property(text: &str) -> PyResult<Property> {
    Ok(Property { prop: json::parse_with(text, &LoadLimits::default()).map_err(to_py)? })
}

/// The argmax-stays-`label` property on the L-infinity ball of `eps`
/// around `center`, clipped to `[lower, upper]` (one value or one per input).
#[pyfunction]
#[pyo3(signature = (center, eps, label, lower=None, upper=None))]
fn robustness(
    center: Vec<f64>,
    eps: f64,
    label: usize,
    lower: Option<Vec<f64>>,
    upper: Option<Vec<f64>>,
) -> PyResult<Property> {
    let prop = spec::robustness::property(&center, eps, label, lower.as_deref(), upper.as_deref()).map_err(to_py)?;
    Ok(Property { prop })
}

/// Run `work` on a worker thread with the GIL released, letting Python
/// handle signals every [`SIGNAL_POLL`]; on an exception from a signal
/// handler (Ctrl-C), cancel the check, wait for the worker and raise it.
fn cancellable<T: Send + 'static>(py: Python<'_>, work: impl FnOnce() -> T + Send + 'static) -> PyResult<T> {
    let (tx, mut rx) = mpsc::channel();
    cancel::clear();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    loop {
        // The receiver moves into the GIL-free closure and back (the
        // closure must own what it touches).
        let (next, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
        rx = back;
        match next {
            Ok(result) => {
                let _ = worker.join();
                return Ok(result);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    cancel::request();
                    py.detach(move || {
                        let _ = rx.recv();
                        let _ = worker.join();
                    });
                    cancel::clear();
                    return Err(interrupt);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = worker.join();
                return Err(ReluverifyError::new_err("the check stopped without an answer (internal error)"));
            }
        }
    }
}

/// Check `prop` on `model`; returns the outcome as the JSON object of
/// `reluverify check --json` (verdict, stats, witness or reason).
#[pyfunction]
#[pyo3(signature = (model, prop, timeout=None, threads=None))]
fn check(
    py: Python<'_>,
    model: &Model,
    prop: &Property,
    timeout: Option<f64>,
    threads: Option<usize>,
) -> PyResult<String> {
    let net = model.net.clone();
    let prop = prop.prop.clone().fit(&net).map_err(to_py)?;
    let timeout = match timeout {
        None => NO_TIME_LIMIT,
        Some(t) if t.is_finite() && t > 0.0 => Duration::from_secs_f64(t),
        Some(t) => return Err(UsageError::new_err(format!("timeout must be a positive number of seconds, got {t}"))),
    };
    let settings = Settings { timeout: Some(timeout), threads: threads.unwrap_or(1), ..Settings::default() };
    settings.validate().map_err(to_py)?;
    let outcome = cancellable(py, move || {
        reluverify::verify(&net, &prop, &settings).map(|o| reluverify::cli::outcome_json(&o, &prop).to_string())
    })?;
    outcome.map_err(to_py)
}

/// One layer's bounds: its activation's name, then the lower and upper
/// bounds of its pre-activations.
type LayerBounds = (String, Vec<f64>, Vec<f64>);

/// Per-layer neuron bounds of region `region` of `prop` by `method`
/// (`interval`, `symbolic`, `optimised` or `lp`): for each layer, its
/// activation's name and the lower and upper bounds of its pre-activations.
#[pyfunction]
#[pyo3(signature = (model, prop, method="symbolic", region=0))]
fn bounds(py: Python<'_>, model: &Model, prop: &Property, method: &str, region: usize) -> PyResult<Vec<LayerBounds>> {
    let method = match method {
        "interval" => BoundMethod::Interval,
        "symbolic" => BoundMethod::Symbolic,
        "optimised" | "optimized" => BoundMethod::Optimised,
        "lp" => BoundMethod::Lp,
        other => {
            return Err(UsageError::new_err(format!(
                "unknown bound method '{other}': expected interval, symbolic, optimised or lp"
            )))
        }
    };
    let net = model.net.clone();
    let prop = prop.prop.clone().fit(&net).map_err(to_py)?;
    let input = prop
        .regions
        .get(region)
        .ok_or_else(|| UsageError::new_err(format!("region {region} does not exist ({} regions)", prop.regions.len())))?
        .input
        .clone();
    let deadline = Some(std::time::Instant::now() + NO_TIME_LIMIT);
    let layers = net.layers().iter().map(|l| l.activation.name().to_string()).collect::<Vec<_>>();
    let nb = cancellable(py, move || {
        reluverify::search::neuron_bounds::compute_before(&net, &input, method, None, deadline, 1)
    })?
    .map_err(|_| ReluverifyError::new_err("the bounds were cancelled"))?;
    Ok(layers.into_iter().zip(nb.layers).map(|(name, b)| (name, b.lower, b.upper)).collect())
}

/// The version of the library (and the commit it was built from).
#[pyfunction]
fn version() -> &'static str {
    reluverify::cli::VERSION
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Model>()?;
    m.add_class::<Property>()?;
    m.add_function(wrap_pyfunction!(load_model, m)?)?;
    m.add_function(wrap_pyfunction!(load_property, m)?)?;
    m.add_function(wrap_pyfunction!(parse_property, m)?)?;
    m.add_function(wrap_pyfunction!(robustness, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(bounds, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add("ReluverifyError", py.get_type::<ReluverifyError>())?;
    m.add("IoError", py.get_type::<IoError>())?;
    m.add("OnnxError", py.get_type::<OnnxError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("NnetError", py.get_type::<NnetError>())?;
    m.add("SpecError", py.get_type::<SpecError>())?;
    m.add("NetworkError", py.get_type::<NetworkError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    m.add("SolverError", py.get_type::<SolverError>())?;
    m.add("DisagreementError", py.get_type::<DisagreementError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    Ok(())
}
