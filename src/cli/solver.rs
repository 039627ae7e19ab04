//! The VNN-LIB 2.0 solver interface: `verify` and `supports`.
//!
//! The standard (chapter "Solver Command-line Interface") fixes the shape
//! of both commands:
//!
//! - `reluverify verify QUERY --network NAME=FILE ... [--timeout SECONDS]`
//!   prints one first line, `sat`, `unsat`, `unknown` or `timed-out`, and for
//!   `sat` the satisfying assignment: each declared variable in declaration
//!   order as a line `NAME TYPE [d0,d1,...]` followed by its values, one per
//!   line, row-major. The query describes the unsafe set, so `sat` is
//!   reluverify's `violated` (exit 1), `unsat` its `holds` (exit 0), and
//!   `unknown` / `timed-out` its `unknown` (exit 3); errors exit 2 with the
//!   message on standard error, as everywhere.
//! - `reluverify supports --CAPABILITY` prints the capability's answer: a
//!   pair of versions, a list (one item a line), or `true` / `false`.
//!
//! Before `sat` is printed, the counterexample (already validated by the
//! f64 forward pass, `verdict::check_witness`) is checked once more against
//! the query as written ([`Query::satisfied_by`]): the engine reads strict
//! comparisons as non-strict, and a point on the boundary of a strict one
//! satisfies the closure but not the query, so it is answered `unknown`.
//! With several networks, the check is made on the networks' own outputs
//! (the combined network of [`pair::side_by_side`] may round differently).

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::args::{SupportsArgs, VerifyArgs};
use super::exit::Exit;
use super::output;
use super::report::outcome_json;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{self, pair, Network};
use crate::spec::vnnlib2::{self, Query};
use crate::verdict::{UnknownReason, Verdict};

/// The first line of `verify`'s output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Sat,
    Unsat,
    Unknown,
    TimedOut,
}

impl Answer {
    fn name(self) -> &'static str {
        match self {
            Answer::Sat => "sat",
            Answer::Unsat => "unsat",
            Answer::Unknown => "unknown",
            Answer::TimedOut => "timed-out",
        }
    }

    fn exit(self) -> Exit {
        match self {
            Answer::Sat => Exit::Violated,
            Answer::Unsat => Exit::Holds,
            Answer::Unknown | Answer::TimedOut => Exit::Unknown,
        }
    }
}

/// Run `verify`.
pub fn verify(args: &VerifyArgs) -> Result<Exit> {
    let settings = args.search.settings(args.timeout)?;
    let limits = args.limits.limits()?;
    let options = vnnlib2::Options { assume_real: args.assume_real };
    let query = vnnlib2::load_with(&args.query, &limits, &options)?;
    let bound = bind_networks(&query, &args.networks, &limits)?;
    let net = bound.network();
    let prop = query.property.clone().fit(net).map_err(|e| e.with_path(&args.query))?;
    if args.serialise_assignments.is_some() {
        output::stderr(
            "note: --serialise-assignments is not supported (`supports --serialise-assignments` is false): the \
             assignment is printed on standard output\n",
        );
    }
    let outcome = crate::verify(net, &prop, &settings)?;
    // A counterexample of the combined network is run again through the
    // networks themselves (the combination may round differently), and
    // the query is evaluated as written on their outputs.
    let witness = match &outcome.verdict {
        Verdict::Violated { witness } => Some((witness.input(), bound.outputs(witness.input()))),
        _ => None,
    };
    let answer = match (&outcome.verdict, &witness) {
        (Verdict::Holds { .. }, _) => Answer::Unsat,
        (Verdict::Violated { .. }, Some((x, y))) if query.satisfied_by(x, y) => Answer::Sat,
        (Verdict::Violated { .. }, _) => {
            output::stderr(
                "note: the counterexample does not satisfy the query as written on the networks' own f64 outputs \
                 (it meets a strict comparison with equality, which the search reads as non-strict, or the \
                 networks side by side round differently): unknown\n",
            );
            Answer::Unknown
        }
        (Verdict::Unknown { reason: UnknownReason::TimeLimit }, _) => Answer::TimedOut,
        (Verdict::Unknown { .. }, _) => Answer::Unknown,
    };
    let witness = witness.filter(|_| answer == Answer::Sat);
    if args.json {
        let mut v = outcome_json(&outcome, &prop);
        v["result"] = json!(answer.name());
        if let Some((x, y)) = &witness {
            v["assignment"] = assignment_json(&query, x, y);
        }
        output::stdout(&format!("{v}\n"));
    } else {
        let mut text = format!("{}\n", answer.name());
        if let Some((x, y)) = &witness {
            text += &assignment(&query, x, y);
        }
        output::stdout(&text);
    }
    Ok(answer.exit())
}

/// The declared networks, bound to their models.
struct Bound {
    /// Each declared network's model, in declaration order.
    nets: Vec<Network>,
    /// With several networks, them side by side on the shared input
    /// ([`pair::side_by_side`]).
    combined: Option<Network>,
}

impl Bound {
    /// The network the property is checked on.
    fn network(&self) -> &Network {
        self.combined.as_ref().unwrap_or(&self.nets[0])
    }

    /// The networks' own f64 outputs on `x` (their files' functions, after
    /// their output activations: [`Network::reference_output`]), one after
    /// the other.
    fn outputs(&self, x: &[f64]) -> Vec<f64> {
        self.nets.iter().flat_map(|n| n.reference_output(x)).collect()
    }
}

/// Each declared network bound to its model file by `--network NAME=FILE`
/// (a network declared `equal-to` another takes that one's model and must
/// not be bound), each model checked against its declaration; several
/// networks are combined side by side on their shared input.
fn bind_networks(query: &Query, bindings: &[String], limits: &crate::LoadLimits) -> Result<Bound> {
    let mut files: HashMap<&str, PathBuf> = HashMap::new();
    for binding in bindings {
        let Some((name, file)) = binding.split_once('=').filter(|(n, f)| !n.is_empty() && !f.is_empty()) else {
            return Err(usage(format!("--network takes NAME=FILE, got `{binding}`")));
        };
        let Some(decl) = query.networks.iter().find(|n| n.name == name) else {
            let names: Vec<&str> = query.networks.iter().map(|n| n.name.as_str()).collect();
            return Err(usage(format!(
                "--network binds `{name}`, which the query does not declare (it declares {})",
                names.join(", ")
            )));
        };
        if let Some(original) = &decl.equal_to {
            return Err(usage(format!(
                "--network binds `{name}`, which the query declares equal to `{original}`: it takes that network's \
                 model and no file of its own"
            )));
        }
        if files.insert(name, PathBuf::from(file)).is_some() {
            return Err(usage(format!("--network binds `{name}` twice")));
        }
    }
    let mut models: HashMap<&str, Network> = HashMap::new();
    for decl in &query.networks {
        let name = decl.equal_to.as_deref().unwrap_or(&decl.name);
        if models.contains_key(name) {
            continue;
        }
        let Some(file) = files.get(name) else {
            return Err(usage(format!(
                "no model for network `{name}`: pass `--network {name}=FILE` (once for each network not declared \
                 equal to another)"
            )));
        };
        let net = model::load_with(file, limits)?;
        for (what, declared, actual) in
            [("input", &decl.input, net.input_dim()), ("output", &decl.output, net.output_dim())]
        {
            if declared.len() != actual {
                return Err(Error::new(
                    ErrorKind::Spec,
                    format!(
                        "network `{}` declares {what} `{}` of shape {:?} ({} elements) but the model has {actual} \
                         {what}s (was the query written for another model?)",
                        decl.name,
                        declared.name,
                        declared.shape,
                        declared.len()
                    ),
                )
                .with_path(file));
            }
        }
        models.insert(name, net);
    }
    if let [one] = query.networks.as_slice() {
        let net = models.remove(one.name.as_str()).expect("bound above");
        return Ok(Bound { nets: vec![net], combined: None });
    }
    let nets: Vec<Network> =
        query.networks.iter().map(|d| models[d.equal_to.as_deref().unwrap_or(&d.name)].clone()).collect();
    let combined = pair::side_by_side(&nets.iter().collect::<Vec<_>>())?;
    Ok(Bound { nets, combined: Some(combined) })
}

/// A usage error.
fn usage(message: String) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// The declared variables with their values, in declaration order: each
/// network's input (the shared input) and output (its block of `outputs`).
fn variables<'q>(
    query: &'q Query,
    input: &'q [f64],
    outputs: &'q [f64],
) -> impl Iterator<Item = (&'q vnnlib2::TensorDecl, &'q [f64])> {
    query.networks.iter().enumerate().flat_map(move |(k, n)| {
        let start = query.output_offset(k);
        [(&n.input, input), (&n.output, &outputs[start..start + n.output.len()])]
    })
}

/// The standard's command-line assignment format: for each declared
/// variable a line `NAME TYPE [d0,d1,...]` (no spaces in the brackets; a
/// scalar's shape is `[]`), then its values one per line, row-major, each
/// printed with every digit needed to read back the same f64.
fn assignment(query: &Query, input: &[f64], outputs: &[f64]) -> String {
    let mut s = String::new();
    for (t, values) in variables(query, input, outputs) {
        let dims: Vec<String> = t.shape.iter().map(usize::to_string).collect();
        s += &format!("{} {} [{}]\n", t.name, t.element_type, dims.join(","));
        for v in values {
            s += &format!("{v}\n");
        }
    }
    s
}

/// The assignment for `--json`: a list of `{name, type, shape, values}` in
/// declaration order.
fn assignment_json(query: &Query, input: &[f64], outputs: &[f64]) -> Value {
    variables(query, input, outputs)
        .map(|(t, values)| json!({"name": t.name, "type": t.element_type, "shape": t.shape, "values": values}))
        .collect()
}

/// The answer to `supports --CAPABILITY`, as the standard prints it.
pub fn supports(args: &SupportsArgs) -> Result<Exit> {
    output::stdout(&capability(args)?);
    Ok(Exit::Holds)
}

/// The text answering the one capability flag of `args`.
///
/// - ONNX: opsets 7 to 21 (README, "Supported ONNX operators"); element
///   type `real` only, because the analysis is in real arithmetic and does
///   not model floating-point rounding (the standard asks a solver to report
///   only `real` then); the operators of the loader's table, each for every
///   reported type.
/// - Queries: VNN-LIB 2.0 (1.0 properties are read by `check`, not by
///   `verify`); no hidden nodes (`NH`), one input and one output per
///   network (`SIO`), one network (`SNET`: several networks are checked only
///   on one tied input, a part of `MNET` and `MENET`, so neither is claimed),
///   no comparison between inputs and outputs (`SNC`), and bounds, output
///   comparisons and linear constraints (`BND`, `OUTC`, `LIN`; `!=` is
///   refused). Disjunctions are expanded into disjunctive normal form, so
///   `--optimised-disjunctive-reasoning` is false.
fn capability(args: &SupportsArgs) -> Result<String> {
    let lines: Vec<String> = if args.onnx_opset_versions {
        vec!["7".into(), "21".into()]
    } else if args.onnx_element_types {
        vec!["real".into()]
    } else if args.onnx_operators {
        model::onnx::supported_operators().map(str::to_string).collect()
    } else if args.vnnlib_versions {
        vec!["2.0".into(), "2.0".into()]
    } else if args.hidden_node_theories {
        vec!["NH".into()]
    } else if args.multiple_input_output_theories {
        vec!["SIO".into()]
    } else if args.multiple_network_theories {
        vec!["SNET".into()]
    } else if args.multiple_node_comparison_theories {
        vec!["SNC".into()]
    } else if args.arithmetic_complexity_theories {
        vec!["BND".into(), "OUTC".into(), "LIN".into()]
    } else if args.optimised_disjunctive_reasoning || args.serialise_assignments || args.unsat_proofs {
        vec!["false".into()]
    } else {
        return Err(usage("supports takes one capability flag such as --vnnlib-versions (see --help)".into()));
    };
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
}
