//! Running `check` and printing its outcome as text or JSON.
//!
//! The order is the CLI contract: result paths are checked before the
//! search (a typo costs a second, not the verdict), the verdict is printed
//! before any file is written (a failed write cannot hide it), and every
//! file is written atomically ([`output::write_atomic`]). A `--witness` file
//! left by an earlier run is removed when the answer is not `violated`, so a
//! file present after the run is always this run's counterexample.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::args::{CheckArgs, RobustnessArgs, RunArgs};
use super::bounds::{bounds_report, format_method};
use super::exit::Exit;
use super::output;
use crate::bounds::symbolic::optimise::Constraint;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Network;
use crate::search::cross_check::{cross_check, CrossCheck, CrossCheckReport};
use crate::spec::{LinearConstraint, Property};
use crate::verdict::{Outcome, SearchPath, Stats, UnknownReason, Verdict, Witness};
use crate::verify;

/// The version of the `--json` objects' layout (README, "Machine output").
/// Raised when a field is removed or changes meaning; adding fields keeps it.
pub const JSON_SCHEMA: u64 = 1;

/// `obj` with `reluverify_version` and `schema` added, as every `--json`
/// object carries them.
pub fn stamped(mut obj: Value) -> Value {
    obj["reluverify_version"] = json!(super::VERSION);
    obj["schema"] = json!(JSON_SCHEMA);
    obj
}

/// The `--json` object of an error: `verdict` is `error`, and `error` has the
/// `kind` ([`ErrorKind::name`]), the `message`, and `file`, `line`, `column`
/// and `node` where known (`null` otherwise).
pub fn error_json(e: &Error) -> Value {
    let (line, column) = e.line_col().map_or((None, None), |(l, c)| (Some(l), Some(c)));
    stamped(json!({
        "verdict": "error",
        "error": {
            "kind": e.kind().name(),
            "message": e.message(),
            "file": e.path().map(|p| p.display().to_string()),
            "line": line,
            "column": column,
            "node": e.node(),
        },
    }))
}

/// Everything a finished `check` reports.
struct Report {
    outcome: Outcome,
    cross: Option<CrossCheckReport>,
    property: Property,
}

/// Run `check`: check the result paths, verify, print the outcome, then
/// write the result files. With `--results`, a run that cannot use its
/// input writes `error` there; with `--json` it prints [`error_json`].
pub fn check(args: &CheckArgs) -> Result<Exit> {
    // The phases of a part of `reluverify split`, if any (checked against
    // the model and property files before anything else is loaded).
    let phases = match &args.phases {
        Some(p) => super::split::read_phases(p, &args.model, &args.spec)?,
        None => Vec::new(),
    };
    run(&args.run, phases, || {
        let (net, prop, format) = super::load_problem(&args.model, &args.spec, &args.run.limits)?;
        Ok((net, prop, format!("{format:?} format")))
    })
}

/// `robustness`: the property that the argmax stays `--label` on the ball
/// of `--eps` around `--center`, checked as `check` checks a file's.
pub fn robustness(args: &RobustnessArgs) -> Result<Exit> {
    run(&args.run, Vec::new(), || {
        let limits = args.run.limits.limits()?;
        let net = crate::model::load_with(&args.model, &limits)?;
        let center = super::point::read(&args.center, &limits)?;
        let (lower, upper) = (args.lower.map(|l| [l]), args.upper.map(|u| [u]));
        let prop = crate::spec::robustness::property(
            &center,
            args.eps,
            args.label,
            lower.as_ref().map(|l| &l[..]),
            upper.as_ref().map(|u| &u[..]),
        )
        .and_then(|p| p.fit(&net))
        .map_err(|e| Error::new(ErrorKind::Usage, e.message()))?;
        let what = format!(
            "argmax {} on the L-infinity ball of radius {} around {}",
            args.label,
            args.eps,
            args.center.display()
        );
        Ok((net, prop, what))
    })
}

/// Check the problem `load` builds (the network, the property and what the
/// property is, for `-v`), report it as `args` says, and map the verdict to
/// the exit code. Only the inputs where the `phases` hold are searched
/// ([`crate::Settings::fixed_phases`]).
fn run(
    args: &RunArgs,
    phases: Vec<Constraint>,
    load: impl FnOnce() -> Result<(Network, Property, String)>,
) -> Result<Exit> {
    let report = check_paths(args).and_then(|()| run_check(args, phases, load));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            if let Some(path) = &args.results {
                // Best effort: the error itself is what the user must see.
                let _ = output::write_atomic(path, b"error\n");
            }
            if let Some(path) = &args.witness {
                // No counterexample from this run: none may be left behind.
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    if args.json {
        let mut v = outcome_json(&report.outcome, &report.property);
        if let Some(c) = &report.cross {
            v["cross_check"] = cross_check_json(c, &report.property);
        }
        output::stdout(&format!("{v}\n"));
    } else {
        let mut text = format_text(&report.outcome, &report.property, args.witness.as_deref());
        if let Some(c) = &report.cross {
            text += &format_cross_check(c, &report.outcome.verdict);
        }
        output::stdout(&text);
    }
    write_files(args, &report)?;
    match report.cross.map(|c| c.result) {
        Some(CrossCheck::Disagrees { witness }) => Err(disagreement(&report.outcome.verdict, &witness)),
        _ => Ok(Exit::of(&report.outcome.verdict)),
    }
}

/// Fail early when a result file could not be written (see
/// [`output::check_writable`]).
fn check_paths(args: &RunArgs) -> Result<()> {
    [&args.witness, &args.results, &args.stats_json].into_iter().flatten().try_for_each(|p| output::check_writable(p))
}

/// Write `--witness` (or remove a stale one), `--stats-json` and `--results`,
/// each atomically; the first failure is returned after trying them all.
fn write_files(args: &RunArgs, r: &Report) -> Result<()> {
    let mut first_error = None;
    let mut keep = |res: Result<()>| {
        if let Err(e) = res {
            first_error.get_or_insert(e);
        }
    };
    if let Some(path) = &args.witness {
        keep(match &r.outcome.verdict {
            Verdict::Violated { witness } => {
                let text =
                    serde_json::to_string_pretty(&witness_json(witness, &r.property)).expect("JSON of plain numbers");
                output::write_atomic(path, (text + "\n").as_bytes())
            }
            _ => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
                _ => Ok(()),
            },
        });
    }
    if let Some(path) = &args.stats_json {
        let v = outcome_json(&r.outcome, &r.property);
        let stats = stamped(json!({"verdict": v["verdict"], "seconds": v["seconds"], "stats": v["stats"]}));
        keep(output::write_atomic(path, format!("{stats}\n").as_bytes()));
    }
    if let Some(path) = &args.results {
        keep(output::write_atomic(path, vnncomp_result(&r.outcome).as_bytes()));
    }
    first_error.map_or(Ok(()), Err)
}

/// The VNN-COMP result file: first line `sat`, `unsat`, `timeout` or
/// `unknown`; for `sat` the counterexample follows as
/// `((X_0 v) ... (Y_0 v) ...)` with every digit needed to round-trip.
pub fn vnncomp_result(o: &Outcome) -> String {
    match &o.verdict {
        Verdict::Holds { .. } => "unsat\n".into(),
        Verdict::Violated { witness } => {
            let mut s = String::from("sat\n(");
            for (i, v) in witness.input().iter().enumerate() {
                s += &format!("(X_{i} {v})\n");
            }
            for (i, v) in witness.output().iter().enumerate() {
                s += &format!("(Y_{i} {v})\n");
            }
            s.pop();
            s + ")\n"
        }
        Verdict::Unknown { reason: UnknownReason::TimeLimit } => "timeout\n".into(),
        Verdict::Unknown { .. } => "unknown\n".into(),
    }
}

fn run_check(
    args: &RunArgs,
    fixed_phases: Vec<Constraint>,
    load: impl FnOnce() -> Result<(Network, Property, String)>,
) -> Result<Report> {
    let settings = crate::Settings { fixed_phases, ..args.search.settings(args.timeout)? };
    if let Some(t) = args.cross_check_timeout.filter(|t| !(t.is_finite() && *t > 0.0)) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--cross-check-timeout must be a positive number of seconds, got {t}"),
        ));
    }
    let (net, prop, format) = load()?;
    if args.verbose {
        output::stderr(&format!(
            "model: {} inputs, {} outputs, {} layers{}; property: {}, {} region(s)\n",
            net.input_dim(),
            net.output_dim(),
            net.layers().len(),
            net.output_activation().map_or(String::new(), |a| format!(", then {}", a.op_name())),
            format,
            prop.regions.len()
        ));
    }
    let outcome = verify(&net, &prop, &settings)?;
    if args.verbose {
        output::stderr(&verbose_text(&net, &outcome));
    }
    let cross = if args.cross_check { Some(run_cross_check(args, &net, &prop, &outcome)?) } else { None };
    Ok(Report { outcome, cross, property: prop })
}

/// What `-v` adds on standard error: each region's root bounds, the phase
/// times and the numerics of the encodings.
fn verbose_text(net: &Network, outcome: &Outcome) -> String {
    let mut out = String::new();
    for note in &outcome.stats.notes {
        let _ = writeln!(out, "{note}");
    }
    // The bounds of each region's whole box the search started from (none
    // when sampling found a counterexample first).
    for (k, root) in outcome.stats.root_bounds.iter().enumerate() {
        let _ = writeln!(out, "region {k} ({} search):", search_name(&outcome.stats));
        out += &format_method(&bounds_report(net, &root.bounds, root.method, root.time));
    }
    let p = &outcome.stats.phases;
    let _ = writeln!(
        out,
        "phases: falsify {:.3} s, bounds {:.3} s, search {:.3} s",
        p.falsify.as_secs_f64(),
        p.bounds.as_secs_f64(),
        p.search.as_secs_f64()
    );
    if let Some(sc) = &outcome.stats.scaling {
        let _ = writeln!(
            out,
            "numerics: largest neuron bound {:.3e}; coefficients {:.3e} to {:.3e}; {} too small for the solver \
             (loosening a row by up to {:.3e}); f64 rounding of unsafe rows about {:.3e}",
            sc.max_bound, sc.min_coeff, sc.max_coeff, sc.dropped_count, sc.dropped, sc.rounding
        );
    }
    out
}

/// Default `--cross-check` budget without `--timeout`, in seconds.
const CROSS_CHECK_DEFAULT_SECS: f64 = 60.0;

/// Cross-check the outcome within `--cross-check-timeout` (validated by
/// `run_check`), or the time `--timeout` leaves, or
/// [`CROSS_CHECK_DEFAULT_SECS`].
fn run_cross_check(args: &RunArgs, net: &Network, prop: &Property, outcome: &Outcome) -> Result<CrossCheckReport> {
    let secs = match (args.cross_check_timeout, args.timeout) {
        (Some(t), _) => t,
        (None, Some(t)) => (t - outcome.stats.elapsed.as_secs_f64()).max(0.0),
        (None, None) => CROSS_CHECK_DEFAULT_SECS,
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    cross_check(net, prop, &outcome.verdict, Some(deadline), args.search.threads)
}

/// The error a cross-check disagreement turns into.
fn disagreement(verdict: &Verdict, w: &Witness) -> Error {
    let what = match verdict {
        Verdict::Violated { .. } => "the witness of `violated` fails the f64 check when checked again",
        _ => {
            "the search answered `holds`, but the cross-check found a counterexample (validated by an f64 forward pass)"
        }
    };
    Error::new(
        ErrorKind::Disagreement,
        format!(
            "verdicts disagree: {what}: input {:?}, output {:?} (region {}, disjunct {}). This is a bug in \
             reluverify; please report it with the model and property files",
            w.input(),
            w.output(),
            w.region(),
            w.disjunct()
        ),
    )
}

/// `cross_check` in the JSON output: `result` (`confirmed`, `disagrees`,
/// `inconclusive`), `seconds`, `boxes`, and `witness` or `reason`.
fn cross_check_json(c: &CrossCheckReport, prop: &Property) -> Value {
    let mut v = json!({ "seconds": c.elapsed.as_secs_f64(), "boxes": c.boxes });
    match &c.result {
        CrossCheck::Confirmed => v["result"] = json!("confirmed"),
        CrossCheck::Disagrees { witness } => {
            v["result"] = json!("disagrees");
            v["witness"] = witness_json(witness, prop);
        }
        CrossCheck::Inconclusive { reason } => {
            v["result"] = json!("inconclusive");
            v["reason"] = json!(reason);
        }
    }
    v
}

fn format_cross_check(c: &CrossCheckReport, verdict: &Verdict) -> String {
    let cost = format!("{} boxes, {:.3} s", c.boxes, c.elapsed.as_secs_f64());
    let line = match &c.result {
        CrossCheck::Inconclusive { reason } if matches!(verdict, Verdict::Unknown { .. }) => {
            format!("cross-check: not run, {reason}")
        }
        CrossCheck::Confirmed if matches!(verdict, Verdict::Violated { .. }) => {
            "cross-check: the witness passes the f64 check again".to_string()
        }
        CrossCheck::Confirmed => format!("cross-check: confirmed by input splitting without MILP ({cost})"),
        CrossCheck::Disagrees { .. } => format!("cross-check: DISAGREES ({cost})"),
        CrossCheck::Inconclusive { reason } => {
            format!("cross-check: inconclusive, {reason} ({cost}); the verdict stands")
        }
    };
    line + "\n"
}

/// The unsafe constraints a witness's output meets: each constraint of the
/// disjunct it satisfies, with its margin `rhs - c·y >= 0` (how far inside
/// the unsafe set the output lies).
fn met_constraints<'a>(w: &Witness, prop: &'a Property) -> Vec<(&'a LinearConstraint, f64)> {
    prop.regions
        .get(w.region())
        .and_then(|r| r.unsafe_set.disjuncts.get(w.disjunct()))
        .map(|d| d.constraints.iter().map(|c| (c, -c.slack_violation(w.output()))).collect())
        .unwrap_or_default()
}

/// A constraint as the user would write it: terms with positive
/// coefficients on the left, the others moved to the right (`y1 <= y0`,
/// `2*y3 <= y4 + 0.5`), or, when every coefficient is negative, the `>=`
/// form (`y0 >= 1.5` for `-y0 <= -1.5`).
fn format_constraint(c: &LinearConstraint, names: &[String]) -> String {
    let name = |k: usize| names.get(k).filter(|n| !n.is_empty()).cloned().unwrap_or_else(|| format!("y{k}"));
    let terms = |positive: bool| {
        let parts: Vec<String> = c
            .coeffs
            .iter()
            .filter(|&&(_, a)| (a > 0.0) == positive && a != 0.0)
            .map(|&(k, a)| if a.abs() == 1.0 { name(k) } else { format!("{}*{}", a.abs(), name(k)) })
            .collect();
        parts.join(" + ")
    };
    let (left, right) = (terms(true), terms(false));
    match (left.is_empty(), right.is_empty()) {
        (true, true) => format!("0 <= {}", c.rhs),
        (true, false) => format!("{right} >= {}", -c.rhs),
        (false, true) => format!("{left} <= {}", c.rhs),
        (false, false) if c.rhs == 0.0 => format!("{left} <= {right}"),
        (false, false) if c.rhs < 0.0 => format!("{left} <= {right} - {}", -c.rhs),
        (false, false) => format!("{left} <= {right} + {}", c.rhs),
    }
}

/// Vectors longer than this are summarised in text output (the full vector
/// is in `--witness` and `--json`).
const SHOWN_VALUES: usize = 10;

/// A vector for text output: every value when short, otherwise the first
/// [`SHOWN_VALUES`] and the extremes with their positions.
pub(super) fn format_vector(v: &[f64], names: &[String]) -> String {
    if v.len() <= SHOWN_VALUES {
        if names.len() == v.len() && names.iter().all(|n| !n.is_empty()) {
            let pairs: Vec<String> = names.iter().zip(v).map(|(n, x)| format!("{n} = {x}")).collect();
            return pairs.join(", ");
        }
        return format!("{v:?}");
    }
    let (imin, min) =
        v.iter().copied().enumerate().fold((0, f64::INFINITY), |a, (i, x)| if x < a.1 { (i, x) } else { a });
    let (imax, max) =
        v.iter().copied().enumerate().fold((0, f64::NEG_INFINITY), |a, (i, x)| if x > a.1 { (i, x) } else { a });
    let head: Vec<String> = v[..SHOWN_VALUES].iter().map(|x| format!("{x}")).collect();
    format!("[{}, ...] ({} values; min {min} at [{imin}], max {max} at [{imax}])", head.join(", "), v.len())
}

/// A witness in JSON: `input`, `output`, `region`, `disjunct`, and `unsafe`:
/// the constraints of the disjunct the output meets, each with its margin.
fn witness_json(w: &Witness, prop: &Property) -> Value {
    let met: Vec<Value> = met_constraints(w, prop)
        .into_iter()
        .map(|(c, m)| json!({"constraint": format_constraint(c, &prop.output_names), "margin": m}))
        .collect();
    json!({ "input": w.input(), "output": w.output(), "region": w.region(), "disjunct": w.disjunct(), "unsafe": met })
}

/// The name of the search that ran, or `none`.
fn search_name(s: &Stats) -> &'static str {
    s.search.map_or("none", |p| p.name())
}

/// The machine-readable form of an outcome (stamped with the version and schema). Neuron counts are
/// those of one region (the one with the most unstable neurons) and `null`
/// when no region was bounded; `regions` lists each bounded region's.
pub fn outcome_json(o: &Outcome, prop: &Property) -> Value {
    let s = &o.stats;
    let regions: Vec<Value> =
        s.region_unstable.iter().map(|&u| json!({"stable": s.neurons - u, "unstable": u})).collect();
    let mut v = json!({
        "verdict": o.verdict.name(),
        "seconds": s.elapsed.as_secs_f64(),
        "stats": {
            "neurons": s.neurons, "stable": s.stable(), "unstable": s.unstable(), "regions": regions,
            "binaries": s.binaries, "milps": s.milps, "proved_by_bounds": s.proved_by_bounds,
            "boxes": s.boxes, "strategy": search_name(s),
            "phases": {
                "falsify_seconds": s.phases.falsify.as_secs_f64(),
                "bounds_seconds": s.phases.bounds.as_secs_f64(),
                "search_seconds": s.phases.search.as_secs_f64(),
            },
        },
        "warnings": s.warnings,
    });
    match &o.verdict {
        Verdict::Holds { proved_by } => v["proved_by"] = json!(proved_by.name()),
        Verdict::Violated { witness } => v["witness"] = witness_json(witness, prop),
        Verdict::Unknown { reason } => v["reason"] = json!(reason.to_string()),
    }
    stamped(v)
}

/// The neuron counts of the text report: one region's, or the hardest
/// region's of several.
fn format_neurons(s: &Stats) -> String {
    let (Some(stable), Some(unstable)) = (s.stable(), s.unstable()) else {
        return format!("neurons: {} total", s.neurons);
    };
    let which = match s.region_unstable.len() {
        1 => "on the whole region".to_string(),
        n => format!("on the hardest of {n} regions"),
    };
    format!("neurons: {} total, {stable} stable, {unstable} unstable {which}", s.neurons)
}

/// The text report. `witness_file` is where `--witness` writes the full
/// counterexample, named when a vector is summarised.
fn format_text(o: &Outcome, prop: &Property, witness_file: Option<&Path>) -> String {
    let s = &o.stats;
    let mut out = String::new();
    let _ = match &o.verdict {
        Verdict::Holds { proved_by } => writeln!(out, "holds (proved by {})", proved_by.name()),
        Verdict::Violated { .. } => writeln!(out, "violated"),
        Verdict::Unknown { reason } => writeln!(out, "unknown: {reason}"),
    };
    let _ = writeln!(out, "time: {:.3} s", s.elapsed.as_secs_f64());
    let _ = match s.search {
        Some(SearchPath::Falsify) => {
            writeln!(out, "search: found by sampling and gradient descent before any proof search")
        }
        Some(path @ (SearchPath::InputSplit | SearchPath::PhaseSplit)) => {
            let (kind, parts) = if path == SearchPath::InputSplit { ("input", "boxes") } else { ("phase", "domains") };
            writeln!(
                out,
                "{}, before splitting\nsearch: {kind} splitting, {} {parts}, {} proved by bounds, {} MILPs solved \
                 (largest: {} binaries)",
                format_neurons(s),
                s.boxes,
                s.proved_by_bounds,
                s.milps,
                s.binaries
            )
        }
        _ => writeln!(out, "{}; binaries: {}; MILPs solved: {}", format_neurons(s), s.binaries, s.milps),
    };
    if let Verdict::Violated { witness } = &o.verdict {
        let _ = writeln!(
            out,
            "counterexample (validated by an f64 forward pass), region {}, unsafe disjunct {}:",
            witness.region(),
            witness.disjunct()
        );
        let _ = writeln!(out, "  input:  {}", format_vector(witness.input(), &prop.input_names));
        let _ = writeln!(out, "  output: {}", format_vector(witness.output(), &prop.output_names));
        for (c, margin) in met_constraints(witness, prop) {
            let _ = writeln!(out, "  unsafe: {} (met by {margin:.3e})", format_constraint(c, &prop.output_names));
        }
        if witness.input().len().max(witness.output().len()) > SHOWN_VALUES {
            let _ = match witness_file {
                Some(f) => writeln!(out, "  (the full vectors are in {})", f.display()),
                None => writeln!(out, "  (--witness FILE or --json gives the full vectors)"),
            };
        }
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::ProofMethod;

    fn outcome(verdict: Verdict) -> Outcome {
        Outcome { verdict, stats: Stats::default() }
    }

    #[test]
    fn cross_check_disagreement_is_an_error_with_the_witness() {
        let w = Witness::unchecked(vec![0.5], vec![-1.0], 0, 0);
        let holds = Verdict::Holds { proved_by: ProofMethod::Milp };
        let e = disagreement(&holds, &w);
        assert_eq!(e.kind(), ErrorKind::Disagreement);
        assert!(e.message().contains("verdicts disagree") && e.message().contains("[0.5]"), "{e}");
        let report = CrossCheckReport {
            result: CrossCheck::Disagrees { witness: w },
            boxes: 3,
            elapsed: std::time::Duration::ZERO,
        };
        let v = cross_check_json(&report, &Property::new(vec![]));
        assert_eq!((v["result"].as_str(), v["boxes"].as_u64()), (Some("disagrees"), Some(3)));
        assert_eq!(v["witness"]["input"][0], 0.5);
    }

    #[test]
    fn vnncomp_result_file_format() {
        assert_eq!(vnncomp_result(&outcome(Verdict::Holds { proved_by: ProofMethod::Bounds })), "unsat\n");
        assert_eq!(vnncomp_result(&outcome(Verdict::Unknown { reason: UnknownReason::TimeLimit })), "timeout\n");
        assert_eq!(
            vnncomp_result(&outcome(Verdict::Unknown { reason: UnknownReason::UnvalidatedWitness })),
            "unknown\n"
        );
        let w = Witness::unchecked(vec![0.1, -2.5e-8], vec![1.0 / 3.0], 0, 0);
        let text = vnncomp_result(&outcome(Verdict::Violated { witness: w }));
        assert_eq!(text, "sat\n((X_0 0.1)\n(X_1 -0.000000025)\n(Y_0 0.3333333333333333))\n");
        // Every value round-trips exactly.
        let y: f64 = text.lines().nth(3).unwrap().trim_start_matches("(Y_0 ").trim_end_matches("))").parse().unwrap();
        assert_eq!(y, 1.0 / 3.0);
    }

    #[test]
    fn constraints_read_as_written() {
        let c = |coeffs: Vec<(usize, f64)>, rhs| LinearConstraint { coeffs, rhs };
        let named = ["steer".to_string(), "speed".to_string()];
        assert_eq!(format_constraint(&c(vec![(0, -1.0)], -1.5), &named), "steer >= 1.5");
        assert_eq!(format_constraint(&c(vec![(1, 2.0), (0, -1.0)], 0.0), &named), "2*speed <= steer");
        assert_eq!(format_constraint(&c(vec![(0, -1.0)], -1.5), &[]), "y0 >= 1.5");
        assert_eq!(format_constraint(&c(vec![(3, 2.0), (4, -1.0)], 0.5), &[]), "2*y3 <= y4 + 0.5");
        assert_eq!(format_constraint(&c(vec![(1, 1.0), (0, -1.0)], 0.0), &[]), "y1 <= y0");
        assert_eq!(format_constraint(&c(vec![(1, 1.0), (0, -3.0), (2, -1.0)], -2.0), &[]), "y1 <= 3*y0 + y2 - 2");
        assert_eq!(format_constraint(&c(vec![(0, -2.0), (1, -1.0)], 1.0), &[]), "2*y0 + y1 >= -1");
        assert_eq!(format_constraint(&c(vec![], 1.0), &[]), "0 <= 1");
    }

    #[test]
    fn long_vectors_are_summarised_with_their_extremes() {
        assert_eq!(format_vector(&[1.0, -2.0], &[]), "[1.0, -2.0]");
        assert_eq!(format_vector(&[15.2, 0.5], &["speed".into(), "gap".into()]), "speed = 15.2, gap = 0.5");
        let mut v = vec![0.5; 784];
        v[400] = 1.0;
        v[12] = -0.25;
        let text = format_vector(&v, &[]);
        assert!(
            text.contains("784 values") && text.contains("min -0.25 at [12]") && text.contains("max 1 at [400]"),
            "{text}"
        );
        assert!(text.len() < 200, "{text}");
    }

    #[test]
    fn witness_names_the_unsafe_constraints_it_meets_with_margins() {
        use crate::spec::{Conjunction, Dnf, InputBox, Region};
        let prop = Property::new(vec![Region {
            input: InputBox::new(vec![0.0], vec![1.0]).unwrap(),
            input_constraints: vec![],
            unsafe_set: Dnf {
                disjuncts: vec![Conjunction {
                    constraints: vec![LinearConstraint { coeffs: vec![(0, -1.0)], rhs: -1.5 }],
                }],
            },
        }]);
        let w = Witness::unchecked(vec![0.5], vec![1.68], 0, 0);
        let v = witness_json(&w, &prop);
        assert_eq!(v["unsafe"][0]["constraint"], "y0 >= 1.5");
        assert!((v["unsafe"][0]["margin"].as_f64().unwrap() - 0.18).abs() < 1e-12);
        let text = format_text(&outcome(Verdict::Violated { witness: w }), &prop, None);
        assert!(text.contains("unsafe: y0 >= 1.5 (met by 1.800e-1)"), "{text}");
    }

    #[test]
    fn neuron_counts_never_sum_over_regions() {
        let stats = Stats { neurons: 300, region_unstable: vec![247, 100], ..Stats::default() };
        let o = Outcome { verdict: Verdict::Holds { proved_by: ProofMethod::Bounds }, stats };
        let v = outcome_json(&o, &Property::new(vec![]));
        assert_eq!((v["stats"]["stable"].as_u64(), v["stats"]["unstable"].as_u64()), (Some(53), Some(247)));
        assert_eq!(v["stats"]["regions"][1]["stable"], 200);
        assert_eq!(v["schema"], JSON_SCHEMA);
        assert!(format_text(&o, &Property::new(vec![]), None).contains("hardest of 2 regions"));
        let none = outcome_json(&outcome(Verdict::Holds { proved_by: ProofMethod::Bounds }), &Property::new(vec![]));
        assert!(none["stats"]["stable"].is_null() && none["stats"]["unstable"].is_null());
    }
}
