//! Properties: an input region and an *unsafe* set of outputs.
//!
//! A [`Property`] is a disjunction of [`Region`]s. Each region pairs an input
//! polytope (a bounded box, optionally cut by linear input constraints
//! `a·x <= b`) with an unsafe output condition in disjunctive normal form
//! ([`Dnf`]): the network is **unsafe** if some input `x` inside some region's
//! polytope drives the output `y = f(x)` into that region's DNF. A property
//! **holds** when no such `x` exists.
//!
//! This one type serves both front ends: the JSON format (`json.rs`: a union
//! of boxes times one DNF) and VNN-LIB (`vnnlib.rs`: a disjunction of input
//! boxes, each with its own output condition). Constraints are kept as rows
//! `sum_k c_k y_k <= rhs`, the shape both the MILP encoder and the bound
//! checks want; input constraints use the same sparse rows over input
//! indices.
//!
//! Every input keeps finite box bounds even when input constraints are
//! given: bounds, splitting and sampling all work on the box, and the
//! constraints only cut it down (exactly in the MILP and LP leaves, soundly
//! elsewhere). A constraint never replaces a bound.
//!
//! A property must be written for the network it is checked against:
//! [`Property::check_network`] compares the input and output counts the file
//! declares (JSON `inputs` entries and `outputs` names, VNN-LIB `X_i` and
//! `Y_i` declarations) with the network's, so that a property written for
//! another model is an error rather than a silent `holds`.
//! [`verify`](crate::verify) runs it, so every entry point does.
//!
//! Outputs after a smooth [`OutputActivation`](crate::model::OutputActivation)
//! are handled by [`logits`], which restates the property exactly on the
//! logits before the activation (or rejects it, explaining why).

pub mod json;
mod linear;
pub mod logits;
pub mod robustness;
mod sexpr;
pub mod vnnlib;
pub mod vnnlib2;

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::{self, LoadLimits};
use crate::model::Network;

/// An axis-aligned box of inputs, `lower[i] <= x_i <= upper[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputBox {
    /// Lower bounds, one per network input.
    pub lower: Vec<f64>,
    /// Upper bounds, one per network input.
    pub upper: Vec<f64>,
}

impl InputBox {
    /// A box; errors when lengths differ, a bound is not finite, or `lower > upper`.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<InputBox> {
        if lower.len() != upper.len() {
            return Err(Error::new(ErrorKind::Spec, "input box: lower and upper have different lengths"));
        }
        for (i, (l, u)) in lower.iter().zip(&upper).enumerate() {
            if !l.is_finite() || !u.is_finite() {
                return Err(Error::new(ErrorKind::Spec, format!("input {i}: bounds must be finite, got [{l}, {u}]")));
            }
            if l > u {
                return Err(Error::new(
                    ErrorKind::Spec,
                    format!("input {i}: lower bound {l} is above upper bound {u}"),
                ));
            }
        }
        Ok(InputBox { lower, upper })
    }

    /// Number of inputs.
    pub fn dim(&self) -> usize {
        self.lower.len()
    }

    /// `true` when `x` lies in the box (inclusive).
    pub fn contains(&self, x: &[f64]) -> bool {
        x.len() == self.dim() && x.iter().zip(&self.lower).zip(&self.upper).all(|((v, l), u)| l <= v && v <= u)
    }

    /// `x` clamped into the box, coordinate by coordinate.
    pub fn clamp(&self, x: &[f64]) -> Vec<f64> {
        x.iter().zip(&self.lower).zip(&self.upper).map(|((v, l), u)| v.max(*l).min(*u)).collect()
    }

    /// The centre of the box.
    pub fn center(&self) -> Vec<f64> {
        self.lower.iter().zip(&self.upper).map(|(l, u)| 0.5 * (l + u)).collect()
    }
}

/// One linear constraint over the outputs: `sum_k coeffs[k].1 * y[coeffs[k].0] <= rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearConstraint {
    /// Sparse coefficients `(output index, coefficient)`.
    pub coeffs: Vec<(usize, f64)>,
    /// Right-hand side.
    pub rhs: f64,
}

impl LinearConstraint {
    /// `c·y - rhs`: negative or zero when the constraint is satisfied.
    pub fn slack_violation(&self, y: &[f64]) -> f64 {
        self.coeffs.iter().map(|&(k, c)| c * y[k]).sum::<f64>() - self.rhs
    }
}

/// A conjunction of linear output constraints (all must hold).
#[derive(Debug, Clone, PartialEq)]
pub struct Conjunction {
    /// The constraints; an empty conjunction is always true.
    pub constraints: Vec<LinearConstraint>,
}

impl Conjunction {
    /// The largest `c·y - rhs` over the constraints: `<= 0` iff `y` satisfies all.
    pub fn max_violation(&self, y: &[f64]) -> f64 {
        self.constraints.iter().map(|c| c.slack_violation(y)).fold(f64::NEG_INFINITY, f64::max)
    }
}

/// A disjunction of conjunctions: the unsafe output set.
#[derive(Debug, Clone, PartialEq)]
pub struct Dnf {
    /// The disjuncts; `y` is unsafe if it satisfies any of them.
    pub disjuncts: Vec<Conjunction>,
}

impl Dnf {
    /// Index of the first disjunct that `y` satisfies, if any.
    pub fn satisfied_by(&self, y: &[f64]) -> Option<usize> {
        self.disjuncts.iter().position(|d| d.max_violation(y) <= 0.0)
    }
}

/// An input polytope (a box and linear input constraints) with its unsafe
/// output condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Where the inputs range: every input has finite bounds.
    pub input: InputBox,
    /// Linear constraints `sum_i a_i x_i <= b` on the inputs, all of which
    /// must hold as well (rows over input indices); empty for a plain box.
    pub input_constraints: Vec<LinearConstraint>,
    /// Which outputs are unsafe for inputs in this region.
    pub unsafe_set: Dnf,
}

/// Rounds of [`Region::project`]: each projects onto every violated input
/// constraint in turn; a handful reaches a point of the polytope from a
/// nearby point in all but degenerate cases, and a point that is still
/// outside is simply not a witness.
const PROJECT_ROUNDS: usize = 8;

/// Relative overshoot of each projection of [`Region::project`] past the
/// constraint's boundary, so that the projected point satisfies the row in
/// f64 despite rounding (the f64 check allows no tolerance).
const PROJECT_OVERSHOOT: f64 = 1e-9;

impl Region {
    /// A region over a box with no input constraints.
    pub fn boxed(input: InputBox, unsafe_set: Dnf) -> Region {
        Region { input, input_constraints: Vec::new(), unsafe_set }
    }

    /// `true` when `x` lies in the box and satisfies every input constraint,
    /// in f64 with no tolerance.
    pub fn contains(&self, x: &[f64]) -> bool {
        self.input.contains(x) && self.meets_input_constraints(x)
    }

    /// `true` when `x` satisfies every input constraint (box aside), in f64
    /// with no tolerance.
    pub fn meets_input_constraints(&self, x: &[f64]) -> bool {
        self.input_constraints.iter().all(|c| c.slack_violation(x) <= 0.0)
    }

    /// `x` moved into the region, or as close as a few cheap steps get:
    /// clamped into the box, then (with input constraints) projected onto
    /// each violated constraint's half-space in turn, slightly past its
    /// boundary, moving only inputs not held at a box end, and clamped
    /// again, for a few rounds.
    /// Callers check the result ([`Region::contains`] or the witness check):
    /// it may still be outside for a thin or degenerate polytope.
    pub fn project(&self, x: &[f64]) -> Vec<f64> {
        let mut x = self.input.clamp(x);
        for _ in 0..PROJECT_ROUNDS {
            let mut moved = false;
            for c in &self.input_constraints {
                let excess = c.slack_violation(&x);
                if excess <= 0.0 {
                    continue;
                }
                // Only inputs the step would not push further past their
                // box ends move (the others are held by the clamp anyway).
                let free = |i: usize, a: f64| {
                    !((a > 0.0 && x[i] <= self.input.lower[i]) || (a < 0.0 && x[i] >= self.input.upper[i]))
                };
                let norm2: f64 = c.coeffs.iter().filter(|&&(i, a)| free(i, a)).map(|&(_, a)| a * a).sum();
                if norm2 == 0.0 {
                    continue;
                }
                let scale: f64 = c.rhs.abs() + c.coeffs.iter().map(|&(i, a)| (a * x[i]).abs()).sum::<f64>();
                let step = (excess + PROJECT_OVERSHOOT * (1.0 + scale)) / norm2;
                let moves: Vec<(usize, f64)> =
                    c.coeffs.iter().filter(|&&(i, a)| free(i, a)).map(|&(i, a)| (i, step * a)).collect();
                for (i, d) in moves {
                    x[i] -= d;
                }
                moved = true;
            }
            if !moved {
                break;
            }
            x = self.input.clamp(&x);
        }
        x
    }
}

/// A property: unsafe iff some region has an input whose output is in its unsafe set.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The regions, a disjunction.
    pub regions: Vec<Region>,
    /// How many inputs the file declares (JSON: the entries of `inputs`;
    /// VNN-LIB: the `X_i` declared), or `None` when it declares none.
    pub declared_inputs: Option<usize>,
    /// How many outputs the file declares (JSON: the names in `outputs`;
    /// VNN-LIB: the `Y_i` declared), or `None` when it declares none (a JSON
    /// file without `outputs`).
    pub declared_outputs: Option<usize>,
    /// Names of the inputs by index, for reports (JSON `name`s; empty when
    /// the file names none, an empty string for an unnamed input).
    pub input_names: Vec<String>,
    /// Names of the outputs by index, for reports (JSON `outputs`; empty
    /// when the file names none).
    pub output_names: Vec<String>,
    /// A JSON `"argmax": K` whose unsafe set ("some other output reaches
    /// output K") is not yet written out, because it depends on the number
    /// of outputs: [`Property::fit`] expands it for a network. Until then
    /// the regions' unsafe sets are empty and [`Property::check_dims`]
    /// refuses the property.
    pub argmax: Option<usize>,
}

impl Property {
    /// A property of `regions` that declares no input or output count
    /// (properties built in code rather than read from a file).
    pub fn new(regions: Vec<Region>) -> Property {
        Property {
            regions,
            declared_inputs: None,
            declared_outputs: None,
            input_names: vec![],
            output_names: vec![],
            argmax: None,
        }
    }

    /// The property ready for `net`: a pending [`Property::argmax`]
    /// expanded for the network's outputs, then checked to fit it
    /// ([`Property::check_network`]).
    pub fn fit(mut self, net: &Network) -> Result<Property> {
        if let Some(label) = self.argmax.take() {
            let unsafe_set = robustness::argmax_changes(label, net.output_dim())?;
            for r in &mut self.regions {
                r.unsafe_set = unsafe_set.clone();
            }
        }
        self.check_network(net)?;
        Ok(self)
    }

    /// Check that the property fits `net` ([`ErrorKind::Spec`] otherwise):
    /// the declared counts and dimensions match ([`Property::check_dims`]),
    /// and, when the network ends in an output activation, every constraint
    /// has an exact form on the logits ([`logits::translate`]).
    pub fn check_network(&self, net: &Network) -> Result<()> {
        self.check_dims(net.input_dim(), net.output_dim())?;
        if let Some(act) = net.output_activation() {
            logits::translate(self, act)?;
        }
        Ok(())
    }

    /// Check the property against a network's dimensions: the declared
    /// input and output counts (when the file declares them) equal the
    /// network's, every box has one bound per input and every constraint
    /// names an existing output.
    pub fn check_dims(&self, inputs: usize, outputs: usize) -> Result<()> {
        if let Some(k) = self.argmax {
            return Err(Error::new(
                ErrorKind::Spec,
                format!("the property's `argmax: {k}` is not expanded for a network yet (Property::fit does that)"),
            ));
        }
        for (declared, actual, what) in
            [(self.declared_inputs, inputs, "input"), (self.declared_outputs, outputs, "output")]
        {
            if let Some(d) = declared.filter(|&d| d != actual) {
                let s = if d == 1 { "" } else { "s" };
                return Err(Error::new(
                    ErrorKind::Spec,
                    format!(
                        "the property declares {d} {what}{s} but the network has {actual}: a property must declare \
                         exactly the network's inputs and outputs (was it written for another model?)"
                    ),
                ));
            }
        }
        if self.regions.is_empty() {
            return Err(Error::new(ErrorKind::Spec, "the property has no input region"));
        }
        for (r, region) in self.regions.iter().enumerate() {
            if region.input.dim() != inputs {
                return Err(Error::new(
                    ErrorKind::Spec,
                    format!("region {r} bounds {} inputs but the network has {inputs}", region.input.dim()),
                ));
            }
            if let Some(&(i, _)) = region.input_constraints.iter().flat_map(|c| &c.coeffs).find(|(i, _)| *i >= inputs) {
                return Err(Error::new(
                    ErrorKind::Spec,
                    format!("an input constraint refers to input {i} but the network has {inputs} inputs"),
                ));
            }
            for d in &region.unsafe_set.disjuncts {
                for c in &d.constraints {
                    if let Some(&(k, _)) = c.coeffs.iter().find(|(k, _)| *k >= outputs) {
                        return Err(Error::new(
                            ErrorKind::Spec,
                            format!(
                                "the property refers to output {k} but the network has {outputs} outputs (0..{})",
                                outputs.saturating_sub(1)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Warnings about a property that is legal but probably not meant: a
    /// disjunct without any output constraint makes every input of its
    /// region unsafe, so the property is violated whatever the network.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for (r, region) in self.regions.iter().enumerate() {
            if let Some(d) = region.unsafe_set.disjuncts.iter().position(|d| d.constraints.is_empty()) {
                warnings.push(format!(
                    "region {r}, unsafe disjunct {d} has no output constraint: every input of the region is \
                     unsafe, so the property is violated whatever the network computes (is a constraint missing?)"
                ));
            }
        }
        warnings
    }
}

/// Which property format a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// The JSON format of `json.rs`.
    Json,
    /// VNN-LIB 1.0 (SMT-LIB syntax).
    Vnnlib,
    /// VNN-LIB 2.0 (a `.vnnlib` file starting with `(vnnlib-version <2.0>)`).
    Vnnlib2,
}

impl SpecFormat {
    /// Pick the format from a file extension (`.json`, `.vnnlib`/`.smt2`,
    /// looking under a `.gz` suffix: `.vnnlib.gz` is VNN-LIB).
    pub fn from_path(path: &Path) -> Result<SpecFormat> {
        match limits::format_extension(path).as_deref() {
            Some("json") => Ok(SpecFormat::Json),
            // 1.0 or 2.0: the loader looks for `(vnnlib-version ...)`.
            Some("vnnlib") | Some("smt2") => Ok(SpecFormat::Vnnlib),
            _ => Err(Error::new(ErrorKind::Spec, "unknown property format: expected a .json or .vnnlib file")
                .with_path(path)),
        }
    }
}

/// Read a property file, choosing the parser by extension, within the
/// default [`LoadLimits`].
pub fn load(path: &Path) -> Result<(Property, SpecFormat)> {
    load_with(path, &LoadLimits::default())
}

/// Read a property file, choosing the parser by extension, and refuse a file
/// larger than `limits.max_spec_bytes` or declaring more than the limits
/// allow (see [`LoadLimits`]).
pub fn load_with(path: &Path, limits: &LoadLimits) -> Result<(Property, SpecFormat)> {
    let format = SpecFormat::from_path(path)?;
    let bytes = limits::read_file(path, limits.max_spec_bytes, "max-spec-size")?;
    let parsed = match format {
        SpecFormat::Json => limits::utf8_text(&bytes, ErrorKind::Spec, "JSON")
            .and_then(|t| json::parse_with(t, limits))
            .map(|p| (p, format)),
        SpecFormat::Vnnlib | SpecFormat::Vnnlib2 => {
            limits::utf8_text(&bytes, ErrorKind::Spec, "VNN-LIB").and_then(|t| {
                if vnnlib2::is_vnnlib2(t) {
                    vnnlib2::parse_with(t, limits, &vnnlib2::Options::default())
                        .and_then(single_network)
                        .map(|p| (p, SpecFormat::Vnnlib2))
                } else {
                    vnnlib::parse_with(t, limits).map(|p| (p, SpecFormat::Vnnlib))
                }
            })
        }
    };
    parsed.map_err(|e| e.with_path(path))
}

/// The property of a VNN-LIB 2.0 query over one network: what a command
/// taking one model (`check`, `bounds`, `encode`) can check. A query over
/// several networks needs them bound by name (`reluverify verify`).
fn single_network(query: vnnlib2::Query) -> Result<Property> {
    match query.networks.as_slice() {
        [_] => Ok(query.property),
        nets => Err(Error::new(
            ErrorKind::Spec,
            format!(
                "the query declares {} networks ({}): this command takes one model; bind each network with \
                 `reluverify verify QUERY --network NAME=FILE ...`",
                nets.len(),
                nets.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// [0, 1]^2 cut by x0 + x1 <= 0.5 and x1 - x0 <= 0.1.
    fn triangle() -> Region {
        let row = |coeffs: &[(usize, f64)], rhs| LinearConstraint { coeffs: coeffs.to_vec(), rhs };
        Region {
            input: InputBox::new(vec![0.0, 0.0], vec![1.0, 1.0]).unwrap(),
            input_constraints: vec![row(&[(0, 1.0), (1, 1.0)], 0.5), row(&[(1, 1.0), (0, -1.0)], 0.1)],
            unsafe_set: Dnf { disjuncts: vec![] },
        }
    }

    #[test]
    fn contains_checks_box_and_constraints_exactly() {
        let r = triangle();
        assert!(r.contains(&[0.2, 0.3]));
        assert!(r.contains(&[0.25, 0.25]));
        assert!(!r.contains(&[0.3, 0.3]), "x0 + x1 > 0.5");
        assert!(!r.contains(&[0.0, 0.2]), "x1 - x0 > 0.1");
        assert!(!r.contains(&[-0.1, 0.0]), "outside the box");
    }

    #[test]
    fn projection_lands_inside_from_anywhere_near() {
        let r = triangle();
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let x = [rng.range(-1.0, 2.0), rng.range(-1.0, 2.0)];
            let p = r.project(&x);
            assert!(r.contains(&p), "{x:?} -> {p:?}");
            if r.contains(&x) {
                assert_eq!(p, x.to_vec(), "a point inside stays put");
            }
        }
    }

    #[test]
    fn declared_counts_must_match_the_network() {
        let named = r#"{"inputs": [{"lower": 0, "upper": 1}], "outputs": ["a", "b", "c"], "unsafe": "a >= 1"}"#;
        let p = json::parse(named).unwrap();
        assert_eq!((p.declared_inputs, p.declared_outputs), (Some(1), Some(3)));
        assert!(p.check_dims(1, 3).is_ok());
        for (inputs, outputs) in [(1, 2), (1, 4), (2, 3)] {
            let e = p.check_dims(inputs, outputs).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Spec);
            assert!(e.message().contains("was it written for another model"), "{e}");
        }
        // Without `outputs`, only the outputs used are checked.
        let p = json::parse(r#"{"inputs": [{"lower": 0, "upper": 1}], "unsafe": "y0 >= 1"}"#).unwrap();
        assert_eq!((p.declared_inputs, p.declared_outputs), (Some(1), None));
        assert!(p.check_dims(1, 2).is_ok());
        let text = "(declare-const X_0 Real)
            (declare-const Y_0 Real) (declare-const Y_1 Real) (declare-const Y_2 Real)
            (assert (<= X_0 1)) (assert (>= X_0 0)) (assert (>= Y_0 1))";
        let p = vnnlib::parse(text).unwrap();
        assert_eq!((p.declared_inputs, p.declared_outputs), (Some(1), Some(3)));
        assert!(p.check_dims(1, 3).is_ok());
        assert_eq!(p.check_dims(1, 2).unwrap_err().kind(), ErrorKind::Spec);
    }

    #[test]
    fn a_disjunct_without_output_constraints_gets_a_warning() {
        let text = "(declare-const X_0 Real) (declare-const Y_0 Real)
            (assert (<= X_0 1)) (assert (>= X_0 0)) (assert (or (>= Y_0 1) (<= X_0 0.5)))";
        let p = vnnlib::parse(text).unwrap();
        assert_eq!(p.warnings().len(), 1, "{:?}", p.warnings());
        let text = "(declare-const X_0 Real) (declare-const Y_0 Real) (assert (<= X_0 1)) (assert (>= X_0 0)) (assert (>= Y_0 1))";
        assert!(vnnlib::parse(text).unwrap().warnings().is_empty());
    }
}
