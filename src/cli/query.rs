//! `range`, `radius` and `equiv`: load the files, call the `query` engine,
//! print text or one JSON object, map the answer to an exit code.
//!
//! Exit codes (the README repeats them): `range` and `radius` exit 0 when
//! the stopping rule was met (gap, tolerance, or the property holds on the
//! whole valid range) and 3 when cut short by the time limit or an
//! undecided run (the best certified answer is printed either way);
//! `equiv` exits 0 equivalent, 1 differs (validated input printed), 3
//! unknown. Every command exits 2 on an error.

use std::path::Path;

use serde_json::{json, Value};

use super::args::{EquivArgs, QueryRunArgs, RadiusArgs, RangeArgs};
use super::exit::Exit;
use super::{output, point, report};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{self, Network};
use crate::query::equiv::{self, Agreement, Equivalence};
use crate::query::radius::{self, Ball, Radius};
use crate::query::range::{self, Extreme};
use crate::query::Stopped;
use crate::settings::Settings;
use crate::spec::{self, robustness, Property};

/// The network and the property's regions named on the command line.
fn load(model_path: &Path, spec_path: &Path, run: &QueryRunArgs) -> Result<(Network, Property, Settings)> {
    let limits = run.limits.limits()?;
    let net = model::load_with(model_path, &limits)?;
    let (prop, _) = spec::load_with(spec_path, &limits)?;
    let prop = prop.fit(&net).map_err(|e| e.with_path(spec_path))?;
    Ok((net, prop, run.search.settings(run.timeout)?))
}

/// `null` for a stop that did not happen, else its reason.
fn stopped_json(s: &Stopped) -> Value {
    s.as_ref().map_or(Value::Null, |r| json!(r.to_string()))
}

/// Parse an objective such as `y0 - 0.5*y3 + 2 y1` (also `Y_0`, `y[0]`)
/// into `(output, coefficient)` pairs, repeated outputs summed.
pub(crate) fn parse_objective(text: &str) -> Result<Vec<(usize, f64)>> {
    let bad = |why: String| {
        Error::new(
            ErrorKind::Usage,
            format!("--objective {text:?}: {why}; expected terms such as \"y0 - 0.5*y3 + 2 y1\""),
        )
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(bad("it is empty".into()));
    }
    // Split before every sign that starts a term (not one after an exponent's `e`).
    let mut terms = Vec::new();
    let mut start = 0;
    let bytes = compact.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E' | b'*') {
            terms.push(&compact[start..i]);
            start = i;
        }
    }
    terms.push(&compact[start..]);
    let mut out: Vec<(usize, f64)> = Vec::new();
    for term in terms {
        let lower = term.to_ascii_lowercase();
        let at = lower.rfind('y').ok_or_else(|| bad(format!("term {term:?} names no output y<K>")))?;
        let coeff = lower[..at].trim_end_matches('*');
        let coeff = match coeff {
            "" | "+" => 1.0,
            "-" => -1.0,
            c => c.parse::<f64>().map_err(|_| bad(format!("{c:?} is not a number")))?,
        };
        let index = lower[at + 1..].trim_start_matches('_').trim_start_matches('[').trim_end_matches(']');
        let k = index.parse::<usize>().map_err(|_| bad(format!("{index:?} is not an output index")))?;
        match out.iter_mut().find(|(j, _)| *j == k) {
            Some(e) => e.1 += coeff,
            None => out.push((k, coeff)),
        }
    }
    Ok(out)
}

/// The objective as text (`y0 - 0.5*y3`).
fn objective_text(c: &[(usize, f64)]) -> String {
    let mut s = String::new();
    for (n, &(k, w)) in c.iter().enumerate() {
        s += match (n, w < 0.0) {
            (0, true) => "-",
            (0, false) => "",
            (_, true) => " - ",
            (_, false) => " + ",
        };
        if w.abs() != 1.0 {
            s += &format!("{}*", w.abs());
        }
        s += &format!("y{k}");
    }
    s
}

/// `range`: the certified interval of each objective's minimum and maximum.
pub fn range(args: &RangeArgs) -> Result<Exit> {
    let (net, prop, settings) = load(&args.model, &args.spec, &args.run)?;
    let objectives: Vec<Vec<(usize, f64)>> = match (&args.objective, args.output) {
        (Some(text), _) => vec![parse_objective(text)?],
        (None, Some(k)) => vec![vec![(k, 1.0)]],
        (None, None) => (0..net.output_dim()).map(|k| vec![(k, 1.0)]).collect(),
    };
    let deadline = std::time::Instant::now();
    let mut results = Vec::new();
    for (n, c) in objectives.iter().enumerate() {
        // Each objective gets an equal share of the time still left.
        let mut s = settings.clone();
        s.timeout = settings.timeout.map(|t| t.saturating_sub(deadline.elapsed()) / (objectives.len() - n) as u32);
        if s.timeout.is_some_and(|t| t.is_zero()) {
            s.timeout = Some(std::time::Duration::from_nanos(1));
        }
        results.push(range::range(&net, &prop, c, args.gap, &s)?);
    }
    let seconds = deadline.elapsed().as_secs_f64();
    let complete = results.iter().all(|r| r.min.stopped.is_none() && r.max.stopped.is_none());
    if args.run.json {
        let side = |e: &Extreme, is_max: bool| {
            let found = e.found.as_ref().map(|f| f.value);
            let (lower, upper) = if is_max { (found, Some(e.proved)) } else { (Some(e.proved), found) };
            json!({
                "lower": lower, "upper": upper, "proved": e.proved, "found": found, "gap": e.gap(),
                "input": e.found.as_ref().map(|f| f.input.clone()), "region": e.found.as_ref().map(|f| f.region),
                "probes": e.probes, "stopped": stopped_json(&e.stopped),
            })
        };
        let items: Vec<Value> = objectives
            .iter()
            .zip(&results)
            .map(
                |(c, r)| json!({"objective": objective_text(c), "min": side(&r.min, false), "max": side(&r.max, true)}),
            )
            .collect();
        let v = json!({"command": "range", "complete": complete, "ranges": items, "seconds": seconds});
        output::stdout(&format!("{}\n", report::stamped(v)));
    } else {
        let mut text = String::new();
        if net.output_activation().is_some() {
            text += "note: the objective is over the logits, before the network's output activation\n";
        }
        for (c, r) in objectives.iter().zip(&results) {
            text += &format!("{}:\n", objective_text(c));
            for (name, e, is_max) in [("min", &r.min, false), ("max", &r.max, true)] {
                let found = e.found.as_ref().map_or("none".to_string(), |f| f.value.to_string());
                let (lo, hi) =
                    if is_max { (found.clone(), e.proved.to_string()) } else { (e.proved.to_string(), found.clone()) };
                text += &format!("  {name} in [{lo}, {hi}]  gap {:.3e}, {} runs", e.gap(), e.probes);
                if let Some(reason) = &e.stopped {
                    text += &format!(", stopped: {reason}");
                }
                text += "\n";
                if let Some(f) = &e.found {
                    text += &format!("    reached at x = {}\n", report::format_vector(&f.input, &prop.input_names));
                }
            }
        }
        text += &format!("({seconds:.2} s)\n");
        output::stdout(&text);
    }
    Ok(if complete { Exit::Holds } else { Exit::Unknown })
}

/// The centre, valid range and unsafe set `radius` works on.
struct RadiusProblem {
    center: Vec<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
    unsafe_set: spec::Dnf,
}

/// Relative tolerance within which a `--spec` box's input counts as
/// unclipped (its width equal to the widest): VNN-LIB files write
/// `x - eps` and `x + eps` as decimals of f32 values, so widths differ by
/// about 1e-6 relative; a real clip at `lower`/`upper` is far narrower.
/// Only the centre depends on it: every answer is about the balls checked.
const BALL_WIDTH_TOL: f64 = 1e-4;

/// The centre of a property's box read as a ball clipped to `[lower,
/// upper]`: the half-width `eps` is the largest; an input of that width is
/// centred, a narrower one must be clipped at `lower` (centre `u - eps`) or
/// `upper` (centre `l + eps`).
fn ball_center(prop: &Property, lower: Option<f64>, upper: Option<f64>) -> Result<Vec<f64>> {
    let bad = |m: String| Error::new(ErrorKind::Usage, m);
    let [region] = &prop.regions[..] else {
        return Err(bad(format!("radius --spec needs a property of one region, this one has {}", prop.regions.len())));
    };
    if !region.input_constraints.is_empty() {
        return Err(bad("radius --spec needs a box without input constraints".into()));
    }
    let b = &region.input;
    let eps = (0..b.dim()).map(|i| (b.upper[i] - b.lower[i]) / 2.0).fold(0.0, f64::max);
    (0..b.dim())
        .map(|i| {
            let (l, u) = (b.lower[i], b.upper[i]);
            let c = if (u - l) / 2.0 >= eps * (1.0 - BALL_WIDTH_TOL) {
                (l + u) / 2.0
            } else if lower.is_some_and(|lo| l <= lo) {
                u - eps
            } else if upper.is_some_and(|hi| u >= hi) {
                l + eps
            } else {
                return Err(bad(format!(
                    "input {i}'s interval [{l}, {u}] is narrower than the widest (2 x {eps}) and not clipped at \
                     --lower/--upper: the box is not a ball around a point"
                )));
            };
            Ok(c.max(lower.unwrap_or(f64::NEG_INFINITY)).min(upper.unwrap_or(f64::INFINITY)))
        })
        .collect()
}

/// `radius`: the proved radius and the nearest counterexample.
pub fn radius(args: &RadiusArgs) -> Result<Exit> {
    let limits = args.run.limits.limits()?;
    let net = model::load_with(&args.model, &limits)?;
    let settings = args.run.search.settings(args.run.timeout)?;
    let problem = match (&args.spec, &args.center, args.label) {
        (Some(path), _, _) => {
            let (prop, _) = spec::load_with(path, &limits)?;
            let prop = prop.fit(&net).map_err(|e| e.with_path(path))?;
            let center = ball_center(&prop, args.lower, args.upper).map_err(|e| e.with_path(path))?;
            RadiusProblem {
                center,
                lower: args.lower,
                upper: args.upper,
                unsafe_set: prop.regions[0].unsafe_set.clone(),
            }
        }
        (None, Some(path), Some(label)) => RadiusProblem {
            center: point::read(path, &limits)?,
            lower: args.lower,
            upper: args.upper,
            unsafe_set: robustness::argmax_changes(label, net.output_dim())
                .map_err(|e| Error::new(ErrorKind::Usage, e.message()))?,
        },
        _ => return Err(Error::new(ErrorKind::Usage, "radius needs --center and --label, or --spec")),
    };
    let (lo, hi) = (problem.lower.map(|l| [l]), problem.upper.map(|u| [u]));
    let ball = Ball {
        center: &problem.center,
        lower: lo.as_ref().map(|l| &l[..]),
        upper: hi.as_ref().map(|u| &u[..]),
        unsafe_set: problem.unsafe_set.clone(),
    };
    let start = std::time::Instant::now();
    let r = radius::radius(&net, &ball, args.tolerance, &settings).map_err(|e| match e.kind() {
        ErrorKind::Spec => Error::new(ErrorKind::Usage, e.message()),
        _ => e,
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let complete = r.stopped.is_none();
    if args.run.json {
        let v = json!({
            "command": "radius",
            "complete": complete,
            "proved": r.proved,
            "counterexample_distance": r.counterexample.as_ref().map(|c| c.0),
            "counterexample": r.counterexample.as_ref().map(|(_, w)| json!({"input": w.input(), "output": w.output()})),
            "covers": r.covers,
            "probes": r.probes,
            "stopped": stopped_json(&r.stopped),
            "seconds": seconds,
        });
        output::stdout(&format!("{}\n", report::stamped(v)));
    } else {
        output::stdout(&radius_text(&r, seconds));
    }
    Ok(if complete { Exit::Holds } else { Exit::Unknown })
}

fn radius_text(r: &Radius, seconds: f64) -> String {
    let proved = r.proved.map_or("nothing (not even the centre)".to_string(), |p| format!("eps = {p}"));
    let mut text = format!("proved: {proved}\n");
    match &r.counterexample {
        Some((d, w)) => {
            text += &format!("counterexample at distance {d}: x = {}\n", report::format_vector(w.input(), &[]));
            text += &format!("  output {}\n", report::format_vector(w.output(), &[]));
        }
        None if r.stopped.is_none() => match r.covers {
            Some(_) => text += "no counterexample: the property holds on the whole valid range\n",
            None => text += "no counterexample up to the largest radius tried\n",
        },
        None => text += "no counterexample found\n",
    }
    if let Some(reason) = &r.stopped {
        text += &format!("stopped: {reason}\n");
    }
    text + &format!("({} runs, {seconds:.2} s)\n", r.probes)
}

/// `equiv`: equivalent, a validated difference, or unknown.
pub fn equiv(args: &EquivArgs) -> Result<Exit> {
    let (a, prop, settings) = load(&args.model_a, &args.spec, &args.run)?;
    let b = model::load_with(&args.model_b, &args.run.limits.limits()?)?;
    let agreement = match (args.tolerance, args.same_argmax) {
        (Some(t), false) => Agreement::Tolerance(t),
        (None, true) => Agreement::SameArgmax(args.argmax_margin.unwrap_or(equiv::DEFAULT_ARGMAX_MARGIN)),
        _ => return Err(Error::new(ErrorKind::Usage, "give one of --tolerance T and --same-argmax")),
    };
    let (answer, stats) = equiv::equiv(&a, &b, &prop, agreement, &settings)?;
    let seconds = stats.elapsed.as_secs_f64();
    let (name, exit) = match &answer {
        Equivalence::Equivalent => ("equivalent", Exit::Holds),
        Equivalence::Differs(_) => ("differs", Exit::Violated),
        Equivalence::Unknown(_) => ("unknown", Exit::Unknown),
    };
    if args.run.json {
        let mut v = json!({"command": "equiv", "result": name, "seconds": seconds});
        match &answer {
            Equivalence::Differs(d) => {
                v["counterexample"] = json!({
                    "input": d.input, "region": d.region, "output_a": d.output_a, "output_b": d.output_b,
                    "max_difference": d.max_difference(),
                });
            }
            Equivalence::Unknown(reason) => v["reason"] = json!(reason.to_string()),
            Equivalence::Equivalent => {}
        }
        output::stdout(&format!("{}\n", report::stamped(v)));
    } else {
        let mut text = format!("{name}\n");
        match &answer {
            Equivalence::Differs(d) => {
                text += &format!("  x = {}\n", report::format_vector(&d.input, &prop.input_names));
                text += &format!("  A: {}\n", report::format_vector(&d.output_a, &prop.output_names));
                text += &format!("  B: {}\n", report::format_vector(&d.output_b, &prop.output_names));
                text += &format!("  largest difference {}\n", d.max_difference());
            }
            Equivalence::Unknown(reason) => text += &format!("  reason: {reason}\n"),
            Equivalence::Equivalent => {}
        }
        text += &format!("({seconds:.2} s)\n");
        output::stdout(&text);
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_and_print() {
        assert_eq!(parse_objective("y0 - 0.5*y3 + 2 y1").unwrap(), vec![(0, 1.0), (3, -0.5), (1, 2.0)]);
        assert_eq!(parse_objective("-Y_2+1e-1*y[4] + y2").unwrap(), vec![(2, 0.0), (4, 0.1)]);
        assert_eq!(parse_objective("2.5e+1*y1").unwrap(), vec![(1, 25.0)]);
        for bad in ["", "x0", "y", "ay1", "y0 +", "2*y-1"] {
            assert_eq!(parse_objective(bad).unwrap_err().kind(), ErrorKind::Usage, "{bad}");
        }
        assert_eq!(objective_text(&[(0, 1.0), (3, -0.5), (1, 2.0)]), "y0 - 0.5*y3 + 2*y1");
    }

    #[test]
    fn ball_centres_of_clipped_boxes() {
        use crate::spec::{Dnf, InputBox, Region};
        let prop = |l: Vec<f64>, u: Vec<f64>| {
            Property::new(vec![Region::boxed(InputBox::new(l, u).unwrap(), Dnf { disjuncts: vec![] })])
        };
        let p = prop(vec![0.0, 0.47, 0.97], vec![0.03, 0.53, 1.0]);
        let c = ball_center(&p, Some(0.0), Some(1.0)).unwrap();
        for (got, want) in c.iter().zip([0.0, 0.5, 1.0]) {
            assert!((got - want).abs() < 1e-12, "{c:?}");
        }
        assert_eq!(ball_center(&p, None, None).unwrap_err().kind(), ErrorKind::Usage);
    }
}
