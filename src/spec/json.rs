//! The JSON property format, written by hand by engineers.
//!
//! ```json
//! {
//!   "description": "ACAS Xu property 2: the clear-of-conflict score is never maximal",
//!   "inputs": [
//!     {"name": "rho", "lower": 0.6, "upper": 0.679857769},
//!     {"name": "theta", "lower": -0.5, "upper": 0.5},
//!     {"name": "psi", "lower": -0.5, "upper": 0.5},
//!     {"name": "v_own", "lower": 0.45, "upper": 0.5},
//!     {"name": "v_int", "lower": -0.5, "upper": -0.45}
//!   ],
//!   "outputs": ["COC", "WL", "WR", "SL", "SR"],
//!   "unsafe": {"all": ["WL <= COC", "WR <= COC", "SL <= COC", "SR <= COC"]}
//! }
//! ```
//!
//! # Fields
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `description` | no | free text for people; ignored by the tool |
//! | `inputs` | one of these two | the input box: a list of `{"lower": .., "upper": ..}` |
//! | `input_boxes` | | a list of such lists: the inputs range over the union of the boxes |
//! | `input_constraints` | no | linear constraints relating inputs, all of which must hold (below) |
//! | `linf_ball` | | instead of `inputs`: `{"center": [..], "eps": e}`, every input within `e` of the center, clipped to optional `lower` / `upper` (one number, or one per input) |
//! | `outputs` | no | names for **all** outputs, in order; `yK` works either way |
//! | `unsafe` | one of these two | the unsafe output set (below) |
//! | `argmax` | | instead of `unsafe`: output `K` must stay the largest; unsafe is `y_j >= y_K` for some `j != K` (over the network's outputs) |
//!
//! A robustness property is one line:
//! `{"linf_ball": {"center": [0.1, 0.7], "eps": 0.05, "lower": 0, "upper": 1}, "argmax": 3}`.
//!
//! An input entry has `lower` and `upper` (finite, `lower <= upper`) and may
//! have `name` (used in error messages), `description` (free text, e.g. the
//! unscaled range) and `index`. Without `index` the entries are inputs
//! `0, 1, ...` in order; with it, every entry must carry one and together
//! they must be `0 .. n-1`. All boxes of `input_boxes` bound the same
//! number of inputs.
//!
//! Output names must be identifiers (`[A-Za-z_][A-Za-z0-9_]*`) and may not
//! have the form `yK`, which always means output `K`. When `outputs` is
//! given it lists every output, so `yK` must have `K` below its length, and
//! the network must have exactly that many outputs (as it must have one
//! input per `inputs` entry; see [`Property::check_dims`]); without it only
//! the outputs used are checked against the network.
//!
//! Unknown fields are errors, so a misspelt field cannot be silently ignored.
//!
//! # Input constraints
//!
//! `input_constraints` is a list of constraints over the inputs, written like
//! the output constraints below but naming inputs: `xK` (input `K`) or an
//! input's `name`, e.g. `["x0 <= x1", "theta + psi <= 0.5"]` or the
//! structured `{"coeffs": {"x0": 1, "x1": -1}, "rhs": 0}`. The inputs range
//! over the points of the box (of every box of `input_boxes`) that satisfy
//! all of them. Every input still needs its `lower` and `upper` bound: a
//! constraint does not replace a bound. A constraint naming an output, or an
//! input named `xK` that is not input `K`, is an error.
//!
//! # The unsafe set
//!
//! `unsafe` is one of
//! - a constraint: `"unsafe": "y0 <= -0.001"`;
//! - a conjunction: `{"all": [c, c, ...]}`;
//! - a disjunction: `{"any": [d, d, ...]}` where each `d` is a constraint or
//!   an `{"all": [...]}` (disjunctive normal form; `any` does not nest).
//!
//! A constraint is a string, or the structured row `{"coeffs": {"0": 1.0,
//! "y2": -1.0}, "rhs": 0.5}` meaning `sum coeffs[k] * y_k <= rhs` (keys are
//! indices, `yK` or output names). Constraint strings follow
//!
//! ```text
//! constraint := sum op sum            op := "<=" | ">=" | "<" | ">"
//! sum        := ["+" | "-"] product (("+" | "-") product)*
//! product    := factor ("*" factor)*  -- at most one factor is an output
//! factor     := number | output       output := yK | a name from "outputs"
//! ```
//!
//! for example `COC >= 3.991125645861615`, `y0 <= y1`, `2*y3 - y4 + 1 >=
//! 0.5*y0`, `-y1 <= 1e-3`. Numbers use the JSON/Rust form (`3`, `0.5`, `.5`,
//! `1e-3`). Both sides may hold outputs and numbers; repeated outputs are
//! merged. Strict comparisons `<` and `>` are read as `<=` and `>=`: the
//! unsafe set becomes its closure, which is what a MILP can encode (a proof
//! covers the strict set too; a counterexample may lie on its boundary).
//! There is no `=`: write two constraints.
//!
//! # Semantics
//!
//! The property is violated iff some input in some box that satisfies the
//! input constraints has an output that satisfies all constraints of some
//! disjunct. Each box becomes one [`Region`] sharing the same input
//! constraints and unsafe [`Dnf`].
//!
//! # Errors
//!
//! All errors are [`ErrorKind::Spec`]. Malformed JSON, unknown fields and
//! missing or mistyped fields carry the line and column that serde_json
//! reports; semantic errors name the field (`inputs[2]`,
//! `unsafe.any[1].all[0]`) and say what was expected.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::linear::{LinearExpr, Relation};
use super::{robustness, Conjunction, Dnf, InputBox, LinearConstraint, Property, Region};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{limit_error, LoadLimits};

/// Parse a JSON property. See the module documentation for the format.
///
/// ```
/// use reluverify::spec::{json, LinearConstraint};
///
/// let prop = json::parse(r#"{
///     "inputs": [{"name": "x", "lower": -1, "upper": 1}],
///     "outputs": ["score"],
///     "unsafe": "score >= 3.5"
/// }"#)?;
/// let row = &prop.regions[0].unsafe_set.disjuncts[0].constraints[0];
/// assert_eq!(row, &LinearConstraint { coeffs: vec![(0, -1.0)], rhs: -3.5 });
/// # Ok::<(), reluverify::Error>(())
/// ```
pub fn parse(text: &str) -> Result<Property> {
    parse_with(text, &LoadLimits::default())
}

/// [`parse`] within `limits`: at most `max_dnf_terms` (box, unsafe
/// disjunct) pairs beyond the boxes and disjuncts the file lists (a long
/// list alone is bounded by the file size), and at most `max_elements`
/// constraints once the unsafe set is copied into every box. Nesting is bounded by `serde_json` (128 levels).
pub fn parse_with(text: &str, limits: &LoadLimits) -> Result<Property> {
    let file: PropertyFile = serde_json::from_str(text).map_err(json_error)?;
    if let Some(ball) = &file.linf_ball {
        return parse_ball(&file, ball, limits);
    }
    let boxes: Vec<(String, &[InputEntry])> = match (&file.inputs, &file.input_boxes) {
        (Some(inputs), None) => vec![("inputs".to_string(), inputs.as_slice())],
        (None, Some(boxes)) if !boxes.is_empty() => {
            boxes.iter().enumerate().map(|(b, entries)| (format!("input_boxes[{b}]"), entries.as_slice())).collect()
        }
        (None, Some(_)) => return Err(spec_error("input_boxes: the list of boxes is empty")),
        (None, None) => return Err(spec_error(
            "missing field `inputs` (or `input_boxes` for a union of boxes, or `linf_ball` for a ball around a point)",
        )),
        (Some(_), Some(_)) => return Err(spec_error("give either `inputs` or `input_boxes`, not both")),
    };
    let mut input_names = HashSet::new();
    // Each input name with its index and the box that names it, for input constraints.
    let mut input_index: HashMap<String, (usize, String)> = HashMap::new();
    let mut input_boxes = Vec::with_capacity(boxes.len());
    for (path, entries) in &boxes {
        let (input_box, names) = input_box(path, entries)?;
        if file.input_constraints.is_some() {
            for (name, i) in &names {
                if let Some(k) = var_index(name, 'x').filter(|k| k != i) {
                    return Err(spec_error(format!(
                        "{path}: the input `{name}` is input {i}, but in `input_constraints` `x{k}` means input {k}; \
                         rename it"
                    )));
                }
                match input_index.get(name) {
                    Some((j, other)) if j != i => {
                        return Err(spec_error(format!(
                            "{path}: the name `{name}` is input {i} here but input {j} in {other}, so \
                             `input_constraints` cannot use it"
                        )));
                    }
                    Some(_) => {}
                    None => {
                        input_index.insert(name.clone(), (*i, path.clone()));
                    }
                }
            }
        }
        let names: Vec<String> = names.into_iter().map(|(n, _)| n).collect();
        if let Some(first) = input_boxes.first().map(InputBox::dim).filter(|&d| d != input_box.dim()) {
            return Err(spec_error(format!(
                "{path} bounds {} inputs but {} bounds {first}: every box must bound all inputs",
                input_box.dim(),
                boxes[0].0,
            )));
        }
        input_names.extend(names);
        input_boxes.push(input_box);
    }
    let input_constraints = match &file.input_constraints {
        Some(items) => {
            let output_names = file.outputs.iter().flatten().cloned().collect();
            let index = input_index.into_iter().map(|(name, (i, _))| (name, i)).collect();
            let inputs = Names {
                side: Side::Inputs,
                count: Some(input_boxes[0].dim()),
                listed: None,
                index,
                others: output_names,
            };
            items
                .iter()
                .enumerate()
                .map(|(i, c)| inputs.constraint(c, &format!("input_constraints[{i}]")))
                .collect::<Result<Vec<_>>>()?
        }
        None => Vec::new(),
    };
    let outputs = Names::outputs(file.outputs.as_deref(), input_names)?;
    let (unsafe_set, argmax) = unsafe_set(&file, &outputs)?;
    let (boxes_n, disjuncts_n) = (input_boxes.len(), unsafe_set.disjuncts.len());
    let pairs = boxes_n.saturating_mul(disjuncts_n);
    let max = limits.max_dnf_terms;
    if pairs > max.saturating_add(boxes_n + disjuncts_n) {
        return Err(limit_error(
            format!(
                "{boxes_n} input_boxes times {disjuncts_n} unsafe disjuncts make {pairs} pairs to verify, more than \
                 {max} beyond the {} listed",
                boxes_n + disjuncts_n
            ),
            "max-dnf-terms",
        ));
    }
    let rows: usize = unsafe_set.disjuncts.iter().map(|d| d.constraints.len()).sum::<usize>() + input_constraints.len();
    let copies = rows.saturating_mul(input_boxes.len());
    limits.check_elements(
        copies,
        format_args!(
            "the unsafe set and input constraints ({rows} constraints) copied into each of the {} boxes makes \
             {copies} constraints",
            input_boxes.len()
        ),
    )?;
    let declared_inputs = input_boxes.first().map(InputBox::dim);
    let regions = input_boxes
        .into_iter()
        .map(|input| Region { input, input_constraints: input_constraints.clone(), unsafe_set: unsafe_set.clone() })
        .collect();
    // Names by index from the first box (every box bounds the same inputs).
    let mut input_names = vec![String::new(); declared_inputs.unwrap_or(0)];
    for (position, entry) in boxes[0].1.iter().enumerate() {
        if let (Some(name), Some(slot)) = (&entry.name, input_names.get_mut(entry.index.unwrap_or(position))) {
            slot.clone_from(name);
        }
    }
    if input_names.iter().all(String::is_empty) {
        input_names.clear();
    }
    Ok(Property {
        regions,
        declared_inputs,
        declared_outputs: file.outputs.as_ref().map(Vec::len),
        input_names,
        output_names: file.outputs.clone().unwrap_or_default(),
        argmax,
    })
}

/// The unsafe set of `unsafe`, or of `argmax`: written out when `outputs`
/// gives their number, else left pending (the second value, see
/// [`Property::argmax`]).
fn unsafe_set(file: &PropertyFile, outputs: &Names) -> Result<(Dnf, Option<usize>)> {
    match (&file.unsafe_set, file.argmax) {
        (Value::Null, None) => {
            Err(spec_error("missing field `unsafe`: the unsafe output set (or `argmax` for a robustness property)"))
        }
        (Value::Null, Some(k)) => match &file.outputs {
            Some(names) => Ok((
                robustness::argmax_changes(k, names.len())
                    .map_err(|e| spec_error(format!("argmax: {}", e.message())))?,
                None,
            )),
            None => Ok((Dnf { disjuncts: vec![] }, Some(k))),
        },
        (v, None) => Ok((outputs.dnf(v)?, None)),
        (_, Some(_)) => Err(spec_error("give either `unsafe` or `argmax`, not both")),
    }
}

/// A property whose inputs are `linf_ball`: one region, the ball around
/// the center clipped to `lower`/`upper` ([`robustness::ball`]).
fn parse_ball(file: &PropertyFile, ball: &LinfBall, limits: &LoadLimits) -> Result<Property> {
    if file.inputs.is_some() || file.input_boxes.is_some() || file.input_constraints.is_some() {
        return Err(spec_error(
            "`linf_ball` gives the inputs: leave out `inputs`, `input_boxes` and `input_constraints`",
        ));
    }
    limits.check_elements(ball.center.len(), format_args!("linf_ball.center of {} values", ball.center.len()))?;
    let bound = |b: &Option<Bound>| match b {
        None => None,
        Some(Bound::One(v)) => Some(vec![*v]),
        Some(Bound::Each(v)) => Some(v.clone()),
    };
    let (lower, upper) = (bound(&ball.lower), bound(&ball.upper));
    let input = robustness::ball(&ball.center, ball.eps, lower.as_deref(), upper.as_deref())
        .map_err(|e| spec_error(format!("linf_ball: {}", e.message())))?;
    let outputs = Names::outputs(file.outputs.as_deref(), HashSet::new())?;
    let (unsafe_set, argmax) = unsafe_set(file, &outputs)?;
    Ok(Property {
        regions: vec![Region::boxed(input, unsafe_set)],
        declared_inputs: Some(ball.center.len()),
        declared_outputs: file.outputs.as_ref().map(Vec::len),
        input_names: vec![],
        output_names: file.outputs.clone().unwrap_or_default(),
        argmax,
    })
}

/// The file as serde reads it. `unsafe` stays a [`Value`] so that its
/// several shapes get precise error messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertyFile {
    /// Free text for people.
    #[serde(rename = "description")]
    _description: Option<String>,
    inputs: Option<Vec<InputEntry>>,
    input_boxes: Option<Vec<Vec<InputEntry>>>,
    input_constraints: Option<Vec<Value>>,
    outputs: Option<Vec<String>>,
    #[serde(default, rename = "unsafe")]
    unsafe_set: Value,
    linf_ball: Option<LinfBall>,
    argmax: Option<usize>,
}

/// `linf_ball`: every input within `eps` of `center`, clipped to `lower`
/// and `upper` (one number for all inputs, or one per input).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinfBall {
    center: Vec<f64>,
    eps: f64,
    lower: Option<Bound>,
    upper: Option<Bound>,
}

/// A clipping bound: one value for every input, or one per input.
#[derive(Deserialize)]
#[serde(untagged)]
enum Bound {
    One(f64),
    Each(Vec<f64>),
}

/// One input's bounds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputEntry {
    name: Option<String>,
    index: Option<usize>,
    lower: f64,
    upper: f64,
    /// Free text for people (units, unscaled range).
    #[serde(rename = "description")]
    _description: Option<String>,
}

/// A serde_json error with its position moved from the message into
/// [`Error::at`], so it is printed once.
fn json_error(e: serde_json::Error) -> Error {
    let message = e.to_string();
    let location = format!(" at line {} column {}", e.line(), e.column());
    let message = message.strip_suffix(&location).unwrap_or(&message);
    let err = Error::new(ErrorKind::Spec, format!("invalid JSON property: {message}"));
    if e.line() > 0 {
        err.at(e.line(), e.column())
    } else {
        err
    }
}

fn spec_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Spec, message)
}

/// The box of one list of input entries, and the input names it gives with
/// their indices.
fn input_box(path: &str, entries: &[InputEntry]) -> Result<(InputBox, Vec<(String, usize)>)> {
    let n = entries.len();
    if n == 0 {
        return Err(spec_error(format!("{path}: no inputs listed")));
    }
    let indexed = entries.iter().filter(|e| e.index.is_some()).count();
    if indexed != 0 && indexed != n {
        return Err(spec_error(format!("{path}: give `index` on every input or on none")));
    }
    let mut lower = vec![f64::NAN; n];
    let mut upper = vec![f64::NAN; n];
    let mut seen = vec![false; n];
    let mut names = Vec::new();
    for (pos, e) in entries.iter().enumerate() {
        let i = e.index.unwrap_or(pos);
        let label = match &e.name {
            Some(name) => format!("{path}[{pos}] (input `{name}`)"),
            None => format!("{path}[{pos}]"),
        };
        if i >= n {
            return Err(spec_error(format!(
                "{label}: index {i} is out of range: indices must be below {n}, the number of inputs listed"
            )));
        }
        if seen[i] {
            return Err(spec_error(format!("{label}: index {i} is given twice")));
        }
        seen[i] = true;
        if e.lower > e.upper {
            return Err(spec_error(format!(
                "{label}: lower bound {} is above upper bound {} (input index {i})",
                e.lower, e.upper
            )));
        }
        lower[i] = e.lower;
        upper[i] = e.upper;
        if let Some(name) = &e.name {
            if names.iter().any(|(n, _)| n == name) {
                return Err(spec_error(format!("{label}: the name `{name}` is used by two inputs")));
            }
            names.push((name.clone(), i));
        }
    }
    let input_box = InputBox::new(lower, upper).map_err(|e| spec_error(format!("{path}: {}", e.message())))?;
    Ok((input_box, names))
}

/// Which variables a constraint names: outputs (`unsafe`) or inputs
/// (`input_constraints`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Outputs,
    Inputs,
}

impl Side {
    /// `output` or `input`.
    fn noun(self) -> &'static str {
        match self {
            Side::Outputs => "output",
            Side::Inputs => "input",
        }
    }

    /// The letter of `yK` or `xK`.
    fn prefix(self) -> char {
        match self {
            Side::Outputs => 'y',
            Side::Inputs => 'x',
        }
    }
}

/// How the variable names of one side resolve to indices.
struct Names {
    side: Side,
    /// How many variables the side has, when known (`yK`/`xK` must be below it).
    count: Option<usize>,
    /// The `outputs` list, when given (for messages).
    listed: Option<Vec<String>>,
    index: HashMap<String, usize>,
    /// The other side's names, for a precise message when one is used here.
    others: HashSet<String>,
}

impl Names {
    /// The outputs: named by `names` when given, else by `yK` only.
    fn outputs(names: Option<&[String]>, input_names: HashSet<String>) -> Result<Names> {
        let mut index = HashMap::new();
        if let Some(names) = names {
            for (k, name) in names.iter().enumerate() {
                if !is_identifier(name) {
                    return Err(spec_error(format!(
                        "outputs[{k}]: `{name}` is not a valid name: use letters, digits and `_`, not starting with a digit"
                    )));
                }
                if var_index(name, 'y').is_some() {
                    return Err(spec_error(format!(
                        "outputs[{k}]: `{name}` is reserved: `yK` always means output K; choose another name"
                    )));
                }
                if index.insert(name.clone(), k).is_some() {
                    return Err(spec_error(format!("outputs[{k}]: the name `{name}` is used twice")));
                }
            }
        }
        Ok(Names {
            side: Side::Outputs,
            count: names.map(<[String]>::len),
            listed: names.map(<[String]>::to_vec),
            index,
            others: input_names,
        })
    }

    /// The index for a name (`yK`/`xK` or a given name), or why not.
    fn resolve(&self, name: &str) -> std::result::Result<usize, String> {
        let (side, p) = (self.side, self.side.prefix());
        if let Some(k) = var_index(name, p) {
            return match self.count {
                Some(n) if k >= n => Err(match side {
                    Side::Outputs => format!("`{name}` is out of range: `outputs` lists {n} outputs (y0..y{})", n - 1),
                    Side::Inputs => format!("`{name}` is out of range: the property has {n} inputs (x0..x{})", n - 1),
                }),
                _ => Ok(k),
            };
        }
        if let Some(&k) = self.index.get(name) {
            return Ok(k);
        }
        match side {
            Side::Outputs if self.others.contains(name) => {
                return Err(format!("`{name}` is an input: unsafe constraints are over outputs only"));
            }
            Side::Inputs if self.others.contains(name) || var_index(name, 'y').is_some() => {
                return Err(format!("`{name}` is an output: input constraints are over inputs only"));
            }
            _ => {}
        }
        Err(match (side, &self.listed) {
            (Side::Outputs, Some(names)) => {
                format!("unknown output `{name}`: expected yK or one of {}", names.join(", "))
            }
            (Side::Outputs, None) => {
                format!("unknown output `{name}`: expected yK (output K), or list output names in `outputs`")
            }
            (Side::Inputs, _) => format!("unknown input `{name}`: expected xK (input K) or the `name` of an input"),
        })
    }

    /// The whole `unsafe` value.
    fn dnf(&self, v: &Value) -> Result<Dnf> {
        const PATH: &str = "unsafe";
        let disjuncts = match v {
            Value::Object(m) if m.contains_key("any") => {
                let items = single_list(m, "any", PATH)?;
                if items.is_empty() {
                    return Err(spec_error(
                        "unsafe.any: the list is empty, so nothing would be unsafe; list at least one disjunct",
                    ));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, d)| self.conjunction(d, &format!("{PATH}.any[{i}]")))
                    .collect::<Result<Vec<_>>>()?
            }
            _ => vec![self.conjunction(v, PATH)?],
        };
        Ok(Dnf { disjuncts })
    }

    /// A disjunct: a constraint or `{"all": [...]}`.
    fn conjunction(&self, v: &Value, path: &str) -> Result<Conjunction> {
        let constraints = match v {
            Value::Object(m) if m.contains_key("all") => {
                let items = single_list(m, "all", path)?;
                if items.is_empty() {
                    return Err(spec_error(format!(
                        "{path}.all: the list is empty, which would make every output unsafe; list at least one constraint"
                    )));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, c)| self.constraint(c, &format!("{path}.all[{i}]")))
                    .collect::<Result<Vec<_>>>()?
            }
            Value::Object(m) if m.contains_key("any") => {
                return Err(spec_error(format!(
                    "{path}: `any` may only appear at the top of `unsafe`: write the unsafe set as \
                     {{\"any\": [{{\"all\": [...]}}, ...]}} (disjunctive normal form)"
                )));
            }
            Value::Array(_) => {
                return Err(spec_error(format!(
                    "{path}: a bare list is ambiguous: write {{\"all\": [...]}} (every constraint) or \
                     {{\"any\": [...]}} (some constraint)"
                )));
            }
            _ => vec![self.constraint(v, path)?],
        };
        Ok(Conjunction { constraints })
    }

    /// A constraint: a string or `{"coeffs": {...}, "rhs": ...}`.
    fn constraint(&self, v: &Value, path: &str) -> Result<LinearConstraint> {
        match v {
            Value::String(s) => self.parse_constraint(s).map_err(|why| spec_error(format!("{path}: constraint `{s}`: {why}"))),
            Value::Object(m) if m.contains_key("coeffs") => self.structured(m, path),
            _ => Err(spec_error(format!(
                "{path}: expected a constraint such as \"y0 <= 1.5\", {{\"all\": [...]}} or {{\"coeffs\": {{...}}, \"rhs\": ...}}, \
                 found {}",
                describe(v)
            ))),
        }
    }

    /// `{"coeffs": {"0": 1.0, "COC": -1.0}, "rhs": 0.5}`.
    fn structured(&self, m: &Map<String, Value>, path: &str) -> Result<LinearConstraint> {
        if let Some(key) = m.keys().find(|k| *k != "coeffs" && *k != "rhs") {
            return Err(spec_error(format!(
                "{path}: unknown field `{key}`: a structured constraint has `coeffs` and `rhs`"
            )));
        }
        let Some(Value::Object(coeffs)) = m.get("coeffs") else {
            return Err(spec_error(format!("{path}.coeffs: expected an object such as {{\"0\": 1.0, \"y2\": -1.0}}")));
        };
        let Some(rhs) = m.get("rhs").and_then(Value::as_f64) else {
            return Err(spec_error(format!("{path}.rhs: expected a number")));
        };
        let mut expr = LinearExpr::constant(-rhs);
        for (key, c) in coeffs {
            let k = match key.parse::<usize>() {
                Ok(k) if key.bytes().all(|b| b.is_ascii_digit()) => self.resolve(&format!("{}{k}", self.side.prefix())),
                _ => self.resolve(key),
            }
            .map_err(|why| spec_error(format!("{path}.coeffs: {why}")))?;
            let Some(c) = c.as_f64() else {
                return Err(spec_error(format!("{path}.coeffs.{key}: expected a number, found {}", describe(c))));
            };
            expr.add_scaled(&LinearExpr::var(k), c);
        }
        expr.normalize();
        if expr.is_constant() {
            let noun = self.side.noun();
            return Err(spec_error(format!("{path}: every coefficient is zero: the constraint names no {noun}")));
        }
        Ok(expr.into_row())
    }

    /// A constraint string, or a message saying what was expected where.
    fn parse_constraint(&self, s: &str) -> std::result::Result<LinearConstraint, String> {
        let tokens = tokenize(s)?;
        let mut p = ConstraintParser { s, tokens: &tokens, pos: 0, names: self };
        let lhs = p.sum()?;
        let (rel, _) = match p.next() {
            Some((Token::Cmp(rel), at)) => (*rel, at),
            Some((t, at)) => {
                return Err(format!(
                    "expected `<=` or `>=` (or `+`, `-`, `*`) at character {}, found {}",
                    char_pos(s, at),
                    t.show()
                ));
            }
            None => return Err("expected `<=` or `>=` followed by the other side".to_string()),
        };
        let rhs = p.sum()?;
        match p.next() {
            None => {}
            Some((Token::Cmp(_), at)) => {
                return Err(format!(
                    "second comparison at character {}: a constraint has one `<=` or `>=`; \
                     write `a <= y0 <= b` as two constraints",
                    char_pos(s, at)
                ));
            }
            Some((t, at)) => {
                return Err(format!(
                    "expected `+`, `-`, `*` or the end at character {}, found {}",
                    char_pos(s, at),
                    t.show()
                ));
            }
        }
        let d = LinearExpr::difference(&lhs, rel, &rhs);
        if d.is_constant() {
            return Err(format!("the constraint names no {} (after merging terms it is a constant)", self.side.noun()));
        }
        Ok(d.into_row())
    }
}

/// A lexical token of a constraint string.
#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Num(f64),
    Name(&'a str),
    Plus,
    Minus,
    Star,
    /// `<=`/`<` (read as `Le`) or `>=`/`>` (read as `Ge`).
    Cmp(Relation),
}

impl Token<'_> {
    fn show(&self) -> String {
        match self {
            Token::Num(v) => format!("the number `{v}`"),
            Token::Name(n) => format!("`{n}`"),
            Token::Plus => "`+`".to_string(),
            Token::Minus => "`-`".to_string(),
            Token::Star => "`*`".to_string(),
            Token::Cmp(Relation::Le) => "`<=`".to_string(),
            Token::Cmp(Relation::Ge) => "`>=`".to_string(),
        }
    }
}

/// Tokens with their byte offsets.
fn tokenize(s: &str) -> std::result::Result<Vec<(Token<'_>, usize)>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let token = match b[i] {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'+' => Token::Plus,
            b'-' => Token::Minus,
            b'*' => Token::Star,
            b'<' | b'>' => {
                let rel = if b[i] == b'<' { Relation::Le } else { Relation::Ge };
                if b.get(i + 1) == Some(&b'=') {
                    i += 1;
                }
                Token::Cmp(rel)
            }
            c if c.is_ascii_digit() || c == b'.' => {
                i = number_end(b, i);
                let text = &s[start..i];
                let value = match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => v,
                    Ok(_) => return Err(format!("the number `{text}` is out of range")),
                    Err(_) => return Err(format!("malformed number `{text}` at character {}", char_pos(s, start))),
                };
                out.push((Token::Num(value), start));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push((Token::Name(&s[start..i]), start));
                continue;
            }
            _ => {
                let c = s[i..].chars().next().expect("not at the end");
                let hint = match c {
                    '=' | '!' => ": comparisons are `<=` and `>=` (for equality write two constraints)",
                    '≤' | '≥' => ": write `<=` or `>=`",
                    _ => "",
                };
                return Err(format!("unexpected character `{c}` at character {}{hint}", char_pos(s, i)));
            }
        };
        i += 1;
        out.push((token, start));
    }
    Ok(out)
}

/// End of the number starting at `i`: digits, `.`, digits, and an exponent
/// only when digits follow it (so `2e` is the number `2` and the name `e`).
fn number_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    i
}

/// 1-based character position of byte offset `at` in `s`.
fn char_pos(s: &str, at: usize) -> usize {
    s[..at].chars().count() + 1
}

/// Recursive descent over the tokens of one constraint string.
struct ConstraintParser<'t, 'a> {
    s: &'a str,
    tokens: &'t [(Token<'a>, usize)],
    pos: usize,
    names: &'t Names,
}

impl<'t, 'a> ConstraintParser<'t, 'a> {
    fn peek(&self) -> Option<&'t Token<'a>> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self) -> Option<(&'t Token<'a>, usize)> {
        let t = self.tokens.get(self.pos).map(|(t, at)| (t, *at));
        self.pos += 1;
        t
    }

    /// `sum := ["+" | "-"] product (("+" | "-") product)*`
    fn sum(&mut self) -> std::result::Result<LinearExpr<usize>, String> {
        let mut sum = LinearExpr::constant(0.0);
        let mut sign = match self.peek() {
            Some(Token::Minus) => {
                self.pos += 1;
                -1.0
            }
            Some(Token::Plus) => {
                self.pos += 1;
                1.0
            }
            _ => 1.0,
        };
        loop {
            sum.add_scaled(&self.product()?, sign);
            sign = match self.peek() {
                Some(Token::Plus) => 1.0,
                Some(Token::Minus) => -1.0,
                _ => return Ok(sum),
            };
            self.pos += 1;
        }
    }

    /// `product := factor ("*" factor)*`, linear.
    fn product(&mut self) -> std::result::Result<LinearExpr<usize>, String> {
        let start = self.tokens.get(self.pos).map_or(self.s.len(), |(_, at)| *at);
        let mut factor = 1.0;
        let mut output: Option<usize> = None;
        let noun = self.names.side.noun();
        loop {
            match self.next() {
                Some((Token::Num(v), _)) => factor *= v,
                Some((Token::Name(name), _)) => {
                    let k = self.names.resolve(name)?;
                    if output.is_some() {
                        let end = self.tokens.get(self.pos).map_or(self.s.len(), |(_, at)| *at);
                        return Err(format!(
                            "non-linear term `{}`: a product may hold one {noun}, the other factors must be numbers",
                            self.s[start..end].trim()
                        ));
                    }
                    output = Some(k);
                }
                Some((t, at)) => {
                    return Err(format!(
                        "expected a number or an {noun} name at character {}, found {}",
                        char_pos(self.s, at),
                        t.show()
                    ));
                }
                None => return Err(format!("expected a number or an {noun} name at the end")),
            }
            if self.peek() != Some(&Token::Star) {
                break;
            }
            self.pos += 1;
        }
        Ok(match output {
            Some(k) => LinearExpr { terms: vec![(k, factor)], constant: 0.0 },
            None => LinearExpr::constant(factor),
        })
    }
}

/// `K` of `{prefix}K` (`yK`, `xK`) with `K` decimal digits.
fn var_index(name: &str, prefix: char) -> Option<usize> {
    let digits = name.strip_prefix(prefix)?;
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The shape of a JSON value, for messages.
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The list under `key` of an object that must have only that key.
fn single_list<'v>(m: &'v Map<String, Value>, key: &str, path: &str) -> Result<&'v [Value]> {
    if let Some(other) = m.keys().find(|k| *k != key) {
        return Err(spec_error(format!("{path}: unknown field `{other}` next to `{key}`")));
    }
    match &m[key] {
        Value::Array(items) => Ok(items),
        v => Err(spec_error(format!("{path}.{key}: expected a list, found {}", describe(v)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One input in [0, 1], outputs named a, b, c, and the given `unsafe` value.
    fn with_unsafe(unsafe_json: &str) -> String {
        format!(
            r#"{{"inputs": [{{"name": "x", "lower": 0, "upper": 1}}], "outputs": ["a", "b", "c"], "unsafe": {unsafe_json}}}"#
        )
    }

    fn row(coeffs: &[(usize, f64)], rhs: f64) -> LinearConstraint {
        LinearConstraint { coeffs: coeffs.to_vec(), rhs }
    }

    /// The single row of the single disjunct of a constraint string.
    fn one_row(constraint: &str) -> LinearConstraint {
        let p = parse(&with_unsafe(&format!("\"{constraint}\""))).unwrap();
        let d = &p.regions[0].unsafe_set.disjuncts;
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].constraints.len(), 1);
        d[0].constraints[0].clone()
    }

    /// Semantic errors (valid JSON, bad content) carry no position.
    macro_rules! semantic_errors {
        ($($name:ident: $text:expr,)*) => {
            $(
                #[test]
                fn $name() {
                    let e = parse(&$text).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::Spec, "{e}");
                    assert_eq!(e.line_col(), None, "a JSON syntax error instead: {e}");
                }
            )*
        };
    }

    #[test]
    fn named_inputs_and_outputs() {
        let p = parse(include_str!("../../specs/acasxu_prop1.json")).unwrap();
        assert_eq!(p.regions.len(), 1);
        assert_eq!(p.regions[0].input.lower, vec![0.6, -0.5, -0.5, 0.45, -0.5]);
        assert_eq!(p.regions[0].input.upper, vec![0.679857769, 0.5, 0.5, 0.5, -0.45]);
        assert_eq!(p.regions[0].unsafe_set.disjuncts[0].constraints, vec![row(&[(0, -1.0)], -3.991125645861615)]);
        let p = parse(include_str!("../../specs/acasxu_prop2.json")).unwrap();
        assert_eq!(p.regions[0].unsafe_set.disjuncts[0].constraints[1], row(&[(2, 1.0), (0, -1.0)], 0.0));
        let p = parse(include_str!("../../specs/abs_nonneg.json")).unwrap();
        assert_eq!(p.regions[0].unsafe_set.disjuncts[0].constraints, vec![row(&[(0, 1.0)], -0.001)]);
    }

    #[test]
    fn indexed_inputs_in_any_order() {
        let p = parse(
            r#"{"inputs": [{"index": 1, "lower": 2, "upper": 3}, {"index": 0, "lower": -1, "upper": 0}],
                "unsafe": "y0 >= 1"}"#,
        )
        .unwrap();
        assert_eq!(p.regions[0].input.lower, vec![-1.0, 2.0]);
        assert_eq!(p.regions[0].input.upper, vec![0.0, 3.0]);
    }

    #[test]
    fn union_of_boxes_shares_the_unsafe_set() {
        let p = parse(include_str!("../../specs/abs_union.json")).unwrap();
        assert_eq!(p.regions.len(), 2);
        assert_eq!(p.regions[1].input.lower, vec![0.5]);
        for r in &p.regions {
            assert_eq!(r.unsafe_set.disjuncts.len(), 2);
            assert_eq!(r.unsafe_set.disjuncts[1].constraints, vec![row(&[(0, -1.0)], -1.001)]);
        }
        let p = parse(include_str!("../../specs/acasxu_prop6.json")).unwrap();
        assert_eq!(p.regions.len(), 2);
        assert_eq!(p.regions[1].unsafe_set.disjuncts.len(), 4);
    }

    #[test]
    fn any_all_and_structured_forms() {
        let p = parse(&with_unsafe(
            r#"{"any": ["a <= 0", {"all": ["b >= 1", "y2 <= b"]}, {"coeffs": {"0": 1.5, "c": -1, "y1": 0}, "rhs": 2}]}"#,
        ))
        .unwrap();
        let d = &p.regions[0].unsafe_set.disjuncts;
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].constraints, vec![row(&[(0, 1.0)], 0.0)]);
        assert_eq!(d[1].constraints, vec![row(&[(1, -1.0)], -1.0), row(&[(2, 1.0), (1, -1.0)], 0.0)]);
        assert_eq!(d[2].constraints, vec![row(&[(0, 1.5), (2, -1.0)], 2.0)]);
        let p = parse(&with_unsafe(r#"{"all": ["a <= 0", "b <= 0"]}"#)).unwrap();
        assert_eq!(p.regions[0].unsafe_set.disjuncts.len(), 1);
        assert_eq!(p.regions[0].unsafe_set.disjuncts[0].constraints.len(), 2);
    }

    #[test]
    fn constraint_strings() {
        assert_eq!(one_row("y0 >= 3.99"), row(&[(0, -1.0)], -3.99));
        assert_eq!(one_row("b <= a"), row(&[(1, 1.0), (0, -1.0)], 0.0));
        assert_eq!(one_row("3 >= a"), row(&[(0, 1.0)], 3.0));
        assert_eq!(one_row("2*c - y1 + 1 >= 0.5*a + 2"), row(&[(2, -2.0), (1, 1.0), (0, 0.5)], -1.0));
        assert_eq!(one_row("a + a - b <= 3 + b"), row(&[(0, 2.0), (1, -2.0)], 3.0));
        assert_eq!(one_row("a - a + b*2*3 <= 1"), row(&[(1, 6.0)], 1.0));
        assert_eq!(one_row("-a<1e-3"), row(&[(0, -1.0)], 1e-3));
        assert_eq!(one_row("+a > -2.5E+2"), row(&[(0, -1.0)], 250.0));
        assert_eq!(one_row("a*.5 <= 2e0"), row(&[(0, 0.5)], 2.0));
    }

    /// Inputs `p` and `q` in [0, 1] (inputs 0 and 1), outputs `a`, `b`, and
    /// the given `input_constraints` value.
    fn with_input_constraints(value: &str) -> String {
        format!(
            r#"{{"inputs": [{{"name": "p", "lower": 0, "upper": 1}}, {{"name": "q", "lower": 0, "upper": 1}}],
                "outputs": ["a", "b"], "input_constraints": {value}, "unsafe": "a <= b"}}"#
        )
    }

    #[test]
    fn input_constraints_in_every_form() {
        let p = parse(&with_input_constraints(
            r#"["p <= q", "x0 + 2*x1 >= 0.5 - q", {"coeffs": {"q": 1, "x0": -1, "1": 2}, "rhs": 1}]"#,
        ))
        .unwrap();
        let r = &p.regions[0];
        assert_eq!(
            r.input_constraints,
            vec![
                row(&[(0, 1.0), (1, -1.0)], 0.0),
                row(&[(0, -1.0), (1, -3.0)], -0.5),
                row(&[(1, 3.0), (0, -1.0)], 1.0)
            ]
        );
        assert_eq!(r.unsafe_set.disjuncts[0].constraints, vec![row(&[(0, 1.0), (1, -1.0)], 0.0)]);
        // Every box of a union gets the same constraints; none means none.
        let p = parse(
            r#"{"input_boxes": [[{"lower": 0, "upper": 1}, {"lower": 0, "upper": 1}],
                                [{"lower": 2, "upper": 3}, {"lower": 0, "upper": 1}]],
                "input_constraints": ["x1 >= x0 - 2"], "unsafe": "y0 <= 0"}"#,
        )
        .unwrap();
        assert!(p.regions.iter().all(|r| r.input_constraints == vec![row(&[(1, -1.0), (0, 1.0)], 2.0)]));
        assert!(parse(&with_input_constraints("[]")).unwrap().regions[0].input_constraints.is_empty());
    }

    /// Listed boxes and disjuncts are bounded by the file size; what
    /// `max_dnf_terms` caps is their product beyond what is listed.
    #[test]
    fn box_and_disjunct_pairs_are_capped_beyond_the_listed_ones() {
        let few = LoadLimits { max_dnf_terms: 5, ..LoadLimits::default() };
        let text = |boxes: usize, disjuncts: usize| {
            let boxes = vec![r#"[{"lower": 0, "upper": 1}]"#; boxes].join(", ");
            let any = (0..disjuncts).map(|i| format!(r#""y0 <= {i}""#)).collect::<Vec<_>>().join(", ");
            format!(r#"{{"input_boxes": [{boxes}], "unsafe": {{"any": [{any}]}}}}"#)
        };
        assert_eq!(parse_with(&text(100, 1), &few).unwrap().regions.len(), 100);
        assert_eq!(parse_with(&text(1, 100), &few).unwrap().regions[0].unsafe_set.disjuncts.len(), 100);
        // 4 x 3 = 12 pairs: 5 beyond the 7 listed.
        assert_eq!(parse_with(&text(4, 3), &few).unwrap().regions.len(), 4);
        let e = parse_with(&text(4, 4), &few).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
        assert!(e.message().contains("16 pairs") && e.message().contains("--max-dnf-terms"), "{e}");
    }

    #[test]
    fn input_constraints_need_a_list_and_bounded_inputs() {
        let e = parse(&with_input_constraints(r#""p <= q""#)).unwrap_err();
        assert_eq!((e.kind(), e.line_col().map(|(l, _)| l)), (ErrorKind::Spec, Some(2)));
        // A constraint does not replace a bound: `upper` is still required.
        let unbounded = r#"{"inputs": [{"lower": 0, "upper": 1}, {"lower": 0}], "input_constraints": ["x1 <= x0"],
                            "unsafe": "y0 <= 0"}"#;
        let e = parse(unbounded).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
        assert!(e.line_col().is_some(), "{e}");
    }

    #[test]
    fn malformed_json_has_line_and_column() {
        let e = parse("{\"inputs\": [\n  {\"lower\": 0,, \"upper\": 1}]}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
        assert_eq!(e.line_col(), Some((2, 15)));
    }

    #[test]
    fn unknown_fields_have_line_and_column() {
        let e = parse("{\"inputs\": [{\"lower\": 0, \"upper\": 1}],\n \"unsafe\": \"y0 <= 0\",\n \"ouputs\": []}")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
        assert_eq!(e.line_col().map(|(l, _)| l), Some(3));
        let e = parse("{\"inputs\": [{\"lower\": 0,\n \"uper\": 1}], \"unsafe\": \"y0 <= 0\"}").unwrap_err();
        assert_eq!(e.line_col().map(|(l, _)| l), Some(2));
        let e = parse("{\"inputs\": [{\"lower\": \"0\", \"upper\": 1}], \"unsafe\": \"y0 <= 0\"}").unwrap_err();
        assert_eq!(e.line_col().map(|(l, _)| l), Some(1));
    }

    /// The one-line robustness form: a clipped ball and an argmax, written
    /// out at once when `outputs` names the outputs, else for the network
    /// ([`Property::fit`]).
    #[test]
    fn linf_ball_and_argmax() {
        let p =
            parse(r#"{"linf_ball": {"center": [0.0, 0.5], "eps": 0.1, "lower": 0, "upper": [1, 0.55]}, "argmax": 1}"#)
                .unwrap();
        assert_eq!(p.regions[0].input.lower, vec![0.0, 0.4]);
        assert_eq!(p.regions[0].input.upper, vec![0.1, 0.55]);
        assert_eq!(p.argmax, Some(1));
        assert_eq!(p.check_dims(2, 3).unwrap_err().kind(), ErrorKind::Spec);
        let net = crate::testutil::random_network_on(&mut crate::rng::Rng::new(1), 2, 3);
        let fitted = p.clone().fit(&net).unwrap();
        let n = net.output_dim();
        assert_eq!(fitted.regions[0].unsafe_set.disjuncts.len(), n - 1);
        assert!(fitted.regions[0].unsafe_set.disjuncts.iter().all(|d| d.constraints[0].coeffs[0] == (1, 1.0)));
        let named =
            parse(r#"{"linf_ball": {"center": [0.2], "eps": 0.1}, "outputs": ["a", "b", "c"], "argmax": 2}"#).unwrap();
        assert_eq!(named.argmax, None);
        assert_eq!(named.regions[0].unsafe_set.disjuncts.len(), 2);
        // A ball with an ordinary unsafe set; inputs with an argmax.
        let p = parse(r#"{"linf_ball": {"center": [0.2], "eps": 0.1}, "unsafe": "y0 >= 1"}"#).unwrap();
        assert_eq!(p.regions[0].unsafe_set.disjuncts.len(), 1);
        let p = parse(r#"{"inputs": [{"lower": 0, "upper": 1}], "argmax": 0}"#).unwrap();
        assert_eq!(p.argmax, Some(0));
    }

    semantic_errors! {
        ball_with_inputs: r#"{"linf_ball": {"center": [0], "eps": 0.1}, "inputs": [{"lower": 0, "upper": 1}], "argmax": 0}"#,
        ball_negative_eps: r#"{"linf_ball": {"center": [0], "eps": -0.1}, "argmax": 0}"#,
        ball_center_outside_range: r#"{"linf_ball": {"center": [2], "eps": 0.1, "upper": 1}, "argmax": 0}"#,
        argmax_and_unsafe: r#"{"linf_ball": {"center": [0], "eps": 0.1}, "argmax": 0, "unsafe": "y0 <= 0"}"#,
        argmax_beyond_named_outputs: r#"{"linf_ball": {"center": [0], "eps": 0.1}, "outputs": ["a", "b"], "argmax": 2}"#,
        neither_unsafe_nor_argmax: r#"{"linf_ball": {"center": [0], "eps": 0.1}}"#,
    }

    semantic_errors! {
        lower_above_upper: r#"{"inputs": [{"name": "rho", "lower": 1, "upper": 0}], "unsafe": "y0 <= 0"}"#,
        lower_above_upper_in_a_box: r#"{"input_boxes": [[{"lower": 0, "upper": 1}], [{"lower": 2, "upper": 1}]], "unsafe": "y0 <= 0"}"#,
        unknown_output_name: with_unsafe(r#""d <= 0""#),
        input_name_as_output: with_unsafe(r#""x <= 0""#),
        output_index_beyond_names: with_unsafe(r#""y3 <= 0""#),
        unknown_output_without_names: r#"{"inputs": [{"lower": 0, "upper": 1}], "unsafe": "COC <= 0"}"#,
        missing_comparison: with_unsafe(r#""a + b""#),
        double_equals: with_unsafe(r#""a == 1""#),
        single_equals: with_unsafe(r#""a = 1""#),
        missing_operator: with_unsafe(r#""2 a <= 1""#),
        missing_right_side: with_unsafe(r#""a <=""#),
        dangling_operator: with_unsafe(r#""a + <= 1""#),
        chained_comparison: with_unsafe(r#""0 <= a <= 1""#),
        non_linear_product: with_unsafe(r#""a*b <= 1""#),
        non_linear_square: with_unsafe(r#""2*y0*y0 <= 1""#),
        constant_constraint: with_unsafe(r#""a - a <= 1""#),
        number_out_of_range: with_unsafe(r#""a <= 1e999""#),
        malformed_number: with_unsafe(r#""a <= 1.2.3""#),
        unexpected_character: with_unsafe(r#""a ≤ 1""#),
        empty_any: with_unsafe(r#"{"any": []}"#),
        empty_all: with_unsafe(r#"{"all": []}"#),
        nested_any: with_unsafe(r#"{"any": [{"any": ["a <= 0"]}]}"#),
        bare_list: with_unsafe(r#"["a <= 0"]"#),
        extra_key_next_to_any: with_unsafe(r#"{"any": ["a <= 0"], "all": []}"#),
        number_as_constraint: with_unsafe("1"),
        structured_zero: with_unsafe(r#"{"coeffs": {"a": 0}, "rhs": 1}"#),
        structured_unknown_key: with_unsafe(r#"{"coeffs": {"a": 1}, "rhs": 1, "lhs": 0}"#),
        structured_missing_rhs: with_unsafe(r#"{"coeffs": {"a": 1}}"#),
        missing_unsafe: r#"{"inputs": [{"lower": 0, "upper": 1}]}"#,
        missing_inputs: r#"{"unsafe": "y0 <= 0"}"#,
        both_inputs_and_boxes: r#"{"inputs": [{"lower": 0, "upper": 1}], "input_boxes": [[{"lower": 0, "upper": 1}]], "unsafe": "y0 <= 0"}"#,
        no_inputs: r#"{"inputs": [], "unsafe": "y0 <= 0"}"#,
        no_boxes: r#"{"input_boxes": [], "unsafe": "y0 <= 0"}"#,
        boxes_of_different_sizes: r#"{"input_boxes": [[{"lower": 0, "upper": 1}], [{"lower": 0, "upper": 1}, {"lower": 0, "upper": 1}]], "unsafe": "y0 <= 0"}"#,
        index_on_some_inputs: r#"{"inputs": [{"index": 0, "lower": 0, "upper": 1}, {"lower": 0, "upper": 1}], "unsafe": "y0 <= 0"}"#,
        index_twice: r#"{"inputs": [{"index": 0, "lower": 0, "upper": 1}, {"index": 0, "lower": 0, "upper": 1}], "unsafe": "y0 <= 0"}"#,
        index_out_of_range: r#"{"inputs": [{"index": 1, "lower": 0, "upper": 1}], "unsafe": "y0 <= 0"}"#,
        duplicate_input_name: r#"{"inputs": [{"name": "x", "lower": 0, "upper": 1}, {"name": "x", "lower": 0, "upper": 1}], "unsafe": "y0 <= 0"}"#,
        output_name_not_identifier: r#"{"inputs": [{"lower": 0, "upper": 1}], "outputs": ["a b"], "unsafe": "y0 <= 0"}"#,
        output_name_reserved: r#"{"inputs": [{"lower": 0, "upper": 1}], "outputs": ["y1", "y0"], "unsafe": "y0 <= 0"}"#,
        output_name_twice: r#"{"inputs": [{"lower": 0, "upper": 1}], "outputs": ["a", "a"], "unsafe": "y0 <= 0"}"#,
        input_constraint_names_an_output: with_input_constraints(r#"["p <= a"]"#),
        input_constraint_names_y_k: with_input_constraints(r#"["p + y0 <= 1"]"#),
        input_constraint_unknown_input: with_input_constraints(r#"["p <= r"]"#),
        input_constraint_index_out_of_range: with_input_constraints(r#"["x2 <= 1"]"#),
        input_constraint_structured_output: with_input_constraints(r#"[{"coeffs": {"b": 1}, "rhs": 0}]"#),
        input_constraint_constant: with_input_constraints(r#"["p - p <= 1"]"#),
        input_constraint_non_linear: with_input_constraints(r#"["p*q <= 1"]"#),
        input_constraint_not_a_constraint: with_input_constraints(r#"[{"all": ["p <= q"]}]"#),
        input_named_as_another_index: r#"{"inputs": [{"name": "x1", "lower": 0, "upper": 1}, {"lower": 0, "upper": 1}],
            "input_constraints": ["x1 <= 0.5"], "unsafe": "y0 <= 0"}"#,
        output_constraint_names_an_input: with_input_constraints(r#"["p <= q"]"#).replace(r#""a <= b""#, r#""a <= p""#),
    }
}
