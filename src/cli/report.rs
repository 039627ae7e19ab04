//! Running `check` and printing its outcome as text or JSON.

use serde_json::{json, Value};

use super::args::CheckArgs;
use super::bounds::{bounds_report, format_method};
use super::exit::Exit;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Network;
use crate::search::cross_check::{cross_check, CrossCheck, CrossCheckReport};
use crate::spec::Property;
use crate::verdict::{Outcome, SearchPath, Stats, UnknownReason, Verdict, Witness};
use crate::verify;

/// Run `check` and print the outcome; with `--results`, also write the
/// VNN-COMP result file (`error` when the input could not be used).
pub fn check(args: &CheckArgs) -> Result<Exit> {
    let result = run_check(args);
    if let Some(path) = &args.results {
        let text = match &result {
            Ok(outcome) => vnncomp_result(outcome),
            Err(_) => "error\n".to_string(),
        };
        std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
    }
    result.map(|o| Exit::of(&o.verdict))
}

/// The VNN-COMP result file: first line `sat`, `unsat`, `timeout` or
/// `unknown`; for `sat` the counterexample follows as
/// `((X_0 v) ... (Y_0 v) ...)` with every digit needed to round-trip.
pub fn vnncomp_result(o: &Outcome) -> String {
    match &o.verdict {
        Verdict::Holds { .. } => "unsat\n".into(),
        Verdict::Violated { witness } => {
            let mut s = String::from("sat\n(");
            for (i, v) in witness.input.iter().enumerate() {
                s += &format!("(X_{i} {v})\n");
            }
            for (i, v) in witness.output.iter().enumerate() {
                s += &format!("(Y_{i} {v})\n");
            }
            s.pop();
            s + ")\n"
        }
        Verdict::Unknown { reason: UnknownReason::TimeLimit } => "timeout\n".into(),
        Verdict::Unknown { .. } => "unknown\n".into(),
    }
}

fn run_check(args: &CheckArgs) -> Result<Outcome> {
    let settings = args.search.settings(args.timeout)?;
    if let Some(t) = args.cross_check_timeout.filter(|t| !(t.is_finite() && *t > 0.0)) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--cross-check-timeout must be a positive number of seconds, got {t}"),
        ));
    }
    let (net, prop, format) = super::load_problem(&args.model, &args.spec, &args.limits)?;
    if args.verbose {
        eprintln!(
            "model: {} ({} inputs, {} outputs, {} layers{}); property: {:?} format, {} region(s)",
            args.model.display(),
            net.input_dim(),
            net.output_dim(),
            net.layers().len(),
            net.output_activation().map_or(String::new(), |a| format!(", then {}", a.op_name())),
            format,
            prop.regions.len()
        );
    }
    let outcome = verify(&net, &prop, &settings)?;
    if args.verbose {
        for note in &outcome.stats.notes {
            eprintln!("{note}");
        }
        // The bounds of each region's whole box the search started from
        // (none when sampling found a counterexample first).
        for (k, root) in outcome.stats.root_bounds.iter().enumerate() {
            eprintln!("region {k} ({} search):", search_name(&outcome.stats));
            eprint!("{}", format_method(&bounds_report(&net, &root.bounds, root.method, root.time)));
        }
        let p = &outcome.stats.phases;
        eprintln!(
            "phases: falsify {:.3} s, bounds {:.3} s, search {:.3} s",
            p.falsify.as_secs_f64(),
            p.bounds.as_secs_f64(),
            p.search.as_secs_f64()
        );
        if let Some(sc) = &outcome.stats.scaling {
            eprintln!(
                "numerics: largest neuron bound {:.3e}; coefficients {:.3e} to {:.3e}; {} too small for the solver \
                 (loosening a row by up to {:.3e}); f64 rounding of unsafe rows about {:.3e}",
                sc.max_bound, sc.min_coeff, sc.max_coeff, sc.dropped_count, sc.dropped, sc.rounding
            );
        }
    }
    if let (Some(path), Verdict::Violated { witness }) = (&args.witness, &outcome.verdict) {
        let text = serde_json::to_string_pretty(&witness_json(witness)).expect("JSON of plain numbers");
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))?;
    }
    if let Some(path) = &args.stats_json {
        let v = outcome_json(&outcome);
        let stats = json!({"verdict": v["verdict"], "seconds": v["seconds"], "stats": v["stats"]});
        std::fs::write(path, format!("{stats}\n")).map_err(|e| Error::io(path, e))?;
    }
    let cross = if args.cross_check { Some(run_cross_check(args, &net, &prop, &outcome)?) } else { None };
    if args.json {
        let mut v = outcome_json(&outcome);
        if let Some(c) = &cross {
            v["cross_check"] = cross_check_json(c);
        }
        println!("{v}");
    } else {
        print_text(&outcome);
        if let Some(c) = &cross {
            print_cross_check(c, &outcome.verdict);
        }
    }
    match cross.map(|c| c.result) {
        Some(CrossCheck::Disagrees { witness }) => Err(disagreement(&outcome.verdict, &witness)),
        _ => Ok(outcome),
    }
}

/// Default `--cross-check` budget without `--timeout`, in seconds.
const CROSS_CHECK_DEFAULT_SECS: f64 = 60.0;

/// Cross-check the outcome within `--cross-check-timeout` (validated by
/// `run_check`), or the time `--timeout` leaves, or
/// [`CROSS_CHECK_DEFAULT_SECS`].
fn run_cross_check(args: &CheckArgs, net: &Network, prop: &Property, outcome: &Outcome) -> Result<CrossCheckReport> {
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
            w.input, w.output, w.region, w.disjunct
        ),
    )
}

/// `cross_check` in the JSON output: `result` (`confirmed`, `disagrees`,
/// `inconclusive`), `seconds`, `boxes`, and `witness` or `reason`.
fn cross_check_json(c: &CrossCheckReport) -> Value {
    let mut v = json!({ "seconds": c.elapsed.as_secs_f64(), "boxes": c.boxes });
    match &c.result {
        CrossCheck::Confirmed => v["result"] = json!("confirmed"),
        CrossCheck::Disagrees { witness } => {
            v["result"] = json!("disagrees");
            v["witness"] = witness_json(witness);
        }
        CrossCheck::Inconclusive { reason } => {
            v["result"] = json!("inconclusive");
            v["reason"] = json!(reason);
        }
    }
    v
}

fn print_cross_check(c: &CrossCheckReport, verdict: &Verdict) {
    let cost = format!("{} boxes, {:.3} s", c.boxes, c.elapsed.as_secs_f64());
    match &c.result {
        CrossCheck::Inconclusive { reason } if matches!(verdict, Verdict::Unknown { .. }) => {
            println!("cross-check: not run, {reason}")
        }
        CrossCheck::Confirmed if matches!(verdict, Verdict::Violated { .. }) => {
            println!("cross-check: the witness passes the f64 check again")
        }
        CrossCheck::Confirmed => println!("cross-check: confirmed by input splitting without MILP ({cost})"),
        CrossCheck::Disagrees { .. } => println!("cross-check: DISAGREES ({cost})"),
        CrossCheck::Inconclusive { reason } => {
            println!("cross-check: inconclusive, {reason} ({cost}); the verdict stands")
        }
    }
}

fn witness_json(w: &Witness) -> Value {
    json!({ "input": w.input, "output": w.output, "region": w.region, "disjunct": w.disjunct })
}

/// The name of the search that ran, or `none`.
fn search_name(s: &Stats) -> &'static str {
    s.search.map_or("none", |p| p.name())
}

/// The machine-readable form of an outcome.
pub fn outcome_json(o: &Outcome) -> Value {
    let s = &o.stats;
    let mut v = json!({
        "verdict": o.verdict.name(),
        "seconds": s.elapsed.as_secs_f64(),
        "stats": {
            "neurons": s.neurons, "stable": s.stable, "unstable": s.unstable,
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
        Verdict::Violated { witness } => v["witness"] = witness_json(witness),
        Verdict::Unknown { reason } => v["reason"] = json!(reason.to_string()),
    }
    v
}

fn print_text(o: &Outcome) {
    let s = &o.stats;
    match &o.verdict {
        Verdict::Holds { proved_by } => println!("holds (proved by {})", proved_by.name()),
        Verdict::Violated { .. } => println!("violated"),
        Verdict::Unknown { reason } => println!("unknown: {reason}"),
    }
    println!("time: {:.3} s", s.elapsed.as_secs_f64());
    match s.search {
        Some(SearchPath::Falsify) => println!("search: found by sampling and gradient descent before any proof search"),
        Some(path @ (SearchPath::InputSplit | SearchPath::PhaseSplit)) => {
            println!(
                "neurons: {} total, {} stable, {} unstable on the whole region, before splitting",
                s.neurons, s.stable, s.unstable
            );
            let (kind, parts) =
                if path == SearchPath::InputSplit { ("input", "boxes") } else { ("phase", "domains") };
            println!(
                "search: {kind} splitting, {} {parts}, {} proved by bounds, {} MILPs solved (largest: {} binaries)",
                s.boxes, s.proved_by_bounds, s.milps, s.binaries
            )
        }
        _ => println!(
            "neurons: {} total, {} stable, {} unstable; binaries: {}; MILPs solved: {}",
            s.neurons, s.stable, s.unstable, s.binaries, s.milps
        ),
    }
    if let Verdict::Violated { witness } = &o.verdict {
        println!("counterexample (validated by an f64 forward pass):");
        println!("  input:  {:?}", witness.input);
        println!("  output: {:?}", witness.output);
    }
    for w in &s.warnings {
        println!("warning: {w}");
    }
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
        let w = Witness { input: vec![0.5], output: vec![-1.0], region: 0, disjunct: 0 };
        let holds = Verdict::Holds { proved_by: ProofMethod::Milp };
        let e = disagreement(&holds, &w);
        assert_eq!(e.kind(), ErrorKind::Disagreement);
        assert!(e.message().contains("verdicts disagree") && e.message().contains("[0.5]"), "{e}");
        let report = CrossCheckReport {
            result: CrossCheck::Disagrees { witness: w },
            boxes: 3,
            elapsed: std::time::Duration::ZERO,
        };
        let v = cross_check_json(&report);
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
        let w = Witness { input: vec![0.1, -2.5e-8], output: vec![1.0 / 3.0], region: 0, disjunct: 0 };
        let text = vnncomp_result(&outcome(Verdict::Violated { witness: w }));
        assert_eq!(text, "sat\n((X_0 0.1)\n(X_1 -0.000000025)\n(Y_0 0.3333333333333333))\n");
        // Every value round-trips exactly.
        let y: f64 = text.lines().nth(3).unwrap().trim_start_matches("(Y_0 ").trim_end_matches("))").parse().unwrap();
        assert_eq!(y, 1.0 / 3.0);
    }
}
