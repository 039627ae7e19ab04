//! The `.nnet` text format in and out: [`load`] / [`parse`] translate a file
//! into a [`Network`] plus its [`Normalisation`], [`save`] / [`to_string`]
//! write one.
//!
//! `.nnet` was created in 2016 for the ACAS Xu collision-avoidance networks
//! and is read by Reluplex, Marabou, NNV and the `sisl/NNet` scripts. It
//! holds fully connected networks whose hidden layers are ReLU and whose last
//! layer is linear, plus the constants that normalise inputs and outputs.
//!
//! # The format
//!
//! Text, values separated by commas; a line may end with a trailing comma and
//! values may be surrounded by spaces. Line numbers below count data lines;
//! any number of leading lines starting with `//` (and blank lines among
//! them) come first.
//!
//! 1. `numLayers, inputSize, outputSize, maxLayerSize` (`numLayers` counts
//!    weight matrices, so the input is not a layer).
//! 2. The `numLayers + 1` layer sizes, input first, output last.
//! 3. A legacy flag (historically "symmetric"), one integer; it is ignored.
//! 4. Input minimums, `inputSize` values.
//! 5. Input maximums, `inputSize` values.
//! 6. Means, `inputSize + 1` values: one per input, then one for all outputs.
//! 7. Ranges, `inputSize + 1` values, laid out like the means.
//! 8. For each layer: one line per neuron holding its weight row (as many
//!    values as the layer has inputs), then one line per neuron holding its
//!    bias.
//!
//! # What [`load`] returns: the network on normalised values
//!
//! The published network maps a raw input `v` to a raw output by
//!
//! ```text
//! x_i = (clamp(v_i, min_i, max_i) - mean_i) / range_i      (i < inputSize)
//! y   = net(x)                                             (the weights in the file)
//! out = y * range_out + mean_out                           (every output)
//! ```
//!
//! [`load`] returns `net`: normalised inputs `x` to normalised outputs `y`.
//! That is exactly the function of the VNN-COMP ONNX versions of ACAS Xu
//! (`ACASXU_run2a_*_batch_2000.onnx`), whose VNN-LIB properties are written
//! on normalised values, so the same property file can be checked against a
//! `.nnet` and an `.onnx` model. [`load_with_normalisation`] also returns the
//! constants as a [`Normalisation`], which maps raw boxes and thresholds
//! onto normalised ones ([`Normalisation::normalise_box`],
//! [`Normalisation::normalise_output`]), evaluates the published function
//! ([`Normalisation::eval_raw`]), and folds the affine normalisation into the
//! first and last layers ([`Normalisation::raw_input_network`]) for
//! properties stated on raw values. That folded network does not clamp: it
//! agrees with the published one on the box `[mins, maxs]`, which is the
//! valid input box to verify on.
//!
//! # Errors
//!
//! Every problem with the file's content is an [`ErrorKind::Nnet`] error at
//! the 1-based line and column of the offending value ([`Error::line_col`]):
//! a wrong number of values on a line, a value that is not a number (or not a
//! non-negative integer in the header), NaN or infinite values, layer sizes
//! that disagree with the header, a minimum above its maximum, a zero range,
//! a file that ends early (the position just past its last line) or goes on
//! after the last bias. Declared sizes are checked against the
//! [`LoadLimits`] (layer width, weights per layer; an [`ErrorKind::Limit`]
//! error) and against the number of lines left in the file before anything
//! is read into memory, so a header claiming 10^9 neurons is refused at
//! once. Nothing in the file can make the loader panic, and the work is
//! linear in the file size.
//!
//! # Writing
//!
//! [`to_string`] writes hidden layers that are ReLU and a last layer that is
//! the identity; any other activation is an [`ErrorKind::Unsupported`] error.
//! Values are written as Rust's shortest representation that parses back to
//! the same f64 (`{}` for ordinary magnitudes, `{:e}` for very large or small
//! ones), so `parse(&to_string(..))` gives back the network bit for bit.
//!
//! # Test data
//!
//! `models/tiny.nnet` is written by hand (its outputs are computed by hand in
//! the tests). `models/acasxu_1_1.nnet` is ACAS Xu network 1_1, exported from
//! `models/ACASXU_run2a_1_1_batch_2000.onnx` with the published ACAS Xu
//! normalisation constants by the ignored test `regenerate_acasxu_nnet`:
//! `cargo test --lib model::nnet::tests::regenerate_acasxu_nnet -- --ignored`.
//!
//! # Example
//!
//! ```
//! use reluverify::model::nnet;
//!
//! // 1 input -> 2 ReLU neurons -> 1 output: |x| with x = (v - 1) / 2.
//! let text = "// abs\n2,1,1,2,\n1,2,1,\n0,\n-10,\n10,\n1,0,\n2,1,\n1,\n-1,\n0,\n0,\n1,1,\n0,\n";
//! let (net, norm) = nnet::parse(text)?;
//! assert_eq!(net.forward(&[-0.5]), vec![0.5]); // on normalised values
//! assert_eq!(norm.eval_raw(&net, &[0.0]), vec![0.5]); // v = 0 -> x = -0.5
//! let raw = norm.raw_input_network(&net)?; // folds the normalisation in
//! assert_eq!(raw.forward(&[0.0]), vec![0.5]);
//! assert_eq!(nnet::parse(&nnet::to_string(&net, Some(&norm))?)?, (net, norm));
//! # Ok::<(), reluverify::Error>(())
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::{self, limit_error, LoadLimits};
use crate::model::{Activation, Affine, Layer, Matrix, Network};

/// Data lines between the layer-sizes line and the first weight row: the
/// legacy flag, minimums, maximums, means and ranges.
const NORMALISATION_LINES: usize = 5;

/// Read the `.nnet` file at `path` and return its network on normalised
/// inputs and outputs (see the [module doc](self)); errors carry the path.
pub fn load(path: &Path) -> Result<Network> {
    load_with_normalisation(path).map(|(net, _)| net)
}

/// Read the `.nnet` file at `path`: the network on normalised values and the
/// normalisation constants; errors carry the path.
pub fn load_with_normalisation(path: &Path) -> Result<(Network, Normalisation)> {
    load_with(path, &LoadLimits::default())
}

/// [`load_with_normalisation`] refusing a file or declared layer sizes
/// beyond `limits`.
pub fn load_with(path: &Path, limits: &LoadLimits) -> Result<(Network, Normalisation)> {
    let bytes = limits::read_file(path, limits.max_model_bytes, "max-model-size")?;
    let text = limits::utf8_text(&bytes, ErrorKind::Nnet, ".nnet").map_err(|e| e.with_path(path))?;
    parse_with(text, limits).map_err(|e| e.with_path(path))
}

/// Parse `.nnet` text held in memory: the network on normalised values and
/// the normalisation constants.
pub fn parse(text: &str) -> Result<(Network, Normalisation)> {
    parse_with(text, &LoadLimits::default())
}

/// [`parse`] refusing declared layer sizes beyond `limits` (layer width and
/// weights per layer) before reading the layers.
pub fn parse_with(text: &str, limits: &LoadLimits) -> Result<(Network, Normalisation)> {
    let mut lines = Lines::new(text);

    let header = lines.next("the header line `numLayers, inputSize, outputSize, maxLayerSize`")?;
    let h = header.integers(4, "the header `numLayers, inputSize, outputSize, maxLayerSize`")?;
    let (num_layers, n_in, n_out, max_size) = (h[0], h[1], h[2], h[3]);
    for (i, name) in ["numLayers", "inputSize", "outputSize"].iter().enumerate() {
        if h[i] == 0 {
            return Err(header.error(i, format!("{name} is 0: a network needs at least one layer, input and output")));
        }
    }

    let sizes_line = lines.next("the layer sizes line")?;
    let sizes = sizes_line.integers(num_layers.saturating_add(1), "layer sizes (numLayers + 1, input first)")?;
    if let Some(k) = sizes.iter().position(|&s| s == 0) {
        return Err(sizes_line.error(k, "a layer size is 0; every layer needs at least one neuron".into()));
    }
    if sizes[0] != n_in {
        let msg = format!("the input layer has size {} but the header declares inputSize {n_in}", sizes[0]);
        return Err(sizes_line.error(0, msg));
    }
    if sizes[num_layers] != n_out {
        let msg = format!("the output layer has size {} but the header declares outputSize {n_out}", sizes[num_layers]);
        return Err(sizes_line.error(num_layers, msg));
    }
    let largest = sizes.iter().copied().max().unwrap_or(0);
    if max_size < largest {
        let msg = format!("maxLayerSize is {max_size} but line {} has a layer of size {largest}", sizes_line.number);
        return Err(header.error(3, msg));
    }
    // Weights and biases of the layers so far, against `max_weights`.
    let mut values = 0usize;
    for (k, pair) in sizes.windows(2).enumerate() {
        limits
            .check_elements(pair[1], format_args!("layer {} has {} neurons", k + 1, pair[1]))
            .map_err(|e| sizes_line.at(k + 1, e))?;
        let layer = pair[0].checked_mul(pair[1]).and_then(|w| w.checked_add(pair[1]));
        match layer.and_then(|v| values.checked_add(v)) {
            Some(total) if total <= limits.max_weights => values = total,
            _ => {
                let msg = format!(
                    "layers 1 to {} ({} neurons in layer {}, over {} inputs) need more than the limit of {} \
                     weights and biases",
                    k + 1,
                    pair[1],
                    k + 1,
                    pair[0],
                    limits.max_weights
                );
                return Err(sizes_line.at(k + 1, limit_error(msg, "max-weights")));
            }
        }
    }
    // Refuse sizes the file cannot hold before reading any layer into memory.
    let needed = sizes[1..]
        .iter()
        .try_fold(NORMALISATION_LINES, |acc, &s| s.checked_mul(2).and_then(|lines| acc.checked_add(lines)));
    if needed.is_none_or(|n| n > lines.remaining()) {
        let needed = needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
        let msg = format!(
            "the file ends early: the layer sizes on line {} need {needed} more lines (5 normalisation lines, then \
             one per weight row and one per bias), but only {} follow; the file is truncated or the sizes are wrong",
            sizes_line.number,
            lines.remaining()
        );
        return Err(lines.end_error(msg));
    }

    let flag = lines.next("the legacy flag line")?;
    flag.integers(1, "the legacy flag (0)")?;
    let mins_line = lines.next("the input minimums")?;
    let mins = mins_line.numbers(n_in, "input minimums (one per input)")?;
    let maxs_line = lines.next("the input maximums")?;
    let maxs = maxs_line.numbers(n_in, "input maximums (one per input)")?;
    if let Some(i) = (0..n_in).find(|&i| mins[i] > maxs[i]) {
        let msg =
            format!("input {i} has maximum {} below its minimum {} (line {})", maxs[i], mins[i], mins_line.number);
        return Err(maxs_line.error(i, msg));
    }
    let means_line = lines.next("the means")?;
    let mut means = means_line.numbers(n_in + 1, "means (one per input, then one for the outputs)")?;
    let ranges_line = lines.next("the ranges")?;
    let mut ranges = ranges_line.numbers(n_in + 1, "ranges (one per input, then one for the outputs)")?;
    if let Some(i) = ranges.iter().position(|&r| r == 0.0) {
        return Err(ranges_line.error(i, "a range is 0; normalisation divides by it, so it must be non-zero".into()));
    }
    let output_mean = means.pop().unwrap_or(0.0);
    let output_range = ranges.pop().unwrap_or(1.0);
    let norm = Normalisation { mins, maxs, means, ranges, output_mean, output_range };

    let mut layers = Vec::new();
    for k in 0..num_layers {
        let (cols, rows) = (sizes[k], sizes[k + 1]);
        let mut data = Vec::new();
        for i in 0..rows {
            let what = format!("layer {} weight row {} ({cols} values, one per input of the layer)", k + 1, i + 1);
            data.extend(lines.next(&what)?.numbers(cols, &what)?);
        }
        let mut bias = Vec::new();
        for i in 0..rows {
            let what = format!("layer {} bias {} (one value)", k + 1, i + 1);
            bias.extend(lines.next(&what)?.numbers(1, &what)?);
        }
        let weights = Matrix::new(rows, cols, data).map_err(|e| Error::new(ErrorKind::Nnet, e.message()))?;
        let activation = if k + 1 == num_layers { Activation::Identity } else { Activation::Relu };
        layers.push(Layer { affine: Affine { weights, bias }, activation });
    }
    lines.expect_end()?;
    let net = Network::new(layers).map_err(|e| Error::new(ErrorKind::Nnet, e.message()))?;
    Ok((net, norm))
}

/// Write `net` to `path` as `.nnet` (see [`to_string`]).
pub fn save(net: &Network, norm: Option<&Normalisation>, path: &Path) -> Result<()> {
    let text = to_string(net, norm).map_err(|e| e.with_path(path))?;
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// The `.nnet` text of `net` with the normalisation `norm`, or with
/// [`Normalisation::identity`] when `None`.
///
/// Errors: [`ErrorKind::Unsupported`] when a hidden layer is not ReLU, the
/// last layer is not the identity or the network has an output activation;
/// [`ErrorKind::Network`] when `norm` does not fit the network
/// ([`Normalisation::validate`]).
pub fn to_string(net: &Network, norm: Option<&Normalisation>) -> Result<String> {
    if let Some(act) = net.output_activation() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("the network ends in {}: .nnet has no output activation", act.op_name()),
        ));
    }
    let last = net.layers().len() - 1;
    for (k, layer) in net.layers().iter().enumerate() {
        let expected = if k == last { Activation::Identity } else { Activation::Relu };
        if layer.activation != expected {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "layer {k} has activation {}: .nnet holds only ReLU hidden layers and a linear last layer",
                    layer.activation.name()
                ),
            ));
        }
    }
    let identity;
    let norm = match norm {
        Some(norm) => {
            norm.validate(net.input_dim())?;
            norm
        }
        None => {
            identity = Normalisation::identity(net.input_dim());
            &identity
        }
    };

    let mut sizes = vec![net.input_dim()];
    sizes.extend(net.layers().iter().map(Layer::output_dim));
    let max_size = sizes.iter().copied().max().unwrap_or(0);
    let mut out = String::new();
    out.push_str("// Written by reluverify: hidden layers ReLU, last layer linear.\n");
    out.push_str(
        "// Lines: sizes; layer sizes; legacy flag; input mins; maxs; means and ranges (inputs, then outputs).\n",
    );
    let _ = writeln!(out, "{},{},{},{max_size},", net.layers().len(), net.input_dim(), net.output_dim());
    write_ints(&mut out, &sizes);
    out.push_str("0,\n");
    write_values(&mut out, &norm.mins);
    write_values(&mut out, &norm.maxs);
    write_values(&mut out, norm.means.iter().chain([&norm.output_mean]));
    write_values(&mut out, norm.ranges.iter().chain([&norm.output_range]));
    for layer in net.layers() {
        let w = &layer.affine.weights;
        for row in w.to_dense_data().chunks_exact(w.cols()) {
            write_values(&mut out, row);
        }
        for b in &layer.affine.bias {
            write_values(&mut out, [b]);
        }
    }
    Ok(out)
}

/// One line of comma-separated integers, with the customary trailing comma.
fn write_ints(out: &mut String, values: &[usize]) {
    for v in values {
        let _ = write!(out, "{v},");
    }
    out.push('\n');
}

/// One line of comma-separated values, with the customary trailing comma.
///
/// Both `{}` and `{:e}` print the shortest digits that parse back to the same
/// f64; `{}` never switches to an exponent, so very large and very small
/// magnitudes use `{:e}` to stay short.
fn write_values<'a>(out: &mut String, values: impl IntoIterator<Item = &'a f64>) {
    for &v in values {
        if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
            let _ = write!(out, "{v},");
        } else {
            let _ = write!(out, "{v:e},");
        }
    }
    out.push('\n');
}

/// The input and output normalisation of a `.nnet` file.
///
/// The published network maps a raw input `v` to
/// `(net((clamp(v, mins, maxs) - means) / ranges)) * output_range + output_mean`
/// (element-wise; one output mean and range shared by all outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalisation {
    /// Smallest valid raw value of each input; smaller values are clamped.
    pub mins: Vec<f64>,
    /// Largest valid raw value of each input; larger values are clamped.
    pub maxs: Vec<f64>,
    /// Subtracted from each (clamped) raw input.
    pub means: Vec<f64>,
    /// Each (clamped, centred) raw input is divided by this; non-zero.
    pub ranges: Vec<f64>,
    /// Added to every scaled network output.
    pub output_mean: f64,
    /// Every network output is multiplied by this; non-zero.
    pub output_range: f64,
}

impl Normalisation {
    /// No normalisation for `inputs` inputs: means 0, ranges 1, and a valid
    /// box covering every finite f64 (`±f64::MAX`), so nothing is clamped.
    pub fn identity(inputs: usize) -> Normalisation {
        Normalisation {
            mins: vec![-f64::MAX; inputs],
            maxs: vec![f64::MAX; inputs],
            means: vec![0.0; inputs],
            ranges: vec![1.0; inputs],
            output_mean: 0.0,
            output_range: 1.0,
        }
    }

    /// Number of inputs.
    pub fn input_dim(&self) -> usize {
        self.mins.len()
    }

    /// Check that the constants fit a network with `inputs` inputs: one
    /// min, max, mean and range per input, all finite, `min <= max`, and
    /// non-zero ranges. Errors are [`ErrorKind::Network`].
    pub fn validate(&self, inputs: usize) -> Result<()> {
        let err = |msg: String| Err(Error::new(ErrorKind::Network, msg));
        for (name, v) in [("mins", &self.mins), ("maxs", &self.maxs), ("means", &self.means), ("ranges", &self.ranges)]
        {
            if v.len() != inputs {
                return err(format!("normalisation has {} {name} for a network with {inputs} inputs", v.len()));
            }
        }
        let all = self.mins.iter().chain(&self.maxs).chain(&self.means).chain(&self.ranges);
        if let Some(v) = all.chain([&self.output_mean, &self.output_range]).find(|v| !v.is_finite()) {
            return err(format!("normalisation has a non-finite value ({v})"));
        }
        if let Some(i) = (0..inputs).find(|&i| self.mins[i] > self.maxs[i]) {
            return err(format!("normalisation: input {i} has min {} above max {}", self.mins[i], self.maxs[i]));
        }
        if self.ranges.contains(&0.0) || self.output_range == 0.0 {
            return err("normalisation has a zero range".into());
        }
        Ok(())
    }

    /// The normalised input `(clamp(v, mins, maxs) - means) / ranges`.
    /// Panics if `raw.len() != self.input_dim()`.
    pub fn normalise_input(&self, raw: &[f64]) -> Vec<f64> {
        assert_eq!(raw.len(), self.input_dim(), "normalise_input: wrong input length");
        (0..raw.len()).map(|i| (raw[i].clamp(self.mins[i], self.maxs[i]) - self.means[i]) / self.ranges[i]).collect()
    }

    /// The image `(lower, upper)` of the raw box `[lower, upper]` under
    /// [`normalise_input`](Self::normalise_input): clamping and an affine map
    /// per coordinate are monotone, so the image is the box between the
    /// images of the corners. Use it to state a raw-valued input region for
    /// the network [`load`] returns. Panics on a wrong length.
    pub fn normalise_box(&self, lower: &[f64], upper: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (a, b) = (self.normalise_input(lower), self.normalise_input(upper));
        a.iter().zip(&b).map(|(&a, &b)| (a.min(b), a.max(b))).unzip()
    }

    /// The raw output `y * output_range + output_mean` of a normalised output `y`.
    pub fn denormalise_output(&self, y: &[f64]) -> Vec<f64> {
        y.iter().map(|y| y * self.output_range + self.output_mean).collect()
    }

    /// The normalised value `(raw - output_mean) / output_range` of a raw
    /// output value, e.g. a threshold in a property stated on raw outputs.
    /// When `output_range < 0` this reverses the order, so `<=` becomes `>=`.
    pub fn normalise_output(&self, raw: f64) -> f64 {
        (raw - self.output_mean) / self.output_range
    }

    /// The published function on a raw input: normalise (with clamping),
    /// run `net` (the network [`load`] returns), denormalise the output.
    /// Panics on a wrong input length.
    pub fn eval_raw(&self, net: &Network, raw: &[f64]) -> Vec<f64> {
        self.denormalise_output(&net.forward(&self.normalise_input(raw)))
    }

    /// `net` with the normalisation folded into its first and last layers: a
    /// network from raw inputs to raw outputs.
    ///
    /// With `D = diag(1 / ranges)`, the first layer `W x + b` on
    /// `x = D (v - means)` becomes `(W D) v + (b - W D means)`; the last
    /// layer `W' h + b'` followed by `y * output_range + output_mean` becomes
    /// `(output_range W') h + (output_range b' + output_mean)`. Clamping is
    /// not piecewise-linear per layer here and is left out, so the result
    /// equals [`eval_raw`](Self::eval_raw) exactly on the valid box
    /// `[mins, maxs]` (up to rounding): verify raw properties on that box.
    ///
    /// Errors ([`ErrorKind::Network`]) when the normalisation does not fit
    /// `net` ([`validate`](Self::validate)).
    pub fn raw_input_network(&self, net: &Network) -> Result<Network> {
        self.validate(net.input_dim())?;
        let n = self.input_dim();
        let scale = Matrix::new(n, n, diagonal(&self.ranges.iter().map(|r| 1.0 / r).collect::<Vec<_>>()))?;
        let input_map = Affine { weights: scale, bias: (0..n).map(|i| -self.means[i] / self.ranges[i]).collect() };
        let m = net.output_dim();
        let output_map = Affine {
            weights: Matrix::new(m, m, diagonal(&vec![self.output_range; m]))?,
            bias: vec![self.output_mean; m],
        };
        let mut layers = net.layers().to_vec();
        let first = &mut layers[0];
        first.affine = input_map.then(&first.affine);
        let last = layers.len() - 1;
        let last = &mut layers[last];
        last.affine = last.affine.then(&output_map);
        Network::new(layers)
    }
}

/// Row-major data of the square matrix with `d` on its diagonal.
fn diagonal(d: &[f64]) -> Vec<f64> {
    let n = d.len();
    let mut data = vec![0.0; n * n];
    for (i, v) in d.iter().enumerate() {
        data[i * n + i] = *v;
    }
    data
}

/// The data lines of a `.nnet` text: everything after the leading comments,
/// without trailing blank lines, each with its 1-based line number.
struct Lines<'a> {
    lines: Vec<DataLine<'a>>,
    next: usize,
    /// Number of the last data line, or of the file's last line when there
    /// is no data: errors about a missing line point just past it.
    last_number: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines: Vec<DataLine<'a>> = text
            .lines()
            .enumerate()
            .map(|(i, text)| DataLine { number: i + 1, text })
            .skip_while(|l| l.text.trim().is_empty() || l.text.trim_start().starts_with("//"))
            .collect();
        while lines.last().is_some_and(|l| l.text.trim().is_empty()) {
            lines.pop();
        }
        let last_number = lines.last().map_or(text.lines().count(), |l| l.number);
        Lines { lines, next: 0, last_number }
    }

    /// Data lines not yet read.
    fn remaining(&self) -> usize {
        self.lines.len() - self.next
    }

    /// The next data line, or an error at the end of the file saying what was
    /// expected there.
    fn next(&mut self, what: &str) -> Result<DataLine<'a>> {
        match self.lines.get(self.next) {
            Some(line) => {
                self.next += 1;
                Ok(*line)
            }
            None => Err(self.end_error(format!("the file ends early: expected {what}"))),
        }
    }

    /// An error at the position just past the last line.
    fn end_error(&self, message: String) -> Error {
        Error::new(ErrorKind::Nnet, message).at(self.last_number + 1, 1)
    }

    /// Error at the first line left unread, if any.
    fn expect_end(&self) -> Result<()> {
        match self.lines.get(self.next) {
            None => Ok(()),
            Some(line) => Err(Error::new(
                ErrorKind::Nnet,
                "unexpected line after the last layer's biases: the layer sizes on the second data line \
                 declare fewer rows than the file holds",
            )
            .at(line.number, 1)),
        }
    }
}

/// One data line of the file.
#[derive(Clone, Copy)]
struct DataLine<'a> {
    number: usize,
    text: &'a str,
}

/// One comma-separated value: its text (trimmed) and 1-based column.
struct Token<'a> {
    text: &'a str,
    col: usize,
}

impl<'a> DataLine<'a> {
    /// The values of the line, without the empty value after a trailing comma.
    fn tokens(&self) -> Vec<Token<'a>> {
        let mut tokens = Vec::new();
        // Characters before the current piece, counted piece by piece so a
        // long line costs linear time.
        let mut chars_before = 0;
        for piece in self.text.split(',') {
            let lead = piece.len() - piece.trim_start().len();
            let col = chars_before + piece[..lead].chars().count() + 1;
            tokens.push(Token { text: piece.trim(), col });
            chars_before += piece.chars().count() + 1;
        }
        if tokens.len() > 1 && tokens.last().is_some_and(|t| t.text.is_empty()) {
            tokens.pop();
        }
        tokens
    }

    /// An error at the `index`-th value of this line (or its end).
    fn error(&self, index: usize, message: String) -> Error {
        self.at(index, Error::new(ErrorKind::Nnet, message))
    }

    /// `err` placed at the `index`-th value of this line (or its end).
    fn at(&self, index: usize, err: Error) -> Error {
        let col = self.tokens().get(index).map_or(self.text.chars().count() + 1, |t| t.col);
        err.at(self.number, col)
    }

    /// The tokens, checked to be exactly `expected` non-empty values.
    fn checked_tokens(&self, expected: usize, what: &str) -> Result<Vec<Token<'a>>> {
        let tokens = self.tokens();
        let found = if tokens.len() == 1 && tokens[0].text.is_empty() { 0 } else { tokens.len() };
        if found != expected {
            let col = tokens.get(expected).map_or(self.text.chars().count() + 1, |t| t.col);
            let msg = format!("expected {expected} comma-separated value(s) for {what}, found {found}");
            return Err(Error::new(ErrorKind::Nnet, msg).at(self.number, col));
        }
        if let Some(t) = tokens.iter().find(|t| t.text.is_empty()) {
            let msg = format!("empty value in {what}: expected a number between the commas");
            return Err(Error::new(ErrorKind::Nnet, msg).at(self.number, t.col));
        }
        Ok(tokens)
    }

    /// Exactly `expected` finite numbers.
    fn numbers(&self, expected: usize, what: &str) -> Result<Vec<f64>> {
        let tokens = self.checked_tokens(expected, what)?;
        let mut values = Vec::with_capacity(tokens.len());
        for t in tokens {
            let v: f64 = t.text.parse().map_err(|_| {
                let msg = format!("expected a number in {what}, found `{}`", t.text);
                Error::new(ErrorKind::Nnet, msg).at(self.number, t.col)
            })?;
            if !v.is_finite() {
                let msg = format!("{what} must be finite, found `{}`", t.text);
                return Err(Error::new(ErrorKind::Nnet, msg).at(self.number, t.col));
            }
            values.push(v);
        }
        Ok(values)
    }

    /// Exactly `expected` non-negative integers.
    fn integers(&self, expected: usize, what: &str) -> Result<Vec<usize>> {
        let tokens = self.checked_tokens(expected, what)?;
        let mut values = Vec::with_capacity(tokens.len());
        for t in tokens {
            let v = t.text.parse().map_err(|_| {
                let msg = format!("expected a non-negative integer in {what}, found `{}`", t.text);
                Error::new(ErrorKind::Nnet, msg).at(self.number, t.col)
            })?;
            values.push(v);
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::onnx;
    use crate::rng::Rng;
    use std::path::PathBuf;

    fn model_path(file: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(file)
    }

    /// The published ACAS Xu normalisation (as in the `sisl/NNet` converter
    /// scripts and the Reluplex `.nnet` files): inputs rho, theta, psi,
    /// v_own, v_int; one mean and range shared by the five advisory scores.
    /// The files round pi to 3.141593 and 2 pi to 6.28318530718; those exact
    /// published values are kept here.
    #[allow(clippy::approx_constant)]
    fn acasxu_normalisation() -> Normalisation {
        Normalisation {
            mins: vec![0.0, -3.141593, -3.141593, 100.0, 0.0],
            maxs: vec![60760.0, 3.141593, 3.141593, 1200.0, 1200.0],
            means: vec![19791.091, 0.0, 0.0, 650.0, 600.0],
            ranges: vec![60261.0, 6.28318530718, 6.28318530718, 1100.0, 1200.0],
            output_mean: 7.5188840201005975,
            output_range: 373.94992,
        }
    }

    /// Regenerates `models/acasxu_1_1.nnet` from the VNN-COMP ONNX file.
    #[test]
    #[ignore = "writes models/acasxu_1_1.nnet; run on purpose"]
    fn regenerate_acasxu_nnet() {
        let net = onnx::load(&model_path("ACASXU_run2a_1_1_batch_2000.onnx")).unwrap();
        let body = to_string(&net, Some(&acasxu_normalisation())).unwrap();
        let text = format!(
            "// ACAS Xu network 1_1 (run2a), exported from models/ACASXU_run2a_1_1_batch_2000.onnx with the\n\
             // published ACAS Xu normalisation by `regenerate_acasxu_nnet` in src/model/nnet.rs.\n{body}"
        );
        std::fs::write(model_path("acasxu_1_1.nnet"), text).unwrap();
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * w.abs().max(1.0), "element {i}: got {g}, want {w}");
        }
    }

    #[test]
    fn tiny_outputs_computed_by_hand() {
        let (net, norm) = load_with_normalisation(&model_path("tiny.nnet")).unwrap();
        assert_eq!(net.input_dim(), 2);
        assert_eq!(net.output_dim(), 1);
        assert_eq!(net.layers().len(), 2);
        assert_eq!(net.layers()[0].activation, Activation::Relu);
        assert_eq!(net.layers()[1].activation, Activation::Identity);
        assert_eq!(norm.mins, vec![-1.0, 0.0]);
        assert_eq!(norm.maxs, vec![1.0, 10.0]);
        assert_eq!((norm.means.clone(), norm.output_mean), (vec![0.0, 5.0], 2.0));
        assert_eq!((norm.ranges.clone(), norm.output_range), (vec![2.0, 10.0], 4.0));
        // z = [x0 - x1, 0.5 x0 + 2 x1 - 1, -x0 + x1 + 0.5], y = relu(z)·[1, -2, 3] + 0.25.
        // (0.5, 0.25): z = [0.25, -0.25, 0.25] -> 0.25 + 0.75 + 0.25
        assert_eq!(net.forward(&[0.5, 0.25]), vec![1.25]);
        // (-1, 1): z = [-2, 0.5, 2.5] -> -1 + 7.5 + 0.25
        assert_eq!(net.forward(&[-1.0, 1.0]), vec![6.75]);
        // (0, 0): z = [0, -1, 0.5] -> 1.5 + 0.25
        assert_eq!(net.forward(&[0.0, 0.0]), vec![1.75]);
        // raw (0.5, 7.5) -> x = (0.25, 0.25): z = [0, -0.375, 0.5] -> y = 1.75 -> 1.75 * 4 + 2
        assert_eq!(norm.eval_raw(&net, &[0.5, 7.5]), vec![9.0]);
        // raw (3, 20) clamps to (1, 10) -> x = (0.5, 0.5): z = [0, 0.25, 0.5] -> y = 1.25 -> 7
        assert_eq!(norm.eval_raw(&net, &[3.0, 20.0]), vec![7.0]);
    }

    #[test]
    fn model_load_dispatches_on_extension() {
        let net = crate::model::load(&model_path("tiny.nnet")).unwrap();
        assert_eq!(net.forward(&[-1.0, 1.0]), vec![6.75]);
    }

    #[test]
    fn acasxu_nnet_matches_onnx() {
        let onnx_net = onnx::load(&model_path("ACASXU_run2a_1_1_batch_2000.onnx")).unwrap();
        let (net, norm) = load_with_normalisation(&model_path("acasxu_1_1.nnet")).unwrap();
        assert_eq!(norm, acasxu_normalisation());
        assert_eq!((net.input_dim(), net.output_dim(), net.layers().len()), (5, 5, 7));
        // The first weight row as printed (6 digits) in the public ACAS Xu 1_1
        // file (`nnet/TestNetwork.nnet` in sisl/NNet, Reluplex's ACASXU_run2a_1_1).
        assert_close(
            &net.layers()[0].affine.weights.to_dense_data()[..5],
            &[5.40062e-2, -2.61092, -1.80027e-1, 2.42194e-1, 1.41407e-1],
            1e-5,
        );
        let mut rng = Rng::new(11);
        let (lo, hi) = norm.normalise_box(&norm.mins, &norm.maxs);
        for _ in 0..20 {
            let x: Vec<f64> = (0..5).map(|i| rng.range(lo[i], hi[i])).collect();
            assert_close(&net.forward(&x), &onnx_net.forward(&x), 1e-6);
        }
    }

    /// The VNN-COMP ACAS Xu property 1 states its box and threshold on
    /// normalised values; the raw ones map onto them.
    #[test]
    fn acasxu_normalisation_matches_vnncomp_property_1() {
        let norm = acasxu_normalisation();
        let (lo, hi) = norm.normalise_box(
            &[55947.691, -std::f64::consts::PI, -std::f64::consts::PI, 1145.0, 0.0],
            &[60760.0, std::f64::consts::PI, std::f64::consts::PI, 1200.0, 60.0],
        );
        assert_close(&lo, &[0.6, -0.5, -0.5, 0.45, -0.5], 1e-6);
        assert_close(&hi, &[0.679857769, 0.5, 0.5, 0.5, -0.45], 1e-6);
        assert!((norm.normalise_output(1500.0) - 3.991125645861615).abs() < 1e-12);
        assert_eq!(norm.denormalise_output(&[norm.normalise_output(1500.0)]), vec![1500.0]);
    }

    #[test]
    fn raw_input_network_matches_normalise_then_net() {
        for file in ["tiny.nnet", "acasxu_1_1.nnet"] {
            let (net, norm) = load_with_normalisation(&model_path(file)).unwrap();
            let raw = norm.raw_input_network(&net).unwrap();
            let mut rng = Rng::new(5);
            for _ in 0..50 {
                let v: Vec<f64> = (0..net.input_dim()).map(|i| rng.range(norm.mins[i], norm.maxs[i])).collect();
                assert_close(&raw.forward(&v), &norm.eval_raw(&net, &v), 1e-9);
            }
            // The box corners, where clamping is about to kick in.
            assert_close(&raw.forward(&norm.mins), &norm.eval_raw(&net, &norm.mins), 1e-9);
            assert_close(&raw.forward(&norm.maxs), &norm.eval_raw(&net, &norm.maxs), 1e-9);
        }
    }

    #[test]
    fn raw_input_network_rejects_a_mismatched_normalisation() {
        let (net, mut norm) = load_with_normalisation(&model_path("tiny.nnet")).unwrap();
        norm.ranges[1] = 0.0;
        assert_eq!(norm.raw_input_network(&net).unwrap_err().kind(), ErrorKind::Network);
        let three = Normalisation::identity(3);
        assert_eq!(three.raw_input_network(&net).unwrap_err().kind(), ErrorKind::Network);
    }

    #[test]
    fn save_load_round_trip_is_exact() {
        for file in ["tiny.nnet", "acasxu_1_1.nnet"] {
            let (net, norm) = load_with_normalisation(&model_path(file)).unwrap();
            let text = to_string(&net, Some(&norm)).unwrap();
            assert_eq!(parse(&text).unwrap(), (net.clone(), norm));
            let (back, identity) = parse(&to_string(&net, None).unwrap()).unwrap();
            assert_eq!((back, identity), (net.clone(), Normalisation::identity(net.input_dim())));
        }
        // Extreme magnitudes survive the `{:e}` form.
        let net = Network::new(vec![Layer {
            affine: Affine { weights: Matrix::new(1, 3, vec![1e-300, -2.5e200, 0.1 + 0.2]).unwrap(), bias: vec![-0.0] },
            activation: Activation::Identity,
        }])
        .unwrap();
        let path = std::env::temp_dir().join(format!("reluverify-nnet-{}.nnet", std::process::id()));
        save(&net, None, &path).unwrap();
        let back = load(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.unwrap(), net);
    }

    #[test]
    fn save_refuses_other_activations() {
        let (net, _) = load_with_normalisation(&model_path("tiny.nnet")).unwrap();
        let mut leaky = net.layers().to_vec();
        leaky[0].activation = Activation::Leaky { slopes: vec![0.1; 3] };
        let mut relu_out = net.layers().to_vec();
        relu_out[1].activation = Activation::Relu;
        for layers in [leaky, relu_out] {
            let err = to_string(&Network::new(layers).unwrap(), None).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
        }
        let bad = Normalisation { output_range: f64::NAN, ..Normalisation::identity(2) };
        assert_eq!(to_string(&net, Some(&bad)).unwrap_err().kind(), ErrorKind::Network);
    }

    #[test]
    fn accepts_format_variations() {
        // No trailing commas, CRLF, spaces, several comments and blank lines
        // before the data, blank lines at the end.
        let text = "// one\r\n\r\n// two\r\n2, 2, 1, 3\r\n2,3,1\r\n0\r\n-1, 0\r\n1,10\r\n0,5,2\r\n2,10,4\r\n\
                    1,-1\r\n0.5,2\r\n-1,1\r\n0\r\n-1\r\n0.5\r\n 1 , -2 , 3 \r\n0.25\r\n\r\n\r\n";
        let (net, norm) = parse(text).unwrap();
        assert_eq!((net, norm), load_with_normalisation(&model_path("tiny.nnet")).unwrap());
    }

    /// The data lines of `models/tiny.nnet` without its comments: line `n`
    /// of this text is data line `n`.
    const TINY: &str = "2,2,1,3,\n2,3,1,\n0,\n-1,0,\n1,10,\n0,5,2,\n2,10,4,\n1,-1,\n0.5,2,\n-1,1,\n0,\n-1,\n0.5,\n\
                        1,-2,3,\n0.25,\n";

    /// `TINY` with 1-based line `line` replaced by `with`.
    fn tiny_with(line: usize, with: &str) -> String {
        TINY.lines().enumerate().map(|(i, l)| if i + 1 == line { with } else { l }).collect::<Vec<_>>().join("\n")
    }

    /// Each case: `(name, text, (line, column))` of the expected Nnet error.
    macro_rules! nnet_errors {
        ($($name:ident: $text:expr => $at:expr;)*) => {$(
            #[test]
            fn $name() {
                let err = parse(&$text).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Nnet, "{err}");
                assert_eq!(err.line_col(), Some($at), "{err}");
            }
        )*};
    }

    nnet_errors! {
        error_empty_file: "// only a comment\n" => (2, 1);
        error_header_count: tiny_with(1, "2,2,1,") => (1, 7);
        error_header_not_integer: tiny_with(1, "2,2.5,1,3,") => (1, 3);
        error_header_negative: tiny_with(1, "2,-2,1,3,") => (1, 3);
        error_zero_layers: tiny_with(1, "0,2,1,3,") => (1, 1);
        error_sizes_count: tiny_with(2, "2,3,") => (2, 5);
        error_input_size_mismatch: tiny_with(1, "2,3,1,3,") => (2, 1);
        error_output_size_mismatch: tiny_with(2, "2,3,2,") => (2, 5);
        error_max_layer_size_too_small: tiny_with(1, "2,2,1,2,") => (1, 7);
        error_zero_layer_size: tiny_with(2, "2,0,1,") => (2, 3);
        error_flag_not_integer: tiny_with(3, "x,") => (3, 1);
        error_mins_count: tiny_with(4, "-1,0,5,") => (4, 6);
        error_min_above_max: tiny_with(4, "-1,11,") => (5, 3);
        error_means_count: tiny_with(6, "0,5,") => (6, 5);
        error_zero_range: tiny_with(7, "2,0,4,") => (7, 3);
        error_not_a_number: tiny_with(9, "0.5,abc,") => (9, 5);
        error_empty_value: tiny_with(9, "0.5,,") => (9, 5);
        error_nan: tiny_with(8, "NaN,-1,") => (8, 1);
        error_infinite: tiny_with(14, "1,-2,inf,") => (14, 6);
        error_row_too_long: tiny_with(10, "-1,1,2,") => (10, 6);
        error_row_too_short: tiny_with(14, "1,-2,") => (14, 6);
        error_bias_two_values: tiny_with(12, "-1,2,") => (12, 4);
        error_blank_line_inside: tiny_with(11, "") => (11, 1);
        error_truncated: TINY.lines().take(13).collect::<Vec<_>>().join("\n") => (14, 1);
        error_extra_line: format!("{TINY}1,\n") => (16, 1);
        error_huge_layer_within_limits: "2,1,1,4000,\n1,4000,1,\n0,\n" => (4, 1);
        error_huge_layer_count: "18446744073709551615,1,1,1,\n1,1,\n" => (2, 5);
    }

    /// Declared layer sizes beyond the limits are refused at the size,
    /// before the file is checked for enough lines.
    #[test]
    fn declared_sizes_beyond_limits() {
        let limit_at = |text: &str, limits: &LoadLimits| {
            let err = parse_with(text, limits).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
            err.line_col().unwrap()
        };
        let default = LoadLimits::default();
        assert_eq!(limit_at("2,1,1,1000000000,\n1,1000000000,1,\n0,\n", &default), (2, 3));
        assert_eq!(limit_at("2,1,1,18446744073709551615,\n1,18446744073709551615,1,\n0,\n", &default), (2, 3));
        // 20,000 x 20,000 weights: each size is fine, the product is not.
        assert_eq!(limit_at("2,20000,1,20000,\n20000,20000,1,\n0,\n", &default), (2, 7));
        // The limits are the configured ones: tiny.nnet (2 -> 3 -> 1) loads
        // with a width limit of 3 and 9 + 4 weights and biases, and not below.
        let tight = LoadLimits { max_elements: 3, max_weights: 13, ..default.clone() };
        assert!(parse_with(TINY, &tight).is_ok());
        assert_eq!(limit_at(TINY, &LoadLimits { max_elements: 2, ..tight.clone() }), (2, 3));
        assert_eq!(limit_at(TINY, &LoadLimits { max_weights: 12, ..tight }), (2, 5));
    }

    /// Columns are counted in one pass over a line: a header of 300,000
    /// values used to cost time quadratic in its length (tens of seconds).
    #[test]
    fn long_lines_cost_linear_time() {
        let line = "1,".repeat(300_000);
        let err = parse(&line).unwrap_err();
        assert_eq!((err.kind(), err.line_col()), (ErrorKind::Nnet, Some((1, 9))));
        let err = parse(&format!("1,1,1,{}x,", " ".repeat(300_000))).unwrap_err();
        assert_eq!((err.kind(), err.line_col()), (ErrorKind::Nnet, Some((1, 300_007))));
    }

    #[test]
    fn error_not_utf8_names_the_position() {
        let path = std::env::temp_dir().join(format!("reluverify-nnet-bin-{}.nnet", std::process::id()));
        std::fs::write(&path, b"// ok\n2,\xff,1,3,\n").unwrap();
        let err = load(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(err.kind(), ErrorKind::Nnet);
        assert_eq!(err.line_col(), Some((2, 3)));
    }

    #[test]
    fn errors_carry_the_path() {
        let path = std::env::temp_dir().join(format!("reluverify-nnet-bad-{}.nnet", std::process::id()));
        std::fs::write(&path, tiny_with(9, "0.5,abc,")).unwrap();
        let err = load(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(err.to_string().starts_with(&format!("{}:9:5: ", path.display())), "{err}");
    }
}
